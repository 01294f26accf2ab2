//! EventBridge archive of the bus's events, by its deterministic name (`Owner::archive_name`).
//!
//! Archives take no tags (only rules and buses do): ownership is the `Description` marker
//! (`Owner::archive_marker`, read back by `Owner::archive_ownership`) plus the source bus. An
//! archive is carried out by an AWS-managed rule `Events-Archive-<name>` on the bus, so the
//! archive must be deleted before its bus.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::operation::describe_archive::DescribeArchiveOutput;

use crate::aws::{gone_ok, has_code};
use crate::desired::{Desired, DesiredArchive};
use crate::error::{Error, classify};
use crate::observed::{ObsArchive, Observed};

const SVC: &str = "eventbridge";
const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];

fn archive_of(name: &str, out: &DescribeArchiveOutput) -> ObsArchive {
    ObsArchive {
        name: out.archive_name().unwrap_or(name).to_string(),
        arn: out.archive_arn().unwrap_or_default().to_string(),
        source_arn: out.event_source_arn().unwrap_or_default().to_string(),
        description: out.description().map(str::to_string),
        pattern: out.event_pattern().and_then(|p| serde_json::from_str(p).ok()),
        // 0: kept indefinitely (also AWS's default when none is given).
        retention_days: out.retention_days().unwrap_or(0),
        state: out.state().map(|s| s.as_str().to_string()),
    }
}

/// Read the archive with the deterministic name, whoever owns it.
pub async fn observe(client: &Client, d: &Desired, into: &mut Observed) -> Result<(), Error> {
    let name = d.owner.archive_name();
    match client.describe_archive().archive_name(&name).send().await {
        Ok(out) => into.archive = Some(archive_of(&name, &out)),
        Err(e) if has_code(&e, NOT_FOUND) => into.archive = None,
        Err(e) => return Err(classify(SVC, "DescribeArchive", e)),
    }
    Ok(())
}

fn wanted<'a>(d: &'a Desired, operation: &str) -> Result<&'a DesiredArchive, Error> {
    d.archive.as_ref().ok_or_else(|| Error::Config(format!("{operation} without spec.eventBus.archive")))
}

fn pattern(archive: &DesiredArchive) -> Result<Option<String>, Error> {
    archive
        .pattern
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| Error::invalid("spec.eventBus.archive.pattern", e.to_string()))
}

/// Create the archive of the bus (`d.bus.arn`), its description the ownership marker. Without a
/// pattern it keeps every event of the bus except replayed ones.
pub async fn create_archive(client: &Client, d: &Desired) -> Result<(), Error> {
    let archive = wanted(d, "CreateArchive")?;
    client
        .create_archive()
        .archive_name(&archive.name)
        .event_source_arn(&d.bus.arn)
        .description(&archive.description)
        .set_event_pattern(pattern(archive)?)
        .retention_days(archive.retention_days)
        .send()
        .await
        .map_err(|e| classify(SVC, "CreateArchive", e))?;
    Ok(())
}

/// Set the archive's description, pattern and retention (its name and source bus cannot change).
///
/// UpdateArchive has no way to remove a pattern (an omitted EventPattern leaves the old one, and
/// AWS documents no reset), so a spec without one is sent as a pattern every event matches
/// (`plan::archive_all_events`), which the planner reads back as no pattern. Deleting and
/// re-creating the archive instead would lose its events.
pub async fn update_archive(client: &Client, d: &Desired) -> Result<(), Error> {
    let archive = wanted(d, "UpdateArchive")?;
    let pattern = match pattern(archive)? {
        Some(p) => p,
        None => crate::plan::archive_all_events().to_string(),
    };
    client
        .update_archive()
        .archive_name(&archive.name)
        .description(&archive.description)
        .event_pattern(pattern)
        .retention_days(archive.retention_days)
        .send()
        .await
        .map_err(|e| classify(SVC, "UpdateArchive", e))?;
    Ok(())
}

/// Delete the archive and the events it holds (AWS then removes its managed rule from the bus).
pub async fn delete_archive(client: &Client, name: &str) -> Result<(), Error> {
    gone_ok(SVC, "DeleteArchive", NOT_FOUND, client.delete_archive().archive_name(name).send().await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_eventbridge::operation::create_archive::CreateArchiveOutput;
    use aws_sdk_eventbridge::operation::update_archive::UpdateArchiveOutput;
    use aws_sdk_eventbridge::types::ArchiveState;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::retry::RetryConfig;

    fn d() -> Desired {
        let mut d = crate::desired::orders_for_tests();
        let owner = d.owner.clone();
        d.archive = Some(DesiredArchive {
            name: owner.archive_name(),
            arn: format!("arn:aws:events:us-east-1:123456789012:archive/{}", owner.archive_name()),
            retention_days: 7,
            pattern: None,
            description: owner.archive_marker(),
        });
        d
    }

    fn client(rules: &[Rule]) -> Client {
        mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, rules, |b| b.retry_config(RetryConfig::disabled()))
    }

    /// An error as EventBridge (awsJson1.1) sends it.
    fn error(code: &str) -> Response {
        let mut r = Response::new(
            StatusCode::try_from(400).expect("status"),
            SdkBody::from(format!(r#"{{"__type":"{code}","message":"m"}}"#)),
        );
        r.headers_mut().insert("content-type", "application/x-amz-json-1.1");
        r
    }

    #[tokio::test]
    async fn a_missing_archive_is_none_and_a_missing_one_is_deleted() {
        let rules = [
            mock!(Client::describe_archive).then_http_response(|| error("ResourceNotFoundException")),
            mock!(Client::delete_archive).then_http_response(|| error("ResourceNotFoundException")),
        ];
        let c = client(&rules);
        let mut into = Observed::default();
        observe(&c, &d(), &mut into).await.expect("observe");
        assert_eq!(into.archive, None);
        delete_archive(&c, "whb-x").await.expect("gone is deleted");
    }

    #[tokio::test]
    async fn writes_send_the_bus_marker_retention_and_pattern_only_when_given() {
        let mut d = d();
        let (name, bus, marker) = (d.owner.archive_name(), d.bus.arn.clone(), d.owner.archive_marker());
        let rules = [
            mock!(Client::create_archive)
                .match_requests(move |r| {
                    r.archive_name() == Some(name.as_str())
                        && r.event_source_arn() == Some(bus.as_str())
                        && r.description() == Some(marker.as_str())
                        && r.event_pattern().is_none()
                        && r.retention_days() == Some(7)
                })
                .then_output(|| CreateArchiveOutput::builder().build()),
            mock!(Client::update_archive)
                .match_requests(|r| r.event_pattern() == Some(r#"{"source":["webhook-bridge"]}"#))
                .then_output(|| UpdateArchiveOutput::builder().build()),
        ];
        let c = client(&rules);
        create_archive(&c, &d).await.expect("create");
        d.archive.as_mut().expect("archive").pattern = Some(serde_json::json!({"source": ["webhook-bridge"]}));
        update_archive(&c, &d).await.expect("update");
        d.archive = None;
        assert!(matches!(create_archive(&c, &d).await, Err(Error::Config(_))));
    }

    #[test]
    fn an_archive_reads_back_as_described() {
        let out = DescribeArchiveOutput::builder()
            .archive_arn("arn:aws:events:us-east-1:123456789012:archive/whb-1a2b3c4d-payments-orders")
            .archive_name("whb-1a2b3c4d-payments-orders")
            .event_source_arn("arn:aws:events:us-east-1:123456789012:event-bus/payments-orders-1a2b3c4d")
            .description("webhook-bridge archive: c1 payments/orders u-1")
            .event_pattern(r#"{"source": ["webhook-bridge"]}"#)
            .state(ArchiveState::Enabled)
            .retention_days(7)
            .build();
        let a = archive_of("whb-1a2b3c4d-payments-orders", &out);
        assert_eq!(a.name, "whb-1a2b3c4d-payments-orders");
        assert_eq!(a.source_arn, "arn:aws:events:us-east-1:123456789012:event-bus/payments-orders-1a2b3c4d");
        assert_eq!(a.pattern, Some(serde_json::json!({"source": ["webhook-bridge"]})));
        assert_eq!((a.retention_days, a.state.as_deref()), (7, Some("ENABLED")));
        assert_eq!(a.description.as_deref(), Some("webhook-bridge archive: c1 payments/orders u-1"));
    }

    #[test]
    fn an_archive_without_pattern_or_retention_keeps_everything_forever() {
        let a = archive_of("whb-x", &DescribeArchiveOutput::builder().build());
        assert_eq!((a.name.as_str(), a.pattern, a.retention_days, a.state), ("whb-x", None, 0, None));
    }

    #[test]
    fn the_pattern_is_sent_as_compact_json() {
        let mut archive = DesiredArchive {
            name: "whb-x".into(),
            arn: "arn:aws:events:us-east-1:1:archive/whb-x".into(),
            retention_days: 0,
            pattern: Some(serde_json::json!({"detail-type": ["order.created"]})),
            description: String::new(),
        };
        assert_eq!(pattern(&archive).unwrap().as_deref(), Some(r#"{"detail-type":["order.created"]}"#));
        archive.pattern = None;
        assert_eq!(pattern(&archive).unwrap(), None);
    }
}
