"""K.params: the parameters posted to the method, plus `.has(key)`."""

from __future__ import annotations

from runtime.binds import Bind

JS = r"""
const ParamsProto = create(O.prototype);
defineProperty(ParamsProto, 'has', {
  value: function has(key) {
    const v = hasOwn(this, key) ? this[key] : undefined;
    return v !== undefined && v !== null && v !== '';
  },
  writable: false, enumerable: false, configurable: false,
});
freeze(ParamsProto);
function makeParams(values) {
  const p = create(ParamsProto);
  if (values !== null && typeof values === 'object') {
    const names = keysOf(values);
    for (let i = 0; i < names.length; i++) {
      defineProperty(p, names[i], { value: values[names[i]], writable: true, enumerable: true, configurable: true });
    }
  }
  return p;
}
defineProperty(K, 'params', { get: function () { return cur().params; }, enumerable: true, configurable: false });
"""

BIND = Bind(
    name="params",
    js=JS,
    k_members=("params",),
    dts="""
  /** Parameters posted to this method, converted to their declared types. */
  readonly params: KParams;
""",
)
