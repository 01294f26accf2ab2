"""AWS's default quotas, enforced per account and region (IAM: per account, it is global) before a
create reaches moto, which has none: so no test or benchmark figure can come from an account that
cannot exist. A create that a quota refuses is answered with AWS's own error for it (code, HTTP
status, message; the evidence is named next to each quota below) and never reaches moto: it is
not a committed write in `/__faults/stats`.

Counting is from moto's state: before a counted create, the emulator lists what moto holds in that
scope (with the request's own credentials and region, so moto's access key -> account mapping
applies) and refuses if the create would take the count past the quota. The count and the create
run under one lock per scope (quota, access key, region, parent), so concurrent creates cannot
both pass at count = quota - 1; a delete (DeleteApi with its routes, ...) frees room at once, and
`/moto-api/reset` empties every scope. A create of something that already exists (PutRule or
PutTargets of an existing rule or target id, CreateStage of an existing stage name...) adds
nothing, and is never refused by a quota.

| key                                      | default | refused call                  | answer |
|------------------------------------------|---------|-------------------------------|--------|
| `eventbridge.buses_per_account`          | 100     | events CreateEventBus         | 400 LimitExceededException |
| `eventbridge.rules_per_bus`              | 300     | events PutRule (a new rule)   | 400 LimitExceededException |
| `eventbridge.targets_per_rule`           | 5       | events PutTargets (new ids)   | 400 LimitExceededException (the whole request) |
| `iam.roles_per_account`                  | 1000    | iam CreateRole                | 409 LimitExceeded |
| `apigatewayv2.routes_per_api`            | 300     | CreateRoute                   | 429 ConflictException |
| `apigatewayv2.integrations_per_api`      | 300     | CreateIntegration             | 429 ConflictException |
| `apigatewayv2.authorizers_per_api`       | 10      | CreateAuthorizer              | 429 ConflictException |
| `apigatewayv2.stages_per_api`            | 10      | CreateStage                   | 429 ConflictException |
| `apigatewayv2.domain_names_per_account`  | 120     | CreateDomainName              | 429 ConflictException |
| `apigatewayv2.api_mappings_per_domain`   | 200     | CreateApiMapping              | 429 ConflictException |
| `eventbridgev2.buses_per_account`        | 5       | eventbridgev2 CreateEventBus  | 400 LimitExceededException |
| `eventbridgev2.event_sources_per_account`| 200     | CreateEventSource             | 400 LimitExceededException |
| `eventbridgev2.subscribers_per_bus`      | 10000   | CreateSubscriber              | 400 LimitExceededException |

The defaults are AWS's: "Amazon EventBridge quotas"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html: event buses 100 per
account, rules 300 per event bus, targets 5 per rule), "IAM and AWS STS quotas"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html: roles in an AWS
account 1,000), "Amazon API Gateway quotas" for HTTP APIs
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html: routes per API
300, integrations per API 300, authorizers per API 10, stages per API 10, custom domain names per
account per Region 120, API mappings per domain 200), and the same EventBridge page's "Custom Event Bus quotas" ([EventsV2]
in Service Quotas, per account per Region: "Event buses owned by the account" 5, "Event sources
owned by the account" 200, "Subscribers per bus" 10,000; counted from the emulator's own
eventbridgev2 state, shims_eventsv2.py). (Lambda's 20 KB function-policy cap is a
refusal of shims_lambda.py.)

Other values, e.g. an account whose quota increase was granted, or a test that lowers one to reach
it quickly: `--quotas '{"apigatewayv2.routes_per_api": 600}'` (or the environment variable
`AWS_EMULATOR_QUOTAS` with the same JSON) at start-up; `POST /__quotas` with `{key: n, ...}` (n an
integer >= 0; the keys given change, the others stay; an unknown key or a bad value: 400, nothing
changes) at run time; `GET /__quotas` shows every key's value (`{key: n}`), as POST answers;
`DELETE /__quotas` goes back to the start-up values (AWS's defaults, under the start-up ones).
"""

import contextlib
import json
import re
import threading
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, quote

from . import answers
from .check import json_object

# EventBridge's answer to a create beyond a quota, as AWS gave it for rules: "Creating CloudWatch
# Event Rule failed: LimitExceededException: The requested resource exceeds the maximum number
# allowed. status code: 400" (tmobile/pacbot#253), and for targets: LocalStack's recording against
# AWS tests/aws/services/events/test_events.snapshot.json
# `TestEventTarget::test_add_exceed_fife_targets_per_rule` (PutTargets with 7 targets on a new rule:
# 400, Code LimitExceededException, that Message; the whole request refused, no FailedEntries),
# also aws-cloudformation/cfn-lint#306 (6 targets, the AWS CLI's output). For event buses no
# recorded answer was found: the model declares LimitExceededException for CreateEventBus ("The
# request failed because it attempted to create resource beyond the allowed service quota"), and
# EventBridge's one message for it is used.
EVENTS_LIMIT = "The requested resource exceeds the maximum number allowed."


# eventbridgev2 (rpc-v2-cbor): every create declares LimitExceededException (400, "The request
# failed because it attempted to create resource beyond the allowed service quota"); no recorded
# answer was found, EventBridge's one message for it is used.
def _eventsv2_refusal(c, limit):
    return answers.cbor_error(c, "LimitExceededException", EVENTS_LIMIT, 400)


def _eventsv2_names(kind, parent=None):
    def held(h, c, doc):
        match = {"EventBusArn": doc.get("EventBusArn")} if parent else {}
        return [r["Name"] for r in h.state.eventsv2.all(kind, h._region(), **match)], [doc.get("Name")]
    return held


def _events_refusal(c, limit):
    return answers.json_error(c, "LimitExceededException", EVENTS_LIMIT)


# IAM: `LimitExceeded` (the model's LimitExceededException: code LimitExceeded, httpStatusCode
# 409, sender fault), "Cannot exceed quota for RolesPerAccount: 1000" as AWS answered CreateRole in
# serverless-nextjs/serverless-next.js#2234; the 409 and the Sender type as AWS answered the same
# refusal for InstanceProfilesPerAccount in ansible/workshops#1801 ("http_status_code": 409,
# "type": "Sender") and for PoliciesPerRole in aws/eks-hybrid#741 ("Status Code: 409").
def _iam_refusal(c, limit):
    return answers.query_error(c, "LimitExceeded", f"Cannot exceed quota for RolesPerAccount: {limit}", 409)


# API Gateway v2: AWS answered CreateAuthorizer beyond the authorizers quota with HTTP 429 and
# ConflictException "Maximum number of Authorizers for this API has been reached. Please contact
# AWS if you need additional Authorizers." (anomalyco/sst#4522, "StatusCode: 429, ...,
# ConflictException: ..."); CreateIntegration beyond the integrations quota with "Maximum number of
# Integrations for this API has been reached.  Please contact AWS if you need additional
# Integrations." (serverless/serverless-websockets-plugin#22, two spaces as quoted; retried there as
# a "Recoverable error", as a 429 is). The model's error shapes for these calls are
# NotFoundException, TooManyRequestsException (429, "A limit has been exceeded"),
# BadRequestException and ConflictException. For routes, stages, custom domain names and API
# mappings no recorded answer was found: they take the same status and code, and a message in the
# same words.
APIGW_LIMITS = {
    "routes": "Maximum number of Routes for this API has been reached. Please contact AWS if you need additional Routes.",
    "integrations": "Maximum number of Integrations for this API has been reached.  Please contact AWS if you need additional Integrations.",
    "authorizers": "Maximum number of Authorizers for this API has been reached. Please contact AWS if you need additional Authorizers.",
    "stages": "Maximum number of Stages for this API has been reached. Please contact AWS if you need additional Stages.",
    "domain_names": "Maximum number of DomainNames for this account has been reached. Please contact AWS if you need additional DomainNames.",
    "api_mappings": "Maximum number of ApiMappings for this DomainName has been reached. Please contact AWS if you need additional ApiMappings.",
}


def _apigw_refusal(kind):
    return lambda c, limit: answers.rest_error(429, "ConflictException", APIGW_LIMITS[kind])


# ---------------------------------------------------------------------------------------------
# What moto holds: each returns the names (ids) in the scope, or None if moto cannot tell (no such
# parent, moto failed): then the call is forwarded and moto answers it.


def _events_list(h, target, doc, key, name):
    names, token = [], None
    while True:
        page = dict(doc, NextToken=token) if token else doc
        answer, listed = h._moto_json("POST", h.path, page, f"AWSEvents.{target}")
        if answer is None or answer[0] != 200 or not isinstance(listed, dict):
            return None
        names += [x.get(name) for x in listed.get(key) or [] if isinstance(x, dict)]
        token = listed.get("NextToken")
        if not token:
            return names


def _bus_name(doc):
    bus = doc.get("EventBusName") or "default"
    return bus.rsplit("event-bus/", 1)[-1] if bus.startswith("arn:") else bus


def _buses(h, c, doc):
    return _events_list(h, "ListEventBuses", {}, "EventBuses", "Name"), [doc.get("Name")]


def _rules(h, c, doc):
    return _events_list(h, "ListRules", {"EventBusName": _bus_name(doc)}, "Rules", "Name"), [doc.get("Name")]


def _targets(h, c, doc):
    held = _events_list(h, "ListTargetsByRule", {"Rule": doc.get("Rule"), "EventBusName": _bus_name(doc)}, "Targets", "Id")
    return held, [t.get("Id") for t in doc.get("Targets") or [] if isinstance(t, dict)]


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _roles(h, c, doc):
    """ListRoles, every page (moto pages by 100 unless asked for more). IAM role names are unique
    without regard to case."""
    names, marker = [], None
    while True:
        form = [("Action", "ListRoles"), ("Version", c.model.api_version), ("MaxItems", "1000")]
        answer = h._moto("POST", h.path, form=form + ([("Marker", marker)] if marker else []))
        if answer is None or answer[0] != 200:
            return None, []
        try:
            root = ET.fromstring(answer[2])
        except ET.ParseError:
            return None, []
        truncated, marker = False, None
        for el in root.iter():
            tag = _local(el.tag)
            if tag == "RoleName":
                names.append((el.text or "").lower())
            elif tag == "IsTruncated":
                truncated = (el.text or "").strip() == "true"
            elif tag == "Marker":
                marker = el.text
        if not truncated or not marker:
            return names, [(doc.get("RoleName") or "").lower()]


def _apigw_items(h, path, name):
    answer, listed = h._moto_json("GET", path)
    if answer is None or answer[0] != 200 or not isinstance(listed, dict):
        return None
    return [x.get(name) for x in listed.get("items") or [] if isinstance(x, dict)]


def _api_path(c):
    return f"/v2/apis/{quote(c.labels.get('apiId', ''), safe='')}"


def _routes(h, c, doc):
    return _apigw_items(h, _api_path(c) + "/routes", "routeId"), [None]


def _integrations(h, c, doc):
    return _apigw_items(h, _api_path(c) + "/integrations", "integrationId"), [None]


def _stages(h, c, doc):
    return _apigw_items(h, _api_path(c) + "/stages", "stageName"), [doc.get("stageName")]


def _authorizers(h, c, doc):
    """moto 5.2.5 cannot list authorizers: the ids shims_apigatewayv2 kept, each still in moto."""
    base = _api_path(c)
    answer = h._moto("GET", base)
    if answer is None or answer[0] != 200:
        return None, [None]
    held = []
    for authorizer in h.state.authorizers.ids(c.labels.get("apiId")):
        answer = h._moto("GET", f"{base}/authorizers/{quote(authorizer, safe='')}")
        if answer is None:
            return None, [None]
        if answer[0] == 200:
            held.append(authorizer)
    return held, [None]


def _domain_names(h, c, doc):
    return _apigw_items(h, "/v2/domainnames", "domainName"), [doc.get("domainName")]


def _api_mappings(h, c, doc):
    path = f"/v2/domainnames/{quote(c.labels.get('domainName', ''), safe='')}/apimappings"
    return _apigw_items(h, path, "apiMappingId"), [None]


class Quota:
    def __init__(self, key, default, service, op, parent, held, refusal):
        self.key, self.default, self.service, self.op = key, default, service, op
        self.parent = parent  # (c, doc) -> the id of what it counts in ("" for an account)
        self.held = held  # (h, c, doc) -> (names held or None, names the call would add)
        self.refusal = refusal  # (c, limit) -> answer


QUOTAS = [
    Quota("eventbridge.buses_per_account", 100, "events", "CreateEventBus", lambda c, d: "", _buses, _events_refusal),
    Quota("eventbridge.rules_per_bus", 300, "events", "PutRule", lambda c, d: _bus_name(d), _rules, _events_refusal),
    Quota("eventbridge.targets_per_rule", 5, "events", "PutTargets", lambda c, d: f"{_bus_name(d)}/{d.get('Rule')}", _targets, _events_refusal),
    Quota("iam.roles_per_account", 1000, "iam", "CreateRole", lambda c, d: "", _roles, _iam_refusal),
    Quota("apigatewayv2.routes_per_api", 300, "apigatewayv2", "CreateRoute", lambda c, d: c.labels.get("apiId"), _routes, _apigw_refusal("routes")),
    Quota("apigatewayv2.integrations_per_api", 300, "apigatewayv2", "CreateIntegration", lambda c, d: c.labels.get("apiId"), _integrations,
          _apigw_refusal("integrations")),
    Quota("apigatewayv2.authorizers_per_api", 10, "apigatewayv2", "CreateAuthorizer", lambda c, d: c.labels.get("apiId"), _authorizers,
          _apigw_refusal("authorizers")),
    Quota("apigatewayv2.stages_per_api", 10, "apigatewayv2", "CreateStage", lambda c, d: c.labels.get("apiId"), _stages, _apigw_refusal("stages")),
    Quota("apigatewayv2.domain_names_per_account", 120, "apigatewayv2", "CreateDomainName", lambda c, d: "", _domain_names,
          _apigw_refusal("domain_names")),
    Quota("eventbridgev2.buses_per_account", 5, "eventbridgev2", "CreateEventBus", lambda c, d: "", _eventsv2_names("bus"), _eventsv2_refusal),
    Quota("eventbridgev2.event_sources_per_account", 200, "eventbridgev2", "CreateEventSource", lambda c, d: "", _eventsv2_names("source"),
          _eventsv2_refusal),
    Quota("eventbridgev2.subscribers_per_bus", 10000, "eventbridgev2", "CreateSubscriber", lambda c, d: d.get("EventBusArn"),
          _eventsv2_names("subscriber", parent=True), _eventsv2_refusal),
    Quota("apigatewayv2.api_mappings_per_domain", 200, "apigatewayv2", "CreateApiMapping", lambda c, d: c.labels.get("domainName"), _api_mappings,
          _apigw_refusal("api_mappings")),
]
BY_CALL = {(q.service, q.op): q for q in QUOTAS}
DEFAULTS = {q.key: q.default for q in QUOTAS}
ACCESS_KEY = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/")


def parse(doc):
    """{key: n} checked: known keys, integers >= 0. ValueError otherwise."""
    if not isinstance(doc, dict):
        raise ValueError("the quotas must be a JSON object {key: n}")
    unknown = sorted(k for k in doc if k not in DEFAULTS)
    if unknown:
        raise ValueError(f"unknown quota(s) {unknown}; known: {sorted(DEFAULTS)}")
    for k, v in doc.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"quota {k} must be an integer >= 0, got {v!r}")
    return dict(doc)


class Quotas:
    def __init__(self, text=None):
        """`text`: the start-up JSON (--quotas / AWS_EMULATOR_QUOTAS), or None for AWS's defaults."""
        self.lock = threading.Lock()
        self.start = dict(DEFAULTS)
        if text:
            self.start.update(parse(json.loads(text)))
        self.values = dict(self.start)
        self.scopes = {}  # (quota key, access key, region, parent) -> Lock

    def configure(self, doc):
        changes = parse(doc)
        with self.lock:
            self.values.update(changes)

    def reset(self):
        with self.lock:
            self.values = dict(self.start)

    def settings(self):
        with self.lock:
            return dict(self.values)

    def _scope_lock(self, key):
        with self.lock:
            return self.scopes.setdefault(key, threading.Lock())

    @contextlib.contextmanager
    def admit(self, h, c, body):
        """Yields None (go ahead: the call is made inside this block, under the scope's lock) or
        AWS's refusal (answer it, do not forward)."""
        quota = BY_CALL.get((c.model.name, c.op))
        doc = _params(c, body) if quota is not None else None
        if doc is None:
            yield None
            return
        m = ACCESS_KEY.search(h.headers.get("Authorization", ""))
        access_key, region = (m.group(1), m.group(2)) if m else ("", "")
        if quota.service == "iam":
            region = ""  # IAM is global: one count per account
        with self._scope_lock((quota.key, access_key, region, quota.parent(c, doc))):
            # apigatewayv2: not while a multi-step emulation has an object missing for a moment
            # (UpdateDomainName deletes and re-creates the domain's mappings).
            reading = h.state.compound.shared() if quota.service == "apigatewayv2" else contextlib.nullcontext()
            with reading:
                held, adding = quota.held(h, c, doc)
            if held is not None:
                new = {x for x in adding if x is None or x not in held}
                new_count = sum(1 for x in adding if x is None) + len(new - {None})
                limit = self.settings()[quota.key]
                if new_count and len(held) + new_count > limit:
                    yield quota.refusal(c, limit)
                    return
            yield None


def _params(c, body):
    """The request's parameters a quota reads: the JSON body (json, rest-json) or the form (query)."""
    if c.protocol == "query":
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    if c.protocol == "rpc-v2-cbor":
        return c.params
    return json_object(body)
