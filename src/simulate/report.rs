//! One simulated request through a bridge, end to end: the route it hits, the PutEvents entry,
//! the event EventBridge makes of it, each rule's verdict, each matched target's payload.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use super::pattern::{self, Outcome};
use super::request::{self, Context, PutEventsEntry, Request};
use super::target_input;
use crate::api::WebhookBridge;
use crate::owner;

/// Placeholders for what only AWS knows (shown as such in the output).
pub const EVENT_ID: &str = "00000000-0000-0000-0000-000000000000";
pub const ACCOUNT: &str = "123456789012";

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub request: String,
    /// The route hit (None: API Gateway answers 404).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// The PutEvents entry, or why the integration fails before PutEvents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<PutEventsEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The event as rules see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Value>,
    /// The event was given as is (`--event`, a fixture's `event:`), as TestEventPattern takes
    /// one: no request, route or PutEvents entry.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub given_event: bool,
    pub rules: Vec<RuleVerdict>,
    /// A webhook-source bridge: the source the request reached (None with no route either:
    /// no such URL, 404). Its event (`event`) is the Custom Event Bus event, Data/Metadata/
    /// SystemMetadata (`crate::webhook::event`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Why the webhook source refused the request, and its answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<super::webhook::Refused>,
    /// The request went to a webhook-source bridge (its URLs are the sources', not routes).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub webhook: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleVerdict {
    pub name: String,
    pub matched: bool,
    /// The first event field that failed, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub targets: Vec<TargetDelivery>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetDelivery {
    pub id: String,
    pub arn: String,
    /// What the target receives (text, usually JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RuleVerdict {
    /// Why the rule did not match: `field: reason`.
    pub fn why_not(&self) -> String {
        format!("{}: {}", self.failed_field.as_deref().unwrap_or("?"), self.reason.as_deref().unwrap_or(""))
    }
}

impl Report {
    /// The names of the rules that matched.
    pub fn matched_rules(&self) -> Vec<&str> {
        self.rules.iter().filter(|r| r.matched).map(|r| r.name.as_str()).collect()
    }

    /// The HTTP status API Gateway would answer: 404 (no route), 500 (the integration failed
    /// before PutEvents), else 200.
    pub fn status(&self) -> u16 {
        if self.given_event {
            return 200;
        }
        if let Some(r) = &self.refused {
            return r.status;
        }
        if self.source.is_some() {
            return 200;
        }
        match (&self.route, &self.error) {
            (None, _) => 404,
            (Some(_), Some(_)) => 500,
            _ => 200,
        }
    }
}

/// The bridge's owner as the CLI sees it (cluster `default`): for default bus and rule names.
fn owner_of(bridge: &WebhookBridge) -> owner::Owner {
    let ns = bridge.metadata.namespace.clone().unwrap_or_else(|| "default".into());
    owner::Owner::local("default", &ns, bridge.metadata.name.as_deref().unwrap_or_default())
}

/// The bus ARN the entry carries (the integration's `EventBusName` mapping), and the bus name.
fn bus_of(bridge: &WebhookBridge, region: &str) -> (String, String) {
    match (&bridge.spec.event_bus.existing_arn, &bridge.spec.event_bus.name) {
        (Some(arn), _) => (arn.clone(), arn.rsplit('/').next().unwrap_or("default").to_string()),
        (None, name) => {
            let name = name.clone().unwrap_or_else(|| owner_of(bridge).default_name(256));
            (format!("arn:aws:events:{region}:{ACCOUNT}:event-bus/{name}"), name)
        }
    }
}

/// Run `req` through `bridge`.
pub fn simulate(bridge: &WebhookBridge, req: &Request) -> Report {
    let region = bridge.spec.region.clone().unwrap_or_else(|| "us-east-1".into());
    let stage = bridge.spec.api.stage.clone().unwrap_or_else(|| "$default".into());
    let ctx = Context::placeholder(&stage, ACCOUNT, &region);
    let mut report = Report {
        request: format!("{} {}", req.method, req.path),
        route: None,
        entry: None,
        error: None,
        event: None,
        given_event: false,
        rules: Vec::new(),
        source: None,
        refused: None,
        webhook: false,
    };
    let Some((route, params)) = request::route_for(&bridge.spec.routes, &req.method, &req.path) else {
        return report;
    };
    report.route = Some(route.name.clone());
    let (bus_arn, bus_name) = bus_of(bridge, &region);
    let entry = match request::entry(route, &bus_arn, req, &params, &ctx) {
        Ok(entry) => entry,
        Err(e) => {
            report.error = Some(format!("{}: {}", e.field, e.message));
            return report;
        }
    };
    let event = request::event(&entry, ACCOUNT, &region, EVENT_ID, &placeholder_time(&ctx));
    report.rules = verdicts(bridge, &event, &region, &bus_name);
    report.entry = Some(entry);
    report.event = Some(event);
    report
}

/// The fields TestEventPattern requires of an event (API reference, TestEventPattern `Event`;
/// AWS answers ValidationException "Parameter Event is not valid." without them, recorded by
/// LocalStack's test_invalid_event_payload). `resources` is listed too, but AWS's recorded
/// answers accept events without it.
pub const EVENT_FIELDS: [&str; 6] = ["id", "account", "source", "time", "region", "detail-type"];

/// Run a full event through the bridge's rules and targets, as AWS's TestEventPattern matches one:
/// any top-level field, AWS service events, what the request mapping cannot produce.
pub fn simulate_event(bridge: &WebhookBridge, event: &Value) -> Report {
    let region = bridge.spec.region.clone().unwrap_or_else(|| "us-east-1".into());
    let (_, bus_name) = bus_of(bridge, &region);
    Report {
        request: "event".into(),
        route: None,
        entry: None,
        error: None,
        rules: verdicts(bridge, event, &region, &bus_name),
        event: Some(event.clone()),
        given_event: true,
        source: None,
        refused: None,
        webhook: false,
    }
}

/// [`verdicts`] for a webhook-source bridge: `event` is what its subscribers' filters see.
pub(crate) fn verdicts_on(bridge: &WebhookBridge, event: &Value, region: &str, bus_name: &str) -> Vec<RuleVerdict> {
    verdicts(bridge, event, region, bus_name)
}

/// Each rule's verdict on `event`, and what each matched target receives.
fn verdicts(bridge: &WebhookBridge, event: &Value, region: &str, bus_name: &str) -> Vec<RuleVerdict> {
    let mut rules = Vec::new();
    let prepared = pattern::Event::new(event);
    for rule in &bridge.spec.rules {
        let verdict = match pattern::parse(&Value::Object(rule.pattern.clone())) {
            Err(e) => Outcome::Failed { field: e.path, reason: format!("invalid pattern: {}", e.message) },
            Ok(p) => p.matches_event(&prepared),
        };
        let matched = verdict == Outcome::Matched;
        // As deployed: prefixed names; `rule/<bus>/<name>`, or `rule/<name>` on the default bus.
        let rule_name = owner_of(bridge).rule_name(&rule.name);
        let rule_arn = match bus_name {
            "default" => format!("arn:aws:events:{region}:{ACCOUNT}:rule/{rule_name}"),
            bus => format!("arn:aws:events:{region}:{ACCOUNT}:rule/{bus}/{rule_name}"),
        };
        let targets = if matched {
            rule.targets
                .iter()
                .map(|t| {
                    let (payload, error) = match target_input::payload_for_rule(t, event, &rule_name, &rule_arn) {
                        Ok(p) => (Some(p), None),
                        Err(e) => (None, Some(format!("{}: {}", e.field, e.message))),
                    };
                    TargetDelivery {
                        id: t.id.clone().unwrap_or_else(|| owner::target_id(&t.arn)),
                        arn: t.arn.clone(),
                        payload,
                        error,
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let (failed_field, reason) = match verdict {
            Outcome::Matched => (None, None),
            Outcome::Failed { field, reason } => (Some(field), Some(reason)),
        };
        rules.push(RuleVerdict { name: rule.name.clone(), matched, failed_field, reason, targets });
    }
    rules
}

fn placeholder_time(ctx: &Context) -> String {
    jiff::Timestamp::from_millisecond(ctx.request_time_epoch_ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// The report for people.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    if report.given_event {
        if let Some(event) = &report.event {
            let text = serde_json::to_string_pretty(event).unwrap_or_default();
            let _ = writeln!(out, "event (as given)\n{}", indent(&text));
        }
        render_rules(report, &mut out);
        return out;
    }
    let _ = writeln!(out, "request  {}", report.request);
    if report.webhook {
        render_webhook(report, &mut out);
        return out;
    }
    let Some(route) = &report.route else {
        let _ = writeln!(out, "route    none: API Gateway answers 404");
        return out;
    };
    let _ = writeln!(out, "route    {route}");
    if let Some(error) = &report.error {
        let _ = writeln!(out, "error    {error}\n         (API Gateway answers 500; nothing reaches EventBridge)");
        return out;
    }
    if let Some(entry) = &report.entry {
        let text = serde_json::to_string_pretty(entry).unwrap_or_default();
        let _ = writeln!(out, "PutEvents entry\n{}", indent(&text));
    }
    if let Some(event) = &report.event {
        let text = serde_json::to_string_pretty(event).unwrap_or_default();
        let _ = writeln!(out, "event (as rules see it; id, account and time are placeholders)\n{}", indent(&text));
    }
    render_rules(report, &mut out);
    out
}

fn render_webhook(report: &Report, out: &mut String) {
    let Some(source) = &report.source else {
        let _ = writeln!(out, "source   none: no webhook source at this URL (404)");
        return;
    };
    let _ = writeln!(out, "source   {source}");
    if let Some(r) = &report.refused {
        let _ = writeln!(out, "refused  {}: {}\n         (nothing is put on the bus)", r.status, r.reason);
        return;
    }
    let _ = writeln!(out, "verified 200: accepted");
    if let Some(event) = &report.event {
        let text = serde_json::to_string_pretty(event).unwrap_or_default();
        let _ = writeln!(
            out,
            "event on the Custom Event Bus (rules see Data; id, time and ARNs are placeholders)\n{}",
            indent(&text)
        );
    }
    render_rules(report, out);
}

fn render_rules(report: &Report, out: &mut String) {
    for rule in &report.rules {
        if rule.matched {
            let _ = writeln!(out, "rule     {}: MATCHED", rule.name);
            for t in &rule.targets {
                match (&t.payload, &t.error) {
                    (Some(p), _) => {
                        let _ = writeln!(out, "  target {} ({}) receives\n{}", t.id, t.arn, indent(&pretty(p)));
                    }
                    (None, Some(e)) => {
                        let _ = writeln!(out, "  target {} ({}): {e}", t.id, t.arn);
                    }
                    (None, None) => {}
                }
            }
        } else {
            let _ = writeln!(out, "rule     {}: no match: {}", rule.name, rule.why_not());
        }
    }
}

fn pretty(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_string())
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}
