//! Signed webhooks on an EventBridge Custom Event Bus (the `eventsv2` API): a bridge's
//! `spec.webhookSources`, the gateway's `spec.customEventBus`, and their status.
//!
//! A webhook event source is the other ingress: EventBridge itself gives a stable HTTPS URL,
//! verifies each request (HMAC, static token or basic auth) and puts accepted requests on a Custom
//! Event Bus, where subscribers (the bridge's `rules`, one subscriber per target) filter and
//! deliver them. AWS docs: "Webhook Events for a Custom Event Bus", "Securing a webhook event
//! source"; botocore 1.44.8 `eventbridgev2` (2025-05-15).

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::spec::ID_PATTERN;

/// HTTP header names as AWS's `WebhookHeaderName` takes them (RFC 9110 token characters).
pub const HEADER_PATTERN: &str = r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,512}$";

/// One webhook event source of a bridge.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.provider == 'Custom' ? has(self.auth) : !has(self.auth)")
    .message("webhookSources: auth is set exactly when provider is Custom (a preset fixes the scheme)"))]
pub struct WebhookSourceSpec {
    /// Stable identifier of the source (a DNS label); the AWS event source name is derived from
    /// it. Part of the webhook URL's identity: renaming it makes a new URL.
    #[schemars(length(min = 1, max = 40), regex(pattern = ID_PATTERN))]
    pub name: String,
    /// How the provider signs or authenticates its requests: a preset (the exact AWS
    /// AuthConfiguration it expands to is in docs/webhook-sources.md) or `Custom` with `auth`.
    pub provider: WebhookProvider,
    /// The scheme, field by field as AWS takes it; only with provider `Custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<WebhookAuth>,
    /// Where the credential comes from: a Kubernetes Secret (`secretRef`), or none, so that
    /// EventBridge generates it (read it from the Secrets Manager secret named in status).
    /// Changing the Secret's value rotates the credential (RotateWebhookCredentials); the URL stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeyRef>,
    /// Seconds a signed timestamp may be off (1 to 900; AWS's default 300). Only for schemes that
    /// sign a timestamp (Stripe, Standard Webhooks, Custom with a timestamp header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 900))]
    pub timestamp_tolerance_seconds: Option<i32>,
    /// Request headers added to each event's metadata (lowercased), e.g. `X-GitHub-Event`; a
    /// preset adds its provider's event-type header. At most 20 in all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20), inner(length(min = 1, max = 512), regex(pattern = HEADER_PATTERN)))]
    pub metadata_headers: Vec<String>,
    /// `ContentBased`: EventBridge drops a request whose body it has already put on the bus
    /// (providers redeliver). Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deduplication: Option<Deduplication>,
}

/// Provider presets. Slack (`v0:<timestamp>:<body>`, joined by colons) and Twilio (signs the URL
/// and form parameters) sign in ways AWS's HMAC scheme cannot express; they are refused.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[schemars(extend("maxLength" = 16))]
pub enum WebhookProvider {
    /// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
    GitHub,
    /// `Stripe-Signature: t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">`, tolerance 300 s.
    Stripe,
    /// `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>`.
    Shopify,
    /// Standard Webhooks (Svix, Clerk, Resend, ...): `webhook-signature: v1,<base64>` over
    /// `<webhook-id>.<webhook-timestamp>.<body>`, secret `whsec_<base64>`.
    StandardWebhooks,
    /// GitLab: `X-Gitlab-Token: <secret token>`.
    GitLab,
    /// `auth` says the scheme.
    Custom,
}

/// Exactly one scheme (AWS's WebhookAuthConfiguration union); it cannot change after creation.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("(has(self.hmac) ? 1 : 0) + (has(self.token) ? 1 : 0) + (has(self.basic) ? 1 : 0) == 1")
    .message("auth: set exactly one of hmac, token and basic"))]
pub struct WebhookAuth {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac: Option<HmacAuth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenAuth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<BasicAuth>,
}

/// AWS's WebhookHmacAuthConfiguration, field by field.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HmacAuth {
    pub algorithm: HmacAlgorithm,
    pub encoding: HmacEncoding,
    #[schemars(length(min = 1, max = 512), regex(pattern = HEADER_PATTERN))]
    pub signature_header: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[\x20-\x7E]+$"))]
    pub signature_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[\x20-\x7E]+$"))]
    pub delimiter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512), regex(pattern = HEADER_PATTERN))]
    pub timestamp_header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[\x20-\x7E]+$"))]
    pub timestamp_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512), regex(pattern = HEADER_PATTERN))]
    pub message_id_header: Option<String>,
    pub signed_message: SignedMessage,
    /// `Base64`: the secret is base64 (a leading `whsec_` is dropped), as Standard Webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_encoding: Option<SecretEncoding>,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[schemars(extend("maxLength" = 8))]
pub enum HmacAlgorithm {
    Sha256,
    Sha1,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[schemars(extend("maxLength" = 8))]
pub enum HmacEncoding {
    Hex,
    Base64,
}

/// What is signed: AWS's SignedMessageComposition.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[schemars(extend("maxLength" = 32))]
pub enum SignedMessage {
    /// The body alone (no replay protection).
    Body,
    /// `<timestamp>.<body>`.
    TimestampDotBody,
    /// `<messageId>.<timestamp>.<body>` (Standard Webhooks).
    MessageIdDotTimestampDotBody,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[schemars(extend("maxLength" = 8))]
pub enum SecretEncoding {
    Raw,
    Base64,
}

/// The provider sends the secret as a header's whole value.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TokenAuth {
    #[schemars(length(min = 1, max = 512), regex(pattern = HEADER_PATTERN))]
    pub header: String,
}

/// HTTP Basic authentication; the password is the secret.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BasicAuth {
    #[schemars(length(min = 1, max = 512), regex(pattern = r"^[^:\s]+$"))]
    pub username: String,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[schemars(extend("maxLength" = 16))]
pub enum Deduplication {
    ContentBased,
}

/// A key of a Kubernetes Secret in the bridge's namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Defaults to `secret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: Option<String>,
}

impl SecretKeyRef {
    pub fn key(&self) -> &str {
        self.key.as_deref().unwrap_or("secret")
    }
}

/// A gateway's Custom Event Bus (eventsv2): the bus webhook sources of attached bridges publish
/// to (5 per account by default, so it is shared infrastructure). Immutable.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct CustomEventBusSpec {
    /// The bus name; defaults to `<namespace>-<gateway>-<hash8>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256), regex(pattern = r"^[A-Za-z0-9][.\-_A-Za-z0-9]*$"))]
    pub name: Option<String>,
    /// How long events are kept on the bus for subscribers (days, AWS's storage retention).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 365))]
    pub retention_days: Option<i32>,
}

/// Status of one webhook event source.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSourceStatus {
    pub name: String,
    /// The URL to give the provider (`WebhookDetails.WebhookUrl`); stable for the source's life.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The Secrets Manager secret holding the credential (never the value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_arn: Option<String>,
    /// `CREATING`, `ACTIVE`, `UPDATING`, `CREATE_FAILED`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// Status of one subscriber (a rule's target on the webhook ingress).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct SubscriberStatus {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// `RUNNING` or `STOPPED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}
