/**
 * The designer's rename and delete dialogs: which drag-and-drop API methods name the table
 * or field being changed. API methods name tables and fields by name (never by alias), so
 * such a change makes them stop matching the tables until they are edited; deployed ones
 * answer an error until then, and a deploy refuses them.
 */
import "./renameWarnings.css";
import { type Id } from "./api";
import { apiMethodApi, type ImpactedMethod } from "./apiMethodApi";
import { h } from "./dom";
import { errorText } from "./format";

const enc = (id: Id): string => encodeURIComponent(String(id));

/** A rename, a delete, or a change of the field's type (to `{ type }`). */
export type SchemaChange = "rename" | "delete" | { type: string; label: string };

export interface ImpactNote {
  el: HTMLElement;
  /** Show the note (a rename dialog: only once the name differs). */
  setActive(active: boolean): void;
}

/**
 * A note that fills itself in when the answer arrives. `quiet`: say nothing when no
 * method is affected (for a dialog where the change is only one option among several).
 */
export function apiMethodImpactNote(
  appId: Id,
  table: string,
  field: string | null,
  change: SchemaChange,
  { active = true, quiet = false }: { active?: boolean; quiet?: boolean } = {},
): ImpactNote {
  const what = field === null ? table : `${table}.${field}`;
  const el = h(
    "div",
    {
      class: "rename-note",
      testid: typeof change === "object" ? "api-method-type-impact" : "api-method-impact",
      role: "status",
    },
    `Looking for API methods that use ${what}…`,
  );
  let found: ImpactedMethod[] | null = null;
  let wanted = active;
  const paint = (): void => {
    el.hidden = !wanted || (quiet && (found === null || found.length === 0));
  };
  paint();
  const type = typeof change === "object" ? change.type : undefined;
  apiMethodApi.impact(appId, table, field, type).then(
    (methods) => {
      found = methods;
      el.dataset.count = String(methods.length);
      el.classList.toggle("rename-note-warn", methods.length > 0);
      el.replaceChildren(...impactLines(appId, what, methods, change));
      paint();
    },
    (err: unknown) => {
      found = [];
      el.replaceChildren(
        `Could not look for API methods using ${what}: ${errorText(err)}`,
      );
      el.hidden = !wanted;
    },
  );
  return {
    el,
    setActive(active: boolean): void {
      wanted = active;
      paint();
    },
  };
}

function impactLines(
  appId: Id,
  what: string,
  methods: ImpactedMethod[],
  change: SchemaChange,
): HTMLElement[] {
  if (methods.length === 0) {
    return [h("p", { testid: "api-method-impact-none" }, `No API method uses ${what}.`)];
  }
  const n = methods.length;
  const one = n === 1;
  const [headline, rest] =
    typeof change === "object"
      ? [
          `Making ${what} ${change.label} breaks ${n} API method${one ? "" : "s"}`,
          ": until edited, deployed ones answer an error and a deploy refuses them.",
        ]
      : [
          `${change === "rename" ? "Renaming" : "Deleting"} ${what} breaks ${n} API method${one ? "" : "s"}`,
          `: ${one ? "it names" : "they name"} it by name, and ${one ? "it stops" : "they stop"} matching the tables until edited. Deployed, ${one ? "it answers" : "they answer"} an error until fixed and deployed again.`,
        ];
  return [
    h("p", null, h("strong", null, headline), rest),
    h(
      "ul",
      null,
      ...methods.map((m) =>
        h(
          "li",
          { testid: "api-method-impact-method", "data-name": m.name },
          h("a", { href: `/apps/${enc(appId)}/api/${m.id}` }, h("code", null, m.name)),
          ...(m.problems
            ? [
                ": ",
                Object.entries(m.problems)
                  .map(([place, messages]) => `${place}: ${messages.join(" ")}`)
                  .join("; "),
              ]
            : [
                h(
                  "span",
                  { class: "muted" },
                  ` — ${m.places.length} place${m.places.length === 1 ? "" : "s"}: `,
                ),
                h("span", { class: "mono small" }, m.places.join(", ")),
              ]),
        ),
      ),
    ),
  ];
}
