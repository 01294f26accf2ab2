//! Provider presets: each expands to the exact AuthConfiguration AWS takes. Evidence per
//! provider is its own documentation of how it signs (cited on each arm).

use super::{AuthScheme, HmacScheme};
use crate::api::webhook::{
    HmacAlgorithm, HmacEncoding, SecretEncoding, SignedMessage, WebhookAuth, WebhookProvider, WebhookSourceSpec,
};

/// The scheme of a source, or why it has none (a `Custom` source without `auth`, or a provider
/// AWS cannot verify, Slack and Twilio: the CRD already refuses both).
pub fn scheme(source: &WebhookSourceSpec) -> Result<AuthScheme, String> {
    let hmac = |algorithm, encoding, header: &str, signed_message| HmacScheme {
        algorithm,
        encoding,
        signature_header: header.to_string(),
        signature_prefix: None,
        delimiter: None,
        timestamp_header: None,
        timestamp_prefix: None,
        tolerance_seconds: None,
        message_id_header: None,
        signed_message,
        secret_encoding: SecretEncoding::Raw,
    };
    let tolerance = source.timestamp_tolerance_seconds;
    Ok(match source.provider {
        // GitHub, "Validating webhook deliveries": X-Hub-Signature-256 = "sha256=" + hex
        // HMAC-SHA256 of the payload.
        WebhookProvider::GitHub => AuthScheme::Hmac(HmacScheme {
            signature_prefix: Some("sha256=".into()),
            ..hmac(HmacAlgorithm::Sha256, HmacEncoding::Hex, "X-Hub-Signature-256", SignedMessage::Body)
        }),
        // Stripe, "Verify webhook signatures manually": Stripe-Signature: t=<ts>,v1=<hex
        // HMAC-SHA256 of "<ts>.<payload>">[,v1=...], default tolerance 5 minutes.
        WebhookProvider::Stripe => AuthScheme::Hmac(HmacScheme {
            signature_prefix: Some("v1=".into()),
            delimiter: Some(",".into()),
            timestamp_header: Some("Stripe-Signature".into()),
            timestamp_prefix: Some("t=".into()),
            tolerance_seconds: Some(tolerance.unwrap_or(300)),
            ..hmac(HmacAlgorithm::Sha256, HmacEncoding::Hex, "Stripe-Signature", SignedMessage::TimestampDotBody)
        }),
        // Shopify, "Verify webhooks": X-Shopify-Hmac-Sha256 = base64 HMAC-SHA256 of the raw body.
        WebhookProvider::Shopify => AuthScheme::Hmac(hmac(
            HmacAlgorithm::Sha256,
            HmacEncoding::Base64,
            "X-Shopify-Hmac-Sha256",
            SignedMessage::Body,
        )),
        // Standard Webhooks spec: webhook-signature: "v1,<base64>" (space-separated list) over
        // "<webhook-id>.<webhook-timestamp>.<body>", key = base64 of the secret after "whsec_".
        WebhookProvider::StandardWebhooks => AuthScheme::Hmac(HmacScheme {
            signature_prefix: Some("v1,".into()),
            delimiter: Some(" ".into()),
            timestamp_header: Some("webhook-timestamp".into()),
            tolerance_seconds: Some(tolerance.unwrap_or(300)),
            message_id_header: Some("webhook-id".into()),
            secret_encoding: SecretEncoding::Base64,
            ..hmac(
                HmacAlgorithm::Sha256,
                HmacEncoding::Base64,
                "webhook-signature",
                SignedMessage::MessageIdDotTimestampDotBody,
            )
        }),
        // GitLab, "Webhooks": the secret token is sent as X-Gitlab-Token.
        WebhookProvider::GitLab => AuthScheme::Token { header: "X-Gitlab-Token".into() },
        WebhookProvider::Slack => return Err(crate::api::webhook::SLACK_REFUSED.into()),
        WebhookProvider::Twilio => return Err(crate::api::webhook::TWILIO_REFUSED.into()),
        WebhookProvider::Custom => match &source.auth {
            Some(WebhookAuth { hmac: Some(h), .. }) => AuthScheme::Hmac(HmacScheme {
                algorithm: h.algorithm,
                encoding: h.encoding,
                signature_header: h.signature_header.clone(),
                signature_prefix: h.signature_prefix.clone(),
                delimiter: h.delimiter.clone(),
                timestamp_header: h.timestamp_header.clone(),
                timestamp_prefix: h.timestamp_prefix.clone(),
                tolerance_seconds: tolerance,
                message_id_header: h.message_id_header.clone(),
                signed_message: h.signed_message,
                secret_encoding: h.secret_encoding.unwrap_or(SecretEncoding::Raw),
            }),
            Some(WebhookAuth { token: Some(t), .. }) => AuthScheme::Token { header: t.header.clone() },
            Some(WebhookAuth { basic: Some(b), .. }) => AuthScheme::Basic { username: b.username.clone() },
            _ => return Err("provider Custom needs auth with exactly one of hmac, token and basic".into()),
        },
    })
}

/// Headers a preset adds to each event's metadata (the provider's event type and delivery id),
/// before the source's own `metadataHeaders`.
pub fn metadata_headers(provider: WebhookProvider) -> &'static [&'static str] {
    match provider {
        WebhookProvider::GitHub => &["X-GitHub-Event", "X-GitHub-Delivery"],
        WebhookProvider::Shopify => &["X-Shopify-Topic", "X-Shopify-Webhook-Id"],
        WebhookProvider::GitLab => &["X-Gitlab-Event"],
        WebhookProvider::Stripe
        | WebhookProvider::StandardWebhooks
        | WebhookProvider::Custom
        | WebhookProvider::Slack
        | WebhookProvider::Twilio => &[],
    }
}
