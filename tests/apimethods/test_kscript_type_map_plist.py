"""A deployed KScript returning K.select rows with a type map, called over HTTP as the iOS
SDKs call it (.plist): Data fields arrive as <data>, DateTime fields as <date>, and text
XML cannot carry never breaks the document (real V8, PostgreSQL and Kiln's WSGI app)."""

from __future__ import annotations

import base64
import json
import plistlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from apimethods import services as method_services
from console.apps import services as app_services
from console.apps.models import App
from console.tables.models import Table

pytestmark = pytest.mark.django_db(transaction=True)

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452")
BORN = 1462182612  # 2016-05-02 09:50:12 UTC


@pytest.fixture
def photos(app: App, owner: Any, make_table: Callable[..., Table]) -> Table:
    app_services.set_platform_flags(app, kscript_enabled=True)
    return make_table(app, "photos", title="string", photo="data", born="datetime")


def deploy_and_call(app: App, owner: Any, server: str, code: str, fmt: str) -> requests.Response:
    method_services.create_kscript(app, owner, title="List photos", return_type="objects", params=[], code=code)
    method_services.deploy_app(app, owner)
    return requests.post(
        f"{server}/b2.2/{app.api_key}/listPhotos.{fmt}",
        auth=(app.api_key, app.secret_key),
        data={"installId": "ios-install", "sessionToken": "tok-ios"},
        timeout=30,
    )


def code_for(photos: Table, title: str, type_map: str) -> str:
    image = base64.b64encode(PNG).decode()
    return (
        f"K.insert('{photos.alias}', {{title: {json.dumps(title)}, photo: '{image}', born: {BORN}}});"
        f"{type_map}"
        f"K.setResponse(K.select('{photos.alias}').run());"
    )


def test_type_map_sends_data_as_data_and_datetimes_as_dates(
    app: App, owner: Any, photos: Table, wsgi_server: str
) -> None:
    type_map = "K.setResponseTypeMap({photo: K.Types.DATA, born: K.Types.DATE_TIME, timeCreated: K.Types.DATE_TIME});"
    response = deploy_and_call(app, owner, wsgi_server, code_for(photos, "sunset", type_map), "plist")

    assert response.headers["Content-Type"] == "application/xml"
    assert b"<key>photo</key><data>iVBORw0KGgoAAAANSUhEUg==</data>" in response.content
    assert b"<key>born</key><date>2016-05-02T09:50:12Z</date>" in response.content
    envelope = plistlib.loads(response.content)
    assert envelope["responseCode"] == 1 and envelope["sessionToken"] == "tok-ios"
    [row] = envelope["payload"]
    assert (row["title"], row["photo"], row["born"]) == ("sunset", PNG, datetime(2016, 5, 2, 9, 50, 12))
    assert isinstance(row["timeCreated"], datetime)
    assert abs(row["timeCreated"].replace(tzinfo=UTC).timestamp() - datetime.now(UTC).timestamp()) < 120


def test_without_a_type_map_the_values_stay_as_the_script_saw_them(
    app: App, owner: Any, photos: Table, wsgi_server: str
) -> None:
    response = deploy_and_call(app, owner, wsgi_server, code_for(photos, "dusk", ""), "plist")
    [row] = plistlib.loads(response.content)["payload"]
    assert (row["photo"], row["born"]) == ("iVBORw0KGgoAAAANSUhEUg==", BORN)


def test_text_xml_cannot_carry_still_gives_a_document_apple_parses(
    app: App, owner: Any, photos: Table, wsgi_server: str
) -> None:
    type_map = "K.setResponseTypeMap({photo: K.Types.DATA});"
    title = "bell\u0007 tab\t vt\u000b esc\u001b <&> \ufffe end"
    response = deploy_and_call(app, owner, wsgi_server, code_for(photos, title, type_map), "plist")

    response.content.decode("utf-8")
    [row] = plistlib.loads(response.content)["payload"]
    assert row["title"] == "bell\ufffd tab\t vt\ufffd esc\ufffd <&> \ufffd end"
    assert row["photo"] == PNG
    # The JSON envelope carries the same text exactly as stored.
    method_services.deploy_app(app, owner)
    as_json = requests.post(
        f"{wsgi_server}/b2.2/{app.api_key}/listPhotos.json", auth=(app.api_key, app.secret_key), timeout=30
    ).json()
    assert [r["title"] for r in as_json["payload"]] == [title, title]
