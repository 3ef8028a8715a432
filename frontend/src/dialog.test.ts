import { afterEach, describe, expect, it } from "vitest";
import { ApiError } from "./api";
import { confirmDialog, formDialog, openDialog, showFieldErrors } from "./dialog";
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

describe("formDialog", () => {
  it("lays out fields, error line and a Cancel / submit footer", () => {
    const field = h("input", { testid: "name" });
    const { form, submit, cancel, dialog } = formDialog({
      title: "New thing",
      description: "Things are nice.",
      testid: "new-thing-dialog",
      formClass: "stack",
      fields: [field],
      submitLabel: "Create thing",
      submitTestid: "new-thing-submit",
      cancelTestid: "new-thing-cancel",
      errorTestid: "new-thing-error",
      onSubmit: () => undefined,
    });
    expect(dialog.panel.getAttribute("data-testid")).toBe("new-thing-dialog");
    expect(form.className).toBe("stack");
    expect(form.hasAttribute("novalidate")).toBe(true);
    expect(Array.from(form.children).map((el) => el.outerHTML)).toEqual([
      '<input data-testid="name">',
      '<p class="form-error" role="alert" hidden="" data-testid="new-thing-error"></p>',
      `<div class="dialog-footer">${cancel.outerHTML}${submit.outerHTML}</div>`,
    ]);
    expect(submit.outerHTML).toBe(
      '<button type="submit" class="btn btn-primary" data-testid="new-thing-submit">Create thing</button>',
    );
    expect(cancel.outerHTML).toBe(
      '<button type="button" class="btn btn-secondary" data-testid="new-thing-cancel">Cancel</button>',
    );
    expect(document.activeElement).toBe(field);
  });

  it("runs onSubmit without leaving the page, shows and hides errors", () => {
    let submits = 0;
    const handle = formDialog({
      title: "Edit",
      formClass: "dialog-form",
      fields: [],
      submitLabel: "Save",
      onSubmit: () => {
        submits += 1;
      },
    });
    const event = new Event("submit", { cancelable: true });
    handle.form.dispatchEvent(event);
    expect(event.defaultPrevented).toBe(true);
    expect(submits).toBe(1);
    const error = handle.form.querySelector<HTMLElement>(".form-error");
    handle.showError("Name taken.");
    expect(error?.textContent).toBe("Name taken.");
    expect(error?.hidden).toBe(false);
    handle.hideError();
    expect(error?.hidden).toBe(true);
  });

  it("closes on Cancel and hands the cancel button to initialFocus", async () => {
    const handle = formDialog({
      title: "Edit",
      formClass: "dialog-form",
      fields: [h("input")],
      submitLabel: "Save",
      initialFocus: (cancel) => cancel,
      onSubmit: () => undefined,
    });
    expect(document.activeElement).toBe(handle.cancel);
    handle.cancel.click();
    await handle.dialog.closed;
    expect(document.querySelector(".dialog")).toBeNull();
  });
});

describe("showFieldErrors", () => {
  function field(): {
    input: HTMLInputElement;
    setError(msg: string): void;
    error: string;
  } {
    const input = h("input") as HTMLInputElement;
    document.body.appendChild(input);
    return {
      input,
      error: "",
      setError(msg: string) {
        this.error = msg;
      },
    };
  }

  it("puts messages under their fields, focuses the first and shows the others in the error line", () => {
    const name = field();
    const email = field();
    const shown: string[] = [];
    const err = new ApiError(400, "Check the fields.", {
      email: ["Enter a valid email address."],
      non_field_errors: ["That user is disabled."],
    });
    showFieldErrors(err, { name, email }, (m) => shown.push(m));
    expect([name.error, email.error]).toEqual(["", "Enter a valid email address."]);
    expect(document.activeElement).toBe(email.input);
    expect(shown).toEqual(["That user is disabled."]);
  });

  it("shows the detail when no field has a message and ignores network errors", () => {
    const name = field();
    const shown: string[] = [];
    showFieldErrors(new ApiError(403, "Not allowed."), { name }, (m) => shown.push(m));
    showFieldErrors(new ApiError(0, "Offline.", {}, true), { name }, (m) =>
      shown.push(m),
    );
    expect(shown).toEqual(["Not allowed."]);
  });
});
