"""K.setResponse, K.setResponseTypeMap and K.Types."""

from __future__ import annotations

from runtime.binds import Bind

TYPES = ("BOOL", "DATA", "DATE_TIME", "FLOAT", "INT", "STRING", "TEXT")

JS = r"""
K.Types = { BOOL: 'BOOL', DATA: 'DATA', DATE_TIME: 'DATE_TIME', FLOAT: 'FLOAT', INT: 'INT', STRING: 'STRING', TEXT: 'TEXT' };
K.setResponse = function setResponse(value) {
  const st = cur();
  st.response = value === undefined ? null : value;
  st.hasResponse = true;
};
K.setResponseTypeMap = function setResponseTypeMap(map) {
  const st = cur();
  if (map === null || typeof map !== 'object') throw new TypeErrorCtor('K.setResponseTypeMap expects an object');
  const out = {};
  const names = keysOf(map);
  for (let i = 0; i < names.length; i++) {
    const t = map[names[i]];
    if (!hasOwn(K.Types, t)) throw new TypeErrorCtor('unknown K.Types value for field ' + names[i] + ': ' + StringCtor(t));
    out[names[i]] = t;
  }
  st.typeMap = out;
};
"""

BIND = Bind(
    name="response",
    js=JS,
    k_members=("Types", "setResponse", "setResponseTypeMap"),
    dts="""
  /** Field types for K.setResponseTypeMap. */
  readonly Types: { readonly BOOL: 'BOOL'; readonly DATA: 'DATA'; readonly DATE_TIME: 'DATE_TIME'; readonly FLOAT: 'FLOAT'; readonly INT: 'INT'; readonly STRING: 'STRING'; readonly TEXT: 'TEXT' };
  /** Set the method's payload (does not stop the script; the last call wins). */
  setResponse(value: any): void;
  /** Declare field types of the returned records (required for DATA fields). */
  setResponseTypeMap(map: { [field: string]: string }): void;
""",
)
