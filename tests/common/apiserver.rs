//! A stateful Kubernetes API server for tests, spoken to by the operator's real kube client over
//! HTTP. It honours what a real apiserver does for us: resourceVersion with 409 on conflicts;
//! list + watch from a resourceVersion with bookmarks and 410 Gone for a compacted version;
//! `metadata.generation` bumped only by spec changes (and by deletion); the status subresource;
//! finalizers and deletionTimestamp (the object goes when its last finalizer does); merge, JSON,
//! strategic-merge and server-side-apply patches; events.k8s.io Events; Leases. Stored
//! WebhookBridges are validated against the generated CRD's schema and CEL rules.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// A resource type the server knows.
#[derive(Clone, Copy, Debug)]
struct Kind {
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    /// Has a status subresource and spec-driven generation (custom resources).
    status_subresource: bool,
}

const KINDS: &[Kind] = &[
    Kind {
        group: "webhookbridge.io",
        version: "v1alpha1",
        plural: "webhookbridges",
        kind: "WebhookBridge",
        status_subresource: true,
    },
    Kind { group: "events.k8s.io", version: "v1", plural: "events", kind: "Event", status_subresource: false },
    Kind { group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease", status_subresource: false },
];

#[derive(Clone, Debug)]
struct Change {
    rv: u64,
    kind: &'static str,
    type_: &'static str,
    object: Value,
}

#[derive(Default)]
struct Store {
    rv: u64,
    /// (plural, namespace, name) → object
    objects: BTreeMap<(String, String, String), Value>,
    /// Every change, for watches that start from an older resourceVersion.
    history: Vec<Change>,
    /// Changes at or below this resourceVersion are compacted: a watch from before it gets 410.
    compacted: u64,
    /// Server-side-apply field ownership: object → field path → manager.
    owners: BTreeMap<(String, String, String), BTreeMap<String, String>>,
}

/// Leaf fields of an object (outside apiVersion/kind/metadata), as `a.b.c` → value.
fn leaves(value: &Value) -> BTreeMap<String, Value> {
    fn walk(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
        match v {
            Value::Object(map) if !map.is_empty() => {
                for (k, child) in map {
                    walk(&if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, child, out);
                }
            }
            Value::Null => {}
            other => {
                out.insert(prefix.to_string(), other.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    if let Value::Object(map) = value {
        for (k, v) in map.iter().filter(|(k, _)| !matches!(k.as_str(), "apiVersion" | "kind" | "metadata")) {
            walk(k, v, &mut out);
        }
    }
    out
}

/// How a write claims fields: an update takes the fields it changes; an apply also refuses to
/// take, without force, a field another manager owns with another value (409, as SSA does).
struct Claim<'a> {
    manager: &'a str,
    apply: Option<(&'a Value, bool)>,
}

pub struct ApiServer {
    pub addr: SocketAddr,
    store: Arc<Mutex<Store>>,
    changes: broadcast::Sender<Change>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn status(code: u16, reason: &str, message: impl Into<String>) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message.into(), "reason": reason, "code": code})
}

fn respond(code: u16, body: &Value) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())).boxed_unsync());
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    r
}

fn error(code: u16, reason: &str, message: impl Into<String>) -> Response<Body> {
    respond(code, &status(code, reason, message))
}

fn now() -> String {
    webhook_bridge::status::now()
}

fn query(req: &Request<Incoming>) -> BTreeMap<String, String> {
    req.uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `k=v,k2=v2` and `k` (exists) selectors.
fn matches_labels(object: &Value, selector: Option<&String>) -> bool {
    let Some(selector) = selector.filter(|s| !s.is_empty()) else { return true };
    let labels = &object["metadata"]["labels"];
    selector.split(',').all(|term| match term.split_once("!=") {
        Some((k, v)) => labels[k.trim()].as_str() != Some(v.trim()),
        None => match term.split_once('=') {
            Some((k, v)) => labels[k.trim()].as_str() == Some(v.trim_start_matches('=').trim()),
            None => !labels[term.trim()].is_null(),
        },
    })
}

/// Schema + CEL validation of a WebhookBridge, as the apiserver does with the installed CRD.
fn validate(kind: &Kind, object: &Value) -> Result<(), String> {
    if kind.plural != "webhookbridges" {
        return Ok(());
    }
    let errors = webhook_bridge::admission::check_schema(object);
    if !errors.is_empty() {
        return Err(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "));
    }
    match serde_json::from_value::<webhook_bridge::api::WebhookBridge>(object.clone()) {
        Ok(bridge) => {
            let errors = webhook_bridge::admission::check_cel(&bridge);
            if errors.is_empty() {
                Ok(())
            } else {
                Err(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
            }
        }
        Err(e) => Err(e.to_string()),
    }
}

/// RFC 7386 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

impl ApiServer {
    pub async fn start() -> ApiServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let store = Arc::new(Mutex::new(Store::default()));
        let (changes, _) = broadcast::channel(4096);
        let (s, c) = (store.clone(), changes.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (s, c) = (s.clone(), c.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let (s, c) = (s.clone(), c.clone());
                        async move { Ok::<_, Infallible>(handle(req, s, c).await) }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        ApiServer { addr, store, changes, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kube client for this server.
    pub fn client(&self) -> kube::Client {
        let config = kube::Config::new(self.url().parse().expect("url"));
        kube::Client::try_from(config).expect("client")
    }

    /// An object as stored.
    pub fn get(&self, plural: &str, namespace: &str, name: &str) -> Option<Value> {
        let store = self.store.lock().expect("store");
        store.objects.get(&(plural.to_string(), namespace.to_string(), name.to_string())).cloned()
    }

    pub fn list(&self, plural: &str) -> Vec<Value> {
        let store = self.store.lock().expect("store");
        store.objects.iter().filter(|((p, _, _), _)| p == plural).map(|(_, v)| v.clone()).collect()
    }

    /// Store an object without validation (e.g. one an older CRD let through).
    pub fn insert_raw(&self, plural: &str, mut object: Value) {
        let kind = KINDS.iter().find(|k| k.plural == plural).copied().expect("kind");
        let mut store = self.store.lock().expect("store");
        store.rv += 1;
        let rv = store.rv;
        let meta = &mut object["metadata"];
        meta["resourceVersion"] = json!(rv.to_string());
        meta["uid"] = json!(format!("uid-{rv}"));
        meta["generation"] = json!(1);
        meta["creationTimestamp"] = json!(now());
        let key = key_of(plural, &object);
        store.objects.insert(key, object.clone());
        let change = Change { rv, kind: kind.plural, type_: "ADDED", object };
        store.history.push(change.clone());
        let _ = self.changes.send(change);
    }

    /// Forget history up to now: a watch resuming from an older resourceVersion gets 410 Gone.
    pub fn compact(&self) {
        let mut store = self.store.lock().expect("store");
        store.compacted = store.rv;
        store.history.clear();
    }
}

fn key_of(plural: &str, object: &Value) -> (String, String, String) {
    (
        plural.to_string(),
        object["metadata"]["namespace"].as_str().unwrap_or("default").to_string(),
        object["metadata"]["name"].as_str().unwrap_or("").to_string(),
    )
}

struct Target {
    kind: Kind,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

impl Target {
    /// The store key of object `name` of this target's kind and namespace.
    fn key(&self, name: &str) -> (String, String, String) {
        (self.kind.plural.to_string(), self.namespace.clone().unwrap_or_default(), name.to_string())
    }
}

fn route(path: &str) -> Option<Target> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match parts.as_slice() {
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] => (Some(ns.to_string()), rest),
        rest => (None, rest),
    };
    let (plural, name, subresource) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(name.to_string()), None),
        [plural, name, sub] => (*plural, Some(name.to_string()), Some(sub.to_string())),
        _ => return None,
    };
    let kind = KINDS.iter().find(|k| k.group == group && k.version == version && k.plural == plural).copied()?;
    Some(Target { kind, namespace, name, subresource })
}

async fn handle(
    req: Request<Incoming>,
    store: Arc<Mutex<Store>>,
    changes: broadcast::Sender<Change>,
) -> Response<Body> {
    let path = req.uri().path().to_string();
    let q = query(&req);
    let method = req.method().clone();
    let Some(target) = route(&path) else { return error(404, "NotFound", format!("no route for {path}")) };
    let manager = q.get("fieldManager").cloned().unwrap_or_else(|| "unknown".to_string());
    let content_type =
        req.headers().get(hyper::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return error(400, "BadRequest", e.to_string()),
    };
    let parsed: Option<Value> = if body.is_empty() { None } else { serde_json::from_slice(&body).ok() };
    if !body.is_empty() && parsed.is_none() && method != Method::DELETE {
        return error(400, "BadRequest", "the body is not JSON");
    }

    match (method, &target.name) {
        (Method::GET, None) if q.get("watch").is_some_and(|w| w == "true" || w == "1") => {
            watch(&target, &q, &store, changes)
        }
        (Method::GET, None) => list(&target, &q, &store),
        (Method::GET, Some(name)) => {
            let s = store.lock().expect("store");
            let key = target.key(name);
            match s.objects.get(&key) {
                Some(o) => respond(200, o),
                None => error(404, "NotFound", format!("{} \"{name}\" not found", target.kind.plural)),
            }
        }
        (Method::POST, None) => create(&target, parsed.unwrap_or_default(), &store, &changes),
        (Method::PUT, Some(name)) => {
            let claim = Claim { manager: &manager, apply: None };
            write(&target, name, |_| Ok(parsed.clone().unwrap_or_default()), true, claim, &store, &changes)
        }
        (Method::PATCH, Some(name)) => {
            let Some(patch) = parsed else { return error(400, "BadRequest", "empty patch") };
            let apply = content_type.starts_with("application/apply-patch");
            if apply && lookup(&store, &target, name).is_none() {
                let mut object = patch.clone();
                object["metadata"]["name"] = json!(name);
                let response = create(&target, object, &store, &changes);
                if response.status() == StatusCode::CREATED {
                    let key = target.key(name);
                    let owned = leaves(&patch).into_keys().map(|p| (p, manager.clone())).collect();
                    store.lock().expect("store").owners.insert(key, owned);
                }
                return response;
            }
            let json_patch = content_type.starts_with("application/json-patch");
            let force = q.get("force").is_some_and(|f| f == "true");
            let applied = patch.clone();
            let claim = Claim { manager: &manager, apply: apply.then_some((&applied, force)) };
            write(
                &target,
                name,
                move |current| {
                    let mut next = current.clone();
                    if json_patch {
                        let ops: json_patch::Patch =
                            serde_json::from_value(patch.clone()).map_err(|e| (400, "BadRequest", e.to_string()))?;
                        json_patch::patch(&mut next, &ops)
                            .map_err(|e| (422, "Invalid", format!("the JSON patch failed: {e}")))?;
                    } else {
                        // merge, strategic merge (the same for the fields we use) and apply
                        let expected = patch["metadata"]["resourceVersion"].as_str().map(str::to_string);
                        if let Some(expected) = expected
                            && current["metadata"]["resourceVersion"].as_str() != Some(expected.as_str())
                        {
                            return Err((409, "Conflict", "the object has been modified; please apply your changes to the latest version and try again".into()));
                        }
                        merge(&mut next, &patch);
                    }
                    Ok(next)
                },
                false,
                claim,
                &store,
                &changes,
            )
        }
        (Method::DELETE, Some(name)) => delete(&target, name, &store, &changes),
        _ => error(405, "MethodNotAllowed", "not supported by the test server"),
    }
}

fn lookup(store: &Arc<Mutex<Store>>, target: &Target, name: &str) -> Option<Value> {
    let s = store.lock().expect("store");
    s.objects.get(&target.key(name)).cloned()
}

fn record(s: &mut Store, changes: &broadcast::Sender<Change>, kind: &Kind, type_: &'static str, object: Value) {
    let rv = object["metadata"]["resourceVersion"].as_str().and_then(|v| v.parse().ok()).unwrap_or(s.rv);
    let change = Change { rv, kind: kind.plural, type_, object };
    s.history.push(change.clone());
    let _ = changes.send(change);
}

fn create(
    target: &Target,
    mut object: Value,
    store: &Arc<Mutex<Store>>,
    changes: &broadcast::Sender<Change>,
) -> Response<Body> {
    let kind = target.kind;
    let Some(namespace) = target.namespace.clone() else {
        return error(405, "MethodNotAllowed", "create needs a namespace");
    };
    if object["metadata"]["name"].as_str().unwrap_or("").is_empty() {
        if let Some(prefix) = object["metadata"]["generateName"].as_str() {
            object["metadata"]["name"] = json!(format!("{prefix}{:05}", fastrand::u32(..100_000)));
        } else {
            return error(422, "Invalid", "metadata.name: Required value");
        }
    }
    object["apiVersion"] = json!(format!("{}/{}", kind.group, kind.version));
    object["kind"] = json!(kind.kind);
    if kind.status_subresource
        && let Some(map) = object.as_object_mut()
    {
        map.remove("status"); // status is set through the subresource only
    }
    if let Err(message) = validate(&kind, &object) {
        return error(422, "Invalid", format!("{} is invalid: {message}", kind.kind));
    }
    let mut s = store.lock().expect("store");
    object["metadata"]["namespace"] = json!(namespace);
    let key = key_of(kind.plural, &object);
    if s.objects.contains_key(&key) {
        return error(409, "AlreadyExists", format!("{} \"{}\" already exists", kind.plural, key.2));
    }
    s.rv += 1;
    let rv = s.rv;
    let meta = &mut object["metadata"];
    meta["resourceVersion"] = json!(rv.to_string());
    meta["uid"] = json!(format!("{:08x}-0000-4000-8000-{rv:012x}", fastrand::u32(..)));
    meta["creationTimestamp"] = json!(now());
    if kind.status_subresource {
        meta["generation"] = json!(1);
    }
    s.objects.insert(key, object.clone());
    record(&mut s, changes, &kind, "ADDED", object.clone());
    respond(201, &object)
}

/// Update an object through `change` (PUT or PATCH), with the subresource rules applied.
fn write(
    target: &Target,
    name: &str,
    change: impl FnOnce(&Value) -> Result<Value, (u16, &'static str, String)>,
    is_put: bool,
    claim: Claim<'_>,
    store: &Arc<Mutex<Store>>,
    changes: &broadcast::Sender<Change>,
) -> Response<Body> {
    let kind = target.kind;
    let key = target.key(name);
    let mut s = store.lock().expect("store");
    let Some(current) = s.objects.get(&key).cloned() else {
        return error(404, "NotFound", format!("{} \"{name}\" not found", kind.plural));
    };
    let mut next = match change(&current) {
        Ok(n) => n,
        Err((code, reason, message)) => return error(code, reason, message),
    };
    if is_put && next["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"] {
        return error(
            409,
            "Conflict",
            "the object has been modified; please apply your changes to the latest version and try again",
        );
    }
    let status_write = target.subresource.as_deref() == Some("status");
    if kind.status_subresource {
        if status_write {
            // Only status changes through /status.
            let status = next.get("status").cloned();
            next = current.clone();
            match status {
                Some(s) if !s.is_null() => next["status"] = s,
                _ => {
                    if let Some(map) = next.as_object_mut() {
                        map.remove("status");
                    }
                }
            }
        } else {
            // The main resource ignores status changes.
            match current.get("status") {
                Some(s) => next["status"] = s.clone(),
                None => {
                    if let Some(map) = next.as_object_mut() {
                        map.remove("status");
                    }
                }
            }
        }
    }
    // System fields are the server's.
    for field in ["uid", "creationTimestamp", "deletionTimestamp", "generation", "namespace", "name"] {
        next["metadata"][field] = current["metadata"][field].clone();
        if next["metadata"][field].is_null()
            && let Some(m) = next["metadata"].as_object_mut()
        {
            m.remove(field);
        }
    }
    if next == current {
        return respond(200, &current); // a no-op write does not bump the resourceVersion
    }
    if kind.status_subresource && !status_write && next.get("spec") != current.get("spec") {
        let generation = current["metadata"]["generation"].as_i64().unwrap_or(1);
        next["metadata"]["generation"] = json!(generation + 1);
    }
    if let Err(message) = validate(&kind, &next) {
        return error(422, "Invalid", format!("{} \"{name}\" is invalid: {message}", kind.kind));
    }
    let (before, after) = (leaves(&current), leaves(&next));
    let owners = s.owners.entry(key.clone()).or_default();
    if let Some((applied, false)) = claim.apply {
        for (path, value) in leaves(applied) {
            let taken = owners.get(&path).is_some_and(|m| m != claim.manager);
            if taken && before.get(&path) != Some(&value) {
                return error(
                    409,
                    "Conflict",
                    format!("Apply failed with 1 conflict: conflict with \"{}\": .{path}", owners[&path]),
                );
            }
        }
    }
    for path in before.keys().chain(after.keys()).cloned().collect::<std::collections::BTreeSet<_>>() {
        match (before.get(&path), after.get(&path)) {
            (_, None) => {
                owners.remove(&path);
            }
            (b, Some(a)) if b != Some(a) => {
                owners.insert(path, claim.manager.to_string());
            }
            _ => {}
        }
    }
    if let Some((applied, _)) = claim.apply {
        for path in leaves(applied).into_keys() {
            owners.insert(path, claim.manager.to_string());
        }
    }
    s.rv += 1;
    next["metadata"]["resourceVersion"] = json!(s.rv.to_string());
    let finalizers_left = next["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty());
    if !next["metadata"]["deletionTimestamp"].is_null() && !finalizers_left {
        s.objects.remove(&key);
        record(&mut s, changes, &kind, "DELETED", next.clone());
    } else {
        s.objects.insert(key, next.clone());
        record(&mut s, changes, &kind, "MODIFIED", next.clone());
    }
    respond(200, &next)
}

fn delete(
    target: &Target,
    name: &str,
    store: &Arc<Mutex<Store>>,
    changes: &broadcast::Sender<Change>,
) -> Response<Body> {
    let kind = target.kind;
    let key = target.key(name);
    let mut s = store.lock().expect("store");
    let Some(mut object) = s.objects.get(&key).cloned() else {
        return error(404, "NotFound", format!("{} \"{name}\" not found", kind.plural));
    };
    s.rv += 1;
    let rv = s.rv;
    let has_finalizers = object["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty());
    object["metadata"]["resourceVersion"] = json!(rv.to_string());
    if has_finalizers {
        if object["metadata"]["deletionTimestamp"].is_null() {
            object["metadata"]["deletionTimestamp"] = json!(now());
            object["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            if kind.status_subresource {
                let generation = object["metadata"]["generation"].as_i64().unwrap_or(1);
                object["metadata"]["generation"] = json!(generation + 1);
            }
        }
        s.objects.insert(key, object.clone());
        record(&mut s, changes, &kind, "MODIFIED", object.clone());
        respond(200, &object)
    } else {
        s.objects.remove(&key);
        record(&mut s, changes, &kind, "DELETED", object.clone());
        respond(200, &json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "details": {"name": name}}))
    }
}

fn in_scope(target: &Target, q: &BTreeMap<String, String>, object: &Value) -> bool {
    let namespace_ok =
        target.namespace.as_ref().is_none_or(|ns| object["metadata"]["namespace"].as_str() == Some(ns.as_str()));
    namespace_ok && matches_labels(object, q.get("labelSelector"))
}

fn list(target: &Target, q: &BTreeMap<String, String>, store: &Arc<Mutex<Store>>) -> Response<Body> {
    let s = store.lock().expect("store");
    let items: Vec<Value> = s
        .objects
        .iter()
        .filter(|((p, _, _), o)| p == target.kind.plural && in_scope(target, q, o))
        .map(|(_, o)| o.clone())
        .collect();
    respond(
        200,
        &json!({
            "apiVersion": format!("{}/{}", target.kind.group, target.kind.version),
            "kind": format!("{}List", target.kind.kind),
            "metadata": {"resourceVersion": s.rv.to_string()},
            "items": items,
        }),
    )
}

fn line(value: &Value) -> Result<Frame<Bytes>, Infallible> {
    Ok(Frame::data(Bytes::from(format!("{value}\n"))))
}

fn watch(
    target: &Target,
    q: &BTreeMap<String, String>,
    store: &Arc<Mutex<Store>>,
    changes: broadcast::Sender<Change>,
) -> Response<Body> {
    let from: u64 = q.get("resourceVersion").and_then(|v| v.parse().ok()).unwrap_or(0);
    let bookmarks = q.get("allowWatchBookmarks").is_some_and(|v| v == "true");
    let timeout = Duration::from_secs(q.get("timeoutSeconds").and_then(|v| v.parse().ok()).unwrap_or(290));
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(256);
    let mut live = changes.subscribe();
    let (backlog, current, expired) = {
        let s = store.lock().expect("store");
        let expired = from != 0 && from < s.compacted;
        let backlog: Vec<Change> =
            s.history.iter().filter(|c| c.rv > from && c.kind == target.kind.plural).cloned().collect();
        (backlog, s.rv, expired)
    };
    let (scope_ns, labels, kind) = (target.namespace.clone(), q.get("labelSelector").cloned(), target.kind);
    tokio::spawn(async move {
        let scope = Target { kind, namespace: scope_ns, name: None, subresource: None };
        let filter = BTreeMap::from([("labelSelector".to_string(), labels.unwrap_or_default())]);
        if expired {
            let _ = tx
                .send(line(&json!({"type": "ERROR", "object": status(410, "Expired", format!("too old resource version: {from}"))})))
                .await;
            return;
        }
        let mut sent = from;
        for c in backlog {
            if in_scope(&scope, &filter, &c.object)
                && tx.send(line(&json!({"type": c.type_, "object": c.object}))).await.is_err()
            {
                return;
            }
            sent = sent.max(c.rv);
        }
        sent = sent.max(current);
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = tick.tick(), if bookmarks => {
                    let bookmark = json!({"type": "BOOKMARK", "object": {
                        "apiVersion": format!("{}/{}", kind.group, kind.version), "kind": kind.kind,
                        "metadata": {"resourceVersion": sent.to_string()}}});
                    if tx.send(line(&bookmark)).await.is_err() { return; }
                }
                change = live.recv() => match change {
                    Ok(c) if c.rv > sent && c.kind == kind.plural => {
                        sent = c.rv;
                        if in_scope(&scope, &filter, &c.object)
                            && tx.send(line(&json!({"type": c.type_, "object": c.object}))).await.is_err()
                        {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let _ = tx.send(line(&json!({"type": "ERROR", "object": status(410, "Expired", "watch fell behind")}))).await;
                        return;
                    }
                    Err(_) => return,
                }
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let mut r = Response::new(BodyExt::boxed_unsync(StreamBody::new(stream.boxed())));
    r.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    r
}
