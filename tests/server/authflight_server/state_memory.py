"""In-process test state: counters, injected refresh faults, items, access-token stamps.

For the dev server: one process with many threads, so everything here lives under one lock.
state_db.py keeps the same state in the database for several processes (see state.py).
"""

import hashlib
import threading
import time
from collections import deque

__all__ = [
    "COUNTERS", "FAULT_KINDS", "DEFAULT_HANG_MS", "REFRESH_LOG_MAX", "bump", "stats", "reset",
    "add_fault", "set_refresh_delay", "begin_refresh", "take_fault", "end_refresh",
    "note_presented", "end_presentation", "add_item", "list_items", "next_stamp", "expire_access",
    "access_cutoff",
]

COUNTERS = (
    "refresh_calls",
    "refresh_succeeded",
    "refresh_failed",
    "refresh_reused",
    "refresh_auth_rejected",
    "items_created",
    "protected_ok",
    "protected_401",
)
FAULT_KINDS = ("500", "drop", "hang", "drop_after_rotate")
DEFAULT_HANG_MS = 30000

_lock = threading.Lock()
_counters = dict.fromkeys(COUNTERS, 0)
_refresh_in_flight = 0
_refresh_in_flight_max = 0
_faults = deque()  # of (kind, hang_ms)
_refresh_delay_ms = 0
# sha256 of each refresh token presented to the real refresh logic -> its presentations, each a
# one-item list holding "pending", "ok" (accepted: rotated, whether or not the answer arrived) or
# "rejected". reset() replaces the dict, so a presentation that ends after a reset updates a list
# nobody reads any more.
_presented = {}
# The last REFRESH_LOG_MAX refresh calls: {start, end (epoch ms), status, fault}, oldest first.
REFRESH_LOG_MAX = 100
_refresh_log = deque(maxlen=REFRESH_LOG_MAX)
_items = []
_next_item_id = 1
_hang_release = threading.Event()

# Access-token issue stamps: strictly increasing nanosecond values (see tokens.py / auth.py).
# Never reset (not even by /api/test/reset/), so a revoked token can never become valid again.
_last_stamp = 0
_access_cutoff = 0


def bump(name, n=1):
    with _lock:
        _counters[name] += n


def stats():
    with _lock:
        out = dict(_counters)
        out["refresh_in_flight"] = _refresh_in_flight
        out["refresh_in_flight_max"] = _refresh_in_flight_max
        out["faults_pending"] = [k for k, _ in _faults]
        out["refresh_delay_ms"] = _refresh_delay_ms
        out["refresh_log"] = [dict(c) for c in _refresh_log]
        return out


def reset():
    global _refresh_in_flight_max, _refresh_delay_ms, _next_item_id, _hang_release, _presented
    with _lock:
        for key in _counters:
            _counters[key] = 0
        _refresh_in_flight_max = _refresh_in_flight
        _faults.clear()
        _refresh_log.clear()
        _refresh_delay_ms = 0
        _presented = {}
        _items.clear()
        _next_item_id = 1
        # Release refreshes currently held by a "hang" fault.
        _hang_release.set()
        _hang_release = threading.Event()


# ---------------------------------------------------------------- refresh faults
def add_fault(kind, count, hang_ms=DEFAULT_HANG_MS):
    with _lock:
        for _ in range(count):
            _faults.append((kind, hang_ms))


def set_refresh_delay(ms):
    global _refresh_delay_ms
    with _lock:
        _refresh_delay_ms = ms


def begin_refresh():
    """Count a refresh call; return its entry in the refresh log (for take_fault / end_refresh)."""
    global _refresh_in_flight, _refresh_in_flight_max
    with _lock:
        _counters["refresh_calls"] += 1
        _refresh_in_flight += 1
        _refresh_in_flight_max = max(_refresh_in_flight_max, _refresh_in_flight)
        call = {"start": _ms(), "end": None, "status": None, "fault": None}
        _refresh_log.append(call)
        return call


def take_fault(call):
    """The next queued fault for this call: (kind or None, hang_ms, delay_ms, hang_release_event)."""
    with _lock:
        kind, hang_ms = _faults.popleft() if _faults else (None, 0)
        call["fault"] = kind
        return kind, hang_ms, _refresh_delay_ms, _hang_release


def end_refresh(call, succeeded, status):
    global _refresh_in_flight
    with _lock:
        _refresh_in_flight -= 1
        _counters["refresh_succeeded" if succeeded else "refresh_failed"] += 1
        call["end"] = _ms()
        call["status"] = status


def _ms():
    return round(time.time() * 1000, 1)


def note_presented(raw_token):
    """Record a refresh token that reached the real refresh logic; count it as reused if an
    earlier presentation of it was accepted or is still in flight.

    A token whose earlier presentations were all rejected is not reuse: a rejected refresh rotated
    nothing, so retrying it is safe (a client that confirms a rejection does exactly that).
    Returns the presentation's handle for end_presentation(), or None without a token.
    """
    if not raw_token:
        return None
    digest = hashlib.sha256(raw_token.encode("utf-8", "surrogatepass")).hexdigest()
    presentation = ["pending"]
    with _lock:
        earlier = _presented.setdefault(digest, [])
        if any(p[0] != "rejected" for p in earlier):
            _counters["refresh_reused"] += 1
        earlier.append(presentation)
    return presentation


def end_presentation(presentation, accepted):
    """The refresh logic answered `presentation` (from note_presented): accepted (rotated) or not."""
    if presentation is None:
        return
    with _lock:
        presentation[0] = "ok" if accepted else "rejected"


# ---------------------------------------------------------------- items
def add_item(name):
    global _next_item_id
    with _lock:
        item = {"id": _next_item_id, "name": name}
        _next_item_id += 1
        _items.append(item)
        _counters["items_created"] += 1
        return dict(item)


def list_items():
    with _lock:
        return [dict(i) for i in _items]


# ---------------------------------------------------------------- access-token stamps
def next_stamp():
    global _last_stamp
    with _lock:
        _last_stamp = max(_last_stamp + 1, time.time_ns())
        return _last_stamp


def expire_access():
    """Every access token stamped up to now is revoked; later ones are not."""
    global _access_cutoff, _last_stamp
    with _lock:
        _last_stamp = max(_last_stamp + 1, time.time_ns())
        _access_cutoff = _last_stamp
        return _access_cutoff


def access_cutoff():
    with _lock:
        return _access_cutoff
