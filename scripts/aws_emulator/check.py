"""One request -> (service, protocol, operation, problems): the input is rebuilt from where each
member lives (uri / querystring / header / body, `locationName`; a CBOR body for the Smithy RPC v2
CBOR protocol, see check_cbor) and checked recursively against
the operation's input shape: required members, unknown members, types, string length, `pattern`
(full match, as AWS's Java validators do), `enum`, numeric range, list and map size, and bounds
that a shape carries only in its name (apigatewayv2's `StringWithLengthBetween1And512`).

A request that breaks the model is answered with the protocol's 400 error and not forwarded (see
server.py); the violation is appended to the violations file as one JSON line first.
"""

import base64
import binascii
import datetime
import json
import re
from urllib.parse import parse_qsl

import cbor2

from .models import DOCUMENTED_ENUMS, PATTERNS, bounds_from_name

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
        self.params = None  # rpc-v2-cbor: the decoded input ({member: value}), for the emulation
        self.problems = Problems()


CREDENTIAL = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")


CBOR_PATH = re.compile(r"/service/([^/]+)/operation/([^/]+)")
CBOR_PROTOCOL = "smithy-rpc-v2-cbor"


def check(models, by_signing, method, raw_path, query_string, headers, body):
    """None: not an AWS request we know (forward unchecked). Otherwise a Checked."""
    m = CBOR_PATH.fullmatch(raw_path)
    if m or headers.get("smithy-protocol"):  # rpc-v2-cbor: the path names the service
        cbor_models = [x for x in models.values() if CBOR_PROTOCOL in x.protocols]
        model = next((x for x in cbor_models if m and x.target_prefix == m.group(1)), None)
        if model is None and headers.get("smithy-protocol") and cbor_models:
            model = cbor_models[0]  # a CBOR request to no known service: refused as an unknown operation
        if model is not None:
            return check_cbor(model, method, raw_path, headers, body)
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


def from_cbor(value):
    """cbor2's decoding as check.validate takes it: tag 1 (epoch-seconds timestamps) as a number,
    byte strings as Blob."""
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, cbor2.CBORTag):
        return from_cbor(value.value) if value.tag == 1 else value
    if isinstance(value, (bytes, bytearray)):
        return Blob(value)
    if isinstance(value, dict):
        return {k: from_cbor(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_cbor(v) for v in value]
    if value is cbor2.undefined:
        return None
    return value


def check_cbor(model, method, raw_path, headers, body):
    """Smithy RPC v2 CBOR (https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html):
    `POST /service/<ServiceName>/operation/<Op>` (ServiceName: the model's targetPrefix, as
    aws-sdk-eventbridgev2 1.7 sends `/service/AWSEventsV2/operation/CreateEventBus`), header
    `smithy-protocol: rpc-v2-cbor`, body the input structure as a CBOR map keyed by member name
    (empty: an empty input), `Content-Type: application/cbor` when there is a body. The input is
    then checked like every other protocol's (from_json's unknown members, validate)."""
    c = Checked(model, "rpc-v2-cbor")
    m = CBOR_PATH.fullmatch(raw_path)
    if m is None or m.group(1) != model.target_prefix or m.group(2) not in model.operations:
        c.problems.add("", f"unknown operation: {method} {raw_path} (expected /service/{model.target_prefix}/operation/<Op>)")
        return c
    c.op = m.group(2)
    if method != "POST":
        c.problems.add("", f"rpc-v2-cbor requests are POST, not {method}")
    if headers.get("smithy-protocol") != "rpc-v2-cbor":
        c.problems.add("smithy-protocol", f"header must be rpc-v2-cbor, is {headers.get('smithy-protocol')!r}")
    ctype = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if body and ctype != "application/cbor":
        c.problems.add("Content-Type", f"must be application/cbor for a body, is {ctype!r}")
    try:
        wire = from_cbor(cbor2.loads(body)) if body else {}
    except (cbor2.CBORDecodeError, ValueError, EOFError) as e:
        c.problems.add("", f"body is not CBOR: {e}")
        return c
    if not isinstance(wire, dict):
        c.problems.add("", f"body must be a CBOR map, got {json_type(wire)}")
        return c
    ref = model.operations[c.op].get("input")
    if ref is None:
        if wire:
            c.problems.add("", "operation takes no input, body is not empty")
        return c
    c.params = from_json(model, ref, wire, "", c.problems)
    validate(model, ref, c.params, "", c.problems)
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


def json_object(body):
    """A request body that is a JSON object, or None."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None
