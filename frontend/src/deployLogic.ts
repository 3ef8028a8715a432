/** Pure parts of the deploy / rollback review: what to say about each change. */
import type { ChangeEntry, DeployPreview } from "./kscriptApi";

export type ChangeGroup = "added" | "changed" | "removed";

export const GROUPS: readonly { key: ChangeGroup; title: string }[] = [
  { key: "changed", title: "Changed" },
  { key: "added", title: "Added" },
  { key: "removed", title: "Removed" },
];

export function changeCount(preview: DeployPreview): number {
  return preview.added.length + preview.changed.length + preview.removed.length;
}

/** "1 changed · 2 added · 1 removed · 3 unchanged" (groups with none left out). */
export function summaryLine(preview: DeployPreview): string {
  const parts = GROUPS.filter((g) => preview[g.key].length).map(
    (g) => `${preview[g.key].length} ${g.title.toLowerCase()}`,
  );
  if (preview.unchanged.length) parts.push(`${preview.unchanged.length} unchanged`);
  return parts.join(" · ") || "No methods";
}

export function kindLabel(kind: string | undefined): string {
  return kind === "kscript" ? "KScript" : kind === "apimethod" ? "API method" : "Method";
}

/** "rev 3", or "rev 2 → rev 5" for a change. */
export function revisionText(entry: ChangeEntry, group: ChangeGroup): string {
  const rev = (n: number | null | undefined): string =>
    n === null || n === undefined ? "—" : `rev ${n}`;
  if (group === "changed") return `${rev(entry.from_revision)} → ${rev(entry.revision)}`;
  return rev(entry.revision);
}

/** What differs, in words: "code and parameters", "same code". */
export function whatText(entry: ChangeEntry, group: ChangeGroup): string {
  if (group === "added") return "new for clients";
  if (group === "removed") return "clients can no longer call it";
  const what = entry.what ?? [];
  if (what.includes("kind")) {
    return `now ${kindLabel(entry.kind)} (was ${kindLabel(entry.from_kind)})`;
  }
  if (what.length === 0) return "same code, another revision";
  if (what.length === 1) return `${what[0]} changed`;
  return `${what.slice(0, -1).join(", ")} and ${what[what.length - 1]} changed`;
}

export function isRollback(preview: DeployPreview): boolean {
  return preview.target.kind === "rollback";
}

/** Deploying is offered when nothing stops it and something would change. */
export function canConfirm(preview: DeployPreview): boolean {
  return preview.problems.length === 0 && changeCount(preview) > 0;
}

export function confirmLabel(preview: DeployPreview): string {
  if (preview.target.kind === "rollback") {
    return `Roll back to #${preview.target.number}`;
  }
  const n = changeCount(preview);
  return n === 1 ? "Deploy 1 change" : `Deploy ${n} changes`;
}

/** The two sides of a method's diff, as the diff endpoint names them. */
export function diffSides(preview: DeployPreview): { before: string; after: string } {
  return {
    before: "live",
    after: preview.target.kind === "rollback" ? String(preview.target.number) : "current",
  };
}

/** The sentence above the list. */
export function headline(preview: DeployPreview): string {
  const live = preview.live;
  const now = live
    ? `Clients now get deployment #${live.number}.`
    : "Nothing is live yet.";
  if (preview.target.kind === "rollback") {
    return `${now} Rolling back makes deployment #${preview.target.number}'s methods live again, as a new deployment; your drafts stay as they are.`;
  }
  return `${now} Deploying freezes the latest revision of every method.`;
}
