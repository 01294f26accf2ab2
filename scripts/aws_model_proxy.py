#!/usr/bin/env python3
"""A validating HTTP proxy in front of moto_server: every AWS request is checked against AWS's own
service model (botocore's service-2.json, pinned in scripts/requirements.txt) before it reaches
the emulator, which accepts nearly anything.

    aws_model_proxy.py --port PUBLIC --upstream 127.0.0.1:MOTO --violations FILE.jsonl

The service comes from the SigV4 credential scope (`.../<region>/<service>/aws4_request`), the
operation from `X-Amz-Target` (json), the form field `Action` (query) or the HTTP method and the
model's `requestUri` templates (rest-json). The input is rebuilt from where each member lives
(uri / querystring / header / body, `locationName`) and checked recursively: required members,
unknown members, types, string length, `pattern` (full match, as AWS's Java validators do),
`enum`, numeric range, list and map size, and bounds that a shape carries only in its name
(apigatewayv2's `StringWithLengthBetween1And512`).

A request that breaks the model is answered with the protocol's 400 error and not forwarded; the
violation is appended to FILE as one JSON line first. Anything else is forwarded unchanged and
moto's answer relayed unchanged (with a Content-Length). `/moto-api/...` passes through unchecked.
`GET /__model_check/violations` lists the violations, `GET /__model_check/stats` counts requests.

Fault injection (off until configured), for tests of a client under a flaky AWS. A request that
passed the model check may be faulted instead of (or after) being forwarded:

- `drop_after_commit`: forwarded (moto commits the write), then the connection is reset without an
  answer, so the client retries a write AWS already made;
- `error_after_commit`: forwarded, then answered 500 with the protocol's internal-error shape;
- `throttle`: not forwarded; 400 `ThrottlingException` (json) / `Throttling` (query), or 429
  `TooManyRequestsException` (rest-json);
- `server_error`: not forwarded; 500 or 503 with the internal-error / unavailable shape;
- `latency_ms`: every request is delayed that long.

Since a retried write then meets what the first attempt made, the proxy answers such retries as
AWS does where moto does not (always, faults or not): Lambda `AddPermission` with a `StatementId`
the policy already holds is refused with 409 `ResourceConflictException`, apigatewayv2
`CreateRoute` with a route key the API already has with 409 `ConflictException` (moto would make a
second statement / route). Lambda `AddPermission` that would take a function's resource policy past
AWS's 20 KB quota is refused with 400 `PolicyLengthExceededException` (moto has no cap).

`POST /__faults` with `{"rates": {"throttle": 0.1, ...}, "latency_ms": 0, "writes_only": false,
"seed": 1}` sets them (a seeded RNG: one draw per request; the draws happen in arrival order, so a
concurrent client sees the same fault sequence, not necessarily on the same requests),
`DELETE /__faults` turns them off, `GET /__faults` shows them. `GET /__faults/stats` counts the
checked calls by `service.Operation`, the faults by mode (and by call) and the committed writes
(`"committed_writes": n, "committed_writes_by_call": {"service.Op": n}`); `DELETE /__faults/stats`
zeroes those counts. `writes_only` spares Get*/List*/Describe*. A *write* is a call that passed the
model check, of a service other than sts, whose operation is not a Get*/List*/Describe*; it is
*committed* once moto has answered it 2xx, or the proxy has answered 2xx a write it emulates
through moto (UpdateStage... below), but not when the proxy refuses it itself (a model-check
refusal, a 409 or 400 below, a fault that is not forwarded).

Kill points, for tests that SIGKILL a client right after its k-th write is committed and before it
reads the answer: `POST /__faults/hold` with `{"after_write": k}` (k >= 1) arms a hold and counts
committed writes from 0. Moto's answer to the k-th is not sent: that request is held, and from then
on every AWS request is blocked on arrival (and before being forwarded, for one already past that
point), so nothing more reaches moto; an answer moto gives to a request it had already received is
withheld too. `GET /__faults/hold` shows `{"armed": bool, "after_write": k|null, "writes": n
(committed since arming), "held": bool, "held_call": "service.Op"|null, "blocked": n (the held
request included)}`. `DELETE /__faults/hold` releases: every blocked connection is reset (RST, no
answer; a blocked request is never forwarded) and the hold disarmed, then 204 (also when nothing
was armed). Arming while a request is held is refused (409). The proxy's own endpoints and
`/moto-api/...` are never blocked. A hold left for 10 minutes releases itself.

apigatewayv2 `GetAuthorizers` (`GET /v2/apis/{apiId}/authorizers`), which moto 5.2.5 lacks (it
answers 500, NotImplementedError), is answered by the proxy, after the model check and the fault
draw like any other call, in the shape of the AWS API Gateway v2 API reference
(https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-authorizers.html):
`{"items": [Authorizer...], "nextToken": "..."}`, each item as moto's GetAuthorizer gives it
(`authorizerId`, `name`, `authorizerType`, `identitySource`, `jwtConfiguration`, ..., null members
left out), in creation order. The proxy keeps the ids from moto's 2xx answers to CreateAuthorizer
(forgotten on DeleteAuthorizer, DeleteApi and `/moto-api/reset`) and fetches each with
GetAuthorizer. An API moto does not know: moto's 404 `NotFoundException` relayed. `maxResults`
limits a page; `nextToken` is the index of the next item (an unknown one: 400
`BadRequestException` "Invalid nextToken").

More of what moto 5.2.5 lacks or does unlike AWS is answered as AWS does, likewise after the model
check and the fault draw (each method's docstring cites the AWS reference page it follows). moto
runs in a process of its own, so where AWS changes an object in place and moto cannot, the proxy
deletes it and creates it again through moto's API (under a lock that holds other apigatewayv2
requests until it is done), keeping its name, tags and ids:

- apigatewayv2 `UpdateStage` (moto: 500) merges the settings given into the stage (`createdDate`
  becomes the update's time, `deploymentId` is not kept); `DeleteAccessLogSettings` (moto: 404
  HTML) answers 204 and the stage has none.
- apigatewayv2 custom domains: `CreateDomainName`, `GetDomainName(s)` and `UpdateDomainName` carry
  what API Gateway computes in each DomainNameConfiguration, which moto leaves out:
  `apiGatewayDomainName` (`d-<10 alphanumerics derived from the domain name>.execute-api.<region>.
  amazonaws.com`), `hostedZoneId` (the region's, see REGIONAL_HOSTED_ZONES), `domainNameStatus`
  AVAILABLE. `UpdateDomainName` (moto: 500) replaces the configurations and keeps tags and
  mappings; `DeleteDomainName` (moto: 500 while mappings exist) deletes the mappings, then the domain.
- apigatewayv2 API mappings: `UpdateApiMapping` (moto: 500) keeps the mapping's id (moto's id,
  derived from stage and key, changes: the proxy maps it back in every answer and path);
  `CreateApiMapping` / `UpdateApiMapping` with a key the domain already maps: 409
  `ConflictException` "ApiMapping key already exists for this domain name".
- apigatewayv2 `DeleteApi` of an API that an API mapping of a custom domain name still points at:
  400 `BadRequestException` "Deleting API <apiId> failed. Please remove all API mappings for the API
  from your custom domain names." (moto deletes it and leaves the mapping pointing at no API).
- events `DeleteEventBus` of a bus with rules (an archive's managed rule `Events-Archive-<name>`
  included): 400 `ValidationException` "EventBus can't be deleted since it has rules." (moto
  deletes it).
- events replays: moto replays synchronously (COMPLETED at once). `DescribeReplay` and
  `ListReplays` show each replay STARTING for 0.25 s, then RUNNING for 2 s with
  `EventLastReplayedTime` moving from `EventStartTime` to `EventEndTime`, then COMPLETED (the
  events themselves were delivered when StartReplay was answered); `CancelReplay` of a STARTING
  or RUNNING one answers CANCELLING, and it is CANCELLED 0.25 s later; of any other: 400
  `IllegalStatusException`.
- logs `PutRetentionPolicy`: `retentionInDays` must be one of the values AWS documents (the model
  has no enum); refusals of the model check are `InvalidParameterException`, as CloudWatch Logs
  answers invalid input.
"""

import argparse
import base64
import binascii
import contextlib
import datetime
import glob
import gzip
import hashlib
import http.client
import importlib.util
import json
import os
import random
import re
import socket
import struct
import sys
import threading
import time
import traceback
import unicodedata
import uuid
import warnings
import weakref
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote
from xml.sax.saxutils import escape as xml_escape

SERVICES = ("apigatewayv2", "events", "iam", "lambda", "logs", "sts", "sqs", "sns")
CHECK_PREFIX = "/__model_check/"
FAULTS_PATH = "/__faults"
FAULT_MODES = ("drop_after_commit", "error_after_commit", "throttle", "server_error")
READ_PREFIXES = ("Get", "List", "Describe")  # the operations that are not writes
HOLD_TIMEOUT_S = 600  # a hold nobody releases releases itself after this long
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "te", "upgrade"}

# ---------------------------------------------------------------------------------------------
# Java regex -> Python re


class UnicodeClasses:
    """Character-class text for Java's \\p{..} classes, computed once from unicodedata (in the
    background from start-up: a full scan takes ~0.15 s)."""

    def __init__(self):
        self._ready = threading.Event()
        self._by_major = {}
        self._by_cat = {}

    def start(self):
        threading.Thread(target=self._compute, daemon=True).start()

    def _compute(self):
        ranges = {}
        start, cur = 0, unicodedata.category("\0")
        for cp in range(1, 0x110001):
            cat = unicodedata.category(chr(cp)) if cp < 0x110000 else None
            if cat != cur:
                ranges.setdefault(cur, []).append((start, cp - 1))
                start, cur = cp, cat
        for cat, spans in ranges.items():
            self._by_cat[cat] = spans
            self._by_major.setdefault(cat[0], []).extend(spans)
        self._ready.set()

    def spans(self, name):
        self._ready.wait()
        if len(name) == 1:
            return sorted(self._by_major.get(name, []))
        return self._by_cat.get(name)


UNICODE = UnicodeClasses()

POSIX = {  # Java's \p{Name} POSIX classes are US-ASCII only
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7F",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1F\\x7F",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0B\\f\\r",
}


def _class_text(name):
    """The inside of a character class for Java's \\p{name}, or None if unknown."""
    if name in POSIX:
        return POSIX[name]
    for prefix in ("Is", "general_category=", "gc="):
        if name.startswith(prefix) and len(name) > len(prefix):
            name = name[len(prefix) :]
    aliases = {"Letter": "L", "Number": "N", "Separator": "Z", "Symbol": "S", "Punctuation": "P", "Mark": "M"}
    name = aliases.get(name, name)
    if name == "Alphabetic":
        spans = UNICODE.spans("L") + (UNICODE.spans("Nl") or [])
    elif re.fullmatch(r"[LMNPSZC][a-z]?", name):
        spans = UNICODE.spans(name)
    else:
        return None
    if not spans:
        return None
    out = []
    for a, b in spans:
        out.append(_esc(a) if a == b else f"{_esc(a)}-{_esc(b)}")
    return "".join(out)


def _esc(cp):
    return f"\\U{cp:08x}"


def translate_java_regex(pattern):
    """Rewrite the Java-only parts of an AWS pattern: \\p{..}/\\P{..} classes and \\z."""
    out, i, depth = [], 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            n = pattern[i + 1]
            if n in "pP":
                m = re.match(r"\{([^}]*)\}|([A-Za-z])", pattern[i + 2 :])
                if not m:
                    raise ValueError(f"bad \\{n} at {i}")
                name = m.group(1) or m.group(2)
                text = _class_text(name)
                if text is None:
                    raise ValueError(f"unsupported class \\{n}{{{name}}}")
                if n == "P":
                    if depth:
                        raise ValueError("negated \\P inside a class")
                    out.append(f"[^{text}]")
                else:
                    out.append(text if depth else f"[{text}]")
                i += 2 + m.end()
                continue
            if n == "z" and not depth:
                out.append("\\Z")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if c == "[":
            depth += 1
        elif c == "]" and depth:
            depth -= 1
        out.append(c)
        i += 1
    return "".join(out)


class Patterns:
    def __init__(self):
        self._cache = {}
        self._lock = threading.Lock()
        self.skipped = {}  # pattern -> why it could not be compiled

    def get(self, pattern):
        with self._lock:
            if pattern in self._cache:
                return self._cache[pattern]
        compiled = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # Java: \w \d \s are ASCII-only unless UNICODE_CHARACTER_CLASS.
                compiled = re.compile(translate_java_regex(pattern), re.ASCII)
        except (re.error, ValueError) as e:
            with self._lock:
                self.skipped[pattern] = str(e)
            print(f"aws_model_proxy: pattern skipped: {pattern!r}: {e}", file=sys.stderr)
        with self._lock:
            self._cache[pattern] = compiled
        return compiled


PATTERNS = Patterns()

# ---------------------------------------------------------------------------------------------
# Models

NAME_BOUNDS = [
    re.compile(r"Between(Minus)?(\d+)(K?)And(Minus)?(\d+)(K?)"),
    re.compile(r"Min(Minus)?(\d+)(K?)Max(Minus)?(\d+)(K?)"),
]


# Allowed values AWS documents for a shape that carries no `enum` in the model, by (service, shape).
# CloudWatch Logs `Days` (retentionInDays of PutRetentionPolicy): "Possible values are: 1, 3, 5, 7,
# 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, and 3653."
# (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html,
# also the model's own documentation of `Days`); AWS refuses others with InvalidParameterException.
DOCUMENTED_ENUMS = {
    ("logs", "Days"): (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653),
}


def bounds_from_name(name):
    """apigatewayv2 puts many limits in shape names only: StringWithLengthBetween0And32K."""
    if "listOf" in name or "mapOf" in name:
        return None
    for rx in NAME_BOUNDS:
        m = rx.search(name)
        if m:
            lo = int(m.group(2)) * (1024 if m.group(3) else 1) * (-1 if m.group(1) else 1)
            hi = int(m.group(5)) * (1024 if m.group(6) else 1) * (-1 if m.group(4) else 1)
            return lo, hi
    return None


def botocore_data_dir():
    spec = importlib.util.find_spec("botocore")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("aws_model_proxy: botocore is not installed in this interpreter (scripts/requirements.txt)")
    return os.path.join(list(spec.submodule_search_locations)[0], "data")


class Model:
    def __init__(self, name, data):
        self.name = name
        self.shapes = data["shapes"]
        self.operations = data["operations"]
        md = data["metadata"]
        self.protocols = md.get("protocols") or [md["protocol"]]
        self.signing_name = md.get("signingName") or md["endpointPrefix"]
        self.target_prefix = md.get("targetPrefix")
        self.api_version = md["apiVersion"]
        self.json_version = md.get("jsonVersion", "1.1")
        self.routes = []
        for op_name, op in self.operations.items():
            h = op.get("http", {})
            if "requestUri" in h:
                self.routes.append(Route(op_name, h.get("method", "POST"), h["requestUri"]))
        counts = {}
        for op in self.operations.values():
            for e in op.get("errors", []):
                counts[e["shape"]] = counts.get(e["shape"], 0) + 1
        candidates = ["BadRequestException", "InvalidParameterValueException", "ValidationException"]
        self.default_error = max(candidates, key=lambda c: counts.get(c, 0)) if any(counts.get(c) for c in candidates) else "ValidationException"

    def eff(self, ref):
        """A shape with its member-reference traits (locationName, enum, flattened...) on top."""
        shape = self.shapes[ref["shape"]]
        extra = {k: v for k, v in ref.items() if k not in ("shape", "documentation")}
        if not extra:
            return shape
        merged = dict(shape)
        merged.update(extra)
        return merged

    def error_code(self, op_name):
        errors = {e["shape"] for e in self.operations.get(op_name, {}).get("errors", [])}
        if "ValidationException" in errors:
            return "ValidationException"
        return self.default_error

    def match_rest(self, method, raw_path, query_pairs):
        keys = {k: v for k, v in query_pairs}
        best = None
        for r in self.routes:
            if r.method != method:
                continue
            m = r.regex.match(raw_path)
            if not m:
                continue
            if any(k not in keys or (v and keys[k] != v) for k, v in r.query):
                continue
            score = (len(r.query), r.literal_len, -len(r.labels))
            if best is None or score > best[0]:
                best = (score, r, m)
        if best is None:
            return None, None, None
        _, r, m = best
        labels = {name: unquote(m.group(i + 1)) for i, name in enumerate(r.labels)}
        return r.op, labels, {k for k, _ in r.query}


class Route:
    def __init__(self, op, method, uri):
        self.op = op
        self.method = method.upper()
        path, _, query = uri.partition("?")
        regex, self.labels, self.literal_len = "", [], 0
        for part in re.split(r"(\{[^}]+\})", path):
            if part.startswith("{"):
                name = part[1:-1]
                greedy = name.endswith("+")
                self.labels.append(name.rstrip("+"))
                regex += "(.+)" if greedy else "([^/]+)"
            elif part:
                regex += re.escape(part)
                self.literal_len += len(part)
        while regex.endswith("/") and len(regex) > 1:
            regex = regex[:-1]
        self.regex = re.compile("^" + regex + "/?$")
        self.query = parse_qsl(query, keep_blank_values=True)


def load_models(data_dir):
    models = {}
    for service in SERVICES:
        versions = sorted(glob.glob(os.path.join(data_dir, service, "*", "service-2.json*")))
        if not versions:
            sys.exit(f"aws_model_proxy: no service-2.json for {service} under {data_dir}")
        path = versions[-1]
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as f:
            models[service] = Model(service, json.load(f))
    return models


# ---------------------------------------------------------------------------------------------
# Input reconstruction: wire -> {member name: value}


class Problems(list):
    def add(self, path, constraint):
        self.append((path, constraint))


def join(path, name):
    return f"{path}.{name}" if path else name


def json_type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def from_json(model, ref, wire, path, problems):
    """Rename body keys (locationName / jsonName) to member names, flagging unknown ones."""
    shape = model.eff(ref)
    t = shape["type"]
    if t == "structure" and isinstance(wire, dict) and not shape.get("document"):
        names = {}
        for mn, mref in shape.get("members", {}).items():
            if mref.get("location") in ("uri", "querystring", "header", "headers", "statusCode"):
                continue
            names[mref.get("jsonName") or mref.get("locationName") or mn] = mn
        out = {}
        for k, v in wire.items():
            mn = names.get(k)
            if mn is None:
                problems.add(join(path, k), f"unknown member (not in {ref['shape']})")
                continue
            out[mn] = from_json(model, shape["members"][mn], v, join(path, mn), problems)
        return out
    if t == "list" and isinstance(wire, list):
        return [from_json(model, shape["member"], v, f"{path}[{i}]", problems) for i, v in enumerate(wire)]
    if t == "map" and isinstance(wire, dict):
        return {k: from_json(model, shape["value"], v, join(path, k), problems) for k, v in wire.items()}
    return wire


def from_text(model, ref, text, path, problems):
    """A scalar carried as text (uri label, query string, header, query-protocol field)."""
    shape = model.eff(ref)
    t = shape["type"]
    if t in ("integer", "long", "short", "byte"):
        try:
            return int(text)
        except ValueError:
            problems.add(path, f"{text!r} is not an integer ({ref['shape']})")
            return None
    if t in ("double", "float"):
        try:
            return float(text)
        except ValueError:
            problems.add(path, f"{text!r} is not a number ({ref['shape']})")
            return None
    if t == "boolean":
        if text not in ("true", "false"):
            problems.add(path, f"{text!r} is not a boolean ({ref['shape']})")
            return None
        return text == "true"
    if t == "blob":
        return Blob(text.encode())
    return text


class Blob(bytes):
    """Raw bytes (already decoded), as opposed to a base64 string in a JSON body."""


def from_query(model, ref, prefix, params, consumed, path, problems):
    """Decode the query protocol's flattened form (Tags.member.1.Key, Attributes.entry.1.key)."""
    shape = model.eff(ref)
    t = shape["type"]
    if t == "structure":
        out = {}
        for mn, mref in shape.get("members", {}).items():
            name = mref.get("locationName") or mn
            sub = join(prefix, name)
            if sub in params or any(k.startswith(sub + ".") for k in params):
                out[mn] = from_query(model, mref, sub, params, consumed, join(path, mn), problems)
        return out
    if t == "list":
        if params.get(prefix) == "":
            consumed.add(prefix)
            return []
        member = shape["member"]
        if shape.get("flattened"):
            lp = prefix
            if member.get("locationName"):
                lp = ".".join(prefix.split(".")[:-1] + [member["locationName"]])
        else:
            lp = f"{prefix}.{member.get('locationName', 'member')}"
        idx = _indices(lp, params)
        if idx != list(range(1, len(idx) + 1)):
            problems.add(path, f"list indices {idx} are not 1..N")
        return [from_query(model, member, f"{lp}.{i}", params, consumed, f"{path}[{n}]", problems) for n, i in enumerate(idx)]
    if t == "map":
        if params.get(prefix) == "":
            consumed.add(prefix)
            return {}
        fp = prefix if shape.get("flattened") else f"{prefix}.entry"
        ks = shape["key"].get("locationName", "key")
        vs = shape["value"].get("locationName", "value")
        out = {}
        for i in _indices(fp, params):
            kk = f"{fp}.{i}.{ks}"
            if kk not in params:
                problems.add(path, f"map entry {i} has no {ks}")
                continue
            consumed.add(kk)
            key = params[kk]
            out[key] = from_query(model, shape["value"], f"{fp}.{i}.{vs}", params, consumed, join(path, key), problems)
        return out
    if prefix in params:
        consumed.add(prefix)
        return from_text(model, ref, params[prefix], path, problems)
    return None


def _indices(prefix, params):
    found = set()
    rx = re.compile(re.escape(prefix) + r"\.(\d+)(?:\.|$)")
    for k in params:
        m = rx.match(k)
        if m:
            found.add(int(m.group(1)))
    return sorted(found)


# ---------------------------------------------------------------------------------------------
# Validation against the shape


def shown(value, sensitive):
    if sensitive:
        return "***"
    s = repr(value)
    return s if len(s) <= 80 else s[:60] + f"...' ({len(value)} chars)"


def validate(model, ref, value, path, problems, sensitive=False):
    if value is None:
        return
    shape = model.eff(ref)
    name = ref["shape"]
    t = shape["type"]
    sensitive = sensitive or bool(shape.get("sensitive"))
    lo, hi = shape.get("min"), shape.get("max")
    if lo is None and hi is None and t in ("string", "integer", "long"):
        b = bounds_from_name(name)
        if b:
            lo, hi = b
    if t == "structure":
        if not isinstance(value, dict):
            problems.add(path, f"expected an object, got {json_type(value)} ({name})")
            return
        if shape.get("document"):
            return
        members = shape.get("members", {})
        for r in shape.get("required", []):
            if value.get(r) is None:
                problems.add(join(path, r), f"required member missing ({name})")
        if shape.get("union"):
            set_members = [k for k, v in value.items() if v is not None]
            if len(set_members) != 1:
                problems.add(path, f"union must have exactly one member set, has {len(set_members)} ({name})")
        for k, v in value.items():
            if k in members:
                validate(model, members[k], v, join(path, k), problems, sensitive)
        return
    if t == "list":
        if not isinstance(value, list):
            problems.add(path, f"expected a list, got {json_type(value)} ({name})")
            return
        _size(len(value), lo, hi, "size", path, name, problems)
        for i, v in enumerate(value):
            validate(model, shape["member"], v, f"{path}[{i}]", problems, sensitive)
        return
    if t == "map":
        if not isinstance(value, dict):
            problems.add(path, f"expected a map, got {json_type(value)} ({name})")
            return
        _size(len(value), lo, hi, "size", path, name, problems)
        for k, v in value.items():
            validate(model, shape["key"], k, f"{join(path, k)} (key)", problems, sensitive)
            validate(model, shape["value"], v, join(path, k), problems, sensitive)
        return
    if t == "string":
        if shape.get("jsonvalue") and not isinstance(value, str):
            return
        if not isinstance(value, str):
            problems.add(path, f"expected a string, got {json_type(value)} ({name})")
            return
        _size(len(value), lo, hi, "length", path, name, problems)
        if "enum" in shape and value not in shape["enum"]:
            problems.add(path, f"value {shown(value, sensitive)} is not one of {shape['enum']} ({name})")
        if "pattern" in shape:
            rx = PATTERNS.get(shape["pattern"])
            if rx is not None and not rx.fullmatch(value):
                problems.add(path, f"value {shown(value, sensitive)} does not match pattern {shape['pattern']} ({name})")
        return
    if t in ("integer", "long", "short", "byte"):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.add(path, f"expected an integer, got {json_type(value)} ({name})")
            return
        _range(value, lo, hi, path, name, problems)
        allowed = DOCUMENTED_ENUMS.get((model.name, name))
        if allowed is not None and value not in allowed:
            problems.add(path, f"value {value} is not one of {list(allowed)} ({name}: documented values, not in the model)")
        return
    if t in ("double", "float"):
        if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.add(path, f"expected a number, got {json_type(value)} ({name})")
            return
        _range(value, lo, hi, path, name, problems)
        return
    if t == "boolean":
        if not isinstance(value, bool):
            problems.add(path, f"expected a boolean, got {json_type(value)} ({name})")
        return
    if t == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            problems.add(path, f"expected a timestamp, got {json_type(value)} ({name})")
        return
    if t == "blob":
        if isinstance(value, str):
            try:
                value = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                problems.add(path, f"blob is not valid base64 ({name})")
                return
        if not isinstance(value, (bytes, bytearray)):
            problems.add(path, f"expected a blob, got {json_type(value)} ({name})")
            return
        _size(len(value), lo, hi, "length", path, name, problems)
        return


def _size(n, lo, hi, what, path, name, problems):
    if lo is not None and n < lo:
        problems.add(path, f"{what} {n} < min {lo} ({name})")
    if hi is not None and n > hi:
        problems.add(path, f"{what} {n} > max {hi} ({name})")


def _range(v, lo, hi, path, name, problems):
    if lo is not None and v < lo:
        problems.add(path, f"value {v} < min {lo} ({name})")
    if hi is not None and v > hi:
        problems.add(path, f"value {v} > max {hi} ({name})")


# ---------------------------------------------------------------------------------------------
# One request -> (service, protocol, operation, problems)


class Checked:
    def __init__(self, model=None, protocol=None, op=None):
        self.model, self.protocol, self.op = model, protocol, op
        self.labels = {}  # rest-json: the uri labels ({"apiId": ...}), unquoted
        self.problems = Problems()


CREDENTIAL = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")


def check(models, by_signing, method, raw_path, query_string, headers, body):
    """None: not an AWS request we know (forward unchecked). Otherwise a Checked."""
    m = CREDENTIAL.search(headers.get("Authorization", "")) or re.search(
        r"X-Amz-Credential=[^/&]+(?:/|%2F)\d{8}(?:/|%2F)[^/%&]+(?:/|%2F)([^/%&]+)(?:/|%2F)aws4_request", query_string
    )
    target = headers.get("X-Amz-Target")
    ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    form = None
    if ctype == "application/x-www-form-urlencoded" or (method == "GET" and "Action=" in query_string):
        text = body.decode("utf-8", "replace") if ctype == "application/x-www-form-urlencoded" else query_string
        form = parse_qsl(text, keep_blank_values=True)
    if m:
        model = by_signing.get(m.group(1))
        if model is None:
            return None
    else:  # unsigned: guess from the target prefix or the query Version
        model = None
        if target:
            model = next((x for x in models.values() if x.target_prefix and target.startswith(x.target_prefix + ".")), None)
        elif form is not None:
            version = dict(form).get("Version")
            model = next((x for x in models.values() if x.api_version == version and "query" in x.protocols), None)
        if model is None:
            return None
    query_pairs = parse_qsl(query_string, keep_blank_values=True)
    if target is not None and any(p.startswith("json") for p in model.protocols):
        return check_json(model, target, body)
    if form is not None and ("query" in model.protocols or dict(form).get("Action") in model.operations):
        return check_query(model, form)
    if "rest-json" in model.protocols:
        return check_rest_json(model, method, raw_path, query_pairs, headers, body)
    c = Checked(model, model.protocols[0])
    c.problems.add("", f"cannot identify an operation of {model.name} ({'/'.join(model.protocols)}) in {method} {raw_path}")
    return c


def check_json(model, target, body):
    c = Checked(model, "json")
    prefix, _, op = target.rpartition(".")
    if prefix != model.target_prefix or op not in model.operations:
        c.problems.add("", f"unknown operation: X-Amz-Target {target}")
        return c
    c.op = op
    try:
        wire = json.loads(body) if body.strip() else {}
    except ValueError as e:
        c.problems.add("", f"body is not JSON: {e}")
        return c
    ref = model.operations[op].get("input")
    if ref is None:
        if wire:
            c.problems.add("", "operation takes no input, body is not empty")
        return c
    if not isinstance(wire, dict):
        c.problems.add("", f"body must be a JSON object, got {json_type(wire)}")
        return c
    params = from_json(model, ref, wire, "", c.problems)
    validate(model, ref, params, "", c.problems)
    return c


def check_query(model, form):
    c = Checked(model, "query")
    params = {}
    for k, v in form:
        params[k] = v
    op = params.get("Action")
    if op not in model.operations:
        c.problems.add("Action", f"unknown operation {op!r}")
        return c
    c.op = op
    if params.get("Version") != model.api_version:
        c.problems.add("Version", f"{params.get('Version')!r} is not {model.api_version}")
    consumed = {"Action", "Version"}
    ref = model.operations[op].get("input")
    value = {}
    if ref is not None:
        value = from_query(model, ref, "", params, consumed, "", c.problems)
    for k in params:
        if k not in consumed:
            c.problems.add(k, f"unknown member (not in {ref['shape'] if ref else 'the operation'})")
    if ref is not None:
        validate(model, ref, value, "", c.problems)
    return c


def check_rest_json(model, method, raw_path, query_pairs, headers, body):
    c = Checked(model, "rest-json")
    op, labels, literal_query = model.match_rest(method, raw_path, query_pairs)
    if op is None:
        c.problems.add("", f"no operation of {model.name} matches {method} {raw_path}")
        return c
    c.op, c.labels = op, labels
    ref = model.operations[op].get("input")
    if ref is None:
        return c
    shape = model.shapes[ref["shape"]]
    members = shape.get("members", {})
    params = {}
    claimed = set(literal_query)
    rest_map = None
    for mn, mref in members.items():
        loc, name = mref.get("location"), mref.get("locationName", mn)
        mshape = model.eff(mref)
        if loc == "uri":
            if name in labels:
                params[mn] = from_text(model, mref, labels[name], mn, c.problems)
        elif loc == "querystring":
            if mshape["type"] == "map":
                rest_map = (mn, mref)
                continue
            values = [v for k, v in query_pairs if k == name]
            if not values:
                continue
            claimed.add(name)
            if mshape["type"] == "list":
                params[mn] = [from_text(model, mshape["member"], v, f"{mn}[{i}]", c.problems) for i, v in enumerate(values)]
            else:
                params[mn] = from_text(model, mref, values[-1], mn, c.problems)
        elif loc == "header":
            if mshape["type"] == "map":
                continue
            v = headers.get(name)
            if v is None:
                continue
            if mshape["type"] == "list":
                params[mn] = [from_text(model, mshape["member"], x.strip(), f"{mn}[{i}]", c.problems) for i, x in enumerate(v.split(","))]
            elif mshape.get("jsonvalue"):
                params[mn] = v
            else:
                params[mn] = from_text(model, mref, v, mn, c.problems)
        elif loc == "headers":
            pre = name.lower()
            found = {k[len(pre) :]: v for k, v in headers.items() if k.lower().startswith(pre)}
            if found:
                params[mn] = found
    if rest_map is not None:
        mn, mref = rest_map
        extra = {}
        for k, v in query_pairs:
            if k not in claimed:
                extra.setdefault(k, []).append(v)
        if extra:
            vshape = model.eff(model.eff(mref)["value"])
            params[mn] = {k: (v if vshape["type"] == "list" else v[-1]) for k, v in extra.items()}
    else:
        for k, _ in query_pairs:
            if k not in claimed:
                c.problems.add(k, f"unknown query parameter (not in {ref['shape']})")
    payload = shape.get("payload")
    if payload:
        pref = members[payload]
        ptype = model.eff(pref)["type"]
        if body:
            if ptype == "blob":
                params[payload] = Blob(body)
            elif ptype == "string":
                params[payload] = body.decode("utf-8", "replace")
            else:
                try:
                    wire = json.loads(body)
                except ValueError as e:
                    c.problems.add(payload, f"body is not JSON: {e}")
                    wire = None
                if wire is not None:
                    params[payload] = from_json(model, pref, wire, payload, c.problems)
    else:
        try:
            wire = json.loads(body) if body.strip() else {}
        except ValueError as e:
            c.problems.add("", f"body is not JSON: {e}")
            wire = {}
        if not isinstance(wire, dict):
            c.problems.add("", f"body must be a JSON object, got {json_type(wire)}")
            wire = {}
        params.update(from_json(model, ref, wire, "", c.problems))
    validate(model, ref, params, "", c.problems)
    return c


# ---------------------------------------------------------------------------------------------
# The proxy


class State:
    def __init__(self, args, models):
        self.upstream_host, _, port = args.upstream.rpartition(":")
        self.upstream_port = int(port)
        self.violations_path = args.violations
        self.trace_path = args.trace
        self.models = models
        self.by_signing = {m.signing_name: m for m in models.values()}
        self.lock = threading.Lock()
        self.stats = {"checked": 0, "rejected": 0, "unchecked": 0, "moto_api": 0, "internal_errors": 0}
        self.memory = []
        self.faults = Faults()
        self.hold = Hold()
        self.authorizers = AuthorizerIds()
        self.mapping_ids = MappingIds()
        self.replays = Replays()
        self.compound = SharedLock()

    def record(self, entries):
        with self.lock:
            self.memory.extend(entries)
            if self.violations_path:
                with open(self.violations_path, "a", encoding="utf-8") as f:
                    for e in entries:
                        f.write(json.dumps(e) + "\n")
                    f.flush()

    def violations(self):
        if self.violations_path:
            try:
                with open(self.violations_path, encoding="utf-8") as f:
                    return [json.loads(line) for line in f if line.strip()]
            except FileNotFoundError:
                return []
        with self.lock:
            return list(self.memory)

    def trace(self, method, path, service, operation, verdict):
        if not self.trace_path:
            return
        line = json.dumps({"service": service, "operation": operation, "verdict": verdict, "request": f"{method} {path}"})
        with self.lock:
            with open(self.trace_path, "a", encoding="utf-8") as f:
                f.write(line + "\n")

    def count(self, key):
        with self.lock:
            self.stats[key] = self.stats.get(key, 0) + 1


class Faults:
    """The fault-injection settings and counts (see the module docstring)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rates = {}
        self.latency_ms = 0
        self.writes_only = False
        self.seed = 0
        self.rng = random.Random(0)
        self.calls = {}
        self.injected = {}
        self.injected_by_call = {}
        self.committed = {}

    def configure(self, doc):
        rates = dict(doc.get("rates") or {})
        latency = doc.get("latency_ms", rates.pop("latency_ms", 0)) or 0
        unknown = [k for k in rates if k not in FAULT_MODES]
        if unknown:
            raise ValueError(f"unknown fault mode(s) {unknown}; known: {list(FAULT_MODES)} and latency_ms")
        for k, v in rates.items():
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v <= 1:
                raise ValueError(f"rate {k} must be a number in 0..1, got {v!r}")
        if sum(rates.values()) > 1 + 1e-9:
            raise ValueError(f"the rates add up to more than 1: {rates}")
        if not isinstance(latency, (int, float)) or isinstance(latency, bool) or latency < 0:
            raise ValueError(f"latency_ms must be a number >= 0, got {latency!r}")
        with self.lock:
            self.rates = {k: float(v) for k, v in rates.items() if v}
            self.latency_ms = latency
            self.writes_only = bool(doc.get("writes_only", False))
            self.seed = int(doc.get("seed", 0))
            self.rng = random.Random(self.seed)

    def clear(self):
        self.configure({})

    def settings(self):
        with self.lock:
            return {"rates": dict(self.rates), "latency_ms": self.latency_ms, "writes_only": self.writes_only, "seed": self.seed}

    def draw(self, service, op):
        """Count the call; the fault mode to inject (or None) and the latency to add first."""
        key = f"{service}.{op}"
        with self.lock:
            self.calls[key] = self.calls.get(key, 0) + 1
            latency = self.latency_ms
            if not self.rates:
                return None, latency
            if self.writes_only and op.startswith(READ_PREFIXES):
                return None, latency
            u, acc = self.rng.random(), 0.0
            for mode in FAULT_MODES:
                acc += self.rates.get(mode, 0.0)
                if u < acc:
                    self.injected[mode] = self.injected.get(mode, 0) + 1
                    per = self.injected_by_call.setdefault(key, {})
                    per[mode] = per.get(mode, 0) + 1
                    return mode, latency
            return None, latency

    def pick(self, choices):
        with self.lock:
            return self.rng.choice(choices)

    def commit(self, call):
        """Count a committed write ("service.Op")."""
        with self.lock:
            self.committed[call] = self.committed.get(call, 0) + 1

    def stats(self):
        with self.lock:
            return {
                "calls": dict(sorted(self.calls.items())),
                "total_calls": sum(self.calls.values()),
                "faults": dict(self.injected),
                "total_faults": sum(self.injected.values()),
                "faults_by_call": {k: dict(v) for k, v in sorted(self.injected_by_call.items())},
                "committed_writes": sum(self.committed.values()),
                "committed_writes_by_call": dict(sorted(self.committed.items())),
            }

    def reset_stats(self):
        with self.lock:
            self.calls.clear()
            self.injected.clear()
            self.injected_by_call.clear()
            self.committed.clear()


class Hold:
    """The kill point (see the module docstring): armed to hold the answer to the k-th committed
    write; once that one is held, every AWS request waits here too, until released."""

    def __init__(self):
        self.cond = threading.Condition()
        self.after_write = None  # None: not armed
        self.writes = 0
        self.held_call = None  # set while a request is held
        self.blocked = 0
        self.round = 0  # bumped by each release: it wakes the requests blocked before

    def arm(self, after_write):
        """Arm (again, counting from 0); False if a request is held (release it first)."""
        with self.cond:
            if self.held_call is not None:
                return False
            self.after_write, self.writes = after_write, 0
            return True

    def block(self, committed=None):
        """Whether this request is blocked; if so, it returns only once released. `committed`:
        the "service.Op" of a write moto just committed (it counts, and may be the one held)."""
        with self.cond:
            if committed is not None and self.after_write is not None:
                self.writes += 1
                if self.held_call is None and self.writes == self.after_write:
                    self.held_call = committed
            if self.held_call is None:
                return False
            self.blocked += 1
            this_round = self.round
            if not self.cond.wait_for(lambda: self.round != this_round, HOLD_TIMEOUT_S):
                print(f"aws_model_proxy: hold on {self.held_call} not released in {HOLD_TIMEOUT_S} s: releasing it", file=sys.stderr)
                self._release()
            self.blocked -= 1
            self.cond.notify_all()
            return True

    def release(self):
        """Disarm and wake every blocked request; returns once they are all awake (each then
        resets its connection)."""
        with self.cond:
            self._release()
            self.cond.wait_for(lambda: self.blocked == 0, 10)

    def _release(self):
        self.round += 1
        self.after_write, self.writes, self.held_call = None, 0, None
        self.cond.notify_all()

    def status(self):
        with self.cond:
            return {"armed": self.after_write is not None, "after_write": self.after_write, "writes": self.writes,
                    "held": self.held_call is not None, "held_call": self.held_call, "blocked": self.blocked}


class AuthorizerIds:
    """The ids of the authorizers moto made, per API id, in creation order (moto 5.2.5 cannot list
    them: the proxy answers GetAuthorizers from these)."""

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


# ---------------------------------------------------------------------------------------------
# Emulation of what moto 5.2.5 lacks or does unlike AWS (see the module docstring). moto runs as a
# separate process (moto_server; the proxy only knows its address), so the proxy cannot edit moto's
# backend objects: where AWS changes an object in place and moto cannot, the proxy deletes it and
# creates it again through moto's own API, keeping everything that identifies it.


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


# A replay as the proxy shows it: STARTING this long, then RUNNING this long (EventLastReplayedTime
# moving linearly from EventStartTime to EventEndTime), then COMPLETED; a cancelled one CANCELLING
# this long, then CANCELLED.
REPLAY_STARTING_S = 0.25
REPLAY_RUNNING_S = 2.0
REPLAY_CANCELLING_S = 0.25


def epoch_seconds(value):
    """A timestamp of a json-protocol answer (epoch seconds, or an ISO 8601 string) as a float."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        return when.timestamp()
    return None


class Replays:
    """moto 5.2.5 replays an archive synchronously inside StartReplay: its replay is COMPLETED at
    once and never has an EventLastReplayedTime. Per replay name: when StartReplay was answered and
    when CancelReplay was, from which DescribeReplay and ListReplays show the progress AWS would."""

    def __init__(self):
        self.lock = threading.Lock()
        self.started = {}  # name -> time.time() of the StartReplay answer
        self.cancelled = {}  # name -> time.time() of the CancelReplay answer

    def start(self, name):
        with self.lock:
            self.started[name] = time.time()
            self.cancelled.pop(name, None)

    def cancel(self, name):
        with self.lock:
            self.cancelled.setdefault(name, time.time())

    def clear(self):
        with self.lock:
            self.started.clear()
            self.cancelled.clear()

    def state(self, name, now):
        """(State, seconds of progress at which it stopped or is, ReplayEndTime or None), or None
        for a replay the proxy did not see start."""
        with self.lock:
            t0 = self.started.get(name)
            tc = self.cancelled.get(name)
        if t0 is None:
            return None
        if tc is not None:
            if now - tc < REPLAY_CANCELLING_S:
                return "CANCELLING", tc - t0, None
            return "CANCELLED", tc - t0, tc + REPLAY_CANCELLING_S
        t = now - t0
        if t < REPLAY_STARTING_S:
            return "STARTING", t, None
        if t < REPLAY_STARTING_S + REPLAY_RUNNING_S:
            return "RUNNING", t, None
        return "COMPLETED", t, t0 + REPLAY_STARTING_S + REPLAY_RUNNING_S

    def show(self, item, now):
        """Set State, EventLastReplayedTime and ReplayEndTime of a DescribeReplay answer or a
        ListReplays item (moto's, in place) as AWS would show them `now`."""
        seen = self.state(item.get("ReplayName"), now)
        if seen is None:
            return item
        state, t, end_time = seen
        for k in ("EventLastReplayedTime", "ReplayEndTime"):
            item.pop(k, None)
        item["State"] = state
        if end_time is not None:
            item["ReplayEndTime"] = end_time
        start, end = epoch_seconds(item.get("EventStartTime")), epoch_seconds(item.get("EventEndTime"))
        if t >= REPLAY_STARTING_S and start is not None and end is not None:
            done = min(1.0, (t - REPLAY_STARTING_S) / REPLAY_RUNNING_S)
            item["EventLastReplayedTime"] = start + (end - start) * done
        return item


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
# Lambda quotas: "Function resource-based policy: 20 KB" (AddPermission beyond it is refused).
LAMBDA_POLICY_LIMIT = 20480


def _policy_size_after(statements, doc, path):
    """The length of a function's resource policy (compact JSON, as Lambda measures it) once
    AddPermission `doc` (to the function of request `path`) has added its statement."""
    function = unquote(path.split("/functions/", 1)[-1].split("/", 1)[0])
    resource = next((x.get("Resource") for x in statements if isinstance(x, dict) and x.get("Resource")), None)
    if resource is None:
        resource = function if function.startswith("arn:") else f"arn:aws:lambda:us-east-1:123456789012:function:{function}"
    principal = doc.get("Principal", "")
    statement = {
        "Sid": doc.get("StatementId"),
        "Effect": "Allow",
        "Principal": {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal},
        "Action": doc.get("Action"),
        "Resource": resource,
    }
    if doc.get("SourceArn"):
        statement["Condition"] = {"ArnLike": {"AWS:SourceArn": doc["SourceArn"]}}
    policy = {"Version": "2012-10-17", "Id": "default", "Statement": [*statements, statement]}
    return len(json.dumps(policy, separators=(",", ":")))
MAPPING_NOT_FOUND = "The api mapping resource specified in the request was not found."  # moto's 404
API_MAPPED = "Deleting API {} failed. Please remove all API mappings for the API from your custom domain names."
# What moto's GetStage shows and CreateStage takes back (its Stage keeps no deploymentId).
STAGE_FIELDS = ("stageName", "accessLogSettings", "autoDeploy", "clientCertificateId", "defaultRouteSettings", "description",
                "routeSettings", "stageVariables", "tags")
REGION_IN_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/]+)/")


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
    of that name, and the status (AVAILABLE: the proxy has no certificate validation to wait for)."""
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


# Internal-error codes per service (what each one's model calls its 500).
INTERNAL_ERROR = {"events": "InternalException", "iam": "ServiceFailure", "lambda": "ServiceException", "sts": "InternalFailure",
                  "sns": "InternalError", "sqs": "InternalFailure", "apigatewayv2": "InternalFailure",
                  "logs": "ServiceUnavailableException"}
# The 503 codes where the model has its own (elsewhere: ServiceUnavailable).
UNAVAILABLE_ERROR = {"lambda": "ServiceException", "logs": "ServiceUnavailableException"}
# The code of a model-check refusal for json-protocol services whose AWS answers invalid input with
# another code than ValidationException. CloudWatch Logs: "InvalidParameterException: 1 validation
# error detected: Value ... at 'logGroupName' failed to satisfy constraint" (every logs operation
# declares InvalidParameterException; few declare ValidationException).
JSON_VALIDATION_ERROR = {"logs": "InvalidParameterException"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "aws-model-proxy"
    # Keep-alive + small writes + delayed ACKs = 40 ms per request with Nagle on; off, and every
    # answer goes out in one write (headers and body together).
    disable_nagle_algorithm = True
    state = None  # set by main

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass

    def _body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks), True
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return (self.rfile.read(n) if n else b""), False

    def _handle(self):
        body, dechunked = self._body()
        raw_path, _, query = self.path.partition("?")
        st = self.state
        if raw_path.startswith(CHECK_PREFIX):
            return self._model_check_api(raw_path[len(CHECK_PREFIX) :])
        if raw_path == FAULTS_PATH or raw_path.startswith(FAULTS_PATH + "/"):
            return self._faults_api(raw_path[len(FAULTS_PATH) :], body)
        if raw_path.startswith("/moto-api"):
            st.count("moto_api")
            st.trace(self.command, self.path, None, None, "moto-api")
            self._forward(body, dechunked)
            if raw_path == "/moto-api/reset":
                st.authorizers.clear()
                st.mapping_ids.clear()
                st.replays.clear()
            return None
        if self._held():
            return None
        try:
            c = check(st.models, st.by_signing, self.command, raw_path, query, self.headers, body)
        except Exception:  # a bug in this proxy must not pass silently: it fails the test too
            st.count("internal_errors")
            tb = traceback.format_exc()
            print(tb, file=sys.stderr)
            st.record([{"time": time.time(), "service": None, "operation": None, "path": "", "constraint": "proxy error",
                        "message": f"aws_model_proxy crashed on {self.command} {self.path}: {tb.strip().splitlines()[-1]}",
                        "request": f"{self.command} {self.path}"}])
            return self._forward(body, dechunked)
        if c is None:
            st.count("unchecked")
            st.trace(self.command, self.path, None, None, "unchecked")
            return self._forward(body, dechunked)
        st.count("checked")
        st.trace(self.command, self.path, c.model.name, c.op, "rejected" if c.problems else "ok")
        if not c.problems:
            return self._faulted(c, body, dechunked)
        st.count("rejected")
        op = c.op or "UnknownOperation"
        entries = []
        for path, constraint in c.problems:
            entries.append({
                "time": time.time(),
                "service": c.model.name,
                "operation": op,
                "path": path,
                "constraint": constraint,
                "message": f"{op}: {path}: {constraint}" if path else f"{op}: {constraint}",
                "request": f"{self.command} {self.path}",
            })
        st.record(entries)  # before answering: the client may look right after the 400
        self._reject(c, "; ".join(e["message"] for e in entries))

    def _reject(self, c, message):
        request_id = str(uuid.uuid4())
        unknown = c.op is None
        if c.protocol == "query":
            code = "InvalidAction" if unknown else "ValidationError"
            body = (
                f'<ErrorResponse xmlns="https://{c.model.name}.amazonaws.com/doc/{c.model.api_version}/">'
                f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{xml_escape(message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>"
            ).encode()
            self._send(400, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body)
        elif c.protocol == "json":
            code = "UnknownOperationException" if unknown else JSON_VALIDATION_ERROR.get(c.model.name, "ValidationException")
            body = json.dumps({"__type": code, "message": message}).encode()
            ctype = f"application/x-amz-json-{c.model.json_version}"
            self._send(400, [("Content-Type", ctype), ("x-amzn-RequestId", request_id)], body)
        else:
            code = "UnknownOperationException" if unknown else c.model.error_code(c.op)
            doc = {"message": message}
            if c.model.name == "lambda":
                doc = {"Type": "User", "message": message}
            body = json.dumps(doc).encode()
            headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code), ("x-amzn-RequestId", request_id)]
            self._send(404 if unknown else 400, headers, body)

    def _faulted(self, c, body, dechunked):
        """Forward a request that passed the model check, or inject the fault the dice choose."""
        faults = self.state.faults
        call = f"{c.model.name}.{c.op}"
        mode, latency_ms = faults.draw(c.model.name, c.op)
        if latency_ms:
            time.sleep(latency_ms / 1000)
        if self._held():
            return None
        if mode in (None, "drop_after_commit", "error_after_commit") and self._aws_exact(c, body):
            return None
        if mode == "throttle":
            return self._fault_answer(c, "throttle")
        if mode == "server_error":
            return self._fault_answer(c, faults.pick(("internal", "unavailable")))
        emulation = EMULATIONS.get(call)
        if emulation is not None:
            answer = emulation(self, c, body, dechunked)
        else:
            answer = self._forward_checked(c, body, dechunked)
        if answer is None:
            return None  # moto failed: already answered 502
        status = answer[0]
        self._track_authorizers(c, status, answer[2])
        answer = self._adjust(c, body, answer)
        committed = status // 100 == 2 and c.model.name != "sts" and not c.op.startswith(READ_PREFIXES)
        if committed:
            faults.commit(call)
        if self._held(call if committed else None):
            return None
        if mode == "error_after_commit":
            return self._fault_answer(c, "internal")
        if mode == "drop_after_commit":
            return self._reset_connection()
        return self._send(*answer, head=self.command == "HEAD")

    def _held(self, committed=None):
        """The kill point (POST /__faults/hold): True if this request was blocked and has been
        released; its connection is then reset without an answer. `committed`: see Hold.block."""
        if not self.state.hold.block(committed):
            return False
        self._reset_connection()
        return True

    def _reset_connection(self):
        """Answer nothing and close the connection with a RST (SO_LINGER 0) once this handler
        returns: a dropped connection, as the client sees it."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.server.reset_on_close(self.connection)

    def _aws_exact(self, c, body):
        """Where moto is laxer than AWS in a way a retried write depends on, answer as AWS would.
        True if answered. Lambda AddPermission with a StatementId the policy already holds: AWS
        refuses (409 ResourceConflictException), moto appends a second statement with that id.
        apigatewayv2 CreateRoute with a route key the API already has: AWS refuses (409
        ConflictException), moto makes a second route with that key. Lambda AddPermission that would
        take the function's resource policy past 20 KB: AWS refuses (400
        PolicyLengthExceededException "The final policy size (N) is bigger than the limit (20480).";
        Lambda quotas, "Function resource-based policy: 20 KB"), moto has no cap. apigatewayv2
        CreateApiMapping with an ApiMappingKey the domain already maps: AWS refuses (409
        ConflictException "ApiMapping key already exists for this domain name", as AWS answered in
        aws/aws-cdk#22660 and aws-cloudformation/cloudformation-coverage-roadmap#1151), moto
        overwrites the mapping of the same stage and key (same id) or adds a second mapping with
        that key."""
        if (c.model.name, c.op) not in (("lambda", "AddPermission"), ("apigatewayv2", "CreateRoute"), ("apigatewayv2", "CreateApiMapping")):
            return False
        try:
            doc = json.loads(body)
        except ValueError:
            return False
        if not isinstance(doc, dict):
            return False
        existing = self._upstream_get_json()
        status = 409
        if c.op == "AddPermission":
            sid = doc.get("StatementId")
            try:
                statements = json.loads((existing or {}).get("Policy") or "{}").get("Statement") or []
            except (ValueError, AttributeError):
                return False
            if any(isinstance(x, dict) and x.get("Sid") == sid for x in statements):
                code = "ResourceConflictException"
                message = f"The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the existing statement."
            else:
                size = _policy_size_after(statements, doc, self.path)
                if size <= LAMBDA_POLICY_LIMIT:
                    return False
                code = "PolicyLengthExceededException"
                message = f"The final policy size ({size}) is bigger than the limit ({LAMBDA_POLICY_LIMIT})."
                status = 400
            answer = {"Type": "User", "message": message}
        elif c.op == "CreateApiMapping":
            key = doc.get("apiMappingKey", "")  # moto's default too: no key is the empty key
            items = (existing or {}).get("items") or []
            if not any(isinstance(x, dict) and x.get("apiMappingKey", "") == key for x in items):
                return False
            code = "ConflictException"
            answer = {"message": MAPPING_KEY_TAKEN}
        else:
            key = doc.get("routeKey")
            items = (existing or {}).get("items") or []
            if not any(isinstance(x, dict) and x.get("routeKey") == key for x in items):
                return False
            code = "ConflictException"
            answer = {"message": f"Unable to complete operation due to concurrent modification. Route key {key} already exists."}
        request_id = str(uuid.uuid4())
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code), ("x-amzn-RequestId", request_id)]
        self._send(status, headers, json.dumps(answer).encode())
        return True

    def _upstream_get_json(self):
        """GET this request's path from moto (with its headers): the JSON answer, or None."""
        answer = self._upstream_get(self.path)
        if answer is None or answer[0] != 200:
            return None
        try:
            return json.loads(answer[2])
        except ValueError:
            return None

    def _upstream_get(self, path):
        """GET path from moto with this request's headers: (status, headers, body, reason), or None
        if moto failed."""
        return self._moto("GET", path)

    def _moto(self, method, path, doc=None, target=None):
        """A request of the proxy's own to moto, with this request's headers (moto reads the region
        and the account from them), `doc` as the JSON body and `target` as the X-Amz-Target:
        (status, headers, body, reason), or None if moto failed."""
        st = self.state
        body = b"" if doc is None else json.dumps(doc).encode()
        ctype = self.headers.get("Content-Type") if target else "application/json"
        conn = http.client.HTTPConnection(st.upstream_host, st.upstream_port, timeout=60)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() not in ("content-length", "content-type", "transfer-encoding", "expect", "content-encoding", "x-amz-target"):
                    conn.putheader(k, v)
            if target:
                conn.putheader("X-Amz-Target", target)
            if doc is not None:
                conn.putheader("Content-Type", ctype or "application/json")
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            resp = conn.getresponse()
            data = resp.read()
            headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
            return resp.status, headers, data, resp.reason
        except (ConnectionError, OSError, http.client.HTTPException):
            return None
        finally:
            conn.close()

    def _track_authorizers(self, c, status, data):
        """Keep the authorizer ids of moto's answers to CreateAuthorizer (see AuthorizerIds)."""
        if c.model.name != "apigatewayv2" or status // 100 != 2:
            return
        known, api = self.state.authorizers, c.labels.get("apiId")
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

    def _get_authorizers(self, c):
        """apigatewayv2 GetAuthorizers, which moto 5.2.5 lacks, from the ids the proxy kept and
        moto's GetAuthorizer (see the module docstring): (status, headers, body, reason), or None
        after answering 502."""
        api = c.labels["apiId"]
        base = f"/v2/apis/{quote(api, safe='')}"
        answer = self._upstream_get(base)  # GetApi: moto's 404 if it does not know the API
        if answer is None:
            return self._bad_gateway("GetApi failed")
        if answer[0] != 200:
            return answer
        items = []
        for authorizer in self.state.authorizers.ids(api):
            answer = self._upstream_get(f"{base}/authorizers/{quote(authorizer, safe='')}")
            if answer is None:
                return self._bad_gateway("GetAuthorizer failed")
            if answer[0] == 404:
                self.state.authorizers.discard(api, authorizer)
                continue
            if answer[0] != 200:
                return answer
            items.append({k: v for k, v in json.loads(answer[2]).items() if v is not None})
        query = dict(parse_qsl(self.path.partition("?")[2], keep_blank_values=True))
        start, size = 0, len(items)
        token = query.get("nextToken")
        if token is not None:
            if not re.fullmatch(r"[1-9][0-9]{0,8}", token):
                return self._bad_request("Invalid nextToken")
            start = int(token)
        if "maxResults" in query:
            if not re.fullmatch(r"[1-9][0-9]{0,8}", query["maxResults"]):
                return self._bad_request("Invalid maxResults")
            size = int(query["maxResults"])
        doc = {"items": items[start : start + size]}
        if start + size < len(items):
            doc["nextToken"] = str(start + size)
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", str(uuid.uuid4()))]
        return 200, headers, json.dumps(doc).encode(), None

    # -----------------------------------------------------------------------------------------
    # Emulations (see "Emulation of what moto 5.2.5 lacks" above). Each takes (c, body, dechunked)
    # and returns the answer (status, headers, body, reason), or None after answering 502.

    def _forward_checked(self, c, body, dechunked):
        """Forward a checked request to moto: an apigatewayv2 one while no multi-step emulation
        runs, with moto's id of an API mapping the client knows by the id AWS would show."""
        if c.model.name != "apigatewayv2":
            return self._upstream(body, dechunked)
        path = None
        if c.op in ("GetApiMapping", "DeleteApiMapping"):
            visible = c.labels.get("apiMappingId")
            moto_id = self.state.mapping_ids.moto(c.labels.get("domainName"), visible)
            if moto_id is None:
                return self._rest_error(404, "NotFoundException", MAPPING_NOT_FOUND)
            if moto_id != visible:
                raw, _, query = self.path.partition("?")
                path = raw.rstrip("/").rpartition("/")[0] + "/" + quote(moto_id, safe="") + (f"?{query}" if query else "")
        with self.state.compound.shared():
            return self._upstream(body, dechunked, path)

    def _adjust(self, c, body, answer):
        """moto's 2xx answer as AWS would give it: the computed members of custom domains, the API
        mapping ids AWS would show; and the proxy's own bookkeeping of what moto just did."""
        status, headers, data, reason = answer
        if status // 100 != 2:
            return answer
        service, op = c.model.name, c.op
        if service == "events" and op == "StartReplay":
            self.state.replays.start(json.loads(body)["ReplayName"])
            return answer
        if service != "apigatewayv2":
            return answer
        domain, ids = c.labels.get("domainName"), self.state.mapping_ids
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
                item["domainNameConfigurations"] = [domain_target(item.get("domainName"), x, self._region()) for x in configurations if isinstance(x, dict)]
            elif isinstance(item.get("apiMappingId"), str):
                moto_id = item["apiMappingId"]
                item["apiMappingId"] = ids.created(domain, moto_id) if op == "CreateApiMapping" else ids.visible(domain, moto_id)
        return status, headers, json.dumps(doc).encode(), reason

    def _region(self):
        m = REGION_IN_SCOPE.search(self.headers.get("Authorization", ""))
        return m.group(1) if m else "us-east-1"

    def _moto_json(self, method, path, doc=None, target=None):
        """(answer, its JSON body or None); answer None if moto failed."""
        answer = self._moto(method, path, doc, target)
        if answer is None:
            return None, None
        try:
            return answer, json.loads(answer[2]) if answer[2] else None
        except ValueError:
            return answer, None

    def _update_stage(self, c, body, dechunked):
        """apigatewayv2 UpdateStage (moto 5.2.5: 500 NotImplementedError), as the API Gateway v2 API
        reference has it (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-stages-stagename.html,
        PATCH, 200 with the Stage): the members given replace the stage's; the maps
        (defaultRouteSettings' members, routeSettings per route key, stageVariables per variable)
        are merged into the stage's, as a PATCH. So an empty defaultRouteSettings keeps the stage's
        throttling limits, as on AWS (AWS support's answer quoted in
        https://github.com/serverless/serverless/pull/8590: they cannot be removed that way). moto cannot change a stage: the proxy deletes it and
        creates it again with the merged settings (same name, tags, variables), so createdDate is the
        time of the update, and deploymentId is not kept (moto keeps none)."""
        doc = json.loads(body or b"{}")
        with self.state.compound.exclusive():
            answer, current = self._moto_json("GET", self._stage_path(c))
            if answer is None:
                return self._bad_gateway("GetStage failed")
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
            answer = self._recreate_stage(c, config, current)
        if answer is None or answer[0] // 100 != 2:
            return answer
        return 200, answer[1], answer[2], None

    def _delete_access_log_settings(self, c, body, dechunked):
        """apigatewayv2 DeleteAccessLogSettings (moto 5.2.5 has no route for it: 404 HTML), as the API
        Gateway v2 API reference has it (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-stages-stagename-accesslogsettings.html,
        DELETE, 204; "To disable access logging for a Stage, delete its AccessLogSettings"): the
        stage is created again without them (see _update_stage)."""
        with self.state.compound.exclusive():
            answer, current = self._moto_json("GET", self._stage_path(c))
            if answer is None:
                return self._bad_gateway("GetStage failed")
            if answer[0] != 200 or not isinstance(current, dict):
                return answer
            if current.get("accessLogSettings"):
                config = {k: current[k] for k in STAGE_FIELDS if current.get(k) is not None and k != "accessLogSettings"}
                answer = self._recreate_stage(c, config, current)
                if answer is None or answer[0] // 100 != 2:
                    return answer
        return self._json_answer(None, 204)

    def _stage_path(self, c):
        return f"/v2/apis/{quote(c.labels['apiId'], safe='')}/stages/{quote(c.labels['stageName'], safe='')}"

    def _recreate_stage(self, c, config, previous):
        """Delete the stage and create it with `config` (under the exclusive lock): moto's answer to
        the create; if that fails, the stage is created again as it was."""
        path = self._stage_path(c)
        deleted = self._moto("DELETE", path)
        if deleted is None or deleted[0] // 100 != 2:
            return deleted if deleted is not None else self._bad_gateway("DeleteStage failed")
        create = f"/v2/apis/{quote(c.labels['apiId'], safe='')}/stages"
        answer = self._moto("POST", create, config)
        if answer is None or answer[0] // 100 != 2:
            self._moto("POST", create, {k: previous[k] for k in STAGE_FIELDS if previous.get(k) is not None})
            return answer if answer is not None else self._bad_gateway("CreateStage failed")
        return answer

    def _domain_path(self, c):
        return f"/v2/domainnames/{quote(c.labels['domainName'], safe='')}"

    def _mappings_of(self, c):
        """(answer, moto's API mappings of the request's domain); answer None if moto failed."""
        answer, doc = self._moto_json("GET", self._domain_path(c) + "/apimappings")
        if answer is None or answer[0] != 200 or not isinstance(doc, dict):
            return answer, None
        return answer, [x for x in doc.get("items") or [] if isinstance(x, dict)]

    def _update_domain_name(self, c, body, dechunked):
        """apigatewayv2 UpdateDomainName (moto 5.2.5: 500 NotImplementedError), as the API Gateway v2
        API reference has it (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/domainnames-domainname.html,
        PATCH, 200 with the DomainName): DomainNameConfigurations and MutualTlsAuthentication, when
        given, replace the domain's; tags and API mappings stay. moto cannot change a domain: the
        proxy deletes its mappings and the domain, creates the domain with the new settings and its
        tags, and creates the mappings again (moto derives a mapping's id from its stage, domain and
        key, so they come back with the same ids). RoutingMode is not kept: moto keeps none."""
        doc = json.loads(body or b"{}")
        base = self._domain_path(c)
        with self.state.compound.exclusive():
            answer, current = self._moto_json("GET", base)
            if answer is None:
                return self._bad_gateway("GetDomainName failed")
            if answer[0] != 200 or not isinstance(current, dict):
                return answer
            answer, mappings = self._mappings_of(c)
            if mappings is None:
                return answer if answer is not None else self._bad_gateway("GetApiMappings failed")
            configurations = doc.get("domainNameConfigurations", current.get("domainNameConfigurations") or [{}])
            config = {
                "domainName": current.get("domainName", c.labels["domainName"]),
                "domainNameConfigurations": [{k: v for k, v in x.items() if k not in DOMAIN_COMPUTED} for x in configurations if isinstance(x, dict)],
                "mutualTlsAuthentication": doc.get("mutualTlsAuthentication", current.get("mutualTlsAuthentication") or {}),
                "tags": current.get("tags") or {},
            }
            for m in mappings:
                self._moto("DELETE", f"{base}/apimappings/{quote(m['apiMappingId'], safe='')}")
            deleted = self._moto("DELETE", base)
            answer = deleted
            if deleted is not None and deleted[0] // 100 == 2:
                answer = self._moto("POST", "/v2/domainnames", config)
                if answer is None or answer[0] // 100 != 2:  # put the domain back as it was
                    was = dict(config, domainNameConfigurations=[{k: v for k, v in x.items() if k not in DOMAIN_COMPUTED}
                                                                 for x in current.get("domainNameConfigurations") or [{}] if isinstance(x, dict)],
                               mutualTlsAuthentication=current.get("mutualTlsAuthentication") or {})
                    self._moto("POST", "/v2/domainnames", was)
            for m in mappings:  # the same ids: moto derives them from stage, domain and key
                again = {"apiId": m.get("apiId"), "apiMappingKey": m.get("apiMappingKey", ""), "stage": m.get("stage")}
                back = self._moto("POST", f"{base}/apimappings", again)
                if back is None or back[0] // 100 != 2:
                    print(f"aws_model_proxy: UpdateDomainName: mapping {m} not restored: {back and back[2][:200]!r}", file=sys.stderr)
        if answer is None or answer[0] // 100 != 2:
            return answer if answer is not None else self._bad_gateway("UpdateDomainName failed")
        return 200, answer[1], answer[2], None

    def _delete_domain_name(self, c, body, dechunked):
        """apigatewayv2 DeleteDomainName (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/domainnames-domainname.html,
        DELETE, 204). The reference does not say what becomes of the domain's API mappings; they
        cannot outlive it (they are addressed under it), and moto means to delete them too but
        crashes doing so (500 "dictionary changed size during iteration", one mapping deleted per
        attempt). So the proxy deletes the mappings first, then the domain."""
        base = self._domain_path(c)
        with self.state.compound.exclusive():
            answer, mappings = self._mappings_of(c)
            for m in mappings or []:
                if self._moto("DELETE", f"{base}/apimappings/{quote(m['apiMappingId'], safe='')}") is None:
                    return self._bad_gateway("DeleteApiMapping failed")
            answer = self._moto("DELETE", self.path)
        if answer is None:
            return self._bad_gateway("DeleteDomainName failed")
        if answer[0] // 100 == 2:
            self.state.mapping_ids.forget_domain(c.labels["domainName"])
        return answer

    def _delete_api(self, c, body, dechunked):
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
        moto deletes the API and leaves the mapping pointing at no API. The proxy reads every
        domain's mappings (GetDomainNames, then GetApiMappings per domain; moto pages neither) and
        refuses if one has this ApiId; otherwise moto deletes the API. Under the exclusive lock: no
        mapping is made in between, and none is missing for a moment while UpdateDomainName
        re-creates them."""
        api = c.labels["apiId"]
        with self.state.compound.exclusive():
            answer, domains = self._moto_json("GET", "/v2/domainnames")
            if answer is None or answer[0] != 200 or not isinstance(domains, dict):
                return self._bad_gateway(f"GetDomainNames failed: {answer and answer[0]}")
            for d in domains.get("items") or []:
                name = d.get("domainName") if isinstance(d, dict) else None
                if not isinstance(name, str):
                    continue
                answer, doc = self._moto_json("GET", f"/v2/domainnames/{quote(name, safe='')}/apimappings")
                if answer is None or answer[0] != 200 or not isinstance(doc, dict):
                    return self._bad_gateway(f"GetApiMappings of {name} failed: {answer and answer[0]}")
                if any(isinstance(m, dict) and m.get("apiId") == api for m in doc.get("items") or []):
                    return self._bad_request(API_MAPPED.format(api))
            return self._upstream(body, dechunked)

    def _update_api_mapping(self, c, body, dechunked):
        """apigatewayv2 UpdateApiMapping (moto 5.2.5: 500 NotImplementedError), as the API Gateway v2
        API reference has it (https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/domainnames-domainname-apimappings-apimappingid.html,
        PATCH, 200 with the ApiMapping; ApiId required, ApiMappingKey and Stage optional): the same
        mapping id with the new API, key and stage; a key another mapping of the domain has is
        refused (409 ConflictException, as CreateApiMapping). moto cannot change a mapping: the
        proxy creates the new one and deletes the old one, and keeps answering with the old id (see
        MappingIds)."""
        doc = json.loads(body or b"{}")
        domain, visible = c.labels["domainName"], c.labels["apiMappingId"]
        ids, base = self.state.mapping_ids, self._domain_path(c)
        with self.state.compound.exclusive():
            answer = self._moto("GET", base)  # moto's 404 for an unknown domain
            if answer is None:
                return self._bad_gateway("GetDomainName failed")
            if answer[0] != 200:
                return answer
            answer, mappings = self._mappings_of(c)
            if mappings is None:
                return answer if answer is not None else self._bad_gateway("GetApiMappings failed")
            moto_id = ids.moto(domain, visible)
            current = next((m for m in mappings if m.get("apiMappingId") == moto_id), None)
            if current is None:
                return self._rest_error(404, "NotFoundException", MAPPING_NOT_FOUND)
            new = {
                "apiId": doc["apiId"],
                "apiMappingKey": doc.get("apiMappingKey", current.get("apiMappingKey", "")),
                "stage": doc.get("stage", current.get("stage")),
            }
            if any(m is not current and m.get("apiMappingKey", "") == new["apiMappingKey"] for m in mappings):
                return self._rest_error(409, "ConflictException", MAPPING_KEY_TAKEN)
            answer, made = self._moto_json("POST", f"{base}/apimappings", new)
            if answer is None:
                return self._bad_gateway("CreateApiMapping failed")
            if answer[0] // 100 != 2 or not isinstance(made, dict):
                return answer  # moto's 404 (no such API) or 400 (a key it refuses): nothing changed
            if made.get("apiMappingId") != moto_id:
                if self._moto("DELETE", f"{base}/apimappings/{quote(moto_id, safe='')}") is None:
                    return self._bad_gateway("DeleteApiMapping failed")
                ids.alias(domain, visible, made.get("apiMappingId"))
        return self._json_answer({"apiId": new["apiId"], "apiMappingId": visible, "apiMappingKey": new["apiMappingKey"], "stage": new["stage"]})

    def _delete_event_bus(self, c, body, dechunked):
        """events DeleteEventBus: AWS refuses a bus that still has rules ("All rules associated with
        this event bus need to be deleted", https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DeleteEventBus.html),
        with 400 ValidationException "EventBus can't be deleted since it has rules." (as AWS
        answered in anomalyco/sst#4325 and hashicorp/terraform-provider-aws#22131); an archive's
        managed rule `Events-Archive-<name>` is such a rule. moto deletes the bus anyway."""
        name = json.loads(body or b"{}").get("Name")
        answer, rules = self._moto_json("POST", self.path, {"EventBusName": name}, "AWSEvents.ListRules") if name else (None, None)
        if answer is not None and answer[0] == 200 and isinstance(rules, dict) and rules.get("Rules"):
            return self._json_error(c, "ValidationException", "EventBus can't be deleted since it has rules.")
        return self._upstream(body, dechunked)

    def _describe_replay(self, c, body, dechunked):
        """events DescribeReplay (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DescribeReplay.html):
        State STARTING, then RUNNING with EventLastReplayedTime ("the time within the specified
        time range associated with the last event replayed") advancing from EventStartTime to
        EventEndTime, then COMPLETED with ReplayEndTime (see Replays; moto has the events delivered
        before StartReplay answers)."""
        answer = self._upstream(body, dechunked)
        if answer is None or answer[0] != 200:
            return answer
        try:
            doc = json.loads(answer[2])
        except ValueError:
            return answer
        self.state.replays.show(doc, time.time())
        return answer[0], answer[1], json.dumps(doc).encode(), answer[3]

    def _list_replays(self, c, body, dechunked):
        """events ListReplays (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ListReplays.html):
        each replay's State, EventLastReplayedTime and ReplayEndTime as DescribeReplay shows them; a
        State filter applies to that state (moto's never matches: it compares its enum to the
        string), so the proxy asks moto without it and filters."""
        doc = json.loads(body or b"{}")
        answer = self._upstream(body, dechunked)
        if answer is None or answer[0] != 200:
            return answer
        wanted = doc.get("State")
        if wanted is not None:
            answer, listed = self._moto_json("POST", self.path, {k: v for k, v in doc.items() if k != "State"}, "AWSEvents.ListReplays")
            if answer is None:
                return self._bad_gateway("ListReplays failed")
        else:
            try:
                listed = json.loads(answer[2])
            except ValueError:
                return answer
        if answer[0] != 200 or not isinstance(listed, dict):
            return answer
        now = time.time()
        replays = [self.state.replays.show(x, now) for x in listed.get("Replays") or [] if isinstance(x, dict)]
        listed["Replays"] = [x for x in replays if wanted is None or x.get("State") == wanted]
        return answer[0], answer[1], json.dumps(listed).encode(), answer[3]

    def _cancel_replay(self, c, body, dechunked):
        """events CancelReplay (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CancelReplay.html):
        a STARTING or RUNNING replay answers State CANCELLING and becomes CANCELLED; any other is
        refused with 400 IllegalStatusException ("a replay can be canceled only when the state is
        Running or Starting"; the message is moto's). moto cancels even a COMPLETED one."""
        name = json.loads(body or b"{}").get("ReplayName")
        seen = self.state.replays.state(name, time.time())
        if seen is not None and seen[0] not in ("STARTING", "RUNNING"):
            return self._json_error(c, "IllegalStatusException", f"Replay {name} is not in a valid state for this operation.")
        answer = self._upstream(body, dechunked)
        if answer is not None and answer[0] == 200 and seen is not None:
            self.state.replays.cancel(name)
        return answer

    @staticmethod
    def _bad_request(message):
        """apigatewayv2's 400 BadRequestException, as (status, headers, body, reason)."""
        return Handler._rest_error(400, "BadRequestException", message)

    @staticmethod
    def _rest_error(status, code, message):
        """An apigatewayv2 (rest-json) error, as (status, headers, body, reason)."""
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code), ("x-amzn-RequestId", str(uuid.uuid4()))]
        return status, headers, json.dumps({"message": message}).encode(), None

    @staticmethod
    def _json_error(c, code, message, status=400):
        """A json-protocol (events, logs) error, as (status, headers, body, reason)."""
        headers = [("Content-Type", f"application/x-amz-json-{c.model.json_version}"), ("x-amzn-RequestId", str(uuid.uuid4()))]
        return status, headers, json.dumps({"__type": code, "message": message}).encode(), None

    @staticmethod
    def _json_answer(doc, status=200):
        """A 2xx JSON answer of the proxy's own, as (status, headers, body, reason)."""
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", str(uuid.uuid4()))]
        return status, headers, (b"" if doc is None else json.dumps(doc).encode()), None

    def _bad_gateway(self, why):
        """Answer 502 (moto failed) and close the connection; None."""
        self.close_connection = True
        self._send(502, [("Content-Type", "text/plain")], f"aws_model_proxy: upstream failed: {why}".encode())

    def _fault_answer(self, c, kind):
        """An injected error in the protocol's own shape: `throttle`, `internal` (500) or
        `unavailable` (503)."""
        request_id = str(uuid.uuid4())
        service = c.model.name
        if kind == "throttle":
            status = 429 if c.protocol == "rest-json" else 400
            code = {"query": "Throttling", "json": "ThrottlingException"}.get(c.protocol, "TooManyRequestsException")
            message = "Rate exceeded (injected by aws_model_proxy)"
        elif kind == "unavailable":
            status, message = 503, "Service unavailable (injected by aws_model_proxy)"
            code = UNAVAILABLE_ERROR.get(service, "ServiceUnavailable")
        else:
            status, code = 500, INTERNAL_ERROR.get(service, "InternalFailure")
            message = "Internal failure (injected by aws_model_proxy)"
        if c.protocol == "query":
            sender = "Sender" if status < 500 else "Receiver"
            body = (
                f'<ErrorResponse xmlns="https://{service}.amazonaws.com/doc/{c.model.api_version}/">'
                f"<Error><Type>{sender}</Type><Code>{code}</Code><Message>{xml_escape(message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>"
            ).encode()
            return self._send(status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body)
        if c.protocol == "json":
            body = json.dumps({"__type": code, "message": message}).encode()
            ctype = f"application/x-amz-json-{c.model.json_version}"
            return self._send(status, [("Content-Type", ctype), ("x-amzn-RequestId", request_id)], body)
        doc = {"message": message}
        if service == "lambda":
            doc = {"Type": "User" if status < 500 else "Service", "message": message}
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code), ("x-amzn-RequestId", request_id)]
        return self._send(status, headers, json.dumps(doc).encode())

    def _faults_api(self, what, body):
        faults = self.state.faults
        ok = [("Content-Type", "application/json")]
        if what in ("", "/") and self.command == "POST":
            try:
                doc = json.loads(body or b"{}")
                if not isinstance(doc, dict):
                    raise ValueError("the body must be a JSON object")
                faults.configure(doc)
            except (ValueError, TypeError) as e:
                return self._send(400, ok, json.dumps({"message": str(e)}).encode())
            return self._send(200, ok, json.dumps(faults.settings()).encode())
        if what in ("", "/") and self.command == "DELETE":
            faults.clear()
            return self._send(204, [], b"")
        if what in ("", "/") and self.command == "GET":
            return self._send(200, ok, json.dumps(faults.settings()).encode())
        if what == "/stats" and self.command == "GET":
            return self._send(200, ok, json.dumps(faults.stats()).encode())
        if what == "/stats" and self.command == "DELETE":
            faults.reset_stats()
            return self._send(204, [], b"")
        hold = self.state.hold
        if what == "/hold" and self.command == "POST":
            try:
                doc = json.loads(body or b"{}")
                if not isinstance(doc, dict) or set(doc) != {"after_write"}:
                    raise ValueError('the body must be {"after_write": k}')
                k = doc["after_write"]
                if isinstance(k, bool) or not isinstance(k, int) or k < 1:
                    raise ValueError(f"after_write must be an integer >= 1, got {k!r}")
            except ValueError as e:
                return self._send(400, ok, json.dumps({"message": str(e)}).encode())
            if not hold.arm(k):
                return self._send(409, ok, b'{"message":"a request is held: DELETE /__faults/hold first"}')
            return self._send(200, ok, json.dumps(hold.status()).encode())
        if what == "/hold" and self.command == "GET":
            return self._send(200, ok, json.dumps(hold.status()).encode())
        if what == "/hold" and self.command == "DELETE":
            hold.release()
            return self._send(204, [], b"")
        return self._send(404, ok, b'{"message":"unknown faults endpoint"}')

    def _model_check_api(self, what):
        st = self.state
        if what == "violations" and self.command == "GET":
            return self._send(200, [("Content-Type", "application/json")], json.dumps(st.violations()).encode())
        if what == "violations" and self.command == "DELETE":
            with st.lock:
                st.memory.clear()
                if st.violations_path:
                    open(st.violations_path, "w").close()
            return self._send(204, [], b"")
        if what == "stats" and self.command == "GET":
            with st.lock:
                doc = dict(st.stats, patterns_skipped=dict(PATTERNS.skipped))
            return self._send(200, [("Content-Type", "application/json")], json.dumps(doc).encode())
        return self._send(404, [("Content-Type", "application/json")], b'{"message":"unknown model-check endpoint"}')

    def _send(self, status, headers, body, reason=None, head=False):
        self.send_response_only(status, reason)
        have_length = False
        for k, v in headers:
            if k.lower() == "content-length":
                have_length = True
            self.send_header(k, v)
        if not have_length:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")
        if not head and body:
            self._headers_buffer.append(body)
        self.wfile.write(b"".join(self._headers_buffer))
        self._headers_buffer = []
        self.wfile.flush()

    def _forward(self, body, dechunked):
        answer = self._upstream(body, dechunked)
        if answer is not None:
            status, headers, data, reason = answer
            self._send(status, headers, data, reason, head=self.command == "HEAD")

    def _upstream(self, body, dechunked, path=None):
        """Moto's answer (status, headers, body, reason), or None after answering 502 itself.
        `path`: instead of this request's (the same request with other ids)."""
        st = self.state
        conn = http.client.HTTPConnection(st.upstream_host, st.upstream_port, timeout=300)
        try:
            conn.putrequest(self.command, path or self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                lk = k.lower()
                if lk == "expect" or (dechunked and lk in ("transfer-encoding", "content-length")):
                    continue
                conn.putheader(k, v)
            if dechunked or (body and self.headers.get("Content-Length") is None):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            data = resp.read()
            head = self.command == "HEAD"
            headers = []
            for k, v in resp.getheaders():
                lk = k.lower()
                if lk in HOP_BY_HOP and not (head and lk == "content-length"):
                    continue
                headers.append((k, v))
            return resp.status, headers, data, resp.reason
        except (ConnectionError, OSError, http.client.HTTPException) as e:
            return self._bad_gateway(e)
        finally:
            conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle


# The calls the proxy answers itself (with moto's help) instead of forwarding them: "service.Op" ->
# Handler method (c, body, dechunked) -> answer.
EMULATIONS = {
    "apigatewayv2.GetAuthorizers": lambda h, c, body, dechunked: h._get_authorizers(c),
    "apigatewayv2.UpdateStage": Handler._update_stage,
    "apigatewayv2.DeleteAccessLogSettings": Handler._delete_access_log_settings,
    "apigatewayv2.UpdateDomainName": Handler._update_domain_name,
    "apigatewayv2.DeleteDomainName": Handler._delete_domain_name,
    "apigatewayv2.UpdateApiMapping": Handler._update_api_mapping,
    "apigatewayv2.DeleteApi": Handler._delete_api,
    "events.DeleteEventBus": Handler._delete_event_bus,
    "events.DescribeReplay": Handler._describe_replay,
    "events.ListReplays": Handler._list_replays,
    "events.CancelReplay": Handler._cancel_replay,
}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._reset = weakref.WeakSet()
        self._reset_lock = threading.Lock()

    def reset_on_close(self, request):
        """Close this connection with a bare RST (no FIN first): a connection reset, as a dropped
        answer looks to the client."""
        with self._reset_lock:
            self._reset.add(request)

    def shutdown_request(self, request):
        with self._reset_lock:
            reset = request in self._reset
            self._reset.discard(request)
        if reset:
            self.close_request(request)
        else:
            super().shutdown_request(request)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True, help="host:port of moto_server")
    ap.add_argument("--violations", help="append one JSON line per violation to this file")
    ap.add_argument("--trace", help="append one JSON line per request (service, operation, verdict) to this file")
    args = ap.parse_args()
    started = time.monotonic()
    models = load_models(botocore_data_dir())
    Handler.state = State(args, models)
    server = Server((args.host, args.port), Handler)
    UNICODE.start()  # after binding: start-up is not slowed down by it
    print(f"aws_model_proxy: {args.host}:{args.port} -> {args.upstream}, {len(models)} models, ready in {time.monotonic() - started:.3f}s", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
