//! What scripts/aws_emulator answers in moto's place, as AWS does: the calls moto 5.2.5
//! lacks (UpdateStage, DeleteAccessLogSettings, UpdateDomainName, UpdateApiMapping), the members
//! it leaves out (a custom domain's DNS target), and the behaviour it gets wrong (DeleteDomainName
//! with mappings, CreateApiMapping on a taken key, DeleteApi of an API a mapping points at,
//! DeleteEventBus with rules, a replay that is over before StartReplay answers, CancelReplay of a
//! finished replay, AddPermission past the 20 KB function-policy quota). Each through the AWS SDK
//! clients the operator uses.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_apigatewayv2::types::{
    AccessLogSettings, DomainNameConfiguration, DomainNameStatus, EndpointType, ProtocolType, RouteSettings,
    SecurityPolicy,
};
use aws_sdk_eventbridge::types::{ReplayDestination, ReplayState};
use aws_smithy_types::DateTime;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use common::kube_wait::orders_json;
use common::*;
use webhook_bridge::aws::Clients;

/// (code, message) of a call AWS refuses.
fn error_of<E: ProvideErrorMetadata, T: std::fmt::Debug>(result: Result<T, E>) -> (String, String) {
    let err = result.expect_err("AWS refuses this call");
    (err.code().unwrap_or("<none>").to_string(), err.message().unwrap_or("<none>").to_string())
}

/// Without the proxy (`MODEL_CHECK=off`) moto answers alone: nothing to test.
fn skipped() -> bool {
    if !model_check_enabled() {
        eprintln!("MODEL_CHECK=off: skipped");
    }
    !model_check_enabled()
}

const DOMAIN: &str = "hooks.example.com";

fn certificate(n: u32) -> String {
    format!("arn:aws:acm:{REGION}:{ACCOUNT}:certificate/0000000{n}-aaaa-bbbb-cccc-dddddddddddd")
}

fn regional(n: u32) -> DomainNameConfiguration {
    DomainNameConfiguration::builder()
        .certificate_arn(certificate(n))
        .endpoint_type(EndpointType::Regional)
        .security_policy(SecurityPolicy::Tls12)
        .build()
}

async fn http_api(c: &Clients, name: &str) -> String {
    let api = c.apigateway.create_api().name(name).protocol_type(ProtocolType::Http).send().await.expect("CreateApi");
    let id = api.api_id().expect("api id").to_string();
    c.apigateway.create_stage().api_id(&id).stage_name("$default").send().await.expect("CreateStage");
    id
}

/// `d-` and 10 lowercase alphanumerics, then `.execute-api.us-east-1.amazonaws.com`.
fn assert_regional_target(name: &str) {
    let id = name.strip_suffix(".execute-api.us-east-1.amazonaws.com").and_then(|s| s.strip_prefix("d-"));
    assert!(
        id.is_some_and(|id| id.len() == 10 && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
        "not a regional API Gateway domain name: {name}"
    );
}

#[tokio::test]
async fn custom_domains_carry_the_dns_target_and_update_in_place() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = moto.clients().await;
    let created = c
        .apigateway
        .create_domain_name()
        .domain_name(DOMAIN)
        .domain_name_configurations(regional(1))
        .tags("owner", "webhook-bridge")
        .send()
        .await
        .expect("CreateDomainName");
    let conf = &created.domain_name_configurations()[0];
    let target = conf.api_gateway_domain_name().expect("ApiGatewayDomainName").to_string();
    assert_regional_target(&target);
    assert_eq!(conf.hosted_zone_id(), Some("Z1UJRXOUMOOFQ8"), "us-east-1's regional zone");
    assert_eq!(conf.domain_name_status(), Some(&DomainNameStatus::Available));
    assert_eq!(conf.certificate_arn(), Some(certificate(1).as_str()));

    // The same target on every read, and for no other domain.
    let got = c.apigateway.get_domain_name().domain_name(DOMAIN).send().await.expect("GetDomainName");
    assert_eq!(got.domain_name_configurations()[0].api_gateway_domain_name(), Some(target.as_str()));
    let other = c
        .apigateway
        .create_domain_name()
        .domain_name("other.example.com")
        .domain_name_configurations(regional(1))
        .send()
        .await
        .expect("CreateDomainName");
    let other_target = other.domain_name_configurations()[0].api_gateway_domain_name().expect("target").to_string();
    assert_regional_target(&other_target);
    assert_ne!(other_target, target);
    let all = c.apigateway.get_domain_names().send().await.expect("GetDomainNames");
    assert_eq!(all.items().len(), 2);
    for d in all.items() {
        let conf = &d.domain_name_configurations()[0];
        assert_eq!(conf.hosted_zone_id(), Some("Z1UJRXOUMOOFQ8"));
        assert_eq!(conf.domain_name_status(), Some(&DomainNameStatus::Available));
        let expected = if d.domain_name() == Some(DOMAIN) { &target } else { &other_target };
        assert_eq!(conf.api_gateway_domain_name(), Some(expected.as_str()));
    }

    // UpdateDomainName (moto: 500) replaces the configuration; tags, target and mappings stay.
    let api = http_api(&c, "domain-api").await;
    let mapping = c
        .apigateway
        .create_api_mapping()
        .domain_name(DOMAIN)
        .api_id(&api)
        .stage("$default")
        .api_mapping_key("orders")
        .send()
        .await
        .expect("CreateApiMapping");
    let mapping_id = mapping.api_mapping_id().expect("mapping id").to_string();
    let updated = c
        .apigateway
        .update_domain_name()
        .domain_name(DOMAIN)
        .domain_name_configurations(regional(2))
        .send()
        .await
        .expect("UpdateDomainName");
    assert_eq!(updated.domain_name(), Some(DOMAIN));
    let conf = &updated.domain_name_configurations()[0];
    assert_eq!(conf.certificate_arn(), Some(certificate(2).as_str()));
    assert_eq!(conf.api_gateway_domain_name(), Some(target.as_str()), "the DNS target does not move");
    assert_eq!(conf.domain_name_status(), Some(&DomainNameStatus::Available));
    let got = c.apigateway.get_domain_name().domain_name(DOMAIN).send().await.expect("GetDomainName");
    assert_eq!(got.domain_name_configurations()[0].certificate_arn(), Some(certificate(2).as_str()));
    assert_eq!(got.tags().and_then(|t| t.get("owner")).map(String::as_str), Some("webhook-bridge"));
    let mappings = c.apigateway.get_api_mappings().domain_name(DOMAIN).send().await.expect("GetApiMappings");
    let kept: Vec<_> = mappings.items().iter().map(|m| (m.api_mapping_id(), m.api_mapping_key(), m.api_id())).collect();
    assert_eq!(kept, [(Some(mapping_id.as_str()), Some("orders"), Some(api.as_str()))]);

    let (code, _) = error_of(
        c.apigateway
            .update_domain_name()
            .domain_name("nope.example.com")
            .domain_name_configurations(regional(2))
            .send()
            .await,
    );
    assert_eq!(code, "NotFoundException");
}

#[tokio::test]
async fn api_mappings_update_in_place_refuse_a_taken_key_and_go_with_their_domain() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = moto.clients().await;
    let (a, b) = (http_api(&c, "api-a").await, http_api(&c, "api-b").await);
    c.apigateway.create_stage().api_id(&b).stage_name("live").send().await.expect("CreateStage");
    c.apigateway
        .create_domain_name()
        .domain_name(DOMAIN)
        .domain_name_configurations(regional(1))
        .send()
        .await
        .expect("CreateDomainName");
    let map = |api: &str, key: &str| {
        c.apigateway.create_api_mapping().domain_name(DOMAIN).api_id(api).stage("$default").api_mapping_key(key).send()
    };
    let first = map(&a, "orders").await.expect("CreateApiMapping");
    let id = first.api_mapping_id().expect("id").to_string();
    let second = map(&b, "billing").await.expect("CreateApiMapping");
    let second_id = second.api_mapping_id().expect("id").to_string();

    // A key the domain already maps: 409, as AWS (moto would overwrite or duplicate it).
    let (code, message) = error_of(map(&b, "orders").await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ConflictException", "ApiMapping key already exists for this domain name")
    );

    // UpdateApiMapping (moto: 500): new API, stage and key under the same id.
    let updated = c
        .apigateway
        .update_api_mapping()
        .domain_name(DOMAIN)
        .api_mapping_id(&id)
        .api_id(&b)
        .stage("live")
        .api_mapping_key("orders/v2")
        .send()
        .await
        .expect("UpdateApiMapping");
    assert_eq!(updated.api_mapping_id(), Some(id.as_str()));
    assert_eq!(
        (updated.api_id(), updated.stage(), updated.api_mapping_key()),
        (Some(b.as_str()), Some("live"), Some("orders/v2"))
    );
    let got =
        c.apigateway.get_api_mapping().domain_name(DOMAIN).api_mapping_id(&id).send().await.expect("GetApiMapping");
    assert_eq!((got.api_id(), got.stage(), got.api_mapping_key()), (Some(b.as_str()), Some("live"), Some("orders/v2")));
    // Only the API given: the key and the stage stay.
    let updated = c
        .apigateway
        .update_api_mapping()
        .domain_name(DOMAIN)
        .api_mapping_id(&id)
        .api_id(&a)
        .send()
        .await
        .expect("update");
    assert_eq!((updated.stage(), updated.api_mapping_key()), (Some("live"), Some("orders/v2")));
    let mut listed: Vec<(String, String)> = c
        .apigateway
        .get_api_mappings()
        .domain_name(DOMAIN)
        .send()
        .await
        .expect("GetApiMappings")
        .items()
        .iter()
        .map(|m| {
            (m.api_mapping_id().unwrap_or_default().to_string(), m.api_mapping_key().unwrap_or_default().to_string())
        })
        .collect();
    listed.sort();
    let mut expected = vec![(id.clone(), "orders/v2".to_string()), (second_id.clone(), "billing".to_string())];
    expected.sort();
    assert_eq!(listed, expected);

    // The freed key can be mapped again, under an id of its own.
    let again = map(&a, "orders").await.expect("the key is free again");
    assert_ne!(again.api_mapping_id(), Some(id.as_str()));
    assert_ne!(again.api_mapping_id(), Some(second_id.as_str()));
    let (code, _) = error_of(
        c.apigateway
            .update_api_mapping()
            .domain_name(DOMAIN)
            .api_mapping_id(&id)
            .api_id(&a)
            .api_mapping_key("billing")
            .send()
            .await,
    );
    assert_eq!(code, "ConflictException");
    let (code, _) =
        error_of(c.apigateway.update_api_mapping().domain_name(DOMAIN).api_mapping_id("zzzzz").api_id(&a).send().await);
    assert_eq!(code, "NotFoundException");

    c.apigateway.delete_api_mapping().domain_name(DOMAIN).api_mapping_id(&id).send().await.expect("DeleteApiMapping");
    let (code, _) = error_of(c.apigateway.get_api_mapping().domain_name(DOMAIN).api_mapping_id(&id).send().await);
    assert_eq!(code, "NotFoundException");

    // DeleteDomainName with mappings left (moto: 500 per mapping): the domain and its mappings go.
    c.apigateway.delete_domain_name().domain_name(DOMAIN).send().await.expect("DeleteDomainName");
    let (code, _) = error_of(c.apigateway.get_domain_name().domain_name(DOMAIN).send().await);
    assert_eq!(code, "NotFoundException");
    c.apigateway
        .create_domain_name()
        .domain_name(DOMAIN)
        .domain_name_configurations(regional(1))
        .send()
        .await
        .expect("CreateDomainName again");
    let left = c.apigateway.get_api_mappings().domain_name(DOMAIN).send().await.expect("GetApiMappings");
    assert!(left.items().is_empty(), "the old mappings went with the domain: {:?}", left.items());
}

#[tokio::test]
async fn an_api_a_mapping_points_at_is_not_deleted() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = moto.clients().await;
    let (mapped, kept, spare) = (http_api(&c, "mapped").await, http_api(&c, "kept").await, http_api(&c, "spare").await);
    for domain in [DOMAIN, "other.example.com"] {
        c.apigateway
            .create_domain_name()
            .domain_name(domain)
            .domain_name_configurations(regional(1))
            .send()
            .await
            .expect("CreateDomainName");
    }
    let map = |domain: &'static str, api: &str, key: &str| {
        c.apigateway.create_api_mapping().domain_name(domain).api_id(api).stage("$default").api_mapping_key(key).send()
    };
    map(DOMAIN, &kept, "billing").await.expect("CreateApiMapping");
    // `mapped` is mapped on the second domain only: every domain is looked at.
    let mapping = map("other.example.com", &mapped, "orders").await.expect("CreateApiMapping");
    let mapping_id = mapping.api_mapping_id().expect("mapping id").to_string();
    moto.reset_fault_stats();

    // As AWS: 400 BadRequestException (moto deletes the API and leaves the mapping dangling).
    let refused = c.apigateway.delete_api().api_id(&mapped).send().await;
    let status = refused.as_ref().err().and_then(|e| e.raw_response()).map(|r| r.status().as_u16());
    assert_eq!(status, Some(400));
    let (code, message) = error_of(refused);
    let expected = format!(
        "Deleting API {mapped} failed. Please remove all API mappings for the API from your custom domain names."
    );
    assert_eq!((code.as_str(), message.as_str()), ("BadRequestException", expected.as_str()));
    c.apigateway.get_api().api_id(&mapped).send().await.expect("the API is still there");
    let stats = moto.fault_stats();
    assert!(
        stats["committed_writes_by_call"]["apigatewayv2.DeleteApi"].is_null(),
        "a refusal commits nothing: {stats}"
    );

    // An API no mapping points at is deleted.
    c.apigateway.delete_api().api_id(&spare).send().await.expect("DeleteApi of an unmapped API");

    // Once its mapping is gone, the API can be deleted; another domain's mapping still holds its API.
    c.apigateway
        .delete_api_mapping()
        .domain_name("other.example.com")
        .api_mapping_id(&mapping_id)
        .send()
        .await
        .expect("DeleteApiMapping");
    c.apigateway.delete_api().api_id(&mapped).send().await.expect("DeleteApi once unmapped");
    let (code, _) = error_of(c.apigateway.get_api().api_id(&mapped).send().await);
    assert_eq!(code, "NotFoundException");
    let (code, _) = error_of(c.apigateway.delete_api().api_id(&kept).send().await);
    assert_eq!(code, "BadRequestException");
    let stats = moto.fault_stats();
    assert_eq!(stats["committed_writes_by_call"]["apigatewayv2.DeleteApi"], 2, "{stats}");
}

#[tokio::test]
async fn stages_update_and_lose_their_access_logs_as_on_aws() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = moto.clients().await;
    let api = c.apigateway.create_api().name("logs").protocol_type(ProtocolType::Http).send().await.expect("CreateApi");
    let api = api.api_id().expect("id").to_string();
    let group = format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/vendedlogs/webhook-bridge/ns/b1");
    let logs = |format: &str| AccessLogSettings::builder().destination_arn(&group).format(format).build();
    c.apigateway
        .create_stage()
        .api_id(&api)
        .stage_name("$default")
        .auto_deploy(true)
        .access_log_settings(logs("$context.requestId"))
        .stage_variables("color", "blue")
        .tags("owner", "webhook-bridge")
        .send()
        .await
        .expect("CreateStage");
    moto.reset_fault_stats();

    // UpdateStage (moto: 500): throttling, auto-deploy and the log format; the rest stays.
    let updated = c
        .apigateway
        .update_stage()
        .api_id(&api)
        .stage_name("$default")
        .default_route_settings(RouteSettings::builder().throttling_burst_limit(20).throttling_rate_limit(10.0).build())
        .auto_deploy(false)
        .access_log_settings(logs(r#"{"requestId":"$context.requestId","status":"$context.status"}"#))
        .send()
        .await
        .expect("UpdateStage");
    assert_eq!(updated.stage_name(), Some("$default"));
    assert_eq!(updated.auto_deploy(), Some(false));
    let throttling = updated.default_route_settings().expect("DefaultRouteSettings");
    assert_eq!((throttling.throttling_burst_limit(), throttling.throttling_rate_limit()), (Some(20), Some(10.0)));
    assert_eq!(
        updated.access_log_settings().and_then(|l| l.format()),
        Some(r#"{"requestId":"$context.requestId","status":"$context.status"}"#)
    );
    assert_eq!(updated.stage_variables().and_then(|v| v.get("color")).map(String::as_str), Some("blue"));
    assert_eq!(updated.tags().and_then(|t| t.get("owner")).map(String::as_str), Some("webhook-bridge"));
    // A later update of one setting keeps the others (a PATCH).
    c.apigateway
        .update_stage()
        .api_id(&api)
        .stage_name("$default")
        .default_route_settings(RouteSettings::builder().throttling_burst_limit(30).build())
        .send()
        .await
        .expect("UpdateStage");
    let stages = c.apigateway.get_stages().api_id(&api).send().await.expect("GetStages");
    assert_eq!(stages.items().len(), 1);
    let stage = &stages.items()[0];
    let throttling = stage.default_route_settings().expect("DefaultRouteSettings");
    assert_eq!((throttling.throttling_burst_limit(), throttling.throttling_rate_limit()), (Some(30), Some(10.0)));
    assert_eq!(stage.auto_deploy(), Some(false));
    assert_eq!(stage.access_log_settings().and_then(|l| l.destination_arn()), Some(group.as_str()));

    // An empty DefaultRouteSettings does not remove the limits on AWS (AWS support's answer
    // quoted in https://github.com/serverless/serverless/pull/8590): they stay as they were.
    c.apigateway
        .update_stage()
        .api_id(&api)
        .stage_name("$default")
        .default_route_settings(RouteSettings::builder().build())
        .send()
        .await
        .expect("UpdateStage");
    let stage = c.apigateway.get_stage().api_id(&api).stage_name("$default").send().await.expect("GetStage");
    let throttling = stage.default_route_settings().expect("DefaultRouteSettings");
    assert_eq!((throttling.throttling_burst_limit(), throttling.throttling_rate_limit()), (Some(30), Some(10.0)));

    // DeleteAccessLogSettings (moto: 404): the documented way to turn access logging off.
    c.apigateway
        .delete_access_log_settings()
        .api_id(&api)
        .stage_name("$default")
        .send()
        .await
        .expect("DeleteAccessLogSettings");
    let stage = c.apigateway.get_stage().api_id(&api).stage_name("$default").send().await.expect("GetStage");
    assert!(stage.access_log_settings().is_none(), "{:?}", stage.access_log_settings());
    assert_eq!(stage.default_route_settings().and_then(|s| s.throttling_burst_limit()), Some(30));
    assert_eq!(stage.stage_variables().and_then(|v| v.get("color")).map(String::as_str), Some("blue"));

    // Each emulated write counts as one committed write, as a real one would.
    let stats = moto.fault_stats();
    assert_eq!(stats["committed_writes_by_call"]["apigatewayv2.UpdateStage"], 3, "{stats}");
    assert_eq!(stats["committed_writes_by_call"]["apigatewayv2.DeleteAccessLogSettings"], 1, "{stats}");

    let (code, _) =
        error_of(c.apigateway.update_stage().api_id(&api).stage_name("nope").auto_deploy(true).send().await);
    assert_eq!(code, "NotFoundException");
    let (code, _) = error_of(c.apigateway.delete_access_log_settings().api_id(&api).stage_name("nope").send().await);
    assert_eq!(code, "NotFoundException");
}

/// A bus with an archive, as the operator makes them: (bus ARN, archive ARN).
async fn archived_bus(c: &Clients, bus: &str) -> (String, String) {
    let bus_arn = c.events.create_event_bus().name(bus).send().await.expect("CreateEventBus");
    let bus_arn = bus_arn.event_bus_arn().expect("bus arn").to_string();
    let archive =
        c.events.create_archive().archive_name(bus).event_source_arn(&bus_arn).send().await.expect("CreateArchive");
    (bus_arn, archive.archive_arn().expect("archive arn").to_string())
}

#[tokio::test]
async fn a_bus_with_rules_left_is_not_deleted() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = moto.clients().await;
    let (bus, _) = archived_bus(&c, "wb-default-b1").await;
    // The archive's managed rule `Events-Archive-<name>` is a rule on the bus.
    let rules = c.events.list_rules().event_bus_name(&bus).send().await.expect("ListRules");
    let names: Vec<_> = rules.rules().iter().filter_map(|r| r.name()).collect();
    assert_eq!(names, ["Events-Archive-wb-default-b1"]);
    let (code, message) = error_of(c.events.delete_event_bus().name("wb-default-b1").send().await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ValidationException", "EventBus can't be deleted since it has rules.")
    );

    c.events.delete_archive().archive_name("wb-default-b1").send().await.expect("DeleteArchive");
    c.events
        .put_rule()
        .name("whb-x")
        .event_bus_name("wb-default-b1")
        .event_pattern(r#"{"source":["x"]}"#)
        .send()
        .await
        .expect("PutRule");
    let (code, _) = error_of(c.events.delete_event_bus().name("wb-default-b1").send().await);
    assert_eq!(code, "ValidationException");
    c.events.delete_rule().name("whb-x").event_bus_name("wb-default-b1").send().await.expect("DeleteRule");
    c.events.delete_event_bus().name("wb-default-b1").send().await.expect("no rules left: deleted");
    let (code, _) = error_of(c.events.describe_event_bus().name("wb-default-b1").send().await);
    assert_eq!(code, "ResourceNotFoundException");
}

#[tokio::test]
async fn replays_run_for_a_while_and_cancel_as_on_aws() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    let c = moto.clients().await;
    let (bus, archive) = archived_bus(&c, "replayed").await;
    let now = DateTime::from_secs(1_795_000_000);
    let (from, to) = (DateTime::from_secs(1_794_996_400), now);
    let start = |name: &str| {
        c.events
            .start_replay()
            .replay_name(name)
            .event_source_arn(&archive)
            .event_start_time(from)
            .event_end_time(to)
            .destination(ReplayDestination::builder().arn(&bus).build().expect("destination"))
            .send()
    };
    let started = start("r1").await.expect("StartReplay");
    assert_eq!(started.state(), Some(&ReplayState::Starting));

    // STARTING, then RUNNING with EventLastReplayedTime moving through [from, to], then COMPLETED.
    let mut states = Vec::new();
    let mut last_seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = c.events.describe_replay().replay_name("r1").send().await.expect("DescribeReplay");
        let state = r.state().cloned().expect("state");
        if states.last() != Some(&state) {
            states.push(state.clone());
        }
        match state {
            ReplayState::Starting => assert!(r.event_last_replayed_time().is_none() && r.replay_end_time().is_none()),
            ReplayState::Running => {
                let last = r.event_last_replayed_time().expect("EventLastReplayedTime while RUNNING").as_secs_f64();
                assert!((from.as_secs_f64()..=to.as_secs_f64()).contains(&last), "{last}");
                assert!(r.replay_end_time().is_none());
                last_seen.push(last);
            }
            ReplayState::Completed => {
                assert_eq!(r.event_last_replayed_time().map(|t| t.as_secs_f64()), Some(to.as_secs_f64()));
                assert!(r.replay_end_time().is_some());
                break;
            }
            other => panic!("unexpected state {other:?}"),
        }
        assert!(Instant::now() < deadline, "never completed: {states:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(states, [ReplayState::Starting, ReplayState::Running, ReplayState::Completed]);
    assert!(last_seen.len() >= 5, "RUNNING for about 2 s: {last_seen:?}");
    assert!(last_seen.windows(2).all(|w| w[0] <= w[1]) && last_seen.first() < last_seen.last(), "{last_seen:?}");

    // A completed replay cannot be cancelled.
    let (code, _) = error_of(c.events.cancel_replay().replay_name("r1").send().await);
    assert_eq!(code, "IllegalStatusException");

    // A running one: CANCELLING, then CANCELLED.
    start("r2").await.expect("StartReplay");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let r = c.events.describe_replay().replay_name("r2").send().await.expect("DescribeReplay");
    assert_eq!(r.state(), Some(&ReplayState::Running));
    let cancelled = c.events.cancel_replay().replay_name("r2").send().await.expect("CancelReplay");
    assert_eq!(cancelled.state(), Some(&ReplayState::Cancelling));
    assert!(cancelled.replay_arn().is_some_and(|a| a.ends_with(":replay/r2")));
    let r = c.events.describe_replay().replay_name("r2").send().await.expect("DescribeReplay");
    assert_eq!(r.state(), Some(&ReplayState::Cancelling));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = c.events.describe_replay().replay_name("r2").send().await.expect("DescribeReplay");
    assert_eq!(r.state(), Some(&ReplayState::Cancelled));
    let stopped = r.event_last_replayed_time().expect("where it stopped").as_secs_f64();
    assert!(stopped > from.as_secs_f64() && stopped < to.as_secs_f64(), "{stopped}");
    assert!(r.replay_end_time().is_some());
    let (code, _) = error_of(c.events.cancel_replay().replay_name("r2").send().await);
    assert_eq!(code, "IllegalStatusException");

    // ListReplays shows the same states, and filters on them.
    let listed = c.events.list_replays().send().await.expect("ListReplays");
    let mut states: Vec<_> =
        listed.replays().iter().map(|r| (r.replay_name().unwrap_or_default(), r.state().cloned())).collect();
    states.sort_by_key(|(name, _)| name.to_string());
    assert_eq!(states, [("r1", Some(ReplayState::Completed)), ("r2", Some(ReplayState::Cancelled))]);
    let cancelled = c.events.list_replays().state(ReplayState::Cancelled).send().await.expect("ListReplays");
    let names: Vec<_> = cancelled.replays().iter().filter_map(|r| r.replay_name()).collect();
    assert_eq!(names, ["r2"]);
}

#[tokio::test]
async fn a_function_policy_past_20_kb_is_refused_as_on_aws() {
    if skipped() {
        return;
    }
    let moto = Moto::start();
    moto.seed_lambdas(&["shared"]).await;
    let c = moto.clients().await;
    let function = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:shared");
    let env =
        webhook_bridge::desired::AwsEnv { region: REGION.into(), account: ACCOUNT.into(), partition: "aws".into() };
    // Bridges as teams write them (examples/orders.yaml), every rule targeting one function.
    let mut added = 0;
    let refused = loop {
        let name = format!("orders-{added:03}");
        let mut v = orders_json(&name, "team-payments", &format!("bus-{name}"));
        v["spec"]["rules"][0]["targets"][0]["arn"] = serde_json::Value::from(function.clone());
        let bridge: webhook_bridge::api::WebhookBridge = serde_json::from_value(v).expect("bridge");
        let owner = webhook_bridge::owner::Owner {
            cluster: "prod".into(),
            namespace: "team-payments".into(),
            name,
            uid: format!("uid-{added}"),
        };
        let d = webhook_bridge::desired::desired(&bridge, &owner, &env);
        let p = d.rules[0].permissions(&owner).remove(0);
        match webhook_bridge::aws::lambda::add_permission(&c.lambda, &p).await {
            Ok(()) => added += 1,
            Err(e) => break e,
        }
        assert!(added < 200, "200 statements and still no PolicyLengthExceededException");
    };
    // ~330 bytes a statement: AWS takes about 60 of ours before the 20 KB quota.
    eprintln!("refused after {added} statements");
    assert!((40..80).contains(&added), "refused after {added} statements");
    assert_eq!(refused.reason(), "QuotaExceeded");
    assert!(!refused.is_retryable(), "a full policy does not empty itself: {refused}");
    let message = refused.to_string();
    assert!(message.contains(&function) && message.contains("20 KB"), "{message}");
    let policy = c.lambda.get_policy().function_name("shared").send().await.expect("GetPolicy");
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap_or_default()).expect("policy JSON");
    let statements = policy["Statement"].as_array().map_or(0, Vec::len);
    assert_eq!(statements, added, "the refused statement was not added");

    // The exact answer: 400, PolicyLengthExceededException, AWS's message.
    let (code, message) = error_of(
        c.lambda
            .add_permission()
            .function_name("shared")
            .statement_id("one-more")
            .action("lambda:InvokeFunction")
            .principal("events.amazonaws.com")
            .source_arn(format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/bus-x/one-more"))
            .send()
            .await,
    );
    assert_eq!(code, "PolicyLengthExceededException");
    assert!(
        message.starts_with("The final policy size (") && message.ends_with(") is bigger than the limit (20480)."),
        "{message}"
    );
}
