"""eventbridgev2 (the EventBridge Custom Event Bus API, `eventsv2`; Smithy RPC v2 CBOR): moto 5.2.5
has none of it, so every operation below is emulated in memory (eventsv2_store.py), after the
model check (check.check_cbor), the fault draw and the quotas like any other call; nothing reaches
moto. The spec is the model's documentation (botocore 1.44.8, eventbridgev2 2025-05-15).

- Create/Describe/Update/Delete/List EventBus, EventSource, Subscriber; TagResource,
  UntagResource, ListTagsForResource; RotateWebhookCredentials; RevokeResource; PutEvents
  (delivered like a webhook's events, see eventsv2_webhooks.py). The resource-policy operations
  and PutRawEvents are not emulated: 500 InternalException saying so.
- ARNs: `arn:aws:events:<region>:<account>:event-busv2/<name>/<id>`,
  `...:event-sourcev2/<webhook|aws.service|aws.partner>/<name>/<id>`, `...:subscriber/<name>/<id>`
  (id: 25 characters [a-z0-9], the model's patterns).
- States: see eventsv2_store.py. A source or subscriber on a bus that is not ACTIVE: 409
  InvalidStateException ("The event bus must be in the ACTIVE state"). DeleteEventBus of a bus with
  event sources or subscribers (a DELETING source included): 409 ResourceInUseException ("A bus
  with subscribers or event sources cannot be deleted"); of a DELETING bus: 200 (the operation is
  idempotent). Update of a resource in a transitional state, or of a revoked one: 409
  InvalidStateException.
- ClientToken (Create*, RotateWebhookCredentials): the same token with the same input answers the
  resource as it is now (a rotation is not made again); with another input: 409
  IdempotentParameterMismatchException.
- Names taken: 409 ResourceAlreadyExistsException; an ARN not held: 404 ResourceNotFoundException.
- UpdateEventSource with another configuration type or auth type: 400 InvalidInputException ("it
  can't be changed after the EventSource is created"); a SecretValue given there replaces the
  credential (as a rotation does).
- Webhook sources: `WebhookDetails.WebhookUrl` is `http://<emulator host:port>/__webhooks/<id>`
  (served by eventsv2_webhooks.py, stable for the source's life), `SecretArn`
  `arn:aws:secretsmanager:<region>:<account>:secret:events-webhook/<name>-<6 chars>`. The credential
  (SecretValue, or generated when omitted) is never answered by any eventbridgev2 call, and the
  returned Configuration carries no SecretValue, Username or Password; tests read it with
  `GET /__eventsv2/secret?arn=<SecretArn>` (it is not in moto's Secrets Manager).
"""

import json
import secrets as random_secrets
import time

import cbor2

from . import answers, eventsv2_auth, eventsv2_webhooks
from .eventsv2_store import ACCOUNT, Store, fingerprint, new_id

SERVICE = "eventbridgev2"
DESCRIBE = {"bus": "DescribeEventBus", "source": "DescribeEventSource", "subscriber": "DescribeSubscriber"}
WORDS = {"bus": "Event bus", "source": "EventSource", "subscriber": "Subscriber"}
SOURCE_TYPES = {"WebhookEventsConfiguration": ("webhook", "WEBHOOK_EVENTS"),
                "AwsServiceEventsConfiguration": ("aws.service", "AWS_SERVICE_EVENTS"),
                "PartnerEventsConfiguration": ("aws.partner", "PARTNER_EVENTS")}
SECRET_MEMBERS = ("SecretValue", "Username", "Password")
SUBSCRIBER_FIELDS = ("FilterConfiguration", "BatchConfiguration", "Transformer", "RetryPolicy", "OnFailureConfiguration", "LogConfiguration")


def ts(t):
    return None if t is None else cbor2.CBORTag(1, t)


def pick(res, names, **extra):
    doc = {n: res.get(n) for n in names}
    doc.update(extra)
    return {k: v for k, v in doc.items() if v is not None}


def err(c, code, message):
    return answers.cbor_error(c, code, message)


def region(h):
    return h._region()


def not_found(c, kind, arn):
    return err(c, "ResourceNotFoundException", f"{WORDS[kind]} {arn} does not exist.")


# ---------------------------------------------------------------------------------------------
# Answers


def bus_doc(res, *names):
    storage = res.get("StorageConfiguration")
    if storage is not None:
        storage = dict(storage, RetentionWindowStartTime=ts(res["created"]))
    return pick(res, ("EventBusArn", "Name", "Description", "EncryptionConfiguration", "State", "StateReason") + names,
                StorageConfiguration=storage, CreationTime=ts(res["created"]), LastModifiedTime=ts(res["modified"]) if "LastModifiedTime" in names else None)


def source_details(res):
    if res.get("WebhookUrl") is None:
        return None
    return {"WebhookDetails": {"WebhookUrl": res["WebhookUrl"], "SecretArn": res["SecretArn"]}}


def source_doc(res, full=False):
    doc = pick(res, ("EventSourceArn", "Name", "EventBusArn", "State"), EventSourceDetails=source_details(res), CreationTime=ts(res["created"]))
    if full:
        doc.update(pick(res, ("Configuration", "Description"), Revoked=True if res.get("Revoked") else None, LastModifiedTime=ts(res["modified"])))
    return doc


def subscriber_doc(res, full=False):
    names = ("SubscriberArn", "Name", "EventBusArn", "Type", "StartingPosition", "PointInTimeConfiguration", "State")
    if full:
        names += ("InvokeConfiguration", "Description") + SUBSCRIBER_FIELDS
    return pick(res, names, Revoked=True if full and res.get("Revoked") else None, CreationTime=ts(res["created"]),
                LastModifiedTime=ts(res["modified"]) if full else None)


def page(c, items, key):
    """A List answer: MaxResults (default 100) per page, NextToken the offset."""
    p = c.params or {}
    start = int(p["NextToken"]) if str(p.get("NextToken") or "").isdigit() else 0
    if p.get("NextToken") is not None and not str(p["NextToken"]).isdigit():
        return err(c, "InvalidInputException", "The NextToken is not valid.")
    n = p.get("MaxResults") or 100
    doc = {key: items[start:start + n]}
    if start + n < len(items):
        doc["NextToken"] = str(start + n)
    return answers.cbor_answer(doc)


# ---------------------------------------------------------------------------------------------
# ClientToken idempotency


def idempotent(h, c, render):
    """(answer, None) for a ClientToken seen before (the same input: the resource as it is now;
    another: IdempotentParameterMismatchException), else (None, key) to record after the create."""
    token = (c.params or {}).get("ClientToken")
    if token is None:
        return None, None
    store = h.state.eventsv2
    key = (region(h), c.op, token)
    with store.lock:
        seen = store.tokens.get(key)
    if seen is None:
        return None, key
    fp, arn, doc = seen
    if fp != fingerprint(c.params):
        return err(c, "IdempotentParameterMismatchException", f"ClientToken {token} was used with different parameters."), None
    res = store.get(arn) if arn else None
    return answers.cbor_answer(render(res) if res is not None else doc), None


def remember(h, c, key, arn, doc):
    if key is not None:
        with h.state.eventsv2.lock:
            h.state.eventsv2.tokens[key] = (fingerprint(c.params), arn, doc)


def arn_of(h, kind, name):
    path = {"bus": "event-busv2", "subscriber": "subscriber"}.get(kind, kind)
    return f"arn:aws:events:{region(h)}:{ACCOUNT}:{path}/{name}/{new_id()}"


def new_resource(h, kind, p, arn):
    now = time.time()
    return {"kind": kind, "arn": arn, "region": region(h), "Name": p["Name"], "Description": p.get("Description"),
            "tags": dict(p.get("Tags") or {}), "created": now, "modified": now}


def active_bus(h, c, arn):
    """(bus, None) if the bus exists and is ACTIVE, else (None, the refusal)."""
    bus = h.state.eventsv2.get(arn, "bus")
    if bus is None:
        return None, not_found(c, "bus", arn)
    if bus["State"] != "ACTIVE":
        return None, err(c, "InvalidStateException", f"The event bus must be in the ACTIVE state; {arn} is {bus['State']}.")
    return bus, None


# ---------------------------------------------------------------------------------------------
# Event buses


def create_event_bus(h, c, body, dechunked):
    p, store = c.params, h.state.eventsv2
    with store.lock:
        answer, key = idempotent(h, c, lambda r: bus_doc(r))
        if answer is not None:
            return answer
        if store.by_name("bus", region(h), p["Name"]) is not None:
            return err(c, "ResourceAlreadyExistsException", f"Event bus {p['Name']} already exists.")
        res = new_resource(h, "bus", p, arn_of(h, "bus", p["Name"]))
        res.update(EventBusArn=res["arn"], EncryptionConfiguration=p.get("EncryptionConfiguration"), StorageConfiguration=p.get("StorageConfiguration"))
        store.begin(res, "CREATING", "ACTIVE")
        store.add(res)
        doc = bus_doc(res)
        remember(h, c, key, res["arn"], doc)
        return answers.cbor_answer(doc)


def describe_event_bus(h, c, body, dechunked):
    arn = c.params["EventBusArn"]
    res = h.state.eventsv2.get(arn, "bus", read=True)
    return not_found(c, "bus", arn) if res is None else answers.cbor_answer(bus_doc(res, "LastModifiedTime"))


def update_event_bus(h, c, body, dechunked):
    p, store = c.params, h.state.eventsv2
    with store.lock:
        res = store.get(p["EventBusArn"], "bus")
        if res is None:
            return not_found(c, "bus", p["EventBusArn"])
        if res["State"] not in ("ACTIVE", "UPDATE_FAILED"):
            return err(c, "InvalidStateException", f"Event bus {res['arn']} is {res['State']}; it can be updated when ACTIVE.")
        for k in ("Description", "EncryptionConfiguration", "StorageConfiguration"):
            if k in p:
                res[k] = p[k]
        res["modified"] = time.time()
        store.begin(res, "UPDATING", "ACTIVE")
        return answers.cbor_answer(bus_doc(res, "LastModifiedTime"))


def delete_event_bus(h, c, body, dechunked):
    arn, store = c.params["EventBusArn"], h.state.eventsv2
    with store.lock:
        res = store.get(arn, "bus")
        if res is None:
            return not_found(c, "bus", arn)
        if res["State"] == "DELETING":
            return answers.cbor_answer({})
        held = store.children(arn)
        if held:
            kinds = sorted({WORDS[r["kind"]] for r in held})
            return err(c, "ResourceInUseException", f"Event bus {arn} has {len(held)} {' and '.join(kinds)}(s); a bus with subscribers or event sources cannot be deleted.")
        store.begin(res, "DELETING", None)
        return answers.cbor_answer({})


def list_event_buses(h, c, body, dechunked):
    p = c.params or {}
    if p.get("EventBusAccountId") not in (None, ACCOUNT):
        return page(c, [], "EventBuses")
    items = [pick(r, ("Name", "EventBusArn", "Description", "State", "StateReason"), CreationTime=ts(r["created"]),
                  LastModifiedTime=ts(r["modified"]), EventBusAccountId=ACCOUNT)
             for r in h.state.eventsv2.all("bus", region(h), read=True) if r["Name"].startswith(p.get("NamePrefix") or "")]
    return page(c, items, "EventBuses")


# ---------------------------------------------------------------------------------------------
# Event sources


def strip_secrets(config):
    """The Configuration as answered: no credential in it."""
    out = {}
    for variant, cfg in (config or {}).items():
        cfg = dict(cfg)
        auth = cfg.get("AuthConfiguration")
        if auth is not None:
            cfg["AuthConfiguration"] = {k: {m: v for m, v in a.items() if m not in SECRET_MEMBERS} for k, a in auth.items() if a is not None}
        out[variant] = cfg
    return out


def given_secret(auth):
    """(value, username) given in an AuthConfiguration, or (None, None)."""
    k = eventsv2_auth.kind(auth)
    cfg = auth.get(k) or {}
    if k == "BasicHttpAuthConfiguration":
        return cfg.get("Password"), cfg.get("Username")
    return cfg.get("SecretValue"), None


def secret_type(auth):
    return {"HmacAuthConfiguration": "HMAC", "StaticTokenAuthConfiguration": "STATIC_TOKEN", "BasicHttpAuthConfiguration": "BASIC"}[eventsv2_auth.kind(auth)]


def create_event_source(h, c, body, dechunked):
    p, store = c.params, h.state.eventsv2
    with store.lock:
        answer, key = idempotent(h, c, lambda r: source_doc(r))
        if answer is not None:
            return answer
        _, refusal = active_bus(h, c, p["EventBusArn"])
        if refusal is not None:
            return refusal
        if store.by_name("source", region(h), p["Name"]) is not None:
            return err(c, "ResourceAlreadyExistsException", f"EventSource {p['Name']} already exists.")
        variant = next(k for k, v in p["Configuration"].items() if v is not None)
        webhook = p["Configuration"].get("WebhookEventsConfiguration")
        if webhook is not None:
            problem = eventsv2_auth.config_problem(webhook)
            if problem:
                return err(c, "InvalidInputException", problem)
        segment, type_ = SOURCE_TYPES[variant]
        res = new_resource(h, "source", p, arn_of(h, f"event-sourcev2/{segment}", p["Name"]))
        res.update(EventSourceArn=res["arn"], EventBusArn=p["EventBusArn"], Configuration=strip_secrets(p["Configuration"]), Type=type_)
        if webhook is not None:
            auth = webhook["AuthConfiguration"]
            value, username = given_secret(auth)
            if value is None:
                value, generated_user = eventsv2_auth.generate(auth)
                username = username or generated_user
            res["webhook_id"] = random_secrets.token_hex(16)
            res["WebhookUrl"] = f"http://{h.state.public}/__webhooks/{res['webhook_id']}"
            suffix = "".join(random_secrets.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(6))
            res["SecretArn"] = f"arn:aws:secretsmanager:{region(h)}:{ACCOUNT}:secret:events-webhook/{p['Name']}-{suffix}"
            res["auth"] = auth
            res["webhook"] = webhook
            store.put_secret(res["SecretArn"], secret_type(auth), value, username)
            store.webhooks[res["webhook_id"]] = res["arn"]
        store.begin(res, "CREATING", "ACTIVE")
        store.add(res)
        doc = source_doc(res)
        remember(h, c, key, res["arn"], doc)
        return answers.cbor_answer(doc)


def describe_event_source(h, c, body, dechunked):
    arn = c.params["EventSourceArn"]
    res = h.state.eventsv2.get(arn, "source", read=True)
    return not_found(c, "source", arn) if res is None else answers.cbor_answer(source_doc(res, full=True))


def mutable(c, res, kind):
    """The refusal of a mutation of `res` (absent, revoked, or in a transitional state), or None."""
    if res is None:
        return not_found(c, kind, c.params.get("EventSourceArn") or c.params.get("SubscriberArn"))
    if res.get("Revoked"):
        return err(c, "InvalidStateException", f"{WORDS[kind]} {res['arn']} is revoked.")
    if res.get("State") not in (None, "ACTIVE", "UPDATE_FAILED", "RUNNING", "STOPPED"):
        return err(c, "InvalidStateException", f"{WORDS[kind]} {res['arn']} is {res['State']}.")
    return None


def update_event_source(h, c, body, dechunked):
    p, store = c.params, h.state.eventsv2
    with store.lock:
        res = store.get(p["EventSourceArn"], "source")
        refusal = mutable(c, res, "source")
        if refusal is not None:
            return refusal
        config = p.get("Configuration")
        if config is not None:
            variant = next(k for k, v in config.items() if v is not None)
            if variant not in res["Configuration"]:
                return err(c, "InvalidInputException", f"The configuration type of an EventSource can't be changed ({next(iter(res['Configuration']))} to {variant}).")
            webhook = config.get("WebhookEventsConfiguration")
            if webhook is not None:
                old, new = eventsv2_auth.kind(res["auth"]), eventsv2_auth.kind(webhook["AuthConfiguration"])
                if old != new:
                    return err(c, "InvalidInputException", f"The authentication type can't be changed after the EventSource is created ({old} to {new}).")
                problem = eventsv2_auth.config_problem(webhook)
                if problem:
                    return err(c, "InvalidInputException", problem)
                value, username = given_secret(webhook["AuthConfiguration"])
                if value is not None:
                    store.put_secret(res["SecretArn"], secret_type(webhook["AuthConfiguration"]), value, username)
                res["auth"], res["webhook"] = webhook["AuthConfiguration"], webhook
            res["Configuration"] = strip_secrets(config)
        if "Description" in p:
            res["Description"] = p["Description"]
        res["modified"] = time.time()
        store.begin(res, "UPDATING", "ACTIVE")
        return answers.cbor_answer(pick(res, ("EventSourceArn", "Name", "EventBusArn", "State"), LastModifiedTime=ts(res["modified"])))


def delete_event_source(h, c, body, dechunked):
    arn, store = c.params["EventSourceArn"], h.state.eventsv2
    with store.lock:
        res = store.get(arn, "source")
        if res is None:
            return not_found(c, "source", arn)
        if res["State"] != "DELETING":
            store.webhooks.pop(res.get("webhook_id"), None)  # its URL stops accepting at once
            store.begin(res, "DELETING", None)
        return answers.cbor_answer({})


def list_event_sources(h, c, body, dechunked):
    p = c.params or {}
    match = {"EventBusArn": p["EventBusArn"]} if p.get("EventBusArn") else {}
    if match and h.state.eventsv2.get(p["EventBusArn"], "bus") is None:
        return not_found(c, "bus", p["EventBusArn"])
    items = [pick(r, ("EventSourceArn", "Name", "EventBusArn", "Type", "State"), Revoked=True if r.get("Revoked") else None,
                  CreationTime=ts(r["created"]), LastModifiedTime=ts(r["modified"]), EventSourceAccountId=ACCOUNT)
             for r in h.state.eventsv2.all("source", region(h), read=True, **match) if r["Name"].startswith(p.get("NamePrefix") or "")]
    return page(c, items, "EventSources")


# ---------------------------------------------------------------------------------------------
# Subscribers


def filter_problem(fc, create):
    """FilterConfiguration: "On CreateSubscriber, Filters is required and must contain at least one
    Filter with a non-empty Pattern. On UpdateSubscriber, an empty FilterConfiguration:{} clears
    the existing filter. Any non-empty shape ... must contain a valid Filters list" (the model);
    "A subscriber without a FilterConfiguration receives every event on the bus", "You can have at
    most one filter per scope" (user guide, eb-custom-bus-subscribers)."""
    if fc is None or (not fc and not create):
        return None
    if not fc.get("Filters"):
        return "FilterConfiguration must contain a Filters list with at least one Filter"
    scopes = [f.get("Scope") for f in fc["Filters"]]
    if len(set(scopes)) != len(scopes):
        return "FilterConfiguration can have at most one filter per scope"
    for i, f in enumerate(fc["Filters"]):
        try:
            doc = json.loads(f.get("Pattern") or "")
        except ValueError:
            return f"FilterConfiguration.Filters[{i}].Pattern is not valid JSON"
        if not isinstance(doc, dict) or not doc:
            return f"FilterConfiguration.Filters[{i}].Pattern must be a non-empty JSON object"
    return None


def transformer_problem(t):
    if t and t.get("Type") == "JSONATA" and not t.get("JsonataConfiguration"):
        return "Transformer.JsonataConfiguration is required when Type is JSONATA"
    return None


def create_subscriber(h, c, body, dechunked):
    p, store = c.params, h.state.eventsv2
    with store.lock:
        answer, key = idempotent(h, c, lambda r: subscriber_doc(r))
        if answer is not None:
            return answer
        _, refusal = active_bus(h, c, p["EventBusArn"])
        if refusal is not None:
            return refusal
        if store.by_name("subscriber", region(h), p["Name"]) is not None:
            return err(c, "ResourceAlreadyExistsException", f"Subscriber {p['Name']} already exists.")
        problem = filter_problem(p.get("FilterConfiguration"), True) or transformer_problem(p.get("Transformer"))
        if problem:
            return err(c, "InvalidInputException", problem)
        res = new_resource(h, "subscriber", p, arn_of(h, "subscriber", p["Name"]))
        res.update(SubscriberArn=res["arn"], EventBusArn=p["EventBusArn"], InvokeConfiguration=p["InvokeConfiguration"],
                   Type=p.get("Type") or "UNORDERED", StartingPosition=p.get("StartingPosition") or "LATEST",
                   PointInTimeConfiguration=p.get("PointInTimeConfiguration"), State=p.get("State") or "RUNNING")
        for k in SUBSCRIBER_FIELDS:
            res[k] = p.get(k)
        store.add(res)
        doc = subscriber_doc(res)
        remember(h, c, key, res["arn"], doc)
        return answers.cbor_answer(doc)


def describe_subscriber(h, c, body, dechunked):
    arn = c.params["SubscriberArn"]
    res = h.state.eventsv2.get(arn, "subscriber", read=True)
    return not_found(c, "subscriber", arn) if res is None else answers.cbor_answer(subscriber_doc(res, full=True))


def update_subscriber(h, c, body, dechunked):
    p, store = c.params, h.state.eventsv2
    with store.lock:
        res = store.get(p["SubscriberArn"], "subscriber")
        refusal = mutable(c, res, "subscriber")
        if refusal is not None:
            return refusal
        problem = filter_problem(p.get("FilterConfiguration"), False) or transformer_problem(p.get("Transformer"))
        if problem:
            return err(c, "InvalidInputException", problem)
        for k in ("Description", "State") + SUBSCRIBER_FIELDS:
            if k in p:
                res[k] = p[k]
        if p.get("FilterConfiguration") == {}:
            res["FilterConfiguration"] = None
        if "InvokeConfiguration" in p:
            res["InvokeConfiguration"] = dict(p["InvokeConfiguration"], TargetArn=res["InvokeConfiguration"]["TargetArn"])
        res["modified"] = time.time()
        return answers.cbor_answer(subscriber_doc(res) | {"LastModifiedTime": ts(res["modified"])})


def delete_subscriber(h, c, body, dechunked):
    arn, store = c.params["SubscriberArn"], h.state.eventsv2
    with store.lock:
        if store.get(arn, "subscriber") is None:
            return not_found(c, "subscriber", arn)
        store.remove(arn)
        return answers.cbor_answer({})


def list_subscribers(h, c, body, dechunked):
    p = c.params or {}
    match = {"EventBusArn": p["EventBusArn"]} if p.get("EventBusArn") else {}
    if match and h.state.eventsv2.get(p["EventBusArn"], "bus") is None:
        return not_found(c, "bus", p["EventBusArn"])
    items = [pick(r, ("SubscriberArn", "Name", "EventBusArn", "Type", "State"), TargetArn=r["InvokeConfiguration"]["TargetArn"],
                  Revoked=True if r.get("Revoked") else None, CreationTime=ts(r["created"]), LastModifiedTime=ts(r["modified"]),
                  SubscriberAccountId=ACCOUNT)
             for r in h.state.eventsv2.all("subscriber", region(h), **match) if r["Name"].startswith(p.get("NamePrefix") or "")]
    return page(c, items, "Subscribers")


# ---------------------------------------------------------------------------------------------
# Tags, rotation, revocation


def tagged(h, c):
    arn = c.params["ResourceArn"]
    res = h.state.eventsv2.get(arn)
    if res is None:
        kind = "bus" if ":event-busv2/" in arn else "source" if ":event-sourcev2/" in arn else "subscriber"
        return None, not_found(c, kind, arn)
    return res, None


def tag_resource(h, c, body, dechunked):
    with h.state.eventsv2.lock:
        res, refusal = tagged(h, c)
        if refusal is not None:
            return refusal
        res["tags"].update(c.params["Tags"])
        return answers.cbor_answer({})


def untag_resource(h, c, body, dechunked):
    with h.state.eventsv2.lock:
        res, refusal = tagged(h, c)
        if refusal is not None:
            return refusal
        for k in c.params["TagKeys"]:
            res["tags"].pop(k, None)
        return answers.cbor_answer({})


def list_tags_for_resource(h, c, body, dechunked):
    res, refusal = tagged(h, c)
    return refusal if refusal is not None else answers.cbor_answer({"Tags": dict(res["tags"])})


CREDENTIAL_MEMBERS = {"HmacAuthConfiguration": "HmacSecretValue", "StaticTokenAuthConfiguration": "StaticTokenSecretValue",
                      "BasicHttpAuthConfiguration": "BasicHttpPassword"}


def rotate_webhook_credentials(h, c, body, dechunked):
    p, store = c.params, h.state.eventsv2
    with store.lock:
        res = store.get(p["EventSourceArn"], "source")
        if res is None or res.get("auth") is None:
            return not_found(c, "source", p["EventSourceArn"])
        answer, key = idempotent(h, c, lambda r: {"SecretArn": r["SecretArn"]})
        if answer is not None:
            return answer
        if res.get("Revoked") or res["State"] not in ("ACTIVE", "UPDATING", "UPDATE_FAILED"):
            state = "revoked" if res.get("Revoked") else res["State"]
            return err(c, "InvalidStateException", f"EventSource {res['arn']} is {state}; credentials can be rotated when ACTIVE, UPDATING or UPDATE_FAILED.")
        auth = res["auth"]
        want = CREDENTIAL_MEMBERS[eventsv2_auth.kind(auth)]
        given = p.get("Credential")
        if given is not None and want not in given:
            return err(c, "InvalidInputException", f"Credential must set {want}, the member of the EventSource's authentication type.")
        value = given[want] if given is not None else eventsv2_auth.generate(auth)[0]
        problem = eventsv2_auth.secret_problem(auth, value)
        if problem:
            return err(c, "InvalidInputException", problem)
        store.put_secret(res["SecretArn"], secret_type(auth), value)
        doc = {"SecretArn": res["SecretArn"]}
        remember(h, c, key, res["arn"], doc)
        return answers.cbor_answer(doc)


def revoke_resource(h, c, body, dechunked):
    arn, store = c.params["Arn"], h.state.eventsv2
    with store.lock:
        res = store.get(arn)
        if res is None or res["kind"] == "bus":
            return not_found(c, "source" if ":event-sourcev2/" in arn else "subscriber", arn)
        res["Revoked"] = True
        return answers.cbor_answer({"Arn": arn})


def put_events(h, c, body, dechunked):
    p = c.params
    bus, refusal = active_bus(h, c, p["EventBusArn"])
    if refusal is not None:
        return refusal
    entries = eventsv2_webhooks.put_entries(h.state, bus, p["Entries"], p.get("DeduplicationConfiguration"))
    return answers.cbor_answer({"FailedEntryCount": 0, "Entries": entries})


def not_emulated(h, c, body, dechunked):
    return answers.cbor_error(c, "InternalException", f"aws_emulator: eventbridgev2 {c.op} is not emulated")


def init(state):
    state.eventsv2 = Store()


def reset(state):
    """`/moto-api/reset`: every bus, source, subscriber, secret and log is forgotten (the settings stay)."""
    state.eventsv2.clear()


EMULATIONS = {
    "CreateEventBus": create_event_bus, "DescribeEventBus": describe_event_bus, "UpdateEventBus": update_event_bus,
    "DeleteEventBus": delete_event_bus, "ListEventBuses": list_event_buses,
    "CreateEventSource": create_event_source, "DescribeEventSource": describe_event_source, "UpdateEventSource": update_event_source,
    "DeleteEventSource": delete_event_source, "ListEventSources": list_event_sources,
    "CreateSubscriber": create_subscriber, "DescribeSubscriber": describe_subscriber, "UpdateSubscriber": update_subscriber,
    "DeleteSubscriber": delete_subscriber, "ListSubscribers": list_subscribers,
    "TagResource": tag_resource, "UntagResource": untag_resource, "ListTagsForResource": list_tags_for_resource,
    "RotateWebhookCredentials": rotate_webhook_credentials, "RevokeResource": revoke_resource, "PutEvents": put_events,
    "PutRawEvents": not_emulated, "PutResourcePolicy": not_emulated, "GetResourcePolicy": not_emulated,
    "DeleteResourcePolicy": not_emulated, "ListResourcePolicies": not_emulated,
}
GUARDS = {}
