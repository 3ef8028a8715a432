/**
 * The notes rename dialogs show: which KScript methods use a table's aliases (every alias
 * the table ever had keeps naming it, so deployed code goes on working), and which name
 * clients call a method by, which a title change retires at the next deploy.
 */
import "./renameWarnings.css";
import { request, type Id } from "./api";
import { badge, h } from "./dom";
import { errorText } from "./format";
import { methodName } from "./kscriptLogic";

const enc = (id: Id): string => encodeURIComponent(String(id));

export type UsagePlace = "deployed" | "saved" | "draft";

export interface TableUsage {
  /** The current alias first, then the former ones. */
  aliases: string[];
  methods: { id: number | null; name: string; title: string; where: UsagePlace[] }[];
}

export interface MethodNames {
  name: string;
  /** Names the live deployment serves this method under. */
  deployed: string[];
}

const PLACE_LABELS: Record<UsagePlace, string> = {
  deployed: "deployed",
  saved: "saved, not deployed",
  draft: "your unsaved draft",
};

export const renameApi = {
  tableUsage: (appId: Id, tableId: Id): Promise<TableUsage> =>
    request<TableUsage>("GET", `/api/apps/${enc(appId)}/tables/${enc(tableId)}/usage/`),
  methodNames: (appId: Id, methodId: Id): Promise<MethodNames> =>
    request<MethodNames>(
      "GET",
      `/api/apps/${enc(appId)}/kscripts/${enc(methodId)}/names/`,
    ),
};

/** The table rename dialog's note; fills itself in when the usage arrives. */
export function tableUsageNote(appId: Id, tableId: Id, alias: string): HTMLElement {
  const note = h(
    "div",
    { class: "rename-note", testid: "table-usage", role: "status" },
    "Looking for methods that use this table…",
  );
  renameApi.tableUsage(appId, tableId).then(
    (usage) => note.replaceChildren(...usageLines(appId, usage, alias)),
    (err: unknown) =>
      note.replaceChildren(
        `Could not look for methods using ${alias}: ${errorText(err)}`,
      ),
  );
  return note;
}

function usageLines(appId: Id, usage: TableUsage, alias: string): HTMLElement[] {
  const former = usage.aliases.slice(1);
  const keeps = h(
    "p",
    null,
    "Code using ",
    h("code", null, alias),
    former.length ? ` or a former alias (${former.join(", ")})` : "",
    " keeps working: every alias this table had still names it.",
  );
  if (usage.methods.length === 0) {
    return [
      h(
        "p",
        { testid: "table-usage-none" },
        "No KScript method uses this table's aliases.",
      ),
      keeps,
    ];
  }
  const items = usage.methods.map((m) =>
    h(
      "li",
      { testid: "table-usage-method", "data-name": m.name },
      m.id === null
        ? h("code", null, m.name)
        : h(
            "a",
            { href: `/apps/${enc(appId)}/kscripts/${m.id}` },
            h("code", null, m.name),
          ),
      m.title !== m.name && methodName(m.title) !== m.name ? ` (now “${m.title}”)` : "",
      ...m.where.map((place) =>
        badge(PLACE_LABELS[place], place === "deployed" ? "accent" : "neutral"),
      ),
    ),
  );
  return [
    h(
      "p",
      null,
      `${usage.methods.length === 1 ? "This method uses" : "These methods use"} the table (found by searching their code for its aliases):`,
    ),
    h("ul", null, ...items),
    keeps,
  ];
}

/**
 * The method details dialog's note under the title: clients call the method by name, so a
 * new title's name retires the deployed one at the next deploy. `title` is the title input.
 */
export function methodRenameNote(
  appId: Id,
  methodId: Id,
  title: HTMLInputElement,
): HTMLElement {
  const note = h("div", {
    class: "rename-note rename-note-warn",
    testid: "method-rename-warning",
    role: "status",
  });
  note.hidden = true;
  let names: MethodNames | null = null;
  const paint = (): void => {
    if (names === null) return;
    const next = methodName(title.value);
    const retired = names.deployed.filter((n) => n !== next);
    // Back to the deployed name (or unchanged): nothing clients call goes away.
    const renamed = next !== "" && next !== names.name && !names.deployed.includes(next);
    note.hidden = !renamed && retired.length === 0;
    if (note.hidden) return;
    const lines: HTMLElement[] = [
      h(
        "p",
        null,
        "Clients call this method by its name, which follows the title: renaming it renames what they call.",
      ),
    ];
    if (retired.length) {
      lines.push(
        h(
          "p",
          { testid: "method-rename-retired" },
          "The next deploy removes ",
          ...retired.flatMap((n, i) => [i ? ", " : "", h("code", null, n)]),
          ": from then on clients must call ",
          h("code", null, next || "…"),
          ", and apps still calling the old name get an error.",
        ),
      );
    } else {
      lines.push(
        h(
          "p",
          null,
          "This method is not deployed under its current name yet, so no client calls it.",
        ),
      );
    }
    note.replaceChildren(...lines);
  };
  title.addEventListener("input", paint);
  renameApi.methodNames(appId, methodId).then(
    (answer) => {
      names = answer;
      paint();
    },
    () => undefined, // only a warning: the dialog works without it
  );
  return note;
}
