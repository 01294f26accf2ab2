//! SNS: the resource policy of a topic our rules deliver to. Read only; see
//! `crate::target_policy` for why we never write it.

use aws_sdk_sns::Client;

use crate::aws::{has_code, message_of};
use crate::error::{Error, classify};
use crate::target_policy::Finding;

const SVC: &str = "sns";

/// The policy of the topic `arn` (None: it has none), or why it could not be had.
pub async fn policy(client: &Client, arn: &str) -> Result<Result<Option<String>, Finding>, Error> {
    match client.get_topic_attributes().topic_arn(arn).send().await {
        Ok(out) => Ok(Ok(out.attributes().and_then(|a| a.get("Policy")).cloned())),
        Err(e) if has_code(&e, &["NotFound", "NotFoundException"]) => Ok(Err(Finding::NotFound)),
        Err(e) if has_code(&e, &["AuthorizationError", "AccessDenied"]) => Ok(Err(Finding::Unreadable(message_of(&e)))),
        Err(e) => Err(classify(SVC, "GetTopicAttributes", e)),
    }
}
