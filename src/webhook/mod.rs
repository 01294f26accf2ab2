//! Signed webhooks, pure: what a `spec.webhookSources[]` entry means to AWS (its
//! WebhookAuthConfiguration, [`presets`]), checked offline exactly as EventBridge documents it
//! checks each request. No network here.

pub mod event;
pub mod presets;
pub mod secret;
pub mod verify;

use crate::api::webhook::{HmacAlgorithm, HmacEncoding, SecretEncoding, SignedMessage};

/// One source's scheme, as AWS's WebhookAuthConfiguration union holds it (without the secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthScheme {
    Hmac(HmacScheme),
    /// The secret is the whole value of `header`.
    Token {
        header: String,
    },
    /// `Authorization: Basic base64(username:password)`; the password is the secret.
    Basic {
        username: String,
    },
}

/// AWS's WebhookHmacAuthConfiguration without SecretValue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HmacScheme {
    pub algorithm: HmacAlgorithm,
    pub encoding: HmacEncoding,
    pub signature_header: String,
    pub signature_prefix: Option<String>,
    pub delimiter: Option<String>,
    pub timestamp_header: Option<String>,
    pub timestamp_prefix: Option<String>,
    /// TimestampToleranceInSeconds (AWS's default 300 when a timestamp is signed).
    pub tolerance_seconds: Option<i32>,
    pub message_id_header: Option<String>,
    pub signed_message: SignedMessage,
    pub secret_encoding: SecretEncoding,
}

impl AuthScheme {
    /// AWS's name for the scheme's type; it can never change on a live source.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthScheme::Hmac(_) => "HMAC",
            AuthScheme::Token { .. } => "STATIC_TOKEN",
            AuthScheme::Basic { .. } => "BASIC",
        }
    }
}
