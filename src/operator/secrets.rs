//! The Kubernetes Secrets webhook sources name (`spec.webhookSources[].secretRef`): read with a
//! `get` at each reconcile of the bridge that names them (never cached: the operator keeps no
//! secret value in memory between passes), and watched by their metadata only (a
//! watcher of `PartialObjectMeta<Secret>`: names and resourceVersions, never a value), so that an edit of a Secret
//! triggers exactly the bridges of its namespace that reference it, and the credential rotates
//! within seconds rather than at the next resync. RBAC: `get`, `list` and `watch` on secrets, in
//! the operator's namespaces (a Role each with `operator.namespaces`) or cluster-wide.

use futures::StreamExt;
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::core::DeserializeGuard;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};

use crate::api::WebhookBridge;
use crate::desired_webhook::{SecretRead, SecretSource, SecretValue};
use crate::error::{Error, FieldError};

/// Secrets read from the apiserver, as the operator's ServiceAccount.
pub struct KubeSecrets {
    pub client: kube::Client,
}

impl SecretSource for KubeSecrets {
    fn get<'a>(
        &'a self,
        namespace: &'a str,
        name: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<SecretRead>, Error>> {
        Box::pin(async move {
            let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
            // The error text of a failed read names the Secret, never a value.
            let secret = api.get_opt(name).await.map_err(|e| {
                Error::DependencyMissing(FieldError::new(
                    "spec.webhookSources[].secretRef",
                    format!("Secret {namespace}/{name} could not be read: {}", kube_reason(&e)),
                ))
            })?;
            let Some(secret) = secret else { return Ok(None) };
            let version = secret.metadata.resource_version.clone();
            let Some(bytes) = secret.data.as_ref().and_then(|d| d.get(key)) else { return Ok(None) };
            let value = String::from_utf8(bytes.0.clone()).map_err(|_| {
                Error::invalid(
                    "spec.webhookSources[].secretRef",
                    format!("Secret {namespace}/{name} key {key} is not UTF-8 text (EventBridge takes the credential as text)"),
                )
            })?;
            Ok(Some(SecretRead { value: SecretValue::from_secret_data(value), version }))
        })
    }
}

fn kube_reason(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({})", s.message, s.code),
        other => other.to_string(),
    }
}

/// Bridges to reconcile when a Secret changes: those of its namespace whose webhook sources
/// name it. Only Secrets' metadata is watched.
pub fn retriggered(
    client: kube::Client,
    namespaces: &[String],
    reader: Store<DeserializeGuard<WebhookBridge>>,
) -> impl futures::Stream<Item = ObjectRef<DeserializeGuard<WebhookBridge>>> + Send + 'static {
    let apis: Vec<Api<PartialObjectMeta<Secret>>> = if namespaces.is_empty() {
        vec![Api::all(client)]
    } else {
        namespaces.iter().map(|ns| Api::namespaced(client.clone(), ns)).collect()
    };
    let changes = futures::stream::select_all(
        apis.into_iter()
            .map(|api| watcher(api, watcher::Config::default()).default_backoff().touched_objects().boxed()),
    );
    changes.flat_map(move |event| {
        let refs: Vec<_> = match event {
            Ok(meta) => {
                let (ns, name) = (meta.metadata.namespace.unwrap_or_default(), meta.metadata.name.unwrap_or_default());
                reader
                    .state()
                    .iter()
                    .filter(|b| b.0.as_ref().is_ok_and(|bridge| references(bridge, &ns, &name)))
                    .map(|b| ObjectRef::from_obj(b.as_ref()))
                    .collect()
            }
            Err(e) => {
                tracing::debug!(error = %e, "secret watch");
                Vec::new()
            }
        };
        futures::stream::iter(refs)
    })
}

/// Whether a bridge's webhook sources name Secret `namespace/name`.
pub fn references(bridge: &WebhookBridge, namespace: &str, name: &str) -> bool {
    bridge.metadata.namespace.as_deref().unwrap_or("default") == namespace
        && bridge.spec.webhook_sources.iter().any(|s| s.secret_ref.as_ref().is_some_and(|r| r.name == name))
}
