"""Cron expressions in a time zone: parsing errors, due times across DST changes, the
reading the editor shows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from console.schedules.cron import CronError, describe, latest_at_or_before, next_after, parse, time_zone, upcoming


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "Give a cron expression, e.g. 0 9 * * 1-5."),
        ("* * * *", "Give 5 fields (minute hour day-of-month month day-of-week); this has 4."),
        ("61 * * * *", "Minute: 61 is outside 0–59."),
        ("* 24 * * *", "Hour: 24 is outside 0–23."),
        ("* * 0 * *", "Day of month: 0 is outside 1–31."),
        ("* * * 13 *", "Month: 13 is outside 1–12."),
        ("* * * * 8", "Day of week: 8 is outside 0–7."),
        ("a * * * *", "Minute: 'a' is not a number."),
        ("* * * * funday", "Day of week: 'funday' is not a number or a name (SUN…)."),
        ("5-1 * * * *", "Minute: the range 5-1 runs backwards."),
        ("*/0 * * * *", "Minute: the step after / must be a whole number above 0, not '0'."),
        ("1,,2 * * * *", "Minute: an empty item in '1,,2'."),
        ("0 0 30 2 *", "0 0 30 2 * never matches a date (e.g. 30 February)."),
        (
            "@often",
            "Unknown shortcut @often; use one of @annually, @daily, @hourly, @midnight, @monthly, @weekly, @yearly.",
        ),
    ],
)
def test_a_bad_expression_says_which_field_and_why(expression: str, message: str) -> None:
    with pytest.raises(CronError) as caught:
        parse(expression)
    assert str(caught.value) == message


def test_names_steps_ranges_lists_and_sunday_as_7() -> None:
    cron = parse("5/20 9-11,14 * jan-mar mon-fri,7")
    assert cron.minutes == (5, 25, 45)
    assert cron.hours == (9, 10, 11, 14)
    assert cron.months == (1, 2, 3)
    assert cron.weekdays == (0, 1, 2, 3, 4, 5)
    assert parse("@daily").raw == ("0", "0", "*", "*", "*")


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(CronError) as caught:
        time_zone("Mars/Olympus_Mons")
    assert str(caught.value) == "'Mars/Olympus_Mons' is not an IANA time zone name (e.g. Europe/London, UTC)."
    with pytest.raises(CronError):
        time_zone("../../etc/passwd")


def test_every_minute_is_the_next_whole_minute_strictly_after() -> None:
    cron, zone = parse("* * * * *"), time_zone("UTC")
    assert next_after(cron, zone, utc(2026, 3, 28, 23, 59, 30)) == utc(2026, 3, 29, 0, 0)
    assert next_after(cron, zone, utc(2026, 3, 29, 0, 0)) == utc(2026, 3, 29, 0, 1)
    assert latest_at_or_before(cron, zone, utc(2026, 3, 29, 0, 0)) == utc(2026, 3, 29, 0, 0)
    assert latest_at_or_before(cron, zone, utc(2026, 3, 29, 0, 0, 59)) == utc(2026, 3, 29, 0, 0)


def test_weekdays_at_nine_in_london_follow_summer_time() -> None:
    cron, zone = parse("0 9 * * 1-5"), time_zone("Europe/London")
    # Friday 27 March 2026 (GMT), then Monday 30 March (BST, clocks went forward on the 29th).
    assert upcoming(cron, zone, utc(2026, 3, 26, 12), 3) == [
        utc(2026, 3, 27, 9),
        utc(2026, 3, 30, 8),
        utc(2026, 3, 31, 8),
    ]
    assert latest_at_or_before(cron, zone, utc(2026, 3, 30, 7, 59)) == utc(2026, 3, 27, 9)


def test_a_fixed_time_the_clock_skips_runs_shifted_by_the_gap_once() -> None:
    cron, zone = parse("30 1 * * *"), time_zone("Europe/London")
    # 29 March 2026: 01:00 GMT becomes 02:00 BST, so 01:30 never shows on the clock.
    assert upcoming(cron, zone, utc(2026, 3, 28, 12), 3) == [
        utc(2026, 3, 29, 1, 30),  # 02:30 BST
        utc(2026, 3, 30, 0, 30),  # 01:30 BST
        utc(2026, 3, 31, 0, 30),
    ]


def test_a_fixed_time_in_the_repeated_hour_runs_once() -> None:
    cron, zone = parse("30 1 * * *"), time_zone("Europe/London")
    # 25 October 2026: 02:00 BST becomes 01:00 GMT, so 01:30 shows twice; it runs the first time.
    assert upcoming(cron, zone, utc(2026, 10, 24, 12), 2) == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_an_any_hour_schedule_follows_the_clock_as_it_passes() -> None:
    cron, zone = parse("30 * * * *"), time_zone("Europe/London")
    assert upcoming(cron, zone, utc(2026, 10, 24, 23), 4) == [
        utc(2026, 10, 24, 23, 30),  # 00:30 BST
        utc(2026, 10, 25, 0, 30),  # 01:30 BST
        utc(2026, 10, 25, 1, 30),  # 01:30 GMT, the repeated hour
        utc(2026, 10, 25, 2, 30),
    ]
    assert upcoming(cron, zone, utc(2026, 3, 28, 23, 45), 3) == [
        utc(2026, 3, 29, 0, 30),  # 00:30 GMT
        utc(2026, 3, 29, 1, 30),  # 02:30 BST: there is no 01:30
        utc(2026, 3, 29, 2, 30),
    ]
    assert latest_at_or_before(cron, zone, utc(2026, 10, 25, 1, 29)) == utc(2026, 10, 25, 0, 30)
    assert latest_at_or_before(cron, zone, utc(2026, 10, 25, 1, 30)) == utc(2026, 10, 25, 1, 30)


def test_both_day_fields_restricted_means_either_and_feb_29_waits_for_a_leap_year() -> None:
    zone = time_zone("UTC")
    assert upcoming(parse("0 0 13 * 5"), zone, utc(2026, 2, 1), 3) == [
        utc(2026, 2, 6),  # a Friday
        utc(2026, 2, 13),  # the 13th (also a Friday)
        utc(2026, 2, 20),
    ]
    assert next_after(parse("0 0 29 2 *"), zone, utc(2026, 3, 1)) == utc(2028, 2, 29)
    assert latest_at_or_before(parse("0 0 29 2 *"), zone, utc(2026, 3, 1)) == utc(2024, 2, 29)


@pytest.mark.parametrize(
    ("expression", "zone", "reading"),
    [
        ("* * * * *", "UTC", "every minute"),
        ("*/5 * * * *", "Europe/London", "every 5 minutes"),
        ("0 * * * *", "Asia/Kolkata", "every hour Asia/Kolkata"),
        ("15,45 * * * *", "UTC", "every hour at :15 and :45 UTC"),
        ("0 9 * * 1-5", "Europe/London", "every weekday at 09:00 Europe/London"),
        ("0 9 * * *", "UTC", "every day at 09:00 UTC"),
        ("30 8 * * 1", "UTC", "every Monday at 08:30 UTC"),
        ("0 9,17 * * *", "UTC", "every day at 09:00 and 17:00 UTC"),
        ("0 8 * * 1,3,5", "UTC", "every Monday, Wednesday and Friday at 08:00 UTC"),
        ("0 22 * * 1-4", "UTC", "every Monday to Thursday at 22:00 UTC"),
        ("0 0 * * 0,6", "UTC", "every Saturday and Sunday at 00:00 UTC"),
        ("0 0 1 * *", "UTC", "on the 1st of the month at 00:00 UTC"),
        ("0 0 1,15 * 1", "UTC", "on the 1st and 15th of the month and every Monday at 00:00 UTC"),
        ("0 12 * 1 *", "UTC", "every day at 12:00 in January UTC"),
        ("0 */2 * * *", "America/New_York", "every 2 hours America/New_York"),
        ("*/10 9-17 * * 1-5", "UTC", "every 10 minutes during hours 09–17 on weekdays UTC"),
        ("0 9-17 * * *", "UTC", "every hour from 09:00 to 17:00 UTC"),
        ("* 9 * * *", "UTC", "every minute from 09:00 to 09:59 UTC"),
        ("@weekly", "UTC", "every Sunday at 00:00 UTC"),
    ],
)
def test_the_reading_of_an_expression(expression: str, zone: str, reading: str) -> None:
    assert describe(parse(expression), zone) == reading
