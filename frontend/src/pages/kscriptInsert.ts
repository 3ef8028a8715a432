/**
 * The IDE's Insert picker: this app's table aliases, their fields and its method names,
 * searchable, inserted at the cursor (quoted, or bare inside a string such as SQL).
 * A list box driven from the keyboard (arrows, Enter) or the mouse.
 */
import { openDialog } from "../dialog";
import { h, uniqueId } from "../dom";
import type { Symbols } from "../kscriptApi";
import { filterItems, insertItems, type InsertItem } from "../kscriptSymbols";

export function insertDialog(symbols: Symbols, pick: (item: InsertItem) => void): void {
  const all = insertItems(symbols);
  const listId = uniqueId("ks-insert-list");
  const search = h("input", {
    class: "input",
    type: "search",
    placeholder: "Search tables, fields and methods",
    "aria-label": "Search tables, fields and methods",
    role: "combobox",
    "aria-expanded": "true",
    "aria-controls": listId,
    autocomplete: "off",
    spellcheck: "false",
    testid: "insert-search",
  });
  const list = h("ul", {
    class: "ks-insert-list",
    id: listId,
    role: "listbox",
    "aria-label": "Names to insert",
    testid: "insert-list",
  });
  const dialog = openDialog({
    title: "Insert a name",
    description: h(
      "p",
      { class: "muted small" },
      all.length
        ? "Table aliases for K.select, K.insert, K.update, K.delete and K.query; fields; methods for include and K.callAPIMethod."
        : "This app has no tables or other methods yet.",
    ),
    body: h("div", { class: "ks-insert" }, search, list),
    testid: "insert-dialog",
    initialFocus: () => search,
  });
  dialog.panel.classList.add("ks-dialog-insert");

  let shown: InsertItem[] = [];
  let active = 0;
  const choose = (item: InsertItem | undefined): void => {
    if (!item) return;
    dialog.close();
    pick(item);
  };
  const paint = (): void => {
    shown = filterItems(all, search.value);
    active = Math.min(active, Math.max(shown.length - 1, 0));
    list.replaceChildren(
      ...(shown.length
        ? shown.map((item, index) => {
            const id = `${listId}-${index}`;
            const row = h(
              "li",
              {
                id,
                role: "option",
                class: `ks-insert-item ks-insert-${item.kind}`,
                "aria-selected": String(index === active),
                testid: "insert-item",
                "data-kind": item.kind,
                "data-text": item.text,
              },
              h("code", null, item.text),
              h("span", { class: "muted small" }, item.detail),
            );
            row.addEventListener("mousedown", (event) => event.preventDefault());
            row.addEventListener("click", () => choose(item));
            return row;
          })
        : [h("li", { class: "muted small ks-insert-empty" }, "Nothing matches.")]),
    );
    search.setAttribute(
      "aria-activedescendant",
      shown.length ? `${listId}-${active}` : "",
    );
    list.querySelector('[aria-selected="true"]')?.scrollIntoView({ block: "nearest" });
  };
  search.addEventListener("input", () => {
    active = 0;
    paint();
  });
  search.addEventListener("keydown", (event: KeyboardEvent) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      active = Math.min(Math.max(active + step, 0), Math.max(shown.length - 1, 0));
      paint();
    } else if (event.key === "Enter") {
      event.preventDefault();
      choose(shown[active]);
    }
  });
  paint();
}
