//! The AWS edge: SDK clients per region, one module per service for reads (observe) and writes
//! (apply), and an interceptor that counts every call by service, operation and outcome.

/// Every item of a paged API Gateway list call (`MaxResults` / `NextToken`); the calling module
/// names its `SVC`, `PAGE` and `classify`.
macro_rules! all_pages {
    ($request:expr, $operation:literal) => {{
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = $request
                .max_results(PAGE)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| classify(SVC, $operation, e))?;
            token = out.next_token().map(str::to_string);
            items.extend(out.items.unwrap_or_default());
            if token.is_none() {
                break items;
            }
        }
    }};
}

pub mod apigateway;
pub mod archive;
pub mod cbor;
pub mod counter;
pub mod domain;
pub mod eventbridge;
pub mod eventsv2;
pub mod fence;
pub mod iam;
pub mod lambda;
pub mod logs;
pub mod ratelimit;
pub mod sns;
pub mod sqs;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_types::SdkConfig;
use aws_types::region::Region;
use tokio::sync::OnceCell;

pub use counter::CallCounter;
pub use fence::WriteFence;
pub use ratelimit::RateLimits;

use crate::desired::AwsEnv;
use crate::error::{Error, classify};

/// The SDK clients one bridge needs, all for one region.
#[derive(Clone, Debug)]
pub struct Clients {
    pub region: String,
    pub apigateway: aws_sdk_apigatewayv2::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub iam: aws_sdk_iam::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub sts: aws_sdk_sts::Client,
    /// Read only: resource policies of SQS and SNS targets.
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    /// The access-log group.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// The Custom Event Bus (`eventsv2`): a gateway's bus, webhook sources, subscribers.
    pub eventsv2: aws_sdk_eventbridgev2::Client,
    identity: Arc<OnceCell<(String, String)>>,
}

impl Clients {
    /// Clients from an SDK config, every call counted by `counter`.
    pub fn new(config: &SdkConfig, counter: &CallCounter) -> Clients {
        Clients::build(config, counter, &WriteFence::open(), None)
    }

    /// Clients whose every request attempt must first pass `fence` (leader election), each service's requests also drawing from its bucket in `limits`.
    pub fn build(
        config: &SdkConfig,
        counter: &CallCounter,
        fence: &WriteFence,
        limits: Option<&RateLimits>,
    ) -> Clients {
        let region = config.region().map(ToString::to_string).unwrap_or_default();
        let http = limits.map(|_| ratelimit::default_https_client());
        macro_rules! client {
            ($sdk:ident, $service:literal) => {{
                let mut builder =
                    $sdk::config::Builder::from(config).interceptor(fence.clone()).interceptor(counter.clone());
                if let (Some(inner), Some(bucket)) = (&http, limits.and_then(|l| l.bucket($service))) {
                    builder =
                        builder.http_client(ratelimit::RateLimitedClient::new(inner.clone(), bucket, fence.clone()));
                }
                $sdk::Client::from_conf(builder.build())
            }};
        }
        Clients {
            region,
            apigateway: client!(aws_sdk_apigatewayv2, "apigatewayv2"),
            events: client!(aws_sdk_eventbridge, "eventbridge"),
            iam: client!(aws_sdk_iam, "iam"),
            lambda: client!(aws_sdk_lambda, "lambda"),
            sts: client!(aws_sdk_sts, "sts"),
            sqs: client!(aws_sdk_sqs, "sqs"),
            sns: client!(aws_sdk_sns, "sns"),
            logs: client!(aws_sdk_cloudwatchlogs, "logs"),
            eventsv2: client!(aws_sdk_eventbridgev2, "eventsv2"),
            identity: Arc::default(),
        }
    }

    /// Clients built from parts (tests with `aws-smithy-mocks`). Their `eventsv2` client has
    /// no credentials or endpoint (no mock covers it): set one with [`Clients::with_eventsv2`].
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        region: &str,
        apigateway: aws_sdk_apigatewayv2::Client,
        events: aws_sdk_eventbridge::Client,
        iam: aws_sdk_iam::Client,
        lambda: aws_sdk_lambda::Client,
        sts: aws_sdk_sts::Client,
        sqs: aws_sdk_sqs::Client,
        sns: aws_sdk_sns::Client,
        logs: aws_sdk_cloudwatchlogs::Client,
    ) -> Clients {
        Clients {
            region: region.to_string(),
            apigateway,
            events,
            iam,
            lambda,
            sts,
            sqs,
            sns,
            logs,
            eventsv2: aws_sdk_eventbridgev2::Client::from_conf(
                aws_sdk_eventbridgev2::Config::builder()
                    .region(Region::new(region.to_string()))
                    .behavior_version(aws_sdk_eventbridgev2::config::BehaviorVersion::latest())
                    .build(),
            ),
            identity: Arc::default(),
        }
    }

    /// The same clients with this `eventsv2` client.
    pub fn with_eventsv2(mut self, eventsv2: aws_sdk_eventbridgev2::Client) -> Clients {
        self.eventsv2 = eventsv2;
        self
    }

    /// Account and partition of the caller (one STS call per client set, then cached).
    pub async fn env(&self) -> Result<AwsEnv, Error> {
        let (account, partition) = self
            .identity
            .get_or_try_init(|| async {
                let out =
                    self.sts.get_caller_identity().send().await.map_err(|e| classify("sts", "GetCallerIdentity", e))?;
                let account = out.account().unwrap_or_default().to_string();
                let partition = out.arn().and_then(|arn| arn.split(':').nth(1)).unwrap_or("aws").to_string();
                Ok::<_, Error>((account, partition))
            })
            .await?
            .clone();
        Ok(AwsEnv { region: self.region.clone(), account, partition })
    }
}

/// A role to act as (a tenant's, in multi-tenant mode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssumedRole {
    pub arn: String,
    pub session_name: String,
    /// Session tags (e.g. cluster and namespace), for the role's policy conditions.
    pub tags: Vec<(String, String)>,
}

/// Client sets per region, built on first use from one base config.
#[derive(Clone, Debug)]
pub struct Aws {
    base: SdkConfig,
    pub counter: CallCounter,
    /// Every request attempt passes it (open unless the operator runs with leader election).
    pub fence: WriteFence,
    /// Client-side request rates per service (None: unlimited, e.g. the CLI).
    limits: Option<RateLimits>,
    cache: Arc<Mutex<HashMap<String, Clients>>>,
}

impl Aws {
    pub fn new(base: SdkConfig) -> Aws {
        Aws { base, counter: CallCounter::default(), fence: WriteFence::open(), limits: None, cache: Arc::default() }
    }

    /// An `Aws` whose clients for `clients.region` are given (tests with `aws-smithy-mocks`);
    /// `counter` must be the interceptor those clients were built with.
    pub fn from_clients(clients: Clients, counter: CallCounter) -> Aws {
        let base = SdkConfig::builder().region(Region::new(clients.region.clone())).build();
        let cache = HashMap::from([(clients.region.clone(), clients)]);
        Aws { base, counter, fence: WriteFence::open(), limits: None, cache: Arc::new(Mutex::new(cache)) }
    }

    /// The same configuration with every request attempt behind `fence` (clients are rebuilt).
    pub fn with_fence(&self, fence: WriteFence) -> Aws {
        Aws { fence, cache: Arc::default(), ..self.clone() }
    }

    /// Load the standard AWS configuration (env, profiles, `AWS_ENDPOINT_URL`, IRSA, ...).
    pub async fn from_env() -> Aws {
        Aws::new(aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await)
    }

    /// The standard configuration, every AWS request drawing from its service's bucket.
    pub async fn from_env_rate_limited(limits: RateLimits) -> Aws {
        Aws::rate_limited(aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await, limits)
    }

    /// `base`, every AWS request drawing from its service's bucket in `limits`.
    pub fn rate_limited(base: SdkConfig, limits: RateLimits) -> Aws {
        Aws { limits: Some(limits), ..Aws::new(base) }
    }

    /// The base config's region, if any.
    pub fn default_region(&self) -> Option<String> {
        self.base.region().map(ToString::to_string)
    }

    /// Clients for `region` acting as `role`: credentials from STS AssumeRole with the session
    /// name and tags given, cached per (role, session, region). The SDK's identity cache renews
    /// them before they expire.
    pub async fn clients_as(&self, region: &str, role: &AssumedRole) -> Clients {
        // The whole identity: two namespaces whose session names coincide (names are cut to
        // AWS's 64 characters) still never share credentials, nor each other's session tags.
        let tags: Vec<String> = role.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let key = format!("{}|{}|{}|{region}", role.arn, role.session_name, tags.join("\u{0}"));
        if let Some(c) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return c.clone();
        }
        let provider = aws_config::sts::AssumeRoleProvider::builder(&role.arn)
            .session_name(&role.session_name)
            .tags(role.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .region(Region::new(region.to_string()))
            .configure(&self.base)
            .build()
            .await;
        let config = self
            .base
            .to_builder()
            .region(Region::new(region.to_string()))
            .credentials_provider(aws_types::sdk_config::SharedCredentialsProvider::new(provider))
            .build();
        let clients = Clients::build(&config, &self.counter, &self.fence, self.limits.as_ref());
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_insert(clients).clone()
    }

    /// Clients for `region`.
    pub fn clients(&self, region: &str) -> Clients {
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache
            .entry(region.to_string())
            .or_insert_with(|| {
                let config = self.base.to_builder().region(Region::new(region.to_string())).build();
                Clients::build(&config, &self.counter, &self.fence, self.limits.as_ref())
            })
            .clone()
    }
}

/// Whether an SDK error carries one of these codes (e.g. NotFound on a delete: already gone).
pub fn has_code<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(
    err: &aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
    codes: &[&str],
) -> bool {
    crate::error::code_of(err).is_some_and(|c| codes.contains(&c))
}

/// The error message AWS sent with a service error ("" for other errors).
pub fn message_of<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(
    err: &aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> String {
    err.as_service_error().and_then(|e| e.message()).unwrap_or_default().to_string()
}

/// The result of a delete: success, or "not found" (already gone, e.g. by an earlier interrupted
/// run) — either way the object is gone. Other errors are classified.
pub fn gone_ok<O, E>(
    service: &'static str,
    operation: &'static str,
    not_found: &[&str],
    result: Result<O, aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::http::Response>>,
) -> Result<(), Error>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if has_code(&e, not_found) => Ok(()),
        Err(e) => Err(classify(service, operation, e)),
    }
}
