//! Pure tests of the `eventsv2` plans: a gateway's bus, a webhook-source bridge's sources
//! (create, in sync, update, rotate, auth type change, delete) and subscribers.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::api::WebhookBridge;
use crate::desired::{AwsEnv, desired};
use crate::desired_webhook::{SecretRead, SecretValue, webhook};
use crate::observed::{ObsV2Bus, ObsV2Source, ObsV2Subscriber};
use crate::owner::{Owner, TAG_UID};
use crate::plan::{Action, plan, plan_delete};

const BUS: &str = "arn:aws:events:us-east-1:123456789012:event-busv2/hooks/abcdefghijklmnopqrstuvwxy";

fn env() -> AwsEnv {
    AwsEnv { region: "us-east-1".into(), account: "123456789012".into(), partition: "aws".into() }
}

fn owner() -> Owner {
    Owner { cluster: "c1".into(), namespace: "default".into(), name: "gh".into(), uid: "u1".into() }
}

fn bridge() -> WebhookBridge {
    serde_saphyr::from_str(
        r#"
apiVersion: webhookbridge.io/v1alpha1
kind: WebhookBridge
metadata: {name: gh, namespace: default}
spec:
  gatewayRef: {name: shared}
  webhookSources:
    - name: github
      provider: GitHub
      secretRef: {name: gh-secret}
  rules:
    - name: pushes
      pattern: {ref: [{prefix: refs/heads/}]}
      targets: [{arn: "arn:aws:sqs:us-east-1:123456789012:pushes"}]
"#,
    )
    .expect("bridge parses")
}

fn attachment() -> crate::gateway::Attachment {
    crate::gateway::Attachment {
        gateway: "default/shared".into(),
        region: "us-east-1".into(),
        api_id: "api1".into(),
        api_endpoint: None,
        stage: "$default".into(),
        bus_arn: "arn:aws:events:us-east-1:123456789012:event-bus/shared".into(),
        role_arn: "arn:aws:iam::123456789012:role/shared".into(),
        authorizers: BTreeMap::new(),
        domain_url: None,
        domain_name: None,
        custom_bus_arn: Some(BUS.into()),
    }
}

fn d_with(b: &WebhookBridge, secret: Option<&str>) -> Desired {
    let mut d = crate::desired::attached(b, &owner(), &env(), &attachment());
    let secrets: BTreeMap<String, SecretRead> = b
        .spec
        .webhook_sources
        .iter()
        .filter_map(|w| {
            // Every edit of a Secret's data gives it a new resourceVersion (the fingerprint
            // cache relies on it): a version per value.
            secret.map(|s| {
                let version = Some(crate::owner::short_hash(&[s], 8));
                (w.name.clone(), SecretRead { value: SecretValue::new(s), version })
            })
        })
        .collect();
    webhook(&mut d, &b.spec.webhook_sources, Some(BUS), &secrets, true).expect("webhook desired");
    d
}

/// The gateway's classic bus (attached bridges find it as a referenced bus).
fn gateway_bus_only() -> Observed {
    let a = attachment();
    Observed {
        bus: Some(crate::observed::ObsBus { name: "shared".into(), arn: a.bus_arn, tags: BTreeMap::new() }),
        apis: vec![crate::observed::ObsApi {
            id: a.api_id,
            name: "shared".into(),
            endpoint: None,
            description: None,
            cors: None,
            tags: BTreeMap::new(),
            created: 0,
        }],
        ..Default::default()
    }
}

/// What AWS holds once `d`'s sources and subscribers exist (the role too).
fn mirror(d: &Desired) -> Observed {
    let mut o = gateway_bus_only();
    if let crate::desired::DesiredRole::Managed { name, arn, trust_policy, policy, .. } = &d.role {
        o.role = Some(crate::observed::ObsRole {
            name: name.clone(),
            arn: arn.clone(),
            trust_policy: Some(trust_policy.clone()),
            policy: Some(policy.clone()),
            permissions_boundary: None,
            tags: d.tags.clone(),
        });
    }
    for s in &d.v2.sources {
        let mut tags = d.tags.clone();
        if let Some(c) = &s.credential {
            tags.insert(TAG_CREDENTIAL.into(), c.clone());
        }
        if let Some(u) = &s.username_tag {
            tags.insert(TAG_USERNAME.into(), u.clone());
        }
        let mut config = s.config();
        // AWS never returns a basic-auth Username (WebhookBasicHttpAuthConfiguration).
        if let Some(basic) = config
            .pointer_mut("/AuthConfiguration/BasicHttpAuthConfiguration")
            .and_then(serde_json::Value::as_object_mut)
        {
            basic.remove("Username");
        }
        // AWS adds its defaults on reads.
        config["LogConfiguration"] = json!({"Level": "OFF"});
        o.v2.sources.push(ObsV2Source {
            name: s.name.clone(),
            arn: format!("arn:aws:events:us-east-1:123456789012:event-sourcev2/webhook/{}/x", s.name),
            state: Some("ACTIVE".into()),
            revoked: false,
            config: Some(config),
            url: Some("https://example.invalid/hook".into()),
            secret_arn: Some("arn:aws:secretsmanager:us-east-1:123456789012:secret:events-webhook-x".into()),
            tags,
        });
    }
    for s in &d.v2.subscribers {
        o.v2.subscribers.push(ObsV2Subscriber {
            name: s.name.clone(),
            arn: format!("arn:aws:events:us-east-1:123456789012:subscriber/{}/x", s.name),
            target_arn: Some(s.target.arn.clone()),
            role_arn: Some(s.role_arn.clone()),
            pattern: Some(s.pattern.clone()),
            state: Some("RUNNING".into()),
            revoked: false,
            retry_policy: s.target.retry_policy,
            dead_letter_arn: s.target.dead_letter_arn.clone(),
            message_group_id: s.target.message_group_id.clone(),
            tags: d.tags.clone(),
        });
    }
    o
}

fn v2(actions: &[Action]) -> Vec<&V2Action> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::V2(x) => Some(x),
            _ => None,
        })
        .collect()
}

#[test]
fn a_new_bridge_creates_role_then_source_then_subscriber() {
    let d = d_with(&bridge(), Some("0123456789abcdef"));
    let actions = plan(&d, &gateway_bus_only()).expect("plan");
    let names: Vec<String> = actions.iter().map(ToString::to_string).collect();
    assert!(names[0].starts_with("create  iam role"), "{names:?}");
    assert!(
        matches!(v2(&actions)[..], [V2Action::CreateSource { .. }, V2Action::CreateSubscriber { .. }]),
        "{names:?}"
    );
    // No classic rule or Lambda permission: the rule became a subscriber.
    assert!(!actions.iter().any(|a| matches!(a, Action::PutRule { .. } | Action::AddPermission(_))));
    assert_eq!(d.v2.sources[0].name, owner().rule_name("github"));
    assert_eq!(d.v2.sources[0].metadata_headers, vec!["X-GitHub-Event", "X-GitHub-Delivery"]);
}

#[test]
fn in_sync_is_zero_actions() {
    let d = d_with(&bridge(), Some("0123456789abcdef"));
    assert_eq!(plan(&d, &mirror(&d)).expect("plan"), Vec::<Action>::new());
    // A generated credential (no secretRef): in sync without a credential tag.
    let mut b = bridge();
    b.spec.webhook_sources[0].secret_ref = None;
    let d = d_with(&b, None);
    assert!(d.v2.sources[0].credential.is_none());
    assert_eq!(plan(&d, &mirror(&d)).expect("plan"), Vec::<Action>::new());
}

#[test]
fn a_changed_secret_rotates_then_retags_and_keeps_the_source() {
    let old = d_with(&bridge(), Some("0123456789abcdef"));
    let new = d_with(&bridge(), Some("fedcba9876543210"));
    let actions = plan(&new, &mirror(&old)).expect("plan");
    assert!(matches!(v2(&actions)[..], [V2Action::RotateCredential { .. }, V2Action::TagSource { .. }]), "{actions:?}");
    assert!(!actions.iter().any(Action::removes), "the source and its URL stay");
    // The rotation's ClientToken is per change of the Secret.
    let mut newer = new.clone();
    newer.v2.sources[0].secret_version = Some("2".into());
    assert_ne!(new.v2.sources[0].rotate_token(&owner()), newer.v2.sources[0].rotate_token(&owner()));
}

#[test]
fn a_changed_auth_type_is_terminal_and_says_rename() {
    let d = d_with(&bridge(), Some("0123456789abcdef"));
    let mut b = bridge();
    b.spec.webhook_sources[0].provider = crate::api::webhook::WebhookProvider::GitLab;
    let gitlab = d_with(&b, Some("0123456789abcdef"));
    let err = plan(&gitlab, &mirror(&d)).expect_err("auth type change");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("rename the source"), "{err}");
}

#[test]
fn a_changed_header_updates_in_place() {
    let d = d_with(&bridge(), Some("0123456789abcdef"));
    let mut b = bridge();
    b.spec.webhook_sources[0].metadata_headers = vec!["X-GitHub-Hook-ID".into()];
    let more = d_with(&b, Some("0123456789abcdef"));
    let actions = plan(&more, &mirror(&d)).expect("plan");
    assert!(matches!(v2(&actions)[..], [V2Action::UpdateSource { .. }]), "{actions:?}");
}

#[test]
fn a_changed_pattern_updates_the_subscriber_and_a_new_target_replaces_it() {
    let d = d_with(&bridge(), Some("0123456789abcdef"));
    let mut b = bridge();
    b.spec.rules[0].pattern = serde_json::from_value(json!({"ref": ["refs/heads/main"]})).expect("pattern");
    let actions = plan(&d_with(&b, Some("0123456789abcdef")), &mirror(&d)).expect("plan");
    assert!(matches!(v2(&actions)[..], [V2Action::UpdateSubscriber { .. }]), "{actions:?}");
    let mut b = bridge();
    b.spec.rules[0].targets[0].arn = "arn:aws:sqs:us-east-1:123456789012:other".into();
    let actions = plan(&d_with(&b, Some("0123456789abcdef")), &mirror(&d)).expect("plan");
    // A new default target id: a new subscriber, the old one collected last.
    assert!(
        matches!(v2(&actions)[..], [V2Action::CreateSubscriber { .. }, V2Action::DeleteSubscriber { .. }]),
        "{actions:?}"
    );
}

#[test]
fn a_source_not_ours_is_a_conflict_and_a_previous_incarnation_too() {
    let d = d_with(&bridge(), Some("0123456789abcdef"));
    let mut o = mirror(&d);
    o.v2.sources[0].tags.insert(TAG_UID.into(), "u0".into());
    assert!(plan(&d, &o).is_err_and(|e| !e.is_retryable()));
}

#[test]
fn delete_removes_subscribers_then_sources_then_the_role() {
    let d = d_with(&bridge(), Some("0123456789abcdef"));
    let actions = plan_delete(&d, &mirror(&d));
    let names: Vec<String> = actions.iter().map(ToString::to_string).collect();
    let at = |p: &str| names.iter().position(|n| n.starts_with(p)).unwrap_or(usize::MAX);
    assert!(at("delete  eventsv2 subscriber") < at("delete  eventsv2 webhook source"), "{names:?}");
    assert!(at("delete  eventsv2 webhook source") < at("delete  iam role"), "{names:?}");
    // A source dropped from the spec is collected.
    let mut b = bridge();
    b.spec.webhook_sources[0].name = "github2".into();
    let actions = plan(&d_with(&b, Some("0123456789abcdef")), &mirror(&d)).expect("plan");
    assert!(v2(&actions).iter().any(|a| matches!(a, V2Action::DeleteSource { .. })));
}

#[test]
fn a_gateway_bus_is_created_owned_and_deleted() {
    let mut d = desired(&bridge(), &owner(), &env());
    d.v2.bus =
        Some(crate::desired_webhook::V2Bus { name: "hooks".into(), retention_days: None, client_token: "t".into() });
    let actions = plan(&d, &Observed::default()).expect("plan");
    assert!(v2(&actions).iter().any(|a| matches!(a, V2Action::CreateBus { .. })));
    let bus = ObsV2Bus {
        name: "hooks".into(),
        arn: BUS.into(),
        state: Some("ACTIVE".into()),
        state_reason: None,
        retention_days: None,
        tags: d.tags.clone(),
    };
    let mut o = Observed::default();
    o.v2.bus = Some(bus.clone());
    assert!(v2(&plan(&d, &o).expect("plan")).is_empty());
    assert!(matches!(v2(&plan_delete(&d, &o))[..], [V2Action::DeleteBus { .. }]));
    o.v2.bus = Some(ObsV2Bus { tags: BTreeMap::new(), ..bus });
    assert!(plan(&d, &o).is_err(), "a bus of that name not ours");
    assert!(v2(&plan_delete(&d, &o)).is_empty(), "never deleted");
}

#[test]
fn a_missing_secret_names_it() {
    let mut d = desired(&bridge(), &owner(), &env());
    let err = webhook(&mut d, &bridge().spec.webhook_sources, Some(BUS), &BTreeMap::new(), true).expect_err("missing");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("gh-secret"), "{err}");
}

#[test]
fn the_policy_checks_a_webhook_source_bridges_targets_and_gateway() {
    use crate::api::policy::WebhookBridgePolicySpec;
    use crate::tenancy::{Governance, denials};
    let policy = |targets: &[&str], gateways: &[&str]| Governance::Policy {
        name: "team".into(),
        spec: Box::new(WebhookBridgePolicySpec {
            allowed_regions: vec!["us-east-1".into()],
            target_arns: targets.iter().map(|t| t.to_string()).collect(),
            gateways: gateways.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        }),
    };
    let b = bridge();
    let allowed = policy(&["arn:aws:sqs:us-east-1:123456789012:push*"], &["default/shared"]);
    assert_eq!(denials(&allowed, &b, "us-east-1"), []);
    // The subscriber's target is a rule target like any other: a queue the policy does not
    // name is denied before any AWS call (the managed role's policy would name it).
    let d = denials(&policy(&["arn:aws:sqs:us-east-1:123456789012:other"], &["default/shared"]), &b, "us-east-1");
    assert!(d.iter().any(|x| x.field == "spec.rules[0].targets[0].arn"), "{d:?}");
    let d = denials(&policy(&["arn:aws:sqs:us-east-1:123456789012:push*"], &[]), &b, "us-east-1");
    assert!(d.iter().any(|x| x.field == "spec.gatewayRef"), "{d:?}");
}

#[test]
fn a_webhook_source_bridges_rules_take_no_room_on_the_gateways_classic_bus() {
    let gw: crate::api::WebhookBridgeGateway = serde_saphyr::from_str(
        "apiVersion: webhookbridge.io/v1alpha1\nkind: WebhookBridgeGateway\nmetadata: {name: shared, namespace: default}\nspec: {customEventBus: {}}\n",
    )
    .expect("gateway");
    let b = bridge();
    let (verdicts, capacity) = crate::gateway::arbiter::arbitrate(&gw, &[&b]);
    assert!(verdicts.values().all(|v| v.over_quota.is_none()), "{verdicts:?}");
    let rules = capacity.iter().find(|q| q.quota == "rulesPerBus").map(|q| q.used);
    assert_eq!(rules, Some(0), "subscribers are on the Custom Event Bus: {capacity:?}");
}

fn basic_bridge(username: &str) -> WebhookBridge {
    let mut b = bridge();
    let yaml = format!(
        "{{name: ops, provider: Custom, auth: {{basic: {{username: {username}}}}}, secretRef: {{name: ops-basic}}}}"
    );
    b.spec.webhook_sources = vec![serde_saphyr::from_str(&yaml).expect("basic source")];
    b
}

#[test]
fn a_basic_username_change_updates_the_source_with_username_and_password() {
    let old = d_with(&basic_bridge("alice"), Some("correct-horse-battery"));
    assert_eq!(plan(&old, &mirror(&old)).expect("plan"), Vec::<Action>::new(), "in sync");
    // The username is never read back: only its tag shows the change.
    let new = d_with(&basic_bridge("bob"), Some("correct-horse-battery"));
    let actions = plan(&new, &mirror(&old)).expect("plan");
    assert!(matches!(v2(&actions)[..], [V2Action::UpdateSource { .. }, V2Action::TagSource { .. }]), "{actions:?}");
    // Username and password together: the update carries the new password, no rotation too.
    let both = d_with(&basic_bridge("bob"), Some("another-password-1"));
    let actions = plan(&both, &mirror(&old)).expect("plan");
    assert!(matches!(v2(&actions)[..], [V2Action::UpdateSource { .. }, V2Action::TagSource { .. }]), "{actions:?}");
    // The password alone: rotated (the previous one stays valid 15 minutes), not updated.
    let password = d_with(&basic_bridge("alice"), Some("another-password-1"));
    let actions = plan(&password, &mirror(&old)).expect("plan");
    assert!(matches!(v2(&actions)[..], [V2Action::RotateCredential { .. }, V2Action::TagSource { .. }]), "{actions:?}");
    // A source made before the username tag existed is updated once (with both), then tagged.
    let mut untagged = mirror(&old);
    untagged.v2.sources[0].tags.remove(TAG_USERNAME);
    let actions = plan(&old, &untagged).expect("plan");
    assert!(matches!(v2(&actions)[..], [V2Action::UpdateSource { .. }, V2Action::TagSource { .. }]), "{actions:?}");
}

#[test]
fn a_field_removed_from_the_spec_is_drift() {
    let stripe = |tolerance: Option<i32>| {
        let mut b = bridge();
        b.spec.webhook_sources[0].provider = crate::api::webhook::WebhookProvider::Stripe;
        b.spec.webhook_sources[0].timestamp_tolerance_seconds = tolerance;
        b.spec.webhook_sources[0].deduplication = Some(crate::api::webhook::Deduplication::ContentBased);
        b
    };
    let with = d_with(&stripe(Some(600)), Some("whsec_0123456789abcdef"));
    let mut b = stripe(None);
    let without = d_with(&b, Some("whsec_0123456789abcdef"));
    // A one-way subset saw nothing here: the spec's fields are all in AWS's.
    let actions = plan(&without, &mirror(&with)).expect("plan");
    assert!(matches!(v2(&actions)[..], [V2Action::UpdateSource { .. }]), "tolerance removed: {actions:?}");
    b.spec.webhook_sources[0].deduplication = None;
    let actions = plan(&d_with(&b, Some("whsec_0123456789abcdef")), &mirror(&without)).expect("plan");
    assert!(matches!(v2(&actions)[..], [V2Action::UpdateSource { .. }]), "deduplication removed: {actions:?}");
    // AWS's documented defaults on a read are no drift: tolerance 300 "The default is 300 seconds".
    let mut o = mirror(&without);
    o.v2.sources[0].config.as_mut().expect("config")["AuthConfiguration"]["HmacAuthConfiguration"]["TimestampToleranceInSeconds"] =
        json!(300);
    assert_eq!(plan(&without, &o).expect("plan"), Vec::<Action>::new());
    // A prefix AWS holds that the spec has not: drift.
    let d = d_with(&bridge(), Some("0123456789abcdef"));
    let mut o = mirror(&d);
    o.v2.sources[0].config.as_mut().expect("config")["AuthConfiguration"]["HmacAuthConfiguration"]["TimestampPrefix"] =
        json!("t=");
    assert!(matches!(v2(&plan(&d, &o).expect("plan"))[..], [V2Action::UpdateSource { .. }]));
    // A metadata header list dropped: drift.
    let mut o = mirror(&d);
    o.v2.sources[0].config.as_mut().expect("config")["MetadataHttpHeaders"] = json!(["X-GitHub-Event", "X-Extra"]);
    assert!(matches!(v2(&plan(&d, &o).expect("plan"))[..], [V2Action::UpdateSource { .. }]));
}

#[test]
fn a_subscriber_setting_removed_from_the_spec_is_drift() {
    let d = d_with(&bridge(), Some("0123456789abcdef"));
    let mut o = mirror(&d);
    o.v2.subscribers[0].retry_policy = Some((Some(3), Some(120)));
    assert!(matches!(v2(&plan(&d, &o).expect("plan"))[..], [V2Action::UpdateSubscriber { .. }]));
    let mut o = mirror(&d);
    o.v2.subscribers[0].dead_letter_arn = Some("arn:aws:sqs:us-east-1:123456789012:dlq".into());
    assert!(matches!(v2(&plan(&d, &o).expect("plan"))[..], [V2Action::UpdateSubscriber { .. }]));
    // The update sends the defaults for a dropped retry policy; reading them back is in sync.
    let mut o = mirror(&d);
    o.v2.subscribers[0].retry_policy = Some((Some(5), Some(300)));
    assert_eq!(plan(&d, &o).expect("plan"), Vec::<Action>::new());
}

#[test]
fn create_tokens_change_with_the_generation_and_stay_for_a_rerun() {
    let b = bridge();
    let at = |generation: i64| {
        let mut d = crate::desired::attached(&b, &owner(), &env(), &attachment());
        let secrets: BTreeMap<String, SecretRead> = [(
            "github".to_string(),
            SecretRead { value: SecretValue::new("0123456789abcdef"), version: Some("1".into()) },
        )]
        .into();
        crate::desired_webhook::webhook_at(
            &mut d,
            &b.spec.webhook_sources,
            Some(BUS),
            &secrets,
            true,
            Some(generation),
        )
        .expect("desired");
        (d.v2.sources[0].client_token.clone(), d.v2.subscribers[0].client_token.clone())
    };
    // A re-run after a kill (same generation) resends the interrupted create's token.
    assert_eq!(at(3), at(3));
    // Removed at generation 3, added back unchanged at 4: a new request, not the deleted
    // object's answer (AWS keeps a ClientToken's result for 8 hours).
    let (s3, sub3) = at(3);
    let (s4, sub4) = at(4);
    assert_ne!(s3, s4);
    assert_ne!(sub3, sub4);
    assert!(s4.len() <= 64 && s4.chars().all(|c| c.is_ascii_graphic()), "the model's ClientToken: {s4}");
}

#[test]
fn a_revoked_subscriber_is_terminal_and_shown() {
    let d = d_with(&bridge(), Some("0123456789abcdef"));
    let mut o = mirror(&d);
    o.v2.subscribers[0].revoked = true;
    let err = plan(&d, &o).expect_err("revoked");
    assert!(!err.is_retryable(), "{err}");
    assert_eq!(err.reason(), "AwsProvisioningFailed");
    assert!(err.to_string().contains("REVOKED"), "{err}");
    let (_, subscribers) = crate::engine::webhook_status(&d, &o);
    assert_eq!(subscribers[0].state.as_deref(), Some("REVOKED"));
    // A revoked source likewise (it keeps its lifecycle state ACTIVE beside the flag).
    let mut o = mirror(&d);
    o.v2.sources[0].revoked = true;
    assert!(plan(&d, &o).is_err_and(|e| !e.is_retryable() && e.to_string().contains("REVOKED")));
    let (sources, _) = crate::engine::webhook_status(&d, &o);
    assert_eq!(sources[0].state.as_deref(), Some("REVOKED"));
}
