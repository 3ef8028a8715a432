/**
 * Modal dialogs: role="dialog" + aria-modal, Esc closes, Tab is trapped inside, the
 * page behind is made inert, and focus returns to where it was on close.
 */
import { ApiError } from "./api";
import { button, h, type ButtonVariant, type Child, uniqueId, withBusy } from "./dom";
import { errorText } from "./format";

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function focusableIn(root: Element): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)).filter(
    (el) => !el.hidden && !el.closest("[hidden]"),
  );
}

export interface DialogOptions {
  title: string;
  description?: Child;
  body?: Child;
  footer?: Child;
  testid?: string;
  /** Element to focus first; defaults to the first focusable field or button. */
  initialFocus?: () => HTMLElement | null;
  onClose?: () => void;
}

export interface DialogHandle {
  overlay: HTMLDivElement;
  panel: HTMLDivElement;
  close(): void;
  readonly closed: Promise<void>;
}

const stack: DialogHandle[] = [];

function setBackgroundInert(inert: boolean): void {
  for (const child of Array.from(document.body.children)) {
    if (
      child.classList.contains("dialog-overlay") ||
      child.classList.contains("toasts")
    ) {
      continue;
    }
    if (inert) child.setAttribute("inert", "");
    else child.removeAttribute("inert");
  }
}

export function openDialog(options: DialogOptions): DialogHandle {
  const titleId = uniqueId("dlg-title");
  const descId = options.description ? uniqueId("dlg-desc") : undefined;
  const returnFocus =
    document.activeElement instanceof HTMLElement ? document.activeElement : null;

  const closeBtn = h(
    "button",
    { type: "button", class: "dialog-x", "aria-label": "Close dialog" },
    "×",
  );
  const panel = h(
    "div",
    {
      class: "dialog",
      role: "dialog",
      "aria-modal": "true",
      "aria-labelledby": titleId,
      "aria-describedby": descId,
      testid: options.testid,
    },
    h(
      "div",
      { class: "dialog-head" },
      h("h2", { id: titleId, class: "dialog-title" }, options.title),
      closeBtn,
    ),
    options.description
      ? h("div", { class: "dialog-desc", id: descId }, options.description)
      : null,
    options.body ? h("div", { class: "dialog-body" }, options.body) : null,
    options.footer ? h("div", { class: "dialog-footer" }, options.footer) : null,
  );
  const overlay = h("div", { class: "dialog-overlay" }, panel);

  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  let isOpen = true;

  const handle: DialogHandle = {
    overlay,
    panel,
    closed,
    close() {
      if (!isOpen) return;
      isOpen = false;
      overlay.remove();
      const index = stack.indexOf(handle);
      if (index >= 0) stack.splice(index, 1);
      if (stack.length === 0) setBackgroundInert(false);
      document.removeEventListener("keydown", onKey, true);
      options.onClose?.();
      if (returnFocus && document.contains(returnFocus)) returnFocus.focus();
      resolveClosed();
    },
  };

  function onKey(event: KeyboardEvent): void {
    if (stack[stack.length - 1] !== handle) return;
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      handle.close();
      return;
    }
    if (event.key !== "Tab") return;
    const items = focusableIn(panel);
    const first = items[0];
    const last = items[items.length - 1];
    if (!first || !last) {
      event.preventDefault();
      panel.focus();
      return;
    }
    const active = document.activeElement;
    if (event.shiftKey && (active === first || !panel.contains(active))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !panel.contains(active))) {
      event.preventDefault();
      first.focus();
    }
  }

  closeBtn.addEventListener("click", () => handle.close());
  overlay.addEventListener("mousedown", (event) => {
    if (event.target === overlay) handle.close();
  });
  panel.tabIndex = -1;

  document.body.appendChild(overlay);
  setBackgroundInert(true);
  stack.push(handle);
  document.addEventListener("keydown", onKey, true);

  const preferred = options.initialFocus?.();
  const firstField = panel.querySelector<HTMLElement>(
    ".dialog-body input:not([disabled]), .dialog-body select, .dialog-body textarea",
  );
  (
    preferred ??
    firstField ??
    focusableIn(panel).find((el) => el !== closeBtn) ??
    panel
  ).focus();
  return handle;
}

export interface ConfirmOptions {
  title: string;
  message: Child;
  confirmLabel: string;
  danger?: boolean;
  testid?: string;
  confirmTestid?: string;
  /** When set, the confirm button stays disabled until this exact text is typed. */
  requireText?: string;
  requireLabel?: string;
  requireTestid?: string;
  /** Runs on confirm; a thrown error is shown inside the dialog, which stays open. */
  action: () => Promise<void>;
}

export interface FormDialogOptions {
  title: string;
  description?: Child;
  testid?: string;
  /** Class of the `<form>`. */
  formClass: string;
  /** What stands above the error line. */
  fields: Child[];
  submitLabel: Child;
  submitTestid?: string;
  submitVariant?: ButtonVariant;
  cancelTestid?: string;
  errorTestid?: string;
  /** Element to focus first; gets the cancel button. */
  initialFocus?: (cancel: HTMLButtonElement) => HTMLElement | null;
  /** Runs on submit (the browser's own submit is prevented). */
  onSubmit: () => void;
}

export interface FormDialog {
  dialog: DialogHandle;
  form: HTMLFormElement;
  submit: HTMLButtonElement;
  cancel: HTMLButtonElement;
  /** Shows a message in the form's error line. */
  showError(message: string): void;
  hideError(): void;
}

/**
 * A dialog holding a form: the fields, an error line, and a Cancel / submit footer.
 * Cancel closes the dialog.
 */
export function formDialog(options: FormDialogOptions): FormDialog {
  const error = h("p", {
    class: "form-error",
    role: "alert",
    hidden: true,
    testid: options.errorTestid,
  });
  const submit = button(options.submitLabel, {
    variant: options.submitVariant ?? "primary",
    type: "submit",
    testid: options.submitTestid,
  });
  const cancel = button("Cancel", { testid: options.cancelTestid });
  const form = h(
    "form",
    { class: options.formClass, novalidate: true },
    ...options.fields,
    error,
    h("div", { class: "dialog-footer" }, cancel, submit),
  );
  const initialFocus = options.initialFocus;
  const dialog = openDialog({
    title: options.title,
    description: options.description,
    body: form,
    testid: options.testid,
    initialFocus: initialFocus ? () => initialFocus(cancel) : undefined,
  });
  cancel.addEventListener("click", () => dialog.close());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    options.onSubmit();
  });
  return {
    dialog,
    form,
    submit,
    cancel,
    showError(message) {
      error.textContent = message;
      error.hidden = false;
    },
    hideError() {
      error.hidden = true;
    },
  };
}

/** Resolves true when the action ran and succeeded, false when cancelled. */
export function confirmDialog(options: ConfirmOptions): Promise<boolean> {
  let done = false;
  let typed: HTMLInputElement | null = null;
  const fields: Child[] = [];
  if (options.requireText !== undefined) {
    const id = uniqueId("confirm-text");
    typed = h("input", {
      id,
      class: "input mono",
      autocomplete: "off",
      spellcheck: "false",
      testid: options.requireTestid,
    });
    fields.push(
      h(
        "div",
        { class: "field" },
        h(
          "label",
          { for: id, class: "label" },
          options.requireLabel ?? `Type "${options.requireText}" to confirm`,
        ),
        typed,
      ),
    );
  }
  const { dialog, submit, showError, hideError } = formDialog({
    title: options.title,
    description: options.message,
    testid: options.testid,
    formClass: "dialog-form",
    fields,
    submitLabel: options.confirmLabel,
    submitTestid: options.confirmTestid,
    submitVariant: options.danger ? "danger" : "primary",
    cancelTestid: "dialog-cancel",
    errorTestid: "dialog-error",
    initialFocus: (cancel) => typed ?? cancel,
    onSubmit: () => {
      if (submit.disabled) return;
      hideError();
      void withBusy(submit, options.action).then(
        () => {
          done = true;
          dialog.close();
        },
        (err: unknown) => showError(errorText(err)),
      );
    },
  });
  if (typed) {
    const input = typed;
    submit.disabled = true;
    input.addEventListener("input", () => {
      submit.disabled = input.value !== options.requireText;
    });
  }
  return dialog.closed.then(() => done);
}

/** Puts an API error's field messages under the fields; the rest in the error line. */
export function showFieldErrors(
  err: unknown,
  fields: Record<string, { input: HTMLInputElement; setError(msg: string): void }>,
  showError: (message: string) => void,
): void {
  if (!(err instanceof ApiError) || err.network) return;
  let shown = false;
  for (const [name, field] of Object.entries(fields)) {
    const msg = err.fieldMessage(name);
    field.setError(msg);
    if (msg && !shown) {
      field.input.focus();
      shown = true;
    }
  }
  const other = Object.keys(err.fields).some((k) => !(k in fields));
  if (!shown || other) {
    showError(
      err.fields.non_field_errors ? err.fieldMessage("non_field_errors") : err.detail,
    );
  }
}
