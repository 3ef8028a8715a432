"""Platform-admin endpoints: only staff may see every app and flip its switches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from console.apps.models import App


def test_staff_sees_every_app_with_its_owners(app: App, staff: Any, client_for: Callable) -> None:
    body = client_for(staff).get("/api/platform/apps/").json()
    assert [(a["name"], a["owners"], a["kscript_enabled"], a["suspended"]) for a in body] == [
        ("Photo Share", ["olivia"], False, False)
    ]


@pytest.mark.parametrize("who", ["owner", "member", "outsider"])
def test_non_staff_cannot_flip_switches(
    app: App, request: pytest.FixtureRequest, client_for: Callable, who: str
) -> None:
    client = client_for(request.getfixturevalue(who))
    assert client.get("/api/platform/apps/").status_code == 403
    response = client.patch(f"/api/platform/apps/{app.id}/", {"kscript_enabled": True}, format="json")
    assert response.status_code == 403
    app.refresh_from_db()
    assert app.kscript_enabled is False


def test_staff_enables_kscript_and_suspends(app: App, staff: Any, client_for: Callable) -> None:
    client = client_for(staff)
    assert (
        client.patch(f"/api/platform/apps/{app.id}/", {"kscript_enabled": True}, format="json").json()[
            "kscript_enabled"
        ]
        is True
    )
    body = client.patch(f"/api/platform/apps/{app.id}/", {"suspended": True}, format="json").json()
    assert (body["kscript_enabled"], body["suspended"]) == (True, True)


def test_a_non_boolean_switch_value_is_a_field_error(app: App, staff: Any, client_for: Callable) -> None:
    response = client_for(staff).patch(f"/api/platform/apps/{app.id}/", {"suspended": "maybe"}, format="json")
    assert response.status_code == 400
    assert "suspended" in response.json()


def test_owners_cannot_set_the_kscript_switch_through_the_app_endpoint(
    app: App, owner: Any, client_for: Callable
) -> None:
    client_for(owner).patch(f"/api/apps/{app.id}/", {"name": "X", "kscript_enabled": True}, format="json")
    app.refresh_from_db()
    assert app.kscript_enabled is False


def test_staff_creates_a_user_who_can_then_sign_in(staff: Any, client_for: Callable) -> None:
    response = client_for(staff).post(
        "/api/platform/users/",
        {"username": "newbie", "email": "n@example.test", "password": "a long passphrase 42", "is_staff": False},
        format="json",
    )
    assert response.status_code == 201
    assert "password" not in response.json()
    assert get_user_model().objects.get(username="newbie").check_password("a long passphrase 42")


def test_weak_password_and_taken_name_are_field_errors(staff: Any, client_for: Callable) -> None:
    response = client_for(staff).post(
        "/api/platform/users/", {"username": "ada", "email": "", "password": "123"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}


def test_non_staff_cannot_list_or_create_users(owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    assert client.get("/api/platform/users/").status_code == 403
    response = client.post("/api/platform/users/", {"username": "x", "password": "a long passphrase 42"}, format="json")
    assert response.status_code == 403
    assert not get_user_model().objects.filter(username="x").exists()
