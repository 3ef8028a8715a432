"""K.JSON: parse/stringify captured before user code runs (result sets stringify as arrays)."""

from __future__ import annotations

from runtime.binds import Bind

JS = r"""
K.JSON = {
  parse: function parse(text, reviver) { return apply(JSONparse, null, [text, reviver]); },
  stringify: function stringify(value, replacer, space) { return apply(JSONstringify, null, [value, replacer, space]); },
};
"""

BIND = Bind(
    name="json",
    js=JS,
    k_members=("JSON",),
    dts="""
  /** JSON parser/serialiser; result sets serialise as arrays. */
  readonly JSON: { parse(text: string, reviver?: (key: string, value: any) => any): any; stringify(value: any, replacer?: any, space?: string | number): string };
""",
)
