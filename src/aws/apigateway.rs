//! API Gateway v2 (HTTP APIs): find our API by ownership tags, read its children, write changes.

use aws_sdk_apigatewayv2::Client;
use aws_sdk_apigatewayv2::types::{
    AccessLogSettings, Api, AuthorizationType, Authorizer, AuthorizerType, Cors as AwsCors, Integration,
    IntegrationType, JwtConfiguration, ProtocolType, Route, RouteSettings, Stage,
};
use aws_smithy_types::retry::RetryConfig;

use crate::api::Cors;
use crate::aws::{gone_ok, has_code};
use crate::desired::{
    Desired, DesiredRoute, INTEGRATION_SUBTYPE, INTEGRATION_TIMEOUT_MS, JWT_IDENTITY_SOURCE, NO_STAGE_LIMIT,
    PAYLOAD_FORMAT_VERSION, RouteScope,
};
use crate::error::{Error, classify};
use crate::observed::{Known, ObsApi, ObsAuthorizer, ObsIntegration, ObsRoute, ObsStage, Observed, Tags};
use crate::owner::{Owner, Ownership};

const SVC: &str = "apigateway";
const PAGE: &str = "500";
const NOT_FOUND: &[&str] = &["NotFoundException"];

fn tags_of(tags: Option<&std::collections::HashMap<String, String>>) -> Tags {
    tags.map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}

fn cors_of(c: &AwsCors) -> Cors {
    Cors {
        allow_origins: c.allow_origins().to_vec(),
        allow_methods: c.allow_methods().to_vec(),
        allow_headers: c.allow_headers().to_vec(),
        expose_headers: c.expose_headers().to_vec(),
        max_age: c.max_age(),
        allow_credentials: c.allow_credentials(),
    }
}

fn aws_cors(c: &Cors) -> AwsCors {
    AwsCors::builder()
        .set_allow_origins(Some(c.allow_origins.clone()))
        .set_allow_methods(Some(c.allow_methods.clone()))
        .set_allow_headers(Some(c.allow_headers.clone()))
        .set_expose_headers(Some(c.expose_headers.clone()))
        .set_max_age(c.max_age)
        .set_allow_credentials(c.allow_credentials)
        .build()
}

fn api_of(api: &Api, tags: Tags) -> ObsApi {
    ObsApi {
        id: api.api_id().unwrap_or_default().to_string(),
        name: api.name().unwrap_or_default().to_string(),
        endpoint: api.api_endpoint().map(str::to_string),
        description: api.description().map(str::to_string),
        cors: api.cors_configuration().map(cors_of),
        tags,
        created: api.created_date().map(|d| d.secs()).unwrap_or(0),
    }
}

fn stage_of(s: &Stage) -> ObsStage {
    ObsStage {
        name: s.stage_name().unwrap_or_default().to_string(),
        auto_deploy: s.auto_deploy().unwrap_or(false),
        throttling: s.default_route_settings().and_then(|r| {
            match (r.throttling_burst_limit(), r.throttling_rate_limit()) {
                (Some(b), Some(r)) => Some((b, r)),
                _ => None,
            }
        }),
        access_log: s.access_log_settings().and_then(|a| match (a.destination_arn(), a.format()) {
            (Some(arn), Some(format)) => Some((arn.to_string(), format.to_string())),
            _ => None,
        }),
        tags: tags_of(s.tags()),
    }
}

fn authorizer_of(a: &Authorizer) -> ObsAuthorizer {
    ObsAuthorizer {
        id: a.authorizer_id().unwrap_or_default().to_string(),
        name: a.name().unwrap_or_default().to_string(),
        issuer: a.jwt_configuration().and_then(|j| j.issuer()).map(str::to_string),
        audiences: a.jwt_configuration().map(|j| j.audience().to_vec()).unwrap_or_default(),
    }
}

fn integration_of(i: &Integration) -> ObsIntegration {
    ObsIntegration {
        id: i.integration_id().unwrap_or_default().to_string(),
        description: i.description().map(str::to_string),
        integration_type: i.integration_type().map(|t| t.as_str().to_string()),
        subtype: i.integration_subtype().map(str::to_string),
        request_parameters: i
            .request_parameters()
            .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        credentials_arn: i.credentials_arn().map(str::to_string),
        payload_format_version: i.payload_format_version().map(str::to_string),
        timeout_ms: i.timeout_in_millis(),
    }
}

fn route_of(r: &Route) -> ObsRoute {
    ObsRoute {
        id: r.route_id().unwrap_or_default().to_string(),
        route_key: r.route_key().unwrap_or_default().to_string(),
        target: r.target().map(str::to_string),
        authorization_type: r.authorization_type().map(|t| t.as_str().to_string()),
        authorizer_id: r.authorizer_id().filter(|id| !id.is_empty()).map(str::to_string),
        scopes: r.authorization_scopes().to_vec(),
        operation_name: r.operation_name().map(str::to_string),
    }
}

/// Read every API carrying our tags, and the children of the one to keep.
pub async fn observe(
    client: &Client,
    owner: &Owner,
    scope: RouteScope,
    want_authorizers: bool,
    into: &mut Observed,
) -> Result<(), Error> {
    let all: Vec<Api> = all_pages!(client.get_apis(), "GetApis");
    let mut apis: Vec<ObsApi> = all
        .iter()
        .filter_map(|api| {
            let tags = tags_of(api.tags());
            (owner.ownership(&tags) == Ownership::Ours).then(|| api_of(api, tags))
        })
        .collect();
    if apis.len() > 1 {
        // Duplicates (a retried CreateApi, two writers): keep the one carrying the most routes,
        // then the oldest. Creation times tie at AWS's one-second resolution, so age alone
        // could pick an empty duplicate and rebuild everything in it.
        let mut ranked = Vec::with_capacity(apis.len());
        for api in apis {
            let routes: Vec<Route> = all_pages!(client.get_routes().api_id(&api.id), "GetRoutes");
            ranked.push((std::cmp::Reverse(routes.len()), api));
        }
        ranked.sort_by(|(ra, a), (rb, b)| (ra, a.created, &a.id).cmp(&(rb, b.created, &b.id)));
        apis = ranked.into_iter().map(|(_, api)| api).collect();
    }
    into.apis = apis;
    let Some(api_id) = into.api().map(|a| a.id.clone()) else {
        return Ok(());
    };
    children(client, &api_id, scope, want_authorizers, into).await
}

/// Read the API an earlier pass found, by id: no account-wide list, and no tag read unless
/// `known.read_api` (the API object itself, with its tags, is then read with GetApi). Ok(false)
/// when the API is gone or no longer ours: the caller falls back to the search by tags.
pub async fn observe_known(
    client: &Client,
    d: &Desired,
    known: &Known,
    want_authorizers: bool,
    into: &mut Observed,
) -> Result<bool, Error> {
    let api = if known.read_api {
        let out = match client.get_api().api_id(&known.api_id).send().await {
            Ok(out) => out,
            Err(e) if has_code(&e, NOT_FOUND) => return Ok(false),
            Err(e) => return Err(classify(SVC, "GetApi", e)),
        };
        let tags = tags_of(out.tags());
        if d.owner.ownership(&tags) != Ownership::Ours {
            return Ok(false);
        }
        ObsApi {
            id: known.api_id.clone(),
            name: out.name().unwrap_or_default().to_string(),
            endpoint: out.api_endpoint().map(str::to_string),
            description: out.description().map(str::to_string),
            cors: out.cors_configuration().map(cors_of),
            tags,
            created: out.created_date().map(|d| d.secs()).unwrap_or(0),
        }
    } else {
        // Confirmed ours by an earlier pass; its own settings are checked on the passes that
        // read it (see `Known::read_api`).
        ObsApi {
            id: known.api_id.clone(),
            name: d.api.name.clone(),
            endpoint: known.endpoint.clone(),
            description: Some(d.api.description.clone()),
            cors: d.api.cors.clone(),
            tags: d.tags.clone(),
            created: 0,
        }
    };
    into.apis = vec![api];
    match children(client, &known.api_id, d.scope, want_authorizers, into).await {
        Ok(()) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}

/// The gateway's API as a bridge on it takes it (read by the gateway, not by the bridge), with
/// the gateway's authorizers.
fn shared(d: &Desired, att: &crate::gateway::Attachment, into: &mut Observed) {
    into.apis = vec![ObsApi {
        id: att.api_id.clone(),
        name: d.api.name.clone(),
        endpoint: att.api_endpoint.clone(),
        description: Some(d.api.description.clone()),
        cors: d.api.cors.clone(),
        tags: Tags::new(),
        created: 0,
    }];
    into.authorizers = d
        .authorizers
        .iter()
        .filter_map(|a| {
            att.authorizers.get(&a.name).map(|id| ObsAuthorizer {
                id: id.clone(),
                name: a.name.clone(),
                issuer: Some(a.issuer.clone()),
                audiences: a.audiences.clone(),
            })
        })
        .collect();
}

/// A bridge on a gateway: the integrations its marker names and the routes pointing at them,
/// on the gateway's API (two lists of at most 300, paged), and the keys of every other route
/// (another bridge's). No API, stage or authorizer read: the gateway's reconcile reads those
/// once for all its bridges. An API that is gone leaves `into.apis` empty.
pub async fn observe_marked(client: &Client, d: &Desired, into: &mut Observed) -> Result<(), Error> {
    let Some(att) = &d.attachment else { return Ok(()) };
    shared(d, att, into);
    let listed = async {
        let integrations: Vec<Integration> =
            all_pages!(client.get_integrations().api_id(&att.api_id), "GetIntegrations");
        let routes: Vec<Route> = all_pages!(client.get_routes().api_id(&att.api_id), "GetRoutes");
        Ok::<_, Error>((integrations, routes))
    };
    let (integrations, routes) = match listed.await {
        Ok(found) => found,
        Err(e) if e.is_not_found() => {
            into.apis.clear();
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    into.integrations = integrations.iter().filter(|i| d.owner.marks(i.description())).map(integration_of).collect();
    let ours: std::collections::BTreeSet<String> =
        into.integrations.iter().map(|i| format!("integrations/{}", i.id)).collect();
    for r in routes.iter().map(route_of) {
        if r.target.as_ref().is_some_and(|t| ours.contains(t)) {
            into.routes.push(r);
        } else {
            into.foreign_route_keys.insert(r.route_key);
        }
    }
    Ok(())
}

/// [`observe_marked`] by id, for an in-sync resync: GetRoute and GetIntegration of each route an
/// earlier pass made. Ok(false) when one is gone, no longer ours, or the spec's routes differ
/// from those: the caller falls back to the full look.
pub async fn observe_marked_known(
    client: &Client,
    d: &Desired,
    known: &Known,
    into: &mut Observed,
) -> Result<bool, Error> {
    let Some(att) = &d.attachment else { return Ok(false) };
    if known.routes.len() != d.routes.len() || known.api_id != att.api_id {
        return Ok(false);
    }
    shared(d, att, into);
    for (route_id, integration_id) in &known.routes {
        let route = match client.get_route().api_id(&att.api_id).route_id(route_id).send().await {
            Ok(out) => out,
            Err(e) if has_code(&e, NOT_FOUND) => return Ok(false),
            Err(e) => return Err(classify(SVC, "GetRoute", e)),
        };
        let integration = match client.get_integration().api_id(&att.api_id).integration_id(integration_id).send().await
        {
            Ok(out) => out,
            Err(e) if has_code(&e, NOT_FOUND) => return Ok(false),
            Err(e) => return Err(classify(SVC, "GetIntegration", e)),
        };
        let target = format!("integrations/{integration_id}");
        if !d.owner.marks(integration.description()) || route.target() != Some(target.as_str()) {
            return Ok(false);
        }
        into.routes.push(ObsRoute {
            id: route_id.clone(),
            route_key: route.route_key().unwrap_or_default().to_string(),
            target: route.target().map(str::to_string),
            authorization_type: route.authorization_type().map(|t| t.as_str().to_string()),
            authorizer_id: route.authorizer_id().filter(|id| !id.is_empty()).map(str::to_string),
            scopes: route.authorization_scopes().to_vec(),
            operation_name: route.operation_name().map(str::to_string),
        });
        into.integrations.push(ObsIntegration {
            id: integration_id.clone(),
            description: integration.description().map(str::to_string),
            integration_type: integration.integration_type().map(|t| t.as_str().to_string()),
            subtype: integration.integration_subtype().map(str::to_string),
            request_parameters: integration
                .request_parameters()
                .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            credentials_arn: integration.credentials_arn().map(str::to_string),
            payload_format_version: integration.payload_format_version().map(str::to_string),
            timeout_ms: integration.timeout_in_millis(),
        });
    }
    Ok(true)
}

/// The route keys on an API (a gateway's, before it is deleted).
pub async fn route_keys(client: &Client, api_id: &str) -> Result<Vec<String>, Error> {
    let routes: Vec<Route> =
        match async { Ok::<_, Error>(all_pages!(client.get_routes().api_id(api_id), "GetRoutes")) }.await {
            Ok(routes) => routes,
            Err(e) if e.is_not_found() => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
    Ok(routes.iter().filter_map(|r| r.route_key().map(str::to_string)).collect())
}

/// The stages and authorizers of a gateway's API (its routes and integrations are the attached
/// bridges', never read by the gateway).
async fn gateway_children(
    client: &Client,
    api_id: &str,
    want_authorizers: bool,
    into: &mut Observed,
) -> Result<(), Error> {
    let stages: Vec<Stage> = all_pages!(client.get_stages().api_id(api_id), "GetStages");
    into.stages = stages.iter().map(stage_of).collect();
    if want_authorizers {
        let authorizers: Vec<Authorizer> = all_pages!(client.get_authorizers().api_id(api_id), "GetAuthorizers");
        into.authorizers = authorizers.iter().map(authorizer_of).collect();
    }
    Ok(())
}

/// The stages, integrations, routes and (when needed) authorizers of one API.
async fn children(
    client: &Client,
    api_id: &str,
    scope: RouteScope,
    want_authorizers: bool,
    into: &mut Observed,
) -> Result<(), Error> {
    if scope == RouteScope::NoRoutes {
        return gateway_children(client, api_id, true, into).await;
    }
    let stages: Vec<Stage> = all_pages!(client.get_stages().api_id(api_id), "GetStages");
    into.stages = stages.iter().map(stage_of).collect();
    let integrations: Vec<Integration> = all_pages!(client.get_integrations().api_id(api_id), "GetIntegrations");
    into.integrations = integrations.iter().map(integration_of).collect();
    let routes: Vec<Route> = all_pages!(client.get_routes().api_id(api_id), "GetRoutes");
    into.routes = routes.iter().map(route_of).collect();
    // Authorizers are read only when the spec wants JWT or a route still points at one: it
    // saves a read on the common path (and moto 5.2.5 does not implement GetAuthorizers).
    if want_authorizers || into.routes.iter().any(|r| r.authorizer_id.is_some()) {
        let authorizers: Vec<Authorizer> = all_pages!(client.get_authorizers().api_id(api_id), "GetAuthorizers");
        into.authorizers = authorizers.iter().map(authorizer_of).collect();
    }
    Ok(())
}

/// `arn:aws:apigateway:<region>::/apis/<id>[/stages/<stage>]`, the ARN TagResource takes.
fn resource_arn(d: &Desired, api_id: &str, stage: Option<&str>) -> String {
    let base = format!("arn:{}:apigateway:{}::/apis/{api_id}", d.env.partition, d.env.region);
    match stage {
        Some(s) => format!("{base}/stages/{s}"),
        None => base,
    }
}

fn hash_tags(d: &Desired) -> std::collections::HashMap<String, String> {
    d.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Sent once, never retried by the SDK: CreateApi, CreateIntegration and CreateAuthorizer take
/// no idempotency token, so a retry after a lost answer would make a duplicate. A failed attempt
/// fails the pass instead; the next pass's search by tags finds whatever the first one made.
fn once() -> aws_sdk_apigatewayv2::config::Builder {
    aws_sdk_apigatewayv2::config::Builder::default().retry_config(RetryConfig::disabled())
}

/// The new API's id and endpoint.
pub async fn create_api(client: &Client, d: &Desired) -> Result<(String, Option<String>), Error> {
    let out = client
        .create_api()
        .name(&d.api.name)
        .protocol_type(ProtocolType::Http)
        .description(&d.api.description)
        .set_cors_configuration(d.api.cors.as_ref().map(aws_cors))
        .set_tags(Some(hash_tags(d)))
        .customize()
        .config_override(once())
        .send()
        .await
        .map_err(|e| classify(SVC, "CreateApi", e))?;
    let id = out.api_id().map(str::to_string).ok_or_else(|| Error::Transient {
        service: SVC,
        operation: "CreateApi",
        code: "NoApiId".into(),
        message: "no ApiId in the answer".into(),
    })?;
    Ok((id, out.api_endpoint().map(str::to_string)))
}

pub async fn update_api(client: &Client, d: &Desired, api_id: &str) -> Result<(), Error> {
    let req = client.update_api().api_id(api_id).name(&d.api.name).description(&d.api.description);
    let req = match &d.api.cors {
        Some(c) => req.cors_configuration(aws_cors(c)),
        None => req,
    };
    req.send().await.map_err(|e| classify(SVC, "UpdateApi", e))?;
    if d.api.cors.is_none() {
        match client.delete_cors_configuration().api_id(api_id).send().await {
            Ok(_) => {}
            Err(e) if has_code(&e, NOT_FOUND) => {}
            Err(e) => return Err(classify(SVC, "DeleteCorsConfiguration", e)),
        }
    }
    Ok(())
}

pub async fn tag(client: &Client, d: &Desired, api_id: &str, stage: Option<&str>) -> Result<(), Error> {
    client
        .tag_resource()
        .resource_arn(resource_arn(d, api_id, stage))
        .set_tags(Some(d.spec_tags().map(|(k, v)| (k.clone(), v.clone())).collect()))
        .send()
        .await
        .map_err(|e| classify(SVC, "TagResource", e))?;
    Ok(())
}

pub async fn delete_api(client: &Client, api_id: &str) -> Result<(), Error> {
    gone_ok(SVC, "DeleteApi", NOT_FOUND, client.delete_api().api_id(api_id).send().await)
}

fn route_settings(d: &Desired) -> Option<RouteSettings> {
    d.stage
        .throttling
        .map(|(burst, rate)| RouteSettings::builder().throttling_burst_limit(burst).throttling_rate_limit(rate).build())
}

pub async fn create_stage(client: &Client, d: &Desired, api_id: &str) -> Result<(), Error> {
    client
        .create_stage()
        .api_id(api_id)
        .stage_name(&d.stage.name)
        .auto_deploy(true)
        .set_default_route_settings(route_settings(d))
        .set_access_log_settings(access_log_settings(d))
        .set_tags(Some(hash_tags(d)))
        .send()
        .await
        .map_err(|e| classify(SVC, "CreateStage", e))?;
    Ok(())
}

/// The stage's `AccessLogSettings` when the spec turns access logs on.
fn access_log_settings(d: &Desired) -> Option<AccessLogSettings> {
    d.logs.settings().map(|(arn, format)| AccessLogSettings::builder().destination_arn(arn).format(format).build())
}

/// Turn access logging off (UpdateStage cannot clear `AccessLogSettings`).
pub async fn delete_access_log_settings(client: &Client, api_id: &str, stage: &str) -> Result<(), Error> {
    gone_ok(
        SVC,
        "DeleteAccessLogSettings",
        NOT_FOUND,
        client.delete_access_log_settings().api_id(api_id).stage_name(stage).send().await,
    )
}

pub async fn update_stage(client: &Client, d: &Desired, api_id: &str) -> Result<(), Error> {
    // Without throttling in the spec, the account-level defaults (see `NO_STAGE_LIMIT`): an
    // empty DefaultRouteSettings would keep the old limits, and 0 would block all traffic.
    let (burst, rate) = d.stage.throttling.unwrap_or(NO_STAGE_LIMIT);
    let settings = RouteSettings::builder().throttling_burst_limit(burst).throttling_rate_limit(rate).build();
    client
        .update_stage()
        .api_id(api_id)
        .stage_name(&d.stage.name)
        .auto_deploy(true)
        .default_route_settings(settings)
        .set_access_log_settings(access_log_settings(d))
        .send()
        .await
        .map_err(|e| classify(SVC, "UpdateStage", e))?;
    Ok(())
}

pub async fn delete_stage(client: &Client, api_id: &str, name: &str) -> Result<(), Error> {
    gone_ok(SVC, "DeleteStage", NOT_FOUND, client.delete_stage().api_id(api_id).stage_name(name).send().await)
}

fn jwt(d: &Desired, name: &str) -> Option<JwtConfiguration> {
    d.authorizers
        .iter()
        .find(|a| a.name == name)
        .map(|a| JwtConfiguration::builder().issuer(&a.issuer).set_audience(Some(a.audiences.clone())).build())
}

pub async fn create_authorizer(client: &Client, d: &Desired, api_id: &str, name: &str) -> Result<String, Error> {
    let out = client
        .create_authorizer()
        .api_id(api_id)
        .name(name)
        .authorizer_type(AuthorizerType::Jwt)
        .identity_source(JWT_IDENTITY_SOURCE)
        .set_jwt_configuration(jwt(d, name))
        .customize()
        .config_override(once())
        .send()
        .await
        .map_err(|e| classify(SVC, "CreateAuthorizer", e))?;
    Ok(out.authorizer_id().unwrap_or_default().to_string())
}

pub async fn update_authorizer(client: &Client, d: &Desired, api_id: &str, id: &str, name: &str) -> Result<(), Error> {
    client
        .update_authorizer()
        .api_id(api_id)
        .authorizer_id(id)
        .set_jwt_configuration(jwt(d, name))
        .customize()
        .config_override(once())
        .send()
        .await
        .map_err(|e| classify(SVC, "UpdateAuthorizer", e))?;
    Ok(())
}

pub async fn delete_authorizer(client: &Client, api_id: &str, id: &str) -> Result<(), Error> {
    gone_ok(
        SVC,
        "DeleteAuthorizer",
        NOT_FOUND,
        client.delete_authorizer().api_id(api_id).authorizer_id(id).send().await,
    )
}

fn params(route: &DesiredRoute) -> std::collections::HashMap<String, String> {
    route.integration.request_parameters.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The fields every integration of ours carries, on a create or an update builder.
macro_rules! integration_fields {
    ($builder:expr, $route:expr) => {
        $builder
            .integration_type(IntegrationType::AwsProxy)
            .integration_subtype(INTEGRATION_SUBTYPE)
            .credentials_arn(&$route.integration.credentials_arn)
            .payload_format_version(PAYLOAD_FORMAT_VERSION)
            .timeout_in_millis(INTEGRATION_TIMEOUT_MS)
            .description(&$route.integration.description)
            .set_request_parameters(Some(params($route)))
    };
}

pub async fn create_integration(client: &Client, api_id: &str, route: &DesiredRoute) -> Result<String, Error> {
    let out = integration_fields!(client.create_integration().api_id(api_id), route)
        .customize()
        .config_override(once())
        .send()
        .await
        .map_err(|e| classify(SVC, "CreateIntegration", e))?;
    Ok(out.integration_id().unwrap_or_default().to_string())
}

/// Update an integration in place. Only for one whose mapping keys the spec still names (see
/// `plan::kept_integration`): UpdateIntegration merges RequestParameters.
pub async fn update_integration(client: &Client, api_id: &str, id: &str, route: &DesiredRoute) -> Result<(), Error> {
    integration_fields!(client.update_integration().api_id(api_id).integration_id(id), route)
        .send()
        .await
        .map_err(|e| classify(SVC, "UpdateIntegration", e))?;
    Ok(())
}

pub async fn delete_integration(client: &Client, api_id: &str, id: &str) -> Result<(), Error> {
    gone_ok(
        SVC,
        "DeleteIntegration",
        NOT_FOUND,
        client.delete_integration().api_id(api_id).integration_id(id).send().await,
    )
}

/// Everything a route points at, resolved to ids.
pub struct RouteRefs<'a> {
    pub integration_id: &'a str,
    pub authorizer_id: Option<&'a str>,
}

pub async fn create_route(
    client: &Client,
    api_id: &str,
    route: &DesiredRoute,
    refs: RouteRefs<'_>,
) -> Result<String, Error> {
    let out = client
        .create_route()
        .api_id(api_id)
        .route_key(&route.route_key)
        .target(format!("integrations/{}", refs.integration_id))
        .operation_name(&route.name)
        .authorization_type(AuthorizationType::from(route.authorization_type.as_str()))
        .set_authorizer_id(refs.authorizer_id.map(str::to_string))
        .set_authorization_scopes((!route.scopes.is_empty()).then(|| route.scopes.clone()))
        .send()
        .await
        .map_err(|e| classify(SVC, "CreateRoute", e))?;
    Ok(out.route_id().unwrap_or_default().to_string())
}

pub async fn update_route(
    client: &Client,
    api_id: &str,
    id: &str,
    route: &DesiredRoute,
    refs: RouteRefs<'_>,
) -> Result<(), Error> {
    client
        .update_route()
        .api_id(api_id)
        .route_id(id)
        .route_key(&route.route_key)
        .target(format!("integrations/{}", refs.integration_id))
        .operation_name(&route.name)
        .authorization_type(AuthorizationType::from(route.authorization_type.as_str()))
        .set_authorizer_id(refs.authorizer_id.map(str::to_string))
        .set_authorization_scopes(Some(route.scopes.clone()))
        .send()
        .await
        .map_err(|e| classify(SVC, "UpdateRoute", e))?;
    Ok(())
}

pub async fn delete_route(client: &Client, api_id: &str, id: &str) -> Result<(), Error> {
    gone_ok(SVC, "DeleteRoute", NOT_FOUND, client.delete_route().api_id(api_id).route_id(id).send().await)
}
