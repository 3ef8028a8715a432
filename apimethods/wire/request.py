"""Separation of a decoded body into method parameters and the identity fields every SDK sends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .codes import ResponseCode
from .errors import WireError

#: Top-level fields that are never method parameters (spec §2.3 plus ``params`` itself).
RESERVED_FIELDS = frozenset(
    {
        "params",
        "sessionToken",
        "installId",
        "deviceID",
        "deviceType",
        "bindingVersion",
        "hashedKey",
        "salt",
    }
)


@dataclass(frozen=True, slots=True)
class ClientRequest:
    params: dict[str, Any]
    session_token: str | None
    install_id: str | None
    device_id: str | None
    device_type: str | None
    hashed_key: str | None
    salt: str | None
    binding_version: str | None


def split_fields(data: dict[str, Any]) -> ClientRequest:
    """Pull the method parameters and identity fields out of a body decoded by ``parse_body``.

    Parameters come from ``params``. Top-level fields other than the reserved ones are
    parameters too (the 2017 Xamarin SDK and the R client sent them bare; Cordova's encoder
    drops the ``params[`` prefix of nested values, ``tags[0]=a``); a name in ``params``
    wins. Identity fields that are missing, empty or not scalar come back as ``None``.
    """
    bare = {name: value for name, value in data.items() if name not in RESERVED_FIELDS}
    if "params" in data:
        params = _params_object(data["params"])
        if bare:
            params = {**bare, **params}
    else:
        params = bare
    return ClientRequest(
        params=params,
        session_token=_identity(data.get("sessionToken")),
        install_id=_identity(data.get("installId")),
        device_id=_identity(data.get("deviceID")),
        device_type=_identity(data.get("deviceType")),
        hashed_key=_identity(data.get("hashedKey")),
        salt=_identity(data.get("salt")),
        binding_version=_identity(data.get("bindingVersion")),
    )


def _params_object(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    # "No parameters" arrives as JSON null, an empty form value, or (from PHP's json_encode
    # of an empty array) as []; all of them mean the same thing.
    if value is None or value == "" or value == []:
        return {}
    raise WireError(ResponseCode.INVALID_REQUEST, "'params' must be an object of named parameters")


def _identity(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # A JSON client may send deviceType or salt as a number; 7.0 must read as "7".
        return str(int(value)) if value.is_integer() else repr(value)
    return None
