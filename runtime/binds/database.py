"""Database: K.query, K.select / K.insert / K.update / K.delete builders, result sets.

The builders run in JS and send one structured request (see runtime/host.py) per `.run()`.
Database problems come back as failure values; API misuse (a delete without a filter, a
bad sort direction) throws.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.binds import Bind, Failed, Misuse
from runtime.host import FILTER_OPS, HostError

if TYPE_CHECKING:
    from runtime.invocation import Invocation

JS = r"""
// A result set is a real Array (so it serialises as one) with a cursor and helpers.
class ResultSet extends Array {
  itemAtIndex(i) { return this[i]; }
  first() { return this.length ? this[0] : null; }
  last() { return this.length ? this[this.length - 1] : null; }
  hasNext() { return (this.__cursor || 0) < this.length; }
  next() {
    const i = this.__cursor || 0;
    if (i >= this.length) return null;
    defineProperty(this, '__cursor', { value: i + 1, writable: true, enumerable: false, configurable: true });
    return this[i];
  }
  static get [Symbol.species]() { return Array; }
}
freeze(ResultSet.prototype);
freeze(ResultSet);
function resultSet(rows) {
  const rs = R.construct(Array, [], ResultSet);
  for (let i = 0; i < rows.length; i++) reflectDefine(rs, i, { value: rows[i], writable: true, enumerable: true, configurable: true });
  return rs;
}
function dbAnswer(v) {
  if (isArray(v)) return resultSet(v);
  return v;
}

const FILTER_OPS = __FILTER_OPS__;
function addFilter(filters, args) {
  if (args.length === 1 && args[0] !== null && typeof args[0] === 'object') {
    const names = keysOf(args[0]);
    for (let i = 0; i < names.length; i++) arrayPush(filters, { field: names[i], op: '=', value: plain(args[0][names[i]]) });
  } else if (args.length === 2) {
    arrayPush(filters, { field: StringCtor(args[0]), op: '=', value: plain(args[1]) });
  } else if (args.length === 3) {
    const op = StringCtor(args[1]).toUpperCase();
    if (!hasOwn(FILTER_OPS, op)) throw new TypeErrorCtor('unknown filter operator: ' + StringCtor(args[1]));
    arrayPush(filters, { field: StringCtor(args[0]), op: op === '<>' ? '!=' : op, value: plain(args[2]) });
  } else {
    throw new TypeErrorCtor('filter() takes (field, value), (field, operator, value) or ({field: value, ...})');
  }
}

class Action {
  constructor(action, table, values) {
    this.__q = { action: action, table: StringCtor(table), filters: [], sort: [], limit: null, offset: null,
                 values: values === undefined ? null : plain(values), force_all: false };
  }
  filter(...args) { addFilter(this.__q.filters, args); return this; }
  run() { cur(); return dbAnswer(host('db.run', this.__q)); }
}
class SelectAction extends Action {
  sort(field, direction) {
    const dir = direction === undefined ? 'ASC' : StringCtor(direction).toUpperCase();
    if (dir !== 'ASC' && dir !== 'DESC') throw new TypeErrorCtor("sort direction must be 'ASC' or 'DESC'");
    arrayPush(this.__q.sort, { field: StringCtor(field), direction: dir });
    return this;
  }
  limit(n, offset) {
    this.__q.limit = NumberCtor(n);
    this.__q.offset = offset === undefined ? null : NumberCtor(offset);
    return this;
  }
}
class UpdateAction extends Action {}
class DeleteAction extends Action {
  forceDeleteAll() { this.__q.force_all = true; return this; }
  run() {
    if (this.__q.filters.length === 0 && !this.__q.force_all) {
      throw new ErrorCtor('K.delete() without a filter: add .filter(...) or call .forceDeleteAll()');
    }
    return super.run();
  }
}
const actionClasses = [Action, SelectAction, UpdateAction, DeleteAction];
for (let i = 0; i < actionClasses.length; i++) { freeze(actionClasses[i].prototype); freeze(actionClasses[i]); }

K.query = function query(sql, params) {
  cur();
  const list = params === undefined || params === null ? [] : params;
  if (!isArray(list)) throw new TypeErrorCtor('K.query parameters must be an array');
  return dbAnswer(host('db.query', [StringCtor(sql), plain(list)]));
};
K.select = function select(table) { return new SelectAction('select', table); };
K.insert = function insert(table, record) {
  cur();
  if (record === null || typeof record !== 'object') throw new TypeErrorCtor('K.insert expects a record object');
  return host('db.run', new Action('insert', table, record).__q);
};
K.update = function update(table, values) {
  if (values === null || typeof values !== 'object') throw new TypeErrorCtor('K.update expects an object of values');
  return new UpdateAction('update', table, values);
};
K.delete = function (table) { return new DeleteAction('delete', table); };
""".replace("__FILTER_OPS__", "{" + ", ".join(f"'{op}': true" for op in (*FILTER_OPS, "<>")) + "}")

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TABLE = re.compile(r"^[A-Za-z0-9_]+$")
_SCALAR = (str, int, float, bool, type(None))


def _database(inv: Invocation) -> Any:
    if inv.host.database is None:
        raise Failed("no database is available to this run")
    return inv.host.database


def _field(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise Misuse(f"invalid field name: {name!r}")
    return name


def _filter(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise Misuse("invalid filter")
    op = raw.get("op")
    if op not in FILTER_OPS:
        raise Misuse(f"unknown filter operator: {op!r}")
    value = raw.get("value")
    if op in ("IN", "NOT IN"):
        if not isinstance(value, list) or not all(isinstance(v, _SCALAR) for v in value):
            raise Misuse(f"{op} needs an array of plain values")
    elif not isinstance(value, _SCALAR):
        raise Misuse(f"filter value for {raw.get('field')!r} must be a plain value")
    return {"field": _field(raw.get("field")), "op": op, "value": value}


def validate_request(raw: Any) -> dict[str, Any]:
    """Turn what JS sent into the documented structured request, or raise Misuse."""
    if not isinstance(raw, Mapping):
        raise Misuse("invalid database request")
    action = raw.get("action")
    if action not in ("select", "insert", "update", "delete"):
        raise Misuse("invalid database action")
    table = raw.get("table")
    if not isinstance(table, str) or not _TABLE.match(table):
        raise Misuse(f"invalid table alias: {table!r}")
    filters = [_filter(f) for f in raw.get("filters") or []]
    request: dict[str, Any] = {"action": action, "table": table, "filters": filters}
    if action == "select":
        sort = []
        for item in raw.get("sort") or []:
            direction = item.get("direction") if isinstance(item, Mapping) else None
            if direction not in ("ASC", "DESC"):
                raise Misuse("sort direction must be 'ASC' or 'DESC'")
            sort.append({"field": _field(item.get("field")), "direction": direction})
        request["sort"] = sort
        for key in ("limit", "offset"):
            value = raw.get(key)
            if value is not None and (not isinstance(value, int | float) or value < 0 or value != int(value)):
                raise Misuse(f"{key} must be a non-negative integer")
            request[key] = None if value is None else int(value)
    if action in ("insert", "update"):
        values = raw.get("values")
        if not isinstance(values, Mapping):
            raise Misuse(f"K.{action} expects an object of values")
        request["values"] = {_field(k): v for k, v in values.items()}
    if action == "delete":
        request["force_all"] = raw.get("force_all") is True
        if not filters and not request["force_all"]:
            raise Misuse("K.delete() without a filter: add .filter(...) or call .forceDeleteAll()")
    return request


def _run(inv: Invocation, raw: Any) -> Any:
    request = validate_request(raw)
    database = _database(inv)
    try:
        return database.run(request)
    except HostError as error:
        raise Failed(str(error)) from None


def _query(inv: Invocation, args: Any) -> Any:
    sql, params = args
    if not isinstance(sql, str) or not isinstance(params, list):
        raise Misuse("K.query(sql, parameters) expects a string and an array")
    database = _database(inv)
    try:
        return database.query(sql, params)
    except HostError as error:
        raise Failed(str(error)) from None


BIND = Bind(
    name="database",
    js=JS,
    handlers={"db.run": _run, "db.query": _query},
    k_members=("query", "select", "insert", "update", "delete"),
    dts="""
  /** Run MySQL-syntax SQL naming tables by alias, with `?` placeholders. */
  query(sql: string, parameters?: any[]): KResultSet | number | KFailure;
  /** Start a select on a table alias; nothing runs until .run(). */
  select(tableAlias: string): KSelectAction;
  /** Insert a record; returns the new record's id. */
  insert(tableAlias: string, record: { [field: string]: any }): number | KFailure;
  /** Start an update; .run() returns the number of records changed. */
  update(tableAlias: string, values: { [field: string]: any }): KUpdateAction;
  /** Start a delete; .run() throws unless filtered or .forceDeleteAll() was called. */
  delete(tableAlias: string): KDeleteAction;
""",
)

TYPES_DTS = """
interface KFailure { readonly error: string }
interface KResultSet extends Array<any> {
  itemAtIndex(i: number): any;
  first(): any;
  last(): any;
  next(): any;
  hasNext(): boolean;
}
type KFilterOp = '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'NOT LIKE' | 'IN' | 'NOT IN';
interface KFilterable<T> {
  filter(field: string, value: any): T;
  filter(field: string, op: KFilterOp, value: any): T;
  filter(equalities: { [field: string]: any }): T;
}
interface KSelectAction extends KFilterable<KSelectAction> {
  sort(field: string, direction?: 'ASC' | 'DESC'): KSelectAction;
  limit(n: number, offset?: number): KSelectAction;
  run(): KResultSet | KFailure;
}
interface KUpdateAction extends KFilterable<KUpdateAction> { run(): number | KFailure }
interface KDeleteAction extends KFilterable<KDeleteAction> {
  forceDeleteAll(): KDeleteAction;
  run(): number | KFailure;
}
"""
