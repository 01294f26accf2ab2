"""events (EventBridge): what moto 5.2.5 does unlike AWS, answered as AWS does, after the model
check and the fault draw like any other call.

- `DeleteEventBus` of a bus with rules (an archive's managed rule `Events-Archive-<name>`
  included): 400 `ValidationException` "EventBus can't be deleted since it has rules." (moto
  deletes it).
- replays: moto replays synchronously (COMPLETED at once). `DescribeReplay` and `ListReplays` show
  each replay STARTING for 0.25 s, then RUNNING for 2 s with `EventLastReplayedTime` moving from
  `EventStartTime` to `EventEndTime`, then COMPLETED (the events themselves were delivered when
  StartReplay was answered); `CancelReplay` of a STARTING or RUNNING one answers CANCELLING, and it
  is CANCELLED 0.25 s later; of any other: 400 `IllegalStatusException`.
"""

import datetime
import json
import threading
import time

from . import answers

SERVICE = "events"


# A replay as the emulator shows it: STARTING this long, then RUNNING this long (EventLastReplayedTime
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
        for a replay the emulator did not see start."""
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


def delete_event_bus(h, c, body, dechunked):
    """events DeleteEventBus: AWS refuses a bus that still has rules ("All rules associated with
    this event bus need to be deleted", https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DeleteEventBus.html),
    with 400 ValidationException "EventBus can't be deleted since it has rules." (as AWS
    answered in anomalyco/sst#4325 and hashicorp/terraform-provider-aws#22131); an archive's
    managed rule `Events-Archive-<name>` is such a rule. moto deletes the bus anyway."""
    name = json.loads(body or b"{}").get("Name")
    answer, rules = h._moto_json("POST", h.path, {"EventBusName": name}, "AWSEvents.ListRules") if name else (None, None)
    if answer is not None and answer[0] == 200 and isinstance(rules, dict) and rules.get("Rules"):
        return answers.json_error(c, "ValidationException", "EventBus can't be deleted since it has rules.")
    return h._upstream(body, dechunked)


def describe_replay(h, c, body, dechunked):
    """events DescribeReplay (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DescribeReplay.html):
    State STARTING, then RUNNING with EventLastReplayedTime ("the time within the specified
    time range associated with the last event replayed") advancing from EventStartTime to
    EventEndTime, then COMPLETED with ReplayEndTime (see Replays; moto has the events delivered
    before StartReplay answers)."""
    answer = h._upstream(body, dechunked)
    if answer is None or answer[0] != 200:
        return answer
    try:
        doc = json.loads(answer[2])
    except ValueError:
        return answer
    h.state.replays.show(doc, time.time())
    return answer[0], answer[1], json.dumps(doc).encode(), answer[3]


def list_replays(h, c, body, dechunked):
    """events ListReplays (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ListReplays.html):
    each replay's State, EventLastReplayedTime and ReplayEndTime as DescribeReplay shows them; a
    State filter applies to that state (moto's never matches: it compares its enum to the
    string), so the emulator asks moto without it and filters."""
    doc = json.loads(body or b"{}")
    answer = h._upstream(body, dechunked)
    if answer is None or answer[0] != 200:
        return answer
    wanted = doc.get("State")
    if wanted is not None:
        answer, listed = h._moto_json("POST", h.path, {k: v for k, v in doc.items() if k != "State"}, "AWSEvents.ListReplays")
        if answer is None:
            return h._bad_gateway("ListReplays failed")
    else:
        try:
            listed = json.loads(answer[2])
        except ValueError:
            return answer
    if answer[0] != 200 or not isinstance(listed, dict):
        return answer
    now = time.time()
    replays = [h.state.replays.show(x, now) for x in listed.get("Replays") or [] if isinstance(x, dict)]
    listed["Replays"] = [x for x in replays if wanted is None or x.get("State") == wanted]
    return answer[0], answer[1], json.dumps(listed).encode(), answer[3]


def cancel_replay(h, c, body, dechunked):
    """events CancelReplay (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_CancelReplay.html):
    a STARTING or RUNNING replay answers State CANCELLING and becomes CANCELLED; any other is
    refused with 400 IllegalStatusException ("a replay can be canceled only when the state is
    Running or Starting"; the message is moto's). moto cancels even a COMPLETED one."""
    name = json.loads(body or b"{}").get("ReplayName")
    seen = h.state.replays.state(name, time.time())
    if seen is not None and seen[0] not in ("STARTING", "RUNNING"):
        return answers.json_error(c, "IllegalStatusException", f"Replay {name} is not in a valid state for this operation.")
    answer = h._upstream(body, dechunked)
    if answer is not None and answer[0] == 200 and seen is not None:
        h.state.replays.cancel(name)
    return answer


def after(h, c, body, answer):
    """The bookkeeping of what moto just did: when a replay started (see Replays)."""
    if answer[0] // 100 == 2 and c.op == "StartReplay":
        h.state.replays.start(json.loads(body)["ReplayName"])
    return answer


def init(state):
    state.replays = Replays()


def reset(state):
    """moto forgot everything (`/moto-api/reset`)."""
    state.replays.clear()


# The calls answered here (with moto's help) instead of forwarding them: Op -> (h, c, body, dechunked) -> answer.
EMULATIONS = {
    "DeleteEventBus": delete_event_bus,
    "DescribeReplay": describe_replay,
    "ListReplays": list_replays,
    "CancelReplay": cancel_replay,
}
GUARDS = {}
