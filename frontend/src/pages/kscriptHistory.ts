/**
 * The IDE's History tab: every revision (view, compare with your text, restore), and a
 * comparison of any two revisions — or a revision and your text — in Monaco's diff editor.
 */
import type { Id } from "../api";
import { badge, button, h, uniqueId, withBusy } from "../dom";
import { errorText, formatDateTime, formatRelative } from "../format";
import { kscriptApi, type Revision, type RevisionEntry } from "../kscriptApi";
import {
  defaultComparison,
  formatSavedAt,
  sideLabel,
  type CompareSide,
} from "../kscriptLogic";
import { toastError } from "../toast";
import { codeDialog, diffDialog, type Monaco } from "./kscriptViews";

export interface HistoryOptions {
  appId: Id;
  methodId: Id;
  m: Monaco;
  /** The editor's text now. */
  text(): string;
  /** The revision the text is based on, and whether it differs from it. */
  base(): number;
  dirty(): boolean;
  deployedRevision(): number | null;
  restore(revision: Revision): void;
  aborted(): boolean;
}

export interface HistoryPanel {
  el: HTMLElement;
  load(): Promise<void>;
}

export function historyPanel(options: HistoryOptions): HistoryPanel {
  const el = h("div", { class: "ks-history", testid: "history-panel" });
  const cache = new Map<number, Promise<Revision>>();
  const fetchRevision = (n: number): Promise<Revision> => {
    let found = cache.get(n);
    if (!found) {
      found = kscriptApi.revision(options.appId, options.methodId, n);
      // A failed fetch is tried again next time.
      found.catch(() => cache.delete(n));
      cache.set(n, found);
    }
    return found;
  };
  const textOf = async (side: CompareSide): Promise<string> =>
    side === "current" ? options.text() : (await fetchRevision(side)).code;

  const compare = (from: CompareSide, to: CompareSide, btn: HTMLButtonElement): void => {
    void withBusy(btn, () => Promise.all([textOf(from), textOf(to)])).then(
      ([original, modified]) => {
        const close = button("Close", { testid: "diff-close" });
        const base = options.base();
        const dirty = options.dirty();
        const dialog = diffDialog(options.m, {
          title: `${sideLabel(from, dirty, base)} ↔ ${sideLabel(to, dirty, base)}`,
          original,
          modified,
          originalLabel: sideLabel(from, dirty, base),
          modifiedLabel: sideLabel(to, dirty, base),
          testid: "revision-diff",
          footer: [close],
        });
        close.addEventListener("click", () => dialog.close());
      },
      toastError,
    );
  };

  const picker = (entries: RevisionEntry[]): HTMLElement => {
    const base = options.base();
    const dirty = options.dirty();
    const start = defaultComparison(
      entries.map((e) => e.revision),
      base,
      dirty,
    );
    const select = (
      label: string,
      testid: string,
      value: CompareSide,
    ): HTMLSelectElement => {
      const choice = h(
        "select",
        { class: "input select", "aria-label": label, testid },
        h("option", { value: "current" }, sideLabel("current", dirty, base)),
        entries.map((e) =>
          h(
            "option",
            { value: String(e.revision) },
            `Revision ${e.revision} · ${e.author ?? "someone"} · ${formatSavedAt(e.saved_at)}`,
          ),
        ),
      );
      choice.value = String(value);
      return choice;
    };
    const from = select("Compare from", "compare-from", start.from);
    const to = select("Compare to", "compare-to", start.to);
    const go = button("Compare", { size: "sm", testid: "compare-two" });
    const side = (s: HTMLSelectElement): CompareSide =>
      s.value === "current" ? "current" : Number(s.value);
    const sync = (): void => {
      go.disabled = from.value === to.value;
    };
    from.addEventListener("change", sync);
    to.addEventListener("change", sync);
    sync();
    go.addEventListener("click", () => compare(side(from), side(to), go));
    const fromId = uniqueId("ks-cmp");
    from.id = fromId;
    return h(
      "div",
      { class: "ks-compare", testid: "compare-two-revisions" },
      h("label", { class: "label", for: fromId }, "Compare any two"),
      h("div", { class: "ks-compare-row" }, from, h("span", { class: "muted" }, "↔"), to),
      h("div", null, go),
    );
  };

  const row = (entry: RevisionEntry): HTMLElement => {
    const current = options.base();
    const view = button("View", {
      size: "sm",
      variant: "ghost",
      testid: "revision-view",
    });
    const diff = button("Compare", {
      size: "sm",
      variant: "ghost",
      testid: "revision-compare",
      title: "Compare with your text",
    });
    const restore = button("Restore", {
      size: "sm",
      variant: "ghost",
      testid: "revision-restore",
    });
    const isCurrent = entry.revision === current;
    restore.disabled = isCurrent && !options.dirty();
    view.addEventListener("click", () => {
      void withBusy(view, () => fetchRevision(entry.revision)).then((rev) => {
        const restoreBtn = button("Restore this revision", {
          variant: "primary",
          testid: "view-restore",
        });
        const close = button("Close", { testid: "view-close" });
        const dialog = codeDialog(options.m, {
          title: `Revision ${rev.revision}`,
          description: `${rev.author ?? "someone"} · ${formatSavedAt(rev.saved_at)} · ${rev.title}`,
          code: rev.code,
          testid: "revision-dialog",
          footer: [close, restoreBtn],
        });
        close.addEventListener("click", () => dialog.close());
        restoreBtn.addEventListener("click", () => {
          dialog.close();
          options.restore(rev);
        });
      }, toastError);
    });
    diff.addEventListener("click", () => compare(entry.revision, "current", diff));
    restore.addEventListener("click", () => {
      void withBusy(restore, () => fetchRevision(entry.revision)).then(
        (rev) => options.restore(rev),
        toastError,
      );
    });
    return h(
      "li",
      {
        class: isCurrent ? "ks-revision current" : "ks-revision",
        testid: "revision-row",
        "data-revision": String(entry.revision),
      },
      h(
        "div",
        { class: "ks-revision-head" },
        h("strong", null, `Revision ${entry.revision}`),
        isCurrent ? badge("current", "accent") : null,
        options.deployedRevision() === entry.revision ? badge("live", "success") : null,
      ),
      h(
        "div",
        { class: "muted small", title: formatDateTime(entry.saved_at) },
        `${entry.author ?? "someone"} · ${formatSavedAt(entry.saved_at)} · ${formatRelative(entry.saved_at)}`,
      ),
      h("div", { class: "ks-revision-actions" }, view, diff, restore),
    );
  };

  const load = async (): Promise<void> => {
    if (!el.childElementCount) {
      el.replaceChildren(
        h(
          "p",
          { class: "loading small" },
          h("span", { class: "spinner" }),
          "Loading revisions…",
        ),
      );
    }
    let entries: RevisionEntry[];
    try {
      entries = await kscriptApi.revisions(options.appId, options.methodId);
    } catch (err) {
      el.replaceChildren(h("p", { class: "form-error" }, errorText(err)));
      throw err;
    }
    if (options.aborted()) return;
    el.replaceChildren(
      h(
        "p",
        { class: "muted small" },
        "A revision is made when you save (Ctrl+S), run or deploy; typing only keeps a draft. Restoring saves an old revision's code as a new one.",
      ),
      entries.length > 0 ? picker(entries) : "",
      h("ol", { class: "ks-revisions" }, entries.map(row)),
    );
  };

  return { el, load };
}
