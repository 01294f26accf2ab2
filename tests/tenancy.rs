//! Multi-tenancy on the real apiserver: two namespaces under two WebhookBridgePolicies and one
//! under none. Everything a policy does not allow is Stalled with the policy and the rule named,
//! and makes no AWS call at all; what it allows reaches Ready (team b through its own IAM role,
//! assumed with session tags); a namespace with no policy gets nothing until one appears; and a
//! tenant, even a namespace admin, cannot create or change a policy.

mod common;

use std::time::Duration;

use common::kube_wait::{condition, create, orders_json, ready, until, until_event};
use common::operator::{Operator, options};
use common::tap::Tap;
use common::{ACCOUNT, Inventory, Moto, REGION, inventory};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use webhook_bridge::api::{WebhookBridge, WebhookBridgePolicy};
use webhook_bridge::aws::Aws;
use webhook_bridge::engine::Engine;

fn lambda(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
}

/// The orders example in `ns`, its two targets replaced by `targets`.
fn orders_in(name: &str, ns: &str, bus: &str, targets: [&str; 2]) -> Value {
    let mut b = orders_json(name, ns, bus);
    for (i, arn) in targets.iter().enumerate() {
        b["spec"]["rules"][i]["targets"] = json!([{"arn": arn}]);
    }
    b
}

/// The JWT example in `ns` (without stage throttling, which moto does not read back), its
/// target an SQS queue.
fn jwt_in(name: &str, ns: &str, queue: &str) -> Value {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/jwt.yaml")).expect("example");
    let mut b: Value = serde_saphyr::from_str(&yaml).expect("yaml");
    b["metadata"] = json!({"name": name, "namespace": ns});
    b["spec"]["api"] = json!({});
    b["spec"]["rules"][0]["targets"] = json!([{"arn": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}")}]);
    b
}

fn policy(name: &str, selects: &str, spec: Value) -> WebhookBridgePolicy {
    let mut spec = spec;
    spec["namespaceSelector"] = json!({"matchLabels": {"tenancy-test": selects}});
    serde_json::from_value(json!({"apiVersion": "webhookbridge.io/v1alpha1", "kind": "WebhookBridgePolicy",
        "metadata": {"name": name}, "spec": spec}))
    .expect("policy")
}

async fn label(client: &kube::Client, ns: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    api.patch(ns, &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"tenancy-test": ns}}})))
        .await
        .expect("label namespace");
}

async fn stalled(client: &kube::Client, ns: &str, name: &str, reason: &str) -> String {
    let o = until(client, ns, name, &format!("Stalled: {reason}"), |o| {
        condition(o, "Stalled").is_some_and(|c| c["status"] == "True" && c["reason"] == reason)
    })
    .await;
    condition(o.as_ref(), "Stalled").and_then(|c| c["message"].as_str()).unwrap_or_default().to_string()
}

/// A client acting as a ServiceAccount of `ns` that is the namespace's admin (the built-in
/// `admin` ClusterRole) and may do anything with WebhookBridges there.
async fn tenant_admin(cluster: &common::k8s::Cluster, admin: &kube::Client, ns: &str) -> kube::Client {
    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), ns);
    accounts
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "tenant"}})).expect("sa"))
        .await
        .expect("ServiceAccount");
    let roles: Api<Role> = Api::namespaced(admin.clone(), ns);
    roles
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "bridges"},
                "rules": [{"apiGroups": ["webhookbridge.io"], "resources": ["*"], "verbs": ["*"]}]}))
            .expect("role"),
        )
        .await
        .expect("Role");
    let bindings: Api<RoleBinding> = Api::namespaced(admin.clone(), ns);
    for (name, kind, role) in [("bridges", "Role", "bridges"), ("admin", "ClusterRole", "admin")] {
        bindings
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": name},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
                    "subjects": [{"kind": "ServiceAccount", "name": "tenant", "namespace": ns}]}))
                .expect("binding"),
            )
            .await
            .expect("RoleBinding");
    }
    let request = TokenRequest {
        spec: TokenRequestSpec { expiration_seconds: Some(3600), ..Default::default() },
        ..Default::default()
    };
    let token = accounts.create_token_request("tenant", &PostParams::default(), &request).await.expect("token");
    cluster.client_with_token(&token.status.expect("token").token).await
}

/// The operator, multi-tenant over `namespaces`, its AWS calls through a TCP tap in front of the
/// emulator (so a test can show that none were made).
async fn tapped_operator(admin: &kube::Client, moto: &Moto, namespaces: &[&str]) -> (Tap, Operator) {
    let tap = Tap::start(&moto.endpoint).await;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_types::region::Region::new(REGION))
        .endpoint_url(&tap.endpoint)
        .credentials_provider(aws_sdk_sts::config::Credentials::new("testing", "testing", None, None, "moto"))
        .load()
        .await;
    let mut engine = Engine::new(Aws::new(config), "tenancy");
    engine.retry_delay = Duration::from_millis(20);
    let mut opts = options(namespaces);
    opts.multi_tenant = true;
    let op = Operator::start_with(admin.clone(), engine, opts).await;
    (tap, op)
}

fn forbidden<T>(result: Result<T, kube::Error>) -> bool {
    matches!(result, Err(kube::Error::Api(e)) if e.code == 403)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_namespace_gets_only_what_its_policy_allows() {
    let cluster = require_cluster!();
    let admin = cluster.client().await;
    let (a, b, c) =
        (cluster.namespace("team-a").await, cluster.namespace("team-b").await, cluster.namespace("team-c").await);
    for ns in [&a, &b, &c] {
        label(&admin, ns).await;
    }
    let policies: Api<WebhookBridgePolicy> = Api::all(admin.clone());
    let (pa, pb, pc) = (format!("{a}-policy"), format!("{b}-policy"), format!("{c}-policy"));
    policies
        .create(
            &PostParams::default(),
            &policy(
                &pa,
                &a,
                json!({"allowedRegions": [REGION], "targetArns": [lambda("a-*")],
                "existingBusArns": [format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/a-*")], "maxRoutes": 2,
                "eventBusNames": ["a-*"]}),
            ),
        )
        .await
        .expect("policy a");
    let tenant_b_role = format!("arn:aws:iam::{ACCOUNT}:role/tenant-b");
    policies
        .create(
            &PostParams::default(),
            &policy(
                &pb,
                &b,
                json!({"assumeRoleArn": tenant_b_role, "allowedRegions": [REGION],
                "targetArns": [format!("arn:aws:sqs:{REGION}:{ACCOUNT}:b-*")], "authorizationTypes": ["JWT"],
                "eventBusNames": ["*"], "jwtIssuers": ["https://auth.example.com/"]}),
            ),
        )
        .await
        .expect("policy b");

    let moto = Moto::start();
    let (tap, op) = tapped_operator(&admin, &moto, &[&a, &b, &c]).await;

    // Everything prohibited: Stalled, naming the policy and the rule, with no AWS call at all.
    let bridges = |ns: &str| -> Api<WebhookBridge> { Api::namespaced(admin.clone(), ns) };
    create(&admin, orders_in("foreign-lambda", &a, "a-1", [&lambda("a-create"), &lambda("payroll")])).await;
    let mut default_bus = orders_in("default-bus", &a, "a-2", [&lambda("a-create"), &lambda("a-cancel")]);
    default_bus["spec"]["eventBus"] =
        json!({"existingArn": format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default")});
    create(&admin, default_bus).await;
    let mut other_bus = orders_in("other-bus", &a, "a-3", [&lambda("a-create"), &lambda("a-cancel")]);
    other_bus["spec"]["eventBus"] =
        json!({"existingArn": format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/b-shared")});
    create(&admin, other_bus).await;
    let mut region = orders_in("region", &a, "a-4", [&lambda("a-create"), &lambda("a-cancel")]);
    region["spec"]["region"] = json!("eu-west-1");
    create(&admin, region).await;
    let mut routes = orders_in("routes", &a, "a-5", [&lambda("a-create"), &lambda("a-cancel")]);
    let route = routes["spec"]["routes"][0].clone();
    routes["spec"]["routes"] = json!([0, 1, 2].map(|i| {
        let mut r = route.clone();
        r["name"] = json!(format!("r{i}"));
        r["path"] = json!(format!("/r{i}"));
        r
    }));
    create(&admin, routes).await;
    let mut no_auth = jwt_in("no-auth", &b, "b-events");
    no_auth["spec"]["routes"][0]["authorization"] = json!({"type": "NONE"});
    create(&admin, no_auth).await;
    create(&admin, orders_in("no-policy", &c, "c-1", [&lambda("createOrder"), &lambda("cancelOrder")])).await;

    let denied = [
        (&a, "foreign-lambda", "targetArns", lambda("payroll")),
        (&a, "default-bus", "existingBusArns", "default bus".to_string()),
        (&a, "other-bus", "existingBusArns", "event-bus/b-shared".to_string()),
        (&a, "region", "allowedRegions", "eu-west-1".to_string()),
        (&a, "routes", "maxRoutes", "3 routes, at most 2".to_string()),
    ];
    for (ns, name, rule, what) in &denied {
        let message = stalled(&admin, ns, name, "PolicyDenied").await;
        assert!(message.starts_with(&format!("WebhookBridgePolicy {pa} denies: ")), "{name}: {message}");
        assert!(
            message.contains(&format!("(policy rule {rule})")) && message.contains(what.as_str()),
            "{name}: {message}"
        );
        until_event(&admin, ns, name, |(t, r, _)| t == "Warning" && r == "PolicyDenied").await;
    }
    let message = stalled(&admin, &b, "no-auth", "PolicyDenied").await;
    assert!(
        message.contains(&format!(
            "WebhookBridgePolicy {pb} denies: spec.routes[0].authorization.type: NONE is not allowed"
        )),
        "{message}"
    );
    let message = stalled(&admin, &c, "no-policy", "NoPolicy").await;
    assert!(message.contains(&format!("namespace {c}")), "{message}");
    assert!(tap.requests().is_empty(), "denied bridges made AWS calls: {:?}", tap.requests());
    assert_eq!(moto.fault_stats()["committed_writes"], 0);

    // Allowed: Ready. Team b's objects are made as its own role, assumed with session tags.
    moto.seed_lambdas(&["a-create", "a-cancel", "createOrder", "cancelOrder"]).await;
    let queue = moto.clients().await.sqs.create_queue().queue_name("b-events").send().await.expect("queue");
    let queue_policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:b-events"),
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}]});
    moto.clients()
        .await
        .sqs
        .set_queue_attributes()
        .queue_url(queue.queue_url().unwrap_or_default())
        .attributes(aws_sdk_sqs::types::QueueAttributeName::Policy, queue_policy.to_string())
        .send()
        .await
        .expect("queue policy");
    create(&admin, orders_in("allowed", &a, "a-ok", [&lambda("a-create"), &lambda("a-cancel")])).await;
    create(&admin, jwt_in("allowed", &b, "b-events")).await;
    until(&admin, &a, "allowed", "Ready", ready).await;
    until(&admin, &b, "allowed", "Ready", ready).await;
    let sent = tap.sent_text();
    let assume = sent.find("Action=AssumeRole").map(|i| &sent[i..sent[i..].find("\r\n").map_or(sent.len(), |e| i + e)]);
    let assume = assume.expect("an AssumeRole request reached the emulator");
    assert!(assume.contains(&urlencode(&tenant_b_role)), "{assume}");
    for (key, value) in [("webhookbridge.io/cluster", "tenancy"), ("webhookbridge.io/namespace", b.as_str())] {
        assert!(assume.contains(&urlencode(key)) && assume.contains(&urlencode(value)), "session tag {key}: {assume}");
    }
    assert!(moto.fault_stats()["calls"]["sts.AssumeRole"].as_u64().unwrap_or(0) >= 1);

    // A policy for the namespace that had none: its bridge goes ahead without being touched.
    policies
        .create(
            &PostParams::default(),
            &policy(
                &pc,
                &c,
                json!({"allowedRegions": ["us-*"], "targetArns": [lambda("*Order")], "eventBusNames": ["c-*"]}),
            ),
        )
        .await
        .expect("policy c");
    until(&admin, &c, "no-policy", "Ready once a policy selects the namespace", ready).await;

    // Tenants cannot write policies, not even a namespace admin.
    let tenant = tenant_admin(cluster, &admin, &a).await;
    let as_tenant: Api<WebhookBridgePolicy> = Api::all(tenant.clone());
    assert!(forbidden(
        as_tenant.create(&PostParams::default(), &policy("mine", &a, json!({"targetArns": ["*"]}))).await
    ));
    let widen = Patch::Merge(json!({"spec": {"targetArns": ["*"]}}));
    assert!(forbidden(as_tenant.patch(&pa, &PatchParams::default(), &widen).await));
    assert!(forbidden(as_tenant.delete(&pa, &DeleteParams::default()).await));
    let tenant_bridges: Api<WebhookBridge> = Api::namespaced(tenant, &a);
    let dry = PostParams { dry_run: true, ..Default::default() };
    let mine: WebhookBridge =
        serde_json::from_value(orders_in("mine", &a, "a-6", [&lambda("a-x"), &lambda("a-y")])).expect("bridge");
    tenant_bridges.create(&dry, &mine).await.expect("the tenant may manage its own bridges");

    // Everything goes; AWS is left with nothing of ours.
    for (ns, name) in [(&a, "allowed"), (&b, "allowed"), (&c, "no-policy")]
        .into_iter()
        .chain(denied.iter().map(|(ns, name, ..)| (*ns, *name)))
        .chain([(&b, "no-auth")])
    {
        bridges(ns).delete(name, &DeleteParams::default()).await.expect("delete");
        until(&admin, ns, name, "gone", |o| o.is_none()).await;
    }
    assert_eq!(inventory(&moto.clients().await).await, Inventory::default());
    op.shutdown().await;
}

async fn finalizers(client: &kube::Client, ns: &str, name: &str) -> Vec<String> {
    let api: Api<WebhookBridge> = Api::namespaced(client.clone(), ns);
    api.get(name).await.expect("bridge").metadata.finalizers.unwrap_or_default()
}

async fn set_policy(client: &kube::Client, name: &str, spec: Value) {
    let api: Api<WebhookBridgePolicy> = Api::all(client.clone());
    api.patch(name, &PatchParams::default(), &Patch::Merge(json!({"spec": spec}))).await.expect("patch policy");
}

/// Issue #19, as an attacker controlling one namespace would try it: it cannot take a bus name
/// or a custom domain another team expects, nor get a DNS record, nor join another bridge's
/// bus through a wildcard; its denied bridges hold no finalizer; and a policy that narrows takes
/// back from AWS what it no longer allows (targets, their Lambda permissions, routes), and gives
/// it back when it widens again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attacker_takes_nothing_and_a_narrowed_policy_takes_back() {
    let cluster = require_cluster!();
    let admin = cluster.client().await;
    let (pay, evil, other) =
        (cluster.namespace("payments").await, cluster.namespace("evil").await, cluster.namespace("other").await);
    for ns in [&pay, &evil, &other] {
        label(&admin, ns).await;
    }
    let policies: Api<WebhookBridgePolicy> = Api::all(admin.clone());
    let (ppay, pevil, pother) = (format!("{pay}-policy"), format!("{evil}-policy"), format!("{other}-policy"));
    let shared = format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/p-shared");
    let pay_spec = json!({"allowedRegions": [REGION], "targetArns": [lambda("p-*")], "eventBusNames": ["p-*"]});
    for (name, ns, spec) in [
        (&ppay, &pay, pay_spec.clone()),
        // The docs' shape of a tenant policy: no bus names, domains or DNS records allowed.
        (&pevil, &evil, json!({"allowedRegions": [REGION], "targetArns": [lambda("e-*")]})),
        (
            &pother,
            &other,
            json!({"allowedRegions": [REGION], "targetArns": [lambda("p-*")],
            "existingBusArns": [format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/p-*")]}),
        ),
    ] {
        policies.create(&PostParams::default(), &policy(name, ns, spec)).await.expect("policy");
    }
    let moto = Moto::start();
    moto.seed_lambdas(&["p-create", "p-cancel"]).await;
    let (tap, op) = tapped_operator(&admin, &moto, &[&pay, &evil, &other]).await;
    let bridges = |ns: &str| -> Api<WebhookBridge> { Api::namespaced(admin.clone(), ns) };

    // 1. The bus name another team expects, 2. its domain on its certificate, with a DNS record.
    create(&admin, orders_in("squat", &evil, "p-shared", [&lambda("e-a"), &lambda("e-b")])).await;
    let mut domain = orders_in("dom", &evil, "e-bus", [&lambda("e-a"), &lambda("e-b")]);
    domain["spec"]["eventBus"] = json!({});
    domain["spec"]["domain"] = json!({"name": "login.payments.example.com", "dnsEndpoint": true,
        "certificateArn": format!("arn:aws:acm:{REGION}:{ACCOUNT}:certificate/team-a")});
    create(&admin, domain).await;
    let message = stalled(&admin, &evil, "squat", "PolicyDenied").await;
    assert!(
        message.contains("spec.eventBus.name: bus name p-shared is not allowed")
            && message.contains("(policy rule eventBusNames)"),
        "{message}"
    );
    let message = stalled(&admin, &evil, "dom", "PolicyDenied").await;
    for rule in ["domainNames", "certificateArns", "dnsEndpoints"] {
        assert!(message.contains(&format!("(policy rule {rule})")), "{rule}: {message}");
    }
    // 6. Denied before anything was made: no finalizer, so a delete never waits on AWS.
    assert!(finalizers(&admin, &evil, "squat").await.is_empty());
    assert!(finalizers(&admin, &evil, "dom").await.is_empty());
    assert!(tap.requests().is_empty(), "denied bridges made AWS calls: {:?}", tap.requests());

    // 3. Narrowing takes back. The payments bridge is Ready with both targets ...
    create(&admin, orders_in("orders", &pay, "p-orders", [&lambda("p-create"), &lambda("p-cancel")])).await;
    until(&admin, &pay, "orders", "Ready", ready).await;
    assert!(finalizers(&admin, &pay, "orders").await.contains(&"webhookbridge.io/cleanup".to_string()));
    let before = inventory(&moto.clients().await).await;
    assert_eq!((before.targets, before.permissions, before.routes.len()), (2, 2, 1));
    // ... the policy no longer allows p-cancel: its target and Lambda permission leave AWS.
    let mut narrowed = pay_spec.clone();
    narrowed["targetArns"] = json!([lambda("p-create")]);
    set_policy(&admin, &ppay, narrowed.clone()).await;
    let o = until(&admin, &pay, "orders", "target taken back", |o| {
        condition(o, "Stalled").and_then(|c| c["message"].as_str()).is_some_and(|m| m.contains("taken back from AWS"))
    })
    .await;
    let message = condition(o.as_ref(), "Stalled").and_then(|c| c["message"].as_str()).unwrap_or_default().to_string();
    assert!(message.contains("spec.rules[1].targets[0]") && message.contains("p-cancel"), "{message}");
    let after = inventory(&moto.clients().await).await;
    assert_eq!((after.targets, after.permissions, after.routes.len()), (1, 1, 1), "{after:?}");
    // ... and routes without authorization, once only JWT is allowed: the route goes.
    narrowed["authorizationTypes"] = json!(["JWT"]);
    set_policy(&admin, &ppay, narrowed).await;
    until(&admin, &pay, "orders", "route taken back", |o| {
        condition(o, "Stalled")
            .and_then(|c| c["message"].as_str())
            .is_some_and(|m| m.contains("route POST /api/webhook"))
    })
    .await;
    until_event(&admin, &pay, "orders", |(t, r, n)| t == "Warning" && r == "PolicyDenied" && n.contains("taken back"))
        .await;
    let after = inventory(&moto.clients().await).await;
    assert!(after.routes.is_empty(), "{after:?}");
    assert_eq!((after.apis, after.buses.len(), after.targets), (1, 1, 1), "the API (its URL) and the bus stay");
    // Widened again: everything comes back.
    set_policy(&admin, &ppay, json!({"targetArns": [lambda("p-*")], "authorizationTypes": null})).await;
    until(&admin, &pay, "orders", "Ready again", ready).await;
    let back = inventory(&moto.clients().await).await;
    assert_eq!((back.targets, back.permissions, back.routes.len()), (2, 2, 1), "{back:?}");

    // A finalizer the tenant set itself is no proof that anything was made: the withdrawal
    // only ever removes, so the denied bus name is not created (finding of a second read).
    let writes = moto.fault_stats()["committed_writes"].as_u64().unwrap_or_default();
    let mut planted = orders_in("planted", &evil, "p-planted", [&lambda("e-a"), &lambda("e-b")]);
    planted["metadata"]["finalizers"] = json!(["webhookbridge.io/cleanup"]);
    create(&admin, planted).await;
    let message = stalled(&admin, &evil, "planted", "PolicyDenied").await;
    assert!(message.contains("still live"), "{message}");
    assert_eq!(moto.fault_stats()["committed_writes"].as_u64().unwrap_or_default(), writes, "nothing created");
    assert!(!inventory(&moto.clients().await).await.buses.iter().any(|b| b.contains("p-planted")));

    // 1b. Another bridge's bus, allowed only by a wildcard: refused, with no AWS write.
    create(&admin, orders_in("owner", &pay, "p-shared", [&lambda("p-create"), &lambda("p-cancel")])).await;
    until(&admin, &pay, "owner", "Ready", ready).await;
    let writes = moto.fault_stats()["committed_writes"].as_u64().unwrap_or_default();
    let mut joiner = orders_in("joiner", &other, "unused", [&lambda("p-create"), &lambda("p-cancel")]);
    joiner["spec"]["eventBus"] = json!({"existingArn": shared});
    create(&admin, joiner).await;
    let message = stalled(&admin, &other, "joiner", "PolicyDenied").await;
    assert!(message.contains(&format!("was created by the WebhookBridge {pay}/owner")), "{message}");
    assert_eq!(moto.fault_stats()["committed_writes"].as_u64().unwrap_or_default(), writes, "no AWS write");
    // Naming its ARN exactly is the platform team's explicit yes ...
    set_policy(&admin, &pother, json!({"existingBusArns": [shared]})).await;
    until(&admin, &other, "joiner", "Ready once the policy names the bus", ready).await;
    let rules_with_joiner = inventory(&moto.clients().await).await.rules.len();
    // ... and taking it back (a wildcard again) takes the joiner's rules off the other bus.
    set_policy(
        &admin,
        &pother,
        json!({"existingBusArns": [format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/p-*")]}),
    )
    .await;
    until(&admin, &other, "joiner", "its rules taken back", |o| {
        condition(o, "Stalled").and_then(|c| c["message"].as_str()).is_some_and(|m| m.contains("taken back from AWS"))
    })
    .await;
    assert_eq!(inventory(&moto.clients().await).await.rules.len(), rules_with_joiner - 2, "the joiner's 2 rules");

    // Everything goes; the denied bridges at once. AWS is left with nothing of ours.
    for (ns, name) in
        [(&evil, "squat"), (&evil, "dom"), (&evil, "planted"), (&other, "joiner"), (&pay, "owner"), (&pay, "orders")]
    {
        bridges(ns).delete(name, &DeleteParams::default()).await.expect("delete");
        until(&admin, ns, name, "gone", |o| o.is_none()).await;
    }
    assert_eq!(inventory(&moto.clients().await).await, Inventory::default());
    op.shutdown().await;
}

/// `application/x-www-form-urlencoded`, as the SDK writes query-protocol bodies.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
