"""Fixtures for the runtime tests: a private pool and a small in-Python host.

The host below is a test double of *our* Host protocols (plain dicts and lists), used to
exercise the K binds; the real PostgreSQL/Redis implementations live on the Django side.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from runtime import Deadline, Host, HostError, Pool, RunLimits, RunResult, run_script  # noqa: E402

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a is not None and a < b,
    "<=": lambda a, b: a is not None and a <= b,
    ">": lambda a, b: a is not None and a > b,
    ">=": lambda a, b: a is not None and a >= b,
    "IN": lambda a, b: a in b,
    "NOT IN": lambda a, b: a not in b,
    "LIKE": lambda a, b: isinstance(a, str) and _like(a, b),
    "NOT LIKE": lambda a, b: not (isinstance(a, str) and _like(a, b)),
}


def _like(value: str, pattern: str) -> bool:
    import re

    regex = "^" + re.escape(pattern).replace("%", ".*").replace("_", ".") + "$"
    return re.match(regex, value, re.IGNORECASE) is not None


class MemoryDatabase:
    """Tables are lists of dicts keyed by alias; ids come from a counter."""

    def __init__(self) -> None:
        self.tables: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[dict[str, Any]] = []
        self.queries: list[tuple[str, list[Any]]] = []
        self._ids = itertools.count(1)

    def add(self, table: str, **values: Any) -> int:
        new_id = next(self._ids)
        self.tables.setdefault(table, []).append({"id": new_id, **values})
        return new_id

    def query(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]] | int:
        self.queries.append((sql, list(params)))
        if sql.strip().upper().startswith("SELECT 1"):
            return [{"one": 1}]
        if "BROKEN" in sql:
            raise HostError("syntax error at or near BROKEN")
        table = sql.split("FROM")[1].split()[0] if "FROM" in sql else ""
        return [dict(r) for r in self.tables.get(table, [])]

    def _match(self, row: Mapping[str, Any], filters: list[dict[str, Any]]) -> bool:
        return all(_OPS[f["op"]](row.get(f["field"]), f["value"]) for f in filters)

    def run(self, request: Mapping[str, Any]) -> list[dict[str, Any]] | int:
        self.requests.append(dict(request))
        table = request["table"]
        if table == "1_1_missing":
            raise HostError(f"relation {table} does not exist")
        rows = self.tables.setdefault(table, [])
        action = request["action"]
        if action == "insert":
            return self.add(table, **request["values"])
        matching = [r for r in rows if self._match(r, request["filters"])]
        if action == "select":
            for item in reversed(request["sort"]):
                matching.sort(key=lambda r: r.get(item["field"]), reverse=item["direction"] == "DESC")
            offset = request["offset"] or 0
            end = None if request["limit"] is None else offset + request["limit"]
            return [dict(r) for r in matching[offset:end]]
        if action == "update":
            changed = 0
            for row in matching:
                if any(row.get(k) != v for k, v in request["values"].items()):
                    row.update(request["values"])
                    changed += 1
            return changed
        self.tables[table] = [r for r in rows if r not in matching]
        return len(matching)


class MemorySession:
    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self.values: dict[str, Any] = dict(values or {})

    def load(self) -> dict[str, Any]:
        return dict(self.values)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value

    def unset(self, key: str) -> None:
        self.values.pop(key, None)

    def clear(self) -> None:
        self.values.clear()


class MemoryScripts:
    def __init__(self, scripts: dict[str, str] | None = None) -> None:
        self.scripts = dict(scripts or {})

    def load(self, name: str) -> str | None:
        return self.scripts.get(name)


class MemoryMethods:
    """Runs KScript methods from a dict through the real runtime (nested runs). Given a
    `deadline`, every nested run shares it, as the Django side does for one client call."""

    def __init__(
        self,
        pool: Pool,
        app_id: str,
        methods: dict[str, str],
        host: Callable[[], Host],
        deadline: Deadline | None = None,
        limits: RunLimits | None = None,
    ) -> None:
        self.pool, self.app_id, self.methods, self.host = pool, app_id, methods, host
        self.deadline, self.limits = deadline, limits
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, name: str, params: Mapping[str, Any]) -> Any:
        self.calls.append((name, dict(params)))
        code = self.methods.get(name)
        if code is None:
            raise HostError(f"no API method named {name}")
        extra: dict[str, Any] = {"limits": self.limits} if self.limits is not None else {}
        return run_script(
            self.app_id,
            code,
            method_name=name,
            params=params,
            host=self.host(),
            pool=self.pool,
            deadline=self.deadline,
            **extra,
        ).value


@pytest.fixture
def pool() -> Iterator[Pool]:
    p = Pool(idle_per_app=2, idle_total=8)
    yield p
    p.close()


@pytest.fixture
def db() -> MemoryDatabase:
    return MemoryDatabase()


@pytest.fixture
def session() -> MemorySession:
    return MemorySession()


@pytest.fixture
def scripts() -> MemoryScripts:
    return MemoryScripts()


@pytest.fixture
def host(db: MemoryDatabase, session: MemorySession, scripts: MemoryScripts) -> Host:
    return Host(database=db, session=session, scripts=scripts)


FAST = RunLimits(timeout_s=5.0)


@pytest.fixture
def run(pool: Pool, host: Host) -> Callable[..., RunResult]:
    """run(code, params=..., limits=..., host=..., method=..., app=...) -> RunResult"""

    def _run(
        code: str,
        params: Mapping[str, Any] | None = None,
        *,
        limits: RunLimits = FAST,
        host_: Host | None = None,
        method: str = "main",
        app: str = "app1",
    ) -> RunResult:
        return run_script(app, code, method_name=method, params=params, host=host_ or host, limits=limits, pool=pool)

    return _run
