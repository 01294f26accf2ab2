//! Shared gateways, Kubernetes-free: what a `WebhookBridgeGateway` makes in AWS (as a desired
//! state the engine reconciles like a bridge's, without routes or rules), what an attached
//! bridge takes from it ([`Attachment`]), who may attach ([`admission`]), and which of the
//! attached bridges gets a route key two claim and who fits the quotas ([`arbiter`]).

pub mod admission;
pub mod arbiter;
pub mod status;

use std::collections::BTreeMap;

use crate::api::{
    Authorization, AuthorizationType, EventMapping, HttpMethod, RouteSpec, WebhookBridge, WebhookBridgeGateway,
    WebhookBridgeSpec,
};
use crate::error::Error;
use crate::owner;

/// Prefix of the owner name of a gateway's AWS objects: a Kubernetes name cannot hold `_`, so a
/// gateway and a bridge of one name in one namespace never share an owner (or a default name).
pub const OWNER_PREFIX: &str = "gw_";

/// Where a gateway is, from a bridge in `namespace` (the ref's namespace defaults to it).
pub fn key_of(bridge: &WebhookBridge) -> Option<(String, String)> {
    let r = bridge.spec.gateway_ref.as_ref()?;
    let ns = r.namespace.clone().or_else(|| bridge.metadata.namespace.clone()).unwrap_or_else(|| "default".into());
    Some((ns, r.name.clone()))
}

/// The bridge-shaped spec a gateway reconciles as: its API, stage, authorizers (one JWT
/// placeholder route per authorizer is *not* made: authorizers come from `jwtAuthorizers`),
/// domain, bus, role, logs and archive, and no routes or rules. The engine reconciles it with
/// [`crate::desired::RouteScope::NoRoutes`]: the API's routes belong to the attached bridges.
pub fn as_bridge(gw: &WebhookBridgeGateway) -> WebhookBridge {
    let spec = &gw.spec;
    // Each authorizer is carried by a route the desired state keeps only for its authorizer
    // (see `desired::gateway`): the routes themselves are never planned.
    let routes = spec
        .jwt_authorizers
        .iter()
        .enumerate()
        .map(|(i, a)| RouteSpec {
            name: format!("authorizer-{i}"),
            method: HttpMethod::Post,
            path: format!("/authorizer-{i}"),
            authorization: Authorization {
                kind: AuthorizationType::Jwt,
                issuer: Some(a.issuer.clone()),
                audiences: Some(a.audiences.clone()),
                scopes: None,
            },
            event: EventMapping {
                source: "webhook-bridge.gateway".into(),
                detail_type: "authorizer".into(),
                detail: "$request.body".into(),
                time: None,
                resources: None,
                trace_header: None,
            },
        })
        .collect();
    let mut metadata = gw.metadata.clone();
    metadata.name = gw.metadata.name.as_ref().map(|n| format!("{OWNER_PREFIX}{n}"));
    WebhookBridge {
        metadata,
        spec: WebhookBridgeSpec {
            gateway_ref: None,
            region: spec.region.clone(),
            api: spec.api.clone(),
            event_bus: spec.event_bus.clone(),
            routes,
            webhook_sources: Vec::new(),
            rules: Vec::new(),
            role: spec.role.clone(),
            domain: spec.domain.clone(),
            deletion_policy: spec.deletion_policy,
            tags: spec.tags.clone(),
        },
        status: None,
    }
}

/// A field of [`as_bridge`]'s shape as the gateway's spec names it: the placeholder route
/// `spec.routes[i].authorization...` carries `spec.jwtAuthorizers[i]`.
pub fn gateway_field(field: &str) -> String {
    match field.strip_prefix("spec.routes[").and_then(|rest| rest.split_once(']')) {
        Some((i, rest)) => {
            let rest = rest.strip_prefix(".authorization").unwrap_or(rest);
            format!("spec.jwtAuthorizers[{i}]{rest}")
        }
        None => field.to_string(),
    }
}

/// What an attached bridge takes from its gateway: the shared objects, as the gateway's status
/// names them (read once per gateway, by the gateway's reconcile, never per bridge).
#[derive(Clone, Debug, PartialEq)]
pub struct Attachment {
    /// `namespace/name` of the gateway.
    pub gateway: String,
    pub region: String,
    pub api_id: String,
    /// The API endpoint (no stage).
    pub api_endpoint: Option<String>,
    pub stage: String,
    pub bus_arn: String,
    pub role_arn: String,
    /// JWT authorizer name → id.
    pub authorizers: BTreeMap<String, String>,
    /// Base URL on the gateway's custom domain, when it has one.
    pub domain_url: Option<String>,
    pub domain_name: Option<String>,
    /// The gateway's Custom Event Bus (`spec.customEventBus`), once it is ACTIVE: where the
    /// webhook sources of attached bridges put their events.
    pub custom_bus_arn: Option<String>,
}

/// The attachment a Ready gateway offers; `GatewayNotReady` (retryable) until its status names
/// the API, bus and role.
pub fn attachment(gw: &WebhookBridgeGateway, default_region: Option<&str>) -> Result<Attachment, Error> {
    attachment_as(gw, default_region, true)
}

/// [`attachment`]; `ready: false` takes the ids of a gateway that is not Ready (one being
/// deleted, waiting for its bridges: their deletes need its API and bus).
pub fn attachment_as(
    gw: &WebhookBridgeGateway,
    default_region: Option<&str>,
    ready: bool,
) -> Result<Attachment, Error> {
    let require_ready = ready;
    let key = format!(
        "{}/{}",
        gw.metadata.namespace.as_deref().unwrap_or("default"),
        gw.metadata.name.as_deref().unwrap_or("")
    );
    let not_ready = |what: &str| {
        Error::GatewayNotReady(format!("gateway {key} is not ready yet ({what}); the bridge attaches once it is"))
    };
    let status = gw.status.as_ref().ok_or_else(|| not_ready("no status"))?;
    let ready = status.conditions.iter().any(|c| c.type_ == crate::api::READY && c.status == "True")
        && status.observed_generation.is_some()
        && status.observed_generation >= gw.metadata.generation.or(Some(0));
    if require_ready && !ready {
        return Err(not_ready("not Ready at its current generation"));
    }
    let region =
        gw.spec.region.clone().or_else(|| default_region.map(str::to_string)).ok_or_else(|| not_ready("no region"))?;
    Ok(Attachment {
        gateway: key.clone(),
        region,
        api_id: status.api_id.clone().ok_or_else(|| not_ready("no API id"))?,
        api_endpoint: status.api_endpoint.clone(),
        stage: status.stage.clone().ok_or_else(|| not_ready("no stage"))?,
        bus_arn: status.event_bus.as_ref().map(|b| b.arn.clone()).ok_or_else(|| not_ready("no bus"))?,
        role_arn: status.role.as_ref().map(|r| r.arn.clone()).ok_or_else(|| not_ready("no role"))?,
        authorizers: status.authorizers.iter().map(|a| (a.name.clone(), a.id.clone())).collect(),
        domain_url: status.domain.as_ref().map(|d| d.url.clone()),
        domain_name: status.domain.as_ref().map(|d| d.name.clone()),
        custom_bus_arn: status.custom_event_bus.as_ref().map(|b| b.arn.clone()),
    })
}

/// What a Ready gateway's status says an earlier pass found, for a resync by id (the engine
/// falls back to the full search when anything differs).
pub fn known(gw: &WebhookBridgeGateway) -> Option<crate::observed::Known> {
    let status = gw.status.as_ref()?;
    let ready = status.conditions.iter().any(|c| c.type_ == crate::api::READY && c.status == "True");
    if !ready || status.observed_generation != gw.metadata.generation {
        return None;
    }
    Some(crate::observed::Known {
        api_id: status.api_id.clone()?,
        endpoint: Some(status.api_endpoint.clone()?),
        rules: Default::default(),
        read_api: true,
        domain: status.domain.as_ref().map(|d| d.name.clone()),
        log_group: status.access_log_group.is_some(),
        archive: gw.spec.event_bus.archive.is_some(),
        routes: Vec::new(),
    })
}

/// The name of the authorizer a JWT route of an attached bridge uses (the gateway's, by issuer
/// and audiences).
pub fn authorizer_for(route: &RouteSpec) -> Option<String> {
    match (&route.authorization.kind, &route.authorization.issuer) {
        (AuthorizationType::Jwt, Some(issuer)) => {
            Some(owner::authorizer_name(issuer, route.authorization.audiences.as_deref().unwrap_or_default()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;

/// Where the engine finds gateways, namespace labels and the arbiter's verdicts (the operator:
/// watches; the CLI: the files it was given).
pub trait GatewaySource: Send + Sync {
    /// The gateway `namespace/name`: `GatewayNotFound` (retryable) when there is none.
    fn gateway(&self, namespace: &str, name: &str) -> Result<WebhookBridgeGateway, Error>;
    /// The labels of a namespace, for `allowedRoutes.namespaces.from: Selector` (None: unknown).
    fn namespace_labels(&self, namespace: &str) -> Option<BTreeMap<String, String>>;
    /// The arbiter's verdict on `bridge` among every bridge attached to `gw`.
    fn verdict(&self, gw: &WebhookBridgeGateway, bridge: &WebhookBridge) -> arbiter::Verdict;
}

/// No gateway is known (the default): every bridge naming one waits, `GatewayNotFound`.
pub struct NoGateways;

impl GatewaySource for NoGateways {
    fn gateway(&self, namespace: &str, name: &str) -> Result<WebhookBridgeGateway, Error> {
        Err(Error::GatewayNotFound(format!("WebhookBridgeGateway {namespace}/{name} not found")))
    }
    fn namespace_labels(&self, _: &str) -> Option<BTreeMap<String, String>> {
        None
    }
    fn verdict(&self, _: &WebhookBridgeGateway, _: &WebhookBridge) -> arbiter::Verdict {
        arbiter::Verdict::default()
    }
}

/// Gateways and bridges held in memory (the CLI's files, tests): the verdicts come from
/// [`arbiter::arbitrate`] over the bridges given.
#[derive(Clone, Debug, Default)]
pub struct StaticGateways {
    pub gateways: Vec<WebhookBridgeGateway>,
    pub bridges: Vec<WebhookBridge>,
}

impl GatewaySource for StaticGateways {
    fn gateway(&self, namespace: &str, name: &str) -> Result<WebhookBridgeGateway, Error> {
        self.gateways
            .iter()
            .find(|g| {
                g.metadata.name.as_deref() == Some(name)
                    && g.metadata.namespace.as_deref().unwrap_or("default") == namespace
            })
            .cloned()
            .ok_or_else(|| {
                Error::GatewayNotFound(format!(
                    "WebhookBridgeGateway {namespace}/{name} not found (the CLI knows the gateways in the files it is given)"
                ))
            })
    }
    fn namespace_labels(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        Some(BTreeMap::from([("kubernetes.io/metadata.name".to_string(), namespace.to_string())]))
    }
    fn verdict(&self, gw: &WebhookBridgeGateway, bridge: &WebhookBridge) -> arbiter::Verdict {
        let gw_key = (
            gw.metadata.namespace.clone().unwrap_or_else(|| "default".into()),
            gw.metadata.name.clone().unwrap_or_default(),
        );
        let on: Vec<&WebhookBridge> = self.bridges.iter().filter(|b| key_of(b).as_ref() == Some(&gw_key)).collect();
        let (verdicts, _) = arbiter::arbitrate(gw, &on);
        let id = bridge.metadata.uid.clone().unwrap_or_else(|| {
            format!(
                "{}/{}",
                bridge.metadata.namespace.as_deref().unwrap_or("default"),
                bridge.metadata.name.as_deref().unwrap_or("")
            )
        });
        verdicts.get(&id).cloned().unwrap_or_default()
    }
}
