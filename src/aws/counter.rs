//! Counts every AWS call by service, operation and outcome, through an SDK interceptor, so tests,
//! the CLI and metrics see exactly how many reads and writes a reconcile made.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

/// (service, operation, outcome) → calls.
pub type CallCounts = BTreeMap<(String, String, String), u64>;

/// Prometheus labels of an AWS call.
pub type CallLabels = Vec<(String, String)>;

#[derive(Clone, Debug, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<CallCounts>>,
    /// The same counts as a Prometheus family (`webhook_bridge_aws_calls_total`).
    family: Family<CallLabels, Counter>,
}

/// The `service` label of an SDK service name: lowercase (`apigatewayv2`, `eventbridge`, ...),
/// and CloudWatch Logs as `logs` (its signing and IAM name; the SDK calls it "CloudWatch Logs").
pub fn service_label(sdk_service: &str) -> String {
    match sdk_service {
        "CloudWatch Logs" => "logs".to_string(),
        other => other.to_lowercase(),
    }
}

/// A read-only call: Get*, List*, Describe*.
pub fn is_read(operation: &str) -> bool {
    ["Get", "List", "Describe"].iter().any(|p| operation.starts_with(p))
}

impl CallCounter {
    pub fn record(&self, service: &str, operation: &str, outcome: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts.entry((service.to_string(), operation.to_string(), outcome.to_string())).or_default() += 1;
        let labels = vec![
            ("service".to_string(), service.to_string()),
            ("operation".to_string(), operation.to_string()),
            ("outcome".to_string(), outcome.to_string()),
        ];
        self.family.get_or_create(&labels).inc();
    }

    /// The Prometheus family to register.
    pub fn family(&self) -> Family<CallLabels, Counter> {
        self.family.clone()
    }

    pub fn snapshot(&self) -> CallCounts {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn reset(&self) {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Calls that change AWS (successful or not).
    pub fn writes(&self) -> u64 {
        self.snapshot().iter().filter(|((_, op, _), _)| !is_read(op)).map(|(_, n)| n).sum()
    }

    pub fn reads(&self) -> u64 {
        self.snapshot().iter().filter(|((_, op, _), _)| is_read(op)).map(|(_, n)| n).sum()
    }

    /// Write calls per operation, e.g. `{"CreateApi": 1}`.
    pub fn writes_by_operation(&self) -> BTreeMap<String, u64> {
        self.by_operation(false)
    }

    /// Read calls per operation, e.g. `{"GetRoutes": 1}`.
    pub fn reads_by_operation(&self) -> BTreeMap<String, u64> {
        self.by_operation(true)
    }

    fn by_operation(&self, reads: bool) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for ((_, op, _), n) in self.snapshot() {
            if is_read(&op) == reads {
                *out.entry(op).or_default() += n;
            }
        }
        out
    }

    /// A table: service, operation, outcome, calls.
    pub fn table(&self) -> String {
        let mut out = format!("{:<12} {:<28} {:<8} {:>5}\n", "service", "operation", "outcome", "calls");
        for ((service, op, outcome), n) in self.snapshot() {
            out.push_str(&format!("{service:<12} {op:<28} {outcome:<8} {n:>5}\n"));
        }
        out
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "webhook-bridge-call-counter"
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            let outcome = match context.output_or_error() {
                Some(Ok(_)) => "ok",
                _ => "error",
            };
            self.record(&service_label(meta.service()), meta.name(), outcome);
        }
        Ok(())
    }
}
