//! `webhook::verify` judged by evidence no one here wrote: GitHub's documented test vector,
//! Stripe's documented verification steps (carried out by Python's standard library), and the
//! Standard Webhooks reference implementation (PyPI `standardwebhooks` 1.1.0, pinned in
//! scripts/requirements.txt, run from `.venv` made by `bash scripts/venv.sh`), both directions.

use std::path::PathBuf;
use std::process::Command;

use webhook_bridge::api::webhook::{WebhookProvider, WebhookSourceSpec};
use webhook_bridge::webhook::secret::SecretValue;
use webhook_bridge::webhook::verify::{self, Refusal, Verdict};
use webhook_bridge::webhook::{AuthScheme, HmacScheme, presets};

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

fn hmac(provider: WebhookProvider) -> HmacScheme {
    match presets::scheme(&source(provider)) {
        Ok(AuthScheme::Hmac(h)) => h,
        other => panic!("{provider:?}: {other:?}"),
    }
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// `.venv/bin/python`, or None (SKIPPED outside CI; CI must have it).
fn python() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    if p.exists() {
        return Some(p);
    }
    assert!(std::env::var_os("CI").is_none(), "{}: missing; run `bash scripts/venv.sh`", p.display());
    eprintln!("SKIPPED: {} missing (run `bash scripts/venv.sh`)", p.display());
    None
}

/// Run a Python snippet with arguments; its stdout, trimmed.
fn run_python(python: &PathBuf, code: &str, args: &[&str]) -> String {
    let out = Command::new(python).arg("-c").arg(code).args(args).output().expect("run python");
    assert!(out.status.success(), "python failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

// Evidence: GitHub Docs, "Validating webhook deliveries", "Testing the webhook payload
// validation": secret "It's a Secret to Everybody", payload "Hello, World!", and
// X-Hub-Signature-256 "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17".
const GITHUB_SECRET: &str = "It's a Secret to Everybody";
const GITHUB_PAYLOAD: &[u8] = b"Hello, World!";
const GITHUB_SIGNATURE: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

#[test]
fn github_documented_test_vector_verifies_and_signs() {
    let scheme = hmac(WebhookProvider::GitHub);
    let secret = SecretValue::new(GITHUB_SECRET);
    let h = headers(&[("X-Hub-Signature-256", GITHUB_SIGNATURE)]);
    assert_eq!(verify::verify(&AuthScheme::Hmac(scheme.clone()), &secret, &h, GITHUB_PAYLOAD, 0), Verdict::Accepted);
    // The reverse direction: what we would send is exactly GitHub's documented header.
    let signed = verify::sign(&scheme, &secret, GITHUB_PAYLOAD, None, None).expect("sign");
    assert_eq!(signed, h);
    // One byte off in the payload, the secret or the signature: refused.
    for (secret, payload, sig) in [
        (GITHUB_SECRET, &b"Hello, World?"[..], GITHUB_SIGNATURE),
        ("It's a Secret to Everybody!", GITHUB_PAYLOAD, GITHUB_SIGNATURE),
        (GITHUB_SECRET, GITHUB_PAYLOAD, &GITHUB_SIGNATURE.replace("e17", "e18")),
    ] {
        let v = verify::verify(
            &AuthScheme::Hmac(scheme.clone()),
            &SecretValue::new(secret),
            &headers(&[("X-Hub-Signature-256", sig)]),
            payload,
            0,
        );
        assert!(matches!(v, Verdict::Refused(Refusal::NoSignatureMatches { .. })), "{v:?}");
    }
}

// Evidence: Stripe Docs, "Verify webhook signatures manually": split Stripe-Signature on ','
// and each part on '=', t is the timestamp and each v1 a signature (several during secret
// rolling; v0 ignored); the signed payload is "<t>.<raw body>"; HMAC-SHA256 keyed with the
// endpoint's signing secret (the whole whsec_... string); compare each v1 to it; default
// tolerance 5 minutes. Carried out by Python's hmac module (not our code), then the reverse.
const STRIPE_SIGN: &str = r#"
import hmac, hashlib, sys
secret, t, body = sys.argv[1], sys.argv[2], sys.argv[3]
sig = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
print(f"t={t},v1={sig}")
"#;
const STRIPE_CHECK: &str = r#"
import hmac, hashlib, sys
secret, header, body = sys.argv[1], sys.argv[2], sys.argv[3]
items = [p.split("=", 1) for p in header.split(",")]
t = [v for k, v in items if k == "t"][0]
expected = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
print("ok" if any(hmac.compare_digest(expected, v) for k, v in items if k == "v1") else "bad")
"#;

#[test]
fn stripe_documented_scheme_both_directions() {
    let Some(py) = python() else { return };
    let secret = "whsec_test_0123456789abcdefghijklmnop";
    let body = r#"{"id":"evt_1","object":"event","type":"payment_intent.succeeded"}"#;
    let t = 1_767_225_600i64;
    let header = run_python(&py, STRIPE_SIGN, &[secret, &t.to_string(), body]);
    let scheme = hmac(WebhookProvider::Stripe);
    let a = AuthScheme::Hmac(scheme.clone());
    let s = SecretValue::new(secret);
    let h = headers(&[("Stripe-Signature", &header)]);
    assert_eq!(verify::verify(&a, &s, &h, body.as_bytes(), t + 299), Verdict::Accepted);
    // Secret rolling: an old v1 first, and a v0, do not stop a match.
    let rolled = header.replace(",v1=", &format!(",v1={},v0=00,v1=", "ab".repeat(32)));
    assert_eq!(
        verify::verify(&a, &s, &headers(&[("Stripe-Signature", &rolled)]), body.as_bytes(), t),
        Verdict::Accepted
    );
    // The documented 5-minute default tolerance, both sides.
    for now in [t + 301, t - 301] {
        let v = verify::verify(&a, &s, &h, body.as_bytes(), now);
        assert!(
            matches!(v, Verdict::Refused(Refusal::TimestampOutsideTolerance { tolerance_seconds: 300, .. })),
            "{v:?}"
        );
    }
    // Reverse: Stripe's steps accept what we would sign, and refuse a changed body.
    let ours = verify::sign(&scheme, &s, body.as_bytes(), Some(t), None).expect("sign");
    assert_eq!(ours[0].1, header, "same header as Stripe's steps give");
    assert_eq!(run_python(&py, STRIPE_CHECK, &[secret, &ours[0].1, body]), "ok");
    assert_eq!(run_python(&py, STRIPE_CHECK, &[secret, &ours[0].1, &body.replace("evt_1", "evt_2")]), "bad");
}

// Evidence: the Standard Webhooks reference implementation, PyPI standardwebhooks 1.1.0
// (`Webhook(secret).sign(msg_id, timestamp, data)` and `.verify(data, headers)`).
const SW_SIGN: &str = r#"
import sys
from datetime import datetime, timezone
from standardwebhooks.webhooks import Webhook
secret, msg_id, ts, body = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
print(Webhook(secret).sign(msg_id, datetime.fromtimestamp(ts, tz=timezone.utc), body))
"#;
const SW_VERIFY: &str = r#"
import sys
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
secret, msg_id, ts, sig, body = sys.argv[1:6]
try:
    Webhook(secret).verify(body, {"webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": sig})
    print("ok")
except WebhookVerificationError as e:
    print("refused: " + str(e))
"#;

#[test]
fn standard_webhooks_reference_implementation_both_directions() {
    let Some(py) = python() else { return };
    // A whsec_ secret as Standard Webhooks providers issue them (base64 of 24 bytes).
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let body = r#"{"type":"user.created","data":{"id":"u_1"}}"#;
    let (id, ts) = ("msg_2Lh9KRb0pzN4LePd3XiA4Vdzmk1", 1_767_225_600i64);
    let sig = run_python(&py, SW_SIGN, &[secret, id, &ts.to_string(), body]);
    assert!(sig.starts_with("v1,"), "{sig}");
    let scheme = hmac(WebhookProvider::StandardWebhooks);
    let a = AuthScheme::Hmac(scheme.clone());
    let s = SecretValue::new(secret);
    let h = headers(&[("webhook-id", id), ("webhook-timestamp", &ts.to_string()), ("webhook-signature", &sig)]);
    assert_eq!(verify::verify(&a, &s, &h, body.as_bytes(), ts), Verdict::Accepted);
    // Several signatures, space-separated (the spec's key rotation): any match.
    let two = headers(&[
        ("webhook-id", id),
        ("webhook-timestamp", &ts.to_string()),
        ("webhook-signature", &format!("v1,{} {sig}", "A".repeat(44))),
    ]);
    assert_eq!(verify::verify(&a, &s, &two, body.as_bytes(), ts), Verdict::Accepted);
    // The id is signed: another id, refused; an id with '.', refused before any HMAC (AWS).
    let other =
        headers(&[("webhook-id", "msg_other"), ("webhook-timestamp", &ts.to_string()), ("webhook-signature", &sig)]);
    assert!(matches!(
        verify::verify(&a, &s, &other, body.as_bytes(), ts),
        Verdict::Refused(Refusal::NoSignatureMatches { .. })
    ));
    let dotted =
        headers(&[("webhook-id", "msg.1"), ("webhook-timestamp", &ts.to_string()), ("webhook-signature", &sig)]);
    assert_eq!(
        verify::verify(&a, &s, &dotted, body.as_bytes(), ts),
        Verdict::Refused(Refusal::MessageIdContainsDot { header: "webhook-id".into() })
    );

    // Reverse: the reference verifies what we sign (its tolerance is against its own clock, so
    // sign at the current time), and refuses it for another body.
    let now = jiff::Timestamp::now().as_second();
    let ours = verify::sign(&scheme, &s, body.as_bytes(), Some(now), Some(id)).expect("sign");
    let ours_sig = ours.iter().find(|(k, _)| k == "webhook-signature").map(|(_, v)| v.clone()).expect("signature");
    assert_eq!(run_python(&py, SW_VERIFY, &[secret, id, &now.to_string(), &ours_sig, body]), "ok");
    let tampered = run_python(&py, SW_VERIFY, &[secret, id, &now.to_string(), &ours_sig, "{}"]);
    assert!(tampered.starts_with("refused"), "{tampered}");
}

#[test]
fn the_example_fixtures_pass_through_the_cli() {
    // examples/fixtures/webhook-sources: signatures computed with Python's hmac (their files say
    // so); accepted, forged, stale, missing header and no-such-source cases.
    let out = Command::new(env!("CARGO_BIN_EXE_webhook-bridge"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["test", "-f", "examples/webhook-sources/hooks.yaml", "examples/fixtures/webhook-sources"])
        .output()
        .expect("run webhook-bridge test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    for case in ["forged", "without its signature header", "stale", "reaches the deploys queue", "404"] {
        assert!(stdout.contains(case), "no fixture about {case:?}: {stdout}");
    }
    assert!(!stdout.contains("Secret to Everybody") && !stdout.contains("whsec_"), "a secret was printed: {stdout}");
}
