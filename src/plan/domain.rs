//! Planning the custom domain: the API Gateway domain name (REGIONAL, TLS 1.2) and the API
//! mapping that serves the stage under it.

use super::{Action, conflict};
use crate::desired::Desired;
use crate::observed::{ObsDomain, Observed};
use crate::owner::Ownership;

/// The only endpoint type and TLS policy HTTP APIs can be mapped to.
pub const ENDPOINT_TYPE: &str = "REGIONAL";
pub const SECURITY_POLICY: &str = "TLS_1_2";

fn ours(d: &Desired, domain: &ObsDomain) -> bool {
    d.owner.ownership(&domain.tags) == Ownership::Ours
}

pub(super) fn plan_domain(
    d: &Desired,
    o: &Observed,
    actions: &mut Vec<Action>,
    gc: &mut Vec<Action>,
) -> Result<(), super::Error> {
    let api_ids: Vec<&str> = o.apis.iter().map(|a| a.id.as_str()).collect();
    let kept_api = o.api().map(|a| a.id.as_str());
    if let Some(want) = &d.domain {
        match o.domains.iter().find(|x| x.name == want.name) {
            None => {
                actions.push(Action::CreateDomain { name: want.name.clone() });
                actions.push(Action::CreateApiMapping { domain: want.name.clone() });
            }
            Some(domain) if !ours(d, domain) => {
                return Err(conflict(
                    "spec.domain.name",
                    format!(
                        "custom domain name {} already exists in this account and is not owned by this bridge",
                        want.name
                    ),
                ));
            }
            Some(domain) => {
                if domain.certificate_arn.as_deref() != Some(want.certificate_arn.as_str())
                    || domain.endpoint_type.as_deref() != Some(ENDPOINT_TYPE)
                    || domain.security_policy.as_deref() != Some(SECURITY_POLICY)
                {
                    actions.push(Action::UpdateDomain { name: want.name.clone() });
                }
                // The mapping at the spec's key serves our stage; mappings of ours at other
                // keys (an old basePath) go. Mappings of other APIs on our domain are left alone.
                match domain.mappings.iter().find(|m| m.key == want.base_path) {
                    None => actions.push(Action::CreateApiMapping { domain: want.name.clone() }),
                    Some(m) if Some(m.api_id.as_str()) != kept_api || m.stage != d.stage.name => {
                        actions.push(Action::UpdateApiMapping { domain: want.name.clone(), id: m.id.clone() })
                    }
                    Some(_) => {}
                }
                for m in &domain.mappings {
                    if m.key != want.base_path && api_ids.contains(&m.api_id.as_str()) {
                        gc.push(Action::DeleteApiMapping { domain: domain.name.clone(), id: m.id.clone() });
                    }
                }
            }
        }
    }
    // Domains of ours the spec no longer names: their mappings, then the domain.
    for domain in &o.domains {
        if d.domain.as_ref().is_some_and(|w| w.name == domain.name) || !ours(d, domain) {
            continue;
        }
        delete_domain(domain, gc);
    }
    Ok(())
}

/// Remove a domain of ours: mappings first (AWS removes them with the domain, moto does not).
pub(super) fn delete_domain(domain: &ObsDomain, into: &mut Vec<Action>) {
    for m in &domain.mappings {
        into.push(Action::DeleteApiMapping { domain: domain.name.clone(), id: m.id.clone() });
    }
    into.push(Action::DeleteDomain { name: domain.name.clone() });
}
