/**
 * The KScript IDE's remembered preferences (editor theme, full screen), kept in this
 * browser's localStorage. Pure functions decide; `loadPrefs` / `savePrefs` only read and
 * write the storage handed to them.
 */

export type ThemePref = "light" | "dark" | "system";

export interface IdePrefs {
  theme: ThemePref;
  fullScreen: boolean;
}

export const DEFAULT_PREFS: IdePrefs = { theme: "system", fullScreen: false };

export const THEME_CHOICES: readonly { value: ThemePref; label: string }[] = [
  { value: "system", label: "Theme: system" },
  { value: "light", label: "Theme: light" },
  { value: "dark", label: "Theme: dark" },
];

const KEY = "kiln:ide-prefs";

/** Whatever was stored (possibly by an older console, or garbage) as valid prefs. */
export function parsePrefs(raw: string | null): IdePrefs {
  let value: unknown;
  try {
    value = JSON.parse(raw ?? "null");
  } catch {
    return { ...DEFAULT_PREFS };
  }
  if (value === null || typeof value !== "object") return { ...DEFAULT_PREFS };
  const record = value as Record<string, unknown>;
  const theme = THEME_CHOICES.some((c) => c.value === record.theme)
    ? (record.theme as ThemePref)
    : DEFAULT_PREFS.theme;
  const fullScreen =
    typeof record.fullScreen === "boolean" ? record.fullScreen : DEFAULT_PREFS.fullScreen;
  return { theme, fullScreen };
}

export function withTheme(prefs: IdePrefs, theme: ThemePref): IdePrefs {
  return { ...prefs, theme };
}

export function toggledFullScreen(prefs: IdePrefs): IdePrefs {
  return { ...prefs, fullScreen: !prefs.fullScreen };
}

/** The theme the editor shows: the choice, or the system's when following it. */
export function resolveTheme(pref: ThemePref, systemDark: boolean): "light" | "dark" {
  if (pref === "system") return systemDark ? "dark" : "light";
  return pref;
}

/** Monaco's built-in theme for a resolved theme. */
export function monacoTheme(theme: "light" | "dark"): "vs" | "vs-dark" {
  return theme === "dark" ? "vs-dark" : "vs";
}

export interface PrefStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export function loadPrefs(storage: PrefStorage | null = safeLocalStorage()): IdePrefs {
  try {
    return parsePrefs(storage?.getItem(KEY) ?? null);
  } catch {
    return { ...DEFAULT_PREFS };
  }
}

export function savePrefs(
  prefs: IdePrefs,
  storage: PrefStorage | null = safeLocalStorage(),
): void {
  try {
    storage?.setItem(KEY, JSON.stringify(prefs));
  } catch {
    // Storage full or disabled: the choice lasts for this page only.
  }
}

function safeLocalStorage(): PrefStorage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}
