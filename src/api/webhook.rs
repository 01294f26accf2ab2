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

/// CEL on a header name the scheme reads: not a name AWS reserves (`WebhookStaticTokenAuthConfiguration.
/// TokenHttpHeader`: "the names EventBridge's edge writes, such as Host and the X-Forwarded-*
/// family, and the hop-by-hop and framing names an HTTP intermediary may rewrite, such as
/// Connection and Content-Length. Authorization is allowed"). Hop-by-hop: RFC 9110 7.6.1.
pub const RESERVED_HEADER_RULE: &str = "!(self.lowerAscii() in ['host', 'forwarded', 'content-length', 'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'] || self.lowerAscii().startsWith('x-forwarded-'))";
pub const RESERVED_HEADER_MESSAGE: &str = "a header name AWS reserves: EventBridge's edge writes Host, Forwarded and X-Forwarded-*, and an intermediary may rewrite the hop-by-hop and framing headers (Connection, Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade, Content-Length); Authorization is allowed";

/// CEL on a metadata header name: not one that carries credentials or describes the network
/// path (`WebhookEventsSourceConfiguration.MetadataHttpHeaders`).
pub const METADATA_HEADERS_RULE: &str = "self.all(h, !(h.lowerAscii() in ['authorization', 'proxy-authorization', 'cookie', 'host', 'forwarded', 'via', 'x-real-ip', 'content-length', 'connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade'] || h.lowerAscii().startsWith('x-forwarded-')))";
pub const METADATA_HEADER_MESSAGE: &str = "a header that carries credentials (Authorization, Proxy-Authorization, Cookie) or describes the network path (Host, Forwarded, Via, X-Real-IP, X-Forwarded-*, hop-by-hop and framing headers) cannot be added to event metadata (AWS's MetadataHttpHeaders)";

/// One webhook event source of a bridge.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.provider == 'Custom' ? has(self.auth) : !has(self.auth)")
    .message("webhookSources: auth is set exactly when provider is Custom (a preset fixes the scheme)"))]
#[x_kube(validation = Rule::new("self.provider != 'Slack'").message(SLACK_REFUSED))]
#[x_kube(validation = Rule::new("self.provider != 'Twilio'").message(TWILIO_REFUSED))]
#[x_kube(validation = Rule::new(
    "!has(self.timestampToleranceSeconds) || self.provider in ['Stripe', 'StandardWebhooks'] || (self.provider == 'Custom' && has(self.auth) && has(self.auth.hmac) && has(self.auth.hmac.timestampHeader))"
).message("webhookSources: timestampToleranceSeconds only applies to a scheme that signs a timestamp (Stripe, StandardWebhooks, or Custom hmac with timestampHeader): AWS's TimestampToleranceInSeconds requires TimestampHttpHeader and is not allowed with SignedMessageComposition BODY (GitHub, Shopify) or a token (GitLab)"))]
#[x_kube(validation = Rule::new(
    "!(self.provider == 'Custom' && has(self.auth) && has(self.auth.basic) && !has(self.secretRef))"
).message("webhookSources: auth.basic needs secretRef (the password): AWS takes Username and Password together or neither (to generate both), and InvalidInputException answers a username alone"))]
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
    // AWS's WebhookMetadataHttpHeaderName: 1 to 128 token characters; case-insensitive, no repeats.
    #[schemars(length(max = 20), inner(length(min = 1, max = 128), regex(pattern = HEADER_PATTERN)))]
    #[x_kube(validation = Rule::new("self.all(h, self.exists_one(g, g.lowerAscii() == h.lowerAscii()))")
        .message("metadataHeaders: header names are case-insensitive and must not repeat (AWS's MetadataHttpHeaders)"))]
    #[x_kube(validation = Rule::new(METADATA_HEADERS_RULE).message(METADATA_HEADER_MESSAGE))]
    pub metadata_headers: Vec<String>,
    /// `ContentBased`: EventBridge drops a request whose body it has already put on the bus
    /// (providers redeliver). Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deduplication: Option<Deduplication>,
}

/// Why Slack is refused (a CEL message; docs/webhook-sources.md says the same).
pub const SLACK_REFUSED: &str = "webhookSources: provider Slack cannot be verified by EventBridge: Slack signs \"v0:<timestamp>:<body>\" (parts joined by colons, X-Slack-Signature v0=<hex>), and AWS's SignedMessageComposition has only BODY, TIMESTAMP_DOT_BODY and MESSAGE_ID_DOT_TIMESTAMP_DOT_BODY (parts joined by dots); receive Slack on an API Gateway route (spec.routes) and verify the signature in the target";
/// Why Twilio is refused.
pub const TWILIO_REFUSED: &str = "webhookSources: provider Twilio cannot be verified by EventBridge: Twilio signs the full request URL followed by the form parameters sorted by name (X-Twilio-Signature, base64 HMAC-SHA1), and AWS's SignedMessageComposition signs only the body (BODY, TIMESTAMP_DOT_BODY, MESSAGE_ID_DOT_TIMESTAMP_DOT_BODY); receive Twilio on an API Gateway route (spec.routes) and verify the signature in the target";

/// Provider presets. Slack (`v0:<timestamp>:<body>`, joined by colons) and Twilio (signs the URL
/// and form parameters) sign in ways AWS's HMAC scheme cannot express: they are listed so that
/// admission refuses them saying why ([`SLACK_REFUSED`], [`TWILIO_REFUSED`]).
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
    /// Refused at admission: [`SLACK_REFUSED`].
    Slack,
    /// Refused at admission: [`TWILIO_REFUSED`].
    Twilio,
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

/// AWS's WebhookHmacAuthConfiguration, field by field, with the rules its documentation states.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.signedMessage != 'Body' || !has(self.timestampHeader)")
    .message("auth.hmac.timestampHeader: not allowed with signedMessage Body, because BODY does not sign the timestamp (AWS's TimestampHttpHeader)"))]
#[x_kube(validation = Rule::new("self.signedMessage == 'Body' || has(self.timestampHeader)")
    .message("auth.hmac.timestampHeader: required with signedMessage TimestampDotBody or MessageIdDotTimestampDotBody (AWS's TimestampHttpHeader)"))]
#[x_kube(validation = Rule::new("self.signedMessage != 'MessageIdDotTimestampDotBody' || has(self.messageIdHeader)")
    .message("auth.hmac.messageIdHeader: required with signedMessage MessageIdDotTimestampDotBody (AWS's MessageIdHttpHeader)"))]
#[x_kube(validation = Rule::new(
    "!has(self.timestampHeader) || self.timestampHeader.lowerAscii() != self.signatureHeader.lowerAscii() || (has(self.delimiter) && has(self.signaturePrefix) && has(self.timestampPrefix))"
).message("auth.hmac: when timestampHeader is the signatureHeader (as Stripe's t=...,v1=...), delimiter, signaturePrefix and timestampPrefix are all required (AWS's SignatureHttpHeader)"))]
#[x_kube(validation = Rule::new("!has(self.timestampPrefix) || has(self.timestampHeader)")
    .message("auth.hmac.timestampPrefix: only with timestampHeader (it precedes the timestamp in that header)"))]
pub struct HmacAuth {
    pub algorithm: HmacAlgorithm,
    pub encoding: HmacEncoding,
    #[schemars(length(min = 1, max = 512), regex(pattern = HEADER_PATTERN))]
    #[x_kube(validation = Rule::new(RESERVED_HEADER_RULE).message(RESERVED_HEADER_MESSAGE))]
    pub signature_header: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[\x20-\x7E]+$"))]
    pub signature_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[\x20-\x7E]+$"))]
    pub delimiter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512), regex(pattern = HEADER_PATTERN))]
    #[x_kube(validation = Rule::new(RESERVED_HEADER_RULE).message(RESERVED_HEADER_MESSAGE))]
    pub timestamp_header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[\x20-\x7E]+$"))]
    pub timestamp_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512), regex(pattern = HEADER_PATTERN))]
    #[x_kube(validation = Rule::new(RESERVED_HEADER_RULE).message(RESERVED_HEADER_MESSAGE))]
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
    #[x_kube(validation = Rule::new(RESERVED_HEADER_RULE).message(RESERVED_HEADER_MESSAGE))]
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
