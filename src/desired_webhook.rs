//! Desired state of the EventBridge Custom Event Bus family (`eventsv2`), pure: a gateway's bus
//! (`spec.customEventBus`), and for a bridge with `spec.webhookSources` its event sources,
//! subscribers (one per rule target) and the managed role EventBridge assumes for both. Every
//! name and ClientToken is a function of the owner and the object, so a re-run after a crash
//! sends the same create (idempotent at AWS) and finds what the interrupted run made by name.

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use serde_json::{Value, json};

use crate::api::webhook::{Deduplication, WebhookSourceSpec};
use crate::desired::{Desired, DesiredRole, DesiredRule, DesiredTarget, arn_part};
use crate::error::{Error, FieldError};
use crate::owner::{self, Owner};
use crate::webhook::{AuthScheme, presets};

/// Tag on a webhook source: a salted slow hash of its credential, so a changed Kubernetes
/// Secret is seen (and rotated) without the secret ever being stored or compared in clear.
pub const TAG_CREDENTIAL: &str = "webhookbridge.io/credential";
/// Tag on a basic-auth source: a keyed hash of its username. AWS never returns the username
/// (WebhookBasicHttpAuthConfiguration: "EventBridge stores both only in AWS Secrets Manager and
/// never returns them, including from DescribeEventSource"), so without this tag a changed
/// `auth.basic.username` could not be seen. The username is in the bridge's spec in clear, so a
/// fast keyed hash (HMAC-SHA256, keyed by the owner's uid) hides nothing the spec does not show.
pub const TAG_USERNAME: &str = "webhookbridge.io/username";
/// PBKDF2 iterations of the credential fingerprint.
pub const FINGERPRINT_ITERATIONS: u32 = 100_000;

/// A credential value from a Kubernetes Secret. Never printed: `Debug` shows only its length's
/// absence, and it has no `Display` or `Serialize`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: impl Into<String>) -> SecretValue {
        SecretValue(value.into())
    }
    /// A value as a Kubernetes Secret key holds it: a trailing newline (what `kubectl create
    /// secret --from-file` of an `echo`ed file leaves) is not part of the credential. The
    /// operator and the CLI read Secrets through this one function, so both fingerprint alike.
    pub fn from_secret_data(value: String) -> SecretValue {
        SecretValue(value.trim_end_matches(['\r', '\n']).to_string())
    }
    /// The value, for the one request body that carries it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

/// `webhookbridge.io/credential`: PBKDF2-HMAC-SHA256 of the secret, salted with the owner's
/// uid, 100,000 iterations, the first 16 hex digits. Salted per owner, so equal secrets of two
/// bridges do not show as equal tags; slow, so the tag is no cheap oracle for guessing a weak one.
pub fn fingerprint(owner_uid: &str, secret: &SecretValue) -> String {
    let mut out = [0u8; 8];
    let iterations = NonZeroU32::new(FINGERPRINT_ITERATIONS).unwrap_or(NonZeroU32::MIN);
    aws_lc_rs::pbkdf2::derive(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        owner_uid.as_bytes(),
        secret.expose().as_bytes(),
        &mut out,
    );
    out.iter().map(|b| format!("{b:02x}")).collect()
}

/// [`TAG_USERNAME`]'s value: HMAC-SHA256 of the username keyed by the owner's uid, 16 hex digits.
pub fn username_tag(owner_uid: &str, username: &str) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, owner_uid.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, username.as_bytes());
    tag.as_ref().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The fingerprints already computed, keyed by what identifies one value of one Secret key
/// without the value: (namespace, Secret name, key, the Secret's `resourceVersion`, salt). Any
/// change of a Secret's data gives it a new `resourceVersion`, so an entry never outlives the
/// value it was computed from. Only fingerprints are kept, never a value; at most
/// [`FingerprintCache::CAPACITY`] entries (then it starts over).
#[derive(Default)]
pub struct FingerprintCache {
    entries: std::sync::Mutex<std::collections::HashMap<[String; 5], String>>,
    computed: std::sync::atomic::AtomicU64,
}

impl FingerprintCache {
    pub const CAPACITY: usize = 4096;

    /// The process's cache (the operator reconciles every source of every bridge with it).
    pub fn global() -> &'static FingerprintCache {
        static CACHE: std::sync::OnceLock<FingerprintCache> = std::sync::OnceLock::new();
        CACHE.get_or_init(FingerprintCache::default)
    }

    /// [`fingerprint`] of `read`, from the cache when `read` has a `resourceVersion` (a value
    /// without one, from the CLI's files, is always computed).
    pub fn fingerprint(&self, secret: (&str, &str, &str), owner_uid: &str, read: &SecretRead) -> String {
        let Some(version) = &read.version else {
            self.computed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return fingerprint(owner_uid, &read.value);
        };
        let key = [secret.0, secret.1, secret.2, version, owner_uid].map(str::to_string);
        if let Some(hit) = self.entries.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return hit.clone();
        }
        self.computed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let computed = fingerprint(owner_uid, &read.value);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= Self::CAPACITY {
            entries.clear();
        }
        entries.insert(key, computed.clone());
        computed
    }

    /// How many PBKDF2 derivations this cache has run.
    pub fn computed(&self) -> u64 {
        self.computed.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A credential as read from a Kubernetes Secret (or a CLI file), with the Secret's
/// `resourceVersion` when it has one: each edit of the Secret is one rotation, so its
/// ClientToken (and AWS's 8-hour idempotency window) never swallows a change back to an older value.
#[derive(Clone, Debug, PartialEq)]
pub struct SecretRead {
    pub value: SecretValue,
    pub version: Option<String>,
}

/// Where the engine reads the Secrets `spec.webhookSources[].secretRef` names (the operator:
/// the apiserver; the CLI: the Secret manifests it was given).
pub trait SecretSource: Send + Sync {
    /// Key `key` of Secret `namespace/name`: None when the Secret or the key does not exist.
    fn get<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        key: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Option<SecretRead>, Error>>;
}

/// No Secrets known (the default): a source with a `secretRef` waits, DependencyMissing.
pub struct NoSecrets;

impl SecretSource for NoSecrets {
    fn get<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Option<SecretRead>, Error>> {
        Box::pin(async { Ok(None) })
    }
}

/// Secrets held in memory (the CLI's manifests, tests): (namespace, name) → key → value.
#[derive(Clone, Default)]
pub struct StaticSecrets(pub BTreeMap<(String, String), BTreeMap<String, SecretValue>>);

impl std::fmt::Debug for StaticSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl SecretSource for StaticSecrets {
    fn get<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        key: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Option<SecretRead>, Error>> {
        let found = self
            .0
            .get(&(namespace.to_string(), name.to_string()))
            .and_then(|keys| keys.get(key))
            .map(|v| SecretRead { value: v.clone(), version: None });
        Box::pin(async move { Ok(found) })
    }
}

/// A subscriber's RetryPolicy with AWS's documented defaults filled in ("Maximum number of
/// retry attempts (0-185, default: 5)", "Maximum age of an event in seconds ... (60-86400,
/// default: 300)", RetryPolicy, botocore eventbridgev2): no policy and the defaults are one.
pub fn retry_or_default(p: Option<(Option<i32>, Option<i32>)>) -> (i32, i32) {
    let (attempts, age) = p.unwrap_or_default();
    (attempts.unwrap_or(5), age.unwrap_or(300))
}

/// A deterministic ClientToken (at most 64 printable characters) for one write of one object.
pub fn client_token(parts: &[&str]) -> String {
    format!("whb-{}", owner::short_hash(parts, 16))
}

/// The family's desired state (empty for a bridge with routes and a gateway without a bus).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct DesiredV2 {
    /// A gateway's own Custom Event Bus.
    pub bus: Option<V2Bus>,
    /// A webhook-source bridge: the ARN of its gateway's Custom Event Bus (from its status).
    pub bus_arn: Option<String>,
    /// True for a webhook-source bridge: its sources and subscribers are looked for (and
    /// collected) even when the spec has none left.
    pub webhook: bool,
    pub sources: Vec<V2Source>,
    pub subscribers: Vec<V2Subscriber>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct V2Bus {
    pub name: String,
    pub retention_days: Option<i32>,
    pub client_token: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct V2Source {
    /// `spec.webhookSources[i].name`, and its index (for error fields).
    pub spec_name: String,
    pub index: usize,
    /// `whb-<hash8>-<name>`.
    pub name: String,
    pub scheme: AuthScheme,
    /// From the Kubernetes Secret; None: EventBridge generates the credential.
    pub secret: Option<SecretValue>,
    /// [`fingerprint`] of `secret`.
    pub credential: Option<String>,
    /// The Secret's `resourceVersion` (part of the rotation's ClientToken).
    pub secret_version: Option<String>,
    /// [`username_tag`] of a basic-auth source's username (None for other schemes).
    pub username_tag: Option<String>,
    pub role_arn: String,
    /// The preset's headers, then the source's own (first spelling kept, case-insensitive).
    pub metadata_headers: Vec<String>,
    pub deduplication: bool,
    pub client_token: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct V2Subscriber {
    /// The spec rule it comes from.
    pub rule: String,
    /// `whb-<hash8>-<rule>-<target id>`.
    pub name: String,
    pub pattern: Value,
    pub enabled: bool,
    pub target: DesiredTarget,
    pub role_arn: String,
    pub client_token: String,
}

impl V2Source {
    /// Configuration.WebhookEventsConfiguration as JSON, without the secret: what a read of the
    /// source must show to be in sync (compared as a subset: AWS adds its defaults).
    pub fn config(&self) -> Value {
        let auth = match &self.scheme {
            AuthScheme::Hmac(h) => {
                let mut m = serde_json::Map::new();
                m.insert("Algorithm".into(), json!(format!("{:?}", h.algorithm).to_uppercase()));
                m.insert("Encoding".into(), json!(format!("{:?}", h.encoding).to_uppercase()));
                m.insert("SignatureHttpHeader".into(), json!(h.signature_header));
                let optional = [
                    ("SignaturePrefix", &h.signature_prefix),
                    ("Delimiter", &h.delimiter),
                    ("TimestampHttpHeader", &h.timestamp_header),
                    ("TimestampPrefix", &h.timestamp_prefix),
                    ("MessageIdHttpHeader", &h.message_id_header),
                ];
                for (k, v) in optional {
                    if let Some(v) = v {
                        m.insert(k.into(), json!(v));
                    }
                }
                if let Some(t) = h.tolerance_seconds {
                    m.insert("TimestampToleranceInSeconds".into(), json!(t));
                }
                m.insert("SignedMessageComposition".into(), json!(signed_message(h.signed_message)));
                m.insert("SecretEncoding".into(), json!(format!("{:?}", h.secret_encoding).to_uppercase()));
                json!({"HmacAuthConfiguration": m})
            }
            AuthScheme::Token { header } => json!({"StaticTokenAuthConfiguration": {"TokenHttpHeader": header}}),
            AuthScheme::Basic { username } => json!({"BasicHttpAuthConfiguration": {"Username": username}}),
        };
        let mut c = json!({"AuthConfiguration": auth, "RoleArn": self.role_arn});
        if !self.metadata_headers.is_empty() {
            c["MetadataHttpHeaders"] = json!(self.metadata_headers);
        }
        if self.deduplication {
            c["DeduplicationConfiguration"] = json!({"DeduplicationType": "CONTENT_BASED"});
        }
        c
    }

    /// The member of AuthConfiguration the secret goes in (AWS's union member names), and the
    /// member of RotateWebhookCredentials' Credential union.
    pub fn secret_members(&self) -> (&'static str, &'static str, &'static str) {
        match self.scheme {
            AuthScheme::Hmac(_) => ("HmacAuthConfiguration", "SecretValue", "HmacSecretValue"),
            AuthScheme::Token { .. } => ("StaticTokenAuthConfiguration", "SecretValue", "StaticTokenSecretValue"),
            AuthScheme::Basic { .. } => ("BasicHttpAuthConfiguration", "Password", "BasicHttpPassword"),
        }
    }

    /// ClientToken of the rotation to the current credential (the same for every retry of it).
    pub fn rotate_token(&self, owner: &Owner) -> String {
        client_token(&[
            "rotate",
            &owner.uid,
            &self.name,
            self.credential.as_deref().unwrap_or("generated"),
            self.secret_version.as_deref().unwrap_or(""),
        ])
    }
}

fn signed_message(m: crate::api::webhook::SignedMessage) -> &'static str {
    use crate::api::webhook::SignedMessage::*;
    match m {
        Body => "BODY",
        TimestampDotBody => "TIMESTAMP_DOT_BODY",
        MessageIdDotTimestampDotBody => "MESSAGE_ID_DOT_TIMESTAMP_DOT_BODY",
    }
}

/// The AWS auth type name of a WebhookAuthConfiguration member (for the "cannot change" check).
pub fn auth_kind_of_member(member: &str) -> Option<&'static str> {
    match member {
        "HmacAuthConfiguration" => Some("HMAC"),
        "StaticTokenAuthConfiguration" => Some("STATIC_TOKEN"),
        "BasicHttpAuthConfiguration" => Some("BASIC"),
        _ => None,
    }
}

/// The gateway's bus: `spec.customEventBus.name` or `<namespace>-<gateway>-<hash8>`.
pub fn gateway_bus(gw: &crate::api::WebhookBridgeGateway, owner: &Owner) -> Option<V2Bus> {
    let spec = gw.spec.custom_event_bus.as_ref()?;
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| owner.default_name(256).replacen(&format!("-{}", crate::gateway::OWNER_PREFIX), "-", 1));
    // The gateway's generation too: a bus dropped from the spec and added back within AWS's
    // 8-hour ClientToken window is a new request, not the deleted bus's answer.
    let generation = gw.metadata.generation.unwrap_or(0).to_string();
    let token = client_token(&["bus", &owner.uid, &generation, &name, &format!("{:?}", spec.retention_days)]);
    Some(V2Bus { client_token: token, name, retention_days: spec.retention_days })
}

/// Name of a bridge's event source: `whb-<hash8>-<source>` (at most 64, like rule names).
pub fn source_name(owner: &Owner, source: &str) -> String {
    owner.rule_name(source)
}

/// Name of a subscriber: `whb-<hash8>-<rule>-<target id>` (at most 256).
pub fn subscriber_name(owner: &Owner, rule: &str, target_id: &str) -> String {
    owner::bounded(&format!("{}{rule}-{target_id}", owner.rule_prefix()), 256)
}

/// [`webhook_at`] without a generation (every create's ClientToken as for generation 0).
pub fn webhook(
    d: &mut Desired,
    sources: &[WebhookSourceSpec],
    bus_arn: Option<&str>,
    secrets: &BTreeMap<String, SecretRead>,
    strict: bool,
) -> Result<(), Error> {
    webhook_at(d, sources, bus_arn, secrets, strict, None)
}

/// Make `d` (a bridge's desired state on its gateway, from `desired::attached`) a webhook-source
/// bridge's: its rules become subscribers on the gateway's Custom Event Bus (no classic rules,
/// no Lambda permissions: EventBridge invokes with the role), and its role is a managed one
/// EventBridge assumes for the sources (PutEvents on the bus) and subscribers (the targets).
/// `secrets`: source name → credential, for the sources with a `secretRef`; `strict`: a
/// missing one is an error (false for a delete, which needs no credential). `generation`: the
/// bridge's `metadata.generation`, part of every create's ClientToken (see below).
pub fn webhook_at(
    d: &mut Desired,
    sources: &[WebhookSourceSpec],
    bus_arn: Option<&str>,
    secrets: &BTreeMap<String, SecretRead>,
    strict: bool,
    generation: Option<i64>,
) -> Result<(), Error> {
    let generation = generation.unwrap_or(0).to_string();
    let owner = d.owner.clone();
    let env = d.env.clone();
    let role_name = owner.role_name();
    let role_arn = format!("arn:{}:iam::{}:role{}{role_name}", env.partition, env.account, owner.role_path());
    let rules = std::mem::take(&mut d.rules);
    d.role = DesiredRole::Managed {
        name: role_name,
        arn: role_arn.clone(),
        trust_policy: trust_policy_for(&env, &owner),
        policy: role_policy(bus_arn.unwrap_or_default(), &rules),
        permissions_boundary: None,
    };
    let mut v2_sources = Vec::new();
    for (index, s) in sources.iter().enumerate() {
        let scheme = presets::scheme(s).map_err(|m| Error::invalid(format!("spec.webhookSources[{index}]"), m))?;
        let read = match &s.secret_ref {
            None => None,
            Some(r) => match secrets.get(&s.name) {
                Some(read) => Some(read.clone()),
                None if strict => {
                    return Err(Error::DependencyMissing(FieldError::new(
                        format!("spec.webhookSources[{index}].secretRef"),
                        format!("Secret {}/{} has no key {} (or does not exist)", owner.namespace, r.name, r.key()),
                    )));
                }
                None => None,
            },
        };
        // AWS's rules for the value (length, an HMAC key's 16 to 512 bytes after decoding, a token
        // without control characters), before it goes anywhere: the message names the Secret and
        // the rule, never the value.
        if let (Some(read), Some(r)) = (&read, &s.secret_ref) {
            let value = crate::webhook::secret::SecretValue::from_bytes(read.value.expose().as_bytes().to_vec())
                .and_then(|v| crate::webhook::secret::check(&scheme, &v));
            if let Err(rule) = value {
                return Err(Error::invalid(
                    format!("spec.webhookSources[{index}].secretRef"),
                    format!("Secret {}/{} key {}: {rule}", owner.namespace, r.name, r.key()),
                ));
            }
        }
        let credential = match (&read, &s.secret_ref) {
            (Some(read), Some(r)) => {
                Some(FingerprintCache::global().fingerprint((&owner.namespace, &r.name, r.key()), &owner.uid, read))
            }
            _ => None,
        };
        let username_tag = match &scheme {
            AuthScheme::Basic { username } => Some(username_tag(&owner.uid, username)),
            _ => None,
        };
        let secret_version = read.as_ref().and_then(|r| r.version.clone());
        let secret = read.map(|r| r.value);
        let mut headers: Vec<String> = Vec::new();
        for h in presets::metadata_headers(s.provider).iter().map(|h| h.to_string()).chain(s.metadata_headers.clone()) {
            if !headers.iter().any(|x| x.eq_ignore_ascii_case(&h)) {
                headers.push(h);
            }
        }
        let name = source_name(&owner, &s.name);
        v2_sources.push(V2Source {
            spec_name: s.name.clone(),
            index,
            client_token: String::new(),
            name,
            scheme,
            credential,
            secret_version,
            username_tag,
            secret,
            role_arn: role_arn.clone(),
            metadata_headers: headers,
            deduplication: s.deduplication == Some(Deduplication::ContentBased),
        });
    }
    // The create's ClientToken covers what it sends (a retry after a crash sends the same; an
    // edited spec is a new request, never an IdempotentParameterMismatch) and the bridge's
    // generation: AWS answers a ClientToken it saw within 8 hours with the result of that first
    // request ("A retry with the same ClientToken within 8 hours returns the same result",
    // RotateWebhookCredentials; CreateEventSource: "retries that use the same ClientToken return
    // the same result"), so a source removed from the spec and added back unchanged would get
    // the deleted one's answer. Removing and re-adding are two spec edits, two generations; a
    // re-run after a crash is the same generation, so it resends the interrupted create's token.
    for src in &mut v2_sources {
        let config = src.config().to_string();
        let credential = src.credential.clone().unwrap_or_default();
        let username = src.username_tag.clone().unwrap_or_default();
        src.client_token =
            client_token(&["source", &owner.uid, &generation, &src.name, &config, &credential, &username]);
    }
    let subscribers = rules
        .iter()
        .flat_map(|r: &DesiredRule| {
            let (owner, role_arn, generation) = (&owner, &role_arn, &generation);
            r.targets.iter().map(move |t| {
                let name = subscriber_name(owner, &r.spec_name, &t.id);
                V2Subscriber {
                    rule: r.spec_name.clone(),
                    client_token: client_token(&[
                        "subscriber",
                        &owner.uid,
                        generation,
                        &name,
                        &t.arn,
                        &r.pattern.to_string(),
                        &format!("{:?}|{:?}|{:?}|{}", t.retry_policy, t.dead_letter_arn, t.message_group_id, r.enabled),
                    ]),
                    name,
                    pattern: r.pattern.clone(),
                    enabled: r.enabled,
                    target: t.clone(),
                    role_arn: role_arn.clone(),
                }
            })
        })
        .collect();
    d.v2 =
        DesiredV2 { bus: None, bus_arn: bus_arn.map(str::to_string), webhook: true, sources: v2_sources, subscribers };
    Ok(())
}

/// The managed role's trust policy without the confused-deputy conditions (kept for callers
/// that have no account; the engine uses [`trust_policy_for`]).
pub fn trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sts:AssumeRole"
        }]
    })
}

/// The managed role's trust policy: EventBridge assumes it only on behalf of this account's
/// webhook sources and subscribers of this bridge. `aws:SourceAccount` and `aws:SourceArn` are
/// the global condition keys AWS documents against the confused-deputy problem ("The confused
/// deputy problem", IAM User Guide; EventBridge: "Preventing the confused deputy problem"): a
/// service principal alone would let EventBridge assume the role for any account's resource.
pub fn trust_policy_for(env: &crate::desired::AwsEnv, owner: &Owner) -> Value {
    let base = format!("arn:{}:events:{}:{}:", env.partition, env.region, env.account);
    let prefix = owner.rule_prefix();
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": env.account},
                "ArnLike": {"aws:SourceArn": [
                    format!("{base}event-sourcev2/webhook/{prefix}*"),
                    format!("{base}subscriber/{prefix}*"),
                ]}
            }
        }]
    })
}

/// The action a subscriber needs on a target (or dead-letter queue) ARN, by service.
pub fn invoke_action(arn: &str) -> Option<&'static str> {
    match arn_part(arn, 2)? {
        "lambda" => Some("lambda:InvokeFunction"),
        "sqs" => Some("sqs:SendMessage"),
        "sns" => Some("sns:Publish"),
        "states" => Some("states:StartExecution"),
        "kinesis" => Some("kinesis:PutRecords"),
        "events" => Some("events:PutEvents"),
        _ => None,
    }
}

/// The inline policy: PutEvents on exactly the gateway's Custom Event Bus (the sources), and
/// per target service its one action on exactly the bridge's target and dead-letter ARNs.
pub fn role_policy(bus_arn: &str, rules: &[DesiredRule]) -> Value {
    let mut by_action: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    by_action.entry("events:PutEvents").or_default().push(bus_arn.to_string());
    for t in rules.iter().flat_map(|r| &r.targets) {
        for arn in std::iter::once(&t.arn).chain(t.dead_letter_arn.as_ref()) {
            if let Some(action) = invoke_action(arn) {
                by_action.entry(action).or_default().push(arn.clone());
            }
        }
    }
    let statements: Vec<Value> = by_action
        .into_iter()
        .map(|(action, mut arns)| {
            arns.sort();
            arns.dedup();
            let resource = if arns.len() == 1 { json!(arns[0]) } else { json!(arns) };
            json!({"Effect": "Allow", "Action": action, "Resource": resource})
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_salted_slow_and_short() {
        let s = SecretValue::new("It's a Secret to Everybody");
        let a = fingerprint("uid-1", &s);
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(a, fingerprint("uid-1", &s), "deterministic");
        assert_ne!(a, fingerprint("uid-2", &s), "salted by the owner");
        assert_ne!(a, fingerprint("uid-1", &SecretValue::new("another")), "changes with the secret");
        assert!(!format!("{s:?}").contains("Secret to"), "Debug redacts");
    }

    #[test]
    fn a_fingerprint_is_computed_once_per_secret_version_and_keeps_no_value() {
        let cache = FingerprintCache::default();
        let read =
            |value: &str, version: &str| SecretRead { value: SecretValue::new(value), version: Some(version.into()) };
        let secret = ("ns", "gh", "secret");
        let a = cache.fingerprint(secret, "uid-1", &read("It's a Secret to Everybody", "7"));
        assert_eq!(a, fingerprint("uid-1", &SecretValue::new("It's a Secret to Everybody")));
        assert_eq!(cache.fingerprint(secret, "uid-1", &read("It's a Secret to Everybody", "7")), a);
        assert_eq!(cache.computed(), 1, "the second reconcile derives nothing");
        // A new resourceVersion (the Secret was edited), another salt or key: computed again.
        let b = cache.fingerprint(secret, "uid-1", &read("another value entirely", "8"));
        assert_ne!(a, b);
        cache.fingerprint(secret, "uid-2", &read("It's a Secret to Everybody", "7"));
        cache.fingerprint(("ns", "gh", "other"), "uid-1", &read("It's a Secret to Everybody", "7"));
        assert_eq!(cache.computed(), 4);
        // No resourceVersion (the CLI's files): never cached.
        let unversioned = SecretRead { value: SecretValue::new("x-secret-value"), version: None };
        cache.fingerprint(secret, "uid-1", &unversioned);
        cache.fingerprint(secret, "uid-1", &unversioned);
        assert_eq!(cache.computed(), 6);
        let held = format!("{:?}", cache.entries.lock().expect("entries"));
        assert!(!held.contains("Secret to Everybody") && !held.contains("another value"), "{held}");
    }

    #[test]
    fn the_trust_policy_names_the_account_and_the_bridges_objects() {
        let env = crate::desired::AwsEnv {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            partition: "aws".into(),
        };
        let owner = Owner { cluster: "c".into(), namespace: "n".into(), name: "b".into(), uid: "u".into() };
        let p = trust_policy_for(&env, &owner);
        let c = &p["Statement"][0]["Condition"];
        assert_eq!(c["StringEquals"]["aws:SourceAccount"], "123456789012");
        let arns = c["ArnLike"]["aws:SourceArn"].as_array().expect("arns");
        assert!(
            arns.iter().all(|a| a.as_str().is_some_and(
                |a| a.starts_with("arn:aws:events:us-east-1:123456789012:") && a.contains(&owner.rule_prefix())
            )),
            "{arns:?}"
        );
    }

    #[test]
    fn the_policy_names_exactly_the_bus_and_targets() {
        let rules = vec![DesiredRule {
            spec_name: "r".into(),
            name: "whb-x-r".into(),
            arn: String::new(),
            pattern: json!({}),
            enabled: true,
            description: None,
            targets: vec![
                DesiredTarget {
                    arn: "arn:aws:sqs:us-east-1:123456789012:q".into(),
                    dead_letter_arn: Some("arn:aws:sqs:us-east-1:123456789012:dlq".into()),
                    ..Default::default()
                },
                DesiredTarget { arn: "arn:aws:lambda:us-east-1:123456789012:function:f".into(), ..Default::default() },
            ],
        }];
        let p = role_policy("arn:aws:events:us-east-1:123456789012:event-busv2/b/abc", &rules);
        let text = p.to_string();
        assert!(!text.contains('*'), "{text}");
        let st = p["Statement"].as_array().expect("statements");
        assert_eq!(st.len(), 3);
        assert_eq!(st[2]["Action"], "sqs:SendMessage");
        assert_eq!(st[2]["Resource"].as_array().map(Vec::len), Some(2));
    }
}
