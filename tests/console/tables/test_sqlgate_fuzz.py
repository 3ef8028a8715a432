"""Fuzzing the K.query gate: whatever it admits never reaches a relation outside the app's schema.

Statements are built with sqlglot's own expression builders from a seeded random source:
table names drawn from the app's aliases, catalog relations (bare, odd-cased, back-quoted,
schema-qualified), Kiln's own tables and another app's schema, and WITH names that reuse
any of those; nested sub-queries in FROM, WHERE and the select list, UNIONs, recursive
WITHs, INSERT … SELECT, UPDATE … FROM and DELETE … USING. Each is written as MySQL text and
given to the gate, the way K.query gets it. Every statement the gate admits is explained
(EXPLAIN VERBOSE, FORMAT JSON) and run as the app's role on the real database, in a
transaction that is rolled back; the test fails if PostgreSQL's plan scans any relation or
set-returning function outside the app's schema, if PostgreSQL refuses it for lack of a
privilege (the second wall caught what the gate let through), or if it names a relation
PostgreSQL cannot find (the gate resolved a scope differently from PostgreSQL).
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connection as django_connection
from sqlglot import exp

from console.apps.models import App
from console.tables import services
from console.tables.isolation import leased
from console.tables.models import Table
from console.tables.queries import gate_tables
from console.tables.sqlgate import GateError, compile_query

# App data lives behind connections of its own (console.tables.isolation): tests commit.
pytestmark = pytest.mark.django_db(transaction=True)

SEED = int(os.environ.get("KILN_GATE_FUZZ_SEED", "20261010"))
STATEMENTS = 500
# Hostile names, each with a column it really has, so that statements naming them are valid
# and PostgreSQL gets as far as planning them.
CATALOGS = {
    "pg_settings": "setting",
    "pg_class": "relname",
    "pg_roles": "rolname",
    "pg_namespace": "nspname",
    "pg_stat_activity": "usename",
    "pg_authid": "rolname",
    "pg_proc": "proname",
}
KILN_TABLES = {"auth_user": "username", "kiln_apps_app": "secret_key"}
QUALIFIED = [
    ("pg_catalog", "pg_settings", "setting"),
    ("pg_catalog", "pg_class", "relname"),
    ("information_schema", "tables", "table_name"),
    ("public", "auth_user", "username"),
    ("pg_temp", "x", "a"),
]
# Problems that show PostgreSQL reached, or tried to reach, something the gate should have kept out.
ESCAPE_STATES = {
    psycopg.errors.InsufficientPrivilege.sqlstate,  # 42501: a relation outside the app's grants
    psycopg.errors.UndefinedTable.sqlstate,  # 42P01: PostgreSQL resolved a name the gate did not
    psycopg.errors.InvalidSchemaName.sqlstate,  # 3F000
}


class Builder:
    """Random statements over the app's two tables and the hostile names around them."""

    def __init__(self, rng: random.Random, users: Table, posts: Table, other_schema: str) -> None:
        self.rng = rng
        self.columns = {
            users.alias: ["userID", "name", "age"],
            posts.alias: ["postID", "title", "score", "owner"],
        }
        self.aliases = list(self.columns)
        self.other_schema = other_schema
        self.numbered = 0
        self.used: list[str] = []  # the WITH names of the statement being built

    # -- names ----------------------------------------------------------------------

    def spelled(self, name: str) -> exp.Identifier:
        """The name as written, sometimes upper- or odd-cased, sometimes back-quoted."""
        how = self.rng.random()
        if how < 0.15:
            name = name.upper()
        elif how < 0.25:
            name = name[:1].upper() + name[1:]
        return exp.to_identifier(name, quoted=self.rng.random() < 0.3 or not name[:1].isalpha())

    def hostile(self) -> tuple[exp.Table, list[str]]:
        """A name outside the app, often one a WITH of the statement used (out of its scope here)."""
        named = [name for name in self.used if name in CATALOGS or name in KILN_TABLES]
        if named and self.rng.random() < 0.8:
            name = self.rng.choice(named)
            return exp.Table(this=self.spelled(name)), [CATALOGS.get(name) or KILN_TABLES[name]]
        pick = self.rng.random()
        if pick < 0.55:
            name = self.rng.choice(list(CATALOGS))
            return exp.Table(this=self.spelled(name)), [CATALOGS[name]]
        if pick < 0.7:
            name = self.rng.choice(list(KILN_TABLES))
            return exp.Table(this=self.spelled(name)), [KILN_TABLES[name]]
        if pick < 0.85:
            db, name, column = self.rng.choice(QUALIFIED)
            return exp.Table(this=self.spelled(name), db=self.spelled(db)), [column]
        return exp.Table(this=exp.to_identifier("secrets"), db=exp.to_identifier(self.other_schema)), ["value"]

    def cte_name(self) -> str:
        pick = self.rng.random()
        if pick < 0.5:
            return self.rng.choice(list(CATALOGS))
        if pick < 0.65:
            return self.rng.choice(self.aliases)
        if pick < 0.75:
            return self.rng.choice(list(KILN_TABLES))
        self.numbered += 1
        return f"c{self.numbered}"

    # -- pieces ---------------------------------------------------------------------

    def source(self, ctes: list[str], depth: int) -> tuple[exp.Expression, list[str]]:
        """A FROM item and the columns it offers."""
        pick = self.rng.random()
        if ctes and pick < 0.4:
            return exp.Table(this=self.spelled(self.rng.choice(ctes))), ["a"]
        if pick < 0.8:
            alias = self.rng.choice(self.aliases)
            return exp.Table(this=self.spelled(alias)), self.columns[alias]
        if pick < 0.9 and depth < 2:
            inner = self.select(ctes, depth + 1)
            return inner.subquery(f"d{depth}"), ["a"]
        return self.hostile()

    def condition(self, columns: list[str], ctes: list[str], depth: int) -> exp.Expression:
        pick = self.rng.random()
        column = exp.column(self.rng.choice(columns))
        if depth < 2 and pick < 0.3:
            return column.isin(query=self.select(ctes, depth + 1))
        if depth < 2 and pick < 0.45:
            return exp.Exists(this=self.select(ctes, depth + 1))
        if pick < 0.6:
            return exp.Exists(this=exp.select("1").from_(self.hostile()[0]))
        return exp.Is(this=column, expression=exp.Not(this=exp.Null()))

    def with_ctes(self, query: exp.Expression, ctes: list[str], depth: int) -> list[str]:
        """Maybe put a WITH on `query`; returns the names visible in it."""
        if depth >= 2 or self.rng.random() < 0.4:
            return ctes
        recursive = self.rng.random() < 0.3
        names: list[str] = []
        for _ in range(self.rng.randint(1, 2)):
            name = self.cte_name()
            if name in names:
                continue
            if recursive and self.rng.random() < 0.6:
                # Counts 1..3 by naming itself (allowed only under RECURSIVE).
                step = exp.select(exp.alias_(exp.column("a") + 1, "a")).from_(exp.Table(this=self.spelled(name)))
                body: exp.Expression = exp.union(
                    exp.select(exp.alias_(exp.Literal.number(1), "a")), step.where("a < 3"), distinct=False
                )
            else:
                body = self.select(ctes + names if not recursive else ctes + names + [name], depth + 1)
            query.with_(
                exp.to_identifier(name, quoted=not name[:1].isalpha()), as_=body, recursive=recursive, copy=False
            )
            names.append(name)
            self.used.append(name)
        return ctes + names

    def select(self, ctes: list[str], depth: int = 0) -> exp.Select:
        query = exp.Select()
        visible = self.with_ctes(query, ctes, depth)
        source, columns = self.source(visible, depth)
        query = query.from_(source, copy=False)
        if self.rng.random() < 0.2:
            joined, more = self.source(visible, depth)
            if isinstance(joined, exp.Table):  # the same table twice needs two names
                joined.set("alias", exp.TableAlias(this=exp.to_identifier(f"j{depth}")))
            query = query.join(joined, on="TRUE", join_type="left", copy=False)
            columns = columns + more
        pick = self.rng.random()
        if pick < 0.2 and depth < 2:
            scalar = self.select(visible, depth + 1).limit(1).subquery()
            query = query.select(exp.alias_(scalar, "a"), copy=False)
        elif pick < 0.35:
            query = query.select(exp.alias_(exp.Literal.number(self.rng.randint(1, 9)), "a"), copy=False)
        else:
            query = query.select(exp.alias_(exp.column(self.rng.choice(columns)), "a"), copy=False)
        if self.rng.random() < 0.5:
            query = query.where(self.condition(columns, visible, depth), copy=False)
        return query.limit(5, copy=False)

    # -- statements -----------------------------------------------------------------

    def statement(self) -> str:
        self.used = []
        pick = self.rng.random()
        if pick < 0.45:
            return self.select([]).sql("mysql")
        if pick < 0.6:
            union = exp.union(self.select([]).subquery(), self.select([]).subquery(), distinct=False)
            return union.sql("mysql")
        head = exp.Select()
        ctes = self.with_ctes(head, [], 0)
        users = self.aliases[0]
        target, columns = self.rng.choice([(exp.Table(this=self.spelled(users)), ["age"])] * 2 + [self.hostile()])
        with_ = head.args["with_"].sql("mysql") + " " if head.args.get("with_") else ""
        into, column = target.sql("mysql"), columns[0]
        if pick < 0.75:
            return f"{with_}INSERT INTO {into} ({column}) {self.select(ctes, 1).sql('mysql')}"
        source, _ = self.source(ctes, 1)
        alias = exp.to_identifier(f"s{self.rng.randint(0, 9)}")
        named = source.sql("mysql") if source.args.get("alias") else f"{source.sql('mysql')} AS {alias.sql('mysql')}"
        condition = self.condition([column], ctes, 1).sql("mysql")
        if pick < 0.9:
            return f"{with_}UPDATE {into} SET {column} = {column} FROM {named} WHERE {condition}"
        return f"{with_}DELETE FROM {into} USING {named} WHERE {condition}"


def relations(plan: Any) -> Iterator[tuple[str, str]]:
    """(schema, name) of every relation and set-returning function a JSON plan scans."""
    nodes = [node["Plan"] for node in plan]
    while nodes:
        node = nodes.pop()
        if "Relation Name" in node:
            yield node.get("Schema", "?"), node["Relation Name"]
        if "Function Name" in node:
            yield node.get("Schema", "?"), node["Function Name"]
        nodes.extend(node.get("Plans", []))


def test_the_detector_sees_a_catalog_behind_a_view(app: App, users: Table) -> None:
    # The two checks the fuzz relies on, on SQL that never went through the gate: a plan
    # names every relation it scans (as the platform sees it)…
    queries = ("SELECT * FROM pg_settings", "SELECT * FROM pg_class", f"SELECT * FROM app_{app.pk}.{users.name}")
    with django_connection.cursor() as cur:
        found = {}
        for query in queries:
            cur.execute(f"EXPLAIN (VERBOSE, FORMAT JSON) {query}")
            found[query] = set(relations(cur.fetchone()[0]))
    assert found == {
        "SELECT * FROM pg_settings": {("pg_catalog", "pg_show_all_settings")},
        "SELECT * FROM pg_class": {("pg_catalog", "pg_class")},
        f"SELECT * FROM app_{app.pk}.{users.name}": {(f"app_{app.pk}", users.name)},
    }
    # …and the app role is refused catalogs it reaches (tables migration 0003), a privilege error.
    with leased(app.pk) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.conn.execute("EXPLAIN (VERBOSE, FORMAT JSON) SELECT * FROM pg_class")


def test_whatever_the_gate_admits_stays_in_the_apps_schema(
    app: App, other_app: App, users: Table, make_table: Any
) -> None:
    posts = make_table(app, "posts", title="string", score="integer", owner="integer")
    make_table(other_app, "secrets", value="string")
    services.insert_record(users, {"name": "ann", "age": 30})
    services.insert_record(posts, {"title": "hi", "score": 3, "owner": 1})
    schema, tables = f"app_{app.pk}", gate_tables(app.pk)
    builder = Builder(random.Random(SEED), users, posts, f"app_{other_app.pk}")
    tally: Counter[str] = Counter()
    escapes: list[str] = []
    with leased(app.pk) as conn:
        cur = conn.cursor()
        for _ in range(STATEMENTS):
            text = builder.statement()
            try:
                compiled = compile_query(text, tables, schema, [])
            except GateError:
                tally["refused"] += 1
                continue
            tally["admitted"] += 1
            if any(name in text.lower() for name in CATALOGS):  # as WITH names: nothing else passes
                tally["admitted naming a catalog"] += 1
            try:
                with conn.conn.transaction(force_rollback=True):
                    plan = cur.execute(f"EXPLAIN (VERBOSE, FORMAT JSON) {compiled.sql}", compiled.params).fetchone()[0]
                    outside = {found for found in relations(plan) if found[0] != schema}
                    if outside:
                        escapes.append(f"{text}\n  -> {compiled.sql}\n  reached {sorted(outside)}")
                    cur.execute(compiled.sql, compiled.params)
                tally["ran"] += 1
            except Exception as exc:  # noqa: BLE001 - sorted by SQLSTATE below
                state = getattr(exc.__cause__, "sqlstate", None)
                if state in ESCAPE_STATES:
                    escapes.append(f"{text}\n  -> {compiled.sql}\n  {state}: {exc}")
                tally[f"failed {state}"] += 1
    assert escapes == [], f"seed {SEED}: " + "\n".join(escapes)
    # Not vacuous: the gate saw both kinds, and many admitted statements really ran,
    # some of them with catalog names as WITH names.
    assert tally["refused"] >= STATEMENTS // 4, tally
    assert tally["ran"] >= STATEMENTS // 8, tally
    assert tally["admitted naming a catalog"] >= 10, tally
