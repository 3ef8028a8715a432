import { describe, expect, it } from "vitest";
import { ApiError } from "./api";
import { cardSection, emptyState, errorAlert, h, loadingStatus, pageHead } from "./dom";

describe("loadingStatus", () => {
  it("is a status line with a spinner", () => {
    expect(loadingStatus("Loading apps…").outerHTML).toBe(
      '<div class="loading" role="status"><span class="spinner"></span>Loading apps…</div>',
    );
  });
});

describe("errorAlert", () => {
  it("is an announced error line with the thrown value's message", () => {
    expect(errorAlert(new ApiError(403, "Not allowed.")).outerHTML).toBe(
      '<p class="form-error" role="alert">Not allowed.</p>',
    );
    expect(errorAlert("offline").outerHTML).toBe(
      '<p class="form-error" role="alert">offline</p>',
    );
  });
});

describe("cardSection", () => {
  it("is labelled by its heading and shows the description", () => {
    const section = cardSection(
      {
        title: "Members",
        description: "Who can work on it.",
        testid: "members",
        id: "card-members",
      },
      h("p", null, "body"),
    );
    expect(section.outerHTML).toBe(
      '<section class="card section" aria-labelledby="card-members" data-testid="members">' +
        '<div class="section-head"><h2 class="section-title" id="card-members">Members</h2>' +
        '<p class="muted">Who can work on it.</p></div><p>body</p></section>',
    );
  });

  it("leaves out an empty description and lays out actions in a row", () => {
    const add = h("button", null, "Add");
    const section = cardSection({
      title: "Users",
      description: null,
      testid: "users",
      id: "users-title",
      actions: add,
    });
    const head = section.querySelector(".section-head");
    expect(head?.className).toBe("section-head section-head-row");
    expect(head?.querySelector("p")).toBeNull();
    expect(head?.lastElementChild).toBe(add);
  });
});

describe("pageHead", () => {
  it("puts a text lead in a muted line and leaves elements as they are", () => {
    const head = pageHead({
      title: "Apps",
      lead: "All of them.",
      actions: h("button", null, "New"),
    });
    expect(head.tagName).toBe("HEADER");
    expect(head.querySelector("h1.page-title")?.textContent).toBe("Apps");
    expect(head.querySelector("p.muted")?.textContent).toBe("All of them.");
    expect(head.lastElementChild?.tagName).toBe("BUTTON");
    const badges = h("div", { class: "badges" }, "live");
    const other = pageHead({ title: "Shop", titleTestid: "app-title", lead: badges });
    expect(other.querySelector("[data-testid='app-title']")?.textContent).toBe("Shop");
    expect(other.querySelector(".badges")).toBe(badges);
    expect(other.querySelector("p")).toBeNull();
  });
});

describe("emptyState", () => {
  it("stacks icon, title, lead and actions in its frame", () => {
    const state = emptyState({
      testid: "things-empty",
      frame: "card",
      icon: h("i"),
      title: "No things yet",
      lead: ["Make one with ", h("code", null, "K.insert"), "."],
      actions: [h("button", null, "New"), h("button", null, "Import")],
    });
    expect(state.outerHTML).toBe(
      '<div class="card empty" data-testid="things-empty"><span class="empty-icon"><i></i></span>' +
        '<h2 class="empty-title">No things yet</h2><p class="muted">Make one with <code>K.insert</code>.</p>' +
        '<div class="empty-actions"><button>New</button><button>Import</button></div></div>',
    );
  });

  it("leaves out what it was not given, and can be a page's alert with a focusable title", () => {
    const state = emptyState({
      testid: "oops",
      role: "alert",
      heading: "h1",
      focusTitle: true,
      title: "Gone",
    });
    expect(state.outerHTML).toBe(
      '<div class="empty" role="alert" data-testid="oops"><h1 class="empty-title" tabindex="-1">Gone</h1></div>',
    );
    const inline = emptyState({
      testid: "none",
      frame: "inline",
      heading: "p",
      title: "None",
    });
    expect(inline.className).toBe("empty empty-inline");
    expect(inline.firstElementChild?.tagName).toBe("P");
  });
});
