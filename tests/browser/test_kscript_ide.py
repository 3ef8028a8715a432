"""The KScript IDE in a real browser: create, drafts and Save, Run It!, errors, a
concurrent save, history, the deploy review, and the deployed method called over the
client protocol."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from apimethods.models import KScriptDraft, KScriptMethod
from console.apps.models import App
from tests.browser.conftest import sign_in, snap
from tests.fixtures.accounts import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GREETING = (
    "var greeting = 'Hello, ' + K.params.name;\nK.log('greeting', greeting);\nK.setResponse({greeting: greeting});\n"
)


def replace_code(page: Page, code: str) -> None:
    """Select everything in Monaco and insert `code` as typed text (no auto-closing)."""
    page.locator(".monaco-editor .view-lines").click()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.insert_text(code)


def editor_text(page: Page) -> str:
    return page.locator(".monaco-editor .view-lines").inner_text().replace("\xa0", " ")


def enable_kscript_as_staff(browser: Browser, base_url: str) -> None:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
    admin = context.new_page()
    admin.goto("/login")
    admin.get_by_label("Username").fill("ada")
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Sign in").click()
    expect(admin.get_by_test_id("current-user")).to_have_text("ada")
    admin.goto("/platform")
    admin.get_by_role("switch", name="KScript enabled for Photo Share").click()
    expect(admin.locator("[data-state='saved']").first).to_be_visible()
    context.close()


def test_write_run_fix_resolve_a_conflict_restore_and_deploy_a_kscript(
    page: Page, browser: Browser, live_server: Any, app: App, staff: Any, member: Any, client_for: Any
) -> None:
    sign_in(page, "olivia")
    page.goto(f"/apps/{app.id}/kscripts")
    expect(page.get_by_test_id("kscript-disabled")).to_contain_text("not enabled")
    expect(page.get_by_test_id("new-kscript")).to_have_count(0)
    snap(page, "kscript-01-disabled")

    enable_kscript_as_staff(browser, live_server.url)
    page.reload()
    expect(page.get_by_test_id("kscript-empty")).to_be_visible()
    expect(page.get_by_test_id("nav-app-kscripts")).to_have_attribute("aria-current", "page")

    # --- create a method with a parameter -----------------------------------------
    page.get_by_test_id("new-kscript").click()
    page.get_by_test_id("kscript-title").fill("Greet user")
    expect(page.get_by_test_id("kscript-name-preview")).to_have_text("greetUser")
    page.get_by_test_id("kscript-add-param").click()
    page.get_by_label("Parameter 1 name").fill("name")
    page.get_by_test_id("kscript-add-param").click()
    page.get_by_label("Parameter 2 name").fill("name")
    page.get_by_test_id("kscript-form-submit").click()
    expect(page.get_by_test_id("kscript-dialog")).to_contain_text("Another parameter has this name.")
    snap(page, "kscript-02-new-method-dialog")
    page.get_by_test_id("kscript-param-remove").nth(1).click()
    page.get_by_test_id("kscript-form-submit").click()

    expect(page.get_by_test_id("kscript-editor-title")).to_have_text("Greet user")
    expect(page.get_by_test_id("kscript-editor-params")).to_have_text("(name: string)")
    expect(page.locator(".monaco-editor")).to_be_visible()
    expect(page.get_by_test_id("save-status")).to_contain_text("Saved revision 1")
    method = KScriptMethod.objects.get(app=app, name="greetUser")

    # --- completion from the K typings; typing keeps a draft, Save makes a revision ----
    replace_code(page, "K.setR")
    page.keyboard.press("Control+Space")
    expect(page.locator(".suggest-widget")).to_contain_text("setResponse")
    snap(page, "kscript-03-completion")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("save-status")).to_have_attribute("data-state", "draft")
    replace_code(page, GREETING)
    expect(page.get_by_test_id("save-status")).to_have_attribute("data-state", "draft")
    expect(page.get_by_test_id("save-status")).to_contain_text("not a revision yet")
    assert KScriptDraft.objects.get(method=method).code == GREETING
    assert method.revisions.count() == 1  # pauses in typing make no revisions
    page.keyboard.press("ControlOrMeta+s")
    expect(page.get_by_test_id("save-status")).to_contain_text("Saved revision 2")
    assert method.revisions.get(number=2).code == GREETING
    assert not KScriptDraft.objects.filter(method=method).exists()

    # --- Run It! with a parameter value ----------------------------------------------
    page.get_by_test_id("run-param-name").fill("Ann")
    page.get_by_test_id("run").click()
    expect(page.get_by_test_id("run-result")).to_contain_text('"greeting": "Hello, Ann"')
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-state", "ok")
    expect(page.get_by_test_id("run-log")).to_contain_text("greeting Hello, Ann")
    snap(page, "kscript-04-run-ok")

    # --- a syntax error is a marker while typing; it blocks Run It!, not the draft ------
    replace_code(page, "var a = 1;\nvar s = 'unterminated;\n")
    expect(page.get_by_test_id("syntax-status")).to_contain_text("Line 2")
    expect(page.get_by_test_id("syntax-status")).to_contain_text("Run and Deploy wait for a fix")
    expect(page.get_by_test_id("kscript-editor")).to_have_attribute("data-error-lines", "2")
    expect(page.get_by_test_id("save-status")).to_have_attribute("data-state", "draft")
    snap(page, "kscript-05-syntax-error")
    page.get_by_test_id("run").click()
    expect(page.get_by_test_id("run-error")).to_contain_text("Not run: line 2, column 9 does not parse")
    assert method.revisions.count() == 2
    assert KScriptDraft.objects.get(method=method).code == "var a = 1;\nvar s = 'unterminated;\n"

    # --- a runtime error: Run It! makes a revision, then shows the line ----------------
    replace_code(page, "var a = 1;\n  null.boom();\nK.setResponse({});\n")
    expect(page.get_by_test_id("syntax-status")).to_be_hidden()
    expect(page.get_by_test_id("kscript-editor")).to_have_attribute("data-error-lines", "")
    page.get_by_test_id("run-param-name").press("ControlOrMeta+Enter")
    expect(page.get_by_test_id("run-error-where")).to_have_text("Line 2, column 8")
    expect(page.get_by_test_id("run-status")).to_have_attribute("data-state", "error")
    expect(page.get_by_test_id("save-status")).to_contain_text("Saved revision 3")
    expect(page.get_by_test_id("kscript-editor")).to_have_attribute("data-error-lines", "2")
    expect(page.locator(".monaco-editor .squiggly-error").first).to_be_attached()
    snap(page, "kscript-06-run-error")

    # --- someone else saves meanwhile: the overwrite warning comes while typing ---------
    other = client_for(member)
    latest = other.get(f"/api/apps/{app.id}/kscripts/{method.id}/").json()
    theirs = other.put(
        f"/api/apps/{app.id}/kscripts/{method.id}/",
        {**latest, "code": "// devon was here\nK.setResponse({});\n", "base_revision": latest["revision"]},
        format="json",
    )
    assert theirs.status_code == 200 and theirs.json()["revision"] == 4
    replace_code(page, "var mine = 1;\nK.setResponse({mine: mine});\n")
    dialog = page.get_by_test_id("conflict-dialog")
    expect(dialog).to_contain_text("devon")
    expect(dialog).to_contain_text("revision 4")
    expect(page.get_by_test_id("save-status")).to_have_attribute("data-state", "conflict")
    # Nothing typed is lost while the person decides: the draft holds it.
    assert KScriptDraft.objects.get(method=method).code == "var mine = 1;\nK.setResponse({mine: mine});\n"
    snap(page, "kscript-07-conflict")
    page.get_by_test_id("conflict-compare").click()
    diff = page.get_by_test_id("conflict-diff")
    expect(diff).to_contain_text("Theirs: revision 4 by devon")
    expect(diff.locator(".monaco-diff-editor")).to_be_visible()
    expect(diff.locator(".monaco-diff-editor")).to_contain_text("devon was here")
    snap(page, "kscript-08-conflict-diff")
    page.get_by_test_id("diff-overwrite").click()
    expect(page.get_by_test_id("save-status")).to_contain_text("Saved revision 5")
    assert method.revisions.get(number=5).code == "var mine = 1;\nK.setResponse({mine: mine});\n"
    assert method.revisions.get(number=4).code.startswith("// devon was here")

    # --- history: compare two revisions, restore the greeting (revision 2) --------------
    page.get_by_test_id("tab-history").click()
    rows = page.get_by_test_id("revision-row")
    expect(rows).to_have_count(5)
    expect(rows.first).to_contain_text("Revision 5")
    snap(page, "kscript-09-history")
    page.get_by_test_id("compare-from").select_option("2")
    page.get_by_test_id("compare-to").select_option("4")
    page.get_by_test_id("compare-two").click()
    two = page.get_by_test_id("revision-diff")
    expect(two.get_by_test_id("diff-original-label")).to_have_text("Revision 2")
    expect(two.get_by_test_id("diff-modified-label")).to_have_text("Revision 4")
    expect(two.locator(".monaco-diff-editor")).to_contain_text("devon was here")
    expect(two.locator(".monaco-diff-editor")).to_contain_text("Hello, ")
    snap(page, "kscript-10-history-diff")
    page.get_by_test_id("diff-close").click()
    row2 = page.locator("[data-testid='revision-row'][data-revision='2']")
    row2.get_by_test_id("revision-restore").click()
    expect(page.get_by_test_id("save-status")).to_contain_text("Saved revision 6")
    expect(rows.first).to_contain_text("Revision 6")
    assert "Hello, " in editor_text(page)
    assert method.revisions.get(number=6).code == GREETING

    # --- deploy: the review lists the change, a diff on click, then it is live ---------
    expect(page.get_by_test_id("kscript-live")).to_have_text("Not deployed")
    page.get_by_test_id("deploy").click()
    review = page.get_by_test_id("deploy-dialog")
    expect(review.get_by_test_id("deploy-headline")).to_contain_text("Nothing is live yet.")
    added = review.locator("[data-testid='deploy-change'][data-name='greetUser']")
    expect(added).to_have_attribute("data-group", "added")
    expect(added.get_by_test_id("deploy-rev")).to_have_text("rev 6")
    expect(review.get_by_test_id("deploy-confirm")).to_have_text("Deploy 1 change")
    snap(page, "kscript-11-deploy-review")
    added.get_by_test_id("deploy-diff").click()
    expect(page.get_by_test_id("deploy-method-diff").locator(".monaco-diff-editor")).to_contain_text("Hello, ")
    page.get_by_test_id("deploy-diff-close").click()
    review.get_by_test_id("deploy-confirm").click()
    expect(page.get_by_test_id("kscript-live")).to_have_text("Live · rev 6")
    snap(page, "kscript-12-deployed")

    page.get_by_test_id("kscript-back").click()
    row = page.locator("[data-testid='kscript-row'][data-name='greetUser']")
    expect(row.get_by_test_id("kscript-live")).to_have_attribute("data-state", "live")
    expect(page.get_by_test_id("live-deployment")).to_contain_text("Deployment #1")
    expect(page.get_by_test_id("deployment-row")).to_have_count(1)
    expect(page.get_by_test_id("deployment-row")).to_contain_text("greetUser (rev 6)")
    snap(page, "kscript-13-list")

    # --- clients call the deployed method over the wire protocol ------------------------
    app.refresh_from_db()
    answer = requests.post(
        f"{live_server.url}/b2.2/{app.api_key}/greetUser.json",
        auth=(app.api_key, app.secret_key),
        data={"params[name]": "Ann"},
        timeout=30,
    ).json()
    assert (answer["responseCode"], answer["payload"]) == (1, {"greeting": "Hello, Ann"})


def test_methods_are_edited_and_deleted_from_the_list(page: Page, app: App, owner: Any) -> None:
    from console.apps import services as app_services

    app_services.set_platform_flags(app, kscript_enabled=True)
    sign_in(page, "olivia")
    page.goto(f"/apps/{app.id}/kscripts")
    page.get_by_test_id("new-kscript").click()
    page.get_by_test_id("kscript-title").fill("Count rides")
    page.get_by_test_id("kscript-return-type").select_option("number")
    page.get_by_test_id("kscript-form-submit").click()
    expect(page.get_by_test_id("kscript-editor-title")).to_have_text("Count rides")

    page.get_by_test_id("kscript-back").click()
    page.get_by_test_id("new-kscript").click()
    page.get_by_test_id("kscript-title").fill("count Rides")
    page.get_by_test_id("kscript-form-submit").click()
    expect(page.get_by_test_id("kscript-title-error")).to_contain_text("already called countRides")
    snap(page, "kscript-14-name-clash")
    page.get_by_test_id("dialog-cancel").click()

    row = page.locator("[data-testid='kscript-row'][data-name='countRides']")
    expect(row).to_contain_text("number")
    row.get_by_test_id("kscript-edit").click()
    page.get_by_test_id("kscript-title").fill("Count all rides")
    page.get_by_test_id("kscript-add-param").click()
    page.get_by_label("Parameter 1 name").fill("since")
    page.get_by_label("Parameter 1 type").select_option("datetime")
    page.get_by_test_id("kscript-form-submit").click()
    row = page.locator("[data-testid='kscript-row'][data-name='countAllRides']")
    expect(row).to_contain_text("since: datetime")
    expect(row).to_contain_text("Revision 2")

    row.get_by_test_id("kscript-delete").click()
    page.get_by_test_id("kscript-delete-confirm").click()
    expect(page.get_by_test_id("kscript-empty")).to_be_visible()
    assert not KScriptMethod.objects.filter(app=app).exists()


def test_text_that_could_not_be_saved_is_offered_again_and_details_are_edited_in_the_ide(
    page: Page, app: App, owner: Any, member: Any, client_for: Any
) -> None:
    from console.apps import services as app_services

    app_services.set_platform_flags(app, kscript_enabled=True)
    created = (
        client_for(owner)
        .post(
            f"/api/apps/{app.id}/kscripts/",
            {"title": "Echo", "params": [{"name": "text", "type": "string"}], "code": "K.setResponse({});"},
            format="json",
        )
        .json()
    )
    sign_in(page, "olivia")
    page.goto(f"/apps/{app.id}/kscripts/{created['id']}")
    expect(page.get_by_test_id("save-status")).to_contain_text("Saved revision 1")

    # The IDE edits title and parameters too (a new revision with the same code).
    page.get_by_test_id("kscript-details").click()
    page.get_by_test_id("kscript-add-param").click()
    page.get_by_label("Parameter 2 name").fill("times")
    page.get_by_label("Parameter 2 type").select_option("integer")
    page.get_by_test_id("kscript-form-submit").click()
    expect(page.get_by_test_id("kscript-editor-params")).to_have_text("(text: string, times: integer)")
    expect(page.get_by_test_id("save-status")).to_contain_text("Saved revision 2")
    page.get_by_test_id("run-param-times").fill("two")
    page.get_by_test_id("run").click()
    expect(page.get_by_test_id("run-params")).to_contain_text("Enter a whole number.")

    # Devon saves meanwhile; Olivia's text cannot be saved, and she leaves the page.
    latest = client_for(member).get(f"/api/apps/{app.id}/kscripts/{created['id']}/").json()
    client_for(member).put(
        f"/api/apps/{app.id}/kscripts/{created['id']}/",
        {**latest, "code": "// devon\n", "base_revision": 2},
        format="json",
    )
    replace_code(page, "K.setResponse({echo: K.params.text});\n")
    expect(page.get_by_test_id("conflict-dialog")).to_be_visible()
    page.get_by_test_id("conflict-later").click()
    expect(page.get_by_test_id("save-status")).to_have_attribute("data-state", "conflict")
    page.get_by_test_id("kscript-back").click()
    expect(page.get_by_test_id("kscript-table")).to_be_visible()

    page.get_by_test_id("kscript-open").click()
    expect(page.get_by_test_id("stash-dialog")).to_contain_text("based on revision 2")
    expect(page.get_by_test_id("stash-dialog")).to_contain_text("now at revision 3")
    snap(page, "kscript-15-unsaved-text-offered")
    page.get_by_test_id("stash-restore").click()
    expect(page.get_by_test_id("save-status")).to_have_attribute("data-state", "draft")
    assert "echo" in editor_text(page)
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("save-status")).to_contain_text("Saved revision 4")
    assert KScriptMethod.objects.get(pk=created["id"]).revisions.get(number=4).code == (
        "K.setResponse({echo: K.params.text});\n"
    )
