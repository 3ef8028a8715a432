"""K.analytics.getEventStream(options) (aliases eventStream, getEvents,
createEventIterator): the app's client events, oldest first, through an iterator with
hasNext() / next() that fetches a page of PAGE_SIZE events at a time from the host, so a
stream of a million events never sits in memory. Bad options, or a run without the app's
events, give a failure value whose `.error` says why; a page that cannot be read later
throws.

The options are checked here into the query the host receives (runtime/host.py,
`Analytics`); the iterator sends its snapshot of the options back with each page's cursor.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from runtime.binds import Bind, Failed, Misuse
from runtime.host import HostError

if TYPE_CHECKING:
    from runtime.invocation import Invocation

PAGE_SIZE = 100
MAX_TYPES = 100
MAX_FILTERS = 32
MAX_TYPE_CHARS = 200
MAX_PATH_DEPTH = 16
OPERATORS = ("$eq", "$lt", "$gt", "$lte", "$gte")
INCLUDES = ("data", "user", "userAttributes")
OPTIONS = ("eventTypes", "happenedBetween", "include", "filter")
ALIASES = ("getEventStream", "eventStream", "getEvents", "createEventIterator")

JS = r"""
function eventIterator(options, first) {
  let page = first.events, index = 0, cursor = first.cursor;
  function hasNext() {
    cur();
    while (index >= page.length) {
      if (cursor === null) return false;
      const answer = host('events.page', [options, cursor]);
      if (isFailure(answer)) throw new ErrorCtor(answer.error);
      page = answer.events;
      index = 0;
      cursor = answer.cursor;
    }
    return true;
  }
  function next() {
    if (!hasNext()) return null;
    const event = page[index];
    page[index] = undefined;  // handed out: the page no longer holds it
    index++;
    return event;
  }
  return freeze({ hasNext: hasNext, next: next });
}
function getEventStream(options) {
  cur();
  const snapshot = options === undefined || options === null ? {} : plain(options);
  const first = host('events.page', [snapshot, null]);
  if (isFailure(first)) return first;
  return eventIterator(snapshot, first);
}
K.analytics = freeze({
  getEventStream: getEventStream,
  eventStream: getEventStream,
  getEvents: getEventStream,
  createEventIterator: getEventStream,
});
"""


def _moment(value: Any, bound: str) -> str:
    if not isinstance(value, str):
        raise Failed(f"happenedBetween.{bound} must be an ISO 8601 date string")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Failed(f"happenedBetween.{bound} is not an ISO 8601 date: {value[:60]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # events happen in UTC; a date without an offset is UTC
    return moment.astimezone(UTC).isoformat()


def _types(raw: Any) -> list[str] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or len(raw) > MAX_TYPES:
        raise Failed(f"eventTypes must be an array of at most {MAX_TYPES} event type names")
    types: list[str] = []
    for item in raw:
        if not isinstance(item, str) or not item or len(item) > MAX_TYPE_CHARS or "\x00" in item:
            raise Failed(f"eventTypes: each must be an event type name of 1 to {MAX_TYPE_CHARS} characters")
        if item.strip("*") == "":
            return None  # '*' on its own: every type
        types.append(item)
    return types


def _includes(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise Failed("include must be an array of 'data', 'user' and 'userAttributes'")
    unknown = [item for item in raw if item not in INCLUDES]
    if unknown:
        raise Failed(f"include: unknown {unknown[0]!r}; use 'data', 'user' or 'userAttributes'")
    return [item for item in INCLUDES if item in raw]


def _filters(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, Mapping):
        raise Failed("filter must be an object like {'data.price': {'$gt': 10}}")
    filters: list[dict[str, Any]] = []
    for key, condition in raw.items():
        source, _, rest = key.partition(".")
        path = rest.split(".") if rest else []
        if source not in ("data", "user") or not path or any(not part for part in path):
            raise Failed(f"filter key {key!r} must start with 'data.' or 'user.' and name a field")
        if len(path) > MAX_PATH_DEPTH or "\x00" in key:
            raise Failed(f"filter key {key!r} is too deep")
        if not isinstance(condition, Mapping) or not condition:
            raise Failed(f"filter {key!r} must be an object of comparisons like {{'$eq': 'NY'}}")
        for op, value in condition.items():
            if op not in OPERATORS:
                raise Failed(f"filter {key!r}: unknown operator {op!r}; use $eq, $lt, $gt, $lte or $gte")
            scalar = isinstance(value, str | bool) or (isinstance(value, int | float) and math.isfinite(value))
            if not scalar or (isinstance(value, str) and "\x00" in value):
                raise Failed(f"filter {key!r}: {op} needs a string, a number or a boolean")
            filters.append({"source": source, "path": path, "op": op, "value": value})
    if len(filters) > MAX_FILTERS:
        raise Failed(f"at most {MAX_FILTERS} filter comparisons")
    return filters


def validate_options(raw: Any) -> dict[str, Any]:
    """The query for the host (shape in runtime/host.py), or Failed saying what is wrong."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise Failed("the event stream's options must be an object")
    unknown = [key for key in raw if key not in OPTIONS]
    if unknown:
        raise Failed(f"unknown option {unknown[0]!r}; use eventTypes, happenedBetween, include and filter")
    between = raw.get("happenedBetween")
    if between is None:
        between = {}
    if not isinstance(between, Mapping) or any(key not in ("$gte", "$lte") for key in between):
        raise Failed("happenedBetween must be an object with $gte and/or $lte")
    return {
        "types": _types(raw.get("eventTypes")),
        "gte": None if between.get("$gte") is None else _moment(between["$gte"], "$gte"),
        "lte": None if between.get("$lte") is None else _moment(between["$lte"], "$lte"),
        "include": _includes(raw.get("include")),
        "filters": _filters(raw.get("filter")),
    }


def _page(inv: Invocation, args: Any) -> dict[str, Any]:
    options, cursor = args
    if cursor is not None and not isinstance(cursor, list):
        raise Misuse("invalid event stream cursor")
    query = validate_options(options)
    if inv.host.analytics is None:
        raise Failed("the app's events are not available to this run")
    try:
        events, next_cursor = inv.host.analytics.events(query, cursor, PAGE_SIZE)
    except HostError as error:
        raise Failed(str(error)) from None
    return {"events": events, "cursor": next_cursor}


BIND = Bind(
    name="analytics",
    js=JS,
    handlers={"events.page": _page},
    k_members=("analytics",),
    dts="""
  readonly analytics: {
    /** The app's client events, oldest first; a failure value when the options are wrong. */
    getEventStream(options?: KEventStreamOptions): KEventIterator | KFailure;
    /** Alias of getEventStream. */
    eventStream(options?: KEventStreamOptions): KEventIterator | KFailure;
    /** Alias of getEventStream. */
    getEvents(options?: KEventStreamOptions): KEventIterator | KFailure;
    /** Alias of getEventStream. */
    createEventIterator(options?: KEventStreamOptions): KEventIterator | KFailure;
  };
""",
)

TYPES_DTS = """
type KEventComparison = { $eq?: string | number | boolean; $lt?: string | number; $gt?: string | number;
  $lte?: string | number; $gte?: string | number };
interface KEventStreamOptions {
  /** Event types; '*' is a wildcard ('k.*'), '*' alone means every type. */
  eventTypes?: string[];
  /** Inclusive bounds, ISO 8601 dates. */
  happenedBetween?: { $gte?: string; $lte?: string };
  include?: Array<'data' | 'user' | 'userAttributes'>;
  /** Keys 'data.<path>' or 'user.<attribute>'. */
  filter?: { [key: string]: KEventComparison };
}
interface KEvent {
  type: string;
  uuid: string;
  /** ISO 8601, UTC. */
  happenedAt: string;
  /** Milliseconds since 1970. */
  timestamp: number;
  installId: string;
  data?: any;
  user?: string | null;
  userAttributes?: { [key: string]: any };
}
interface KEventIterator {
  hasNext(): boolean;
  /** The next event, or null after the last. */
  next(): KEvent | null;
}
"""
