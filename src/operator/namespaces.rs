//! One watch stream over several namespaces, for one reflector store and one controller.
//!
//! With `--namespaces a,b,c` (namespaced RBAC: no cluster-wide list is allowed) each namespace
//! needs its own watch. Running one controller per namespace gave each its own scheduler, store
//! and `--concurrency`: 101 namespaces meant 1,616 reconciles at once and about 4 MiB per
//! namespace (benches/gateway.rs, 10,000 bridges). This merges the watches into one stream a
//! single store can take.
//!
//! A reflector's store swaps in a whole new map at each `InitDone`, which is right for one
//! watch and wrong for several: one namespace's relist would wipe the others. So the merged
//! stream turns each namespace's (re)list into plain upserts, and at its end deletes what that
//! namespace's list no longer holds; the store gets a single `Init`..`InitDone` (a copy of
//! what it already holds) once every namespace has listed, which is when it becomes ready.

use std::collections::{BTreeMap, HashSet};

use futures::{Stream, StreamExt};
use kube::Resource;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher::{self, Event};

/// What one namespace's watch said, tagged with the namespace's index.
pub type Tagged<K> = (usize, Result<Event<K>, watcher::Error>);

/// Watch `namespaces` (none: the whole cluster, one watch) as one stream for the writer of
/// `reader`. A single watch passes straight through.
pub fn watch_all<K>(
    client: kube::Client,
    namespaces: &[String],
    config: watcher::Config,
    reader: Store<K>,
) -> impl Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    use kube::runtime::WatchStreamExt;
    let apis: Vec<kube::Api<K>> = if namespaces.is_empty() {
        vec![kube::Api::all(client)]
    } else {
        namespaces.iter().map(|ns| kube::Api::namespaced(client.clone(), ns)).collect()
    };
    if apis.len() == 1 {
        let api = apis.into_iter().next().expect("one api");
        return watcher::watcher(api, config).default_backoff().left_stream();
    }
    let tagged = futures::stream::select_all(
        apis.into_iter()
            .enumerate()
            .map(|(i, api)| watcher::watcher(api, config.clone()).default_backoff().map(move |e| (i, e)).boxed()),
    );
    merge(tagged, namespaces.to_vec(), reader).right_stream()
}

/// The merge itself, over already tagged events (tests feed it by hand).
pub fn merge<K>(
    tagged: impl Stream<Item = Tagged<K>> + Send + 'static,
    namespaces: Vec<String>,
    reader: Store<K>,
) -> impl Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    let state = Merge { namespaces, listing: BTreeMap::new(), listed: HashSet::new(), ready: false };
    tagged
        .scan(state, move |state, (i, event)| {
            let out = state.step(i, event, &reader);
            futures::future::ready(Some(futures::stream::iter(out)))
        })
        .flatten()
}

struct Merge<K: Resource<DynamicType = ()>> {
    /// The namespace of each watch, by index.
    namespaces: Vec<String>,
    /// Per namespace in a (re)list: the objects it has listed so far.
    listing: BTreeMap<usize, HashSet<ObjectRef<K>>>,
    /// The namespaces that have finished a first list.
    listed: HashSet<usize>,
    /// Whether the store was told `InitDone`.
    ready: bool,
}

impl<K: Resource<DynamicType = ()> + Clone> Merge<K> {
    fn step(
        &mut self,
        i: usize,
        event: Result<Event<K>, watcher::Error>,
        reader: &Store<K>,
    ) -> Vec<Result<Event<K>, watcher::Error>> {
        let event = match event {
            Ok(e) => e,
            Err(e) => return vec![Err(e)],
        };
        match event {
            Event::Apply(o) => vec![Ok(Event::Apply(o))],
            Event::Delete(o) => vec![Ok(Event::Delete(o))],
            Event::Init => {
                self.listing.insert(i, HashSet::new());
                Vec::new()
            }
            Event::InitApply(o) => {
                self.listing.entry(i).or_default().insert(ObjectRef::from_obj(&o));
                vec![Ok(Event::Apply(o))]
            }
            Event::InitDone => {
                let listed = self.listing.remove(&i).unwrap_or_default();
                // What the store holds of this namespace and its list no longer has was
                // deleted while the watch was down.
                let mut out: Vec<Result<Event<K>, watcher::Error>> = Vec::new();
                if let Some(ns) = self.namespaces.get(i) {
                    for gone in reader.state().iter().filter(|o| {
                        o.meta().namespace.as_deref() == Some(ns.as_str())
                            && !listed.contains(&ObjectRef::from_obj(&***o))
                    }) {
                        out.push(Ok(Event::Delete((**gone).clone())));
                    }
                }
                self.listed.insert(i);
                if !self.ready && self.listed.len() == self.namespaces.len() {
                    self.ready = true;
                    // The store swaps in this copy of what it holds, and is ready.
                    out.push(Ok(Event::Init));
                    let deleted: HashSet<ObjectRef<K>> = out
                        .iter()
                        .filter_map(|e| match e {
                            Ok(Event::Delete(o)) => Some(ObjectRef::from_obj(o)),
                            _ => None,
                        })
                        .collect();
                    for o in reader.state() {
                        if !deleted.contains(&ObjectRef::from_obj(&*o)) {
                            out.push(Ok(Event::InitApply((*o).clone())));
                        }
                    }
                    out.push(Ok(Event::InitDone));
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::runtime::reflector;

    fn cm(ns: &str, name: &str) -> ConfigMap {
        let mut c = ConfigMap::default();
        c.metadata.namespace = Some(ns.into());
        c.metadata.name = Some(name.into());
        c
    }

    /// Feed `events` through the merge into a store; what it holds (sorted ns/name) and whether
    /// it is ready.
    async fn run(events: Vec<Tagged<ConfigMap>>) -> (Vec<String>, bool, Vec<String>) {
        let (reader, mut writer) = reflector::store::<ConfigMap>();
        let merged = merge(futures::stream::iter(events), vec!["a".into(), "b".into()], reader.clone());
        futures::pin_mut!(merged);
        let mut applied = Vec::new();
        while let Some(e) = merged.next().await {
            let e = e.unwrap_or_else(|e| panic!("{e}"));
            if let Event::Apply(o) | Event::InitApply(o) = &e {
                applied.push(format!(
                    "{}/{}",
                    o.metadata.namespace.as_deref().unwrap_or(""),
                    o.metadata.name.as_deref().unwrap_or("")
                ));
            }
            writer.apply_watcher_event(&e);
        }
        let mut held: Vec<String> = reader
            .state()
            .iter()
            .map(|o| {
                format!(
                    "{}/{}",
                    o.metadata.namespace.as_deref().unwrap_or(""),
                    o.metadata.name.as_deref().unwrap_or("")
                )
            })
            .collect();
        held.sort();
        let ready = reader.wait_until_ready().now_or_never().is_some();
        (held, ready, applied)
    }

    use futures::FutureExt;

    #[tokio::test]
    async fn one_namespace_listing_never_wipes_another() {
        let (held, ready, _) = run(vec![
            (0, Ok(Event::Init)),
            (1, Ok(Event::Init)),
            (0, Ok(Event::InitApply(cm("a", "x")))),
            (1, Ok(Event::InitApply(cm("b", "y")))),
            (0, Ok(Event::InitDone)),
            (0, Ok(Event::Apply(cm("a", "z")))),
        ])
        .await;
        assert_eq!(held, ["a/x", "a/z", "b/y"]);
        assert!(!ready, "not ready until every namespace has listed");

        let (held, ready, _) = run(vec![
            (0, Ok(Event::Init)),
            (1, Ok(Event::Init)),
            (0, Ok(Event::InitApply(cm("a", "x")))),
            (0, Ok(Event::InitDone)),
            (1, Ok(Event::InitApply(cm("b", "y")))),
            (1, Ok(Event::InitDone)),
        ])
        .await;
        assert_eq!(held, ["a/x", "b/y"]);
        assert!(ready, "ready once both have listed");
    }

    #[tokio::test]
    async fn a_relist_deletes_what_its_namespace_lost_and_only_that() {
        let (held, ready, _) = run(vec![
            (0, Ok(Event::Init)),
            (0, Ok(Event::InitApply(cm("a", "x")))),
            (0, Ok(Event::InitApply(cm("a", "gone")))),
            (0, Ok(Event::InitDone)),
            (1, Ok(Event::Init)),
            (1, Ok(Event::InitApply(cm("b", "y")))),
            (1, Ok(Event::InitDone)),
            // a's watch desynced (410) and relisted: "gone" was deleted meanwhile.
            (0, Ok(Event::Init)),
            (0, Ok(Event::InitApply(cm("a", "x")))),
            (0, Ok(Event::InitDone)),
            // b relists to nothing: all of b goes, a stays.
            (1, Ok(Event::Init)),
            (1, Ok(Event::InitDone)),
        ])
        .await;
        assert_eq!(held, ["a/x"]);
        assert!(ready);
    }

    #[tokio::test]
    async fn errors_pass_through_and_a_delete_removes() {
        let (reader, _writer) = reflector::store::<ConfigMap>();
        let merged = merge(
            futures::stream::iter(vec![
                (0, Err(watcher::Error::NoResourceVersion)),
                (1, Ok(Event::Delete(cm("b", "y")))),
            ]),
            vec!["a".into(), "b".into()],
            reader,
        );
        let out: Vec<_> = merged.collect().await;
        assert!(matches!(out[0], Err(watcher::Error::NoResourceVersion)));
        assert!(matches!(&out[1], Ok(Event::Delete(o)) if o.metadata.name.as_deref() == Some("y")));
    }
}
