//! Lambda: invoke permissions for `events.amazonaws.com`, one statement per (rule, function),
//! found by this bridge's statement-id prefix. The function itself is never touched.

use aws_sdk_lambda::Client;
use serde_json::Value;

use crate::aws::{gone_ok, has_code};
use crate::desired::DesiredPermission;
use crate::error::{Error, FieldError, classify};
use crate::observed::{ObsPermission, Observed};

const SVC: &str = "lambda";
const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];

/// Read our statements from the resource policy of each function.
pub async fn observe(client: &Client, functions: &[String], prefix: &str, into: &mut Observed) -> Result<(), Error> {
    for function in functions {
        let policy = match client.get_policy().function_name(function).send().await {
            Ok(out) => out.policy.unwrap_or_default(),
            // No policy yet, or no function: either way, no statement of ours.
            Err(e) if has_code(&e, NOT_FOUND) => continue,
            Err(e) => return Err(classify(SVC, "GetPolicy", e)),
        };
        let Ok(doc) = serde_json::from_str::<Value>(&policy) else { continue };
        let statements = doc.get("Statement").and_then(Value::as_array).cloned().unwrap_or_default();
        for s in statements {
            let Some(sid) = s.get("Sid").and_then(Value::as_str) else { continue };
            if !sid.starts_with(prefix) {
                continue;
            }
            let source_arn = s.pointer("/Condition/ArnLike/AWS:SourceArn").and_then(Value::as_str).map(str::to_string);
            into.permissions.push(ObsPermission {
                function_arn: function.clone(),
                statement_id: sid.to_string(),
                source_arn,
            });
        }
    }
    into.permissions.sort();
    into.permissions.dedup();
    Ok(())
}

fn add_request(
    client: &Client,
    p: &DesiredPermission,
) -> aws_sdk_lambda::operation::add_permission::builders::AddPermissionFluentBuilder {
    client
        .add_permission()
        .function_name(&p.function_arn)
        .statement_id(&p.statement_id)
        .action("lambda:InvokeFunction")
        .principal("events.amazonaws.com")
        .source_arn(&p.source_arn)
}

pub async fn add_permission(client: &Client, p: &DesiredPermission) -> Result<(), Error> {
    let missing = || {
        Error::DependencyMissing(FieldError::new(
            "spec.rules.targets.arn",
            format!("Lambda function {} does not exist", p.function_arn),
        ))
    };
    match add_request(client, p).send().await {
        Ok(_) => Ok(()),
        Err(e) if has_code(&e, NOT_FOUND) => Err(missing()),
        // A function's resource policy holds at most 20 KB, about 60 statements like ours
        // (Lambda quotas: "Function resource-based policy: 20 KB").
        Err(e) if has_code(&e, &["PolicyLengthExceededException"]) => Err(Error::QuotaExceeded {
            service: SVC,
            operation: "AddPermission",
            message: format!(
                "the resource-based policy of Lambda function {} is full (20 KB, about 60 rule statements): target it from fewer bridges or rules, e.g. route them through one shared rule or an SQS queue, or remove statements it no longer needs",
                p.function_arn
            ),
        }),
        // A statement with this id exists with another source ARN: replace it, once.
        Err(e) if has_code(&e, &["ResourceConflictException"]) => {
            remove_permission(client, &p.function_arn, &p.statement_id).await?;
            add_request(client, p).send().await.map(|_| ()).map_err(|e| classify(SVC, "AddPermission", e))
        }
        Err(e) => Err(classify(SVC, "AddPermission", e)),
    }
}

pub async fn remove_permission(client: &Client, function: &str, statement_id: &str) -> Result<(), Error> {
    gone_ok(
        SVC,
        "RemovePermission",
        NOT_FOUND,
        client.remove_permission().function_name(function).statement_id(statement_id).send().await,
    )
}
