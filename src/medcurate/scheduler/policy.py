"""When a subscription is refreshed next: its interval, the feed's own hints, back-off, Retry-After.

Pure functions of the outcome and the clock, so the rules are tested without a server:

* success: the source's interval, or longer when the feed asks for it (RSS ``<ttl>`` minutes, or
  ``sy:updatePeriod``/``sy:updateFrequency`` of the RSS 1.0 syndication module): a feed that says
  it changes daily is not read every 30 minutes. A hint never stretches the wait past a day.
* failure: exponential back-off, the interval doubled for each failure in a row, capped at a day
  (1 h, 2 h, 4 h ... for a 30-minute source);
  a server's ``Retry-After`` (on a 429 or 503) is honoured when it asks for longer.

The hints are found with two regular expressions over the bytes rather than by a second parse:
feedparser has already been run once by ``collect``, and these two elements are flat and textual.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

MAX_WAIT = timedelta(days=1)
_TTL_RE = re.compile(rb"<ttl>\s*(\d{1,7})\s*</ttl>", re.IGNORECASE)
_PERIOD_RE = re.compile(rb"<sy:updatePeriod>\s*(\w+)\s*</sy:updatePeriod>", re.IGNORECASE)
_FREQUENCY_RE = re.compile(rb"<sy:updateFrequency>\s*(\d{1,6})\s*</sy:updateFrequency>", re.IGNORECASE)
_PERIODS = {
    b"hourly": timedelta(hours=1),
    b"daily": timedelta(days=1),
    b"weekly": timedelta(weeks=1),
    b"monthly": timedelta(days=30),
    b"yearly": timedelta(days=365),
}
# Hints sit in the channel, before the entries: no need to scan a large feed to its end.
_HINT_BYTES = 16 * 1024


def feed_hint(data: bytes) -> timedelta | None:
    """How long the feed asks to be left alone: its ``<ttl>`` or ``sy:updatePeriod``/``Frequency``."""
    head = data[:_HINT_BYTES]
    if (ttl := _TTL_RE.search(head)) is not None:
        return timedelta(minutes=int(ttl.group(1)))
    period = _PERIOD_RE.search(head)
    if period is None or period.group(1).lower() not in _PERIODS:
        return None
    frequency = _FREQUENCY_RE.search(head)
    times = max(1, int(frequency.group(1))) if frequency is not None else 1
    return _PERIODS[period.group(1).lower()] / times


def after_success(now: datetime, *, interval: timedelta, hint: timedelta | None = None) -> datetime:
    """The next refresh after a good answer (200 or 304)."""
    wait: timedelta = max(interval, min(hint, MAX_WAIT)) if hint is not None else interval
    return now + wait


def after_failure(
    now: datetime, *, interval: timedelta, failures: int, retry_after: float | None = None
) -> datetime:
    """The next refresh after the ``failures``-th failure in a row (1 for the first)."""
    backoff: timedelta = min(interval * 2 ** max(1, failures), MAX_WAIT)
    if retry_after is not None:
        backoff = max(backoff, min(timedelta(seconds=retry_after), MAX_WAIT))
    return now + backoff
