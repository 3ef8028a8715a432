import { describe, expect, it } from "vitest";
import { collectValues, fieldEditor } from "./editors";
import { epochToLocalInput, localInputToEpoch } from "./tableValues";

const field = (
  name: string,
  type: Parameters<typeof fieldEditor>[0]["field"]["type"],
) => ({
  name,
  type,
  target: null,
});

function control(wrap: HTMLElement, name: string): HTMLInputElement {
  const el = wrap.querySelector<HTMLInputElement>(`[data-testid="field-${name}"]`);
  if (!el) throw new Error(`no control for ${name}`);
  return el;
}

describe("field editors", () => {
  it("send only the fields that changed when editing", () => {
    const title = fieldEditor({
      appId: 1,
      field: field("title", "string"),
      value: "Beach",
    });
    const stars = fieldEditor({ appId: 1, field: field("stars", "integer"), value: 3 });
    control(stars.wrap, "stars").value = "5";
    expect(collectValues([title, stars], true)).toEqual({ stars: 5 });
    expect(collectValues([title, stars], false)).toEqual({ title: "Beach", stars: 5 });
  });

  it("shows a conversion problem beside its field and sends nothing", () => {
    const price = fieldEditor({ appId: 1, field: field("price", "float"), value: null });
    document.body.appendChild(price.wrap);
    control(price.wrap, "price").value = "cheap";
    expect(collectValues([price], false)).toBeNull();
    const error = price.wrap.querySelector('[data-testid="field-price-error"]');
    expect(error?.textContent).toBe("Enter a number, like 3.14.");
    expect(control(price.wrap, "price").getAttribute("aria-invalid")).toBe("true");
    price.wrap.remove();
  });

  it("reads the switch, keeping an untouched empty boolean empty", () => {
    const empty = fieldEditor({
      appId: 1,
      field: field("public", "boolean"),
      value: null,
    });
    expect(empty.read()).toEqual({ ok: true, value: null });
    expect(empty.changed()).toBe(false);
    const on = fieldEditor({ appId: 1, field: field("public", "boolean"), value: false });
    const box = control(on.wrap, "public");
    box.checked = true;
    box.dispatchEvent(new Event("change"));
    expect(on.read()).toEqual({ ok: true, value: true });
    expect(on.changed()).toBe(true);
  });

  it("edits date-times in local time and sends epoch seconds", () => {
    const taken = fieldEditor({
      appId: 1,
      field: field("taken", "datetime"),
      value: -86400,
    });
    const input = control(taken.wrap, "taken");
    expect(localInputToEpoch(input.value)).toBe(-86400);
    expect(taken.changed()).toBe(false);
    input.value = epochToLocalInput(1000);
    input.dispatchEvent(new Event("input"));
    expect(taken.read()).toEqual({ ok: true, value: 1000 });
  });

  it("keeps a date the picker cannot show until it is replaced", () => {
    const ancient = -70000000000; // before year 1
    const taken = fieldEditor({
      appId: 1,
      field: field("taken", "datetime"),
      value: ancient,
    });
    expect(taken.read()).toEqual({ ok: true, value: ancient });
    expect(taken.changed()).toBe(false);
  });

  it("holds Data as base64 and can remove it", () => {
    const raw = fieldEditor({ appId: 1, field: field("raw", "data"), value: "aGVsbG8=" });
    expect(raw.wrap.textContent).toContain("5 bytes");
    expect(raw.read()).toEqual({ ok: true, value: "aGVsbG8=" });
    const remove = Array.from(raw.wrap.querySelectorAll("button")).find(
      (b) => b.textContent === "Remove",
    );
    remove?.click();
    expect(raw.read()).toEqual({ ok: true, value: null });
    expect(raw.changed()).toBe(true);
  });
});
