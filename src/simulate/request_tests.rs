use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::api::{Authorization, EventMapping, HttpMethod, RouteSpec};

const BUS: &str = "arn:aws:events:us-east-1:123456789012:event-bus/b";

fn route(name: &str, method: HttpMethod, path: &str) -> RouteSpec {
    RouteSpec {
        name: name.into(),
        method,
        path: path.into(),
        authorization: Authorization::default(),
        event: EventMapping {
            source: "src".into(),
            detail_type: "dt".into(),
            detail: "$request.body".into(),
            time: None,
            resources: None,
            trace_header: None,
        },
    }
}

fn mapped(source: &str, detail_type: &str, detail: &str) -> RouteSpec {
    let mut r = route("r", HttpMethod::Post, "/hooks/{tenant}/{proxy+}");
    r.event.source = source.into();
    r.event.detail_type = detail_type.into();
    r.event.detail = detail.into();
    r
}

fn post(path: &str, body: &str) -> Request {
    Request { method: "POST".into(), path: path.into(), body: body.into(), ..Request::default() }
}

fn ctx() -> Context {
    Context::placeholder("dev", "123456789012", "us-east-1")
}

/// The entry for `req` on `r`, with the path parameters routing gives.
fn build(r: &RouteSpec, req: &Request) -> Result<PutEventsEntry, MappingError> {
    let routes = [r.clone()];
    let (_, params) = route_for(&routes, &req.method, &req.path).expect("the request hits the route");
    entry(r, BUS, req, &params, &ctx())
}

/// Resolve one mapping value as Source (a string parameter taken as is).
fn source_of(expr: &str, req: &Request) -> Result<String, MappingError> {
    build(&mapped(expr, "dt", "{}"), req).map(|e| e.source)
}

// ---- routing (API Gateway, "Create routes for HTTP APIs": Routing API requests) ----

/// The doc's example: GET /pets/dog/1, GET /pets/dog/{id}, GET /pets/{proxy+}, ANY /{proxy+}.
fn doc_routes() -> Vec<RouteSpec> {
    vec![
        route("static", HttpMethod::Get, "/pets/dog/1"),
        route("param", HttpMethod::Get, "/pets/dog/{id}"),
        route("greedy", HttpMethod::Get, "/pets/{proxy+}"),
        route("any", HttpMethod::Any, "/{proxy+}"),
    ]
}

fn hit(routes: &[RouteSpec], method: &str, path: &str) -> Option<(String, BTreeMap<String, String>)> {
    route_for(routes, method, path).map(|(r, p)| (r.name.clone(), p))
}

#[test]
fn the_docs_routing_examples_pick_the_most_specific_route() {
    let routes = doc_routes();
    // "The request fully matches this static route."
    assert_eq!(hit(&routes, "GET", "/pets/dog/1").map(|h| h.0).as_deref(), Some("static"));
    // "The request fully matches this route." (a path variable)
    let (name, params) = hit(&routes, "GET", "/pets/dog/2").expect("route");
    assert_eq!((name.as_str(), params.get("id").map(String::as_str)), ("param", Some("2")));
    // "The route with a GET method and a greedy path variable catches this request."
    let (name, params) = hit(&routes, "GET", "/pets/cat/1").expect("route");
    assert_eq!((name.as_str(), params.get("proxy").map(String::as_str)), ("greedy", Some("cat/1")));
    // "The ANY method matches all methods that you haven't defined for a route."
    assert_eq!(hit(&routes, "POST", "/pets/dog/1").map(|h| h.0).as_deref(), Some("any"));
}

#[test]
fn a_full_match_beats_a_greedy_one_and_the_exact_method_beats_any() {
    let routes = vec![
        route("any-exact", HttpMethod::Any, "/a/b"),
        route("post-exact", HttpMethod::Post, "/a/b"),
        route("post-greedy", HttpMethod::Post, "/a/{rest+}"),
    ];
    assert_eq!(hit(&routes, "POST", "/a/b").map(|h| h.0).as_deref(), Some("post-exact"));
    assert_eq!(hit(&routes, "PUT", "/a/b").map(|h| h.0).as_deref(), Some("any-exact"));
    assert_eq!(
        hit(&routes, "post", "/a/b/c").map(|h| h.0).as_deref(),
        Some("post-greedy"),
        "methods compare uppercase"
    );
}

#[test]
fn a_longer_greedy_prefix_wins_over_a_shorter_one() {
    let routes = vec![route("short", HttpMethod::Post, "/{proxy+}"), route("long", HttpMethod::Post, "/a/{proxy+}")];
    let (name, params) = hit(&routes, "POST", "/a/b/c").expect("route");
    assert_eq!((name.as_str(), params["proxy"].as_str()), ("long", "b/c"));
    assert_eq!(hit(&routes, "POST", "/x").map(|h| h.0).as_deref(), Some("short"));
}

#[test]
fn a_greedy_variable_needs_a_child_and_a_param_a_non_empty_segment() {
    // "A greedy path variable catches all child resources of a route."
    let routes = vec![route("g", HttpMethod::Post, "/pets/{proxy+}"), route("p", HttpMethod::Post, "/users/{id}")];
    assert_eq!(hit(&routes, "POST", "/pets"), None);
    assert_eq!(hit(&routes, "POST", "/pets/"), None);
    assert_eq!(hit(&routes, "POST", "/users/"), None);
    assert_eq!(hit(&routes, "POST", "/users/1/x"), None, "a {{param}} is one segment");
    assert_eq!(hit(&routes, "POST", "/Users/1"), None, "paths are case-sensitive");
}

#[test]
fn no_route_is_none_and_the_method_must_match() {
    let routes = vec![route("w", HttpMethod::Post, "/api/webhook")];
    assert_eq!(hit(&routes, "POST", "/api/other"), None);
    assert_eq!(hit(&routes, "GET", "/api/webhook"), None);
    assert_eq!(
        hit(&routes, "POST", "/api/webhook?x=1").map(|h| h.0).as_deref(),
        Some("w"),
        "the query is not the path"
    );
    assert_eq!(hit(&[route("root", HttpMethod::Post, "/")], "POST", "/").map(|h| h.0).as_deref(), Some("root"));
}

#[test]
fn path_parameters_are_url_decoded() {
    // "API Gateway decodes URL-encoded request parameters before passing them to your backend."
    let routes = vec![route("r", HttpMethod::Post, "/t/{tenant}/{proxy+}")];
    let (_, params) = hit(&routes, "POST", "/t/acme%20inc/a%2Fb/c").expect("route");
    assert_eq!(params["tenant"], "acme inc");
    assert_eq!(params["proxy"], "a/b/c");
}

// ---- mapping values (API Gateway, "Transforming API requests and responses") ----

#[test]
fn a_static_value_is_used_as_is() {
    assert_eq!(source_of("my.source", &post("/hooks/t/x", "{}")).expect("entry"), "my.source");
}

#[test]
fn request_body_is_the_whole_body_and_a_json_path_selects_in_it() {
    let body = r#"{"a": {"b": "deep"}, "items": [{"id": 7}, {"id": 8}], "key with space": "k", "n": 1.5, "t": true}"#;
    let req = post("/hooks/t/x", body);
    let r = mapped("s", "dt", "$request.body");
    assert_eq!(build(&r, &req).expect("entry").detail, body, "$request.body: the body as sent");
    for (expr, want) in [
        ("$request.body.a.b", "deep"),
        ("$request.body.items[0].id", "7"),
        ("$request.body.items[-1].id", "8"),
        ("$request.body['key with space']", "k"),
        ("$request.body.a['b']", "deep"),
        ("$request.body.n", "1.5"),
        ("$request.body.t", "true"),
        // Objects and arrays are substituted as their JSON text, strings raw (no quotes).
        ("$request.body.a", r#"{"b":"deep"}"#),
        ("$request.body.items[*].id", "[7,8]"),
    ] {
        assert_eq!(source_of(expr, &req).expect(expr), want, "{expr}");
    }
}

#[test]
fn an_object_selected_from_the_body_is_a_valid_detail() {
    let req = post("/hooks/t/x", r#"{"type": "invoice.paid", "data": {"invoice": "in-1", "total": 10}}"#);
    let e = build(&mapped("s", "$request.body.type", "$request.body.data"), &req).expect("entry");
    assert_eq!(e.detail_type, "invoice.paid");
    assert_eq!(serde_json::from_str::<Value>(&e.detail).expect("json"), json!({"invoice": "in-1", "total": 10}));
}

#[test]
fn recursive_descent_and_filters_are_refused() {
    // "Recursive descent ($request.body..name) and filter expressions (?(expression)) aren't supported."
    let req = post("/hooks/t/x", r#"{"a": 1}"#);
    let e = source_of("$request.body..a", &req).expect_err("refused");
    assert!(e.message.contains("recursive descent"), "{e:?}");
    let e = source_of("$request.body.items[?(@.id)]", &req).expect_err("refused");
    assert!(e.message.contains("filter"), "{e:?}");
}

#[test]
fn header_names_are_case_insensitive_and_repeats_join_with_commas() {
    // "Header names are case-insensitive. API Gateway combines multiple header values with commas,
    // for example "header1": "value1,value2"."
    let mut req = post("/hooks/t/x", "{}");
    req.headers =
        vec![("X-Src".into(), "value1".into()), ("x-src".into(), "value2".into()), ("Other".into(), "o".into())];
    assert_eq!(source_of("$request.header.x-SRC", &req).expect("entry"), "value1,value2");
}

#[test]
fn query_string_names_are_case_sensitive_and_repeats_join_with_commas() {
    // "Query string names are case-sensitive. API Gateway combines multiple values with commas."
    let mut req = post("/hooks/t/x", "{}");
    req.query = vec![("q".into(), "Value1".into()), ("q".into(), "Value2".into())];
    assert_eq!(source_of("$request.querystring.q", &req).expect("entry"), "Value1,Value2");
    let e = source_of("$request.querystring.Q", &req).expect_err("case-sensitive");
    assert_eq!(e.field, "Source");
    assert!(e.message.contains("no Q query string parameter"), "{e:?}");
}

#[test]
fn path_parameters_and_the_path_map() {
    let req = post("/hooks/acme/a/b", "{}");
    assert_eq!(source_of("$request.path.tenant", &req).expect("entry"), "acme");
    assert_eq!(source_of("$request.path.proxy", &req).expect("entry"), "a/b", "greedy");
    // "$request.path: The request path, without the stage name."
    assert_eq!(source_of("$request.path", &req).expect("entry"), "/hooks/acme/a/b");
}

#[test]
fn context_variables_have_documented_placeholders() {
    let mut req = post("/hooks/acme/x", "{}");
    req.headers = vec![("User-Agent".into(), "curl/8".into())];
    for (expr, want) in [
        ("$context.requestId", PLACEHOLDER_REQUEST_ID),
        ("$context.extendedRequestId", PLACEHOLDER_REQUEST_ID),
        ("$context.requestTimeEpoch", "1767225600000"),
        ("$context.requestTime", "01/Jan/2026:00:00:00 +0000"),
        ("$context.identity.sourceIp", PLACEHOLDER_SOURCE_IP),
        ("$context.identity.userAgent", "curl/8"),
        ("$context.stage", "dev"),
        ("$context.apiId", PLACEHOLDER_API_ID),
        ("$context.accountId", "123456789012"),
        ("$context.domainName", "abcdef0123.execute-api.us-east-1.amazonaws.com"),
        ("$context.domainPrefix", "abcdef0123"),
        ("$context.httpMethod", "POST"),
        // "$context.path: The request path. For example, /{stage}/root/child."
        ("$context.path", "/dev/hooks/acme/x"),
        ("$context.routeKey", "POST /hooks/{tenant}/{proxy+}"),
        ("$context.protocol", "HTTP/1.1"),
    ] {
        assert_eq!(source_of(expr, &req).expect(expr), want, "{expr}");
    }
}

#[test]
fn context_path_on_the_default_stage_has_no_prefix() {
    let r = mapped("$context.path", "dt", "{}");
    let req = post("/hooks/a/b", "{}");
    let (_, params) = route_for(std::slice::from_ref(&r), "POST", &req.path).expect("route");
    let e =
        entry(&r, BUS, &req, &params, &Context::placeholder("$default", "123456789012", "us-east-1")).expect("entry");
    assert_eq!(e.source, "/hooks/a/b");
}

#[test]
fn jwt_claims_resolve_when_given_and_otherwise_to_nothing() {
    let r = mapped("$context.authorizer.claims.sub", "dt", "{}");
    let req = post("/hooks/a/b", "{}");
    let (_, params) = route_for(std::slice::from_ref(&r), "POST", &req.path).expect("route");
    let mut c = ctx();
    let e = entry(&r, BUS, &req, &params, &c).expect_err("no claims");
    assert!(e.message.contains("JWT authorizer is not simulated"), "{e:?}");
    c.authorizer_claims.insert("sub".into(), "user-1".into());
    assert_eq!(entry(&r, BUS, &req, &params, &c).expect("entry").source, "user-1");
}

#[test]
fn integration_time_and_unknown_context_variables() {
    let req = post("/hooks/a/b", "{}");
    let e = source_of("$context.integrationLatency", &req).expect_err("not known yet");
    assert!(e.message.contains("only known after the integration ran"), "{e:?}");
    let e = source_of("$context.nope", &req).expect_err("unknown");
    assert!(e.message.contains("no HTTP API context variable"), "{e:?}");
}

#[test]
fn stage_variables_are_none() {
    let e = source_of("$stageVariables.env", &post("/hooks/a/b", "{}")).expect_err("no stage variables");
    assert!(e.message.contains("no stage variable env"), "{e:?}");
}

#[test]
fn an_unknown_selection_expression_is_refused() {
    let e = source_of("$request.cookie.x", &post("/hooks/a/b", "{}")).expect_err("refused");
    assert!(e.message.contains("not a selection expression"), "{e:?}");
}

// ---- what resolves to nothing (undocumented: MappingError for a required parameter) ----

#[test]
fn a_missing_required_value_names_the_parameter_and_the_mapping() {
    let req = post("/hooks/a/b", r#"{"other": 1}"#);
    let e = build(&mapped("s", "$request.body.event_type", "$request.body"), &req).expect_err("missing");
    assert_eq!(e.field, "DetailType");
    assert!(e.message.starts_with(r#"event.detailType = "$request.body.event_type" resolves to nothing"#), "{e:?}");
    assert!(e.message.contains("the body has no event_type"), "{e:?}");
    let e = build(&mapped("$request.header.X-Source", "dt", "{}"), &req).expect_err("missing");
    assert_eq!(e.field, "Source");
    assert!(e.message.contains("no X-Source header"), "{e:?}");
}

#[test]
fn a_json_path_on_a_body_that_is_not_json_selects_nothing() {
    let req = post("/hooks/a/b", "event_type=create");
    let e = build(&mapped("s", "$request.body.event_type", "{}"), &req).expect_err("not JSON");
    assert!(e.message.contains("the body is not JSON"), "{e:?}");
}

#[test]
fn empty_and_null_values_count_as_nothing() {
    let req = post("/hooks/a/b", r#"{"s": "", "n": null}"#);
    let e = source_of("$request.body.s", &req).expect_err("empty");
    assert!(e.message.contains("is empty"), "{e:?}");
    let e = source_of("$request.body.n", &req).expect_err("null");
    assert!(e.message.contains("is null"), "{e:?}");
    let e = build(&mapped("s", "dt", "$request.body"), &post("/hooks/a/b", "")).expect_err("empty body");
    assert!(e.message.contains("the body is empty"), "{e:?}");
}

#[test]
fn a_missing_optional_value_is_left_out() {
    let mut r = mapped("s", "dt", "$request.body");
    r.event.time = Some("$request.body.event_time".into());
    r.event.trace_header = Some("$request.header.X-Amzn-Trace-Id".into());
    r.event.resources = Some("$request.body.arns".into());
    let e = build(&r, &post("/hooks/a/b", "{}")).expect("entry");
    assert_eq!((e.time, e.trace_header, e.resources), (None, None, Vec::new()));
}

// ---- PutEvents' own rules (EventBridge API reference, PutEventsRequestEntry) ----

#[test]
fn detail_must_be_a_json_object() {
    // PutEventsRequestEntry Detail: "A valid JSON object."; PutEvents fails it "Detail is malformed."
    for (body, detail, what) in [
        (r#"{"d": "just text"}"#, "$request.body.d", "not JSON"),
        (r#"{"d": [1, 2]}"#, "$request.body.d", "JSON array"),
        ("[1, 2]", "$request.body", "JSON array"),
        ("plain text", "$request.body", "not JSON"),
        ("{}", "not json", "not JSON"),
        (r#"{"d": 5}"#, "$request.body.d", "JSON number"),
    ] {
        let e = build(&mapped("s", "dt", detail), &post("/hooks/a/b", body)).expect_err(body);
        assert_eq!(e.field, "Detail", "{body}");
        assert!(e.message.contains("Detail is malformed.") && e.message.contains(what), "{body}: {e:?}");
    }
    // A string that holds a JSON object is substituted raw, so it is a valid Detail.
    let e = build(&mapped("s", "dt", "$request.body.d"), &post("/hooks/a/b", r#"{"d": "{\"a\":1}"}"#)).expect("entry");
    assert_eq!(e.detail, r#"{"a":1}"#);
}

#[test]
fn time_must_be_rfc3339() {
    let mut r = mapped("s", "dt", "$request.body");
    r.event.time = Some("$request.body.t".into());
    for ok in ["2026-11-27T10:00:00Z", "2026-11-27T10:00:00+01:00", "2026-11-27T10:00:00.123Z"] {
        let body = json!({"t": ok}).to_string();
        assert_eq!(build(&r, &post("/hooks/a/b", &body)).expect(ok).time.as_deref(), Some(ok));
    }
    for bad in ["yesterday", "2026-11-27", "1700000000", "2026-11-27T10:00:00"] {
        let body = json!({"t": bad}).to_string();
        let e = build(&r, &post("/hooks/a/b", &body)).expect_err(bad);
        assert_eq!(e.field, "Time", "{bad}");
        assert!(e.message.contains("RFC 3339"), "{e:?}");
    }
}

#[test]
fn detail_type_is_at_most_128_characters_and_trace_header_500() {
    let long = "x".repeat(129);
    let e = build(&mapped("s", &long, "{}"), &post("/hooks/a/b", "{}")).expect_err("too long");
    assert_eq!(e.field, "DetailType");
    assert!(build(&mapped("s", &"x".repeat(128), "{}"), &post("/hooks/a/b", "{}")).is_ok());
    let mut r = mapped("s", "dt", "{}");
    r.event.trace_header = Some("$request.header.t".into());
    let mut req = post("/hooks/a/b", "{}");
    req.headers = vec![("t".into(), "y".repeat(501))];
    assert_eq!(build(&r, &req).expect_err("too long").field, "TraceHeader");
}

#[test]
fn resources_from_a_json_array_or_one_arn() {
    let mut r = mapped("s", "dt", "{}");
    r.event.resources = Some("$request.body.r".into());
    let e = build(&r, &post("/hooks/a/b", r#"{"r": ["arn:a", "arn:b"]}"#)).expect("entry");
    assert_eq!(e.resources, ["arn:a", "arn:b"]);
    let e = build(&r, &post("/hooks/a/b", r#"{"r": "arn:one"}"#)).expect("entry");
    assert_eq!(e.resources, ["arn:one"]);
    let e = build(&r, &post("/hooks/a/b", r#"{"r": [1]}"#)).expect_err("not ARNs");
    assert_eq!(e.field, "Resources");
}

#[test]
fn the_entry_must_be_at_most_256_kb_as_eventbridge_counts_it() {
    // "Calculating PutEvents event entry size": Time 14 bytes, Source, DetailType, Detail and each
    // Resources entry their UTF-8 bytes.
    let e = PutEventsEntry {
        source: "é".into(),
        detail_type: "ab".into(),
        detail: "{}".into(),
        time: Some("2026-01-01T00:00:00Z".into()),
        resources: vec!["r1".into(), "r22".into()],
        trace_header: Some("ignored".into()),
        event_bus_name: "ignored".into(),
    };
    assert_eq!(entry_size(&e), 14 + 2 + 2 + 2 + 2 + 3);
    let overhead = "s".len() + "dt".len() + r#"{"x":""}"#.len();
    let fits = json!({"x": "a".repeat(MAX_ENTRY_BYTES - overhead)}).to_string();
    assert!(build(&mapped("s", "dt", "$request.body"), &post("/hooks/a/b", &fits)).is_ok());
    let over = json!({"x": "a".repeat(MAX_ENTRY_BYTES - overhead + 1)}).to_string();
    let err = build(&mapped("s", "dt", "$request.body"), &post("/hooks/a/b", &over)).expect_err("too big");
    assert_eq!(err.field, "entry");
    assert!(err.message.contains("262145 bytes"), "{err:?}");
}

#[test]
fn the_entry_serializes_as_putevents_takes_it() {
    let mut r = mapped("s", "dt", "$request.body");
    r.event.time = Some("2026-01-02T03:04:05Z".into());
    let e = build(&r, &post("/hooks/a/b", r#"{"a":1}"#)).expect("entry");
    assert_eq!(e.event_bus_name, BUS);
    assert_eq!(
        serde_json::to_value(&e).expect("json"),
        json!({"Source": "s", "DetailType": "dt", "Detail": r#"{"a":1}"#, "Time": "2026-01-02T03:04:05Z", "EventBusName": BUS})
    );
}

// ---- the event ----

#[test]
fn the_event_is_the_envelope_rules_see() {
    let mut r = mapped("s", "dt", "$request.body");
    r.event.time = Some("$request.body.t".into());
    let e = build(&r, &post("/hooks/a/b", r#"{"t": "2026-11-27T10:00:00.999+01:00", "x": [1]}"#)).expect("entry");
    let ev = event(&e, "123456789012", "us-east-1", "id-1", "2026-01-01T00:00:00Z");
    assert_eq!(
        ev,
        json!({
            "version": "0", "id": "id-1", "detail-type": "dt", "source": "s", "account": "123456789012",
            "time": "2026-11-27T09:00:00Z", "region": "us-east-1", "resources": [],
            "detail": {"t": "2026-11-27T10:00:00.999+01:00", "x": [1]}
        })
    );
    let keys: Vec<&str> = ev.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]);
    let no_time = PutEventsEntry { time: None, ..e };
    assert_eq!(event(&no_time, "1", "r", "i", "2026-01-01T00:00:00Z")["time"], "2026-01-01T00:00:00Z");
}

#[test]
fn the_orders_example_maps_as_the_readme_says() {
    let mut r = route("webhook", HttpMethod::Post, "/api/webhook");
    r.event = EventMapping {
        source: "source.events".into(),
        detail_type: "$request.body.event_type".into(),
        detail: "$request.body".into(),
        time: Some("$request.body.event_time".into()),
        resources: None,
        trace_header: None,
    };
    let body = r#"{"event_type": "create", "event_time": "2026-11-27T10:00:00Z", "order_id": "o-1"}"#;
    let req = post("/api/webhook", body);
    let e = build(&r, &req).expect("entry");
    assert_eq!((e.source.as_str(), e.detail_type.as_str(), e.detail.as_str()), ("source.events", "create", body));
    assert_eq!(e.time.as_deref(), Some("2026-11-27T10:00:00Z"));
}
