"""K.callAPIMethod(title, params): runs another API method through the host.

The nested method runs in its own run (another context from the pool), so the caller's
K.params cannot be disturbed. Nesting depth is capped to stop a method calling itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.binds import Bind, Failed, Misuse
from runtime.host import HostError

if TYPE_CHECKING:
    from runtime.invocation import Invocation

MAX_DEPTH = 8

JS = r"""
K.callAPIMethod = function callAPIMethod(title, params) {
  cur();
  return host('api.call', [StringCtor(title), params === undefined ? {} : plain(params)]);
};
"""


def _call(inv: Invocation, args: Any) -> Any:
    name, params = args
    if not isinstance(params, Mapping):
        raise Misuse("K.callAPIMethod expects a params object")
    if inv.host.methods is None:
        raise Failed("calling API methods is not available here")
    if inv.depth >= MAX_DEPTH:
        raise Failed(f"K.callAPIMethod nested more than {MAX_DEPTH} deep")
    try:
        with inv.nested():
            return inv.host.methods.call(name, dict(params))
    except HostError as error:
        raise Failed(str(error)) from None


BIND = Bind(
    name="api",
    js=JS,
    handlers={"api.call": _call},
    k_members=("callAPIMethod",),
    dts="""
  /** Run another API method of this app and return its payload (or a failure value). */
  callAPIMethod(title: string, params?: { [name: string]: any }): any;
""",
)
