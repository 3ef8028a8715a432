"""Apps, keys and members through the console API, as owner, member and outsider."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from console.apps.models import App, Membership, Role


def test_creating_an_app_makes_the_creator_its_owner_with_fresh_keys(owner: Any, client_for: Callable) -> None:
    response = client_for(owner).post("/api/apps/", {"name": "  Ride   Log "}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Ride Log"
    assert body["role"] == "owner"
    assert len(body["api_key"]) == 36 and len(body["secret_key"]) == 36
    assert body["members"] == [{"user_id": owner.id, "username": owner.username, "role": "owner"}]
    assert Membership.objects.get(app_id=body["id"]).role == Role.OWNER


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_creating_an_app_with_a_bad_name_explains_and_creates_nothing(
    owner: Any, client_for: Callable, name: str
) -> None:
    response = client_for(owner).post("/api/apps/", {"name": name}, format="json")
    assert response.status_code == 400
    assert "name" in response.json()
    assert App.objects.count() == 0


def test_two_apps_never_share_keys(owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    first = client.post("/api/apps/", {"name": "A"}, format="json").json()
    second = client.post("/api/apps/", {"name": "B"}, format="json").json()
    assert first["api_key"] != second["api_key"]
    assert first["secret_key"] != second["secret_key"]


def test_each_user_lists_only_the_apps_they_belong_to(
    app: App, owner: Any, member: Any, outsider: Any, client_for: Callable
) -> None:
    assert [a["role"] for a in client_for(owner).get("/api/apps/").json()] == ["owner"]
    assert [a["role"] for a in client_for(member).get("/api/apps/").json()] == ["developer"]
    assert client_for(outsider).get("/api/apps/").json() == []


def test_the_list_does_not_reveal_secret_keys(app: App, owner: Any, client_for: Callable) -> None:
    assert "secret_key" not in client_for(owner).get("/api/apps/").json()[0]


@pytest.mark.parametrize("who, status", [("owner", 200), ("member", 200), ("outsider", 404)])
def test_app_detail_with_keys_is_for_members_only(
    app: App, request: pytest.FixtureRequest, client_for: Callable, who: str, status: int
) -> None:
    response = client_for(request.getfixturevalue(who)).get(f"/api/apps/{app.id}/")
    assert response.status_code == status
    if status == 200:
        assert response.json()["secret_key"] == app.secret_key
    else:
        assert "secret_key" not in response.json()


def test_signed_out_visitors_get_a_clear_403(app: App, client_for: Callable) -> None:
    response = client_for(None).get(f"/api/apps/{app.id}/")
    assert response.status_code == 403
    assert response.json() == {"detail": "Sign in first."}


@pytest.mark.parametrize("who, status", [("owner", 200), ("member", 403), ("outsider", 404)])
def test_only_the_owner_renames(
    app: App, request: pytest.FixtureRequest, client_for: Callable, who: str, status: int
) -> None:
    response = client_for(request.getfixturevalue(who)).patch(f"/api/apps/{app.id}/", {"name": "New"}, format="json")
    assert response.status_code == status
    app.refresh_from_db()
    assert app.name == ("New" if status == 200 else "Photo Share")


@pytest.mark.parametrize("who, status", [("owner", 200), ("member", 403), ("outsider", 404)])
def test_only_the_owner_rotates_the_secret(
    app: App, request: pytest.FixtureRequest, client_for: Callable, who: str, status: int
) -> None:
    old = app.secret_key
    response = client_for(request.getfixturevalue(who)).post(f"/api/apps/{app.id}/rotate-secret/")
    assert response.status_code == status
    app.refresh_from_db()
    if status == 200:
        assert app.secret_key != old
        assert response.json()["secret_key"] == app.secret_key
    else:
        assert app.secret_key == old


@pytest.mark.parametrize("who, status", [("owner", 204), ("member", 403), ("outsider", 404)])
def test_only_the_owner_deletes(
    app: App, request: pytest.FixtureRequest, client_for: Callable, who: str, status: int
) -> None:
    response = client_for(request.getfixturevalue(who)).delete(f"/api/apps/{app.id}/")
    assert response.status_code == status
    assert App.objects.filter(pk=app.pk).exists() == (status != 204)


@pytest.mark.parametrize("who, status", [("owner", 201), ("member", 403), ("outsider", 404)])
def test_only_the_owner_adds_members(
    app: App, request: pytest.FixtureRequest, make_user: Callable, client_for: Callable, who: str, status: int
) -> None:
    newcomer = make_user("nina")
    response = client_for(request.getfixturevalue(who)).post(
        f"/api/apps/{app.id}/members/", {"username": "nina", "role": "developer"}, format="json"
    )
    assert response.status_code == status
    assert Membership.objects.filter(app=app, user=newcomer).exists() == (status == 201)


def test_adding_an_unknown_user_names_the_problem(app: App, owner: Any, client_for: Callable) -> None:
    response = client_for(owner).post(
        f"/api/apps/{app.id}/members/", {"username": "ghost", "role": "developer"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"username": ["No user is called 'ghost'."]}


def test_adding_an_existing_member_again_is_refused(app: App, owner: Any, member: Any, client_for: Callable) -> None:
    response = client_for(owner).post(
        f"/api/apps/{app.id}/members/", {"username": member.username, "role": "owner"}, format="json"
    )
    assert response.status_code == 400
    assert Membership.objects.get(app=app, user=member).role == Role.DEVELOPER


def test_owner_promotes_and_removes_a_member(app: App, owner: Any, member: Any, client_for: Callable) -> None:
    client = client_for(owner)
    promoted = client.patch(f"/api/apps/{app.id}/members/{member.id}/", {"role": "owner"}, format="json")
    assert promoted.json() == {"user_id": member.id, "username": member.username, "role": "owner"}
    assert client.delete(f"/api/apps/{app.id}/members/{member.id}/").status_code == 204
    assert not Membership.objects.filter(app=app, user=member).exists()


def test_the_last_owner_can_neither_leave_nor_be_demoted(app: App, owner: Any, client_for: Callable) -> None:
    client = client_for(owner)
    demote = client.patch(f"/api/apps/{app.id}/members/{owner.id}/", {"role": "developer"}, format="json")
    leave = client.delete(f"/api/apps/{app.id}/members/{owner.id}/")
    assert demote.status_code == 400 and leave.status_code == 400
    assert "at least one owner" in demote.json()["detail"]
    assert Membership.objects.get(app=app, user=owner).role == Role.OWNER


def test_changing_a_non_member_is_a_404(app: App, owner: Any, outsider: Any, client_for: Callable) -> None:
    response = client_for(owner).patch(f"/api/apps/{app.id}/members/{outsider.id}/", {"role": "owner"}, format="json")
    assert response.status_code == 404


def test_a_bad_role_is_a_field_error(app: App, owner: Any, member: Any, client_for: Callable) -> None:
    response = client_for(owner).patch(f"/api/apps/{app.id}/members/{member.id}/", {"role": "king"}, format="json")
    assert response.status_code == 400
    assert "role" in response.json()


def test_malformed_json_gets_a_json_error_not_a_page(owner: Any, client_for: Callable) -> None:
    response = client_for(owner).generic("POST", "/api/apps/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()
