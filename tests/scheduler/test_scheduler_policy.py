"""When a subscription is refreshed next: interval, the feed's hints, back-off, Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from medcurate.scheduler.policy import MAX_WAIT, after_failure, after_success, feed_hint

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)


def test_feed_hints_ttl_and_syndication_period() -> None:
    assert feed_hint(b"<rss><channel><ttl>90</ttl></channel></rss>") == timedelta(minutes=90)
    syndication = (
        b"<rdf:RDF><channel><sy:updatePeriod>daily</sy:updatePeriod>"
        b"<sy:updateFrequency>4</sy:updateFrequency>"
    )
    assert feed_hint(syndication) == timedelta(hours=6)
    assert feed_hint(b"<sy:updatePeriod>hourly</sy:updatePeriod>") == timedelta(hours=1)
    assert feed_hint(b"<rss><channel><title>t</title></channel></rss>") is None
    assert feed_hint(b"<sy:updatePeriod>fortnightly</sy:updatePeriod>") is None


def test_a_hint_only_lengthens_the_interval_and_never_past_a_day() -> None:
    assert after_success(NOW, interval=HALF_HOUR) == NOW + HALF_HOUR
    assert after_success(NOW, interval=HALF_HOUR, hint=timedelta(minutes=5)) == NOW + HALF_HOUR
    assert after_success(NOW, interval=HALF_HOUR, hint=timedelta(hours=3)) == NOW + timedelta(hours=3)
    assert after_success(NOW, interval=HALF_HOUR, hint=timedelta(days=30)) == NOW + MAX_WAIT


def test_back_off_doubles_and_retry_after_wins_when_longer() -> None:
    waits = [after_failure(NOW, interval=HALF_HOUR, failures=n) - NOW for n in (1, 2, 3, 10)]
    assert waits == [timedelta(hours=1), timedelta(hours=2), timedelta(hours=4), MAX_WAIT]
    assert after_failure(NOW, interval=HALF_HOUR, failures=1, retry_after=7200) == NOW + timedelta(hours=2)
    assert after_failure(NOW, interval=HALF_HOUR, failures=1, retry_after=60) == NOW + timedelta(hours=1)
