//! API Gateway v2 custom domain names and their API mappings.
//!
//! A domain name carries tags (set at CreateDomainName; UpdateDomainName takes none), so it is
//! found by ownership tags like the API; an API mapping carries none and is ours when it maps our
//! API. HTTP APIs map only to REGIONAL domain names with the TLS 1.2 policy.

use aws_sdk_apigatewayv2::Client;
use aws_sdk_apigatewayv2::types::{ApiMapping, DomainName, DomainNameConfiguration, EndpointType, SecurityPolicy};

use crate::aws::{gone_ok, has_code, message_of};
use crate::desired::{Desired, DesiredDomain};
use crate::error::{Error, FieldError, classify};
use crate::observed::{ObsDomain, ObsMapping, Observed, Tags};
use crate::owner::Ownership;

const SVC: &str = "apigateway";
const PAGE: &str = "500";
const NOT_FOUND: &[&str] = &["NotFoundException"];

fn tags_of(tags: Option<&std::collections::HashMap<String, String>>) -> Tags {
    tags.map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}

/// A domain as observed, from the fields GetDomainName and GetDomainNames share (mappings are
/// read separately). The DNS target, hosted zone and status are optional: moto 5.2.5 echoes the
/// configuration it was given and returns none of them.
fn domain_of(name: &str, configurations: &[DomainNameConfiguration], tags: Tags) -> ObsDomain {
    let config = configurations.first();
    ObsDomain {
        name: name.to_string(),
        certificate_arn: config.and_then(|c| c.certificate_arn()).map(str::to_string),
        endpoint_type: config.and_then(|c| c.endpoint_type()).map(|t| t.as_str().to_string()),
        security_policy: config.and_then(|c| c.security_policy()).map(|p| p.as_str().to_string()),
        target_domain_name: config.and_then(|c| c.api_gateway_domain_name()).map(str::to_string),
        hosted_zone_id: config.and_then(|c| c.hosted_zone_id()).map(str::to_string),
        tags,
        mappings: Vec::new(),
    }
}

fn listed_domain_of(d: &DomainName) -> ObsDomain {
    domain_of(d.domain_name().unwrap_or_default(), d.domain_name_configurations(), tags_of(d.tags()))
}

fn mapping_of(m: &ApiMapping) -> ObsMapping {
    ObsMapping {
        id: m.api_mapping_id().unwrap_or_default().to_string(),
        api_id: m.api_id().unwrap_or_default().to_string(),
        stage: m.stage().unwrap_or_default().to_string(),
        key: m.api_mapping_key().unwrap_or_default().to_string(),
    }
}

async fn mappings_of(client: &Client, domain: &str) -> Result<Vec<ObsMapping>, Error> {
    let items: Vec<ApiMapping> = all_pages!(client.get_api_mappings().domain_name(domain), "GetApiMappings");
    Ok(items.iter().map(mapping_of).collect())
}

/// Read every custom domain name that could be ours (ownership tags of this bridge, or of a
/// previous incarnation) plus the one the spec names, whoever owns it, each with its mappings.
pub async fn observe(client: &Client, d: &Desired, into: &mut Observed) -> Result<(), Error> {
    let wanted = d.domain.as_ref().map(|x| x.name.as_str());
    let all: Vec<DomainName> = all_pages!(client.get_domain_names(), "GetDomainNames");
    for item in &all {
        let mut domain = listed_domain_of(item);
        if d.owner.ownership(&domain.tags) == Ownership::Foreign && wanted != Some(domain.name.as_str()) {
            continue;
        }
        domain.mappings = match mappings_of(client, &domain.name).await {
            Ok(m) => m,
            // Deleted since the list: not there.
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        };
        into.domains.push(domain);
    }
    Ok(())
}

/// Read the domain an earlier pass found, by name: no account-wide list. Ok(false) when it is
/// gone or no longer ours: the caller falls back to [`observe`].
pub async fn observe_known(client: &Client, d: &Desired, name: &str, into: &mut Observed) -> Result<bool, Error> {
    read_named(client, d, name, true, into).await
}

/// Only the domain the spec names, whoever holds it (for the conflict check): a bridge that never
/// ran can own no other (see `Engine::observe_fresh`).
pub async fn observe_named(client: &Client, d: &Desired, into: &mut Observed) -> Result<(), Error> {
    match &d.domain {
        Some(want) => read_named(client, d, &want.name, false, into).await.map(|_| ()),
        None => Ok(()),
    }
}

async fn read_named(
    client: &Client,
    d: &Desired,
    name: &str,
    ours_only: bool,
    into: &mut Observed,
) -> Result<bool, Error> {
    let out = match client.get_domain_name().domain_name(name).send().await {
        Ok(out) => out,
        Err(e) if has_code(&e, NOT_FOUND) => return Ok(false),
        Err(e) => return Err(classify(SVC, "GetDomainName", e)),
    };
    let tags = tags_of(out.tags());
    if ours_only && d.owner.ownership(&tags) != Ownership::Ours {
        return Ok(false);
    }
    let mut domain = domain_of(out.domain_name().unwrap_or(name), out.domain_name_configurations(), tags);
    domain.mappings = match mappings_of(client, name).await {
        Ok(m) => m,
        Err(e) if e.is_not_found() => return Ok(false),
        Err(e) => return Err(e),
    };
    into.domains.push(domain);
    Ok(true)
}

fn wanted<'a>(d: &'a Desired, operation: &str) -> Result<&'a DesiredDomain, Error> {
    d.domain.as_ref().ok_or_else(|| Error::Config(format!("{operation} without spec.domain")))
}

/// The one configuration HTTP APIs take: REGIONAL, TLS 1.2, the spec's ACM certificate (in the
/// API's region).
fn configuration(domain: &DesiredDomain) -> DomainNameConfiguration {
    DomainNameConfiguration::builder()
        .certificate_arn(&domain.certificate_arn)
        .endpoint_type(EndpointType::Regional)
        .security_policy(SecurityPolicy::Tls12)
        .build()
}

/// Create the domain name with our tags (the only time they can be set: moto cannot tag a domain
/// ARN, and UpdateDomainName takes no tags).
///
/// Domain names are unique per region across all accounts: when the create is refused as a
/// duplicate (ConflictException, or BadRequestException "already exists") and GetDomainName in
/// this account finds nothing, another account holds the name, which no retry fixes: a terminal
/// [`Error::Conflict`]. When this account holds it, the original (retryable) error stands and
/// the next observe decides whether it is ours.
pub async fn create_domain(client: &Client, d: &Desired) -> Result<(), Error> {
    let domain = wanted(d, "CreateDomainName")?;
    let result = client
        .create_domain_name()
        .domain_name(&domain.name)
        .domain_name_configurations(configuration(domain))
        .set_tags(Some(d.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
        .send()
        .await;
    let err = match result {
        Ok(_) => return Ok(()),
        Err(e) => e,
    };
    let duplicate = has_code(&err, &["ConflictException"])
        || (has_code(&err, &["BadRequestException"]) && message_of(&err).contains("already exists"));
    if duplicate {
        match client.get_domain_name().domain_name(&domain.name).send().await {
            Err(e) if has_code(&e, NOT_FOUND) => {
                return Err(Error::Conflict(FieldError::new(
                    "spec.domain.name",
                    format!(
                        "custom domain name {} belongs to another AWS account (domain names are unique per region across accounts): {}",
                        domain.name,
                        message_of(&err)
                    ),
                )));
            }
            Err(e) => return Err(classify(SVC, "GetDomainName", e)),
            Ok(_) => {}
        }
    }
    Err(classify(SVC, "CreateDomainName", err))
}

/// Set the domain's configuration again (a new certificate). Not implemented by moto 5.2.5.
pub async fn update_domain(client: &Client, d: &Desired) -> Result<(), Error> {
    let domain = wanted(d, "UpdateDomainName")?;
    client
        .update_domain_name()
        .domain_name(&domain.name)
        .domain_name_configurations(configuration(domain))
        .send()
        .await
        .map_err(|e| classify(SVC, "UpdateDomainName", e))?;
    Ok(())
}

/// Delete a domain name. Delete its mappings first: moto 5.2.5 crashes deleting a domain that
/// still has some.
pub async fn delete_domain(client: &Client, name: &str) -> Result<(), Error> {
    gone_ok(SVC, "DeleteDomainName", NOT_FOUND, client.delete_domain_name().domain_name(name).send().await)
}

/// Map the stage of `api_id` at the spec's base path (omitted for the domain root); the new
/// mapping's id.
pub async fn create_api_mapping(client: &Client, d: &Desired, api_id: &str) -> Result<String, Error> {
    let domain = wanted(d, "CreateApiMapping")?;
    let out = client
        .create_api_mapping()
        .domain_name(&domain.name)
        .api_id(api_id)
        .stage(&d.stage.name)
        .set_api_mapping_key((!domain.base_path.is_empty()).then(|| domain.base_path.clone()))
        .send()
        .await
        .map_err(|e| classify(SVC, "CreateApiMapping", e))?;
    out.api_mapping_id().map(str::to_string).ok_or_else(|| Error::Transient {
        service: SVC,
        operation: "CreateApiMapping",
        code: "NoApiMappingId".into(),
        message: "no ApiMappingId in the answer".into(),
    })
}

/// Point a mapping at `api_id`'s stage and the spec's base path. The key is always sent, "" for
/// the domain root (an omitted key would leave the old one). Not implemented by moto 5.2.5.
pub async fn update_api_mapping(client: &Client, d: &Desired, api_id: &str, mapping_id: &str) -> Result<(), Error> {
    let domain = wanted(d, "UpdateApiMapping")?;
    client
        .update_api_mapping()
        .domain_name(&domain.name)
        .api_mapping_id(mapping_id)
        .api_id(api_id)
        .stage(&d.stage.name)
        .api_mapping_key(&domain.base_path)
        .send()
        .await
        .map_err(|e| classify(SVC, "UpdateApiMapping", e))?;
    Ok(())
}

pub async fn delete_api_mapping(client: &Client, domain: &str, mapping_id: &str) -> Result<(), Error> {
    gone_ok(
        SVC,
        "DeleteApiMapping",
        NOT_FOUND,
        client.delete_api_mapping().domain_name(domain).api_mapping_id(mapping_id).send().await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_apigatewayv2::operation::create_api_mapping::CreateApiMappingOutput;
    use aws_sdk_apigatewayv2::operation::create_domain_name::CreateDomainNameOutput;
    use aws_sdk_apigatewayv2::operation::get_api_mappings::GetApiMappingsOutput;
    use aws_sdk_apigatewayv2::operation::get_domain_name::GetDomainNameOutput;
    use aws_sdk_apigatewayv2::operation::get_domain_names::GetDomainNamesOutput;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::retry::RetryConfig;

    const NAME: &str = "hooks.example.com";

    fn d() -> Desired {
        let mut d = crate::desired::orders_for_tests();
        d.domain = Some(DesiredDomain {
            name: NAME.into(),
            certificate_arn: "arn:aws:acm:us-east-1:123456789012:certificate/abc".into(),
            base_path: String::new(),
            dns_endpoint: false,
        });
        d
    }

    fn client(rules: &[Rule]) -> Client {
        mock_client!(aws_sdk_apigatewayv2, RuleMode::MatchAny, rules, |b| b.retry_config(RetryConfig::disabled()))
    }

    /// An error as API Gateway v2 (restJson1) sends it.
    fn error(status: u16, code: &str, message: &str) -> Response {
        let mut r = Response::new(
            StatusCode::try_from(status).expect("status"),
            SdkBody::from(format!(r#"{{"message":"{message}"}}"#)),
        );
        r.headers_mut().insert("x-amzn-ErrorType", code.to_string());
        r.headers_mut().insert("content-type", "application/json");
        r
    }

    fn listed(name: &str, tags: &Tags) -> DomainName {
        DomainName::builder()
            .domain_name(name)
            .set_tags(Some(tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
            .build()
    }

    #[tokio::test]
    async fn observe_keeps_ours_our_previous_incarnations_and_the_named_one() {
        let d = d();
        let ours = d.tags.clone();
        let mut previous = d.tags.clone();
        previous.insert(crate::owner::TAG_UID.into(), "u0".into());
        let rules = [
            mock!(Client::get_domain_names).then_output(move || {
                GetDomainNamesOutput::builder()
                    .items(listed("old.example.com", &ours))
                    .items(listed("prev.example.com", &previous))
                    .items(listed(NAME, &Tags::new()))
                    .items(listed("someone-else.example.com", &Tags::new()))
                    .build()
            }),
            mock!(Client::get_api_mappings).match_requests(|r| r.domain_name() == Some(NAME)).then_output(|| {
                GetApiMappingsOutput::builder()
                    .items(ApiMapping::builder().api_id("other").api_mapping_id("m1").stage("$default").build())
                    .build()
            }),
            mock!(Client::get_api_mappings).then_output(|| GetApiMappingsOutput::builder().build()),
        ];
        let mut into = Observed::default();
        observe(&client(&rules), &d, &mut into).await.expect("observe");
        let names: Vec<&str> = into.domains.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, ["old.example.com", "prev.example.com", NAME]);
        assert_eq!(into.domains[2].mappings[0].key, "", "no key: the root");
    }

    #[tokio::test]
    async fn observe_known_takes_only_ours() {
        let d = d();
        let tags = d.tags.clone();
        let ours = [
            mock!(Client::get_domain_name).then_output(move || {
                GetDomainNameOutput::builder()
                    .domain_name(NAME)
                    .set_tags(Some(tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
                    .build()
            }),
            mock!(Client::get_api_mappings).then_output(|| {
                GetApiMappingsOutput::builder()
                    .items(
                        ApiMapping::builder()
                            .api_id("api1")
                            .api_mapping_id("m1")
                            .stage("$default")
                            .api_mapping_key("v1")
                            .build(),
                    )
                    .build()
            }),
        ];
        let mut into = Observed::default();
        assert!(observe_known(&client(&ours), &d, NAME, &mut into).await.expect("ours"));
        assert_eq!(into.domains[0].mappings[0].key, "v1");

        let foreign =
            [mock!(Client::get_domain_name).then_output(|| GetDomainNameOutput::builder().domain_name(NAME).build())];
        let mut into = Observed::default();
        assert!(!observe_known(&client(&foreign), &d, NAME, &mut into).await.expect("foreign"));
        assert!(into.domains.is_empty());

        let gone = [mock!(Client::get_domain_name).then_http_response(|| error(404, "NotFoundException", "gone"))];
        assert!(!observe_known(&client(&gone), &d, NAME, &mut Observed::default()).await.expect("gone"));
    }

    #[tokio::test]
    async fn writes_send_one_regional_tls_1_2_configuration_and_omit_the_root_key() {
        let mut d = d();
        let (tags, stage) = (d.tags.clone(), d.stage.name.clone());
        let rules = [
            mock!(Client::create_domain_name)
                .match_requests(move |r| {
                    let c = r.domain_name_configurations();
                    r.domain_name() == Some(NAME)
                        && c.len() == 1
                        && c[0].endpoint_type() == Some(&EndpointType::Regional)
                        && c[0].security_policy() == Some(&SecurityPolicy::Tls12)
                        && r.tags().is_some_and(|t| t.len() == tags.len())
                })
                .then_output(|| CreateDomainNameOutput::builder().build()),
            mock!(Client::create_api_mapping)
                .match_requests(move |r| r.api_mapping_key().is_none() && r.stage() == Some(stage.as_str()))
                .then_output(|| CreateApiMappingOutput::builder().api_mapping_id("root").build()),
            mock!(Client::create_api_mapping)
                .match_requests(|r| r.api_mapping_key() == Some("v1"))
                .then_output(|| CreateApiMappingOutput::builder().api_mapping_id("keyed").build()),
            mock!(Client::delete_api_mapping).then_http_response(|| error(404, "NotFoundException", "gone")),
            mock!(Client::delete_domain_name).then_http_response(|| error(404, "NotFoundException", "gone")),
        ];
        let c = client(&rules);
        create_domain(&c, &d).await.expect("create");
        assert_eq!(create_api_mapping(&c, &d, "api1").await.expect("root"), "root");
        d.domain.as_mut().expect("domain").base_path = "v1".into();
        assert_eq!(create_api_mapping(&c, &d, "api1").await.expect("keyed"), "keyed");
        delete_api_mapping(&c, NAME, "m1").await.expect("gone is deleted");
        delete_domain(&c, NAME).await.expect("gone is deleted");
        d.domain = None;
        assert!(matches!(create_domain(&c, &d).await, Err(Error::Config(_))));
    }

    #[tokio::test]
    async fn a_name_another_account_holds_is_a_terminal_conflict() {
        let d = d();
        let rules = [
            mock!(Client::create_domain_name)
                .then_http_response(|| error(409, "ConflictException", "The domain name resource already exists.")),
            mock!(Client::get_domain_name).then_http_response(|| error(404, "NotFoundException", "not found")),
        ];
        let e = create_domain(&client(&rules), &d).await.expect_err("taken");
        assert!(matches!(&e, Error::Conflict(f) if f.field == "spec.domain.name"), "{e}");
        assert!(!e.is_retryable());

        // Held by this account (e.g. our own create whose answer was lost): retry, then observe.
        let rules = [
            mock!(Client::create_domain_name)
                .then_http_response(|| error(409, "ConflictException", "The domain name resource already exists.")),
            mock!(Client::get_domain_name).then_output(|| GetDomainNameOutput::builder().domain_name(NAME).build()),
        ];
        let e = create_domain(&client(&rules), &d).await.expect_err("exists here");
        assert!(e.is_retryable(), "{e}");
    }

    #[test]
    fn a_domain_reads_its_first_configuration() {
        let aws = DomainName::builder()
            .domain_name("hooks.example.com")
            .domain_name_configurations(
                DomainNameConfiguration::builder()
                    .certificate_arn("arn:aws:acm:us-east-1:123456789012:certificate/abc")
                    .endpoint_type(EndpointType::Regional)
                    .security_policy(SecurityPolicy::Tls12)
                    .api_gateway_domain_name("d-abcd1234.execute-api.us-east-1.amazonaws.com")
                    .hosted_zone_id("Z1UJRXOUMOOFQ8")
                    .build(),
            )
            .tags("webhookbridge.io/managed-by", "webhook-bridge")
            .build();
        let d = listed_domain_of(&aws);
        assert_eq!(d.name, "hooks.example.com");
        assert_eq!(d.certificate_arn.as_deref(), Some("arn:aws:acm:us-east-1:123456789012:certificate/abc"));
        assert_eq!(d.endpoint_type.as_deref(), Some("REGIONAL"));
        assert_eq!(d.security_policy.as_deref(), Some("TLS_1_2"));
        assert_eq!(d.target_domain_name.as_deref(), Some("d-abcd1234.execute-api.us-east-1.amazonaws.com"));
        assert_eq!(d.hosted_zone_id.as_deref(), Some("Z1UJRXOUMOOFQ8"));
        assert_eq!(d.tags.get("webhookbridge.io/managed-by").map(String::as_str), Some("webhook-bridge"));
        assert!(d.mappings.is_empty());
    }

    #[test]
    fn a_domain_as_moto_answers_has_no_dns_target() {
        // moto 5.2.5 echoes the configuration it was given: no target, zone or status.
        let aws = DomainName::builder()
            .domain_name("hooks.example.com")
            .domain_name_configurations(
                DomainNameConfiguration::builder().certificate_arn("arn:aws:acm:us-east-1:1:certificate/a").build(),
            )
            .build();
        let d = listed_domain_of(&aws);
        assert_eq!((d.target_domain_name, d.hosted_zone_id, d.endpoint_type), (None, None, None));
        assert!(d.tags.is_empty());
        let bare = listed_domain_of(&DomainName::builder().domain_name("x.example.com").build());
        assert_eq!(bare.certificate_arn, None);
    }

    #[test]
    fn a_mapping_without_a_key_is_the_root() {
        let root = mapping_of(&ApiMapping::builder().api_id("a1").api_mapping_id("m1").stage("$default").build());
        assert_eq!(
            root,
            ObsMapping { id: "m1".into(), api_id: "a1".into(), stage: "$default".into(), key: String::new() }
        );
        let keyed = mapping_of(
            &ApiMapping::builder().api_id("a1").api_mapping_id("m2").stage("s").api_mapping_key("v1/orders").build(),
        );
        assert_eq!(keyed.key, "v1/orders");
    }

    #[test]
    fn the_configuration_is_regional_tls_1_2() {
        let c = configuration(&DesiredDomain {
            name: "hooks.example.com".into(),
            certificate_arn: "arn:aws:acm:us-east-1:1:certificate/a".into(),
            base_path: String::new(),
            dns_endpoint: false,
        });
        assert_eq!(c.endpoint_type(), Some(&EndpointType::Regional));
        assert_eq!(c.security_policy(), Some(&SecurityPolicy::Tls12));
        assert_eq!(c.certificate_arn(), Some("arn:aws:acm:us-east-1:1:certificate/a"));
    }
}
