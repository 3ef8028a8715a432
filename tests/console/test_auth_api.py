"""Sign-in, sign-out and CSRF through a real session (no forced authentication)."""

from __future__ import annotations

from typing import Any

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
