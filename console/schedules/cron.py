"""Five-field cron expressions in an IANA time zone: parsing, due times, a human reading.

Pure functions, no Django. A schedule's due times are computed here, both forwards
(`next_after`, the next five runs in the editor, the tick moving a schedule on) and
backwards (`latest_at_or_before`, how the tick finds the one due time worth running
after the scheduler was down).

Semantics are classic (Vixie) cron's:
- fields: minute 0-59, hour 0-23, day of month 1-31, month 1-12 (or JAN-DEC), day of
  week 0-7 (0 and 7 are Sunday, or SUN-SAT); items `*`, `a`, `a-b`, with `/step`, lists
  with commas; `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly` stand for the usual;
- when both day fields are restricted a day matches either (`0 9 1 * 1`: the 1st and
  every Monday);
- daylight-saving changes: a schedule whose hour field starts with `*` follows the clock
  as it really passes (in the repeated hour it runs twice, the skipped hour has nothing
  to run); one at fixed hours runs once a day: a time the clock skips runs at the same
  instant shifted by the gap (02:30 becomes 03:30), a repeated time runs the first time.
"""

from __future__ import annotations

import bisect
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
EVERY_MINUTE = "* * * * *"
EVERY_HOUR = "0 * * * *"
# Feb 29 recurs within 8 years (2096 to 2104); an expression with nothing in 9 never runs.
_SEARCH_DAYS = 9 * 366


class CronError(ValueError):
    """An expression that cannot be used; the message says which field and why."""


@dataclass(frozen=True)
class _Field:
    label: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0


_FIELDS = (
    _Field("Minute", 0, 59),
    _Field("Hour", 0, 23),
    _Field("Day of month", 1, 31),
    _Field("Month", 1, 12, MONTHS, 1),
    _Field("Day of week", 0, 7, WEEKDAYS, 0),
)


@dataclass(frozen=True)
class Cron:
    """A parsed expression: the allowed values of each field, sorted."""

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    weekdays: tuple[int, ...]  # 0 = Sunday ... 6 = Saturday
    # Which fields were written starting with `*` (they decide the day rule and DST).
    any_hour: bool
    any_day: bool
    any_weekday: bool
    raw: tuple[str, str, str, str, str]

    def day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week


def _number(text: str, field: _Field) -> int:
    word = text.upper()
    if field.names and word in field.names:
        return field.names.index(word) + field.name_base
    if not text.isdigit():
        raise CronError(
            f"{field.label}: {text!r} is not a number"
            + (f" or a name ({field.names[0]}…)" if field.names else "")
            + "."
        )
    value = int(text)
    if not field.low <= value <= field.high:
        raise CronError(f"{field.label}: {value} is outside {field.low}–{field.high}.")
    return value


def _parse_field(text: str, field: _Field) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronError(f"{field.label}: an empty item in {text!r}.")
        body, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{field.label}: the step after / must be a whole number above 0, not {step_text!r}.")
            step = int(step_text)
        if body == "*":
            low, high = field.low, field.high
        elif "-" in body:
            first, _, last = body.partition("-")
            low, high = _number(first, field), _number(last, field)
            if low > high:
                raise CronError(f"{field.label}: the range {body} runs backwards.")
        else:
            low = _number(body, field)
            # `5/15` means from 5 to the end in steps of 15, as in Vixie cron.
            high = field.high if slash else low
        values.update(range(low, high + 1, step))
    return values


def parse(expression: str) -> Cron:
    """Parse a 5-field expression (or an @macro); CronError says what is wrong."""
    text = " ".join((expression or "").split())
    if not text:
        raise CronError("Give a cron expression, e.g. 0 9 * * 1-5.")
    expanded = MACROS.get(text.lower(), text)
    if expanded.startswith("@"):
        raise CronError(f"Unknown shortcut {text}; use one of {', '.join(sorted(MACROS))}.")
    parts = expanded.split(" ")
    if len(parts) != 5:
        raise CronError(f"Give 5 fields (minute hour day-of-month month day-of-week); this has {len(parts)}.")
    minutes, hours, days, months, weekdays = (
        _parse_field(part, field) for part, field in zip(parts, _FIELDS, strict=True)
    )
    if 7 in weekdays:
        weekdays = (weekdays - {7}) | {0}
    cron = Cron(
        text=text,
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=tuple(sorted(days)),
        months=tuple(sorted(months)),
        weekdays=tuple(sorted(weekdays)),
        any_hour=parts[1].startswith("*"),
        any_day=parts[2].startswith("*"),
        any_weekday=parts[4].startswith("*"),
        raw=(parts[0], parts[1], parts[2], parts[3], parts[4]),
    )
    if _first_matching_day(cron, date(2000, 1, 1), forward=True) is None:
        raise CronError(f"{text} never matches a date (e.g. 30 February).")
    return cron


@lru_cache(maxsize=1)
def time_zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone(name: str) -> tzinfo:
    """The IANA zone called `name`; CronError for anything else."""
    if name not in time_zone_names():
        raise CronError(f"{name!r} is not an IANA time zone name (e.g. Europe/London, UTC).")
    return zoneinfo.ZoneInfo(name)


# Due times -----------------------------------------------------------------------


def _first_matching_day(cron: Cron, start: date, *, forward: bool) -> date | None:
    step = timedelta(days=1 if forward else -1)
    day = start
    for _ in range(_SEARCH_DAYS):
        if cron.day_matches(day):
            return day
        try:
            day += step
        except OverflowError:
            return None
    return None


def _offset(tz: tzinfo, day: date) -> timedelta | None:
    """The zone's UTC offset all day long, or None when it changes during the day."""
    start = datetime.combine(day, time(0), tzinfo=tz).utcoffset()
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).utcoffset()
    return start if start == end else None


def _exists(naive: datetime, tz: tzinfo) -> bool:
    aware = naive.replace(tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive


def _instants_of_changing_day(cron: Cron, tz: tzinfo, day: date) -> list[datetime]:
    """Every due instant (UTC) of a day on which the zone's offset changes, sorted."""
    instants: set[datetime] = set()
    for hour in cron.hours:
        for minute in cron.minutes:
            naive = datetime.combine(day, time(hour, minute))
            first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
            if not _exists(naive, tz):
                # The clock skips this time. A fixed-hour schedule runs at the same
                # instant shifted by the gap; a `*` hour one has nothing to run.
                if not cron.any_hour:
                    instants.add(first)
                continue
            instants.add(first)
            second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
            if second != first and cron.any_hour:
                instants.add(second)  # the repeated hour really passes twice
    return sorted(instants)


def _pairs_after(cron: Cron, hour: int, minute: int) -> Iterator[tuple[int, int]]:
    """(hour, minute) pairs of the cron strictly after hour:minute, in order."""
    h = bisect.bisect_left(cron.hours, hour)
    for hh in cron.hours[h:]:
        start = bisect.bisect_right(cron.minutes, minute) if hh == hour else 0
        for mm in cron.minutes[start:]:
            yield hh, mm


def _pairs_at_or_before(cron: Cron, hour: int, minute: int) -> Iterator[tuple[int, int]]:
    """(hour, minute) pairs of the cron at or before hour:minute, latest first."""
    h = bisect.bisect_right(cron.hours, hour)
    for hh in reversed(cron.hours[:h]):
        end = bisect.bisect_right(cron.minutes, minute) if hh == hour else len(cron.minutes)
        for mm in reversed(cron.minutes[:end]):
            yield hh, mm


def next_after(cron: Cron, tz: tzinfo, after: datetime) -> datetime:
    """The first due instant strictly after `after` (aware), in UTC."""
    after = after.astimezone(UTC)
    local = after.astimezone(tz)
    day: date | None = local.date()
    first_day = True
    while True:
        day = _first_matching_day(cron, day, forward=True)  # type: ignore[arg-type]
        if day is None:
            raise CronError(f"{cron.text} has no due time after {after.isoformat()}.")
        if day != local.date():
            first_day = False
        offset = _offset(tz, day)
        if offset is None:
            for instant in _instants_of_changing_day(cron, tz, day):
                if instant > after:
                    return instant
        else:
            hour, minute = (local.hour, local.minute) if first_day else (0, -1)
            for hh, mm in _pairs_after(cron, hour, minute):
                return (datetime.combine(day, time(hh, mm)) - offset).replace(tzinfo=UTC)
        first_day = False
        day += timedelta(days=1)


def latest_at_or_before(cron: Cron, tz: tzinfo, at: datetime) -> datetime:
    """The last due instant at or before `at` (aware), in UTC."""
    at = at.astimezone(UTC)
    local = at.astimezone(tz)
    day: date | None = local.date()
    first_day = True
    while True:
        day = _first_matching_day(cron, day, forward=False)  # type: ignore[arg-type]
        if day is None:
            raise CronError(f"{cron.text} has no due time before {at.isoformat()}.")
        if day != local.date():
            first_day = False
        offset = _offset(tz, day)
        if offset is None:
            for instant in reversed(_instants_of_changing_day(cron, tz, day)):
                if instant <= at:
                    return instant
        else:
            hour, minute = (local.hour, local.minute) if first_day else (23, 59)
            for hh, mm in _pairs_at_or_before(cron, hour, minute):
                return (datetime.combine(day, time(hh, mm)) - offset).replace(tzinfo=UTC)
        first_day = False
        day -= timedelta(days=1)


def upcoming(cron: Cron, tz: tzinfo, after: datetime, count: int) -> list[datetime]:
    """The next `count` due instants after `after`, in UTC."""
    times: list[datetime] = []
    current = after
    for _ in range(count):
        current = next_after(cron, tz, current)
        times.append(current)
    return times


# A human reading -----------------------------------------------------------------


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _step_of(text: str) -> int | None:
    """n for `*/n`, else None."""
    if text.startswith("*/") and text[2:].isdigit():
        return int(text[2:])
    return None


def _clock(hour: int, minute: int) -> str:
    return f"{hour:02d}:{minute:02d}"


def _span(values: tuple[int, ...], names: tuple[str, ...], base: int) -> str:
    """`Monday to Friday` for a run of 3 or more, else `Monday and Friday`."""
    runs: list[list[int]] = []
    for value in values:
        if runs and value == runs[-1][-1] + 1:
            runs[-1].append(value)
        else:
            runs.append([value])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{names[run[0] - base]} to {names[run[-1] - base]}")
        else:
            parts.extend(names[v - base] for v in run)
    return _and(parts)


def _time_part(cron: Cron) -> tuple[str, bool]:
    """How often within a day, and whether it reads as a frequency ("every 5 minutes")
    rather than clock times ("at 09:00")."""
    minute_raw, hour_raw = cron.raw[0], cron.raw[1]
    every_minute = len(cron.minutes) == 60
    minute_step = _step_of(minute_raw)
    if cron.any_hour and len(cron.hours) == 24:
        if every_minute:
            return "every minute", True
        if minute_step:
            return f"every {minute_step} minutes", True
        if cron.minutes == (0,):
            return "every hour", True
        return "every hour at " + _and([f":{m:02d}" for m in cron.minutes]), True
    hour_step = _step_of(hour_raw)
    if hour_step and len(cron.minutes) == 1:
        at = "" if cron.minutes == (0,) else f" at :{cron.minutes[0]:02d}"
        return f"every {hour_step} hours{at}", True
    if every_minute:
        if len(cron.hours) == 1 or _contiguous(cron.hours):
            return f"every minute from {_clock(cron.hours[0], 0)} to {_clock(cron.hours[-1], 59)}", True
        return "every minute during hours " + _span_numbers(cron.hours), True
    if minute_step:
        return f"every {minute_step} minutes during hours " + _span_numbers(cron.hours), True
    if len(cron.hours) * len(cron.minutes) <= 6:
        return "at " + _and([_clock(h, m) for h in cron.hours for m in cron.minutes]), False
    if len(cron.minutes) == 1 and _contiguous(cron.hours):
        return (
            f"every hour from {_clock(cron.hours[0], cron.minutes[0])} to {_clock(cron.hours[-1], cron.minutes[0])}",
            True,
        )
    return (
        "at minute " + _and([str(m) for m in cron.minutes]) + " of hours " + _span_numbers(cron.hours),
        True,
    )


def _contiguous(values: tuple[int, ...]) -> bool:
    return len(values) > 1 and values[-1] - values[0] == len(values) - 1


def _span_numbers(values: tuple[int, ...]) -> str:
    if _contiguous(values) and len(values) >= 3:
        return f"{values[0]:02d}–{values[-1]:02d}"
    return _and([f"{v:02d}" for v in values])


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _weekdays_phrase(cron: Cron, frequency: bool) -> str:
    """`every weekday` before clock times, `on weekdays` after a frequency."""
    days = cron.weekdays
    if days == (1, 2, 3, 4, 5):
        return "on weekdays" if frequency else "every weekday"
    if days == (0, 6):
        return "on weekends" if frequency else "every Saturday and Sunday"
    if len(days) == 1:
        return f"on {WEEKDAY_NAMES[days[0]]}s" if frequency else f"every {WEEKDAY_NAMES[days[0]]}"
    return ("on " if frequency else "every ") + _span(days, WEEKDAY_NAMES, 0)


def _day_part(cron: Cron, frequency: bool) -> str:
    all_days = cron.any_day or len(cron.days) == 31
    all_weekdays = cron.any_weekday or len(cron.weekdays) == 7
    if all_days and all_weekdays:
        return "" if frequency else "every day"
    if all_days:
        return _weekdays_phrase(cron, frequency)
    month_days = "on the " + _and([_ordinal(d) for d in cron.days]) + " of the month"
    if all_weekdays:
        return month_days
    # Both restricted: cron runs on either kind of day.
    return f"{month_days} and {_weekdays_phrase(cron, frequency)}"


def describe(cron: Cron, zone: str) -> str:
    """E.g. `every weekday at 09:00 Europe/London`, `every 5 minutes`."""
    when, frequency = _time_part(cron)
    days = _day_part(cron, frequency)
    text = f"{when} {days}".strip() if frequency else f"{days} {when}".strip()
    if len(cron.months) < 12:
        text += " in " + _span(cron.months, MONTH_NAMES, 1)
    # Sub-hourly schedules on every day read the same in every zone: no zone then.
    zone_free = cron.any_hour and len(cron.hours) == 24 and not days and len(cron.months) == 12
    if not (zone_free and (len(cron.minutes) == 60 or _step_of(cron.raw[0]))):
        text += f" {zone}"
    return text
