"""apigatewayv2: what moto 5.2.5 lacks or does unlike AWS, answered as AWS does, after the model
check and the fault draw like any other call (each function's docstring cites the AWS reference
page it follows). moto runs in a process of its own (moto_server; the emulator only knows its
address), so the emulator cannot edit moto's backend objects: where AWS changes an object in place
and moto cannot, the emulator deletes it and creates it again through moto's API (under a lock that
holds other apigatewayv2 requests until it is done), keeping its name, tags and ids.

- `GetAuthorizers` (`GET /v2/apis/{apiId}/authorizers`), which moto 5.2.5 lacks (it answers 500,
  NotImplementedError), in the shape of the AWS API Gateway v2 API reference
  (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-authorizers.html):
  `{"items": [Authorizer...], "nextToken": "..."}`, each item as moto's GetAuthorizer gives it
  (`authorizerId`, `name`, `authorizerType`, `identitySource`, `jwtConfiguration`, ..., null members
  left out), in creation order. The emulator keeps the ids from moto's 2xx answers to
  CreateAuthorizer (forgotten on DeleteAuthorizer, DeleteApi and `/moto-api/reset`) and fetches each
  with GetAuthorizer. An API moto does not know: moto's 404 `NotFoundException` relayed. `maxResults`
  limits a page; `nextToken` is the index of the next item (an unknown one: 400
  `BadRequestException` "Invalid nextToken").
- `UpdateStage` (moto: 500) merges the settings given into the stage (`createdDate` becomes the
  update's time, `deploymentId` is not kept); `DeleteAccessLogSettings` (moto: 404 HTML) answers 204
  and the stage has none.
- custom domains: `CreateDomainName`, `GetDomainName(s)` and `UpdateDomainName` carry what API
  Gateway computes in each DomainNameConfiguration, which moto leaves out: `apiGatewayDomainName`
  (`d-<10 alphanumerics derived from the domain name>.execute-api.<region>.amazonaws.com`),
  `hostedZoneId` (the region's, see REGIONAL_HOSTED_ZONES), `domainNameStatus` AVAILABLE.
  `UpdateDomainName` (moto: 500) replaces the configurations and keeps tags and mappings;
  `DeleteDomainName` (moto: 500 while mappings exist) deletes the mappings, then the domain.
- API mappings: `UpdateApiMapping` (moto: 500) keeps the mapping's id (moto's id, derived from stage
  and key, changes: the emulator maps it back in every answer and path); `CreateApiMapping` /
  `UpdateApiMapping` with a key the domain already maps: 409 `ConflictException` "ApiMapping key
  already exists for this domain name".
- `DeleteApi` of an API that an API mapping of a custom domain name still points at: 400
  `BadRequestException` "Deleting API <apiId> failed. Please remove all API mappings for the API from
  your custom domain names." (moto deletes it and leaves the mapping pointing at no API).
- `CreateRoute` with a route key the API already has: 409 `ConflictException` (moto would make a
  second route; a retried write meets what the first attempt made).
"""

import contextlib
import hashlib
import json
import re
import sys
import threading
import uuid
from urllib.parse import parse_qsl, quote

from . import answers
from .check import json_object

SERVICE = "apigatewayv2"


class AuthorizerIds:
    """The ids of the authorizers moto made, per API id, in creation order (moto 5.2.5 cannot list
    them: the emulator answers GetAuthorizers from these)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_api = {}  # api id -> {authorizer id: None}, an ordered set

    def add(self, api, authorizer):
        with self.lock:
            self.by_api.setdefault(api, {})[authorizer] = None

    def discard(self, api, authorizer):
        with self.lock:
            self.by_api.get(api, {}).pop(authorizer, None)

    def forget_api(self, api):
        with self.lock:
            self.by_api.pop(api, None)

    def clear(self):
        with self.lock:
            self.by_api.clear()

    def ids(self, api):
        with self.lock:
            return list(self.by_api.get(api, {}))


class SharedLock:
    """Many shared holders or one exclusive one. A multi-step emulation (a delete and a create in
    moto) holds it exclusively, every other apigatewayv2 request shared while moto answers it: no
    client sees the object missing between the delete and the create."""

    def __init__(self):
        self.cond = threading.Condition()
        self.readers = 0
        self.writer = False

    @contextlib.contextmanager
    def shared(self):
        with self.cond:
            self.cond.wait_for(lambda: not self.writer)
            self.readers += 1
        try:
            yield
        finally:
            with self.cond:
                self.readers -= 1
                self.cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self):
        with self.cond:
            self.cond.wait_for(lambda: not self.writer)
            self.writer = True  # from now on no new shared holder: the ones inside finish
            self.cond.wait_for(lambda: self.readers == 0)
        try:
            yield
        finally:
            with self.cond:
                self.writer = False
                self.cond.notify_all()


class MappingIds:
    """moto derives an API mapping's id from its stage, domain and key (a sha256, 5 hex digits), so
    the create + delete that emulates UpdateApiMapping gives a mapping whose stage or key changed a
    new id in moto, where AWS keeps the id. Per domain, the id AWS would show ("visible") of each
    such mapping and moto's id of it; a mapping not listed here shows moto's id."""

    def __init__(self):
        self.lock = threading.Lock()
        self.to_moto = {}  # (domain, visible id) -> moto id
        self.to_visible = {}  # (domain, moto id) -> visible id

    def moto(self, domain, visible):
        """moto's id of the mapping a client calls `visible`; None if there is none (an id moto
        has, but that AWS would show under another)."""
        with self.lock:
            if (domain, visible) in self.to_moto:
                return self.to_moto[(domain, visible)]
            if (domain, visible) in self.to_visible:
                return None
            return visible

    def visible(self, domain, moto_id):
        with self.lock:
            return self.to_visible.get((domain, moto_id), moto_id)

    def alias(self, domain, visible, moto_id):
        """The mapping shown as `visible` is now `moto_id` in moto."""
        with self.lock:
            self._drop(domain, visible)
            if visible != moto_id:
                self.to_moto[(domain, visible)] = moto_id
                self.to_visible[(domain, moto_id)] = visible

    def created(self, domain, moto_id):
        """The visible id of a mapping moto has just created: moto's, unless another mapping is
        already shown under it (then a fresh one)."""
        with self.lock:
            if (domain, moto_id) in self.to_visible:
                return self.to_visible[(domain, moto_id)]
            if (domain, moto_id) not in self.to_moto:
                return moto_id
            while True:
                fresh = uuid.uuid4().hex[:5]
                if (domain, fresh) not in self.to_moto and (domain, fresh) not in self.to_visible:
                    break
            self.to_moto[(domain, fresh)] = moto_id
            self.to_visible[(domain, moto_id)] = fresh
            return fresh

    def forget(self, domain, visible):
        with self.lock:
            self._drop(domain, visible)

    def forget_domain(self, domain):
        with self.lock:
            for key in [k for k in self.to_moto if k[0] == domain]:
                self.to_visible.pop((domain, self.to_moto.pop(key)), None)

    def _drop(self, domain, visible):
        moto_id = self.to_moto.pop((domain, visible), None)
        if moto_id is not None:
            self.to_visible.pop((domain, moto_id), None)

    def clear(self):
        with self.lock:
            self.to_moto.clear()
            self.to_visible.clear()


# Route 53 hosted zone ids of API Gateway's regional (execute-api) endpoints, from "Amazon API
# Gateway endpoints and quotas" (https://docs.aws.amazon.com/general/latest/gr/apigateway.html,
# column "Route 53 Hosted Zone ID"); the page gives Z2FDTNDATAQYW2 for edge-optimized endpoints in
# every region. A region not listed here gets REGIONAL_ZONE_FALLBACK, which is no real zone.
REGIONAL_HOSTED_ZONES = {
    "us-east-1": "Z1UJRXOUMOOFQ8",
    "us-east-2": "ZOJJZC49E0EPZ",
    "us-west-1": "Z2MUQ32089INYE",
    "us-west-2": "Z2OJLYMUO9EFXC",
    "eu-west-1": "ZLY8HYME6SFDD",
    "eu-west-2": "ZJ5UAJN8Y3Z2Q",
    "eu-central-1": "Z1U9ULNL0V5AJ3",
    "ap-northeast-1": "Z1YSHQZHG15GKL",
    "ap-southeast-1": "ZL327KTPIQFUL",
    "ap-southeast-2": "Z2RPCDW04V8134",
}
REGIONAL_ZONE_FALLBACK = "Z0000000EMULATED"
EDGE_HOSTED_ZONE = "Z2FDTNDATAQYW2"
# Members of a DomainNameConfiguration that API Gateway computes (a client's values are ignored).
DOMAIN_COMPUTED = ("apiGatewayDomainName", "hostedZoneId", "domainNameStatus", "domainNameStatusMessage")
MAPPING_KEY_TAKEN = "ApiMapping key already exists for this domain name"
MAPPING_NOT_FOUND = "The api mapping resource specified in the request was not found."  # moto's 404
API_MAPPED = "Deleting API {} failed. Please remove all API mappings for the API from your custom domain names."
# What moto's GetStage shows and CreateStage takes back (its Stage keeps no deploymentId).
STAGE_FIELDS = ("stageName", "accessLogSettings", "autoDeploy", "clientCertificateId", "defaultRouteSettings", "description",
                "routeSettings", "stageVariables", "tags")


def base36(data, n):
    """n lowercase alphanumerics derived from bytes (deterministic)."""
    value = int.from_bytes(hashlib.sha256(data).digest(), "big")
    out = []
    for _ in range(n):
        value, r = divmod(value, 36)
        out.append("0123456789abcdefghijklmnopqrstuvwxyz"[r])
    return "".join(out)


def domain_target(domain, configuration, region):
    """What API Gateway fills in a custom domain's DomainNameConfiguration (see CreateDomainName in
    the API Gateway v2 API reference,
    https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/domainnames.html): the domain name
    to point DNS at ("d-" and 10 lowercase alphanumerics, then `.execute-api.<region>.amazonaws.com`
    for a REGIONAL endpoint, the CloudFront distribution for an EDGE one), the Route 53 hosted zone
    of that name, and the status (AVAILABLE: the emulator has no certificate validation to wait for)."""
    out = {k: v for k, v in configuration.items() if k not in DOMAIN_COMPUTED}
    key = (domain or "").lower().encode()
    if out.get("endpointType") == "EDGE":
        out["apiGatewayDomainName"] = f"d{base36(b'edge:' + key, 13)}.cloudfront.net"
        out["hostedZoneId"] = EDGE_HOSTED_ZONE
    else:
        out["apiGatewayDomainName"] = f"d-{base36(key, 10)}.execute-api.{region}.amazonaws.com"
        out["hostedZoneId"] = REGIONAL_HOSTED_ZONES.get(region, REGIONAL_ZONE_FALLBACK)
    out["domainNameStatus"] = "AVAILABLE"
    return out


def merged(old, new):
    """A map member of UpdateStage: the keys given replace those, the others stay."""
    out = dict(old or {})
    out.update(new or {})
    return out



def get_authorizers(h, c):
    """apigatewayv2 GetAuthorizers, which moto 5.2.5 lacks, from the ids the emulator kept and
    moto's GetAuthorizer (see the module docstring): (status, headers, body, reason), or None
    after answering 502."""
    api = c.labels["apiId"]
    base = f"/v2/apis/{quote(api, safe='')}"
    answer = h._upstream_get(base)  # GetApi: moto's 404 if it does not know the API
    if answer is None:
        return h._bad_gateway("GetApi failed")
    if answer[0] != 200:
        return answer
    items = []
    for authorizer in h.state.authorizers.ids(api):
        answer = h._upstream_get(f"{base}/authorizers/{quote(authorizer, safe='')}")
        if answer is None:
            return h._bad_gateway("GetAuthorizer failed")
        if answer[0] == 404:
            h.state.authorizers.discard(api, authorizer)
            continue
        if answer[0] != 200:
            return answer
        items.append({k: v for k, v in json.loads(answer[2]).items() if v is not None})
    query = dict(parse_qsl(h.path.partition("?")[2], keep_blank_values=True))
    start, size = 0, len(items)
    token = query.get("nextToken")
    if token is not None:
        if not re.fullmatch(r"[1-9][0-9]{0,8}", token):
            return answers.bad_request("Invalid nextToken")
        start = int(token)
    if "maxResults" in query:
        if not re.fullmatch(r"[1-9][0-9]{0,8}", query["maxResults"]):
            return answers.bad_request("Invalid maxResults")
        size = int(query["maxResults"])
    doc = {"items": items[start : start + size]}
    if start + size < len(items):
        doc["nextToken"] = str(start + size)
    headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", str(uuid.uuid4()))]
    return 200, headers, json.dumps(doc).encode(), None

# -----------------------------------------------------------------------------------------
# Emulations (see "Emulation of what moto 5.2.5 lacks" above). Each takes (c, body, dechunked)
# and returns the answer (status, headers, body, reason), or None after answering 502.


def update_stage(h, c, body, dechunked):
    """apigatewayv2 UpdateStage (moto 5.2.5: 500 NotImplementedError), as the API Gateway v2 API
    reference has it (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-stages-stagename.html,
    PATCH, 200 with the Stage): the members given replace the stage's; the maps
    (defaultRouteSettings' members, routeSettings per route key, stageVariables per variable)
    are merged into the stage's, as a PATCH. So an empty defaultRouteSettings keeps the stage's
    throttling limits, as on AWS (AWS support's answer quoted in
    https://github.com/serverless/serverless/pull/8590: they cannot be removed that way). moto cannot change a stage: the emulator deletes it and
    creates it again with the merged settings (same name, tags, variables), so createdDate is the
    time of the update, and deploymentId is not kept (moto keeps none)."""
    doc = json.loads(body or b"{}")
    with h.state.compound.exclusive():
        answer, current = h._moto_json("GET", stage_path(c))
        if answer is None:
            return h._bad_gateway("GetStage failed")
        if answer[0] != 200 or not isinstance(current, dict):
            return answer
        config = {k: current[k] for k in STAGE_FIELDS if current.get(k) is not None}
        for k in ("accessLogSettings", "autoDeploy", "clientCertificateId", "description"):
            if k in doc:
                config[k] = doc[k]
        if "defaultRouteSettings" in doc:
            config["defaultRouteSettings"] = merged(config.get("defaultRouteSettings"), doc["defaultRouteSettings"])
        if "routeSettings" in doc:
            routes = dict(config.get("routeSettings") or {})
            for key, settings in (doc["routeSettings"] or {}).items():
                routes[key] = merged(routes.get(key), settings)
            config["routeSettings"] = routes
        if "stageVariables" in doc:
            config["stageVariables"] = merged(config.get("stageVariables"), doc["stageVariables"])
        answer = recreate_stage(h, c, config, current)
    if answer is None or answer[0] // 100 != 2:
        return answer
    return 200, answer[1], answer[2], None


def delete_access_log_settings(h, c, body, dechunked):
    """apigatewayv2 DeleteAccessLogSettings (moto 5.2.5 has no route for it: 404 HTML), as the API
    Gateway v2 API reference has it (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-stages-stagename-accesslogsettings.html,
    DELETE, 204; "To disable access logging for a Stage, delete its AccessLogSettings"): the
    stage is created again without them (see _update_stage)."""
    with h.state.compound.exclusive():
        answer, current = h._moto_json("GET", stage_path(c))
        if answer is None:
            return h._bad_gateway("GetStage failed")
        if answer[0] != 200 or not isinstance(current, dict):
            return answer
        if current.get("accessLogSettings"):
            config = {k: current[k] for k in STAGE_FIELDS if current.get(k) is not None and k != "accessLogSettings"}
            answer = recreate_stage(h, c, config, current)
            if answer is None or answer[0] // 100 != 2:
                return answer
    return answers.json_answer(None, 204)


def stage_path(c):
    return f"/v2/apis/{quote(c.labels['apiId'], safe='')}/stages/{quote(c.labels['stageName'], safe='')}"


def recreate_stage(h, c, config, previous):
    """Delete the stage and create it with `config` (under the exclusive lock): moto's answer to
    the create; if that fails, the stage is created again as it was."""
    path = stage_path(c)
    deleted = h._moto("DELETE", path)
    if deleted is None or deleted[0] // 100 != 2:
        return deleted if deleted is not None else h._bad_gateway("DeleteStage failed")
    create = f"/v2/apis/{quote(c.labels['apiId'], safe='')}/stages"
    answer = h._moto("POST", create, config)
    if answer is None or answer[0] // 100 != 2:
        h._moto("POST", create, {k: previous[k] for k in STAGE_FIELDS if previous.get(k) is not None})
        return answer if answer is not None else h._bad_gateway("CreateStage failed")
    return answer


def domain_path(c):
    return f"/v2/domainnames/{quote(c.labels['domainName'], safe='')}"


def mappings_of(h, c):
    """(answer, moto's API mappings of the request's domain); answer None if moto failed."""
    answer, doc = h._moto_json("GET", domain_path(c) + "/apimappings")
    if answer is None or answer[0] != 200 or not isinstance(doc, dict):
        return answer, None
    return answer, [x for x in doc.get("items") or [] if isinstance(x, dict)]


def update_domain_name(h, c, body, dechunked):
    """apigatewayv2 UpdateDomainName (moto 5.2.5: 500 NotImplementedError), as the API Gateway v2
    API reference has it (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/domainnames-domainname.html,
    PATCH, 200 with the DomainName): DomainNameConfigurations and MutualTlsAuthentication, when
    given, replace the domain's; tags and API mappings stay. moto cannot change a domain: the
    proxy deletes its mappings and the domain, creates the domain with the new settings and its
    tags, and creates the mappings again (moto derives a mapping's id from its stage, domain and
    key, so they come back with the same ids). RoutingMode is not kept: moto keeps none."""
    doc = json.loads(body or b"{}")
    base = domain_path(c)
    with h.state.compound.exclusive():
        answer, current = h._moto_json("GET", base)
        if answer is None:
            return h._bad_gateway("GetDomainName failed")
        if answer[0] != 200 or not isinstance(current, dict):
            return answer
        answer, mappings = mappings_of(h, c)
        if mappings is None:
            return answer if answer is not None else h._bad_gateway("GetApiMappings failed")
        configurations = doc.get("domainNameConfigurations", current.get("domainNameConfigurations") or [{}])
        config = {
            "domainName": current.get("domainName", c.labels["domainName"]),
            "domainNameConfigurations": [{k: v for k, v in x.items() if k not in DOMAIN_COMPUTED} for x in configurations if isinstance(x, dict)],
            "mutualTlsAuthentication": doc.get("mutualTlsAuthentication", current.get("mutualTlsAuthentication") or {}),
            "tags": current.get("tags") or {},
        }
        for m in mappings:
            h._moto("DELETE", f"{base}/apimappings/{quote(m['apiMappingId'], safe='')}")
        deleted = h._moto("DELETE", base)
        answer = deleted
        if deleted is not None and deleted[0] // 100 == 2:
            answer = h._moto("POST", "/v2/domainnames", config)
            if answer is None or answer[0] // 100 != 2:  # put the domain back as it was
                was = dict(config, domainNameConfigurations=[{k: v for k, v in x.items() if k not in DOMAIN_COMPUTED}
                                                             for x in current.get("domainNameConfigurations") or [{}] if isinstance(x, dict)],
                           mutualTlsAuthentication=current.get("mutualTlsAuthentication") or {})
                h._moto("POST", "/v2/domainnames", was)
        for m in mappings:  # the same ids: moto derives them from stage, domain and key
            again = {"apiId": m.get("apiId"), "apiMappingKey": m.get("apiMappingKey", ""), "stage": m.get("stage")}
            back = h._moto("POST", f"{base}/apimappings", again)
            if back is None or back[0] // 100 != 2:
                print(f"aws_emulator: UpdateDomainName: mapping {m} not restored: {back and back[2][:200]!r}", file=sys.stderr)
    if answer is None or answer[0] // 100 != 2:
        return answer if answer is not None else h._bad_gateway("UpdateDomainName failed")
    return 200, answer[1], answer[2], None


def delete_domain_name(h, c, body, dechunked):
    """apigatewayv2 DeleteDomainName (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/domainnames-domainname.html,
    DELETE, 204). The reference does not say what becomes of the domain's API mappings; they
    cannot outlive it (they are addressed under it), and moto means to delete them too but
    crashes doing so (500 "dictionary changed size during iteration", one mapping deleted per
    attempt). So the emulator deletes the mappings first, then the domain."""
    base = domain_path(c)
    with h.state.compound.exclusive():
        answer, mappings = mappings_of(h, c)
        for m in mappings or []:
            if h._moto("DELETE", f"{base}/apimappings/{quote(m['apiMappingId'], safe='')}") is None:
                return h._bad_gateway("DeleteApiMapping failed")
        answer = h._moto("DELETE", h.path)
    if answer is None:
        return h._bad_gateway("DeleteDomainName failed")
    if answer[0] // 100 == 2:
        h.state.mapping_ids.forget_domain(c.labels["domainName"])
    return answer


def delete_api(h, c, body, dechunked):
    """apigatewayv2 DeleteApi (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid.html,
    DELETE, 204) of an API that an API mapping of a custom domain name still points at: AWS
    refuses it with BadRequestException "Deleting API <apiId> failed. Please remove all API
    mappings for the API from your custom domain names." (the reference page does not list this
    refusal; the type and the message are what AWS answered in gruntwork-io/cloud-nuke#370,
    "BadRequestException: Deleting API XYZ failed. Please remove all API mappings for the API
    from your custom domain names."). No report found quotes the status code with that message:
    400 is the apigatewayv2 model's httpStatusCode of BadRequestException, and the status AWS
    gave apigatewayv2's refusal of a mapped API's deletion in
    amplify-education/serverless-domain-manager#406 ("Service: AmazonApiGatewayV2; Status
    Code: 400; Error Code: BadRequestException", there with a base-path-mapping wording).
    moto deletes the API and leaves the mapping pointing at no API. The emulator reads every
    domain's mappings (GetDomainNames, then GetApiMappings per domain; moto pages neither) and
    refuses if one has this ApiId; otherwise moto deletes the API. Under the exclusive lock: no
    mapping is made in between, and none is missing for a moment while UpdateDomainName
    re-creates them."""
    api = c.labels["apiId"]
    with h.state.compound.exclusive():
        answer, domains = h._moto_json("GET", "/v2/domainnames")
        if answer is None or answer[0] != 200 or not isinstance(domains, dict):
            return h._bad_gateway(f"GetDomainNames failed: {answer and answer[0]}")
        for d in domains.get("items") or []:
            name = d.get("domainName") if isinstance(d, dict) else None
            if not isinstance(name, str):
                continue
            answer, doc = h._moto_json("GET", f"/v2/domainnames/{quote(name, safe='')}/apimappings")
            if answer is None or answer[0] != 200 or not isinstance(doc, dict):
                return h._bad_gateway(f"GetApiMappings of {name} failed: {answer and answer[0]}")
            if any(isinstance(m, dict) and m.get("apiId") == api for m in doc.get("items") or []):
                return answers.bad_request(API_MAPPED.format(api))
        return h._upstream(body, dechunked)


def update_api_mapping(h, c, body, dechunked):
    """apigatewayv2 UpdateApiMapping (moto 5.2.5: 500 NotImplementedError), as the API Gateway v2
    API reference has it (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/domainnames-domainname-apimappings-apimappingid.html,
    PATCH, 200 with the ApiMapping; ApiId required, ApiMappingKey and Stage optional): the same
    mapping id with the new API, key and stage; a key another mapping of the domain has is
    refused (409 ConflictException, as CreateApiMapping). moto cannot change a mapping: the
    proxy creates the new one and deletes the old one, and keeps answering with the old id (see
    MappingIds)."""
    doc = json.loads(body or b"{}")
    domain, visible = c.labels["domainName"], c.labels["apiMappingId"]
    ids, base = h.state.mapping_ids, domain_path(c)
    with h.state.compound.exclusive():
        answer = h._moto("GET", base)  # moto's 404 for an unknown domain
        if answer is None:
            return h._bad_gateway("GetDomainName failed")
        if answer[0] != 200:
            return answer
        answer, mappings = mappings_of(h, c)
        if mappings is None:
            return answer if answer is not None else h._bad_gateway("GetApiMappings failed")
        moto_id = ids.moto(domain, visible)
        current = next((m for m in mappings if m.get("apiMappingId") == moto_id), None)
        if current is None:
            return answers.rest_error(404, "NotFoundException", MAPPING_NOT_FOUND)
        new = {
            "apiId": doc["apiId"],
            "apiMappingKey": doc.get("apiMappingKey", current.get("apiMappingKey", "")),
            "stage": doc.get("stage", current.get("stage")),
        }
        if any(m is not current and m.get("apiMappingKey", "") == new["apiMappingKey"] for m in mappings):
            return answers.rest_error(409, "ConflictException", MAPPING_KEY_TAKEN)
        answer, made = h._moto_json("POST", f"{base}/apimappings", new)
        if answer is None:
            return h._bad_gateway("CreateApiMapping failed")
        if answer[0] // 100 != 2 or not isinstance(made, dict):
            return answer  # moto's 404 (no such API) or 400 (a key it refuses): nothing changed
        if made.get("apiMappingId") != moto_id:
            if h._moto("DELETE", f"{base}/apimappings/{quote(moto_id, safe='')}") is None:
                return h._bad_gateway("DeleteApiMapping failed")
            ids.alias(domain, visible, made.get("apiMappingId"))
    return answers.json_answer({"apiId": new["apiId"], "apiMappingId": visible, "apiMappingKey": new["apiMappingKey"], "stage": new["stage"]})


def route_conflict(h, c, body):
    """CreateRoute with a route key the API already has: AWS refuses (409 ConflictException), moto
    makes a second route with that key."""
    doc = json_object(body)
    if doc is None:
        return None
    key = doc.get("routeKey")
    items = (h._upstream_get_json() or {}).get("items") or []
    if not any(isinstance(x, dict) and x.get("routeKey") == key for x in items):
        return None
    message = f"Unable to complete operation due to concurrent modification. Route key {key} already exists."
    return answers.rest_error(409, "ConflictException", message)


def mapping_key_conflict(h, c, body):
    """CreateApiMapping with an ApiMappingKey the domain already maps: AWS refuses (409
    ConflictException "ApiMapping key already exists for this domain name", as AWS answered in
    aws/aws-cdk#22660 and aws-cloudformation/cloudformation-coverage-roadmap#1151), moto overwrites
    the mapping of the same stage and key (same id) or adds a second mapping with that key."""
    doc = json_object(body)
    if doc is None:
        return None
    key = doc.get("apiMappingKey", "")  # moto's default too: no key is the empty key
    items = (h._upstream_get_json() or {}).get("items") or []
    if not any(isinstance(x, dict) and x.get("apiMappingKey", "") == key for x in items):
        return None
    return answers.rest_error(409, "ConflictException", MAPPING_KEY_TAKEN)


def forward(h, c, body, dechunked):
    """Forward a checked request to moto while no multi-step emulation runs, with moto's id of an
    API mapping the client knows by the id AWS would show."""
    path = None
    if c.op in ("GetApiMapping", "DeleteApiMapping"):
        visible = c.labels.get("apiMappingId")
        moto_id = h.state.mapping_ids.moto(c.labels.get("domainName"), visible)
        if moto_id is None:
            return answers.rest_error(404, "NotFoundException", MAPPING_NOT_FOUND)
        if moto_id != visible:
            raw, _, query = h.path.partition("?")
            path = raw.rstrip("/").rpartition("/")[0] + "/" + quote(moto_id, safe="") + (f"?{query}" if query else "")
    with h.state.compound.shared():
        return h._upstream(body, dechunked, path)


def after(h, c, body, answer):
    """moto's answer as AWS would give it (the computed members of custom domains, the API mapping
    ids AWS would show), and the bookkeeping of what moto just did (authorizer ids, mapping ids)."""
    status, headers, data, reason = answer
    if status // 100 != 2:
        return answer
    _track_authorizers(h, c, data)
    op = c.op
    domain, ids = c.labels.get("domainName"), h.state.mapping_ids
    if op == "DeleteApiMapping":
        ids.forget(domain, c.labels.get("apiMappingId"))
        return answer
    if op not in ("CreateDomainName", "GetDomainName", "GetDomainNames", "UpdateDomainName", "CreateApiMapping", "GetApiMapping", "GetApiMappings"):
        return answer
    try:
        doc = json.loads(data)
    except ValueError:
        return answer
    if not isinstance(doc, dict):
        return answer
    items = doc.get("items") if op.endswith("s") else [doc]
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        if "DomainName" in op:
            configurations = item.get("domainNameConfigurations") or [{}]  # AWS: one, REGIONAL by default
            item["domainNameConfigurations"] = [domain_target(item.get("domainName"), x, h._region()) for x in configurations if isinstance(x, dict)]
        elif isinstance(item.get("apiMappingId"), str):
            moto_id = item["apiMappingId"]
            item["apiMappingId"] = ids.created(domain, moto_id) if op == "CreateApiMapping" else ids.visible(domain, moto_id)
    return status, headers, json.dumps(doc).encode(), reason


def _track_authorizers(h, c, data):
    """Keep the authorizer ids of moto's 2xx answers to CreateAuthorizer (see AuthorizerIds)."""
    known, api = h.state.authorizers, c.labels.get("apiId")
    if c.op == "CreateAuthorizer":
        try:
            authorizer = json.loads(data).get("authorizerId")
        except (ValueError, AttributeError):
            return
        if isinstance(authorizer, str):
            known.add(api, authorizer)
    elif c.op == "DeleteAuthorizer":
        known.discard(api, c.labels.get("authorizerId"))
    elif c.op == "DeleteApi":
        known.forget_api(api)


def init(state):
    state.authorizers = AuthorizerIds()
    state.mapping_ids = MappingIds()
    state.compound = SharedLock()


def reset(state):
    """moto forgot everything (`/moto-api/reset`)."""
    state.authorizers.clear()
    state.mapping_ids.clear()


# The calls answered here (with moto's help) instead of forwarding them: Op -> (h, c, body, dechunked) -> answer.
EMULATIONS = {
    "GetAuthorizers": lambda h, c, body, dechunked: get_authorizers(h, c),
    "UpdateStage": update_stage,
    "DeleteAccessLogSettings": delete_access_log_settings,
    "UpdateDomainName": update_domain_name,
    "DeleteDomainName": delete_domain_name,
    "UpdateApiMapping": update_api_mapping,
    "DeleteApi": delete_api,
}
# AWS's refusals of a call moto would accept, checked before it is forwarded: Op -> (h, c, body) -> answer or None.
GUARDS = {
    "CreateRoute": route_conflict,
    "CreateApiMapping": mapping_key_conflict,
}
