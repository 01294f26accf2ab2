"""The emulator's HTTP server: a validating proxy in front of moto_server. Every AWS request is
checked against AWS's own service model (check.py) before it reaches moto, which accepts nearly
anything; then faults may be injected (faults.py), AWS's refusals that moto lacks are given
(shims_*.py GUARDS, quotas.py), and what moto lacks is answered as AWS does (shims_*.py
EMULATIONS); anything else is forwarded unchanged and moto's answer relayed unchanged (with a
Content-Length). `/moto-api/...` passes through unchecked.

Endpoints of the emulator's own (never checked, faulted or held):

- `GET /__model_check/violations` lists the model violations (`DELETE` forgets them),
  `GET /__model_check/stats` counts requests;
- `/__faults`, `/__faults/stats`, `/__faults/hold`: see faults.py;
- `/__quotas`: see quotas.py;
- `/__webhooks/<id>` (eventbridgev2 webhook URLs) and `/__eventsv2/...`: see eventsv2_webhooks.py.

    python -m aws_emulator --port PUBLIC --upstream 127.0.0.1:MOTO --violations FILE.jsonl \
        [--trace FILE.jsonl] [--quotas JSON]   (PYTHONPATH=scripts)
"""

import argparse
import http.client
import json
import os
import re
import socket
import struct
import sys
import threading
import time
import traceback
import weakref
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

from . import answers, eventsv2_webhooks, quotas, shims_apigatewayv2, shims_events, shims_eventsv2, shims_lambda
from .check import CBOR_PROTOCOL, check
from .faults import READ_PREFIXES, Faults, Hold
from .models import PATTERNS, UNICODE, botocore_data_dir, load_models

CHECK_PREFIX = "/__model_check/"
FAULTS_PATH = "/__faults"
QUOTAS_PATH = "/__quotas"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "te", "upgrade"}
REGION_IN_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/]+)/")

# The dispatch point: per service (the model's name), the module with what the emulator answers in
# moto's place. Each has SERVICE, EMULATIONS {Op: fn(h, c, body, dechunked) -> answer} (answered
# instead of forwarding), GUARDS {Op: fn(h, c, body) -> answer | None} (AWS's refusals, before
# forwarding), init(state) / reset(state) (its bookkeeping; reset on /moto-api/reset), and
# optionally forward(h, c, body, dechunked) -> answer (instead of a plain forward) and
# after(h, c, body, answer) -> answer (moto's answer as AWS gives it). A service of its own (one
# moto lacks entirely) is a module whose EMULATIONS answer every operation.
SHIMS = {m.SERVICE: m for m in (shims_apigatewayv2, shims_events, shims_eventsv2, shims_lambda)}


class State:
    def __init__(self, args, models):
        self.upstream_host, _, port = args.upstream.rpartition(":")
        self.upstream_port = int(port)
        self.public = f"{args.host}:{args.port}"  # the emulator's own address (eventbridgev2 webhook URLs)
        self.violations_path = args.violations
        self.trace_path = args.trace
        self.models = models
        # rpc-v2-cbor models are found by their path (eventbridgev2 signs as `events` too).
        self.by_signing = {m.signing_name: m for m in models.values() if CBOR_PROTOCOL not in m.protocols}
        self.lock = threading.Lock()
        self.stats = {"checked": 0, "rejected": 0, "unchecked": 0, "moto_api": 0, "internal_errors": 0}
        self.memory = []
        self.faults = Faults()
        self.hold = Hold()
        self.quotas = quotas.Quotas(args.quotas)
        for shim in SHIMS.values():
            shim.init(self)

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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "aws-emulator"
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
        if raw_path in (QUOTAS_PATH, QUOTAS_PATH + "/"):
            return self._quotas_api(body)
        if raw_path.startswith(eventsv2_webhooks.PREFIXES):  # eventbridgev2's webhook URLs and test endpoints
            return self._send(*eventsv2_webhooks.handle(self, raw_path, query, body))
        if raw_path.startswith("/moto-api"):
            st.count("moto_api")
            st.trace(self.command, self.path, None, None, "moto-api")
            self._forward(body, dechunked)
            if raw_path == "/moto-api/reset":
                for shim in SHIMS.values():
                    shim.reset(st)
            return None
        if self._held():
            return None
        try:
            c = check(st.models, st.by_signing, self.command, raw_path, query, self.headers, body)
        except Exception:  # a bug in the emulator must not pass silently: it fails the test too
            st.count("internal_errors")
            tb = traceback.format_exc()
            print(tb, file=sys.stderr)
            st.record([{"time": time.time(), "service": None, "operation": None, "path": "", "constraint": "proxy error",
                        "message": f"aws_emulator crashed on {self.command} {self.path}: {tb.strip().splitlines()[-1]}",
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
        """The protocol's 400 for a request that breaks the model (404 for an unknown rest-json one)."""
        unknown = c.op is None
        if c.protocol == "rpc-v2-cbor":  # eventbridgev2 declares InvalidInputException (400), no ValidationException
            answer = answers.cbor_error(c, "UnknownOperationException" if unknown else "InvalidInputException", message, 404 if unknown else 400)
        elif c.protocol == "query":
            answer = answers.query_error(c, "InvalidAction" if unknown else "ValidationError", message)
        elif c.protocol == "json":
            code = "UnknownOperationException" if unknown else answers.JSON_VALIDATION_ERROR.get(c.model.name, "ValidationException")
            answer = answers.json_error(c, code, message)
        else:
            code = "UnknownOperationException" if unknown else c.model.error_code(c.op)
            answer = answers.rest_error(404 if unknown else 400, code, message, c.model.name)
        self._send(*answer)

    def _faulted(self, c, body, dechunked):
        """Forward a request that passed the model check, or inject the fault the dice choose."""
        faults = self.state.faults
        call = f"{c.model.name}.{c.op}"
        shim = SHIMS.get(c.model.name)
        mode, latency_ms = faults.draw(c.model.name, c.op)
        if latency_ms:
            time.sleep(latency_ms / 1000)
        if self._held():
            return None
        if mode in (None, "drop_after_commit", "error_after_commit"):
            guard = shim.GUARDS.get(c.op) if shim else None
            refusal = guard(self, c, body) if guard else None
            if refusal is not None:
                return self._send(*refusal)
        if mode == "throttle":
            return self._fault_answer(c, "throttle")
        if mode == "server_error":
            return self._fault_answer(c, faults.pick(("internal", "unavailable")))
        # A create a quota counts is counted and made under its scope's lock (quotas.py): no
        # concurrent create of the same scope passes the count in between.
        with self.state.quotas.admit(self, c, body) as refusal:
            if refusal is not None:
                return self._send(*refusal)  # never reaches moto: not a committed write
            if self._held():  # the hold may have come while this request waited for the lock
                return None
            emulation = shim.EMULATIONS.get(c.op) if shim else None
            if emulation is not None:
                answer = emulation(self, c, body, dechunked)
            elif shim is not None and hasattr(shim, "forward"):
                answer = shim.forward(self, c, body, dechunked)
            else:
                answer = self._upstream(body, dechunked)
            if answer is None:
                return None  # moto failed: already answered 502
            if shim is not None and hasattr(shim, "after"):
                answer = shim.after(self, c, body, answer)
        status = answer[0]
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

    def _moto(self, method, path, doc=None, target=None, form=None):
        """A request of the emulator's own to moto, with this request's headers (moto reads the
        region and the account from them), `doc` as the JSON body and `target` as the X-Amz-Target,
        or `form` (pairs) as a query-protocol body: (status, headers, body, reason), or None if moto
        failed."""
        st = self.state
        body = b"" if doc is None else json.dumps(doc).encode()
        ctype = self.headers.get("Content-Type") if target else "application/json"
        if form is not None:
            doc, body, ctype = form, urlencode(form).encode(), "application/x-www-form-urlencoded"
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

    def _bad_gateway(self, why):
        """Answer 502 (moto failed) and close the connection; None."""
        self.close_connection = True
        self._send(502, [("Content-Type", "text/plain")], f"aws_emulator: upstream failed: {why}".encode())

    def _fault_answer(self, c, kind):
        """An injected error in the protocol's own shape: `throttle`, `internal` (500) or
        `unavailable` (503)."""
        service = c.model.name
        if kind == "throttle":
            status = 429 if c.protocol in ("rest-json", "rpc-v2-cbor") else 400
            code = {"query": "Throttling", "json": "ThrottlingException", "rpc-v2-cbor": "ThrottlingException"}.get(c.protocol, "TooManyRequestsException")
            message = "Rate exceeded (injected by aws_emulator)"
        elif kind == "unavailable":
            status, message = 503, "Service unavailable (injected by aws_emulator)"
            code = answers.UNAVAILABLE_ERROR.get(service, "ServiceUnavailable")
        else:
            status, code = 500, answers.INTERNAL_ERROR.get(service, "InternalFailure")
            message = "Internal failure (injected by aws_emulator)"
        return self._send(*answers.error(c, code, message, status))

    def _quotas_api(self, body):
        """`GET /__quotas`, `POST /__quotas` {key: value} (raise or lower some), `DELETE /__quotas`
        (back to the start-up values): see quotas.py."""
        q = self.state.quotas
        ok = [("Content-Type", "application/json")]
        if self.command == "POST":
            try:
                doc = json.loads(body or b"{}")
                q.configure(doc)
            except (ValueError, TypeError) as e:
                return self._send(400, ok, json.dumps({"message": str(e)}).encode())
            return self._send(200, ok, json.dumps(q.settings()).encode())
        if self.command == "DELETE":
            q.reset()
            return self._send(204, [], b"")
        if self.command == "GET":
            return self._send(200, ok, json.dumps(q.settings()).encode())
        return self._send(404, ok, b'{"message":"unknown quotas endpoint"}')

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
    ap.add_argument("--quotas", default=os.environ.get("AWS_EMULATOR_QUOTAS"),
                    help='quotas other than AWS\'s defaults, as JSON: {"apigatewayv2.routes_per_api": 600} (see quotas.py; '
                         "default: the environment variable AWS_EMULATOR_QUOTAS)")
    args = ap.parse_args()
    started = time.monotonic()
    models = load_models(botocore_data_dir())
    try:
        Handler.state = State(args, models)
    except ValueError as e:
        sys.exit(f"aws_emulator: --quotas / AWS_EMULATOR_QUOTAS: {e}")
    server = Server((args.host, args.port), Handler)
    UNICODE.start()  # after binding: start-up is not slowed down by it
    print(f"aws_emulator: {args.host}:{args.port} -> {args.upstream}, {len(models)} models, ready in {time.monotonic() - started:.3f}s", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
