//! Who owns an AWS object, and the deterministic names that let a re-run find what an interrupted
//! run already created.

use std::collections::BTreeMap;

/// Prefix of every tag key the bridge owns (spec tags may not use it).
pub const TAG_PREFIX: &str = "webhookbridge.io/";
/// Tag keys written on every AWS object the bridge creates.
pub const TAG_MANAGED_BY: &str = "webhookbridge.io/managed-by";
pub const TAG_CLUSTER: &str = "webhookbridge.io/cluster";
pub const TAG_OWNER: &str = "webhookbridge.io/owner";
pub const TAG_UID: &str = "webhookbridge.io/uid";
/// Session tag naming the namespace a tenant role is assumed for (not an object tag).
pub const TAG_NAMESPACE: &str = "webhookbridge.io/namespace";
pub const MANAGED_BY: &str = "webhook-bridge";

/// IAM path prefix of every role the bridge creates, followed by the cluster name: the
/// operator's `iam:PassRole` and role writes are scoped to `/webhook-bridge/<cluster>/`.
pub const ROLE_PATH: &str = "/webhook-bridge/";
/// Name of the inline policy on the managed role.
pub const ROLE_POLICY_NAME: &str = "webhook-bridge-put-events";

/// The Kubernetes object (or CLI file) an AWS object belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

/// Is an AWS object ours, someone else's, or ours in name only?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// All ownership tags match: we may modify and delete it.
    Ours,
    /// Tagged by this bridge name in this cluster but another uid: a previous incarnation of the
    /// object (e.g. retained on delete). Never touched; reported as a conflict.
    PreviousIncarnation,
    /// Not ours: never modified or deleted.
    Foreign,
}

impl Owner {
    /// An owner for an object read from a file with no `metadata.uid` (the CLI): a stable uid
    /// derived from cluster, namespace and name, so repeated CLI runs find their own objects.
    pub fn local(cluster: &str, namespace: &str, name: &str) -> Owner {
        Owner {
            cluster: cluster.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            uid: format!("local-{}", short_hash(&[cluster, namespace, name], 16)),
        }
    }

    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The `webhookbridge.io/owner` tag value: `namespace/name`, bounded to AWS's 256 characters
    /// (a namespace of 63 and a name of 253 would make 317) by a hash suffix; still unique.
    pub fn owner_tag(&self) -> String {
        bounded(&self.key(), 256)
    }

    /// The ownership tags (without user tags).
    pub fn tags(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (TAG_MANAGED_BY.to_string(), MANAGED_BY.to_string()),
            (TAG_CLUSTER.to_string(), self.cluster.clone()),
            (TAG_OWNER.to_string(), self.owner_tag()),
            (TAG_UID.to_string(), self.uid.clone()),
        ])
    }

    /// Classify an AWS object by its tags.
    pub fn ownership(&self, tags: &BTreeMap<String, String>) -> Ownership {
        let get = |k: &str| tags.get(k).map(String::as_str);
        if get(TAG_MANAGED_BY) != Some(MANAGED_BY)
            || get(TAG_CLUSTER) != Some(self.cluster.as_str())
            || get(TAG_OWNER) != Some(self.owner_tag().as_str())
        {
            return Ownership::Foreign;
        }
        if get(TAG_UID) == Some(self.uid.as_str()) { Ownership::Ours } else { Ownership::PreviousIncarnation }
    }

    /// Prefix of every EventBridge rule name of this bridge (unique per bridge, so a shared bus
    /// can carry rules of many bridges).
    pub fn rule_prefix(&self) -> String {
        format!("whb-{}-", short_hash(&[&self.cluster, &self.namespace, &self.name], 8))
    }

    /// EventBridge rule name for a spec rule: `whb-<hash8>-<rule>`; at most 64 characters.
    pub fn rule_name(&self, rule: &str) -> String {
        bounded(&format!("{}{}", self.rule_prefix(), rule), 64)
    }

    /// Short hash of (cluster, namespace, name): in every default name, so that neither two
    /// clusters sharing an account nor `a-b/c` and `a/b-c` can collide.
    fn identity_hash(&self) -> String {
        short_hash(&[&self.cluster, &self.namespace, &self.name], 8)
    }

    /// Name of the managed IAM role: `whb-<hash8>-<namespace>-<name>`, at most 64 characters
    /// (IAM names are account-wide).
    pub fn role_name(&self) -> String {
        bounded(&format!("whb-{}-{}-{}", self.identity_hash(), self.namespace, self.name), 64)
    }

    /// IAM path of the managed role: `/webhook-bridge/<cluster>/`.
    pub fn role_path(&self) -> String {
        format!("{ROLE_PATH}{}/", self.cluster)
    }

    /// Default bus and API name: `<namespace>-<name>-<hash8>`, at most `max` characters (the
    /// hash is kept when the rest is cut).
    pub fn default_name(&self, max: usize) -> String {
        let hash = self.identity_hash();
        let head = bounded(&format!("{}-{}", self.namespace, self.name), max - hash.len() - 1);
        format!("{head}-{hash}")
    }

    /// Name of the bus archive: `whb-<hash8>-<namespace>-<name>`, at most 48 characters
    /// (archive names are unique per account and region).
    pub fn archive_name(&self) -> String {
        let name: String = format!("whb-{}-{}-{}", self.identity_hash(), self.namespace, self.name)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '-' })
            .collect();
        bounded(&name, 48)
    }

    /// The archive's `Description`: archives cannot be tagged, so it carries the ownership
    /// (cluster, namespace/name, uid); see [`Owner::archive_ownership`].
    pub fn archive_marker(&self) -> String {
        format!("{ARCHIVE_MARKER} {} {} {}", self.cluster, self.owner_tag(), self.uid)
    }

    /// Classify an archive by its description, as [`Owner::ownership`] does by tags.
    pub fn archive_ownership(&self, description: Option<&str>) -> Ownership {
        let Some(parts) = description.and_then(|d| d.strip_prefix(ARCHIVE_MARKER)) else {
            return Ownership::Foreign;
        };
        let parts: Vec<&str> = parts.split_whitespace().collect();
        match parts.as_slice() {
            [cluster, owner, uid] if *cluster == self.cluster && *owner == self.owner_tag() => {
                if *uid == self.uid {
                    Ownership::Ours
                } else {
                    Ownership::PreviousIncarnation
                }
            }
            _ => Ownership::Foreign,
        }
    }

    /// Name of the access-log group: `/aws/vendedlogs/webhook-bridge/<cluster>/<namespace>/<name>`
    /// (under `/aws/vendedlogs/`, so the CloudWatch Logs resource policy API Gateway's delivery
    /// needs stays one statement for all of them).
    pub fn log_group_name(&self) -> String {
        format!("/aws/vendedlogs/webhook-bridge/{}/{}/{}", self.cluster, self.namespace, self.name)
    }

    /// Prefix of the Lambda permission statement ids of this bridge.
    pub fn statement_prefix(&self) -> String {
        format!("whb-{}-", short_hash(&[&self.cluster, &self.namespace, &self.name, &self.uid], 8))
    }

    /// Integration `Description` of a route of a bridge on a shared (gateway) API: integrations
    /// carry no tags, so the marker names the bridge by a hash of cluster, namespace, name and
    /// uid (at most 1,024 characters, AWS's limit: route names are DNS labels of 40).
    pub fn integration_marker(&self, route: &str) -> String {
        format!(
            "{} of {}",
            integration_marker(route),
            short_hash(&[&self.cluster, &self.namespace, &self.name, &self.uid], 16)
        )
    }

    /// Whether an integration on a shared API is this bridge's (by [`Owner::integration_marker`]).
    pub fn marks(&self, description: Option<&str>) -> bool {
        let mine = short_hash(&[&self.cluster, &self.namespace, &self.name, &self.uid], 16);
        description
            .and_then(|d| d.strip_prefix("webhook-bridge route "))
            .and_then(|rest| rest.split_once(" of "))
            .is_some_and(|(_, of)| of == mine)
    }

    /// Lambda permission statement id for (rule, function): deterministic, at most 100 characters.
    pub fn statement_id(&self, rule_name: &str, function_arn: &str) -> String {
        format!("{}{}", self.statement_prefix(), short_hash(&[rule_name, function_arn], 12))
    }
}

/// Start of an archive description written by this operator.
pub const ARCHIVE_MARKER: &str = "webhook-bridge archive:";

/// Integration `Description` that marks which route an integration serves (integrations carry
/// no tags, but they live inside our tagged API).
pub fn integration_marker(route: &str) -> String {
    format!("webhook-bridge route {route}")
}

/// The route name an integration description marks, if it is one of ours (on a shared API, the
/// marker also names the bridge: see [`Owner::integration_marker`]).
pub fn route_of_integration(description: &str) -> Option<&str> {
    let rest = description.strip_prefix("webhook-bridge route ")?;
    Some(rest.split_once(" of ").map_or(rest, |(name, _)| name))
}

/// Default target id: derived from the target ARN so it survives reordering.
pub fn target_id(arn: &str) -> String {
    format!("t-{}", short_hash(&[arn], 12))
}

/// Name of the JWT authorizer for an (issuer, audiences) pair.
pub fn authorizer_name(issuer: &str, audiences: &[String]) -> String {
    let mut parts: Vec<&str> = vec![issuer];
    parts.extend(audiences.iter().map(String::as_str));
    format!("whb-jwt-{}", short_hash(&parts, 12))
}

/// `name` if it fits in `max` characters, else a prefix of it followed by `-<hash8>`.
pub fn bounded(name: &str, max: usize) -> String {
    bounded_hashed(name, max, 8)
}

/// [`bounded`] with a hash of `hash_len` hex digits (at most 16) of the whole name, for names
/// an adversary may choose (e.g. STS session names of namespaces: 8 digits collide in seconds).
pub fn bounded_hashed(name: &str, max: usize, hash_len: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let hash = short_hash(&[name], hash_len);
    let keep = max - hash.len() - 1;
    let prefix: String = name.chars().take(keep).collect();
    format!("{}-{hash}", prefix.trim_end_matches('-'))
}

/// FNV-1a 64 over the parts (separated by NUL), as `len` lowercase hex digits (len <= 16).
/// Stable across Rust versions and platforms, unlike `DefaultHasher`.
pub fn short_hash(parts: &[&str], len: usize) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |byte: u8| hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            feed(0);
        }
        part.bytes().for_each(&mut feed);
    }
    format!("{hash:016x}")[..len.min(16)].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner {
        Owner { cluster: "c1".into(), namespace: "payments".into(), name: "orders".into(), uid: "u-1".into() }
    }

    #[test]
    fn ownership_needs_every_tag() {
        let o = owner();
        let mut tags = o.tags();
        assert_eq!(o.ownership(&tags), Ownership::Ours);
        tags.insert(TAG_UID.into(), "u-2".into());
        assert_eq!(o.ownership(&tags), Ownership::PreviousIncarnation);
        tags.insert(TAG_CLUSTER.into(), "c2".into());
        assert_eq!(o.ownership(&tags), Ownership::Foreign);
        assert_eq!(o.ownership(&BTreeMap::new()), Ownership::Foreign);
    }

    #[test]
    fn names_are_deterministic_and_bounded() {
        let o = owner();
        assert_eq!(o.rule_name("create"), o.rule_name("create"));
        assert!(o.rule_name(&"x".repeat(80)).len() <= 64);
        assert!(o.role_name().starts_with("whb-") && o.role_name().ends_with("-payments-orders"));
        assert_eq!(o.role_path(), "/webhook-bridge/c1/");
        // Dashes do not make two owners one: a-b/c and a/b-c.
        let (ab_c, a_bc) = (
            Owner { namespace: "a-b".into(), name: "c".into(), ..owner() },
            Owner { namespace: "a".into(), name: "b-c".into(), ..owner() },
        );
        assert_ne!(ab_c.role_name(), a_bc.role_name());
        assert_ne!(ab_c.default_name(128), a_bc.default_name(128));
        assert_ne!(o.default_name(128), Owner { cluster: "c2".into(), ..owner() }.default_name(128));
        let longest = Owner { namespace: "n".repeat(63), name: "x".repeat(253), ..owner() };
        assert_eq!(longest.default_name(128).len(), 128);
        assert!(longest.default_name(128).ends_with(&longest.identity_hash()));
        assert_ne!(o.role_name(), Owner { cluster: "c2".into(), ..owner() }.role_name());
        let long = Owner { name: "n".repeat(63), ..owner() };
        assert_eq!(long.role_name().len(), 64);
        assert_ne!(long.role_name(), Owner { name: "n".repeat(62) + "m", ..owner() }.role_name());
        assert!(o.statement_id("r", "arn:aws:lambda:::function:f").len() <= 100);
        assert_ne!(short_hash(&["ab", "c"], 16), short_hash(&["a", "bc"], 16));
    }

    #[test]
    fn the_owner_tag_fits_aws_limits_and_stays_unique() {
        let longest = Owner { namespace: "n".repeat(63), name: "x".repeat(253), ..owner() };
        assert_eq!(longest.key().len(), 317);
        assert!(longest.owner_tag().len() <= 256, "{}", longest.owner_tag().len());
        let other = Owner { name: "x".repeat(252) + "y", ..longest.clone() };
        assert_ne!(longest.owner_tag(), other.owner_tag());
        assert_eq!(owner().owner_tag(), owner().key(), "short keys are kept as they are");
        assert_eq!(longest.ownership(&longest.tags()), Ownership::Ours);
    }

    #[test]
    fn integration_marker_round_trips() {
        assert_eq!(route_of_integration(&integration_marker("webhook")), Some("webhook"));
        assert_eq!(route_of_integration("someone else's"), None);
    }
}
