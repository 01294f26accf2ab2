//! IAM: the managed role (by its deterministic name), its trust policy and inline policy.

use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;
use serde_json::Value;

use crate::aws::{gone_ok, has_code};
use crate::desired::{Desired, DesiredRole};
use crate::error::{Error, classify};
use crate::observed::{ObsRole, Observed};
use crate::owner::ROLE_POLICY_NAME;

const SVC: &str = "iam";
const NOT_FOUND: &[&str] = &["NoSuchEntity", "NoSuchEntityException"];

/// IAM returns policy documents URL-encoded (RFC 3986); some emulators return them plain.
pub fn parse_policy(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok().or_else(|| serde_json::from_str(&percent_decode(text)).ok())
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn tags(d: &Desired) -> Vec<Tag> {
    d.tags.iter().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect()
}

/// Read the role with the managed-role name (whatever the spec says now, so a role we made
/// before a switch to `existingArn` is still found and removed).
pub async fn observe(client: &Client, d: &Desired, into: &mut Observed) -> Result<(), Error> {
    let name = d.owner.role_name();
    let role = match client.get_role().role_name(&name).send().await {
        Ok(out) => match out.role {
            Some(role) => role,
            None => return Ok(()),
        },
        Err(e) if has_code(&e, NOT_FOUND) => return Ok(()),
        Err(e) => return Err(classify(SVC, "GetRole", e)),
    };
    let policy = match client.get_role_policy().role_name(&name).policy_name(ROLE_POLICY_NAME).send().await {
        Ok(out) => parse_policy(out.policy_document()),
        Err(e) if has_code(&e, NOT_FOUND) => None,
        Err(e) => return Err(classify(SVC, "GetRolePolicy", e)),
    };
    into.role = Some(ObsRole {
        name: role.role_name().to_string(),
        arn: role.arn().to_string(),
        trust_policy: role.assume_role_policy_document().and_then(parse_policy),
        policy,
        permissions_boundary: role
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_string),
        tags: role.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect(),
    });
    Ok(())
}

/// The managed role of a bridge an earlier pass found, in the resync window that reads the API
/// object instead (see `Known::read_api`), so an in-sync resync stays at 10 reads: only its
/// inline policy (GetRolePolicy, which also shows the role still exists); its trust policy,
/// boundary and tags as the spec wants them, checked in the other windows. Ok(false) when the
/// role or its policy is gone: the caller falls back to the full search. Any difference found
/// also sends the pass to the full search, so no write is planned without GetRole's tags.
pub async fn observe_policy_only(client: &Client, d: &Desired, into: &mut Observed) -> Result<bool, Error> {
    let DesiredRole::Managed { name, arn, trust_policy, permissions_boundary, .. } = &d.role else {
        // Nothing of ours to read (a role we made before a switch to `existingArn` goes by the
        // full read).
        observe(client, d, into).await?;
        return Ok(true);
    };
    let policy = match client.get_role_policy().role_name(name).policy_name(ROLE_POLICY_NAME).send().await {
        Ok(out) => parse_policy(out.policy_document()),
        Err(e) if has_code(&e, NOT_FOUND) => return Ok(false),
        Err(e) => return Err(classify(SVC, "GetRolePolicy", e)),
    };
    into.role = Some(ObsRole {
        name: name.clone(),
        arn: arn.clone(),
        trust_policy: Some(trust_policy.clone()),
        policy,
        permissions_boundary: permissions_boundary.clone(),
        tags: d.tags.clone(),
    });
    Ok(true)
}

fn managed(d: &Desired) -> Result<(&str, &Value, &Value, Option<&String>), Error> {
    match &d.role {
        DesiredRole::Managed { name, trust_policy, policy, permissions_boundary, .. } => {
            Ok((name, trust_policy, policy, permissions_boundary.as_ref()))
        }
        DesiredRole::Existing { .. } => Err(Error::Config("the spec names an existing role; nothing to write".into())),
    }
}

pub async fn create_role(client: &Client, d: &Desired) -> Result<(), Error> {
    let (name, trust, _, boundary) = managed(d)?;
    client
        .create_role()
        .role_name(name)
        .path(d.owner.role_path())
        .description(format!("API Gateway -> EventBridge PutEvents for webhook-bridge {}", d.owner.key()))
        .assume_role_policy_document(trust.to_string())
        .set_permissions_boundary(boundary.cloned())
        .set_tags(Some(tags(d)))
        .send()
        .await
        .map_err(|e| classify(SVC, "CreateRole", e))?;
    Ok(())
}

pub async fn update_trust_policy(client: &Client, d: &Desired) -> Result<(), Error> {
    let (name, trust, _, _) = managed(d)?;
    client
        .update_assume_role_policy()
        .role_name(name)
        .policy_document(trust.to_string())
        .send()
        .await
        .map_err(|e| classify(SVC, "UpdateAssumeRolePolicy", e))?;
    Ok(())
}

pub async fn put_role_policy(client: &Client, d: &Desired) -> Result<(), Error> {
    let (name, _, policy, _) = managed(d)?;
    client
        .put_role_policy()
        .role_name(name)
        .policy_name(ROLE_POLICY_NAME)
        .policy_document(policy.to_string())
        .send()
        .await
        .map_err(|e| classify(SVC, "PutRolePolicy", e))?;
    Ok(())
}

pub async fn put_permissions_boundary(client: &Client, name: &str, arn: &str) -> Result<(), Error> {
    client
        .put_role_permissions_boundary()
        .role_name(name)
        .permissions_boundary(arn)
        .send()
        .await
        .map_err(|e| classify(SVC, "PutRolePermissionsBoundary", e))?;
    Ok(())
}

pub async fn tag_role(client: &Client, d: &Desired, name: &str) -> Result<(), Error> {
    let added = d.spec_tags().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect();
    client.tag_role().role_name(name).set_tags(Some(added)).send().await.map_err(|e| classify(SVC, "TagRole", e))?;
    Ok(())
}

pub async fn delete_role_policy(client: &Client, name: &str) -> Result<(), Error> {
    gone_ok(
        SVC,
        "DeleteRolePolicy",
        NOT_FOUND,
        client.delete_role_policy().role_name(name).policy_name(ROLE_POLICY_NAME).send().await,
    )
}

pub async fn delete_role(client: &Client, name: &str) -> Result<(), Error> {
    gone_ok(SVC, "DeleteRole", NOT_FOUND, client.delete_role().role_name(name).send().await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_plain_or_url_encoded() {
        let plain = r#"{"Version":"2012-10-17","Statement":[]}"#;
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(parse_policy(plain), parse_policy(encoded));
        assert!(parse_policy(plain).is_some());
        assert_eq!(parse_policy("%zz"), None);
    }
}
