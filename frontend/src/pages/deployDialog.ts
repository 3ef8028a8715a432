/**
 * The deploy (and rollback) review: what changes for clients against the live
 * deployment — methods added, removed and changed with their revision numbers, a diff
 * of any of them on click — and what stops it. Confirming deploys what was reviewed:
 * if someone else deployed meanwhile, the server refuses and the review loads again.
 */
import { ApiError, type Id } from "../api";
import { openDialog } from "../dialog";
import { badge, button, h, withBusy } from "../dom";
import {
  GROUPS,
  canConfirm,
  changeCount,
  confirmLabel,
  diffSides,
  headline,
  kindLabel,
  revisionText,
  summaryLine,
  whatText,
  type ChangeGroup,
} from "../deployLogic";
import { errorText } from "../format";
import { icon } from "../icons";
import {
  kscriptApi,
  type ChangeEntry,
  type Deployment,
  type DeployPreview,
} from "../kscriptApi";
import { toast } from "../toast";
import { diffDialog } from "./kscriptViews";

export interface DeployReviewOptions {
  appId: Id;
  /** Roll back to this deployment instead of deploying the latest revisions. */
  restore?: number;
}

/** The last "Deploy failed" toast: a later attempt or success takes it away. */
let failureToast: HTMLElement | null = null;

export function clearDeployFailure(): void {
  failureToast?.remove();
  failureToast = null;
}

/** Shows why a deploy did not happen (replacing an earlier such message). */
export function showDeployFailure(message: string): void {
  clearDeployFailure();
  failureToast = toast(`Deploy failed: ${message}`, "error");
}

/** Opens the review; resolves to the new live deployment, or null when not deployed. */
export function reviewDeploy(options: DeployReviewOptions): Promise<Deployment | null> {
  clearDeployFailure();
  const rollback = options.restore !== undefined;
  const body = h(
    "div",
    { class: "ks-deploy-review", testid: "deploy-review" },
    h("p", { class: "loading small" }, h("span", { class: "spinner" }), "Comparing…"),
  );
  const error = h("p", {
    class: "form-error",
    role: "alert",
    hidden: true,
    testid: "deploy-error",
  });
  const cancel = button("Cancel", { testid: "deploy-cancel" });
  const confirm = button(rollback ? "Roll back" : "Deploy", {
    variant: "primary",
    testid: "deploy-confirm",
  });
  confirm.disabled = true;
  const dialog = openDialog({
    title: rollback
      ? `Roll back to deployment #${options.restore}?`
      : "Deploy to clients?",
    body: h("div", null, body, error),
    footer: [cancel, confirm],
    testid: "deploy-dialog",
    initialFocus: () => cancel,
  });
  dialog.panel.classList.add("ks-dialog-deploy");
  cancel.addEventListener("click", () => dialog.close());

  let preview: DeployPreview | null = null;
  let result: Deployment | null = null;

  const load = async (): Promise<void> => {
    confirm.disabled = true;
    try {
      preview = await kscriptApi.preview(options.appId, options.restore);
    } catch (err) {
      body.replaceChildren(h("p", { class: "form-error" }, errorText(err)));
      return;
    }
    body.replaceChildren(...renderPreview(options.appId, preview));
    confirm.textContent = confirmLabel(preview);
    confirm.disabled = !canConfirm(preview);
  };

  confirm.addEventListener("click", () => {
    const reviewed = preview;
    if (!reviewed) return;
    error.hidden = true;
    const expected = reviewed.live ? reviewed.live.number : null;
    void withBusy(confirm, () =>
      options.restore !== undefined
        ? kscriptApi.rollback(options.appId, options.restore, expected)
        : kscriptApi.deploy(options.appId, expected),
    ).then(
      (deployment) => {
        result = deployment;
        clearDeployFailure();
        dialog.close();
      },
      (err: unknown) => {
        error.textContent = errorText(err);
        error.hidden = false;
        // Someone deployed meanwhile: show what would change now.
        if (err instanceof ApiError && err.status === 409) void load();
      },
    );
  });

  void load();
  return dialog.closed.then(() => result);
}

function renderPreview(appId: Id, preview: DeployPreview): HTMLElement[] {
  const parts: HTMLElement[] = [
    h("p", { class: "ks-deploy-headline", testid: "deploy-headline" }, headline(preview)),
  ];
  if (preview.problems.length) {
    parts.push(
      h(
        "div",
        { class: "ks-deploy-problems", role: "alert", testid: "deploy-problems" },
        h("strong", null, "Fix these first:"),
        h(
          "ul",
          null,
          preview.problems.map((p) => h("li", { class: "mono" }, p)),
        ),
      ),
    );
  }
  parts.push(
    h("p", { class: "muted small", testid: "deploy-summary" }, summaryLine(preview)),
  );
  if (changeCount(preview) === 0) {
    parts.push(
      h(
        "p",
        { class: "ks-deploy-none", testid: "deploy-nothing" },
        preview.live
          ? `Nothing to change: clients already get exactly this (deployment #${preview.live.number}).`
          : "There are no methods to deploy yet.",
      ),
    );
    return parts;
  }
  for (const group of GROUPS) {
    const entries = preview[group.key];
    if (!entries.length) continue;
    parts.push(
      h(
        "section",
        { class: "ks-deploy-group", testid: `deploy-${group.key}` },
        h("h3", { class: "ks-deploy-group-title" }, `${group.title} (${entries.length})`),
        h(
          "ul",
          { class: "ks-deploy-list" },
          entries.map((entry) => changeRow(appId, preview, entry, group.key)),
        ),
      ),
    );
  }
  return parts;
}

function changeRow(
  appId: Id,
  preview: DeployPreview,
  entry: ChangeEntry,
  group: ChangeGroup,
): HTMLElement {
  const diff = button([icon("code", 14), "Diff"], {
    size: "sm",
    variant: "ghost",
    testid: "deploy-diff",
    "aria-label": `Show what changes in ${entry.name}`,
  });
  diff.addEventListener("click", () => {
    const sides = diffSides(preview);
    void withBusy(diff, () =>
      Promise.all([
        import("../monaco"),
        kscriptApi.diff(appId, entry.name, sides.before, sides.after),
      ]),
    ).then(
      ([m, found]) => {
        const close = button("Close", { testid: "deploy-diff-close" });
        const shown = diffDialog(m, {
          title: `${entry.name}: live ↔ ${preview.target.kind === "rollback" ? `deployment #${preview.target.number}` : "to deploy"}`,
          original: found.original ?? "",
          modified: found.modified ?? "",
          originalLabel: found.original_label,
          modifiedLabel: found.modified_label,
          language: found.language === "javascript" ? "javascript" : "plaintext",
          testid: "deploy-method-diff",
          footer: [close],
        });
        close.addEventListener("click", () => shown.close());
      },
      (err: unknown) => toast(errorText(err), "error"),
    );
  });
  return h(
    "li",
    {
      class: "ks-deploy-row",
      testid: "deploy-change",
      "data-name": entry.name,
      "data-group": group,
    },
    h(
      "div",
      { class: "ks-deploy-name" },
      h("code", null, entry.name),
      badge(kindLabel(entry.kind), "neutral"),
    ),
    h(
      "div",
      { class: "ks-deploy-what" },
      h(
        "span",
        { class: "ks-deploy-rev", testid: "deploy-rev" },
        revisionText(entry, group),
      ),
      h("span", { class: "muted" }, whatText(entry, group)),
    ),
    diff,
  );
}
