"""The API method editor in a real browser: "search people by meal" built by dragging,
a create with a nested create built from the keyboard, both run, deployed and called
with curl over the client protocol."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from apimethods.models import ApiMethod
from console.apps.models import App
from console.tables import services as table_services
from tests.browser.conftest import sign_in, snap

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def drag(page: Page, source: Locator, target: Locator) -> None:
    """Press on `source`, move in small steps onto `target`, let go (SortableJS needs moves)."""
    start, end = source.bounding_box(), target.bounding_box()
    assert start is not None and end is not None
    page.mouse.move(start["x"] + 12, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + 30, start["y"] + start["height"] / 2 + 10, steps=5)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=20)
    page.mouse.up()


def saved(page: Page) -> None:
    expect(page.get_by_test_id("save-status")).to_have_attribute("data-state", "saved")


def curl(base: str, app: App, method: str, params: dict[str, str]) -> Any:
    args = ["curl", "-s", "-u", f"{app.api_key}:{app.secret_key}", f"{base}/b2.2/{app.api_key}/{method}.json"]
    for key, value in params.items():
        args += ["--data-urlencode", f"params[{key}]={value}"]
    return json.loads(subprocess.run(args, capture_output=True, check=True, timeout=30).stdout)


@pytest.fixture
def meals(app: App, make_table: Callable[..., Any]) -> dict[str, int]:
    people = make_table(app, "people", name="string")
    meals = make_table(app, "meals", title="string")
    favorites = make_table(
        app, "favoriteMeals", connoisseur=("belongs_to", people, "cascade"), meal=("belongs_to", meals, "cascade")
    )
    ann = table_services.insert_record(people, {"name": "Ann"})["peopleID"]
    bob = table_services.insert_record(people, {"name": "Bob"})["peopleID"]
    pasta = table_services.insert_record(meals, {"title": "Spaghetti Carbonara"})["mealID"]
    curry = table_services.insert_record(meals, {"title": "Green curry"})["mealID"]
    table_services.insert_record(favorites, {"connoisseur": ann, "meal": pasta})
    table_services.insert_record(favorites, {"connoisseur": bob, "meal": curry})
    return {"ann": ann, "bob": bob, "pasta": pasta}


def new_method(page: Page, title: str, table: str, name: str | None = None) -> None:
    page.get_by_test_id("new-api-method").click()
    page.get_by_test_id("api-title").fill(title)
    if name is not None:  # the name clients will call, shown as the title is typed
        expect(page.get_by_test_id("api-name-preview")).to_have_text(name)
        snap(page, "api-00-new-method-dialog")
    page.get_by_test_id("api-table").select_option(table)
    page.get_by_test_id("api-create").click()
    expect(page.get_by_test_id("api-editor")).to_be_visible()


def test_build_run_deploy_and_call_api_methods(page: Page, live_server: Any, app: App, meals: dict[str, int]) -> None:
    sign_in(page, "olivia")
    page.goto(f"/apps/{app.id}/api")
    expect(page.get_by_test_id("api-empty")).to_be_visible()

    # --- search people by meal, by dragging ------------------------------------------
    new_method(page, "Search people by meal", "people", name="searchPeopleByMeal")
    page.get_by_test_id("custom-param-name").fill("meal")
    page.get_by_test_id("custom-param-add").click()
    drag(page, page.get_by_test_id("palette-select"), page.get_by_test_id("action-list"))
    card = page.get_by_test_id("action-card")
    expect(card).to_have_count(1)
    expect(card).to_have_attribute("data-type", "select")
    card.get_by_test_id("filter-add-and").click()
    card.get_by_test_id("filter-field").select_option(label="meals.title")
    card.get_by_test_id("filter-op").select_option("contains")
    card.get_by_test_id("filter-value").select_option(label="param: meal")
    expect(page.get_by_test_id("signature-text")).to_have_text(
        "searchPeopleByMeal(meal: string)\n→ array of people records"
    )
    saved(page)
    snap(page, "api-01-search-people-by-meal")

    page.get_by_test_id("run-param-meal").fill("spaghetti")
    page.get_by_test_id("run").click()
    expect(page.get_by_test_id("run-records")).to_contain_text("Ann")
    expect(page.get_by_test_id("run-records")).not_to_contain_text("Bob")
    expect(page.get_by_test_id("run-sql")).to_contain_text("EXISTS (SELECT 1 FROM")
    expect(page.get_by_test_id("run-time")).to_contain_text("Ran in")
    snap(page, "api-02-run")
    definition = ApiMethod.objects.get(name="searchPeopleByMeal").revisions.order_by("-number").first()
    assert definition is not None
    assert definition.definition["actions"][0]["filters"] == [
        {"field": "title", "op": "contains", "via": ["favoriteMeals.connoisseur", "meal"], "value": {"param": "meal"}}
    ]

    # --- a create with a nested create: dragged inside, then tidied from the keyboard -----
    page.get_by_test_id("api-back").click()
    new_method(page, "Add person with meal", "people")
    page.get_by_test_id("param-toggle-name").check()
    page.get_by_test_id("custom-param-name").fill("meal")
    page.get_by_test_id("custom-param-type").select_option("integer")
    page.get_by_test_id("custom-param-add").click()
    drag(page, page.get_by_test_id("palette-create"), page.get_by_test_id("action-list"))
    expect(page.get_by_test_id("action-card")).to_have_count(1)
    # The second create goes in from the keyboard: "Add action here" inside the first.
    page.get_by_test_id("add-action-a1").select_option("create")
    expect(page.get_by_test_id("action-list-a1").get_by_test_id("action-card")).to_have_count(1)
    outer = page.locator("[data-id='a1']")
    inner = page.locator("[data-id='a2']")
    outer.get_by_test_id("value-name").first.select_option(label="param: name")
    inner.get_by_test_id("action-table").select_option("favoriteMeals")
    inner.get_by_test_id("value-connoisseur").select_option(label="a1 row (people): peopleID")
    inner.get_by_test_id("value-meal").select_option(label="param: meal")
    # Out and back in with the keyboard buttons: the tree is the same afterwards.
    inner.get_by_test_id("action-outdent").click()
    expect(page.get_by_test_id("action-list").locator(":scope > [data-id='a2']")).to_have_count(1)
    page.locator("[data-id='a2']").get_by_test_id("action-indent").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("action-list-a1").locator("[data-id='a2']")).to_have_count(1)
    page.get_by_test_id("returned-action").select_option("a2")
    expect(page.get_by_test_id("signature-text")).to_have_text(
        "addPersonWithMeal(name: string, meal: integer)\n→ number: the new record's ID"
    )
    saved(page)
    snap(page, "api-03-create-with-nested-create")
    page.get_by_test_id("run-param-name").fill("Cy")
    page.get_by_test_id("run-param-meal").fill(str(meals["pasta"]))
    page.get_by_test_id("run").click()
    expect(page.get_by_test_id("run-value")).to_have_text("3")  # the third favoriteMeals record

    # --- deploy, and call both with curl ------------------------------------------
    page.get_by_test_id("deploy").click()
    expect(page.get_by_test_id("method-live")).to_have_attribute("data-state", "live")
    found = curl(live_server.url, app, "searchPeopleByMeal", {"meal": "spag"})
    assert found["responseCode"] == 1
    assert [p["name"] for p in found["payload"]] == ["Ann", "Cy"]
    created = curl(live_server.url, app, "addPersonWithMeal", {"name": "Dee", "meal": str(meals["pasta"])})
    assert (created["responseCode"], created["payload"]) == (1, 4)
    again = curl(live_server.url, app, "searchPeopleByMeal", {"meal": "carbonara"})
    assert [p["name"] for p in again["payload"]] == ["Ann", "Cy", "Dee"]

    page.get_by_test_id("api-back").click()
    rows = page.get_by_test_id("method-row")
    expect(rows).to_have_count(2)
    expect(page.get_by_test_id("method-kind").first).to_have_text("API method")
    snap(page, "api-04-list")
