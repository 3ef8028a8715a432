"""Platform-admin endpoints: only staff may see every app and flip its switches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.utils import timezone
from rest_framework.test import APIClient

from console.apps.models import App
from tests.fixtures.accounts import PASSWORD


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


def _signed_in(username: str) -> APIClient:
    client = APIClient()
    assert client.login(username=username, password=PASSWORD)
    return client


def test_staff_edits_a_users_name_email_and_staff_flag(owner: Any, staff: Any, client_for: Callable) -> None:
    response = client_for(staff).patch(
        f"/api/platform/users/{owner.id}/",
        {"username": "olivia2", "email": "o2@example.test", "is_staff": True},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["username"], body["email"], body["is_staff"], body["is_active"]) == (
        "olivia2",
        "o2@example.test",
        True,
        True,
    )
    owner.refresh_from_db()
    assert (owner.username, owner.email, owner.is_staff, owner.is_superuser) == (
        "olivia2",
        "o2@example.test",
        True,
        True,
    )


def test_disabling_a_user_ends_their_sessions_and_refuses_sign_in(owner: Any, staff: Any, client_for: Callable) -> None:
    session = _signed_in("olivia")
    assert session.get("/api/auth/me/").status_code == 200
    response = client_for(staff).patch(f"/api/platform/users/{owner.id}/", {"is_active": False}, format="json")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert session.get("/api/auth/me/").status_code == 403
    assert not Session.objects.filter(expire_date__gt=timezone.now()).exists()
    refused = APIClient().post("/api/auth/login/", {"username": "olivia", "password": PASSWORD}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"detail": "Wrong username or password."}
    # Enabled again, the same password works.
    client_for(staff).patch(f"/api/platform/users/{owner.id}/", {"is_active": True}, format="json")
    assert _signed_in("olivia").get("/api/auth/me/").json()["username"] == "olivia"


def test_disabling_one_user_keeps_the_others_signed_in(
    owner: Any, member: Any, staff: Any, client_for: Callable
) -> None:
    kept = _signed_in("devon")
    client_for(staff).patch(f"/api/platform/users/{owner.id}/", {"is_active": False}, format="json")
    assert kept.get("/api/auth/me/").json()["username"] == "devon"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"is_active": False}, "is_active"), ({"is_staff": False}, "is_staff")],
)
def test_staff_cannot_disable_or_demote_themselves(
    staff: Any, client_for: Callable, body: dict[str, bool], field: str
) -> None:
    response = client_for(staff).patch(f"/api/platform/users/{staff.id}/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    staff.refresh_from_db()
    assert (staff.is_active, staff.is_staff) == (True, True)


def test_a_taken_or_malformed_username_changes_nothing(
    owner: Any, member: Any, staff: Any, client_for: Callable
) -> None:
    client = client_for(staff)
    taken = client.patch(
        f"/api/platform/users/{owner.id}/", {"username": "DEVON", "email": "x@example.test"}, format="json"
    )
    assert taken.status_code == 400
    assert taken.json() == {"username": ["'DEVON' is taken."]}
    bad = client.patch(f"/api/platform/users/{owner.id}/", {"username": "o livia", "is_staff": True}, format="json")
    assert bad.status_code == 400
    assert list(bad.json()) == ["username"]
    owner.refresh_from_db()
    assert (owner.username, owner.email, owner.is_staff) == ("olivia", "olivia@example.test", False)


def test_editing_a_missing_user_is_404(staff: Any, client_for: Callable) -> None:
    assert client_for(staff).patch("/api/platform/users/999999/", {"email": ""}, format="json").status_code == 404


@pytest.mark.parametrize("who", ["owner", "member", "outsider"])
def test_non_staff_cannot_edit_or_disable_users(
    owner: Any, staff: Any, request: pytest.FixtureRequest, client_for: Callable, who: str
) -> None:
    client = client_for(request.getfixturevalue(who))
    for body in ({"is_active": False}, {"is_staff": True}, {"username": "mallory"}):
        assert client.patch(f"/api/platform/users/{staff.id}/", body, format="json").status_code == 403
        assert client.patch(f"/api/platform/users/{owner.id}/", body, format="json").status_code == 403
    for user in (owner, staff):
        before = (user.username, user.is_active, user.is_staff)
        user.refresh_from_db()
        assert (user.username, user.is_active, user.is_staff) == before
