use super::*;
use crate::api::webhook::{WebhookProvider, WebhookSourceSpec};
use crate::webhook::presets;

fn source(provider: WebhookProvider) -> WebhookSourceSpec {
    WebhookSourceSpec {
        name: "s".into(),
        provider,
        auth: None,
        secret_ref: None,
        timestamp_tolerance_seconds: None,
        metadata_headers: Vec::new(),
        deduplication: None,
    }
}

fn hmac_of(provider: WebhookProvider) -> HmacScheme {
    match presets::scheme(&source(provider)) {
        Ok(AuthScheme::Hmac(h)) => h,
        other => panic!("{provider:?}: {other:?}"),
    }
}

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

const GITHUB_SIG: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

#[test]
fn github_documented_vector_is_accepted_and_any_change_refused() {
    let scheme = AuthScheme::Hmac(hmac_of(WebhookProvider::GitHub));
    let secret = SecretValue::new("It's a Secret to Everybody");
    let ok = verify(&scheme, &secret, &h(&[("x-hub-signature-256", GITHUB_SIG)]), b"Hello, World!", 0);
    assert_eq!(ok, Verdict::Accepted);
    let forged = verify(&scheme, &secret, &h(&[("X-Hub-Signature-256", GITHUB_SIG)]), b"Hello, World?", 0);
    assert!(matches!(forged, Verdict::Refused(Refusal::NoSignatureMatches { tried: 1, .. })), "{forged:?}");
    let missing = verify(&scheme, &secret, &h(&[("X-Hub-Signature", GITHUB_SIG)]), b"Hello, World!", 0);
    assert_eq!(missing, Verdict::Refused(Refusal::MissingHeader { header: "X-Hub-Signature-256".into() }));
    let no_prefix = verify(&scheme, &secret, &h(&[("X-Hub-Signature-256", &GITHUB_SIG[7..])]), b"Hello, World!", 0);
    assert!(matches!(no_prefix, Verdict::Refused(Refusal::MalformedHeader { .. })), "{no_prefix:?}");
    let not_hex = verify(&scheme, &secret, &h(&[("X-Hub-Signature-256", "sha256=zz")]), b"Hello, World!", 0);
    assert!(
        matches!(&not_hex, Verdict::Refused(Refusal::MalformedHeader { why, .. }) if why.contains("hex")),
        "{not_hex:?}"
    );
    let upper = GITHUB_SIG.replace("757107ea", "757107EA");
    assert_eq!(
        verify(&scheme, &secret, &h(&[("X-Hub-Signature-256", &upper)]), b"Hello, World!", 0),
        Verdict::Accepted
    );
}

#[test]
fn stripe_timestamp_in_the_signature_header_any_v1_matches_and_tolerance() {
    let scheme = hmac_of(WebhookProvider::Stripe);
    let secret = SecretValue::new("whsec_test_secret_for_stripe_12345");
    let body = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
    let signed = sign(&scheme, &secret, body, Some(1_700_000_000), None).expect("sign");
    assert_eq!(signed.len(), 1);
    let value = &signed[0].1;
    assert!(value.starts_with("t=1700000000,v1="), "{value}");
    let a = AuthScheme::Hmac(scheme.clone());
    assert_eq!(verify(&a, &secret, &signed, body, 1_700_000_100), Verdict::Accepted);
    // A rotated secret: Stripe sends several v1; any match is enough; v0 is ignored.
    let several = format!("t=1700000000,v1={},{},v0=abcd", "00".repeat(32), &value[13..]);
    assert_eq!(verify(&a, &secret, &h(&[("Stripe-Signature", &several)]), body, 1_700_000_000), Verdict::Accepted);
    let stale = verify(&a, &secret, &signed, body, 1_700_000_301);
    assert_eq!(
        stale,
        Verdict::Refused(Refusal::TimestampOutsideTolerance {
            header: "Stripe-Signature".into(),
            skew_seconds: 301,
            tolerance_seconds: 300
        })
    );
    let future = verify(&a, &secret, &signed, body, 1_699_999_600);
    assert!(matches!(future, Verdict::Refused(Refusal::TimestampOutsideTolerance { skew_seconds: 400, .. })));
    let no_ts = verify(&a, &secret, &h(&[("Stripe-Signature", &value[13..])]), body, 0);
    assert!(
        matches!(&no_ts, Verdict::Refused(Refusal::MalformedHeader { why, .. }) if why.contains("timestamp prefix"))
    );
    let bad_ts = verify(&a, &secret, &h(&[("Stripe-Signature", &value.replace("t=17", "t=x7"))]), body, 0);
    assert!(matches!(&bad_ts, Verdict::Refused(Refusal::MalformedHeader { why, .. }) if why.contains("Unix seconds")));
    // The timestamp is signed: moving it breaks the signature.
    let moved = value.replace("t=1700000000", "t=1700000001");
    let r = verify(&a, &secret, &h(&[("Stripe-Signature", &moved)]), body, 1_700_000_000);
    assert!(matches!(r, Verdict::Refused(Refusal::NoSignatureMatches { .. })), "{r:?}");
}

#[test]
fn standard_webhooks_message_id_and_several_signatures() {
    let scheme = hmac_of(WebhookProvider::StandardWebhooks);
    let secret = SecretValue::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    let body = br#"{"type":"user.created"}"#;
    let signed = sign(&scheme, &secret, body, Some(1_700_000_000), Some("msg_1")).expect("sign");
    let a = AuthScheme::Hmac(scheme.clone());
    assert_eq!(verify(&a, &secret, &signed, body, 1_700_000_000), Verdict::Accepted);
    let sig = signed.iter().find(|(k, _)| k == "webhook-signature").map(|(_, v)| v.clone()).expect("sig");
    let two = h(&[
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", "1700000000"),
        ("webhook-signature", &format!("v1,{} {sig}", "A".repeat(44))),
    ]);
    assert_eq!(verify(&a, &secret, &two, body, 1_700_000_000), Verdict::Accepted);
    let dotted = h(&[("webhook-id", "msg.1"), ("webhook-timestamp", "1700000000"), ("webhook-signature", &sig)]);
    assert_eq!(
        verify(&a, &secret, &dotted, body, 1_700_000_000),
        Verdict::Refused(Refusal::MessageIdContainsDot { header: "webhook-id".into() })
    );
    let no_id = h(&[("webhook-timestamp", "1700000000"), ("webhook-signature", &sig)]);
    assert_eq!(
        verify(&a, &secret, &no_id, body, 1_700_000_000),
        Verdict::Refused(Refusal::MissingHeader { header: "webhook-id".into() })
    );
    let other_id = h(&[("webhook-id", "msg_2"), ("webhook-timestamp", "1700000000"), ("webhook-signature", &sig)]);
    assert!(matches!(
        verify(&a, &secret, &other_id, body, 1_700_000_000),
        Verdict::Refused(Refusal::NoSignatureMatches { .. })
    ));
}

#[test]
fn shopify_base64_body() {
    let scheme = hmac_of(WebhookProvider::Shopify);
    let secret = SecretValue::new("shpss_0123456789abcdef");
    let body = br#"{"id":1}"#;
    let signed = sign(&scheme, &secret, body, None, None).expect("sign");
    assert_eq!(verify(&AuthScheme::Hmac(scheme), &secret, &signed, body, 0), Verdict::Accepted);
}

#[test]
fn token_and_basic() {
    let gitlab = presets::scheme(&source(WebhookProvider::GitLab)).expect("scheme");
    let secret = SecretValue::new("gl-token-123456");
    assert_eq!(verify(&gitlab, &secret, &h(&[("X-Gitlab-Token", "gl-token-123456")]), b"{}", 0), Verdict::Accepted);
    assert_eq!(
        verify(&gitlab, &secret, &h(&[("X-Gitlab-Token", "gl-token-12345")]), b"{}", 0),
        Verdict::Refused(Refusal::TokenMismatch { header: "X-Gitlab-Token".into() })
    );
    assert_eq!(
        verify(&gitlab, &secret, &h(&[]), b"{}", 0),
        Verdict::Refused(Refusal::MissingHeader { header: "X-Gitlab-Token".into() })
    );

    let basic = AuthScheme::Basic { username: "hooks".into() };
    let pass = SecretValue::new("pa55word!");
    let auth = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("hooks:pa55word!"));
    assert_eq!(verify(&basic, &pass, &h(&[("authorization", &auth)]), b"", 0), Verdict::Accepted);
    let wrong = format!("basic {}", base64::engine::general_purpose::STANDARD.encode("hooks:pa55word?"));
    assert_eq!(
        verify(&basic, &pass, &h(&[("Authorization", &wrong)]), b"", 0),
        Verdict::Refused(Refusal::BasicAuthMismatch)
    );
    let bearer = verify(&basic, &pass, &h(&[("Authorization", "Bearer x")]), b"", 0);
    assert!(matches!(bearer, Verdict::Refused(Refusal::MalformedHeader { .. })));
}

#[test]
fn refusals_never_carry_the_secret_and_have_a_status() {
    let scheme = AuthScheme::Token { header: "X-Token".into() };
    let secret = SecretValue::new("super-secret-token");
    let Verdict::Refused(r) = verify(&scheme, &secret, &h(&[("X-Token", "nope-nope")]), b"", 0) else {
        panic!("accepted")
    };
    assert!(!r.to_string().contains("super-secret") && !format!("{r:?}").contains("super-secret"));
    assert_eq!(r.status(), 403);
    assert_eq!(Refusal::MissingHeader { header: "X".into() }.status(), 401);
}

#[test]
fn custom_sha1_with_a_timestamp_header_of_its_own_and_prefixes() {
    let scheme = HmacScheme {
        algorithm: HmacAlgorithm::Sha1,
        encoding: HmacEncoding::Hex,
        signature_header: "X-Signature".into(),
        signature_prefix: Some("sha1=".into()),
        delimiter: None,
        timestamp_header: Some("X-Timestamp".into()),
        timestamp_prefix: Some("ts=".into()),
        tolerance_seconds: Some(60),
        message_id_header: None,
        signed_message: SignedMessage::TimestampDotBody,
        secret_encoding: crate::api::webhook::SecretEncoding::Raw,
    };
    let secret = SecretValue::new("0123456789abcdef0123");
    let body = b"payload";
    let signed = sign(&scheme, &secret, body, Some(1000), None).expect("sign");
    assert_eq!(signed[0], ("X-Timestamp".to_string(), "ts=1000".to_string()));
    assert!(signed[1].1.starts_with("sha1=") && signed[1].1.len() == 5 + 40, "{signed:?}");
    let a = AuthScheme::Hmac(scheme);
    assert_eq!(verify(&a, &secret, &signed, body, 1060), Verdict::Accepted);
    assert!(matches!(
        verify(&a, &secret, &signed, body, 1061),
        Verdict::Refused(Refusal::TimestampOutsideTolerance { tolerance_seconds: 60, .. })
    ));
    let no_prefix = h(&[("X-Timestamp", "1000"), ("X-Signature", &signed[1].1)]);
    assert!(matches!(verify(&a, &secret, &no_prefix, body, 1000), Verdict::Refused(Refusal::MalformedHeader { .. })));
    let missing = h(&[("X-Signature", &signed[1].1)]);
    assert_eq!(
        verify(&a, &secret, &missing, body, 1000),
        Verdict::Refused(Refusal::MissingHeader { header: "X-Timestamp".into() })
    );
    // The signature header repeated: each line's signatures are candidates.
    let repeated = h(&[("X-Timestamp", "ts=1000"), ("X-Signature", "sha1=00"), ("x-signature", &signed[1].1)]);
    assert_eq!(verify(&a, &secret, &repeated, body, 1000), Verdict::Accepted);
}
