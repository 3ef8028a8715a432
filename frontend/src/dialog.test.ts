import { afterEach, describe, expect, it } from "vitest";
import { confirmDialog, openDialog } from "./dialog";
import { h } from "./dom";

afterEach(() => {
  document.body.replaceChildren();
});

function key(k: string, shiftKey = false): KeyboardEvent {
  const event = new KeyboardEvent("keydown", {
    key: k,
    shiftKey,
    bubbles: true,
    cancelable: true,
  });
  (document.activeElement ?? document.body).dispatchEvent(event);
  return event;
}

describe("openDialog", () => {
  it("is a labelled modal that traps Tab and closes on Escape", async () => {
    const opener = h("button", null, "Open");
    const app = h("div", { id: "app" }, opener);
    document.body.appendChild(app);
    opener.focus();

    const first = h("input", { id: "x" });
    const last = h("button", { type: "button" }, "OK");
    const dialog = openDialog({
      title: "Hello",
      body: h("div", null, h("label", { for: "x" }, "X"), first, last),
    });
    const panel = document.querySelector('[role="dialog"]');
    expect(panel?.getAttribute("aria-modal")).toBe("true");
    const labelledBy = panel?.getAttribute("aria-labelledby") ?? "";
    expect(document.getElementById(labelledBy)?.textContent).toBe("Hello");
    expect(app.hasAttribute("inert")).toBe(true);
    expect(document.activeElement).toBe(first);

    last.focus();
    expect(key("Tab").defaultPrevented).toBe(true);
    // Wraps to the first focusable element (the close button in the header).
    expect(document.activeElement?.getAttribute("aria-label")).toBe("Close dialog");
    expect(key("Tab", true).defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(last);

    key("Escape");
    await dialog.closed;
    expect(document.querySelector('[role="dialog"]')).toBeNull();
    expect(app.hasAttribute("inert")).toBe(false);
    expect(document.activeElement).toBe(opener);
  });
});

describe("confirmDialog", () => {
  it("requires the exact text before confirming and runs the action", async () => {
    let ran = 0;
    const result = confirmDialog({
      title: "Delete?",
      message: "Sure?",
      confirmLabel: "Delete this app",
      confirmTestid: "go",
      requireText: "my-app",
      requireTestid: "typed",
      action: () => {
        ran += 1;
        return Promise.resolve();
      },
    });
    const go = document.querySelector<HTMLButtonElement>('[data-testid="go"]');
    const typed = document.querySelector<HTMLInputElement>('[data-testid="typed"]');
    expect(go?.disabled).toBe(true);
    expect(document.activeElement).toBe(typed);
    if (!typed || !go) throw new Error("missing controls");
    typed.value = "my-ap";
    typed.dispatchEvent(new Event("input"));
    expect(go.disabled).toBe(true);
    typed.value = "my-app";
    typed.dispatchEvent(new Event("input"));
    expect(go.disabled).toBe(false);
    go.click();
    await expect(result).resolves.toBe(true);
    expect(ran).toBe(1);
  });

  it("keeps the dialog open and shows the error when the action fails", async () => {
    const result = confirmDialog({
      title: "Rotate?",
      message: "Old secret stops working.",
      confirmLabel: "Yes, rotate secret",
      confirmTestid: "go",
      action: () => Promise.reject(new Error("Only owners can rotate.")),
    });
    document.querySelector<HTMLButtonElement>('[data-testid="go"]')?.click();
    await new Promise((r) => setTimeout(r, 0));
    const error = document.querySelector('[data-testid="dialog-error"]');
    expect(error?.textContent).toBe("Only owners can rotate.");
    expect(error?.hasAttribute("hidden")).toBe(false);
    document.querySelector<HTMLButtonElement>('[data-testid="dialog-cancel"]')?.click();
    await expect(result).resolves.toBe(false);
  });
});
