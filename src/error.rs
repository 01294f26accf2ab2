//! The engine's typed errors, classified terminal (fix the spec or the AWS account, do not retry
//! until something changes) or retryable (throttling, 5xx, timeouts, races: back off and retry).

use std::fmt;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// One problem with one field of the spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field, e.g. `spec.routes[0].path`.
    pub field: String,
    /// The rule it breaks.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

fn join(errors: &[FieldError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec breaks a rule. Terminal.
    #[error("invalid spec: {}", join(.0))]
    InvalidSpec(Vec<FieldError>),

    /// A name the spec asks for is taken by an AWS object this bridge does not own. Terminal.
    #[error("{0}")]
    Conflict(FieldError),

    /// AWS refused for lack of permission. Terminal until IAM changes.
    #[error("AWS {service} {operation}: access denied: {message}")]
    AccessDenied { service: &'static str, operation: &'static str, message: String },

    /// AWS rejected the request as invalid. Terminal.
    #[error("AWS {service} {operation} rejected the request ({code}): {message}")]
    Rejected { service: &'static str, operation: &'static str, code: String, message: String },

    /// Throttling, 5xx, timeouts, network, races. Retryable.
    #[error("AWS {service} {operation} failed ({code}): {message}")]
    Transient { service: &'static str, operation: &'static str, code: String, message: String },

    /// Something the spec references does not exist (yet): a Lambda function, an existing bus.
    /// Retryable: GitOps may create it a moment later.
    #[error("{0}")]
    DependencyMissing(FieldError),

    /// The bus still carries rules this bridge does not own, so it cannot be deleted. Retryable.
    #[error("event bus {bus} cannot be deleted: it still has rules not owned by this bridge: {rules}")]
    BusNotEmpty { bus: String, rules: String },

    /// AWS still refuses to delete the bus though only rules of this bridge (just deleted) or its
    /// archive's managed rule were left on it: EventBridge is eventually consistent, and an
    /// archive's `Events-Archive-*` rule can outlive the archive for a while. Retryable.
    #[error(
        "event bus {bus} cannot be deleted yet: AWS still counts rules on it that this bridge deleted ({rules}); AWS is eventually consistent, retrying later"
    )]
    BusDraining { bus: String, rules: String },

    /// This replica may not call AWS now: it is not the confirmed leader (see `aws::fence`).
    /// Retryable: the leader-election loop stops this replica's controller or confirms the Lease.
    #[error("{0}")]
    NotLeader(String),

    /// An AWS quota is reached (e.g. 100 buses per account, 300 rules per bus). Terminal: it
    /// takes a quota increase or fewer objects, not a retry.
    #[error(
        "AWS {service} {operation}: a quota is reached ({message}); request an increase in Service Quotas or remove objects, then edit the bridge to retry"
    )]
    QuotaExceeded { service: &'static str, operation: &'static str, message: String },

    /// No WebhookBridgePolicy selects the bridge's namespace (multi-tenant mode). Terminal: a
    /// new policy triggers the next reconcile.
    #[error("{0}")]
    NoPolicy(String),

    /// Multi-tenant mode, and the apiserver does not serve WebhookBridgePolicies (the CRD is
    /// missing, e.g. after a chart upgrade: Helm never upgrades `crds/`). Retryable: the policy
    /// watch finds the CRD once it is installed.
    #[error("{0}")]
    PolicyApiMissing(String),

    /// More than one WebhookBridgePolicy selects the namespace. Terminal.
    #[error("{0}")]
    PolicyConflict(String),

    /// The bridge asks for something its policy does not allow. Terminal; checked before any
    /// AWS call.
    #[error("WebhookBridgePolicy {policy} denies: {}", .denials.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    PolicyDenied { policy: String, denials: Vec<crate::tenancy::Denial> },

    /// The gateway a bridge names does not exist (or its CRD is not served). Retryable: the
    /// gateway watch brings the bridge back when it appears.
    #[error("{0}")]
    GatewayNotFound(String),

    /// The gateway exists but is not Ready (no API, bus or role yet). Retryable.
    #[error("{0}")]
    GatewayNotReady(String),

    /// The gateway does not accept bridges from this namespace (`allowedRoutes`). Terminal:
    /// a gateway change brings the bridge back.
    #[error("{0}")]
    NotAllowedByGateway(String),

    /// Attaching the bridge would take its gateway past an AWS quota (routes or integrations
    /// per API, rules per bus): refused before any AWS write. Terminal until room is made.
    #[error("{0}")]
    GatewayFull(String),

    /// The gateway still has bridges attached (routes on its API): it is not deleted. Retryable.
    #[error("{0}")]
    GatewayInUse(String),

    /// A route key the bridge needs is held on the gateway's API by another bridge (the newer of
    /// two claimants gives it up) or by an object not ours. Retryable.
    #[error("{0}")]
    RouteHeld(String),

    /// An object AWS provisions asynchronously (a Custom Event Bus, a webhook event source) is
    /// not ready yet (CREATING, UPDATING). Retryable: waited on with backoff.
    #[error("{0}")]
    NotYet(String),

    /// AWS could not provision an object (CREATE_FAILED, UPDATE_FAILED, ...). Terminal, with
    /// AWS's reason.
    #[error("{what} is {state}: {reason}")]
    AwsFailed { what: String, state: String, reason: String },

    /// Test hook: the run was stopped on purpose after this many writes.
    #[error("aborted on purpose after {0} AWS writes")]
    Injected(usize),

    /// Local configuration problem (no region, unreadable file, ...). Terminal.
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// AWS answered that the object does not exist (a read by id of something deleted).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Rejected { code, .. }
            if matches!(code.as_str(), "NotFoundException" | "ResourceNotFoundException" | "NoSuchEntity"))
    }

    /// API Gateway answered 409 ConflictException. Transient when it is a race (concurrent
    /// modification, hashicorp/terraform-provider-aws#29735; a route someone created since we
    /// looked), but also permanent (route keys with different variable names at one path level):
    /// the engine looks again and retries a bounded number of times, then calls it
    /// [`Error::into_lasting_conflict`].
    pub fn is_api_conflict(&self) -> bool {
        matches!(self, Error::Transient { service: "apigateway", code, .. } if code == "ConflictException")
    }

    /// A ConflictException that fresh looks at AWS did not explain: terminal (`AwsRejected`).
    pub fn into_lasting_conflict(self, tries: u32) -> Error {
        match self {
            Error::Transient { service, operation, code, message } => Error::Rejected {
                service,
                operation,
                code,
                message: format!(
                    "{message} (still in conflict after {tries} tries, each after a fresh look at AWS: not a race; change the spec or the API)"
                ),
            },
            other => other,
        }
    }

    /// Retry with backoff (true) or wait for a change (false).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Transient { .. }
                | Error::DependencyMissing(_)
                | Error::BusNotEmpty { .. }
                | Error::BusDraining { .. }
                | Error::NotLeader(_)
                | Error::PolicyApiMissing(_)
                | Error::GatewayNotFound(_)
                | Error::GatewayNotReady(_)
                | Error::RouteHeld(_)
                | Error::GatewayInUse(_)
                | Error::NotYet(_)
                | Error::Injected(_)
        )
    }

    /// A CamelCase reason for conditions and Events.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::InvalidSpec(_) => "InvalidSpec",
            Error::Conflict(_) => "NameConflict",
            Error::AccessDenied { .. } => "AccessDenied",
            Error::Rejected { .. } => "AwsRejected",
            Error::Transient { .. } => "AwsUnavailable",
            Error::DependencyMissing(_) => "DependencyMissing",
            Error::BusNotEmpty { .. } => "BusNotEmpty",
            Error::BusDraining { .. } => "BusDraining",
            Error::NotLeader(_) => "NotLeader",
            Error::QuotaExceeded { .. } => "QuotaExceeded",
            Error::NoPolicy(_) => "NoPolicy",
            Error::PolicyApiMissing(_) => "PolicyCrdMissing",
            Error::PolicyConflict(_) => "PolicyConflict",
            Error::PolicyDenied { .. } => "PolicyDenied",
            Error::GatewayNotFound(_) => "GatewayNotFound",
            Error::GatewayNotReady(_) => "GatewayNotReady",
            Error::NotAllowedByGateway(_) => "NotAllowedByGateway",
            Error::GatewayFull(_) => "QuotaExceeded",
            Error::RouteHeld(_) => "RouteConflict",
            Error::GatewayInUse(_) => "GatewayInUse",
            Error::NotYet(_) => "Provisioning",
            Error::AwsFailed { .. } => "AwsProvisioningFailed",
            Error::Injected(_) => "Aborted",
            Error::Config(_) => "ConfigError",
        }
    }

    /// The message as a tenant may see it (status, Events): AWS's text with the identity the
    /// operator acts as (`...:assumed-role/...`, `...:user/...`, `...:federated-user/...`)
    /// replaced by `<operator identity>`; logs keep the full text for the platform team.
    pub fn tenant_message(&self) -> String {
        redact_principals(&self.to_string())
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::InvalidSpec(vec![FieldError::new(field, message)])
    }
}

/// `text` with every IAM/STS principal ARN (user, assumed role, federated user) replaced.
/// Role ARNs stay: tenants name those themselves (targets, existing roles).
pub fn redact_principals(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("arn:") {
        out.push_str(&rest[..i]);
        let candidate = &rest[i..];
        let end = candidate.find(|c: char| c.is_whitespace() || "\"',;()<>".contains(c)).unwrap_or(candidate.len());
        let arn = candidate[..end].trim_end_matches('.');
        let resource = arn.splitn(6, ':').nth(5).unwrap_or("");
        let service = arn.split(':').nth(2).unwrap_or("");
        let principal = matches!(service, "iam" | "sts")
            && ["user/", "assumed-role/", "federated-user/"].iter().any(|p| resource.starts_with(p));
        if principal {
            out.push_str("<operator identity>");
        } else {
            out.push_str(arn);
        }
        rest = &candidate[arn.len()..];
    }
    out.push_str(rest);
    out
}

/// Error codes that mean an account or resource quota is reached: EventBridge and IAM
/// `LimitExceeded(Exception)` (buses per account, rules per bus, roles per account), Lambda's
/// `PolicyLengthExceededException` (a function's resource policy is over 20 KB). Throttling has
/// codes of its own (ThrottlingException, TooManyRequestsException), so these are terminal.
const QUOTA_CODES: &[&str] = &["LimitExceededException", "LimitExceeded", "PolicyLengthExceededException"];

/// API Gateway answers a per-API or per-account quota (routes, integrations, authorizers,
/// stages per API; domain names; API mappings) with `ConflictException` "Maximum number of
/// <objects> for this API has been reached. Please contact AWS ..." (HTTP 429; quoted in
/// anomalyco/sst#4522 for authorizers and serverless/serverless-websockets-plugin#22 for
/// integrations): a quota, not the race other ConflictExceptions are.
fn is_api_gateway_quota(code: &str, message: &str) -> bool {
    code == "ConflictException" && message.starts_with("Maximum number of")
}

/// Error codes that mean "try again later" whatever the HTTP status.
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    // IAM is eventually consistent: a write right after our own CreateRole may not find it yet.
    // (Reads and deletes treat NoSuchEntity as "absent" before they get here.)
    "NoSuchEntity",
    "ConcurrentModificationException",
    "ConcurrentModification",
    "ConflictException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServiceFailure",
    "InternalFailure",
    "InternalServerError",
    "InternalException",
    "InternalServiceError",
    "ServiceException",
    "RequestTimeout",
    "RequestTimeoutException",
    "ResourceConflictException",
    // CloudWatch Logs: another operation on the same log group is in progress.
    "OperationAbortedException",
    // A create raced with someone since we looked: the next observe decides whether it is ours.
    "ResourceAlreadyExistsException",
    "EntityAlreadyExists",
    "EntityAlreadyExistsException",
];

const ACCESS_DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
];

/// The error code of an SDK error, if AWS sent one.
pub fn code_of<E: ProvideErrorMetadata>(err: &SdkError<E, Response>) -> Option<&str> {
    match err {
        SdkError::ServiceError(ctx) => ctx.err().code(),
        _ => None,
    }
}

/// Turn an SDK error into a typed, classified [`Error`].
pub fn classify<E>(service: &'static str, operation: &'static str, err: SdkError<E, Response>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    // Refused by our own fence before anything was sent.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = source {
        if let Some(fenced) = e.downcast_ref::<crate::aws::fence::FenceClosed>() {
            return Error::NotLeader(format!("AWS {service} {operation} not sent: {fenced}"));
        }
        source = e.source();
    }
    match err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let code = ctx.err().code().unwrap_or("Unknown").to_string();
            let message = ctx.err().message().map(str::to_string).unwrap_or_else(|| format!("HTTP {status}"));
            if ACCESS_DENIED_CODES.contains(&code.as_str()) || (status == 403 && code == "Unknown") {
                Error::AccessDenied { service, operation, message }
            } else if QUOTA_CODES.contains(&code.as_str()) || is_api_gateway_quota(&code, &message) {
                Error::QuotaExceeded { service, operation, message }
            } else if status >= 500 || status == 429 || RETRYABLE_CODES.contains(&code.as_str()) {
                Error::Transient { service, operation, code, message }
            } else {
                Error::Rejected { service, operation, code, message }
            }
        }
        SdkError::ConstructionFailure(e) => {
            Error::Rejected { service, operation, code: "ConstructionFailure".into(), message: format!("{:?}", e) }
        }
        SdkError::TimeoutError(_) => {
            Error::Transient { service, operation, code: "Timeout".into(), message: "the request timed out".into() }
        }
        SdkError::DispatchFailure(e) => {
            Error::Transient { service, operation, code: "DispatchFailure".into(), message: format!("{:?}", e) }
        }
        SdkError::ResponseError(e) => {
            Error::Transient { service, operation, code: "ResponseError".into(), message: format!("{:?}", e) }
        }
        other => Error::Transient { service, operation, code: "Unknown".into(), message: other.to_string() },
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_never_see_the_operator_identity() {
        let e = Error::AccessDenied {
            service: "events",
            operation: "PutRule",
            message:
                "User: arn:aws:sts::123456789012:assumed-role/webhook-bridge-operator/i-0abc is not authorized to \
                      perform: events:PutRule on resource: arn:aws:events:us-east-1:123456789012:rule/b/whb-1 because \
                      no identity-based policy allows it (arn:aws:iam::123456789012:user/ci-bot)."
                    .into(),
        };
        let shown = e.tenant_message();
        assert!(!shown.contains("webhook-bridge-operator") && !shown.contains("ci-bot"), "{shown}");
        assert!(shown.contains("User: <operator identity> is not authorized"), "{shown}");
        assert!(shown.contains("arn:aws:events:us-east-1:123456789012:rule/b/whb-1"), "resources stay: {shown}");
        assert!(shown.ends_with("(<operator identity>)."), "{shown}");
        let role = "arn:aws:iam::123456789012:role/eventbridge-start-refunds is not allowed";
        assert_eq!(redact_principals(role), role, "role ARNs the tenant wrote stay");
    }
}
