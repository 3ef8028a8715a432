"""`manage.py app_keys`: an app takes the keys an existing Kumulos app was built with, so its
unchanged clients authenticate; the old keys stop working at once."""

from __future__ import annotations

import base64
import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from console.apps.models import App

pytestmark = pytest.mark.django_db(transaction=True)

KUMULOS_KEY = "3ba2c5e1-7d4f-4b8e-9e2a-4f1c0d6b8a21"
KUMULOS_SECRET = "q2Yw8Dk3LmZ7tH1pVx9sRb4Jn6Ue0Ca5Gf2Ko8Wi"
BAD_KEY = "1 to 64 printable ASCII characters, no spaces, / ? # % or :."
BAD_SECRET = "1 to 64 printable ASCII characters, no spaces."


def channels(client: Client, api_key: str, secret: str) -> int:
    auth = "Basic " + base64.b64encode(f"{api_key}:{secret}".encode()).decode()
    response = client.get("/v1/app-installs/i-1/channels", HTTP_AUTHORIZATION=auth, HTTP_HOST="push.kumulos.com")
    return response.status_code


def test_setting_the_kumulos_keys_moves_the_clients_over(app: App, client: Client, settings: object) -> None:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "push.kumulos.com"]  # type: ignore[attr-defined]
    old_key, old_secret = app.api_key, app.secret_key
    assert channels(client, old_key, old_secret) == 200  # now cached by this process

    out = io.StringIO()
    call_command("app_keys", str(app.pk), "--api-key", KUMULOS_KEY, "--secret-key", KUMULOS_SECRET, stdout=out)

    assert out.getvalue() == f"api key:    {KUMULOS_KEY}\nsecret key: {KUMULOS_SECRET}\n"
    assert App.objects.filter(pk=app.pk).values_list("api_key", "secret_key").get() == (KUMULOS_KEY, KUMULOS_SECRET)
    assert channels(client, KUMULOS_KEY, KUMULOS_SECRET) == 200
    assert channels(client, old_key, old_secret) == 401
    assert channels(client, KUMULOS_KEY, old_secret) == 401


def test_printing_the_keys_changes_nothing(app: App) -> None:
    out = io.StringIO()
    call_command("app_keys", app.api_key, stdout=out)
    assert out.getvalue() == f"api key:    {app.api_key}\nsecret key: {app.secret_key}\n"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--api-key", "has/slash", "--secret-key", "fine"], f"api_key: {BAD_KEY}"),
        (["--api-key", "key:colon"], f"api_key: {BAD_KEY}"),
        (["--api-key", ""], f"api_key: {BAD_KEY}"),
        (["--api-key", "fine-key", "--secret-key", "with space"], f"secret_key: {BAD_SECRET}"),
        (["--secret-key", "x" * 65], f"secret_key: {BAD_SECRET}"),
    ],
)
def test_keys_clients_could_not_send_are_refused_and_nothing_changes(
    app: App, flags: list[str], message: str
) -> None:
    before = (app.api_key, app.secret_key)
    with pytest.raises(CommandError) as refused:
        call_command("app_keys", str(app.pk), *flags, stdout=io.StringIO())
    assert str(refused.value) == message
    assert App.objects.filter(pk=app.pk).values_list("api_key", "secret_key").get() == before


def test_another_apps_key_is_refused(app: App, other_app: App) -> None:
    before = (app.api_key, app.secret_key)
    with pytest.raises(CommandError) as refused:
        call_command("app_keys", str(app.pk), "--api-key", other_app.api_key, stdout=io.StringIO())
    assert str(refused.value) == "api_key: Another app has this API key."
    assert App.objects.filter(pk=app.pk).values_list("api_key", "secret_key").get() == before


def test_an_unknown_app_is_an_error() -> None:
    with pytest.raises(CommandError, match="No app with id or API key '999999'"):
        call_command("app_keys", "999999", stdout=io.StringIO())
