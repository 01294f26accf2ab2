//! Signed webhooks through EventBridge webhook event sources (issue #22), the engine against the
//! emulator's eventbridgev2 (scripts/aws_emulator/shims_eventsv2.py): a gateway with
//! `spec.customEventBus` makes its Custom Event Bus; a bridge with a GitHub source and an SQS
//! subscriber gets an ACTIVE source whose URL is in its status, and a request GitHub would sign
//! lands in the queue; a changed Kubernetes Secret rotates the credential without a new URL; the
//! bridge's delete and the gateway's leave no eventsv2 object; a Stripe-signed request reaches
//! the queue and forged or stale ones are refused; every request passes the model check.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use common::{Moto, bridge, model_check_enabled};
use serde_json::Value;
use webhook_bridge::api::{WebhookBridge, WebhookBridgeGateway};
use webhook_bridge::desired_webhook::{SecretValue, StaticSecrets};
use webhook_bridge::engine::{Engine, Gateways, Secrets};
use webhook_bridge::gateway::{self, StaticGateways};

fn skipped() -> bool {
    if !model_check_enabled() {
        eprintln!("MODEL_CHECK=off: skipped (the eventbridgev2 emulation is the proxy's)");
    }
    !model_check_enabled()
}

fn gateway_spec() -> WebhookBridgeGateway {
    let mut gw: WebhookBridgeGateway = serde_saphyr::from_str(
        r#"
apiVersion: webhookbridge.io/v1alpha1
kind: WebhookBridgeGateway
metadata: {name: hooks, namespace: platform}
spec:
  region: us-east-1
  api: {stage: live}
  customEventBus: {name: hooks-v2}
"#,
    )
    .expect("gateway yaml");
    gw.metadata.uid = Some("gw-uid-1".into());
    gw
}

fn github_bridge() -> WebhookBridge {
    let mut b = bridge(
        r#"
apiVersion: webhookbridge.io/v1alpha1
kind: WebhookBridge
metadata: {name: gh, namespace: platform}
spec:
  gatewayRef: {name: hooks}
  webhookSources:
    - name: github
      provider: GitHub
      secretRef: {name: gh-webhook}
  rules:
    - name: pushes
      pattern: {ref: [{prefix: refs/heads/}]}
      targets: [{arn: "arn:aws:sqs:us-east-1:123456789012:pushes"}]
"#,
    );
    b.metadata.uid = Some("gh-uid-1".into());
    b
}

fn secrets(value: &str) -> Secrets {
    let keys = [("secret".to_string(), SecretValue::new(value))].into();
    Secrets(Arc::new(StaticSecrets([(("platform".to_string(), "gh-webhook".to_string()), keys)].into())))
}

fn with(mut engine: Engine, gw: &WebhookBridgeGateway, b: &WebhookBridge, secret: &str) -> Engine {
    engine.gateways = Gateways(Arc::new(StaticGateways { gateways: vec![gw.clone()], bridges: vec![b.clone()] }));
    engine.secrets = secrets(secret);
    engine
}

/// One HTTP/1.1 POST to `url` (http://host:port/path): the status.
fn post(url: &str, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (addr, path) = rest.split_once('/').map(|(a, p)| (a, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut s = TcpStream::connect(addr).expect("connect the emulator");
    let mut req =
        format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("write");
    s.write_all(body).expect("write the body");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

fn github_signature(secret: &str, body: &[u8]) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let hex: String = aws_lc_rs::hmac::sign(&key, body).as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Every eventsv2 object in the account: (buses, sources, subscribers).
async fn v2_inventory(c: &aws_sdk_eventbridgev2::Client) -> (usize, usize, usize) {
    let buses = c.list_event_buses().send().await.expect("ListEventBuses");
    let sources = c.list_event_sources().send().await.expect("ListEventSources");
    let subscribers = c.list_subscribers().send().await.expect("ListSubscribers");
    (buses.event_buses().len(), sources.event_sources().len(), subscribers.subscribers().len())
}

#[tokio::test]
async fn a_github_source_on_a_gateway_bus_delivers_rotates_and_leaves_nothing() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = moto.clients().await;
    let queue = c.sqs.create_queue().queue_name("pushes").send().await.expect("queue");
    let queue_url = queue.queue_url().expect("queue url").to_string();

    // The gateway makes its Custom Event Bus and waits for it to be ACTIVE.
    let mut gw = gateway_spec();
    let platform = moto.engine("c1").await;
    let made = platform.reconcile_gateway(&gw, None).await.expect("gateway");
    assert!(
        made.actions.iter().any(|a| a.to_string().starts_with("create  eventsv2 bus hooks-v2")),
        "{:?}",
        made.actions
    );
    let bus = made.custom_event_bus.clone().expect("the bus is ACTIVE and in the status");
    assert!(bus.arn.contains(":event-busv2/hooks-v2/"), "{}", bus.arn);
    gw.status = Some(gateway::status::ready(&made, None));
    assert_eq!(gw.status.as_ref().and_then(|s| s.custom_event_bus.as_ref()), Some(&bus));
    let again = platform.reconcile_gateway(&gw, None).await.expect("gateway again");
    assert!(again.actions.is_empty(), "{:?}", again.actions);

    // The bridge: its role, an ACTIVE GitHub source (URL in status), one SQS subscriber.
    let b = github_bridge();
    let engine = with(moto.engine("c1").await, &gw, &b, "It's a Secret to Everybody");
    let out = engine.reconcile(&b).await.expect("bridge");
    let names: Vec<String> = out.actions.iter().map(ToString::to_string).collect();
    assert!(names.iter().any(|n| n.starts_with("create  eventsv2 webhook source")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("create  eventsv2 subscriber")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("create  iam role")), "{names:?}");
    let source = out.status.webhook_sources.first().cloned().expect("source status");
    assert_eq!(source.name, "github");
    assert_eq!(source.state.as_deref(), Some("ACTIVE"));
    let url = source.url.clone().expect("the webhook URL");
    assert!(source.secret_arn.as_deref().is_some_and(|a| a.contains(":secretsmanager:")), "{source:?}");
    assert_eq!(out.status.subscribers.len(), 1);
    let status_text = serde_json::to_string(&out.status).expect("status JSON");
    assert!(!status_text.contains("Secret to Everybody"), "no secret in status");
    assert!(!format!("{:?}", out).contains("Secret to Everybody"), "no secret in Debug");

    // In sync: no writes.
    engine.aws.counter.reset();
    let again = engine.reconcile(&b).await.expect("bridge again");
    assert!(again.actions.is_empty(), "{:?}", again.actions);
    assert_eq!(engine.aws.counter.writes(), 0, "{}", engine.aws.counter.table());

    // A push GitHub signs lands in the queue; a request signed with another secret does not.
    let body = br#"{"ref":"refs/heads/main","after":"abc"}"#;
    let sig = github_signature("It's a Secret to Everybody", body);
    assert_eq!(post(&url, &[("X-Hub-Signature-256", &sig), ("X-GitHub-Event", "push")], body), 200);
    let forged = github_signature("guess", body);
    assert_eq!(post(&url, &[("X-Hub-Signature-256", &forged), ("X-GitHub-Event", "push")], body), 403);
    let got = c.sqs.receive_message().queue_url(&queue_url).max_number_of_messages(10).send().await.expect("receive");
    let bodies: Vec<&str> = got.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert!(bodies[0].contains("refs/heads/main"), "{bodies:?}");

    // The Secret changes: the credential rotates, the source and its URL stay.
    let engine = with(moto.engine("c1").await, &gw, &b, "a-new-secret-of-32-bytes-length!");
    let rotated = engine.reconcile(&b).await.expect("rotation");
    let names: Vec<String> = rotated.actions.iter().map(ToString::to_string).collect();
    assert!(names.iter().any(|n| n.starts_with("rotate  eventsv2 webhook source")) && names.len() == 2, "{names:?}");
    assert_eq!(rotated.status.webhook_sources[0].url.as_deref(), Some(url.as_str()), "the URL stays");
    let reads = engine.aws.counter.snapshot();
    assert!(
        reads.keys().any(|(_, op, _)| op == "RotateWebhookCredentials"),
        "counted as the rotation it is: {}",
        engine.aws.counter.table()
    );
    let sig = github_signature("a-new-secret-of-32-bytes-length!", body);
    assert_eq!(post(&url, &[("X-Hub-Signature-256", &sig), ("X-GitHub-Event", "push")], body), 200);
    let again = engine.reconcile(&b).await.expect("after the rotation");
    assert!(again.actions.is_empty(), "{:?}", again.actions);

    // A new metadata header and a narrower pattern: both updated in place, then in sync.
    let mut edited = b.clone();
    edited.spec.webhook_sources[0].metadata_headers = vec!["X-GitHub-Hook-ID".into()];
    edited.spec.rules[0].pattern =
        serde_json::from_value(serde_json::json!({"ref": ["refs/heads/main"]})).expect("pattern");
    let engine = with(moto.engine("c1").await, &gw, &edited, "a-new-secret-of-32-bytes-length!");
    let updated = engine.reconcile(&edited).await.expect("update");
    let names: Vec<String> = updated.actions.iter().map(ToString::to_string).collect();
    assert!(names.iter().any(|n| n.starts_with("update  eventsv2 webhook source")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("update  eventsv2 subscriber")), "{names:?}");
    assert_eq!(updated.status.webhook_sources[0].url.as_deref(), Some(url.as_str()), "the URL stays");
    let again = engine.reconcile(&edited).await.expect("after the update");
    assert!(again.actions.is_empty(), "{:?}", again.actions);
    // The credential survived the update (UpdateEventSource carries none).
    assert_eq!(post(&url, &[("X-Hub-Signature-256", &sig), ("X-GitHub-Event", "push")], body), 200);

    // The gateway is not deleted while the bridge's source is on its bus.
    let refused = platform.delete_gateway(&gw).await.expect_err("gateway in use");
    assert!(refused.is_retryable(), "{refused}");
    assert!(refused.to_string().contains("webhook source"), "{refused}");

    // The bridge's delete, then the gateway's: no eventsv2 object is left.
    engine.delete(&b).await.expect("bridge delete");
    let mut last = None;
    for _ in 0..20 {
        match platform.delete_gateway(&gw).await {
            Ok(_) => {
                last = None;
                break;
            }
            Err(e) if e.is_retryable() => {
                last = Some(e);
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => panic!("gateway delete: {e}"),
        }
    }
    assert!(last.is_none(), "gateway delete kept failing: {last:?}");
    let mut left = v2_inventory(&c.eventsv2).await;
    for _ in 0..20 {
        if left == (0, 0, 0) {
            break;
        }
        // DeleteEventBus is asynchronous (DELETING, then gone).
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        left = v2_inventory(&c.eventsv2).await;
    }
    assert_eq!(left, (0, 0, 0), "buses, sources, subscribers left");
    let roles = c.iam.list_roles().send().await.expect("roles");
    assert!(roles.roles().iter().all(|r| !r.role_name().contains("-platform-gh")), "the bridge's role is gone");
    let violations: Vec<Value> = moto.violations();
    assert!(violations.is_empty(), "{violations:?}");
}

/// The gateway (made, its status Ready) and a queue for the bridges below.
async fn gateway_and_queue(moto: &Moto) -> WebhookBridgeGateway {
    let c = moto.clients().await;
    c.sqs.create_queue().queue_name("pushes").send().await.expect("queue");
    let mut gw = gateway_spec();
    let made = moto.engine("c1").await.reconcile_gateway(&gw, None).await.expect("gateway");
    gw.status = Some(gateway::status::ready(&made, None));
    gw
}

fn basic_bridge(username: &str, headers: &[&str]) -> WebhookBridge {
    let mut b = github_bridge();
    let yaml = format!(
        "{{name: ops, provider: Custom, auth: {{basic: {{username: {username}}}}}, secretRef: {{name: gh-webhook}}, metadataHeaders: [{}]}}",
        headers.join(", ")
    );
    b.spec.webhook_sources = vec![serde_saphyr::from_str(&yaml).expect("basic source")];
    b
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// Basic auth: AWS takes Username and Password together or not at all ("Supply both Username and
/// Password, or omit both so that EventBridge generates the pair. Supplying only one fails with
/// InvalidInputException", WebhookBasicHttpAuthConfiguration, botocore eventbridgev2 2025-05-15,
/// which the emulator enforces on UpdateEventSource as on CreateEventSource), and never returns
/// the username. So an update of such a source carries both, and a changed username is applied.
#[tokio::test]
async fn a_basic_auth_source_is_updated_with_username_and_password_and_takes_a_new_username() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let gw = gateway_and_queue(&moto).await;
    let password = "correct-horse-battery";
    let b = basic_bridge("alice", &[]);
    let out = with(moto.engine("c1").await, &gw, &b, password).reconcile(&b).await.expect("bridge");
    let url = out.status.webhook_sources[0].url.clone().expect("URL");
    let body = br#"{"ref":"refs/heads/main"}"#;
    assert_eq!(post(&url, &[("Authorization", &basic("alice", password))], body), 200);

    // Another metadata header: UpdateEventSource, which without the Password AWS refuses.
    let headers = basic_bridge("alice", &["X-Request-Id"]);
    let engine = with(moto.engine("c1").await, &gw, &headers, password);
    let updated = engine.reconcile(&headers).await.expect("update with username and password");
    let names: Vec<String> = updated.actions.iter().map(ToString::to_string).collect();
    assert!(names.iter().any(|n| n.starts_with("update  eventsv2 webhook source")), "{names:?}");
    assert_eq!(post(&url, &[("Authorization", &basic("alice", password))], body), 200, "the credential kept");

    // A new username: applied (with the password), the URL stays, then in sync.
    let bob = basic_bridge("bob", &["X-Request-Id"]);
    let engine = with(moto.engine("c1").await, &gw, &bob, password);
    let renamed = engine.reconcile(&bob).await.expect("username change");
    let names: Vec<String> = renamed.actions.iter().map(ToString::to_string).collect();
    assert!(names.iter().any(|n| n.starts_with("update  eventsv2 webhook source")), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("rotate")), "the update carries the password: {names:?}");
    assert_eq!(renamed.status.webhook_sources[0].url.as_deref(), Some(url.as_str()));
    assert_eq!(post(&url, &[("Authorization", &basic("bob", password))], body), 200, "the new username");
    let again = engine.reconcile(&bob).await.expect("in sync");
    assert!(again.actions.is_empty(), "{:?}", again.actions);
    let violations: Vec<Value> = moto.violations();
    assert!(violations.is_empty(), "{violations:?}");
}

/// A bridge deleted while its gateway's status does not name the Custom Event Bus (the gateway
/// not Ready, its status rewritten): the delete still finds its source and subscriber (by name
/// prefix on every Custom Event Bus, then ownership tags) and removes them, rather than taking
/// "no bus known" for "nothing left" and letting the finalizer go.
#[tokio::test]
async fn a_delete_without_the_gateways_bus_arn_still_removes_the_sources_and_subscribers() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = moto.clients().await;
    let gw = gateway_and_queue(&moto).await;
    let b = github_bridge();
    with(moto.engine("c1").await, &gw, &b, "It's a Secret to Everybody").reconcile(&b).await.expect("bridge");
    assert_eq!(v2_inventory(&c.eventsv2).await, (1, 1, 1));

    let mut lost = gw.clone();
    if let Some(s) = lost.status.as_mut() {
        s.custom_event_bus = None;
    }
    let engine = with(moto.engine("c1").await, &lost, &b, "It's a Secret to Everybody");
    let actions = engine.delete(&b).await.expect("delete");
    let names: Vec<String> = actions.iter().map(ToString::to_string).collect();
    assert!(names.iter().any(|n| n.starts_with("delete  eventsv2 webhook source")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("delete  eventsv2 subscriber")), "{names:?}");
    assert_eq!(v2_inventory(&c.eventsv2).await, (1, 0, 0), "only the gateway's bus is left");
}

/// Stripe, "Verify webhook signatures manually": `Stripe-Signature: t=<ts>,v1=<hex HMAC-SHA256 of
/// "<ts>.<payload>">`, 5 minutes' tolerance. A Stripe-signed request goes through the source the
/// engine made to the queue; one signed with another secret, and one whose timestamp is an hour
/// old, do not.
#[tokio::test]
async fn a_stripe_signed_request_reaches_the_queue_and_forged_or_stale_ones_do_not() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = moto.clients().await;
    let gw = gateway_and_queue(&moto).await;
    let queue_url = c.sqs.get_queue_url().queue_name("pushes").send().await.expect("queue url");
    let queue_url = queue_url.queue_url().expect("queue url").to_string();
    let mut b = github_bridge();
    b.spec.webhook_sources = vec![
        serde_saphyr::from_str("{name: stripe, provider: Stripe, secretRef: {name: gh-webhook}}").expect("source"),
    ];
    b.spec.rules[0].pattern =
        serde_json::from_value(serde_json::json!({"type": [{"prefix": "payment_intent."}]})).expect("pattern");
    let secret = "whsec_test_0123456789abcdefghijklmnop";
    let engine = with(moto.engine("c1").await, &gw, &b, secret);
    let out = engine.reconcile(&b).await.expect("bridge");
    let source = out.status.webhook_sources.first().cloned().expect("source status");
    assert_eq!(source.state.as_deref(), Some("ACTIVE"));
    let url = source.url.expect("the webhook URL");

    let stripe = |key: &str, t: u64, body: &[u8]| {
        let k = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.as_bytes());
        let signed = [format!("{t}.").as_bytes(), body].concat();
        let hex: String = aws_lc_rs::hmac::sign(&k, &signed).as_ref().iter().map(|b| format!("{b:02x}")).collect();
        format!("t={t},v1={hex}")
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let body = br#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"amount":2000}}}"#;
    assert_eq!(post(&url, &[("Stripe-Signature", &stripe(secret, now, body))], body), 200);
    assert_eq!(post(&url, &[("Stripe-Signature", &stripe("whsec_guess", now, body))], body), 403, "forged");
    assert_eq!(post(&url, &[("Stripe-Signature", &stripe(secret, now - 3600, body))], body), 403, "stale");
    assert_eq!(post(&url, &[], body), 401, "no signature header");
    let got = c.sqs.receive_message().queue_url(&queue_url).max_number_of_messages(10).send().await.expect("receive");
    let bodies: Vec<&str> = got.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert!(bodies[0].contains("payment_intent.succeeded"), "{bodies:?}");

    engine.delete(&b).await.expect("bridge delete");
    let (_, sources, subscribers) = v2_inventory(&c.eventsv2).await;
    assert_eq!((sources, subscribers), (0, 0), "the bridge's sources and subscribers are gone");
    let violations: Vec<Value> = moto.violations();
    assert!(violations.is_empty(), "{violations:?}");
}
