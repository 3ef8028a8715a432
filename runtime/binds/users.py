"""K.users.getAttributes(userId): the attributes the SDKs associated with a user, as an
object with has / get / all (toObject). An unknown user has no attributes; a run without
the app's users (no host for them) gets a failure value."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtime.binds import Bind, Failed
from runtime.host import HostError

if TYPE_CHECKING:
    from runtime.invocation import Invocation

MAX_USER_ID_CHARS = 255

JS = r"""
function userAttributes(values) {
  // The values stay in this closure: the object only hands out copies.
  const copy = () => plain(values);
  const attrs = {
    has: function has(key) { const v = values[StringCtor(key)]; return hasOwn(values, StringCtor(key)) && v !== null && v !== ''; },
    get: function get(key) { const k = StringCtor(key); return hasOwn(values, k) ? plain(values[k]) : null; },
    all: function all() { return copy(); },
    toObject: function toObject() { return copy(); },
    toJSON: function toJSON() { return copy(); },
  };
  return freeze(attrs);
}
K.users = freeze({
  getAttributes: function getAttributes(userId) {
    cur();
    const answer = host('users.attributes', userId === undefined || userId === null ? null : StringCtor(userId));
    if (isFailure(answer)) return answer;
    return userAttributes(answer);
  },
});
"""


def _attributes(inv: Invocation, user_id: Any) -> dict[str, Any]:
    if inv.host.analytics is None:
        raise Failed("the app's users are not available to this run")
    if user_id is None or user_id == "":
        return {}
    if not isinstance(user_id, str) or len(user_id) > MAX_USER_ID_CHARS or "\x00" in user_id:
        return {}  # no user can have that identifier (the ingest refuses it)
    try:
        attributes = inv.host.analytics.user_attributes(user_id)
    except HostError as error:
        raise Failed(str(error)) from None
    return dict(attributes)


BIND = Bind(
    name="users",
    js=JS,
    handlers={"users.attributes": _attributes},
    k_members=("users",),
    dts="""
  readonly users: {
    /** The attributes associated with the user (by the SDKs' user association); empty for an unknown user. */
    getAttributes(userId: string): KUserAttributes | KFailure;
  };
""",
)

TYPES_DTS = """
interface KUserAttributes {
  /** True when the attribute exists and is neither null nor ''. */
  has(key: string): boolean;
  /** The attribute's value, or null. */
  get(key: string): any;
  /** Every attribute as a plain object. */
  all(): { [key: string]: any };
  toObject(): { [key: string]: any };
}
"""
