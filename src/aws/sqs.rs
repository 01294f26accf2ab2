//! SQS: the resource policy of a queue our rules deliver to (a target or a dead-letter queue).
//! Read only; see `crate::target_policy` for why we never write it.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::QueueAttributeName;

use crate::aws::{has_code, message_of};
use crate::desired::arn_part;
use crate::error::{Error, classify};
use crate::target_policy::Finding;

const SVC: &str = "sqs";
const NO_QUEUE: &[&str] = &["AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"];
const DENIED: &[&str] = &["AccessDenied", "AccessDeniedException"];

/// The policy of the queue `arn` (None: it has none), or why it could not be had.
pub async fn policy(client: &Client, arn: &str) -> Result<Result<Option<String>, Finding>, Error> {
    let (Some(account), Some(name)) = (arn_part(arn, 4), arn_part(arn, 5)) else {
        return Ok(Err(Finding::NotFound));
    };
    let url = match client.get_queue_url().queue_name(name).queue_owner_aws_account_id(account).send().await {
        Ok(out) => out.queue_url().unwrap_or_default().to_string(),
        Err(e) if has_code(&e, NO_QUEUE) => return Ok(Err(Finding::NotFound)),
        Err(e) if has_code(&e, DENIED) => return Ok(Err(Finding::Unreadable(message_of(&e)))),
        Err(e) => return Err(classify(SVC, "GetQueueUrl", e)),
    };
    match client.get_queue_attributes().queue_url(url).attribute_names(QueueAttributeName::Policy).send().await {
        Ok(out) => Ok(Ok(out.attributes().and_then(|a| a.get(&QueueAttributeName::Policy)).cloned())),
        Err(e) if has_code(&e, NO_QUEUE) => Ok(Err(Finding::NotFound)),
        Err(e) if has_code(&e, DENIED) => Ok(Err(Finding::Unreadable(message_of(&e)))),
        Err(e) => Err(classify(SVC, "GetQueueAttributes", e)),
    }
}
