"""Tables of the reference's examples (photo sharing, biographies, favourite meals, rides)
and helpers to build API methods on them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from apimethods.actions import services
from apimethods.models import ApiMethodRevision
from console.apps.models import App
from console.tables.models import Table


@pytest.fixture
def photo_tables(app: App, make_table: Callable[..., Table]) -> dict[str, Table]:
    """users, photos (photographer -> users) and comments (photo -> photos, author -> users)."""
    users = make_table(app, "users", name="string", born="datetime", city="string")
    photos = make_table(
        app,
        "photos",
        title="string",
        description="text",
        image="data",
        rating="float",
        public="boolean",
        photographer=("belongs_to", users, "cascade"),
    )
    comments = make_table(
        app,
        "comments",
        body="text",
        photo=("belongs_to", photos, "cascade"),
        author=("belongs_to", users, "cascade"),
    )
    return {"users": users, "photos": photos, "comments": comments}


@pytest.fixture
def meal_tables(app: App, make_table: Callable[..., Table]) -> dict[str, Table]:
    """people, meals, and favoriteMeals linking them (connoisseur -> people, meal -> meals)."""
    people = make_table(app, "people", name="string", reason="text")
    meals = make_table(app, "meals", title="string", description="text", chef="string")
    favorites = make_table(
        app,
        "favoriteMeals",
        likes="string",
        connoisseur=("belongs_to", people, "cascade"),
        meal=("belongs_to", meals, "cascade"),
    )
    return {"people": people, "meals": meals, "favoriteMeals": favorites}


@pytest.fixture
def make_method(app: App, owner: Any) -> Callable[..., ApiMethodRevision]:
    """make_method("Get photos", table="photos", params=[...], actions=[...], returned=None)"""

    def build(title: str, **definition: Any) -> ApiMethodRevision:
        definition.setdefault("params", [])
        definition.setdefault("actions", [])
        return services.create_api_method(app, owner, title=title, definition=definition)

    return build
