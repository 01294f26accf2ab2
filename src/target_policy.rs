//! Does an SQS queue's or SNS topic's resource policy let EventBridge deliver from our rule?
//! Without it deliveries fail silently (EventBridge User Guide, "Using resource-based policies
//! for Amazon EventBridge": SQS and SNS targets are authorized by their resource policy, with
//! `aws:SourceArn` set to the rule's ARN). Pure: the policies are read by `aws::resource_policy`.
//!
//! We read, and never write, these policies: the queue or topic is the user's (it carries no
//! ownership tags of ours), and SetQueueAttributes / SetTopicAttributes replace the whole policy,
//! so managing one statement would race whatever tool owns the rest. Instead a missing statement
//! is reported, with the exact statement to add (see `crate::status`).

use serde_json::{Value, json};

use crate::desired::{Desired, arn_part};

/// One SQS or SNS resource a rule delivers to (a target or a dead-letter queue).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The spec field naming it, e.g. `spec.rules[0].targets[1].arn`.
    pub field: String,
    /// Queue or topic ARN.
    pub arn: String,
    pub rule_arn: String,
}

impl Delivery {
    pub fn service(&self) -> &str {
        arn_part(&self.arn, 2).unwrap_or_default()
    }

    fn action(&self) -> &'static str {
        if self.service() == "sns" { "sns:Publish" } else { "sqs:SendMessage" }
    }

    /// The statement that lets EventBridge deliver from the rule, and nothing more.
    pub fn statement(&self) -> Value {
        json!({
            "Sid": format!("AllowEventBridge-{}", self.rule_arn.rsplit('/').next().unwrap_or_default()),
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": self.action(),
            "Resource": self.arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": self.rule_arn}}
        })
    }
}

/// Every SQS / SNS target and dead-letter queue of the desired rules.
pub fn deliveries(d: &Desired) -> Vec<Delivery> {
    let mut out = Vec::new();
    for (i, rule) in d.rules.iter().enumerate() {
        for (j, t) in rule.targets.iter().enumerate() {
            let at = format!("spec.rules[{i}].targets[{j}]");
            if matches!(arn_part(&t.arn, 2), Some("sqs" | "sns")) {
                out.push(Delivery { field: format!("{at}.arn"), arn: t.arn.clone(), rule_arn: rule.arn.clone() });
            }
            if let Some(dlq) = &t.dead_letter_arn {
                out.push(Delivery {
                    field: format!("{at}.deadLetterArn"),
                    arn: dlq.clone(),
                    rule_arn: rule.arn.clone(),
                });
            }
        }
    }
    out
}

/// What we found for one delivery.
#[derive(Clone, Debug, PartialEq)]
pub enum Finding {
    Allowed,
    /// The policy (or its absence) does not allow the delivery: add `Delivery::statement`.
    Missing,
    /// The queue or topic does not exist (yet).
    NotFound,
    /// Its policy could not be read (e.g. access denied on another account's queue).
    Unreadable(String),
}

/// Whether `policy` allows EventBridge to deliver to `delivery`. Deliberately conservative about
/// what counts: an Allow for the `events.amazonaws.com` service (or `*`), an action covering
/// SendMessage / Publish, a resource covering the ARN, and conditions only on `aws:SourceArn`
/// (equal to or matching the rule) or `aws:SourceAccount` (equal to `account`).
pub fn allows(policy: &Value, delivery: &Delivery, account: &str) -> bool {
    let statements = match &policy["Statement"] {
        Value::Array(items) => items.clone(),
        single @ Value::Object(_) => vec![single.clone()],
        _ => return false,
    };
    statements.iter().any(|s| {
        s["Effect"] == "Allow"
            && principal_ok(&s["Principal"])
            && any_matches(&s["Action"], delivery.action(), true)
            && (s.get("Resource").is_none() || any_matches(&s["Resource"], &delivery.arn, false))
            && conditions_ok(&s["Condition"], delivery, account)
    })
}

fn principal_ok(p: &Value) -> bool {
    match p {
        Value::String(s) => s == "*",
        Value::Object(map) => map.iter().any(|(kind, v)| {
            (kind == "Service" && any_matches(v, "events.amazonaws.com", false)) || (kind == "AWS" && v == "*")
        }),
        _ => false,
    }
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether any of the (IAM wildcard) patterns in `v` matches `text`.
fn any_matches(v: &Value, text: &str, case_insensitive: bool) -> bool {
    strings(v)
        .iter()
        .any(|p| if case_insensitive { wildcard(&p.to_lowercase(), &text.to_lowercase()) } else { wildcard(p, text) })
}

/// IAM wildcards: `*` any run, `?` one character.
fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn conditions_ok(condition: &Value, delivery: &Delivery, account: &str) -> bool {
    let Some(operators) = condition.as_object() else { return condition.is_null() };
    operators.iter().all(|(operator, keys)| {
        let Some(keys) = keys.as_object() else { return false };
        keys.iter().all(|(key, values)| match (key.to_lowercase().as_str(), operator.as_str()) {
            ("aws:sourcearn", "ArnEquals" | "StringEquals") => strings(values).contains(&delivery.rule_arn.as_str()),
            ("aws:sourcearn", "ArnLike" | "StringLike") => any_matches(values, &delivery.rule_arn, false),
            ("aws:sourceaccount", "StringEquals") => strings(values).contains(&account),
            _ => false, // a condition we cannot evaluate here: do not count the statement
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery() -> Delivery {
        Delivery {
            field: "spec.rules[0].targets[0].arn".into(),
            arn: "arn:aws:sqs:us-east-1:123456789012:audit".into(),
            rule_arn: "arn:aws:events:us-east-1:123456789012:rule/payments/whb-1-audit".into(),
        }
    }

    #[test]
    fn the_suggested_statement_is_accepted_and_nothing_else_is() {
        let d = delivery();
        let policy = json!({"Version": "2012-10-17", "Statement": [d.statement()]});
        assert!(allows(&policy, &d, "123456789012"));
        assert!(!allows(&json!({}), &d, "123456789012"), "no policy");
        let other_rule = Delivery { rule_arn: "arn:aws:events:us-east-1:123456789012:rule/other".into(), ..d.clone() };
        assert!(!allows(&policy, &other_rule, "123456789012"), "scoped to another rule");
        let sns = Delivery { arn: "arn:aws:sns:us-east-1:123456789012:t".into(), ..d.clone() };
        assert!(!allows(&policy, &sns, "123456789012"), "SendMessage is not Publish");
    }

    #[test]
    fn wildcards_and_account_conditions_count_unknown_conditions_do_not() {
        let d = delivery();
        let broad = json!({"Statement": {"Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com"]},
            "Action": "sqs:*", "Resource": "arn:aws:sqs:us-east-1:123456789012:*",
            "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/payments/*"}}}});
        assert!(allows(&broad, &d, "123456789012"));
        let by_account = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "SQS:SendMessage",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]});
        assert!(allows(&by_account, &d, "123456789012"));
        assert!(!allows(&by_account, &d, "999999999999"));
        let unknown = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage",
            "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]});
        assert!(!allows(&unknown, &d, "123456789012"));
        let denied = json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*"}]});
        assert!(!allows(&denied, &d, "123456789012"));
    }

    #[test]
    fn iam_wildcards() {
        assert!(wildcard("arn:*:sqs:*", "arn:aws:sqs:us-east-1:1:q"));
        assert!(wildcard("q?", "q1") && !wildcard("q?", "q12"));
        assert!(!wildcard("a*b", "acd"));
    }
}
