//! The operator's IAM documents, checked statically (moto enforces no IAM, so nothing else
//! would notice a policy that is too wide or too narrow):
//!
//! - `docs/iam-policy.json` with `docs/iam-policy-features.json` (custom domains, access logs,
//!   archives): the operator's working policy (single tenant), two managed policies attached
//!   together since one holds at most 6,144 characters;
//! - `docs/iam-tenant-role-policy.json` with `docs/iam-tenant-role-policy-features.json`: the same
//!   policy for a tenant role the operator assumes with session tags `webhookbridge.io/cluster`
//!   and `webhookbridge.io/namespace`, every ownership condition further scoped to the session's
//!   namespace;
//! - `docs/iam-operator-assume-policy.json`: the operator's own identity in multi-tenant mode;
//! - `docs/iam-permissions-boundary.json`: the boundary every managed role gets.
//!
//! The working policies grant exactly the AWS actions the engine can call, derived from the source
//! (every AWS call is classified by service and operation in src/aws/), plus the actions AWS
//! checks on the caller within those calls (`IMPLIED`: e.g. the `iam:PassRole` that
//! CreateIntegration/UpdateIntegration (CredentialsArn) and PutTargets (a target's roleArn) imply),
//! each on the resource it touches. `ACCOUNT_ID` and `CLUSTER` are placeholders the
//! installer substitutes (the operator's account and `--cluster-name`).
//!
//! Which actions support which condition keys: the AWS Service Authorization Reference pages
//! "Actions, resources, and condition keys for" Amazon API Gateway Management V2, Amazon
//! EventBridge, Amazon CloudWatch Logs, AWS Lambda and AWS Identity and Access Management.
//!
//! The Custom Event Bus (`eventsv2`, issue #22) signs as `events`: its IAM actions are taken to be
//! `events:<Operation>` on its own resource types (`event-busv2/`, `event-sourcev2/`,
//! `subscriber/`), as the model's signing name says; this is not checked against AWS's Service
//! Authorization Reference, which had no eventsv2 page in the references at hand.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

const SINGLE: &str = "docs/iam-policy.json";
const SINGLE_FEATURES: &str = "docs/iam-policy-features.json";
const TENANT: &str = "docs/iam-tenant-role-policy.json";
const TENANT_FEATURES: &str = "docs/iam-tenant-role-policy-features.json";
/// A working policy is two managed policies attached together: `load` reads `a + b` as one
/// document with the statements of both.
const SINGLE_SET: &str = "docs/iam-policy.json + docs/iam-policy-features.json";
const TENANT_SET: &str = "docs/iam-tenant-role-policy.json + docs/iam-tenant-role-policy-features.json";
const ASSUME: &str = "docs/iam-operator-assume-policy.json";
const BOUNDARY: &str = "docs/iam-permissions-boundary.json";
const WORKING: [&str; 2] = [SINGLE_SET, TENANT_SET];
const ALL: [&str; 6] = [SINGLE, SINGLE_FEATURES, TENANT, TENANT_FEATURES, ASSUME, BOUNDARY];

const MANAGED_ROLES: &str = "arn:aws:iam::ACCOUNT_ID:role/webhook-bridge/CLUSTER/*";
const ANY_ROLE: &str = "arn:aws:iam::ACCOUNT_ID:role/*";
const BOUNDARY_ARN: &str = "arn:aws:iam::ACCOUNT_ID:policy/webhook-bridge-boundary";
const TENANT_ROLES: &str = "arn:aws:iam::ACCOUNT_ID:role/webhook-bridge-tenant-*";
const ANY_BUS: &str = "arn:aws:events:*:ACCOUNT_ID:event-bus/*";
const OUR_RULES: [&str; 2] = ["arn:aws:events:*:ACCOUNT_ID:rule/*/whb-*", "arn:aws:events:*:ACCOUNT_ID:rule/whb-*"];
/// Archives take no tags: they are ours by the `whb-` name prefix (and their Description marker).
const OUR_ARCHIVES: &str = "arn:aws:events:*:ACCOUNT_ID:archive/whb-*";
/// The Custom Event Bus objects: any bus (a gateway names its own), our sources and subscribers.
const OUR_V2: [&str; 3] = [
    "arn:aws:events:*:ACCOUNT_ID:event-busv2/*",
    "arn:aws:events:*:ACCOUNT_ID:event-sourcev2/webhook/whb-*",
    "arn:aws:events:*:ACCOUNT_ID:subscriber/whb-*",
];
/// The access-log groups of this cluster (`Owner::log_group_name`).
const OUR_LOG_GROUPS: &str = "arn:aws:logs:*:ACCOUNT_ID:log-group:/aws/vendedlogs/webhook-bridge/CLUSTER/*";
/// API Gateway's service-linked role, created by the first Regional custom domain name.
const API_GATEWAY_SERVICE_LINKED_ROLE: &str =
    "arn:aws:iam::ACCOUNT_ID:role/aws-service-role/ops.apigateway.amazonaws.com/AWSServiceRoleForAPIGateway";
/// The tenant's own objects: `webhookbridge.io/owner` is `namespace/name` (see `Owner::owner_tag`;
/// a hash suffix may shorten the name, never the namespace).
const SESSION_NAMESPACE_OWNER: &str = "${aws:PrincipalTag/webhookbridge.io/namespace}/*";
const TAG_MANAGED_BY: &str = "webhookbridge.io/managed-by";
const TAG_CLUSTER: &str = "webhookbridge.io/cluster";
const TAG_OWNER: &str = "webhookbridge.io/owner";
const TAG_NAMESPACE: &str = "webhookbridge.io/namespace";

/// Actions AWS authorizes on no resource (Service Authorization Reference: no resource type), so
/// their statement must say `"Resource": "*"`.
const NO_RESOURCE_LEVEL: &[&str] = &[
    "events:ListRules",
    "events:ListEventBuses",
    "events:ListEventSources",
    "events:ListSubscribers",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
];

const VENDED_LOGS: &str = "CreateStage/UpdateStage with AccessLogSettings: HTTP API access logs are a CloudWatch Logs \
     vended-log delivery, which AWS authorizes on the caller (\"Permissions to activate logging\", \
     https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging.html)";

/// Actions the working policies grant that are no SDK call of the engine's: AWS checks them on
/// the caller within one of its calls. (action, why)
const IMPLIED: &[(&str, &str)] = &[
    ("iam:PassRole", "CreateIntegration/UpdateIntegration pass CredentialsArn, PutTargets a target's RoleArn"),
    (
        "logs:TagResource",
        "CreateLogGroup with tags: \"you must have either the logs:TagResource or logs:TagLogGroup permission\" \
         (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html)",
    ),
    ("logs:CreateLogDelivery", VENDED_LOGS),
    ("logs:GetLogDelivery", VENDED_LOGS),
    ("logs:UpdateLogDelivery", VENDED_LOGS),
    ("logs:DeleteLogDelivery", VENDED_LOGS),
    ("logs:ListLogDeliveries", VENDED_LOGS),
    ("logs:PutResourcePolicy", VENDED_LOGS),
    ("logs:DescribeResourcePolicies", VENDED_LOGS),
    (
        "secretsmanager:PutSecretValue",
        "RotateWebhookCredentials: \"secretsmanager:PutSecretValue on the secret of the EventSource\" (botocore \
         eventbridgev2 2025-05-15); granted only through EventBridge (aws:CalledVia)",
    ),
    (
        "secretsmanager:GetSecretValue",
        "RotateWebhookCredentials of a basic-auth source: \"secretsmanager:GetSecretValue on the secret of the \
         EventSource, for HTTP Basic authentication only\" (botocore eventbridgev2 2025-05-15); granted only \
         through EventBridge (aws:CalledVia)",
    ),
    (
        "iam:CreateServiceLinkedRole",
        "CreateDomainName: the first Regional custom domain name with an ACM certificate creates the \
         AWSServiceRoleForAPIGateway service-linked role \
         (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-regional-api-custom-domain-create.html)",
    ),
];

/// Writes of the engine that no aws:ResourceTag or aws:RequestTag condition can guard, and why.
/// Every other write must be conditioned on the ownership tags (see the tests below).
const NO_TAG_CONDITION: &[(&str, &str, &str)] = &[
    ("apigateway", "CreateAuthorizer", "HTTP API children carry no tags (only Api, Stage, DomainName, VpcLink do)"),
    ("apigateway", "UpdateAuthorizer", "HTTP API children carry no tags"),
    ("apigateway", "DeleteAuthorizer", "HTTP API children carry no tags"),
    ("apigateway", "CreateIntegration", "HTTP API children carry no tags"),
    ("apigateway", "UpdateIntegration", "HTTP API children carry no tags"),
    ("apigateway", "DeleteIntegration", "HTTP API children carry no tags"),
    ("apigateway", "CreateRoute", "HTTP API children carry no tags"),
    ("apigateway", "UpdateRoute", "HTTP API children carry no tags"),
    ("apigateway", "DeleteRoute", "HTTP API children carry no tags"),
    ("apigateway", "DeleteCorsConfiguration", "HTTP API children carry no tags"),
    ("apigateway", "CreateApiMapping", "API mappings carry no tags (only the domain name does)"),
    ("apigateway", "UpdateApiMapping", "API mappings carry no tags"),
    ("apigateway", "DeleteApiMapping", "API mappings carry no tags"),
    ("events", "CreateArchive", "archives take no tags (only rules and buses do): scoped by the whb- name prefix"),
    ("events", "UpdateArchive", "archives take no tags: scoped by the whb- name prefix"),
    ("events", "DeleteArchive", "archives take no tags: scoped by the whb- name prefix"),
    (
        "apigateway",
        "TagResource",
        "the /tags/{arn} resource type has no condition keys: guarded by aws:TagKeys instead (never our keys)",
    ),
    ("lambda", "AddPermission", "the functions are the user's, never tagged by us: guarded by lambda:Principal"),
    ("lambda", "RemovePermission", "the functions are the user's, never tagged by us"),
];

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn text(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A module of src/aws/ as one text: `name.rs`, or every `.rs` file under `name/` when the module
/// is a directory (eventsv2 is split in three). Neither existing is a failure, not an empty set.
fn module_text(name: &str) -> String {
    let file = root().join(format!("src/aws/{name}.rs"));
    if file.exists() {
        return text(&format!("src/aws/{name}.rs"));
    }
    let dir = root().join(format!("src/aws/{name}"));
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("src/aws/{name}.rs or src/aws/{name}/: {e}"))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "src/aws/{name}/ holds no .rs file");
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One document, or (`a + b`) the managed policies of a working policy as one document.
fn load(path: &str) -> Value {
    let mut docs = path
        .split(" + ")
        .map(|p| serde_json::from_str::<Value>(&text(p)).unwrap_or_else(|e| panic!("{p}: not JSON: {e}")));
    let mut doc = docs.next().expect("a document");
    for more in docs {
        let extra = statements(&more).clone();
        doc["Statement"].as_array_mut().expect("Statement is an array").extend(extra);
    }
    doc
}

fn statements(doc: &Value) -> &Vec<Value> {
    doc["Statement"].as_array().expect("Statement is an array")
}

fn sid(s: &Value) -> &str {
    s["Sid"].as_str().unwrap_or("<no Sid>")
}

/// A policy element that is a string or an array of strings.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().map(|i| i.as_str().expect("strings only").to_string()).collect(),
        _ => Vec::new(),
    }
}

fn actions(s: &Value) -> Vec<String> {
    strings(&s["Action"])
}

fn resources(s: &Value) -> Vec<String> {
    strings(&s["Resource"])
}

/// The values a statement's condition gives `key` under `operator`.
fn condition(s: &Value, operator: &str, key: &str) -> Vec<String> {
    strings(&s["Condition"][operator][key])
}

fn requires(s: &Value, operator: &str, key: &str, value: &str) -> bool {
    condition(s, operator, key) == [value]
}

/// Conditioned on the request carrying our managed-by tag and this cluster's tag.
fn on_request_tags(s: &Value) -> bool {
    requires(s, "StringEquals", &format!("aws:RequestTag/{TAG_MANAGED_BY}"), "webhook-bridge")
        && requires(s, "StringEquals", &format!("aws:RequestTag/{TAG_CLUSTER}"), "CLUSTER")
}

/// Conditioned on the resource already carrying our managed-by tag and this cluster's tag.
fn on_resource_tags(s: &Value) -> bool {
    requires(s, "StringEquals", &format!("aws:ResourceTag/{TAG_MANAGED_BY}"), "webhook-bridge")
        && requires(s, "StringEquals", &format!("aws:ResourceTag/{TAG_CLUSTER}"), "CLUSTER")
}

/// IAM's ARN matching: `*` any characters (`/` included), `?` one.
fn glob(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let mut dp = vec![vec![false; v.len() + 1]; p.len() + 1];
    dp[0][0] = true;
    for i in 1..=p.len() {
        dp[i][0] = dp[i - 1][0] && p[i - 1] == '*';
        for j in 1..=v.len() {
            dp[i][j] = match p[i - 1] {
                '*' => dp[i - 1][j] || dp[i][j - 1],
                '?' => dp[i - 1][j - 1],
                c => dp[i - 1][j - 1] && c == v[j - 1],
            };
        }
    }
    dp[p.len()][v.len()]
}

/// The statements allowing `action` on `resource` (conditions aside).
fn granting<'a>(doc: &'a Value, action: &str, resource: &str) -> Vec<&'a Value> {
    statements(doc)
        .iter()
        .filter(|s| s["Effect"] == "Allow" && actions(s).iter().any(|a| a == action))
        .filter(|s| resources(s).iter().any(|r| glob(r, resource)))
        .collect()
}

/// (service, Operation) for every AWS call site in src/aws/.
fn operations() -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (file, service) in [
        ("apigateway", "apigateway"),
        ("domain", "apigateway"),
        ("eventbridge", "events"),
        ("archive", "events"),
        ("logs", "logs"),
        ("iam", "iam"),
        ("lambda", "lambda"),
        ("sqs", "sqs"),
        ("sns", "sns"),
        ("eventsv2", "events"),
    ] {
        let source = module_text(file);
        // Whitespace-free, so calls rustfmt splits over lines read the same.
        let text: String = source.chars().filter(|c| !c.is_whitespace()).collect();
        // `classify(SVC,"Op"` / `gone_ok(SVC,"Op"` at each call; `all_pages!(request,"Op")` for paged reads.
        // `write_error(client,"Op"` is eventsv2's write error (it reads the object's state).
        for marker in ["classify(SVC,\"", "gone_ok(SVC,\"", "v2_error(\"", "write_error(client,\""] {
            for (i, _) in text.match_indices(marker) {
                let rest = &text[i + marker.len()..];
                ops.insert((service.to_string(), rest[..rest.find('"').expect("quote")].to_string()));
            }
        }
        for (i, _) in text.match_indices("all_pages!(client") {
            let call = &text[i..i + text[i..].find("\")").expect("end of all_pages!")];
            ops.insert((service.to_string(), call.rsplit(",\"").next().expect("op").to_string()));
        }
    }
    ops
}

/// The IAM action each operation needs.
fn action(service: &str, op: &str) -> String {
    if service != "apigateway" {
        return format!("{service}:{op}");
    }
    // API Gateway authorises HTTP verbs on resource paths.
    let verb = match op {
        o if o.starts_with("Get") => "GET",
        o if o.starts_with("Create") || o == "TagResource" => "POST",
        o if o.starts_with("Update") => "PATCH",
        o if o.starts_with("Delete") => "DELETE",
        other => panic!("no API Gateway verb known for {other}"),
    };
    format!("apigateway:{verb}")
}

/// Example ARNs of what each operation acts on ("*": AWS authorizes it on no resource).
fn touches(service: &str, op: &str) -> Vec<String> {
    let api = "arn:aws:apigateway:us-east-1::/apis/a1b2c3";
    let bus = "arn:aws:events:us-east-1:ACCOUNT_ID:event-bus/payments-orders-1a2b3c4d";
    let rules = [
        "arn:aws:events:us-east-1:ACCOUNT_ID:rule/payments-orders-1a2b3c4d/whb-1a2b3c4d-create",
        "arn:aws:events:us-east-1:ACCOUNT_ID:rule/whb-1a2b3c4d-create",
    ];
    let role = "arn:aws:iam::ACCOUNT_ID:role/webhook-bridge/CLUSTER/whb-1a2b3c4d-payments-orders";
    let function = "arn:aws:lambda:us-east-1:ACCOUNT_ID:function:createOrder";
    let domain = "arn:aws:apigateway:us-east-1::/domainnames/hooks.example.com";
    let archive = "arn:aws:events:us-east-1:ACCOUNT_ID:archive/whb-1a2b3c4d-payments-orders";
    let log_group =
        "arn:aws:logs:us-east-1:ACCOUNT_ID:log-group:/aws/vendedlogs/webhook-bridge/CLUSTER/payments/orders";
    let bus_v2 = "arn:aws:events:us-east-1:ACCOUNT_ID:event-busv2/hooks-v2/abcdefghijklmnopqrstuvwxy";
    let source =
        "arn:aws:events:us-east-1:ACCOUNT_ID:event-sourcev2/webhook/whb-1a2b3c4d-github/abcdefghijklmnopqrstuvwxy";
    let subscriber = "arn:aws:events:us-east-1:ACCOUNT_ID:subscriber/whb-1a2b3c4d-pushes-t-1/abcdefghijklmnopqrstuvwxy";
    let one = |s: String| vec![s];
    match (service, op) {
        ("apigateway", "GetApis" | "CreateApi") => one("arn:aws:apigateway:us-east-1::/apis".into()),
        ("apigateway", "GetApi" | "UpdateApi" | "DeleteApi") => one(api.into()),
        ("apigateway", "DeleteCorsConfiguration") => one(format!("{api}/cors")),
        ("apigateway", "DeleteAccessLogSettings") => one(format!("{api}/stages/dev/accesslogsettings")),
        ("apigateway", "GetDomainNames" | "CreateDomainName") => {
            one("arn:aws:apigateway:us-east-1::/domainnames".into())
        }
        ("apigateway", "GetDomainName" | "UpdateDomainName" | "DeleteDomainName") => one(domain.into()),
        ("apigateway", "GetApiMappings" | "CreateApiMapping") => one(format!("{domain}/apimappings")),
        ("apigateway", "GetApiMapping" | "UpdateApiMapping" | "DeleteApiMapping") => {
            one(format!("{domain}/apimappings/m1"))
        }
        ("apigateway", "TagResource") => vec![
            format!("arn:aws:apigateway:us-east-1::/tags/{}", api.replace(':', "%3A").replace('/', "%2F")),
            format!(
                "arn:aws:apigateway:us-east-1::/tags/{}",
                format!("{api}/stages/dev").replace(':', "%3A").replace('/', "%2F")
            ),
        ],
        ("apigateway", o) => {
            // `GetRoutes`, `CreateStage`, `DeleteIntegration`...: verb, then kind.
            let (verb, kind) = o.split_at(o[1..].find(char::is_uppercase).map_or(0, |i| i + 1));
            let collection = match kind.trim_end_matches('s') {
                "Stage" => "stages",
                "Route" => "routes",
                "Integration" => "integrations",
                "Authorizer" => "authorizers",
                other => panic!("no example resource for apigateway {o} ({other}): add one to touches()"),
            };
            match verb {
                "Get" | "Create" => one(format!("{api}/{collection}")),
                _ => one(format!("{api}/{collection}/x1")),
            }
        }
        ("events", "ListRules") => one("*".into()),
        ("events", "DescribeArchive" | "CreateArchive" | "UpdateArchive" | "DeleteArchive") => one(archive.into()),
        ("events", "DescribeEventBus" | "CreateEventBus" | "DeleteEventBus") => vec![bus.into(), bus_v2.into()],
        ("events", "ListTagsForResource" | "TagResource") => {
            vec![bus.into(), rules[0].into(), rules[1].into(), bus_v2.into(), source.into(), subscriber.into()]
        }
        ("events", "ListEventBuses" | "ListEventSources" | "ListSubscribers") => one("*".into()),
        (
            "events",
            "CreateEventSource"
            | "DescribeEventSource"
            | "UpdateEventSource"
            | "DeleteEventSource"
            | "RotateWebhookCredentials"
            | "UntagResource",
        ) => one(source.into()),
        ("events", "CreateSubscriber" | "DescribeSubscriber" | "UpdateSubscriber" | "DeleteSubscriber") => {
            one(subscriber.into())
        }
        ("events", "ListTargetsByRule" | "PutRule" | "DeleteRule" | "PutTargets" | "RemoveTargets") => {
            rules.iter().map(|r| r.to_string()).collect()
        }
        ("iam", _) => one(role.into()),
        ("lambda", _) => one(function.into()),
        ("sqs", _) => one("arn:aws:sqs:us-east-1:ACCOUNT_ID:orders-dlq".into()),
        ("sns", _) => one("arn:aws:sns:us-east-1:ACCOUNT_ID:orders".into()),
        // Authorized on the account's log groups, the name being a filter (AWS names the
        // resource `log-group::log-stream:` in its denials).
        ("logs", "DescribeLogGroups") => vec![
            "arn:aws:logs:us-east-1:ACCOUNT_ID:log-group::log-stream:".into(),
            "arn:aws:logs:us-east-1:ACCOUNT_ID:log-group:*".into(),
        ],
        // Tagging calls name the group without `:*`, the others with it.
        ("logs", _) => vec![log_group.into(), format!("{log_group}:*")],
        (s, o) => panic!("no example resource for {s} {o}: add one to touches()"),
    }
}

fn is_read(op: &str) -> bool {
    ["Get", "List", "Describe"].iter().any(|p| op.starts_with(p))
}

/// Rejects duplicate object keys (serde_json would silently keep the last, and so may IAM).
struct NoDuplicateKeys;

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateKeysVisitor)
    }
}

struct NoDuplicateKeysVisitor;

impl<'de> Visitor<'de> for NoDuplicateKeysVisitor {
    type Value = NoDuplicateKeys;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NoDuplicateKeys, A::Error> {
        let mut seen = BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(A::Error::custom(format!("duplicate key {key:?}")));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(NoDuplicateKeys)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NoDuplicateKeys, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(NoDuplicateKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_bool<E>(self, _: bool) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_unit<E>(self) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
}

#[test]
fn every_document_is_a_valid_allow_list() {
    let operators = [
        "ForAnyValue:StringEquals",
        "StringEquals",
        "StringLike",
        "StringEqualsIfExists",
        "StringLikeIfExists",
        "ForAllValues:StringEquals",
        "ForAllValues:StringNotLike",
        "Null",
    ];
    let keys = [
        "aws:TagKeys",
        "aws:CalledVia",
        "iam:PermissionsBoundary",
        "iam:PassedToService",
        "iam:AWSServiceName",
        "lambda:Principal",
    ];
    for path in ALL {
        serde_json::from_str::<NoDuplicateKeys>(&text(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        let doc = load(path);
        assert_eq!(doc["Version"], "2012-10-17", "{path}: Version must be 2012-10-17 (policy variables need it)");
        assert_eq!(doc.as_object().map(|o| o.len()), Some(2), "{path}: only Version and Statement");
        assert!(!statements(&doc).is_empty(), "{path}: no statements");
        let mut sids = BTreeSet::new();
        for s in statements(&doc) {
            let at = format!("{path}: statement {}", sid(s));
            let id = sid(s);
            assert!(!id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()), "{at}: Sid must be alphanumeric");
            assert!(sids.insert(id.to_string()), "{at}: Sid is not unique");
            for key in s.as_object().expect("statement object").keys() {
                assert!(
                    ["Sid", "Effect", "Action", "Resource", "Condition"].contains(&key.as_str()),
                    "{at}: {key} is not allowed (no NotAction/NotResource/Principal in these policies)"
                );
            }
            assert_eq!(s["Effect"], "Allow", "{at}: the documents are allow-lists");
            assert!(!actions(s).is_empty(), "{at}: no Action");
            for a in actions(s) {
                let (service, name) = a.split_once(':').unwrap_or_else(|| panic!("{at}: bad action {a}"));
                assert!(
                    !service.is_empty() && !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()),
                    "{at}: action {a} must name one action (no wildcards)"
                );
            }
            assert!(!resources(s).is_empty(), "{at}: no Resource");
            let Some(condition) = s.get("Condition") else { continue };
            for (operator, block) in condition.as_object().unwrap_or_else(|| panic!("{at}: bad Condition")) {
                assert!(operators.contains(&operator.as_str()), "{at}: unexpected condition operator {operator}");
                let block = block.as_object().unwrap_or_else(|| panic!("{at}: {operator} is not an object"));
                assert!(!block.is_empty(), "{at}: empty {operator}");
                for (key, value) in block {
                    assert!(
                        keys.contains(&key.as_str())
                            || key.starts_with("aws:RequestTag/webhookbridge.io/")
                            || key.starts_with("aws:ResourceTag/webhookbridge.io/"),
                        "{at}: unexpected condition key {key} (a typo?)"
                    );
                    assert!(!strings(value).is_empty(), "{at}: {operator} {key} needs a string or strings");
                    if operator == "Null" {
                        assert!(value == "true" || value == "false", "{at}: Null takes \"true\" or \"false\"");
                    }
                }
            }
        }
    }
}

#[test]
fn working_policies_grant_exactly_what_the_engine_calls() {
    let ops = operations();
    assert!(ops.len() > 30, "derivation found too little: {ops:?}");
    assert!(ops.contains(&("apigateway".into(), "GetApis".into())));
    let mut needed: BTreeSet<String> = ops.iter().map(|(s, o)| action(s, o)).collect();
    needed.extend(IMPLIED.iter().map(|(a, _)| a.to_string()));
    for path in WORKING {
        let granted: BTreeSet<String> = statements(&load(path)).iter().flat_map(actions).collect();
        let missing: Vec<_> = needed.difference(&granted).collect();
        let unused: Vec<_> = granted.difference(&needed).collect();
        assert!(missing.is_empty(), "{path} misses {missing:?}");
        assert!(unused.is_empty(), "{path} grants actions the engine never calls: {unused:?}");
    }
}

#[test]
fn every_engine_call_is_granted_on_the_resource_it_touches() {
    for path in WORKING {
        let doc = load(path);
        for (service, op) in operations() {
            let a = action(&service, &op);
            for resource in touches(&service, &op) {
                // What carries none of our tags needs a statement not conditioned on them.
                let untagged = NO_TAG_CONDITION.iter().any(|(s, o, _)| *s == service && *o == op);
                let found = if resource == "*" {
                    statements(&doc).iter().any(|s| actions(s).contains(&a) && resources(s) == ["*"])
                } else {
                    granting(&doc, &a, &resource).iter().any(|s| !untagged || !on_resource_tags(s))
                };
                assert!(found, "{path}: no statement allows {a} ({service} {op}) on {resource}");
            }
        }
        for role in [
            "arn:aws:iam::ACCOUNT_ID:role/webhook-bridge/CLUSTER/whb-1a2b3c4d-payments-orders",
            "arn:aws:iam::ACCOUNT_ID:role/order-pipeline-events",
        ] {
            assert!(
                !granting(&doc, "iam:PassRole", role).is_empty(),
                "{path}: no statement allows iam:PassRole on {role}"
            );
        }
    }
}

#[test]
fn the_engine_never_calls_delete_role_permissions_boundary() {
    // A boundary only restricts, and removing one would lift the cap on the managed role.
    assert!(
        !operations().contains(&("iam".into(), "DeleteRolePermissionsBoundary".into())),
        "src/aws/iam.rs calls DeleteRolePermissionsBoundary, which no policy grants"
    );
}

#[test]
fn no_document_grants_delete_role_permissions_boundary() {
    for path in ALL {
        for s in statements(&load(path)) {
            assert!(
                !actions(s).iter().any(|a| a.eq_ignore_ascii_case("iam:DeleteRolePermissionsBoundary")),
                "{path}: statement {} grants iam:DeleteRolePermissionsBoundary",
                sid(s)
            );
        }
    }
}

#[test]
fn every_arn_names_the_account_placeholder() {
    for path in ALL {
        for s in statements(&load(path)) {
            let at = format!("{path}: statement {}", sid(s));
            let mut arns = resources(s);
            arns.extend(condition(s, "StringEquals", "iam:PermissionsBoundary"));
            for arn in arns {
                if arn == "*" {
                    assert!(
                        actions(s).iter().all(|a| NO_RESOURCE_LEVEL.contains(&a.as_str())),
                        "{at}: Resource \"*\" only for actions without resource-level permissions ({NO_RESOURCE_LEVEL:?})"
                    );
                    continue;
                }
                let parts: Vec<&str> = arn.splitn(6, ':').collect();
                assert!(parts.len() == 6 && parts[0] == "arn" && parts[1] == "aws", "{at}: malformed ARN {arn}");
                // API Gateway ARNs have no account field.
                let want = if parts[2] == "apigateway" { "" } else { "ACCOUNT_ID" };
                assert_eq!(
                    parts[4], want,
                    "{at}: {arn} must be pinned to the account (ACCOUNT_ID), not * or a literal"
                );
            }
        }
    }
}

#[test]
fn role_writes_require_the_permissions_boundary() {
    for path in WORKING {
        for s in statements(&load(path)) {
            let writes: Vec<String> = actions(s)
                .into_iter()
                .filter(|a| a.starts_with("iam:") && !is_read(&a[4..]))
                // TagRole has no iam:PermissionsBoundary key; PassRole changes no role; a
                // service-linked role takes no boundary (see the test on it below).
                .filter(|a| a != "iam:TagRole" && a != "iam:PassRole" && a != "iam:CreateServiceLinkedRole")
                .collect();
            if writes.is_empty() {
                continue;
            }
            assert!(
                requires(s, "StringEquals", "iam:PermissionsBoundary", BOUNDARY_ARN),
                "{path}: statement {} allows {writes:?} without iam:PermissionsBoundary = {BOUNDARY_ARN}",
                sid(s)
            );
            assert_eq!(
                resources(s),
                [MANAGED_ROLES],
                "{path}: statement {} writes roles beyond {MANAGED_ROLES}",
                sid(s)
            );
        }
    }
}

#[test]
fn iam_stays_on_the_cluster_role_path() {
    for path in WORKING {
        for s in statements(&load(path)) {
            let to_events = requires(s, "StringEquals", "iam:PassedToService", "events.amazonaws.com");
            let service_linked = actions(s) == ["iam:CreateServiceLinkedRole"];
            for r in resources(s).iter().filter(|r| r.starts_with("arn:aws:iam:")) {
                if service_linked {
                    assert_eq!(
                        r,
                        API_GATEWAY_SERVICE_LINKED_ROLE,
                        "{path}: statement {}: only API Gateway's service-linked role",
                        sid(s)
                    );
                } else if to_events {
                    assert_eq!(r, ANY_ROLE, "{path}: statement {}: target roles are any role of the account", sid(s));
                } else {
                    assert_eq!(r, MANAGED_ROLES, "{path}: statement {}: IAM beyond the cluster's role path", sid(s));
                }
            }
        }
    }
}

#[test]
fn creates_require_the_ownership_request_tags() {
    for path in WORKING {
        let doc = load(path);
        for (service, op) in [
            ("apigateway", "CreateApi"),
            ("apigateway", "CreateStage"),
            ("apigateway", "CreateDomainName"),
            ("events", "CreateEventBus"),
            ("events", "CreateEventSource"),
            ("events", "CreateSubscriber"),
            ("iam", "CreateRole"),
            ("logs", "CreateLogGroup"),
            // Implied by CreateLogGroup's tags: never on its own, never without ours.
            ("logs", "TagResource"),
        ] {
            let a = action(service, op);
            for resource in touches(service, op) {
                for s in granting(&doc, &a, &resource) {
                    assert!(
                        on_request_tags(s),
                        "{path}: statement {} allows {service} {op} without aws:RequestTag/{TAG_MANAGED_BY} = webhook-bridge and aws:RequestTag/{TAG_CLUSTER} = CLUSTER",
                        sid(s)
                    );
                }
            }
        }
        // PutRule creates (tags in the request) and updates (tags on the rule).
        for resource in touches("events", "PutRule") {
            for s in granting(&doc, "events:PutRule", &resource) {
                assert!(
                    on_request_tags(s) || on_resource_tags(s),
                    "{path}: statement {} allows events:PutRule on {resource} without ownership tags in the request or on the rule",
                    sid(s)
                );
                if on_request_tags(s) {
                    assert!(
                        requires(s, "Null", &format!("aws:ResourceTag/{TAG_MANAGED_BY}"), "true"),
                        "{path}: statement {}: a create-by-request-tags PutRule must not reach a rule some other owner tagged",
                        sid(s)
                    );
                }
            }
        }
    }
}

#[test]
fn modifications_and_deletes_require_the_ownership_resource_tags() {
    for path in WORKING {
        let doc = load(path);
        for (service, op) in operations() {
            let creates = [
                "CreateApi",
                "CreateStage",
                "CreateDomainName",
                "CreateEventBus",
                "CreateEventSource",
                "CreateSubscriber",
                "CreateRole",
                "CreateLogGroup",
                "PutRule",
            ];
            if is_read(&op) || creates.contains(&op.as_str()) {
                continue;
            }
            let exempt = NO_TAG_CONDITION.iter().any(|(s, o, _)| *s == service && *o == op);
            let a = action(&service, &op);
            for resource in touches(&service, &op) {
                for s in granting(&doc, &a, &resource) {
                    assert!(
                        exempt || on_resource_tags(s),
                        "{path}: statement {} allows {service} {op} on {resource} without aws:ResourceTag/{TAG_MANAGED_BY} = webhook-bridge and aws:ResourceTag/{TAG_CLUSTER} = CLUSTER (or list it in NO_TAG_CONDITION with the reason)",
                        sid(s)
                    );
                }
            }
        }
    }
}

#[test]
fn untaggable_writes_are_listed_with_a_reason_and_stay_narrow() {
    let ops = operations();
    for (service, op, why) in NO_TAG_CONDITION {
        assert!(
            ops.contains(&(service.to_string(), op.to_string())),
            "NO_TAG_CONDITION lists {service} {op}, which the engine no longer calls"
        );
        assert!(!why.is_empty());
    }
    // The statements without ownership conditions reach only the untaggable HTTP API children
    // and API mappings.
    let children =
        ["/routes", "/routes/*", "/integrations", "/integrations/*", "/authorizers", "/authorizers/*", "/cors"];
    let mappings =
        ["arn:aws:apigateway:*::/domainnames/*/apimappings", "arn:aws:apigateway:*::/domainnames/*/apimappings/*"];
    for path in WORKING {
        for s in statements(&load(path)) {
            let writes = actions(s)
                .iter()
                .any(|a| ["apigateway:POST", "apigateway:PATCH", "apigateway:DELETE"].contains(&a.as_str()));
            if !writes || s.get("Condition").is_some() {
                continue;
            }
            for r in resources(s) {
                assert!(
                    (r.starts_with("arn:aws:apigateway:*::/apis/*/") && children.iter().any(|c| r.ends_with(c)))
                        || mappings.contains(&r.as_str()),
                    "{path}: statement {} writes {r} without ownership conditions",
                    sid(s)
                );
            }
        }
    }
}

#[test]
fn tagging_cannot_brand_an_object_we_do_not_own() {
    for path in WORKING {
        let doc = load(path);
        for (service, op) in [("events", "TagResource"), ("iam", "TagRole")] {
            for resource in touches(service, op) {
                for s in granting(&doc, &format!("{service}:{op}"), &resource) {
                    assert!(
                        on_resource_tags(s),
                        "{path}: statement {} lets {service}:{op} tag {resource} we may not own",
                        sid(s)
                    );
                    assert!(
                        requires(
                            s,
                            "StringEqualsIfExists",
                            &format!("aws:RequestTag/{TAG_MANAGED_BY}"),
                            "webhook-bridge"
                        ),
                        "{path}: statement {}: {service}:{op} must not rewrite {TAG_MANAGED_BY}",
                        sid(s)
                    );
                }
            }
        }
        // API Gateway authorizes TagResource on /tags/{arn}, a resource type with no condition
        // keys: the tagged object's tags cannot be checked, so our keys may never be written.
        for resource in touches("apigateway", "TagResource") {
            for s in granting(&doc, "apigateway:POST", &resource) {
                assert_eq!(
                    condition(s, "ForAllValues:StringNotLike", "aws:TagKeys"),
                    ["webhookbridge.io/*"],
                    "{path}: statement {} lets apigateway TagResource write ownership tags on any API",
                    sid(s)
                );
            }
        }
    }
}

#[test]
fn pass_role_goes_to_api_gateway_on_the_cluster_path_or_to_eventbridge() {
    for path in WORKING {
        for s in statements(&load(path)) {
            if !actions(s).contains(&"iam:PassRole".to_string()) {
                continue;
            }
            let at = format!("{path}: statement {}", sid(s));
            assert_eq!(actions(s), ["iam:PassRole"], "{at}: PassRole in a statement of its own");
            match condition(s, "StringEquals", "iam:PassedToService").as_slice() {
                [to] if to == "apigateway.amazonaws.com" => {
                    assert_eq!(resources(s), [MANAGED_ROLES], "{at}: only managed roles go to API Gateway")
                }
                [to] if to == "events.amazonaws.com" => {
                    assert_eq!(resources(s), [ANY_ROLE], "{at}: target roles, of this account only")
                }
                other => {
                    panic!("{at}: PassRole must name one iam:PassedToService (apigateway or events), not {other:?}")
                }
            }
        }
    }
}

#[test]
fn rules_stay_within_the_bridge_prefix() {
    for path in WORKING {
        for s in statements(&load(path)) {
            for r in resources(s).iter().filter(|r| r.starts_with("arn:aws:events:") && r.contains(":rule/")) {
                assert!(
                    OUR_RULES.contains(&r.as_str()),
                    "{path}: statement {}: rule {r} beyond our whb- prefix",
                    sid(s)
                );
            }
            if actions(s).iter().any(|a| a.starts_with("events:") && a != "events:ListRules") {
                for r in resources(s).iter().filter(|r| r.starts_with("arn:aws:events:")) {
                    assert!(
                        r == ANY_BUS
                            || OUR_RULES.contains(&r.as_str())
                            || r == OUR_ARCHIVES
                            || OUR_V2.contains(&r.as_str()),
                        "{path}: statement {}: events on {r}",
                        sid(s)
                    );
                }
            }
        }
    }
}

#[test]
fn lambda_permissions_are_added_for_eventbridge_only() {
    for path in WORKING {
        let doc = load(path);
        for s in granting(&doc, "lambda:AddPermission", "arn:aws:lambda:us-east-1:ACCOUNT_ID:function:f") {
            assert!(
                requires(s, "StringEquals", "lambda:Principal", "events.amazonaws.com"),
                "{path}: statement {} lets lambda:AddPermission grant invoke to someone other than events.amazonaws.com",
                sid(s)
            );
        }
    }
}

/// A statement's conditions as (operator, key, values) triples.
fn conditions(s: &Value) -> BTreeSet<(String, String, Vec<String>)> {
    let mut out = BTreeSet::new();
    for (operator, block) in s["Condition"].as_object().into_iter().flatten() {
        for (key, value) in block.as_object().into_iter().flatten() {
            out.insert((operator.clone(), key.clone(), strings(value)));
        }
    }
    out
}

#[test]
fn the_tenant_policy_is_the_working_policy_plus_namespace_scoping() {
    let sids = |doc: &Value| statements(doc).iter().map(|s| sid(s).to_string()).collect::<Vec<_>>();
    for (single, tenant) in [(SINGLE, TENANT), (SINGLE_FEATURES, TENANT_FEATURES)] {
        assert_eq!(sids(&load(single)), sids(&load(tenant)), "{tenant} must have the statements of {single}, in order");
    }
    let (single, tenant) = (load(SINGLE_SET), load(TENANT_SET));
    let mut unique = BTreeSet::new();
    for id in sids(&single) {
        assert!(unique.insert(id.clone()), "{SINGLE_SET}: Sid {id} is in both documents");
    }
    for (s, t) in statements(&single).iter().zip(statements(&tenant)) {
        for field in ["Effect", "Action", "Resource"] {
            assert_eq!(s[field], t[field], "{TENANT_SET}: statement {}: {field} differs from {SINGLE_SET}", sid(s));
        }
        let missing: Vec<_> = conditions(s).difference(&conditions(t)).cloned().collect();
        assert!(missing.is_empty(), "{TENANT_SET}: statement {} drops conditions of {SINGLE_SET}: {missing:?}", sid(s));
    }
}

#[test]
fn the_tenant_policy_scopes_ownership_to_the_session_namespace() {
    let owner = |tags: &str| format!("{tags}/{TAG_OWNER}");
    for s in statements(&load(TENANT_SET)) {
        let at = format!("{TENANT_SET}: statement {}", sid(s));
        if on_request_tags(s) {
            assert!(
                requires(s, "StringLike", &owner("aws:RequestTag"), SESSION_NAMESPACE_OWNER),
                "{at}: creates must tag the owner within the session's namespace ({SESSION_NAMESPACE_OWNER})"
            );
        }
        if on_resource_tags(s) {
            assert!(
                requires(s, "StringLike", &owner("aws:ResourceTag"), SESSION_NAMESPACE_OWNER),
                "{at}: writes must be on objects owned within the session's namespace ({SESSION_NAMESPACE_OWNER})"
            );
        }
        if !condition(s, "StringEqualsIfExists", &format!("aws:RequestTag/{TAG_MANAGED_BY}")).is_empty() {
            assert!(
                requires(s, "StringLikeIfExists", &owner("aws:RequestTag"), SESSION_NAMESPACE_OWNER),
                "{at}: tagging must not hand an object to another namespace"
            );
        }
        if requires(s, "StringEquals", "iam:PassedToService", "apigateway.amazonaws.com") {
            // Another tenant's managed role would let this tenant's API put events on that tenant's bus.
            assert!(
                on_resource_tags(s) && requires(s, "StringLike", &owner("aws:ResourceTag"), SESSION_NAMESPACE_OWNER),
                "{at}: only the session namespace's managed roles may be passed"
            );
        }
    }
}

#[test]
fn the_operator_assume_policy_only_assumes_tenant_roles_with_session_tags() {
    let doc = load(ASSUME);
    let mut granted = BTreeSet::new();
    for s in statements(&doc) {
        let at = format!("{ASSUME}: statement {}", sid(s));
        granted.extend(actions(s));
        assert_eq!(resources(s), [TENANT_ROLES], "{at}: only the tenant roles");
        assert!(
            requires(s, "StringEquals", &format!("aws:RequestTag/{TAG_CLUSTER}"), "CLUSTER"),
            "{at}: the session must be tagged with this cluster"
        );
        assert!(
            requires(s, "StringLike", &format!("aws:RequestTag/{TAG_NAMESPACE}"), "?*"),
            "{at}: the session must be tagged with a namespace"
        );
        let keys: BTreeSet<String> = condition(s, "ForAllValues:StringEquals", "aws:TagKeys").into_iter().collect();
        assert_eq!(
            keys,
            BTreeSet::from([TAG_CLUSTER.to_string(), TAG_NAMESPACE.to_string()]),
            "{at}: the session takes no tags but cluster and namespace"
        );
    }
    assert_eq!(
        granted,
        BTreeSet::from(["sts:AssumeRole".to_string(), "sts:TagSession".to_string()]),
        "{ASSUME}: only sts:AssumeRole and sts:TagSession"
    );
}

/// What a managed role may do under the boundary: put events (a routes bridge's role on a classic
/// bus; a webhook source's on the gateway's Custom Event Bus, `event-busv2`), and a webhook-source
/// bridge's subscribers' one action per target service (`desired_webhook::invoke_action`).
const BOUNDED_ACTIONS: [&str; 6] = [
    "events:PutEvents",
    "sqs:SendMessage",
    "lambda:InvokeFunction",
    "sns:Publish",
    "states:StartExecution",
    "kinesis:PutRecords",
];

#[test]
fn the_permissions_boundary_allows_only_putting_events_and_invoking_subscriber_targets() {
    let doc = load(BOUNDARY);
    let mut granted = BTreeSet::new();
    for s in statements(&doc) {
        let at = format!("{BOUNDARY}: statement {}", sid(s));
        for a in actions(s) {
            assert!(BOUNDED_ACTIONS.contains(&a.as_str()), "{at}: {a} is more than a managed role does");
            granted.insert(a);
        }
        for r in resources(s) {
            assert!(r.contains(":ACCOUNT_ID:") && r != "*", "{at}: {r} is not of the account");
        }
        assert!(s.get("Condition").is_none(), "{at}: unconditioned");
    }
    assert_eq!(granted, BOUNDED_ACTIONS.iter().map(|a| a.to_string()).collect(), "{BOUNDARY}");
    assert!(!granting(&doc, "events:PutEvents", "arn:aws:events:us-east-1:ACCOUNT_ID:event-bus/orders").is_empty());
}

#[test]
fn a_webhook_source_bridges_role_policy_stays_within_the_boundary() {
    use webhook_bridge::desired::{DesiredRule, DesiredTarget};
    // Every target service a subscriber can have, and a dead-letter queue.
    let targets = [
        "arn:aws:sqs:us-east-1:ACCOUNT_ID:orders",
        "arn:aws:lambda:us-east-1:ACCOUNT_ID:function:ship",
        "arn:aws:sns:us-east-1:ACCOUNT_ID:alerts",
        "arn:aws:states:us-east-1:ACCOUNT_ID:stateMachine:flow",
        "arn:aws:kinesis:us-east-1:ACCOUNT_ID:stream/clicks",
        "arn:aws:events:us-east-1:ACCOUNT_ID:event-bus/downstream",
    ];
    let rules = vec![DesiredRule {
        spec_name: "r".into(),
        name: "whb-1a2b3c4d-r".into(),
        arn: String::new(),
        pattern: serde_json::json!({}),
        enabled: true,
        description: None,
        targets: targets
            .iter()
            .map(|arn| DesiredTarget {
                arn: arn.to_string(),
                dead_letter_arn: Some("arn:aws:sqs:us-east-1:ACCOUNT_ID:dlq".into()),
                ..Default::default()
            })
            .collect(),
    }];
    for arn in targets {
        assert!(webhook_bridge::desired_webhook::invoke_action(arn).is_some(), "{arn}");
    }
    let bus = "arn:aws:events:us-east-1:ACCOUNT_ID:event-busv2/hooks/abcdefghijklmnopqrstuvwxy";
    let policy = webhook_bridge::desired_webhook::role_policy(bus, &rules);
    let boundary = load(BOUNDARY);
    for s in statements(&policy) {
        for a in actions(s) {
            for r in resources(s) {
                assert!(
                    !granting(&boundary, &a, &r).is_empty(),
                    "{BOUNDARY} does not allow {a} on {r}: the role could not do it"
                );
            }
        }
    }
}

#[test]
fn managed_policy_size_limit_holds_for_the_longest_cluster_name() {
    // IAM: a managed policy is at most 6,144 characters, whitespace not counted. `--cluster-name`
    // is a DNS label (at most 63 characters); an account id has 12 digits.
    let cluster = "c".repeat(63);
    let sizes: BTreeMap<&str, usize> = ALL
        .iter()
        .map(|path| {
            let filled = text(path).replace("ACCOUNT_ID", "123456789012").replace("CLUSTER", &cluster);
            (*path, filled.chars().filter(|c| !c.is_whitespace()).count())
        })
        .collect();
    for (path, size) in &sizes {
        assert!(*size <= 6144, "{path}: {size} characters once filled in; a managed policy holds 6,144: {sizes:?}");
    }
}

#[test]
fn archives_and_log_groups_stay_within_our_names() {
    for path in WORKING {
        for s in statements(&load(path)) {
            let at = format!("{path}: statement {}", sid(s));
            for r in resources(s) {
                if r.starts_with("arn:aws:events:") && r.contains(":archive/") {
                    assert_eq!(r, OUR_ARCHIVES, "{at}: archives beyond our whb- prefix");
                }
            }
            // Log group writes only on this cluster's groups; account-wide only DescribeLogGroups.
            let log_writes: Vec<String> =
                actions(s).into_iter().filter(|a| a.starts_with("logs:") && !is_read(&a[5..])).collect();
            let unscoped: Vec<&String> =
                log_writes.iter().filter(|a| !NO_RESOURCE_LEVEL.contains(&a.as_str())).collect();
            if !unscoped.is_empty() {
                for r in resources(s).iter().filter(|r| r.starts_with("arn:aws:logs:")) {
                    assert_eq!(r, OUR_LOG_GROUPS, "{at}: {unscoped:?} beyond this cluster's log groups");
                }
            }
            for r in resources(s).iter().filter(|r| r.starts_with("arn:aws:logs:") && r.as_str() != OUR_LOG_GROUPS) {
                assert_eq!(actions(s), ["logs:DescribeLogGroups"], "{at}: {r} is for DescribeLogGroups only");
            }
        }
    }
}

#[test]
fn the_only_service_linked_role_is_api_gateways() {
    for path in WORKING {
        for s in statements(&load(path)) {
            if !actions(s).contains(&"iam:CreateServiceLinkedRole".to_string()) {
                continue;
            }
            let at = format!("{path}: statement {}", sid(s));
            assert_eq!(actions(s), ["iam:CreateServiceLinkedRole"], "{at}: in a statement of its own");
            assert_eq!(resources(s), [API_GATEWAY_SERVICE_LINKED_ROLE], "{at}: API Gateway's role only");
            assert!(
                requires(s, "StringEquals", "iam:AWSServiceName", "ops.apigateway.amazonaws.com"),
                "{at}: iam:AWSServiceName must be ops.apigateway.amazonaws.com"
            );
        }
    }
}

#[test]
fn implied_actions_are_listed_with_a_reason_and_are_no_engine_call() {
    let called: BTreeSet<String> = operations().iter().map(|(s, o)| action(s, o)).collect();
    for (a, why) in IMPLIED {
        assert!(!why.is_empty(), "{a}: no reason");
        assert!(!called.contains(*a), "{a} is an engine call now: drop it from IMPLIED");
    }
}
