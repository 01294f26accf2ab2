"""eventbridgev2's in-memory state (moto has none of the service): event buses, event sources,
subscribers, their tags, the ClientTokens seen, the webhook secrets, and the asynchronous
states.

Asynchronous states, deterministic for tests: a create, update or delete answers the transitional
state (a bus CREATING / UPDATING / DELETING, an event source CREATING / UPDATING / DELETING) and
keeps it for `transition_reads` reads of that resource (a Describe of it, or a List that shows
it), default 1; the next read shows ACTIVE (or, after a delete, ResourceNotFoundException / no
entry). So with the default a bus is ACTIVE on the 2nd DescribeEventBus after CreateEventBus.
`transition_ms` (default null: off) also settles a transition once that many ms have passed, for
clients that never read. `POST /__eventsv2/settings {"transition_reads": n, "transition_ms":
n|null}` sets them (`GET` shows them; /moto-api/reset does not change them). Subscribers have no
asynchronous state (their State RUNNING | STOPPED is the customer's; the model: "EventSources and
subscribers are provisioned synchronously"; sources still get the transition, so that a client
that waits for ACTIVE is exercised).

The account is moto's default (123456789012); state is per region (the SigV4 credential scope).
Names: bus names are unique per account and region (ResourceAlreadyExistsException); source and
subscriber names are taken as unique per account and region as well (their ARNs,
`event-sourcev2/<type>/<name>/<id>` and `subscriber/<name>/<id>`, do not name the bus: an
assumption).
"""

import json
import secrets
import string
import threading
import time

ACCOUNT = "123456789012"
ID_ALPHABET = string.ascii_lowercase + string.digits


def new_id():
    """The 25-character [a-z0-9] id of the model's ARN patterns."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(25))


def fingerprint(params):
    """An input without its ClientToken, comparable across retries."""
    return json.dumps({k: v for k, v in (params or {}).items() if k != "ClientToken"}, sort_keys=True, default=repr)


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.settings = {"transition_reads": 1, "transition_ms": None}
        self.clear()

    def clear(self):
        with self.lock:
            self.resources = {}  # arn -> resource dict ("kind": bus | source | subscriber)
            self.tokens = {}  # (region, op, token) -> (fingerprint, arn, answer doc)
            self.secrets = {}  # secret arn -> {"type", "value", "username", "previous": {"value", "until"} | None}
            self.webhooks = {}  # webhook id -> source arn
            self.webhook_log = []
            self.deliveries = []
            self.seen = {}  # (source or bus arn, content hash) -> time, for CONTENT_BASED deduplication

    def configure(self, doc):
        unknown = sorted(set(doc) - set(self.settings))
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; known: {sorted(self.settings)}")
        reads, ms = doc.get("transition_reads", self.settings["transition_reads"]), doc.get("transition_ms", self.settings["transition_ms"])
        if isinstance(reads, bool) or not isinstance(reads, int) or reads < 0:
            raise ValueError(f"transition_reads must be an integer >= 0, got {reads!r}")
        if ms is not None and (isinstance(ms, bool) or not isinstance(ms, (int, float)) or ms < 0):
            raise ValueError(f"transition_ms must be a number >= 0 or null, got {ms!r}")
        with self.lock:
            self.settings = {"transition_reads": reads, "transition_ms": ms}

    # -- resources and their transitions

    def add(self, res):
        with self.lock:
            self.resources[res["arn"]] = res
        return res

    def begin(self, res, state, then):
        """Put `res` in the transitional `state`, settling to `then` (None: it is gone)."""
        ms = self.settings["transition_ms"]
        res["State"] = state
        res["transition"] = {"reads": self.settings["transition_reads"], "then": then,
                             "until": None if ms is None else time.time() + ms / 1000}

    def get(self, arn, kind=None, read=False):
        """The resource (settled first; `read`: this read counts), or None if absent or gone."""
        with self.lock:
            res = self.resources.get(arn)
            if res is None or (kind is not None and res["kind"] != kind):
                return None
            return res if self._settle(res, read) else None

    def _settle(self, res, read):
        t = res.get("transition")
        if t is None:
            return True
        done = t["until"] is not None and time.time() >= t["until"]
        if not done and read:
            if t["reads"] <= 0:
                done = True
            else:
                t["reads"] -= 1
        if not done:
            return True
        res.pop("transition")
        if t["then"] is None:
            self.remove(res["arn"])
            return False
        res["State"] = t["then"]
        return True

    def remove(self, arn):
        with self.lock:
            res = self.resources.pop(arn, None)
            if res is not None and res["kind"] == "source":
                self.webhooks.pop(res.get("webhook_id"), None)
            return res

    def all(self, kind, region, read=False, **match):
        """Every resource of `kind` in `region` whose fields equal `match` (settled; `read`: each
        one listed counts a read), by name."""
        with self.lock:
            out = []
            for res in list(self.resources.values()):
                if res["kind"] != kind or res["region"] != region:
                    continue
                if any(res.get(k) != v for k, v in match.items()):
                    continue
                if self._settle(res, read):
                    out.append(res)
            return sorted(out, key=lambda r: r["Name"])

    def by_name(self, kind, region, name):
        return next((r for r in self.all(kind, region) if r["Name"] == name), None)

    def children(self, bus_arn):
        """The event sources and subscribers of a bus (a DELETING source included)."""
        with self.lock:
            return [r for r in self.resources.values() if r["kind"] in ("source", "subscriber") and r.get("EventBusArn") == bus_arn
                    and self._settle(r, False)]

    # -- secrets

    def put_secret(self, arn, type_, value, username=None):
        with self.lock:
            old = self.secrets.get(arn)
            previous = None
            if old is not None:
                previous = {"value": old["value"], "username": old.get("username"), "until": time.time() + 900}
            self.secrets[arn] = {"type": type_, "value": value, "username": username if username is not None else (old or {}).get("username"),
                                 "previous": previous}

    def credentials(self, arn, now):
        """The credentials a webhook request may carry: [(value, username)], current first."""
        with self.lock:
            s = self.secrets.get(arn)
            if s is None:
                return []
            out = [(s["value"], s.get("username"))]
            p = s.get("previous")
            if p is not None and now < p["until"]:
                out.append((p["value"], p.get("username")))
            return out
