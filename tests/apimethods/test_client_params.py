"""K.params as real Kumulos clients post them, over Kiln's real web process: undeclared
params passed through, arrays and objects from nested keys, JavaScript's null spellings,
and a clear code 32 for a list given to a scalar param."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from apimethods import services as method_services
from console.apps import services as app_services
from console.apps.models import App

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def show_params(app: App, owner: Any, kiln_server: Callable[..., str]) -> Callable[..., dict[str, Any]]:
    app_services.set_platform_flags(app, kscript_enabled=True)
    method_services.create_kscript(
        app,
        owner,
        title="show params",
        return_type="objects",
        params=[{"name": "name", "type": "string"}, {"name": "age", "type": "integer"}],
        code="K.setResponse(K.params);",
    )
    method_services.deploy_app(app, owner)
    base = kiln_server()

    def post(body: bytes | str, content_type: str = "application/x-www-form-urlencoded") -> dict[str, Any]:
        response = requests.post(
            f"{base}/b2.2/{app.api_key}/showParams.json",
            auth=(app.api_key, app.secret_key),
            data=body.encode() if isinstance(body, str) else body,
            headers={"Content-Type": content_type},
            timeout=15,
        )
        return dict(response.json())

    return post


def test_undeclared_params_reach_the_script_as_sent(show_params: Callable[..., dict[str, Any]]) -> None:
    answer = show_params("params[name]=Ann&params[age]=41&params[city]=Leeds")
    assert answer["payload"] == {"name": "Ann", "age": 41, "city": "Leeds"}


def test_objc_double_escaped_array_keys_arrive_as_an_array(show_params: Callable[..., dict[str, Any]]) -> None:
    answer = show_params("params%255Bname%255D=Ann&params%255Btags%255D%255B%255D=a&params%255Btags%255D%255B%255D=b")
    assert answer["payload"] == {"name": "Ann", "age": None, "tags": ["a", "b"]}


def test_php_indexed_arrays_and_nested_objects(show_params: Callable[..., dict[str, Any]]) -> None:
    answer = show_params("params%5Btags%5D%5B0%5D=a&params%5Btags%5D%5B1%5D=b&params%5Bwhere%5D%5Bcity%5D=Leeds")
    assert answer["payload"] == {"name": None, "age": None, "tags": ["a", "b"], "where": {"city": "Leeds"}}


def test_cordova_nested_values_without_the_params_prefix(show_params: Callable[..., dict[str, Any]]) -> None:
    answer = show_params("params[name]=Ann&tags[0]=x&tags[1]=y&sessionToken=t1&installId=i1")
    assert answer["payload"] == {"name": "Ann", "age": None, "tags": ["x", "y"]}
    assert answer["sessionToken"] == "t1"


def test_react_native_null_spellings(show_params: Callable[..., dict[str, Any]]) -> None:
    body = (
        b"--B\r\nContent-Disposition: form-data; name=\"params[age]\"\r\n\r\nnull\r\n"
        b"--B\r\nContent-Disposition: form-data; name=\"params[name]\"\r\n\r\nundefined\r\n--B--\r\n"
    )
    answer = show_params(body, "multipart/form-data; boundary=B")
    # Empty for a number; text keeps what was sent (it may be what the user typed).
    assert answer["payload"] == {"name": "undefined", "age": None}


def test_a_list_for_a_scalar_param_is_a_clear_code_32(show_params: Callable[..., dict[str, Any]]) -> None:
    answer = show_params(json.dumps({"params": {"age": [1, 2]}}), "application/json")
    assert (answer["responseCode"], answer["responseMessage"]) == (
        32,
        "Invalid request: Parameter 'age' must be an integer, not a list",
    )
