import { describe, expect, it } from "vitest";
import {
  addAction,
  addCustomParam,
  addFilter,
  canMoveInto,
  declaredParams,
  emptyDefinition,
  findAction,
  indent,
  moveAction,
  moveDown,
  moveUp,
  outdent,
  relatedOptions,
  removeAction,
  removeFilter,
  returnable,
  returnedId,
  rowSources,
  setAssign,
  setCustomParamEnabled,
  setFieldParam,
  setFilter,
  setReturned,
  signature,
  toggleRelated,
  viaOptions,
  type MethodDefinition,
  type TableShape,
} from "./apiMethodModel";

const system = (id: string): TableShape["fields"] => [
  { name: id, type: "integer", target: null },
  { name: "timeCreated", type: "datetime", target: null },
  { name: "timeUpdated", type: "datetime", target: null },
];

const TABLES: TableShape[] = [
  {
    name: "people",
    idField: "peopleID",
    fields: [...system("peopleID"), { name: "name", type: "string", target: null }],
  },
  {
    name: "meals",
    idField: "mealID",
    fields: [...system("mealID"), { name: "title", type: "string", target: null }],
  },
  {
    name: "favoriteMeals",
    idField: "favoriteMealID",
    fields: [
      ...system("favoriteMealID"),
      { name: "connoisseur", type: "belongs_to", target: "people" },
      { name: "meal", type: "belongs_to", target: "meals" },
    ],
  },
];

/** select a1 { update a2 }, create a3 { create a4 } */
function tree(): MethodDefinition {
  let def = emptyDefinition("people");
  def = addAction(def, null, 0, "select").def;
  def = addAction(def, "a1", 0, "update").def;
  def = addAction(def, null, 1, "create").def;
  def = addAction(def, "a3", 0, "create").def;
  return def;
}

const shape = (def: MethodDefinition): string =>
  def.actions
    .map(function show(a): string {
      const inner = (a.actions ?? []).map(show).join(" ");
      return inner ? `${a.id}{${inner}}` : a.id;
    })
    .join(" ");

describe("the action tree", () => {
  it("adds actions on the method's table with fresh ids, nesting only in select and create", () => {
    const def = tree();
    expect(shape(def)).toBe("a1{a2} a3{a4}");
    expect(findAction(def, "a2")?.action).toEqual({
      id: "a2",
      type: "update",
      table: "people",
      values: [],
      filters: [],
      all: false,
    });
    expect(addAction(def, "a2", 0, "select")).toEqual({ def, id: null });
    expect(addAction(def, null, 99, "delete").def.actions.map((a) => a.id)).toEqual([
      "a1",
      "a3",
      "a5",
    ]);
  });

  it("moves an action with what it holds, but never into itself or into an update", () => {
    const def = tree();
    expect(shape(moveAction(def, "a3", "a1", 1))).toBe("a1{a2 a3{a4}}");
    expect(shape(moveAction(def, "a2", null, 0))).toBe("a2 a1 a3{a4}");
    expect(shape(moveAction(def, "a1", null, 2))).toBe("a3{a4} a1{a2}");
    expect(canMoveInto(def, "a3", "a4")).toBe(false);
    expect(moveAction(def, "a3", "a4", 0)).toBe(def);
    expect(moveAction(def, "a1", "a2", 0)).toBe(def);
  });

  it("moves up, down, into the previous select or create and out again from the keyboard", () => {
    const def = tree();
    expect(shape(moveDown(def, "a1"))).toBe("a3{a4} a1{a2}");
    expect(moveDown(def, "a3")).toBe(def);
    expect(shape(moveUp(def, "a3"))).toBe("a3{a4} a1{a2}");
    expect(moveUp(def, "a1")).toBe(def);
    expect(shape(indent(def, "a3"))).toBe("a1{a2 a3{a4}}");
    expect(indent(def, "a1")).toBe(def);
    expect(shape(outdent(def, "a4"))).toBe("a1{a2} a3 a4");
    expect(shape(outdent(def, "a2"))).toBe("a1 a2 a3{a4}");
    expect(outdent(def, "a1")).toBe(def);
  });

  it("removes an action and what it holds", () => {
    expect(shape(removeAction(tree(), "a3"))).toBe("a1{a2}");
  });
});

describe("the returned action", () => {
  it("defaults to the last top-level action and never names one nested in a select", () => {
    const def = tree();
    expect(returnedId(def)).toBe("a3");
    expect(returnable(def).map((a) => a.id)).toEqual(["a1", "a3", "a4"]);
    expect(returnedId(setReturned(def, "a4"))).toBe("a4");
    expect(setReturned(def, "a2").returned).toBeNull();
  });

  it("falls back to the default when its action is removed or moved into a select", () => {
    const def = setReturned(tree(), "a4");
    expect(removeAction(def, "a3").returned).toBeNull();
    expect(moveAction(def, "a3", "a1", 0).returned).toBeNull();
    expect(moveAction(def, "a4", null, 0).returned).toBe("a4");
  });
});

describe("parameters", () => {
  it("toggles fields as lowerCamelCase parameters typed by the field", () => {
    let def = emptyDefinition("favoriteMeals");
    def = setFieldParam(def, "connoisseur", true);
    def = setFieldParam(def, "timeCreated", true);
    expect(def.params).toEqual([
      { name: "connoisseur", field: "connoisseur" },
      { name: "timeCreated", field: "timeCreated" },
    ]);
    expect(declaredParams(def, TABLES)).toEqual([
      { name: "connoisseur", type: "integer" },
      { name: "timeCreated", type: "datetime" },
    ]);
    expect(setFieldParam(def, "connoisseur", false).params).toEqual([
      { name: "timeCreated", field: "timeCreated" },
    ]);
  });

  it("adds custom parameters switched on, refuses bad or taken names, and only switches them off", () => {
    const added = addCustomParam(emptyDefinition("people"), " meal ", "string");
    if (!("def" in added)) throw new Error(added.error);
    expect(added.def.params).toEqual([{ name: "meal", type: "string" }]);
    expect(addCustomParam(added.def, "meal", "integer")).toEqual({
      error: "There is already a parameter called meal.",
    });
    expect(addCustomParam(added.def, "2nd", "integer")).toEqual({
      error: "Start with a letter; use letters, digits and _.",
    });
    const off = setCustomParamEnabled(added.def, "meal", false);
    expect(off.params).toEqual([{ name: "meal", type: "string", enabled: false }]);
    expect(declaredParams(off, TABLES)).toEqual([]);
    expect(setCustomParamEnabled(off, "meal", true).params).toEqual([
      { name: "meal", type: "string" },
    ]);
  });
});

describe("filters, values and related data", () => {
  it("chains filters with AND / OR and drops the join of a new first filter", () => {
    let def = addAction(emptyDefinition("people"), null, 0, "select").def;
    def = addFilter(def, "a1", "and");
    def = addFilter(def, "a1", "or");
    def = setFilter(def, "a1", 0, {
      field: "name",
      op: "contains",
      value: { param: "q" },
    });
    def = setFilter(def, "a1", 1, {
      field: "name",
      op: "is_empty",
      value: { param: "q" },
    });
    expect(findAction(def, "a1")?.action.filters).toEqual([
      { field: "name", op: "contains", value: { param: "q" } },
      { join: "or", field: "name", op: "is_empty" },
    ]);
    def = removeFilter(def, "a1", 0);
    expect(findAction(def, "a1")?.action.filters).toEqual([
      { field: "name", op: "is_empty" },
    ]);
  });

  it("sets and clears the values of a create", () => {
    let def = addAction(emptyDefinition("people"), null, 0, "create").def;
    def = setAssign(def, "a1", "name", { param: "name" });
    def = setAssign(def, "a1", "name", { param: "other" });
    expect(findAction(def, "a1")?.action.values).toEqual([
      { field: "name", value: { param: "other" } },
    ]);
    expect(findAction(setAssign(def, "a1", "name", null), "a1")?.action.values).toEqual(
      [],
    );
  });

  it("offers related tables in both directions and through link tables", () => {
    expect(viaOptions(TABLES, "people").map((o) => [o.via, o.table])).toEqual([
      [[], "people"],
      [["favoriteMeals.connoisseur"], "favoriteMeals"],
      [["favoriteMeals.connoisseur", "meal"], "meals"],
    ]);
    expect(viaOptions(TABLES, "favoriteMeals").map((o) => o.via)).toEqual([
      [],
      ["connoisseur"],
      ["meal"],
    ]);
    expect(relatedOptions(TABLES, "people").map((o) => o.ref)).toEqual([
      { table: "favoriteMeals", field: "connoisseur" },
    ]);
    let def = addAction(emptyDefinition("favoriteMeals"), null, 0, "select").def;
    def = toggleRelated(def, "a1", { field: "meal" }, true);
    def = toggleRelated(def, "a1", { field: "connoisseur" }, true);
    def = toggleRelated(def, "a1", { field: "meal" }, false);
    expect(findAction(def, "a1")?.action.related).toEqual([{ field: "connoisseur" }]);
  });

  it("names the rows a nested action can read, nearest first", () => {
    expect(rowSources(tree(), "a4").map((a) => a.id)).toEqual(["a3"]);
    const deep = moveAction(tree(), "a3", "a1", 1);
    expect(rowSources(deep, "a4").map((a) => a.id)).toEqual(["a3", "a1"]);
    expect(rowSources(deep, "a1")).toEqual([]);
  });
});

describe("the signature preview", () => {
  it("shows the name, the parameters and what the returned action gives", () => {
    let def = emptyDefinition("people");
    def = setFieldParam(def, "name", true);
    const added = addCustomParam(def, "limit", "integer");
    if (!("def" in added)) throw new Error(added.error);
    def = addAction(added.def, null, 0, "select").def;
    expect(signature("Search people by meal", def, TABLES)).toEqual({
      name: "searchPeopleByMeal",
      params: [
        { name: "name", type: "string" },
        { name: "limit", type: "integer" },
      ],
      returns: "array of people records",
    });
    def = addAction(def, null, 1, "aggregate").def;
    expect(signature("x", def, TABLES).returns).toBe("number");
    expect(signature("x", setReturned(def, "a1"), TABLES).returns).toBe(
      "array of people records",
    );
    expect(signature("x", emptyDefinition("people"), TABLES).returns).toBe("nothing");
  });
});
