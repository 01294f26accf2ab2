//! Prometheus metrics of the operator: reconciles by result, reconcile duration, AWS calls by
//! service/operation/outcome, and bridges by condition.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::aws::CallCounter;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `success`, `retryable_error` or `terminal_error`.
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CrdLabels {
    pub crd: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConditionLabels {
    /// `Ready`, `Reconciling` or `Stalled`.
    pub condition: String,
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    reconciles: Family<ResultLabels, Counter>,
    duration: Histogram,
    bridges: Family<ConditionLabels, Gauge>,
    effective_resync: Gauge<f64, std::sync::atomic::AtomicU64>,
    resyncs_deferred: Counter,
    resyncs: Counter,
    resyncs_waiting: Gauge,
    crd_missing: Family<CrdLabels, Gauge>,
    /// Each bridge's current state, to keep the gauge exact.
    states: Mutex<HashMap<String, &'static str>>,
}

pub const STATES: [&str; 3] = ["Ready", "Reconciling", "Stalled"];

impl Metrics {
    pub fn new(aws_calls: &CallCounter) -> Metrics {
        let mut registry = Registry::with_prefix("webhook_bridge");
        let reconciles = Family::<ResultLabels, Counter>::default();
        registry.register("reconciles", "Reconciles by result", reconciles.clone());
        let duration = Histogram::new([0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]);
        registry.register("reconcile_duration_seconds", "Time one reconcile took", duration.clone());
        registry.register("aws_calls", "AWS API calls by service, operation and outcome", aws_calls.family());
        let bridges = Family::<ConditionLabels, Gauge>::default();
        registry.register("bridges", "WebhookBridges by condition", bridges.clone());
        for state in STATES {
            bridges.get_or_create(&ConditionLabels { condition: state.to_string() }).set(0);
        }
        let effective_resync = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "effective_resync_seconds",
            "Resync interval in effect: --resync-seconds, stretched to keep in-sync resyncs within the read budget",
            effective_resync.clone(),
        );
        let resyncs_deferred = Counter::default();
        registry.register(
            "resyncs_deferred",
            "In-sync resyncs put back because every resync slot was busy (new and failing bridges go first)",
            resyncs_deferred.clone(),
        );
        let resyncs = Counter::default();
        registry.register(
            "resyncs",
            "In-sync resyncs run (drift checks of a bridge Ready at its generation), counted once their AWS reads are done",
            resyncs.clone(),
        );
        let resyncs_waiting = Gauge::default();
        registry.register(
            "resyncs_waiting",
            "In-sync resyncs put back for want of a slot and not run yet (each waits about as long as the ones ahead take)",
            resyncs_waiting.clone(),
        );
        let crd_missing = Family::<CrdLabels, Gauge>::default();
        registry.register(
            "crd_missing_fields",
            "Fields of this operator's CRDs the apiserver's served schema lacks (an outdated CRD: Helm never upgrades crds/)",
            crd_missing.clone(),
        );
        Metrics {
            registry,
            reconciles,
            duration,
            bridges,
            effective_resync,
            resyncs_deferred,
            resyncs,
            resyncs_waiting,
            crd_missing,
            states: Mutex::default(),
        }
    }

    pub fn reconciled(&self, result: &str, took: Duration) {
        self.reconciles.get_or_create(&ResultLabels { result: result.to_string() }).inc();
        self.duration.observe(took.as_secs_f64());
    }

    /// Record a bridge's state (`None`: the bridge is gone).
    pub fn set_state(&self, key: &str, state: Option<&'static str>) {
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        let before = match state {
            Some(s) => states.insert(key.to_string(), s),
            None => states.remove(key),
        };
        if before == state {
            return;
        }
        if let Some(b) = before {
            self.bridges.get_or_create(&ConditionLabels { condition: b.to_string() }).dec();
        }
        if let Some(s) = state {
            self.bridges.get_or_create(&ConditionLabels { condition: s.to_string() }).inc();
        }
    }

    /// Bridges known (in any state).
    pub fn bridge_count(&self) -> usize {
        self.states.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn resync_deferred(&self) {
        self.resyncs_deferred.inc();
    }

    /// The latest CRD check: every CRD listed, 0 for those not found outdated.
    pub fn set_crd_missing_fields(&self, found: &[super::crd_check::Outdated]) {
        for crd in [crate::api::crd(), crate::api::policy_crd(), crate::api::gateway_crd()] {
            let name = crd.metadata.name.unwrap_or_default();
            let n = found.iter().find(|o| o.crd == name).map_or(0, |o| o.missing.len());
            self.crd_missing.get_or_create(&CrdLabels { crd: name }).set(n as i64);
        }
    }

    pub fn resync_ran(&self) {
        self.resyncs.inc();
    }

    pub fn set_resyncs_waiting(&self, n: usize) {
        self.resyncs_waiting.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    pub fn set_effective_resync(&self, interval: Duration) {
        self.effective_resync.set(interval.as_secs_f64());
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_follow_each_bridge_state() {
        let calls = CallCounter::default();
        let m = Metrics::new(&calls);
        m.set_state("a", Some("Reconciling"));
        m.set_state("a", Some("Ready"));
        m.set_state("b", Some("Stalled"));
        m.set_state("b", None);
        calls.record("apigateway", "GetApis", "ok");
        m.reconciled("success", Duration::from_millis(30));
        let text = m.encode();
        assert!(text.contains("webhook_bridge_bridges{condition=\"Ready\"} 1"), "{text}");
        assert!(text.contains("webhook_bridge_bridges{condition=\"Reconciling\"} 0"), "{text}");
        assert!(text.contains("webhook_bridge_bridges{condition=\"Stalled\"} 0"), "{text}");
        assert!(text.contains("webhook_bridge_reconciles_total{result=\"success\"} 1"), "{text}");
        assert!(
            text.contains(
                "webhook_bridge_aws_calls_total{service=\"apigateway\",operation=\"GetApis\",outcome=\"ok\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("webhook_bridge_reconcile_duration_seconds_count 1"), "{text}");
    }
}
