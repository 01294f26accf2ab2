//! A webhook source's credential (HMAC key, static token or basic-auth password) and the rules
//! AWS's model states for its value. The value is never printed: no `Display`, a redacted
//! `Debug`, and every message here names only lengths and rules.
//!
//! botocore `eventbridgev2` 2025-05-15: `WebhookSecretValue` is 6 to 512 characters (sensitive);
//! `WebhookHmacAuthConfiguration.SecretValue` "must be 16 to 512 bytes; with BASE64
//! SecretEncoding, this is measured after decoding"; `WebhookCredential.HmacSecretValue` "With
//! BASE64, EventBridge removes a leading \"whsec_\"". `WebhookStaticTokenAuthConfiguration`:
//! "EventBridge compares it against the entire header value".

use base64::Engine as _;

use super::AuthScheme;
use crate::api::webhook::SecretEncoding;

/// `WebhookSecretValue`: min 6, max 512 (characters).
pub const MIN_VALUE_CHARS: usize = 6;
pub const MAX_VALUE_CHARS: usize = 512;
/// The HMAC key: 16 to 512 bytes (after decoding, with BASE64).
pub const MIN_HMAC_KEY_BYTES: usize = 16;
pub const MAX_HMAC_KEY_BYTES: usize = 512;

/// Standard base64, padding optional (Standard Webhooks secrets are padded; a user may drop it).
pub(crate) const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// The credential as the provider and EventBridge share it: the HMAC secret (as written, before
/// any decoding), the static token, or the basic-auth password.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretValue(<redacted, {} bytes>)", self.0.len())
    }
}

impl SecretValue {
    pub fn new(value: impl Into<String>) -> SecretValue {
        SecretValue(value.into())
    }

    /// From a Kubernetes Secret's `data` bytes: the value must be UTF-8 (AWS's SecretValue is a
    /// string).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<SecretValue, String> {
        String::from_utf8(bytes)
            .map(SecretValue)
            .map_err(|_| "the value is not UTF-8 text (AWS takes the secret as a string)".to_string())
    }

    /// The value, for the code that must send it (CreateEventSource, RotateWebhookCredentials)
    /// or compare it. Never log what this returns.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The HMAC key bytes: the characters (RAW), or the base64 decoding after a leading `whsec_`
    /// (BASE64).
    pub fn hmac_key(&self, encoding: SecretEncoding) -> Result<Vec<u8>, String> {
        match encoding {
            SecretEncoding::Raw => Ok(self.0.as_bytes().to_vec()),
            SecretEncoding::Base64 => {
                let text = self.0.strip_prefix("whsec_").unwrap_or(&self.0);
                BASE64
                    .decode(text.as_bytes())
                    .map_err(|_| "secretEncoding Base64: the value (after a leading whsec_) is not base64".to_string())
            }
        }
    }
}

/// The rules AWS states for a credential's value under `scheme`, as a message naming the rule
/// (never the value). Checked wherever the value is known: the Secret the operator reads, and
/// the fixtures and files the offline commands take.
pub fn check(scheme: &AuthScheme, value: &SecretValue) -> Result<(), String> {
    let chars = value.0.chars().count();
    if !(MIN_VALUE_CHARS..=MAX_VALUE_CHARS).contains(&chars) {
        return Err(format!(
            "the value is {chars} characters; AWS's WebhookSecretValue is {MIN_VALUE_CHARS} to {MAX_VALUE_CHARS}"
        ));
    }
    match scheme {
        AuthScheme::Hmac(h) => {
            let key = value.hmac_key(h.secret_encoding)?;
            if !(MIN_HMAC_KEY_BYTES..=MAX_HMAC_KEY_BYTES).contains(&key.len()) {
                let measured = match h.secret_encoding {
                    SecretEncoding::Raw => "",
                    SecretEncoding::Base64 => " after base64 decoding",
                };
                return Err(format!(
                    "the HMAC key is {} bytes{measured}; AWS requires {MIN_HMAC_KEY_BYTES} to {MAX_HMAC_KEY_BYTES} bytes",
                    key.len()
                ));
            }
        }
        AuthScheme::Token { header } => {
            // HTTP strips leading and trailing whitespace from a field value and forbids control
            // characters in it, and EventBridge compares the entire value: such a token could
            // never match.
            if value.0.chars().any(|c| c.is_control() && c != '\t') {
                return Err(format!(
                    "a token sent as the {header} header cannot contain control characters (CR, LF, ...)"
                ));
            }
            if value.0.starts_with([' ', '\t']) || value.0.ends_with([' ', '\t']) {
                return Err(format!(
                    "a token sent as the {header} header cannot start or end with whitespace (HTTP strips it, so it could never match)"
                ));
            }
        }
        AuthScheme::Basic { .. } => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::webhook::{HmacAlgorithm, HmacEncoding, SignedMessage};
    use crate::webhook::HmacScheme;

    fn hmac(encoding: SecretEncoding) -> AuthScheme {
        AuthScheme::Hmac(HmacScheme {
            algorithm: HmacAlgorithm::Sha256,
            encoding: HmacEncoding::Hex,
            signature_header: "X-Sig".into(),
            signature_prefix: None,
            delimiter: None,
            timestamp_header: None,
            timestamp_prefix: None,
            tolerance_seconds: None,
            message_id_header: None,
            signed_message: SignedMessage::Body,
            secret_encoding: encoding,
        })
    }

    #[test]
    fn debug_never_shows_the_value() {
        let v = SecretValue::new("It's a Secret to Everybody");
        assert!(!format!("{v:?}").contains("Secret to"));
        assert_eq!(format!("{v:?}"), "SecretValue(<redacted, 26 bytes>)");
    }

    #[test]
    fn value_rules() {
        let raw = hmac(SecretEncoding::Raw);
        assert!(check(&raw, &SecretValue::new("0123456789abcdef")).is_ok());
        let e = check(&raw, &SecretValue::new("short")).unwrap_err();
        assert!(e.contains("5 characters") && e.contains("6 to 512"), "{e}");
        let e = check(&raw, &SecretValue::new("0123456789")).unwrap_err();
        assert!(e.contains("10 bytes") && e.contains("16 to 512"), "{e}");
        let e = check(&raw, &SecretValue::new("x".repeat(513))).unwrap_err();
        assert!(e.contains("513 characters"), "{e}");

        let b64 = hmac(SecretEncoding::Base64);
        // 24 base64 characters decode to 18 bytes; whsec_ is dropped first.
        assert!(check(&b64, &SecretValue::new("whsec_MDEyMzQ1Njc4OWFiY2RlZmdo")).is_ok());
        let e = check(&b64, &SecretValue::new("whsec_MDEyMzQ1Njc4OQ==")).unwrap_err();
        assert!(e.contains("10 bytes after base64 decoding"), "{e}");
        let e = check(&b64, &SecretValue::new("whsec_not base64!!")).unwrap_err();
        assert!(e.contains("not base64"), "{e}");

        let token = AuthScheme::Token { header: "X-Gitlab-Token".into() };
        assert!(check(&token, &SecretValue::new("Bearer abcdef")).is_ok());
        assert!(check(&token, &SecretValue::new("abcdef\r\nX: y")).unwrap_err().contains("control"));
        assert!(check(&token, &SecretValue::new(" abcdef")).unwrap_err().contains("whitespace"));
    }
}
