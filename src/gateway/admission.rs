//! Whether a gateway accepts a bridge (its side of the two-way agreement; the namespace's
//! WebhookBridgePolicy says the other, in `crate::tenancy`): the namespace (`allowedRoutes`),
//! the route paths (`allowedRoutes.pathPrefix`) and the JWT authorizers its routes name.

use std::collections::BTreeMap;

use crate::api::gateway::FromNamespaces;
use crate::api::{WebhookBridge, WebhookBridgeGateway};
use crate::error::{Error, FieldError};
use crate::owner;

fn gateway_key(gw: &WebhookBridgeGateway) -> String {
    format!("{}/{}", gw.metadata.namespace.as_deref().unwrap_or("default"), gw.metadata.name.as_deref().unwrap_or(""))
}

/// The path prefix the gateway gives a bridge of `namespace`, if any.
pub fn path_prefix(gw: &WebhookBridgeGateway, namespace: &str) -> Option<String> {
    gw.spec.allowed_routes.path_prefix.as_ref().map(|p| p.replace("{namespace}", namespace))
}

/// Does the gateway take bridges from `namespace` (with these labels; `None`: labels unknown)?
pub fn namespace_allowed(
    gw: &WebhookBridgeGateway,
    namespace: &str,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    let ns = &gw.spec.allowed_routes.namespaces;
    match ns.from {
        FromNamespaces::Same => gw.metadata.namespace.as_deref().unwrap_or("default") == namespace,
        FromNamespaces::All => true,
        FromNamespaces::Selector => match (&ns.selector, labels) {
            (Some(selector), Some(labels)) => selector.matches(labels),
            _ => false,
        },
    }
}

/// Every rule of the gateway's side; terminal errors naming the field.
pub fn check(
    gw: &WebhookBridgeGateway,
    bridge: &WebhookBridge,
    labels: Option<&BTreeMap<String, String>>,
) -> Result<(), Error> {
    let namespace = bridge.metadata.namespace.as_deref().unwrap_or("default");
    let key = gateway_key(gw);
    if !namespace_allowed(gw, namespace, labels) {
        let from = match gw.spec.allowed_routes.namespaces.from {
            FromNamespaces::Same => "Same",
            FromNamespaces::All => "All",
            FromNamespaces::Selector => "Selector",
        };
        return Err(Error::NotAllowedByGateway(format!(
            "gateway {key} does not accept bridges from namespace {namespace} (its allowedRoutes.namespaces.from is {from}); ask the platform team"
        )));
    }
    let mut errors = Vec::new();
    if let Some(prefix) = path_prefix(gw, namespace) {
        for (i, r) in bridge.spec.routes.iter().enumerate() {
            if !r.path.starts_with(&prefix) {
                errors.push(FieldError::new(
                    format!("spec.routes[{i}].path"),
                    format!("{} is outside {prefix}, the part of gateway {key}'s URL space this namespace may use (allowedRoutes.pathPrefix)", r.path),
                ));
            }
        }
    }
    let offered: Vec<String> =
        gw.spec.jwt_authorizers.iter().map(|a| owner::authorizer_name(&a.issuer, &a.audiences)).collect();
    for (i, r) in bridge.spec.routes.iter().enumerate() {
        if let Some(name) = super::authorizer_for(r)
            && !offered.contains(&name)
        {
            errors.push(FieldError::new(
                format!("spec.routes[{i}].authorization"),
                format!(
                    "gateway {key} has no JWT authorizer for issuer {} with exactly these audiences; the platform team adds it to the gateway's spec.jwtAuthorizers",
                    r.authorization.issuer.as_deref().unwrap_or_default()
                ),
            ));
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(Error::InvalidSpec(errors)) }
}
