"""eventbridgev2's data plane and its test endpoints (never model-checked, faulted or held; a
delivery's SendMessage goes to moto directly, so it is not blocked by a kill point either):

- `POST /__webhooks/<id>` (a source's WebhookUrl): verified against the source's AuthConfiguration
  (eventsv2_auth.py). Refused: 401 (credential missing) or 403 (wrong, stale, a bad message id),
  body `{"message": "Unauthorized" | "Forbidden"}`, and the reason in the webhook log; an unknown
  or deleted source: 404; a method other than POST: 405. Accepted: 200 `{"EventId": ...}`, and the
  request becomes one event on the source's bus, delivered at once (before the answer) to each
  RUNNING, unrevoked subscriber of the bus whose every Filter matches.
- CONTENT_BASED deduplication (the source's DeduplicationConfiguration, PutEvents'): a body seen
  on that source (entry content on that bus) in the last 300 s is answered 200 and logged
  `deduplicated`, and not published again (the window is an assumption: SQS FIFO's 5 minutes).

The event, as the user guide's "Event structure: data, metadata, and system metadata"
(eb-custom-bus-addressing) and "Transforming events with JSONata" (eb-custom-bus-transform) give
it: three top-level parts `Data`, `Metadata` and `SystemMetadata`.

- A webhook request: `Data` the body exactly as sent (parsed as JSON for DATA filters and
  WITH_METADATA, else the text), `Metadata` each MetadataHttpHeaders header present under its
  lowercase name ("Each header is added under its lowercase name"), `SystemMetadata` strings:
  `aws:DeliveryType` LIVE, `aws:EventId`, `aws:IngestionTime`, `aws:Source` and `ContentType`.
  ASSUMPTIONS (not found in the docs the emulator could read): `aws:Source` is the event source's
  ARN, `ContentType` the request's Content-Type.
- PutEvents: `Data` the envelope (`version`, `id`, `detail-type`, `source`, `account`, `time`,
  `region`, `resources`, `detail` = the entry's Detail parsed: "Your payload is the value of
  detail"), no `Metadata`, `SystemMetadata` with `aws:Source`, `aws:DetailType`, `ContentType`
  application/eventbridge+json (PutEventsSystemMetadata), EventGroupId / DeduplicationId when set.

A subscriber without FilterConfiguration receives every event; otherwise every Filter must match
its scope's part (DATA: Data, METADATA: Metadata, SYSTEM_METADATA: SystemMetadata), with moto's
EventBridge pattern matcher (moto.events.models.EventPattern). Transformer RAW (the default)
delivers the data unchanged (a webhook's body as received; PutEvents' envelope as JSON);
WITH_METADATA the JSON envelope of the three parts; JSONATA is not emulated (delivered RAW, the
delivery says so). Targets: an SQS queue ARN gets SendMessage in moto (query protocol; a `.fifo`
queue with MessageGroupId and MessageDeduplicationId when SqsParameters gives literal ones, else
the event id); any other target is only recorded.

Test endpoints: `GET /__eventsv2/webhook-log` (`[{"time", "webhookId", "eventSourceArn",
"status", "accepted", "reason", "eventId"}]`), `GET /__eventsv2/deliveries` (`[{"time",
"subscriberArn", "targetArn", "eventId", "body", "status": delivered | failed | recorded,
"detail"}]`), `DELETE` of either empties it; `GET /__eventsv2/secret?arn=<SecretArn>` (`{"Type",
"SecretValue", "Username"?}`: what Secrets Manager would hold); `GET|POST /__eventsv2/settings`
(eventsv2_store.py).
"""

import datetime
import hashlib
import http.client
import json
import time
import uuid
from urllib.parse import parse_qs, urlencode

from . import eventsv2_auth
from .eventsv2_store import ACCOUNT

PREFIXES = ("/__webhooks/", "/__eventsv2/")
DEDUP_WINDOW_S = 300
LOG_CAP = 10000
_PATTERNS = {}


def _json(status, doc):
    return status, [("Content-Type", "application/json")], json.dumps(doc).encode(), None


def handle(h, raw_path, query, body):
    """The answer to a request under PREFIXES."""
    store = h.state.eventsv2
    if raw_path.startswith("/__webhooks/"):
        return webhook(h, raw_path[len("/__webhooks/"):], body)
    what, method = raw_path[len("/__eventsv2/"):], h.command
    logs = {"webhook-log": "webhook_log", "deliveries": "deliveries"}
    if what in logs and method == "GET":
        with store.lock:
            return _json(200, list(getattr(store, logs[what])))
    if what in logs and method == "DELETE":
        with store.lock:
            getattr(store, logs[what]).clear()
        return 204, [], b"", None
    if what == "secret" and method == "GET":
        arn = (parse_qs(query).get("arn") or [""])[0]
        with store.lock:
            s = store.secrets.get(arn)
        if s is None:
            return _json(404, {"message": f"no webhook secret {arn}"})
        doc = {"Type": s["type"], "SecretValue": s["value"]}
        if s.get("username") is not None:
            doc["Username"] = s["username"]
        return _json(200, doc)
    if what == "settings" and method in ("GET", "POST"):
        if method == "POST":
            try:
                doc = json.loads(body or b"{}")
                if not isinstance(doc, dict):
                    raise ValueError("the body must be a JSON object")
                store.configure(doc)
            except ValueError as e:
                return _json(400, {"message": str(e)})
        return _json(200, store.settings)
    return _json(404, {"message": "unknown eventsv2 endpoint"})


def _log(store, entry):
    with store.lock:
        store.webhook_log.append(dict(entry, time=time.time()))
        del store.webhook_log[:-LOG_CAP]


def webhook(h, webhook_id, body):
    store, now = h.state.eventsv2, time.time()
    with store.lock:
        arn = store.webhooks.get(webhook_id)
    res = store.get(arn, "source") if arn else None
    entry = {"webhookId": webhook_id, "eventSourceArn": arn}
    if res is None:
        _log(store, dict(entry, status=404, accepted=False, reason="no such webhook event source"))
        return _json(404, {"message": "Not Found"})
    if h.command != "POST":
        _log(store, dict(entry, status=405, accepted=False, reason=f"method {h.command}"))
        return _json(405, {"message": "Method Not Allowed"})
    if res.get("Revoked"):
        _log(store, dict(entry, status=403, accepted=False, reason="the event source is revoked"))
        return _json(403, {"message": "Forbidden"})
    ok, reason, status = eventsv2_auth.verify(res["auth"], store.credentials(res["SecretArn"], now), h.headers, body, now)
    if not ok:
        _log(store, dict(entry, status=status, accepted=False, reason=reason))
        return _json(status, {"message": "Unauthorized" if status == 401 else "Forbidden"})
    webhook_cfg = res["webhook"]
    dedup = (webhook_cfg.get("DeduplicationConfiguration") or {}).get("DeduplicationType") == "CONTENT_BASED"
    if dedup and _seen(store, arn, hashlib.sha256(body).hexdigest(), now):
        _log(store, dict(entry, status=200, accepted=True, reason="deduplicated (CONTENT_BASED): not published again"))
        return _json(200, {"message": "deduplicated"})
    metadata = {}
    for name in webhook_cfg.get("MetadataHttpHeaders") or []:
        if h.headers.get(name) is not None:
            metadata[name.lower()] = h.headers.get(name)
    bus = store.get(res["EventBusArn"], "bus")
    text = body.decode("utf-8", "replace")
    event = new_event(_parsed(text), metadata, {"aws:Source": arn, "ContentType": h.headers.get("Content-Type")})
    event_id = event["SystemMetadata"]["aws:EventId"]
    _log(store, dict(entry, status=200, accepted=True, reason=reason, eventId=event_id))
    if bus is not None:
        deliver(h.state, bus, event, text)
    return _json(200, {"EventId": event_id})


def _seen(store, scope, digest, now):
    """CONTENT_BASED deduplication: True if `digest` was seen in `scope` within the window (else
    it is remembered now)."""
    with store.lock:
        for k in [k for k, t in store.seen.items() if now - t > DEDUP_WINDOW_S]:
            del store.seen[k]
        if (scope, digest) in store.seen:
            return True
        store.seen[(scope, digest)] = now
        return False


def _parsed(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_event(data, metadata, system, event_id=None):
    """{"Data", "Metadata" (omitted when None), "SystemMetadata"} (system values: strings, None
    ones left out)."""
    sm = {"aws:DeliveryType": "LIVE", "aws:EventId": event_id or str(uuid.uuid4()), "aws:IngestionTime": _rfc3339(time.time())}
    sm.update({k: v for k, v in system.items() if v is not None})
    event = {"Data": data, "SystemMetadata": sm}
    if metadata is not None:
        event["Metadata"] = metadata
    return event


def put_entries(state, bus, entries, dedup_config):
    """PutEvents: each entry published (or DEDUPLICATED) and delivered; the result entries."""
    store, now, out = state.eventsv2, time.time(), []
    content_based = (dedup_config or {}).get("DeduplicationType") == "CONTENT_BASED"
    for e in entries:
        sysmeta = e.get("SystemMetadata") or {}
        detail = e.get("Detail") or "{}"
        key = sysmeta.get("DeduplicationId")
        if key is None and content_based:
            key = hashlib.sha256(json.dumps([e.get("Source"), e.get("DetailType"), detail, e.get("Resources")]).encode()).hexdigest()
        if key is not None and _seen(store, bus["arn"], key, now):
            out.append({"EventId": str(uuid.uuid4()), "SuccessCode": "DEDUPLICATED"})
            continue
        event_id = str(uuid.uuid4())
        data = {"version": "0", "id": event_id, "detail-type": e.get("DetailType"), "source": e.get("Source"), "account": ACCOUNT,
                "time": _rfc3339(e["Time"] if e.get("Time") is not None else now), "region": bus["region"],
                "resources": e.get("Resources") or [], "detail": _parsed(detail)}
        system = {"aws:Source": e.get("Source"), "aws:DetailType": e.get("DetailType"), "ContentType": "application/eventbridge+json",
                  "EventGroupId": sysmeta.get("EventGroupId"), "DeduplicationId": sysmeta.get("DeduplicationId")}
        event = new_event(data, None, system, event_id)
        deliver(state, bus, event, json.dumps(data))
        out.append({"EventId": event_id, "SuccessCode": "PUBLISHED"})
    return out


def _matches(pattern, doc):
    from moto.events.models import EventPattern  # imported at the first delivery: moto is slow to import

    if pattern not in _PATTERNS:
        _PATTERNS[pattern] = EventPattern.load(pattern)
    return isinstance(doc, dict) and _PATTERNS[pattern].matches_event(doc)


SCOPES = {"DATA": "Data", "METADATA": "Metadata", "SYSTEM_METADATA": "SystemMetadata"}


def deliver(state, bus, event, raw):
    store = state.eventsv2
    for sub in store.all("subscriber", bus["region"], EventBusArn=bus["arn"]):
        if sub.get("State") != "RUNNING" or sub.get("Revoked"):
            continue
        filters = (sub.get("FilterConfiguration") or {}).get("Filters") or []
        if not all(_matches(f["Pattern"], event.get(SCOPES[f["Scope"]])) for f in filters):
            continue
        kind = (sub.get("Transformer") or {}).get("Type") or "RAW"
        body = json.dumps(event) if kind == "WITH_METADATA" else raw
        note = "JSONATA is not emulated: delivered RAW" if kind == "JSONATA" else None
        status, detail = send(state, sub, body, event)
        with store.lock:
            store.deliveries.append({"time": time.time(), "subscriberArn": sub["arn"], "targetArn": sub["InvokeConfiguration"]["TargetArn"],
                                     "eventId": event["SystemMetadata"]["aws:EventId"], "body": body, "status": status,
                                     "detail": "; ".join(x for x in (note, detail) if x) or None})
            del store.deliveries[:-LOG_CAP]


def _literal(value):
    return value if isinstance(value, str) and value and not value.startswith("{%") else None


def send(state, sub, body, event):
    """(status, detail): SendMessage to moto for an SQS queue; any other target is recorded."""
    invoke = sub["InvokeConfiguration"]
    arn = invoke["TargetArn"]
    parts = arn.split(":")
    if len(parts) < 6 or parts[2] != "sqs":
        return "recorded", "target not invoked by the emulator"
    region, account, name = parts[3], parts[4], parts[5]
    upstream = f"{state.upstream_host}:{state.upstream_port}"
    form = [("Action", "SendMessage"), ("Version", "2012-11-05"), ("QueueUrl", f"http://{upstream}/{account}/{name}"), ("MessageBody", body)]
    if name.endswith(".fifo"):
        sqs = invoke.get("SqsParameters") or {}
        eid = event["SystemMetadata"]["aws:EventId"]
        form += [("MessageGroupId", _literal(sqs.get("MessageGroupId")) or eid),
                 ("MessageDeduplicationId", _literal(sqs.get("MessageDeduplicationId")) or eid)]
    data = urlencode(form).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(len(data)), "Host": upstream,
               "Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20250101/{region}/sqs/aws4_request, SignedHeaders=host, Signature=0"}
    conn = http.client.HTTPConnection(state.upstream_host, state.upstream_port, timeout=30)
    try:
        conn.request("POST", "/", data, headers)
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
        if resp.status == 200:
            return "delivered", None
        return "failed", f"SQS SendMessage answered {resp.status}: {text[:300]}"
    except (OSError, http.client.HTTPException) as e:
        return "failed", f"SQS SendMessage failed: {e}"
    finally:
        conn.close()
