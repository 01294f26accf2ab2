//! What an in-sync resync may take from the bridge's own status: the ids an earlier pass found,
//! so the engine reads by id instead of searching the account (see `Engine::reconcile_known`).

use std::time::Duration;

use crate::api::WebhookBridgeStatus;
use crate::observed::Known;

/// One in this many resync windows reads the API object itself (GetApi: name, description, CORS,
/// tags) in place of the role object (GetRole: trust policy, boundary, tags; the role's inline
/// policy is read in every window), so every in-sync resync of the canonical bridge is 10 reads;
/// each window takes what it skips as last seen.
pub const READ_API_EVERY: u64 = 6;

/// API Gateway reads of one in-sync resync of a one-route bridge, on average: GetStages,
/// GetIntegrations and GetRoutes by API id, plus GetApi in one window of [`READ_API_EVERY`].
/// API Gateway has the tightest quota (10 requests/s per account), so it sets the read budget.
pub const API_GATEWAY_READS_PER_RESYNC: f64 = 3.0 + 1.0 / READ_API_EVERY as f64;

/// The API endpoint back from the stage URL status shows (`status::stage_url`).
fn api_endpoint(status: &WebhookBridgeStatus) -> Option<String> {
    let url = status.endpoint.as_deref()?;
    match status.stage.as_deref() {
        None | Some("$default") => Some(url.to_string()),
        Some(stage) => url.strip_suffix(&format!("/{stage}")).map(str::to_string),
    }
}

/// Whether this resync falls in the bridge's window for reading the API object: time is cut
/// into windows one resync interval long, and each bridge (by uid) owns one in
/// [`READ_API_EVERY`]. Stateless: no counter to keep, no status write.
pub fn reads_api(uid: &str, interval: Duration, now_secs: u64) -> bool {
    let window = now_secs / interval.as_secs().max(1);
    let offset = uid.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    (window.wrapping_add(offset)) % READ_API_EVERY == 0
}

/// The ids a resync may read by, from the status of a bridge that is in sync at its current
/// generation. None (search by tags) when status lacks the API id or its endpoint.
pub fn from_status(status: &WebhookBridgeStatus, read_api: bool) -> Option<Known> {
    Some(Known {
        api_id: status.api_id.clone()?,
        endpoint: Some(api_endpoint(status)?),
        rules: status.rules.iter().filter(|r| r.arn.is_some()).map(|r| r.aws_name.clone()).collect(),
        read_api,
        domain: status.domain.as_ref().map(|dm| dm.name.clone()),
        log_group: status.access_log_group.is_some(),
        archive: status.archive.is_some(),
        routes: status.routes.iter().filter_map(|r| Some((r.route_id.clone()?, r.integration_id.clone()?))).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::RuleStatus;

    fn status(stage: &str, url: &str) -> WebhookBridgeStatus {
        WebhookBridgeStatus {
            api_id: Some("a1".into()),
            stage: Some(stage.into()),
            endpoint: Some(url.into()),
            rules: vec![
                RuleStatus { name: "r".into(), aws_name: "whb-r".into(), arn: Some("arn:r".into()), targets: 1 },
                RuleStatus { name: "s".into(), aws_name: "whb-s".into(), arn: None, targets: 0 },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn known_ids_come_from_status() {
        let k = from_status(&status("dev", "https://a1.example/dev"), false).expect("known");
        assert_eq!(k.api_id, "a1");
        assert_eq!(k.endpoint.as_deref(), Some("https://a1.example"));
        assert_eq!(k.rules.iter().collect::<Vec<_>>(), ["whb-r"], "only rules an earlier pass found");
        let k = from_status(&status("$default", "https://a1.example"), true).expect("known");
        assert_eq!(k.endpoint.as_deref(), Some("https://a1.example"));
        assert!(k.read_api);
        assert_eq!(from_status(&WebhookBridgeStatus::default(), false), None, "no id: search by tags");
        assert_eq!(from_status(&status("dev", "https://elsewhere.example/x"), false), None);
    }

    #[test]
    fn each_bridge_reads_its_api_in_one_window_of_six() {
        let interval = Duration::from_secs(600);
        for uid in ["u-1", "u-2", "0d9c6f6e-1b6c-4c59-a2d5-2c7f8d7b1a11"] {
            let hits: Vec<u64> = (0..60).filter(|w| reads_api(uid, interval, w * 600 + 17)).collect();
            assert_eq!(hits.len() as u64, 60 / READ_API_EVERY, "{uid}: {hits:?}");
            assert!(hits.windows(2).all(|w| w[1] - w[0] == READ_API_EVERY), "{uid}: evenly spaced {hits:?}");
        }
        let spread: std::collections::BTreeSet<bool> =
            (0..20).map(|i| reads_api(&format!("u-{i}"), interval, 0)).collect();
        assert_eq!(spread.len(), 2, "bridges do not all read their API in the same window");
    }
}
