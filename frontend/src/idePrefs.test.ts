import { describe, expect, it } from "vitest";
import {
  DEFAULT_PREFS,
  loadPrefs,
  monacoTheme,
  parsePrefs,
  resolveTheme,
  savePrefs,
  toggledFullScreen,
  withTheme,
} from "./idePrefs";

function memory() {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => void data.set(k, v),
  };
}

describe("IDE preferences", () => {
  it("reads what was stored and repairs anything else", () => {
    expect(parsePrefs('{"theme":"dark","fullScreen":true}')).toEqual({
      theme: "dark",
      fullScreen: true,
    });
    expect(parsePrefs(null)).toEqual(DEFAULT_PREFS);
    expect(parsePrefs("not json")).toEqual(DEFAULT_PREFS);
    expect(parsePrefs('{"theme":"purple","fullScreen":"yes"}')).toEqual(DEFAULT_PREFS);
    expect(parsePrefs('{"theme":"light"}')).toEqual({
      theme: "light",
      fullScreen: false,
    });
  });

  it("changes one preference at a time without touching the old object", () => {
    const start = { theme: "system" as const, fullScreen: false };
    expect(withTheme(start, "dark")).toEqual({ theme: "dark", fullScreen: false });
    expect(toggledFullScreen(start)).toEqual({ theme: "system", fullScreen: true });
    expect(start).toEqual({ theme: "system", fullScreen: false });
  });

  it("follows the system only when asked to", () => {
    expect(resolveTheme("system", true)).toBe("dark");
    expect(resolveTheme("system", false)).toBe("light");
    expect(resolveTheme("light", true)).toBe("light");
    expect(resolveTheme("dark", false)).toBe("dark");
    expect(monacoTheme("dark")).toBe("vs-dark");
    expect(monacoTheme("light")).toBe("vs");
  });

  it("is remembered in the storage it is given", () => {
    const store = memory();
    savePrefs({ theme: "dark", fullScreen: true }, store);
    expect([...store.data.keys()]).toEqual(["kiln:ide-prefs"]);
    expect(loadPrefs(store)).toEqual({ theme: "dark", fullScreen: true });
    const broken = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("full");
      },
    };
    expect(loadPrefs(broken)).toEqual(DEFAULT_PREFS);
    expect(() => savePrefs(DEFAULT_PREFS, broken)).not.toThrow();
  });
});
