/** Small DOM helpers: a hyperscript `h()` and form-field builders. */
import { errorText } from "./format";

export type Child = Node | string | number | null | undefined | false | Child[];
type AttrValue = string | number | boolean | null | undefined;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- handlers take any Event subtype
type Handler = (event: any) => void;
export type Attrs = Record<string, AttrValue | Handler>;

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, ...child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

/**
 * `h("button", { class: "btn", testid: "save", onClick: save }, "Save")`.
 * `testid` becomes `data-testid`; `onXxx` functions become listeners; `true` sets an
 * empty attribute; `false`/`null`/`undefined` leave it out.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (typeof value === "function") {
        el.addEventListener(key.slice(2).toLowerCase(), value);
      } else if (value === null || value === undefined || value === false) {
        continue;
      } else if (key === "testid") {
        el.setAttribute("data-testid", String(value));
      } else if (key === "value" && "value" in el) {
        (el as HTMLInputElement).value = String(value);
      } else {
        el.setAttribute(key, value === true ? "" : String(value));
      }
    }
  }
  append(el, ...children);
  return el;
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

let uid = 0;
export function uniqueId(prefix: string): string {
  uid += 1;
  return `${prefix}-${uid}`;
}

export interface Field<E extends HTMLElement = HTMLInputElement> {
  wrap: HTMLDivElement;
  input: E;
  setError(message: string): void;
}

export interface InputOptions {
  label: string;
  name: string;
  type?: string;
  testid?: string;
  value?: string;
  required?: boolean;
  autocomplete?: string;
  hint?: string;
  placeholder?: string;
  autofocus?: boolean;
}

function attachError<E extends HTMLElement>(
  wrap: HTMLDivElement,
  input: E,
  testid: string | undefined,
  describedBy: string[],
): Field<E> {
  const errorId = uniqueId("err");
  const error = h("p", {
    class: "field-error",
    id: errorId,
    hidden: true,
    testid: testid ? `${testid}-error` : undefined,
  });
  wrap.appendChild(error);
  const setError = (message: string): void => {
    error.textContent = message;
    error.hidden = message === "";
    if (message) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", [...describedBy, errorId].join(" "));
    } else {
      input.removeAttribute("aria-invalid");
      if (describedBy.length)
        input.setAttribute("aria-describedby", describedBy.join(" "));
      else input.removeAttribute("aria-describedby");
    }
  };
  return { wrap, input, setError };
}

/** A labelled `<input>` with a hint and an error line beneath it. */
export function inputField(options: InputOptions): Field {
  const id = uniqueId(`f-${options.name}`);
  const hintId = options.hint ? uniqueId("hint") : "";
  const input = h("input", {
    id,
    name: options.name,
    type: options.type ?? "text",
    class: "input",
    testid: options.testid,
    value: options.value,
    required: options.required,
    autocomplete: options.autocomplete,
    placeholder: options.placeholder,
    autofocus: options.autofocus,
    spellcheck: options.type === "text" || !options.type ? "false" : undefined,
    "aria-describedby": hintId || undefined,
  });
  const wrap = h(
    "div",
    { class: "field" },
    h("label", { for: id, class: "label" }, options.label),
    input,
    options.hint ? h("p", { class: "hint", id: hintId }, options.hint) : null,
  );
  return attachError(wrap, input, options.testid, hintId ? [hintId] : []);
}

export interface SelectOptions {
  label: string;
  name: string;
  options: { value: string; label: string }[];
  value?: string;
  testid?: string;
}

export function selectField(options: SelectOptions): Field<HTMLSelectElement> {
  const id = uniqueId(`f-${options.name}`);
  const select = h(
    "select",
    { id, name: options.name, class: "input select", testid: options.testid },
    options.options.map((o) =>
      h("option", { value: o.value, selected: o.value === options.value }, o.label),
    ),
  );
  const wrap = h(
    "div",
    { class: "field" },
    h("label", { for: id, class: "label" }, options.label),
    select,
  );
  return attachError(wrap, select, options.testid, []);
}

/** A labelled checkbox (optionally drawn as a switch, `role="switch"`). */
export function checkboxField(options: {
  label: string;
  name: string;
  checked?: boolean;
  testid?: string;
  hint?: string;
  switch?: boolean;
}): Field {
  const id = uniqueId(`f-${options.name}`);
  const input = h("input", {
    id,
    name: options.name,
    type: "checkbox",
    class: options.switch ? "switch" : "checkbox",
    role: options.switch ? "switch" : undefined,
    checked: options.checked,
    testid: options.testid,
  });
  const wrap = h(
    "div",
    { class: "field field-check" },
    input,
    h(
      "label",
      { for: id, class: "label" },
      options.label,
      options.hint ? h("span", { class: "hint" }, options.hint) : null,
    ),
  );
  return attachError(wrap, input, options.testid, []);
}

export type ButtonVariant = "primary" | "secondary" | "danger" | "ghost";

export function button(
  label: Child,
  attrs: Attrs & { variant?: ButtonVariant; size?: "sm" } = {},
): HTMLButtonElement {
  const { variant = "secondary", size, class: extra, ...rest } = attrs;
  const cls = [
    "btn",
    `btn-${variant}`,
    size ? `btn-${size}` : "",
    extra ? String(extra) : "",
  ]
    .filter(Boolean)
    .join(" ");
  return h("button", { type: "button", class: cls, ...rest }, label);
}

/** Disables a button while `work` runs and shows a busy state. */
export async function withBusy<T>(
  btn: HTMLButtonElement,
  work: () => Promise<T>,
): Promise<T> {
  btn.disabled = true;
  btn.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    btn.disabled = false;
    btn.removeAttribute("aria-busy");
  }
}

export function badge(
  text: string,
  tone: "neutral" | "accent" | "danger" | "success" = "neutral",
  testid?: string,
): HTMLSpanElement {
  return h("span", { class: `badge badge-${tone}`, testid }, text);
}

/** A thrown value's message as an error line that screen readers announce. */
export function errorAlert(error: unknown): HTMLParagraphElement {
  return h("p", { class: "form-error", role: "alert" }, errorText(error));
}

/** The spinner line a page or section shows while its data loads. */
export function loadingStatus(text: string): HTMLDivElement {
  return h(
    "div",
    { class: "loading", role: "status" },
    h("span", { class: "spinner" }),
    text,
  );
}

export interface SectionHead {
  title: string;
  /** Goes on the section's `data-testid`. */
  testid: string;
  /** The heading's id, which labels the section. */
  id: string;
  /** A muted line under the heading; left out when empty. */
  description?: Child;
  /** Controls beside the heading (the head then lays out as a row). */
  actions?: Child;
}

/** A card section: a heading that labels it, an optional description, then the body. */
export function cardSection(head: SectionHead, ...body: Child[]): HTMLElement {
  return h(
    "section",
    { class: "card section", "aria-labelledby": head.id, testid: head.testid },
    h(
      "div",
      { class: head.actions ? "section-head section-head-row" : "section-head" },
      h("h2", { class: "section-title", id: head.id }, head.title),
      head.description ? h("p", { class: "muted" }, head.description) : null,
      head.actions,
    ),
    ...body,
  );
}

export interface PageHeadOptions {
  title: Child;
  /** Goes on the title's `data-testid`. */
  titleTestid?: string;
  /** What stands under the title: a muted line (text) or any element (badges...). */
  lead?: Child;
  /** Controls at the right of the head. */
  actions?: Child;
}

/** The head of a console page: its title, a line under it, and its main actions. */
export function pageHead(options: PageHeadOptions): HTMLElement {
  const { title, titleTestid, lead, actions } = options;
  const under = lead instanceof Node || !lead ? lead : h("p", { class: "muted" }, lead);
  return h(
    "header",
    { class: "page-head" },
    h("div", null, h("h1", { class: "page-title", testid: titleTestid }, title), under),
    actions,
  );
}

export interface EmptyStateOptions {
  /** Goes on `data-testid`. */
  testid: string;
  title: Child;
  /** The title's element: h1 when the state is all the page shows, h2 under a page's
   * own title, p inside a section or grid that has its heading already. */
  heading?: "h1" | "h2" | "p";
  /** An icon element (see icons.ts), shown in a rounded tile above the title. */
  icon?: Node;
  /** What the user can do about it, as a muted line (text or inline elements). */
  lead?: Child;
  /** Buttons or links under the lead, in a row. */
  actions?: Child;
  /** "card": a card of its own; "inline": inside a card section; "plain": on the page. */
  frame?: "card" | "inline" | "plain";
  /** e.g. "alert" for an error the user did not ask to see. */
  role?: string;
  /** The title takes focus (tabindex -1) after a navigation. */
  focusTitle?: boolean;
}

const EMPTY_FRAMES = { card: "card empty", inline: "empty empty-inline", plain: "empty" };

/** What a page, a list or a grid shows when there is nothing in it yet (or nothing it may
 * show): one look for all of them. */
export function emptyState(options: EmptyStateOptions): HTMLElement {
  const {
    testid,
    title,
    heading = "h2",
    icon,
    lead,
    actions,
    frame = "plain",
    role,
  } = options;
  return h(
    "div",
    { class: EMPTY_FRAMES[frame], role, testid },
    icon ? h("span", { class: "empty-icon" }, icon) : null,
    h(
      heading,
      { class: "empty-title", tabindex: options.focusTitle ? "-1" : null },
      title,
    ),
    lead ? h("p", { class: "muted" }, lead) : null,
    actions ? h("div", { class: "empty-actions" }, actions) : null,
  );
}
