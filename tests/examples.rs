//! Every example in examples/, with the prerequisites its comments name, on the local AWS
//! emulator behind the service-model check: applied, re-applied with zero writes, deleted to an
//! account holding nothing of ours (and the prerequisites untouched).

mod common;

use common::{Inventory, Moto, example, inventory, prerequisites};

/// On moto: these. Covered elsewhere, and why.
const ON_MOTO: &[&str] = &["orders.yaml", "existing-bus.yaml", "multi-route.yaml", "production.yaml"];
const ELSEWHERE: &[(&str, &str)] = &[(
    "jwt.yaml",
    "moto 5.2.5 neither reads back nor updates stage throttling, which jwt.yaml sets: its JWT routes \
     run on moto without throttling in tests/crash.rs (the proxy answers GetAuthorizers), and as is \
     through AWS-exact mocks in tests/aws_exact.rs a_jwt_route_gets_an_authorizer_and_the_route_points_at_it",
)];

/// examples/gateway/: the gateway and its bridges cannot be applied alone (a bridge's gateway
/// must exist and accept it): tests/gateway.rs applies all three together on moto.
const GATEWAY: &[(&str, &str)] = &[
    ("billing.yaml", "tests/gateway.rs three_namespaces_share_one_gateway_and_each_owns_only_its_objects"),
    ("gateway.yaml", "tests/gateway.rs three_namespaces_share_one_gateway_and_each_owns_only_its_objects"),
    ("orders.yaml", "tests/gateway.rs three_namespaces_share_one_gateway_and_each_owns_only_its_objects"),
];

#[test]
fn every_gateway_example_is_covered() {
    let mut files: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/gateway"))
        .expect("examples/gateway")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.ends_with(".yaml"))
        .collect();
    files.sort();
    let covered: Vec<&str> = GATEWAY.iter().map(|(f, _)| *f).collect();
    assert_eq!(files, covered, "a new gateway example needs a case in tests/gateway.rs and here");
    let gateway_tests =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/gateway.rs")).expect("read");
    for (file, by) in GATEWAY {
        let test = by.rsplit(' ').next().expect("test name");
        assert!(gateway_tests.contains(&format!("async fn {test}(")), "{file}: {by} is gone");
        let loads = if *file == "gateway.yaml" {
            "examples/gateway/gateway.yaml".to_string()
        } else {
            format!("attached(\"{file}\")")
        };
        assert!(gateway_tests.contains(&loads), "{file}: tests/gateway.rs no longer loads it");
    }
}

#[test]
fn every_example_is_covered() {
    let files: Vec<String> =
        common::example_files().iter().filter_map(|p| Some(p.file_name()?.to_str()?.to_string())).collect();
    let mut covered: Vec<String> =
        ON_MOTO.iter().map(|f| f.to_string()).chain(ELSEWHERE.iter().map(|(f, _)| f.to_string())).collect();
    covered.sort();
    assert_eq!(files, covered, "a new example needs a case here (and in common::prerequisites)");
}

async fn apply_reapply_delete(file: &str) {
    let moto = Moto::start();
    prerequisites(&moto, file).await;
    let engine = moto.engine("examples").await;
    let bridge = example(file);
    let first = engine.reconcile(&bridge).await.unwrap_or_else(|e| panic!("{file}: apply: {e}"));
    assert!(!first.actions.is_empty(), "{file}: nothing created");
    assert!(first.delivery_gaps.is_empty(), "{file}: {:?}", first.delivery_gaps);
    engine.aws.counter.reset();
    let again = engine.reconcile(&bridge).await.unwrap_or_else(|e| panic!("{file}: re-apply: {e}"));
    assert!(again.actions.is_empty(), "{file}: re-apply planned {:?}", again.actions);
    assert_eq!(engine.aws.counter.writes(), 0, "{file}: {}", engine.aws.counter.table());
    engine.delete(&bridge).await.unwrap_or_else(|e| panic!("{file}: delete: {e}"));
    assert_eq!(inventory(&moto.clients().await).await, Inventory::default(), "{file}: left behind");
    let c = moto.clients().await;
    if file == "existing-bus.yaml" {
        c.events.describe_event_bus().name("shared").send().await.expect("the referenced bus is untouched");
    }
}

#[tokio::test]
async fn orders_applies_reapplies_with_zero_writes_and_deletes_to_empty() {
    apply_reapply_delete("orders.yaml").await;
}

#[tokio::test]
async fn existing_bus_applies_reapplies_with_zero_writes_and_deletes_to_empty() {
    apply_reapply_delete("existing-bus.yaml").await;
}

#[tokio::test]
async fn multi_route_applies_reapplies_with_zero_writes_and_deletes_to_empty() {
    apply_reapply_delete("multi-route.yaml").await;
}

#[tokio::test]
async fn production_applies_reapplies_with_zero_writes_and_deletes_to_empty() {
    apply_reapply_delete("production.yaml").await;
}
