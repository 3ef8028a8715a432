"""Working drafts in a real browser (a closed tab or another browser loses nothing, typing
makes no revision), the deploy review with its diffs, a rollback, a review overtaken by
someone else's deploy, and no stale "Deploy failed" after a success; screenshots at 1024
and 1440 px wide."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from apimethods.models import Deployment, KScriptDraft, KScriptMethod
from console.apps import services as app_services
from console.apps.models import App
from tests.browser.conftest import sign_in, snap
from tests.browser.test_kscript_ide import editor_text, replace_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIRST = "K.setResponse({hello: 1});\n"
TYPED = "var n = 2;\nK.setResponse({hello: n});\n"
BROKEN = "var a = 1;\nvar s = 'unterminated;\n"


@pytest.fixture
def kapp(app: App) -> App:
    app_services.set_platform_flags(app, kscript_enabled=True)
    return app


def create(client: Any, app: App, title: str, code: str = FIRST) -> dict[str, Any]:
    response = client.post(f"/api/apps/{app.id}/kscripts/", {"title": title, "code": code}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def save(client: Any, app: App, method: dict[str, Any], code: str, base: int) -> None:
    body = {"title": method["title"], "code": code, "base_revision": base, "allow_syntax_errors": True}
    assert client.put(f"/api/apps/{app.id}/kscripts/{method['id']}/", body, format="json").status_code == 200


def call(server: str, app: App, method: str) -> Any:
    app.refresh_from_db()
    return requests.post(
        f"{server}/b2.2/{app.api_key}/{method}.json", auth=(app.api_key, app.secret_key), data={}, timeout=30
    ).json()


def test_a_closed_tab_loses_nothing_even_offline(page: Page, kapp: App, owner: Any, client_for: Callable) -> None:
    method = create(client_for(owner), kapp, "Greet")
    sign_in(page, "olivia")
    page.goto(f"/apps/{kapp.id}/kscripts/{method['id']}")
    expect(page.get_by_test_id("save-status")).to_contain_text("Saved revision 1")

    # The server cannot be reached: the text waits in this browser.
    page.route("**/kscripts/*/draft/", lambda route: route.abort())
    replace_code(page, TYPED)
    status = page.get_by_test_id("save-status")
    expect(status).to_have_attribute("data-state", "local")
    expect(status).to_contain_text("Draft kept in this browser only")
    snap(page, "kscript-drafts-01-offline")
    assert not KScriptDraft.objects.exists()

    context = page.context
    page.close()
    again = context.new_page()
    again.goto(f"/apps/{kapp.id}/kscripts/{method['id']}")
    expect(again.get_by_test_id("save-status")).to_have_attribute("data-state", "draft")
    assert "hello: n" in editor_text(again)
    expect(again.get_by_test_id("toast").first).to_contain_text("is back in the editor")
    snap(again, "kscript-drafts-02-restored")
    # Back online, the draft reached the server; still no revision.
    assert KScriptDraft.objects.get().code == TYPED
    assert KScriptMethod.objects.get().latest_revision == 1


def test_another_browser_gets_the_servers_draft_and_can_discard_it(
    browser: Browser, live_server: Any, kapp: App, owner: Any, client_for: Callable
) -> None:
    method = create(client_for(owner), kapp, "Greet")
    first = browser.new_context(base_url=live_server.url, viewport={"width": 1440, "height": 900})
    page = first.new_page()
    sign_in(page, "olivia")
    page.goto(f"/apps/{kapp.id}/kscripts/{method['id']}")
    replace_code(page, TYPED)
    expect(page.get_by_test_id("save-status")).to_have_attribute("data-state", "draft")
    expect(page.get_by_test_id("save-status")).to_contain_text("not a revision yet")
    snap(page, "kscript-drafts-03-draft-1440")
    first.close()

    # Another browser: nothing in its localStorage, the server's draft comes back.
    second = browser.new_context(base_url=live_server.url, viewport={"width": 1024, "height": 768})
    other = second.new_page()
    sign_in(other, "olivia")
    other.goto(f"/apps/{kapp.id}/kscripts/{method['id']}")
    expect(other.get_by_test_id("save-status")).to_have_attribute("data-state", "draft")
    assert "hello: n" in editor_text(other)
    snap(other, "kscript-drafts-04-other-browser-1024")
    with other.expect_response(lambda r: r.url.endswith("/draft/") and r.request.method == "DELETE"):
        other.get_by_test_id("discard-draft").click()
    expect(other.get_by_test_id("save-status")).to_contain_text("Saved revision 1")
    assert "hello: 1" in editor_text(other)
    assert not KScriptDraft.objects.exists()
    assert KScriptMethod.objects.get().latest_revision == 1
    second.close()


def test_deploy_review_rollback_and_no_stale_failure(
    page: Page, kapp: App, owner: Any, member: Any, client_for: Callable, live_server: Any
) -> None:
    client = client_for(owner)
    greet = create(client, kapp, "Greet user")
    gone = create(client, kapp, "Gone soon")
    assert client.post(f"/api/apps/{kapp.id}/deployments/", {}, format="json").status_code == 201
    save(client, kapp, greet, "K.setResponse({hello: 2});\n", base=1)
    client.delete(f"/api/apps/{kapp.id}/kscripts/{gone['id']}/")
    brand = create(client, kapp, "Brand new")
    save(client, kapp, brand, BROKEN, base=1)

    # --- the broken method stops the deploy, with a message that goes once it works ---
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, "olivia")
    page.goto(f"/apps/{kapp.id}/kscripts/{brand['id']}")
    expect(page.get_by_test_id("syntax-status")).to_be_hidden()
    page.get_by_test_id("deploy").click()
    failure = page.get_by_test_id("toast").filter(has_text="Deploy failed")
    expect(failure).to_contain_text("Not deployed: line 2, column 9 does not parse")
    expect(page.get_by_test_id("deploy-dialog")).to_have_count(0)
    replace_code(page, "K.setResponse({brand: 'new'});\n")
    expect(page.get_by_test_id("save-status")).to_have_attribute("data-state", "draft")

    page.get_by_test_id("deploy").click()
    review = page.get_by_test_id("deploy-dialog")
    expect(failure).to_have_count(0)
    expect(review.get_by_test_id("deploy-headline")).to_contain_text("Clients now get deployment #1.")
    expect(review.get_by_test_id("deploy-summary")).to_have_text("1 changed · 1 added · 1 removed")
    changed = review.locator("[data-testid='deploy-change'][data-name='greetUser']")
    expect(changed.get_by_test_id("deploy-rev")).to_have_text("rev 1 → rev 2")
    expect(changed).to_contain_text("code changed")
    added = review.locator("[data-testid='deploy-change'][data-name='brandNew']")
    expect(added.get_by_test_id("deploy-rev")).to_have_text("rev 3")
    removed = review.locator("[data-testid='deploy-change'][data-name='goneSoon']")
    expect(removed).to_have_attribute("data-group", "removed")
    snap(page, "kscript-deploy-01-review-1440")
    changed.get_by_test_id("deploy-diff").click()
    diff = page.get_by_test_id("deploy-method-diff")
    expect(diff.get_by_test_id("diff-original-label")).to_contain_text("Live: deployment #1 · rev 1")
    expect(diff.get_by_test_id("diff-modified-label")).to_contain_text("To deploy · rev 2")
    expect(diff.locator(".monaco-diff-editor")).to_contain_text("hello: 2")
    snap(page, "kscript-deploy-02-diff-1440")
    page.get_by_test_id("deploy-diff-close").click()
    review.get_by_test_id("deploy-confirm").click()
    expect(page.get_by_test_id("kscript-live")).to_have_text("Live · rev 3")
    expect(page.get_by_test_id("toast").filter(has_text="Deployment #2 is live.")).to_be_visible()
    expect(page.get_by_test_id("toast").filter(has_text="Deploy failed")).to_have_count(0)
    assert call(live_server.url, kapp, "greetUser")["payload"] == {"hello": 2}

    # --- roll back to #1 from the list, in one review --------------------------------
    page.set_viewport_size({"width": 1024, "height": 768})
    page.get_by_test_id("kscript-back").click()
    rows = page.get_by_test_id("deployment-row")
    expect(rows).to_have_count(2)
    snap(page, "kscript-deploy-03-list-1024")
    page.locator("[data-testid='deployment-row'][data-number='1']").get_by_test_id("rollback").click()
    review = page.get_by_test_id("deploy-dialog")
    expect(review).to_contain_text("Rolling back makes deployment #1's methods live again")
    expect(
        review.locator("[data-testid='deploy-change'][data-name='greetUser']").get_by_test_id("deploy-rev")
    ).to_have_text("rev 2 → rev 1")
    expect(review.locator("[data-testid='deploy-change'][data-name='goneSoon']")).to_have_attribute(
        "data-group", "added"
    )
    expect(review.get_by_test_id("deploy-confirm")).to_have_text("Roll back to #1")
    snap(page, "kscript-deploy-04-rollback-1024")
    review.get_by_test_id("deploy-confirm").click()
    expect(rows).to_have_count(3)
    newest = page.locator("[data-testid='deployment-row'][data-number='3']")
    expect(newest.get_by_test_id("deployment-restored")).to_have_text("rollback to #1")
    expect(page.get_by_test_id("live-deployment")).to_contain_text("Deployment #3")
    expect(page.get_by_test_id("live-deployment")).to_contain_text("rolled back to #1")
    expect(newest).to_contain_text("Live")
    assert call(live_server.url, kapp, "greetUser")["payload"] == {"hello": 1}
    assert Deployment.objects.get(number=3).restored_from == 1

    # --- a review overtaken by someone else's deploy is refused and shown again --------
    page.get_by_test_id("deploy").click()
    review = page.get_by_test_id("deploy-dialog")
    expect(review.get_by_test_id("deploy-headline")).to_contain_text("Clients now get deployment #3.")
    assert client_for(member).post(f"/api/apps/{kapp.id}/deployments/", {}, format="json").status_code == 201
    review.get_by_test_id("deploy-confirm").click()
    expect(review.get_by_test_id("deploy-error")).to_have_text(
        "Deployment #4 by devon went live after you reviewed the changes; review them again."
    )
    expect(review.get_by_test_id("deploy-headline")).to_contain_text("Clients now get deployment #4.")
    expect(review.get_by_test_id("deploy-nothing")).to_be_visible()
    expect(review.get_by_test_id("deploy-confirm")).to_be_disabled()
    snap(page, "kscript-deploy-05-overtaken-1024")
    assert Deployment.objects.count() == 4
