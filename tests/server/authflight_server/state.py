"""In-process test state: counters, injected refresh faults, items, access-token stamps.

The server is one process with many threads, so everything here lives under one lock.
"""

import hashlib
import threading
import time
from collections import deque

COUNTERS = (
    "refresh_calls",
    "refresh_succeeded",
    "refresh_failed",
    "refresh_reused",
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
_presented = set()  # sha256 of refresh tokens already presented to the real refresh logic
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
        return out


def reset():
    global _refresh_in_flight_max, _refresh_delay_ms, _next_item_id, _hang_release
    with _lock:
        for key in _counters:
            _counters[key] = 0
        _refresh_in_flight_max = _refresh_in_flight
        _faults.clear()
        _refresh_delay_ms = 0
        _presented.clear()
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
    """Count a refresh call; return (fault kind or None, hang_ms, delay_ms, hang_release_event)."""
    global _refresh_in_flight, _refresh_in_flight_max
    with _lock:
        _counters["refresh_calls"] += 1
        _refresh_in_flight += 1
        _refresh_in_flight_max = max(_refresh_in_flight_max, _refresh_in_flight)
        kind, hang_ms = _faults.popleft() if _faults else (None, 0)
        return kind, hang_ms, _refresh_delay_ms, _hang_release


def end_refresh(succeeded):
    global _refresh_in_flight
    with _lock:
        _refresh_in_flight -= 1
        _counters["refresh_succeeded" if succeeded else "refresh_failed"] += 1


def note_presented(raw_token):
    """Remember a refresh token that reached the real refresh logic; count it if seen before."""
    if not raw_token:
        return False
    digest = hashlib.sha256(raw_token.encode("utf-8", "surrogatepass")).hexdigest()
    with _lock:
        if digest in _presented:
            _counters["refresh_reused"] += 1
            return True
        _presented.add(digest)
        return False


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
