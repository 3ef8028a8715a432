/** Pure formatting helpers (no DOM), unit-tested in format.test.ts. */

/**
 * "send welcome email" / "Send-Welcome_email" -> "sendWelcomeEmail". API method names
 * in Kiln are lowerCamelCase; this turns whatever a person typed into one.
 */
export function toLowerCamelCase(input: string): string {
  const words = input
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
  const joined = words
    .map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1)))
    .join("");
  return joined.replace(/^[0-9]+/, "");
}

/** True for names like "yourMethod", "getUser2"; false for "YourMethod", "your_method". */
export function isLowerCamelCase(name: string): boolean {
  return /^[a-z][a-zA-Z0-9]*$/.test(name);
}

const dateFormat = new Intl.DateTimeFormat("en", {
  year: "numeric",
  month: "short",
  day: "numeric",
});

/** "2025-11-22T05:33:00Z" -> "Nov 22, 2025"; unparseable input comes back as given. */
export function formatDate(iso: string): string {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return iso;
  return dateFormat.format(date);
}

const timeFormat = new Intl.DateTimeFormat("en-GB", {
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});
const secondsFormat = new Intl.DateTimeFormat("en-GB", {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});
const dayFormat = new Intl.DateTimeFormat("en", { month: "short", day: "numeric" });

export interface DateTimeOptions {
  /** Leave out what `now` makes obvious: the day when it is today, the year when it is this year's. */
  short?: boolean;
  now?: Date;
  /** Show seconds too (things that come seconds apart, such as client events). */
  seconds?: boolean;
}

/**
 * The console's one date-and-time format, in the browser's time zone on a 24-hour clock:
 * "Nov 22, 2025, 09:05" (the date part reads as `formatDate`'s). Short: "09:05" today,
 * "Nov 22, 09:05" earlier this year. Unparseable input comes back as given.
 */
export function formatDateTime(iso: string, options: DateTimeOptions = {}): string {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return iso;
  const time = (options.seconds ? secondsFormat : timeFormat).format(date);
  if (options.short) {
    const now = options.now ?? new Date();
    if (date.toDateString() === now.toDateString()) return time;
    if (date.getFullYear() === now.getFullYear())
      return `${dayFormat.format(date)}, ${time}`;
  }
  return `${dateFormat.format(date)}, ${time}`;
}

/** Coarse "3 minutes ago"-style text relative to `now`. */
export function formatRelative(iso: string, now: Date = new Date()): string {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return iso;
  const seconds = Math.round((now.getTime() - date.getTime()) / 1000);
  const abs = Math.abs(seconds);
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ["year", 31536000],
    ["month", 2592000],
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];
  const rtf = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  for (const [unit, size] of units) {
    if (abs >= size) return rtf.format(-Math.trunc(seconds / size), unit);
  }
  return "just now";
}

/** A fixed-length mask so the secret's length is not given away. */
export function maskSecret(secret: string): string {
  return secret ? "•".repeat(32) : "";
}

/** "development" -> "Development"; "" -> "Unknown". */
export function titleCase(text: string): string {
  if (!text) return "Unknown";
  return text
    .split(/[_\s-]+/)
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase())
    .join(" ");
}

/** Quote for a POSIX shell, inside single quotes. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

export interface CurlOptions {
  origin: string;
  apiKey: string;
  secretKey: string;
  method?: string;
  body?: string;
}

/** The ready-to-copy request for calling an API method of an app. */
export function curlExample(options: CurlOptions): string {
  const method = options.method ?? "yourMethod";
  const origin = options.origin.replace(/\/+$/, "");
  const url = `${origin}/b2.2/${encodeURIComponent(options.apiKey)}/${method}.json`;
  return [
    `curl -X POST ${shellQuote(url)} \\`,
    `  -u ${shellQuote(`${options.apiKey}:${options.secretKey}`)} \\`,
    `  -H 'Content-Type: application/json' \\`,
    `  -d ${shellQuote(options.body ?? '{"params": {}}')}`,
  ].join("\n");
}

/** "Ada" -> "A", "kiln admin" -> "KA": initials for an avatar. */
export function initials(name: string): string {
  const parts = name.split(/[\s._@-]+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0], parts[1]] : [name.slice(0, 1)];
  return letters
    .map((p) => (p ?? "").charAt(0))
    .join("")
    .toUpperCase();
}

/** The readable message of any thrown value (an ApiError's message is already readable). */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
