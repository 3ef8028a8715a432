"""Sign-in, sign-out and CSRF through a real session (no forced authentication)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.fixtures.accounts import PASSWORD


def test_sign_in_then_me_then_sign_out(owner: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    assert client.get("/api/auth/me/").status_code == 403
    token = client.cookies["csrftoken"].value
    signed_in = client.post(
        "/api/auth/login/", {"username": "olivia", "password": PASSWORD}, format="json", HTTP_X_CSRFTOKEN=token
    )
    assert signed_in.status_code == 200
    assert signed_in.json() == {"id": owner.id, "username": "olivia", "email": "olivia@example.test", "is_staff": False}
    assert client.get("/api/auth/me/").json()["username"] == "olivia"
    token = client.cookies["csrftoken"].value
    assert client.post("/api/auth/logout/", HTTP_X_CSRFTOKEN=token).status_code == 204
    assert client.get("/api/auth/me/").status_code == 403


def test_wrong_password_is_refused_with_one_message(owner: Any) -> None:
    response = APIClient().post("/api/auth/login/", {"username": "olivia", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Wrong username or password."}


def test_writes_without_the_csrf_token_are_refused(owner: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="olivia", password=PASSWORD)
    response = client.post("/api/apps/", {"name": "Sneaky"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_passwords_are_stored_as_bcrypt_hashes(owner: Any) -> None:
    assert owner.password.startswith("bcrypt_sha256$$2b$")


def test_openapi_document_is_served(owner: Any) -> None:
    client = APIClient()
    client.force_authenticate(owner)
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert b"/api/apps/{app_id}/rotate-secret/" in response.content


def _password_change(client: APIClient, current: str, new: str) -> Any:
    return client.post("/api/auth/password/", {"current_password": current, "new_password": new}, format="json")


@pytest.mark.parametrize("who", ["owner", "staff", "outsider"])
def test_anyone_changes_their_own_password_and_stays_signed_in(request: pytest.FixtureRequest, who: str) -> None:
    user = request.getfixturevalue(who)
    client = APIClient()
    other_device = APIClient()
    assert client.login(username=user.username, password=PASSWORD)
    assert other_device.login(username=user.username, password=PASSWORD)
    assert _password_change(client, PASSWORD, "a brand new passphrase 7").status_code == 204
    assert client.get("/api/auth/me/").json()["username"] == user.username
    # Other sessions end: they were signed in with the old password.
    assert other_device.get("/api/auth/me/").status_code == 403
    user.refresh_from_db()
    assert user.password.startswith("bcrypt_sha256$$2b$")
    assert user.check_password("a brand new passphrase 7")
    assert not user.check_password(PASSWORD)


def test_a_wrong_current_password_changes_nothing(owner: Any) -> None:
    client = APIClient()
    client.login(username="olivia", password=PASSWORD)
    before = owner.password
    response = _password_change(client, "not it", "a brand new passphrase 7")
    assert response.status_code == 400
    assert response.json() == {"current_password": ["The current password is wrong."]}
    owner.refresh_from_db()
    assert owner.password == before


def test_a_weak_new_password_changes_nothing(owner: Any) -> None:
    client = APIClient()
    client.login(username="olivia", password=PASSWORD)
    before = owner.password
    response = _password_change(client, PASSWORD, "123")
    assert response.status_code == 400
    assert list(response.json()) == ["new_password"]
    owner.refresh_from_db()
    assert owner.password == before


def test_signed_out_visitors_cannot_change_a_password(owner: Any) -> None:
    before = owner.password
    assert _password_change(APIClient(), PASSWORD, "a brand new passphrase 7").status_code == 403
    owner.refresh_from_db()
    assert owner.password == before


def test_password_guesses_are_throttled_per_user(owner: Any) -> None:
    cache.delete(f"throttle_password_{owner.pk}")
    client = APIClient()
    client.login(username="olivia", password=PASSWORD)
    before = owner.password
    codes = [_password_change(client, f"guess {n}", "a brand new passphrase 7").status_code for n in range(11)]
    assert codes == [400] * 10 + [429]
    # Even the right password is refused until the minute is over.
    assert _password_change(client, PASSWORD, "a brand new passphrase 7").status_code == 429
    owner.refresh_from_db()
    assert owner.password == before
    cache.delete(f"throttle_password_{owner.pk}")
