"""AWS's service models: botocore's service-2.json (pinned in scripts/requirements.txt) for each
service the emulator checks, the rest-json routes (`requestUri` templates), and AWS's Java
`pattern`s translated to Python's re.

The service of a request comes from the SigV4 credential scope (`.../<region>/<service>/aws4_request`),
or for the Smithy RPC v2 CBOR protocol (eventbridgev2, whose signing name `events` it shares with
events) from its path `/service/<targetPrefix>/operation/<Op>`; the operation from `X-Amz-Target`
(json), the form field `Action` (query), that path (rpc-v2-cbor) or the HTTP method and the
model's `requestUri` templates (rest-json): see check.py. Bounds that a shape carries only in its
name (apigatewayv2's `StringWithLengthBetween1And512`) are read from the name; allowed values AWS
documents for a shape without `enum` are in DOCUMENTED_ENUMS.
"""

import glob
import gzip
import importlib.util
import json
import os
import re
import sys
import threading
import unicodedata
import warnings
from urllib.parse import parse_qsl, unquote

SERVICES = ("apigatewayv2", "events", "eventbridgev2", "iam", "lambda", "logs", "sts", "sqs", "sns")

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
            print(f"aws_emulator: pattern skipped: {pattern!r}: {e}", file=sys.stderr)
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
        sys.exit("aws_emulator: botocore is not installed in this interpreter (scripts/requirements.txt)")
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
            sys.exit(f"aws_emulator: no service-2.json for {service} under {data_dir}")
        path = versions[-1]
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as f:
            models[service] = Model(service, json.load(f))
    return models

