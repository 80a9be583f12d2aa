"""Tables of the shared test state (state_db.py), used when AUTHFLIGHT_STATE=db.

The dev server keeps this state in memory (state_memory.py) and leaves these tables empty.
"""

from django.db import models


class StateValue(models.Model):
    """A named integer: the stats counters and a few scalars (in-flight refreshes, the refresh
    delay, the reset epoch, the next item id, access-token stamps)."""

    name = models.CharField(max_length=40, primary_key=True)
    value = models.BigIntegerField(default=0)


class Fault(models.Model):
    """A queued refresh fault; the lowest id is taken first (FIFO)."""

    kind = models.CharField(max_length=32)
    hang_ms = models.BigIntegerField(default=0)


class RefreshCall(models.Model):
    """One entry of the refresh log (the last REFRESH_LOG_MAX calls are kept)."""

    start = models.FloatField()
    end = models.FloatField(null=True)
    status = models.IntegerField(null=True)
    fault = models.CharField(max_length=32, null=True)


class Presentation(models.Model):
    """A refresh token (its SHA-256) presented to the real refresh logic, and how that ended."""

    digest = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=8, default="pending")  # pending | ok | rejected


class Item(models.Model):
    """An item of /api/items/; ids restart at 1 after a reset, as in memory."""

    id = models.BigIntegerField(primary_key=True)
    name = models.TextField()
