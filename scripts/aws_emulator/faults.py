"""Fault injection and kill points, for tests of a client under a flaky AWS (off until configured).

A request that passed the model check may be faulted instead of (or after) being forwarded:

- `drop_after_commit`: forwarded (moto commits the write), then the connection is reset without an
  answer, so the client retries a write AWS already made;
- `error_after_commit`: forwarded, then answered 500 with the protocol's internal-error shape;
- `throttle`: not forwarded; 400 `ThrottlingException` (json) / `Throttling` (query), or 429
  `TooManyRequestsException` (rest-json);
- `server_error`: not forwarded; 500 or 503 with the internal-error / unavailable shape;
- `latency_ms`: every request is delayed that long.

`POST /__faults` with `{"rates": {"throttle": 0.1, ...}, "latency_ms": 0, "writes_only": false,
"seed": 1}` sets them (a seeded RNG: one draw per request; the draws happen in arrival order, so a
concurrent client sees the same fault sequence, not necessarily on the same requests),
`DELETE /__faults` turns them off, `GET /__faults` shows them. `GET /__faults/stats` counts the
checked calls by `service.Operation`, the faults by mode (and by call) and the committed writes
(`"committed_writes": n, "committed_writes_by_call": {"service.Op": n}`); `DELETE /__faults/stats`
zeroes those counts. `writes_only` spares Get*/List*/Describe*. A *write* is a call that passed the
model check, of a service other than sts, whose operation is not a Get*/List*/Describe*; it is
*committed* once moto has answered it 2xx, or the emulator has answered 2xx a write it emulates
through moto (UpdateStage... in the shims_* modules), but not when the emulator refuses it itself
(a model-check refusal, an AWS-exact refusal of a shim, a quota refusal, a fault that is not
forwarded).

Kill points, for tests that SIGKILL a client right after its k-th write is committed and before it
reads the answer: `POST /__faults/hold` with `{"after_write": k}` (k >= 1) arms a hold and counts
committed writes from 0. Moto's answer to the k-th is not sent: that request is held, and from then
on every AWS request is blocked on arrival (and before being forwarded, for one already past that
point), so nothing more reaches moto; an answer moto gives to a request it had already received is
withheld too. `GET /__faults/hold` shows `{"armed": bool, "after_write": k|null, "writes": n
(committed since arming), "held": bool, "held_call": "service.Op"|null, "blocked": n (the held
request included)}`. `DELETE /__faults/hold` releases: every blocked connection is reset (RST, no
answer; a blocked request is never forwarded) and the hold disarmed, then 204 (also when nothing
was armed). Arming while a request is held is refused (409). The emulator's own endpoints and
`/moto-api/...` are never blocked. A hold left for 10 minutes releases itself.
"""

import random
import sys
import threading

FAULT_MODES = ("drop_after_commit", "error_after_commit", "throttle", "server_error")
READ_PREFIXES = ("Get", "List", "Describe")  # the operations that are not writes
HOLD_TIMEOUT_S = 600  # a hold nobody releases releases itself after this long


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
                print(f"aws_emulator: hold on {self.held_call} not released in {HOLD_TIMEOUT_S} s: releasing it", file=sys.stderr)
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

