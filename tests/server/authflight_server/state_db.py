"""Test state in PostgreSQL, shared by every gunicorn worker (AUTHFLIGHT_STATE=db).

Same functions and meaning as state_memory.py. Where the in-memory version holds its lock, this
one runs a transaction holding a PostgreSQL advisory lock (`_locked()`), so several steps are one
atomic step across processes: two workers handling refreshes of one token at the same instant are
serialised in note_presented() and the second counts as reuse, exactly as in memory. Hot single
steps need no lock: a counter bump (every API request) is one UPDATE ... SET value = value + 1 in
autocommit; an access-token stamp is one UPDATE ... RETURNING.

A refresh held by a "hang" fault polls the reset epoch (every 50 ms), so /api/test/reset/ on any
worker releases it.
"""

import hashlib
import time
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest

from .models import Fault, Item, Presentation, RefreshCall, StateValue
from .state_memory import COUNTERS, DEFAULT_HANG_MS, FAULT_KINDS, REFRESH_LOG_MAX, __all__  # noqa: F401

# Non-counter values kept in StateValue, with their initial values.
SCALARS = {
    "refresh_in_flight": 0,
    "refresh_in_flight_max": 0,
    "refresh_delay_ms": 0,
    "epoch": 0,  # +1 on every reset: releases hung refreshes
    "next_item_id": 1,
    "last_stamp": 0,
    "access_cutoff": 0,
}
_LOCK_KEY = 0x61666C74  # "aflt": the advisory lock of multi-step operations
_HANG_POLL_S = 0.05
_rows_ready = False


def _ensure_rows():
    """Create the StateValue rows once per process (idempotent across processes)."""
    global _rows_ready
    if not _rows_ready:
        initial = {**dict.fromkeys(COUNTERS, 0), **SCALARS}
        StateValue.objects.bulk_create(
            [StateValue(name=k, value=v) for k, v in initial.items()], ignore_conflicts=True
        )
        _rows_ready = True


@contextmanager
def _locked():
    """A transaction holding the advisory lock: one multi-step operation at a time."""
    _ensure_rows()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        yield


def _add(name, n=1):
    StateValue.objects.filter(name=name).update(value=F("value") + n)


def _set(name, value):
    StateValue.objects.filter(name=name).update(value=value)


def _get(name):
    return StateValue.objects.get(name=name).value


def _ms():
    return round(time.time() * 1000, 1)


def bump(name, n=1):
    _ensure_rows()
    _add(name, n)


def stats():
    with _locked():
        values = dict(StateValue.objects.values_list("name", "value"))
        out = {k: values[k] for k in COUNTERS}
        out["refresh_in_flight"] = values["refresh_in_flight"]
        out["refresh_in_flight_max"] = values["refresh_in_flight_max"]
        out["faults_pending"] = list(Fault.objects.order_by("id").values_list("kind", flat=True))
        out["refresh_delay_ms"] = values["refresh_delay_ms"]
        log = RefreshCall.objects.order_by("-id").values("start", "end", "status", "fault")
        out["refresh_log"] = list(log[:REFRESH_LOG_MAX])[::-1]
        return out


def reset():
    with _locked():
        StateValue.objects.filter(name__in=COUNTERS).update(value=0)
        _set("refresh_in_flight_max", _get("refresh_in_flight"))
        _set("refresh_delay_ms", 0)
        _set("next_item_id", 1)
        _add("epoch")  # releases refreshes currently held by a "hang" fault
        Fault.objects.all().delete()
        RefreshCall.objects.all().delete()
        Presentation.objects.all().delete()
        Item.objects.all().delete()


# ---------------------------------------------------------------- refresh faults
def add_fault(kind, count, hang_ms=DEFAULT_HANG_MS):
    with _locked():
        Fault.objects.bulk_create([Fault(kind=kind, hang_ms=hang_ms) for _ in range(count)])


def set_refresh_delay(ms):
    _ensure_rows()
    _set("refresh_delay_ms", ms)


def begin_refresh():
    """Count a refresh call; return its refresh log id (for take_fault / end_refresh)."""
    with _locked():
        _add("refresh_calls")
        _add("refresh_in_flight")
        in_flight = _get("refresh_in_flight")
        StateValue.objects.filter(name="refresh_in_flight_max").update(
            value=Greatest(F("value"), in_flight)
        )
        call = RefreshCall.objects.create(start=_ms())
        RefreshCall.objects.filter(id__lte=call.id - REFRESH_LOG_MAX).delete()
        return call.id


class _HangRelease:
    """Like the in-memory threading.Event: wait() returns early once a reset happened."""

    def __init__(self, epoch):
        self.epoch = epoch

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _get("epoch") != self.epoch:
                return True
            time.sleep(min(_HANG_POLL_S, max(0.0, deadline - time.monotonic())))
        return False


def take_fault(call):
    """The next queued fault for this call: (kind or None, hang_ms, delay_ms, hang_release)."""
    with _locked():
        fault = Fault.objects.order_by("id").first()
        kind, hang_ms = (fault.kind, fault.hang_ms) if fault else (None, 0)
        if fault:
            fault.delete()
            RefreshCall.objects.filter(id=call).update(fault=kind)
        return kind, hang_ms, _get("refresh_delay_ms"), _HangRelease(_get("epoch"))


def end_refresh(call, succeeded, status):
    with _locked():
        _add("refresh_in_flight", -1)
        _add("refresh_succeeded" if succeeded else "refresh_failed")
        RefreshCall.objects.filter(id=call).update(end=_ms(), status=status)


def note_presented(raw_token):
    """Record a refresh token that reached the real refresh logic; count it as reused if an
    earlier presentation of it was accepted or is still in flight (see state_memory.py).
    Returns the presentation's id for end_presentation(), or None without a token."""
    if not raw_token:
        return None
    digest = hashlib.sha256(raw_token.encode("utf-8", "surrogatepass")).hexdigest()
    with _locked():
        if Presentation.objects.filter(digest=digest).exclude(status="rejected").exists():
            _add("refresh_reused")
        return Presentation.objects.create(digest=digest).id


def end_presentation(presentation, accepted):
    """The refresh logic answered `presentation` (from note_presented): accepted (rotated) or not.
    A presentation deleted by a reset in between is left alone, as in memory."""
    if presentation is None:
        return
    Presentation.objects.filter(id=presentation).update(status="ok" if accepted else "rejected")


# ---------------------------------------------------------------- items
def add_item(name):
    with _locked():
        item = Item.objects.create(id=_get("next_item_id"), name=name)
        _add("next_item_id")
        _add("items_created")
        return {"id": item.id, "name": item.name}


def list_items():
    return [{"id": i, "name": n} for i, n in Item.objects.order_by("id").values_list("id", "name")]


# ---------------------------------------------------------------- access-token stamps
_NEXT_STAMP_SQL = (
    f"UPDATE {StateValue._meta.db_table} SET value = GREATEST(value + 1, %s) "
    "WHERE name = 'last_stamp' RETURNING value"
)


def next_stamp():
    """A strictly increasing nanosecond stamp, unique across processes (one atomic UPDATE)."""
    _ensure_rows()
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_STAMP_SQL, [time.time_ns()])
        return cursor.fetchone()[0]


def expire_access():
    """Every access token stamped up to now is revoked; later ones are not."""
    with _locked():
        cutoff = next_stamp()  # holds the last_stamp row until commit: later stamps are larger
        _set("access_cutoff", cutoff)
        return cutoff


def access_cutoff():
    _ensure_rows()
    return _get("access_cutoff")
