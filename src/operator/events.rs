//! Kubernetes Events (events.k8s.io/v1) about bridges, a repeat folded into a series.
//!
//! kube's `Recorder` keeps a full copy of every Event it published in the last 6 minutes (its
//! object reference twice, note, metadata), keyed by the object's resourceVersion: a burst of
//! 1,000 bridges converging held about 4 MiB of them (heaptrack, `cargo bench --bench operator`),
//! and a repeat after a status write (a new resourceVersion) was never folded. This recorder keeps
//! what folding needs, about 200 bytes an Event: the object's uid, the type, the reason and a hash
//! of the note → the Event's name and count, for the same 6 minutes, at most [`MAX_REMEMBERED`].

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event as K8sEvent, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Reporter};

/// A repeat within this long after the last one is counted on the same Event (as kube's Recorder).
const FOLD_WITHIN: Duration = Duration::from_secs(6 * 60);
/// Events remembered for folding at most; beyond it a repeat makes a new Event.
pub const MAX_REMEMBERED: usize = 4096;
/// How often the expired are dropped.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

#[derive(Hash, PartialEq, Eq)]
struct Key {
    /// The object's uid (its namespace/name if it has none).
    object: String,
    warning: bool,
    reason: String,
    note: u64,
}

struct Seen {
    /// The Event's name in the object's namespace.
    name: String,
    count: i32,
    last: Instant,
}

struct Memory {
    seen: HashMap<Key, Seen>,
    swept: Instant,
}

pub struct Recorder {
    client: Client,
    reporter: Reporter,
    memory: Mutex<Memory>,
}

impl Recorder {
    pub fn new(client: Client, reporter: Reporter) -> Recorder {
        Recorder { client, reporter, memory: Mutex::new(Memory { seen: HashMap::new(), swept: Instant::now() }) }
    }

    /// Create an Event about `regarding`, or count a repeat of the same type, reason and note
    /// within 6 minutes on the Event already made (`series.count`, `series.lastObservedTime`).
    pub async fn publish(&self, ev: &Event, regarding: &ObjectReference) -> Result<(), kube::Error> {
        let key = key(ev, regarding);
        let namespace = regarding.namespace.clone().unwrap_or_else(|| "default".into());
        let events: Api<K8sEvent> = Api::namespaced(self.client.clone(), &namespace);
        let repeat = {
            let mut memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
            memory.sweep();
            memory.seen.get(&key).filter(|s| s.last.elapsed() < FOLD_WITHIN).map(|s| (s.name.clone(), s.count + 1))
        };
        let now = jiff::Timestamp::now();
        if let Some((name, count)) = repeat {
            let series = serde_json::json!({
                "series": EventSeries { count, last_observed_time: MicroTime(now) }
            });
            match events.patch(&name, &PatchParams::default(), &Patch::Merge(&series)).await {
                Ok(_) => {
                    self.remember(key, name, count);
                    return Ok(());
                }
                // Gone (the apiserver's event TTL, or deleted): a new Event.
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let event = self.event(ev, regarding, namespace, now);
        let created = events.create(&PostParams::default(), &event).await?;
        self.remember(key, created.metadata.name.or(event.metadata.name).unwrap_or_default(), 1);
        Ok(())
    }

    fn remember(&self, key: Key, name: String, count: i32) {
        self.memory.lock().unwrap_or_else(|p| p.into_inner()).remember(key, name, count);
    }

    fn event(&self, ev: &Event, regarding: &ObjectReference, namespace: String, now: jiff::Timestamp) -> K8sEvent {
        let controller = &self.reporter.controller;
        K8sEvent {
            action: Some(ev.action.clone()),
            reason: Some(ev.reason.clone()),
            note: ev.note.clone(),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            related: ev.secondary.clone(),
            metadata: ObjectMeta {
                namespace: Some(namespace),
                name: Some(format!("{}.{:x}", regarding.name.as_deref().unwrap_or(controller), now.as_nanosecond())),
                ..Default::default()
            },
            reporting_controller: Some(controller.clone()),
            reporting_instance: Some(self.reporter.instance.clone().unwrap_or_else(|| controller.clone())),
            type_: Some(type_name(ev.type_).into()),
            ..Default::default()
        }
    }
}

impl Memory {
    fn remember(&mut self, key: Key, name: String, count: i32) {
        if self.seen.len() < MAX_REMEMBERED || self.seen.contains_key(&key) {
            self.seen.insert(key, Seen { name, count, last: Instant::now() });
        }
    }

    /// Drop what can no longer fold, and give back the room a burst took.
    fn sweep(&mut self) {
        if self.swept.elapsed() < SWEEP_EVERY {
            return;
        }
        self.swept = Instant::now();
        self.seen.retain(|_, s| s.last.elapsed() < FOLD_WITHIN);
        if self.seen.capacity() > 64 && self.seen.len() < self.seen.capacity() / 4 {
            self.seen.shrink_to_fit();
        }
    }
}

fn type_name(t: EventType) -> &'static str {
    match t {
        EventType::Normal => "Normal",
        EventType::Warning => "Warning",
    }
}

fn key(ev: &Event, regarding: &ObjectReference) -> Key {
    let object = regarding.uid.clone().unwrap_or_else(|| {
        format!(
            "{}/{}",
            regarding.namespace.as_deref().unwrap_or_default(),
            regarding.name.as_deref().unwrap_or_default()
        )
    });
    let mut hasher = DefaultHasher::new();
    (&ev.action, &ev.note, &ev.secondary.as_ref().and_then(|s| s.uid.clone())).hash(&mut hasher);
    Key { object, warning: matches!(ev.type_, EventType::Warning), reason: ev.reason.clone(), note: hasher.finish() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(uid: &str, rv: &str) -> ObjectReference {
        ObjectReference {
            name: Some("orders".into()),
            namespace: Some("team-a".into()),
            uid: Some(uid.into()),
            resource_version: Some(rv.into()),
            ..Default::default()
        }
    }

    fn warning(reason: &str, note: &str) -> Event {
        Event {
            type_: EventType::Warning,
            reason: reason.into(),
            note: Some(note.into()),
            action: "Reconcile".into(),
            secondary: None,
        }
    }

    #[test]
    fn a_repeat_folds_across_status_writes_and_another_note_does_not() {
        let a = key(&warning("DependencyMissing", "function f is gone"), &reference("u1", "10"));
        let b = key(&warning("DependencyMissing", "function f is gone"), &reference("u1", "11"));
        assert!(a == b, "a new resourceVersion (our own status write) is the same object");
        let other_note = key(&warning("DependencyMissing", "function g is gone"), &reference("u1", "11"));
        assert!(a != other_note, "another note is another Event");
        let other_object = key(&warning("DependencyMissing", "function f is gone"), &reference("u2", "10"));
        assert!(a != other_object);
        let normal = Event { type_: EventType::Normal, ..warning("DependencyMissing", "function f is gone") };
        assert!(a != key(&normal, &reference("u1", "10")));
    }

    #[test]
    fn the_memory_gives_back_what_a_burst_took() {
        let mut memory = Memory { seen: HashMap::new(), swept: Instant::now() - SWEEP_EVERY };
        let long_ago = Instant::now() - FOLD_WITHIN - Duration::from_secs(1);
        for i in 0..1000 {
            let k = key(&warning("Synced", "13 AWS changes"), &reference(&format!("u{i}"), "1"));
            let last = if i < 10 { Instant::now() } else { long_ago };
            memory.seen.insert(k, Seen { name: format!("e{i}"), count: 1, last });
        }
        memory.sweep();
        assert_eq!(memory.seen.len(), 10, "only the recent are kept");
        assert!(memory.seen.capacity() < 100, "room given back: capacity {}", memory.seen.capacity());
    }

    #[test]
    fn at_most_max_remembered_events_are_kept() {
        let mut memory = Memory { seen: HashMap::new(), swept: Instant::now() };
        for i in 0..MAX_REMEMBERED + 10 {
            let k = key(&warning("Synced", "13 AWS changes"), &reference(&format!("u{i}"), "1"));
            memory.remember(k, format!("e{i}"), 1);
        }
        assert_eq!(memory.seen.len(), MAX_REMEMBERED);
        // A repeat of one remembered still counts on.
        let k = key(&warning("Synced", "13 AWS changes"), &reference("u0", "2"));
        memory.remember(k, "e0".into(), 2);
        let k = key(&warning("Synced", "13 AWS changes"), &reference("u0", "3"));
        assert_eq!(memory.seen.get(&k).map(|s| s.count), Some(2));
    }
}
