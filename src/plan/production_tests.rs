//! Pure tests of the production objects: custom domain and API mapping, access-log group and
//! stage settings, bus archive.

use super::tests::{bridge, d_of, mirror, names, orders};
use super::*;
use crate::api::WebhookBridge;
use crate::owner::TAG_UID;

fn production() -> WebhookBridge {
    bridge(include_str!("../../examples/production.yaml"))
}

#[test]
fn from_nothing_production_objects_come_after_what_they_need() {
    let d = d_of(&production());
    let actions = plan(&d, &Observed::default()).expect("plan");
    let names = names(&actions);
    let at = |n: &str| names.iter().position(|x| x == n).unwrap_or_else(|| panic!("{n} not in {names:?}"));
    assert!(at("create eventbridge bus") < at("create eventbridge archive"));
    assert!(at("create logs log") < at("put logs log"));
    assert!(at("put logs log") < at("create apigateway stage"), "the stage names the log group");
    assert!(at("create apigateway stage") < at("create apigateway domain"));
    let mapping = actions.iter().position(|a| matches!(a, Action::CreateApiMapping { .. }));
    assert!(Some(at("create apigateway domain")) < mapping, "the mapping needs the domain");
    assert_eq!(plan(&d, &mirror(&d)).expect("plan"), Vec::<Action>::new(), "in sync: nothing to do");
}

#[test]
fn the_mapping_follows_the_base_path_and_a_recreated_api() {
    let d = d_of(&production());
    let mut o = mirror(&d);
    o.domains[0].mappings[0].key = "old".into();
    let actions = plan(&d, &o).expect("plan");
    assert_eq!(
        actions,
        vec![
            Action::CreateApiMapping { domain: "hooks.example.com".into() },
            Action::DeleteApiMapping { domain: "hooks.example.com".into(), id: "map1".into() },
        ]
    );
    let mut o = mirror(&d);
    o.domains[0].mappings[0].api_id = "api-gone".into();
    assert_eq!(
        plan(&d, &o).expect("plan"),
        vec![Action::UpdateApiMapping { domain: "hooks.example.com".into(), id: "map1".into() }]
    );
    // Someone else's mapping on our domain, at another key, is left alone.
    let mut o = mirror(&d);
    o.domains[0].mappings.push(crate::observed::ObsMapping {
        id: "theirs".into(),
        api_id: "other-api".into(),
        stage: "prod".into(),
        key: "billing".into(),
    });
    assert_eq!(plan(&d, &o).expect("plan"), Vec::<Action>::new());
}

#[test]
fn a_new_certificate_updates_the_domain_and_a_dropped_domain_goes_with_its_mappings() {
    let mut b = production();
    let d = d_of(&b);
    let o = mirror(&d);
    if let Some(domain) = b.spec.domain.as_mut() {
        domain.certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/new".into();
    }
    assert_eq!(plan(&d_of(&b), &o).expect("plan"), vec![Action::UpdateDomain { name: "hooks.example.com".into() }]);
    b.spec.domain = None;
    assert_eq!(
        plan(&d_of(&b), &o).expect("plan"),
        vec![
            Action::DeleteApiMapping { domain: "hooks.example.com".into(), id: "map1".into() },
            Action::DeleteDomain { name: "hooks.example.com".into() },
        ]
    );
}

#[test]
fn a_domain_someone_else_holds_is_a_conflict() {
    let d = d_of(&production());
    let mut o = mirror(&d);
    o.domains[0].tags.insert(TAG_UID.into(), "another-uid".into());
    let e = plan(&d, &o).expect_err("conflict");
    assert!(matches!(&e, Error::Conflict(f) if f.field == "spec.domain.name"), "{e:?}");
    o.domains[0].tags.clear();
    assert!(plan(&d, &o).is_err());
    // Not ours and not named by the spec: invisible to the plan.
    let mut o = mirror(&d_of(&orders()));
    o.domains = mirror(&d).domains;
    o.domains[0].tags.clear();
    assert!(plan(&d_of(&orders()), &o).expect("plan").is_empty());
}

#[test]
fn access_logs_off_clears_the_stage_then_removes_the_group() {
    let mut b = production();
    let d = d_of(&b);
    let o = mirror(&d);
    if let Some(logs) = b.spec.api.access_logs.as_mut() {
        logs.enabled = false;
    }
    assert_eq!(
        names(&plan(&d_of(&b), &o).expect("plan")),
        ["delete apigateway stage", "delete logs log"],
        "settings cleared before the group goes"
    );
    // A changed retention or format: in place.
    let mut b = production();
    if let Some(logs) = b.spec.api.access_logs.as_mut() {
        logs.retention_days = 90;
        logs.format = Some(r#"{"id":"$context.requestId"}"#.into());
    }
    assert_eq!(names(&plan(&d_of(&b), &o).expect("plan")), ["put logs log", "update apigateway stage"]);
}

#[test]
fn the_archive_is_updated_in_place_and_removing_its_pattern_reads_back_as_none() {
    let mut b = production();
    let d = d_of(&b);
    let o = mirror(&d);
    let name = d.owner.archive_name();
    if let Some(a) = b.spec.event_bus.archive.as_mut() {
        a.retention_days = 30;
        a.pattern = None;
    }
    let d2 = d_of(&b);
    assert_eq!(plan(&d2, &o).expect("plan"), vec![Action::UpdateArchive { name: name.clone() }]);
    let mut after = mirror(&d2);
    after.archive.as_mut().expect("archive").pattern = Some(archive::all_events());
    assert!(plan(&d2, &after).expect("plan").is_empty(), "the all-events pattern is no pattern");
    b.spec.event_bus.archive = None;
    assert_eq!(plan(&d_of(&b), &o).expect("plan"), vec![Action::DeleteArchive { name }]);
}

#[test]
fn an_archive_of_another_owner_is_a_conflict_and_never_deleted() {
    let d = d_of(&production());
    let mut o = mirror(&d);
    o.archive.as_mut().expect("archive").description = Some("someone's archive".into());
    assert!(matches!(plan(&d, &o), Err(Error::Conflict(f)) if f.field == "spec.eventBus.archive"));
    let mut b = production();
    b.spec.event_bus.archive = None;
    assert!(plan(&d_of(&b), &o).expect("plan").is_empty());
    assert!(!plan_delete(&d_of(&b), &o).iter().any(|a| matches!(a, Action::DeleteArchive { .. })));
}

#[test]
fn delete_removes_mappings_domain_api_log_group_and_the_archive_before_the_bus() {
    let d = d_of(&production());
    let actions = plan_delete(&d, &mirror(&d));
    let at = |f: fn(&Action) -> bool| actions.iter().position(f).unwrap_or_else(|| panic!("{actions:?}"));
    let mapping = at(|a| matches!(a, Action::DeleteApiMapping { .. }));
    let domain = at(|a| matches!(a, Action::DeleteDomain { .. }));
    let api = at(|a| matches!(a, Action::DeleteApi { .. }));
    let group = at(|a| matches!(a, Action::DeleteLogGroup { .. }));
    let archive = at(|a| matches!(a, Action::DeleteArchive { .. }));
    let bus = at(|a| matches!(a, Action::DeleteBus { .. }));
    assert!(mapping < domain && domain < api && api < group, "{actions:?}");
    assert!(archive < bus, "{actions:?}");
}
