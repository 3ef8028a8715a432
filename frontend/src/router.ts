/**
 * Client-side routing over the History API. Django renders the same HTML shell for
 * every console URL; this decides what to draw for `location.pathname`.
 *
 * Patterns are literal segments and `:name` parameters: "/apps/:id/settings".
 */

export interface Route<N extends string = string> {
  name: N;
  pattern: string;
}

export interface Match<N extends string = string> {
  name: N;
  params: Record<string, string>;
  path: string;
  query: URLSearchParams;
}

/** "/apps/" -> "/apps"; "" -> "/"; collapses repeated slashes. */
export function normalizePath(path: string): string {
  let p = path.replace(/\/{2,}/g, "/");
  if (!p.startsWith("/")) p = `/${p}`;
  if (p.length > 1 && p.endsWith("/")) p = p.slice(0, -1);
  return p;
}

export function matchPattern(
  pattern: string,
  path: string,
): Record<string, string> | null {
  const want = normalizePath(pattern).split("/");
  const have = normalizePath(path).split("/");
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? "";
    const seg = have[i] ?? "";
    if (w.startsWith(":")) {
      if (seg === "") return null;
      try {
        params[w.slice(1)] = decodeURIComponent(seg);
      } catch {
        return null;
      }
    } else if (w !== seg) {
      return null;
    }
  }
  return params;
}

/** First route whose pattern matches; `url` may carry a query string. */
export function matchRoute<N extends string>(
  routes: readonly Route<N>[],
  url: string,
): Match<N> | null {
  const [rawPath = "/", rawQuery = ""] = url.split("#")[0]?.split("?") ?? [];
  const path = normalizePath(rawPath);
  for (const route of routes) {
    const params = matchPattern(route.pattern, path);
    if (params)
      return { name: route.name, params, path, query: new URLSearchParams(rawQuery) };
  }
  return null;
}

/** Fills a pattern: buildPath("/apps/:id", {id: 3}) -> "/apps/3". */
export function buildPath(
  pattern: string,
  params: Record<string, string | number>,
): string {
  return pattern.replace(/:([A-Za-z_]+)/g, (_, key: string) => {
    const value = params[key];
    if (value === undefined) throw new Error(`Missing route parameter: ${key}`);
    return encodeURIComponent(String(value));
  });
}

/** Paths Django serves itself; links to them load normally. */
const SERVER_PREFIXES = ["/api/", "/static/", "/admin/", "/b2.2/", "/media/"];

/**
 * Whether a click on `anchor` should be handled by the router rather than the
 * browser: plain left click, same origin, no target/download, not a server path.
 */
export function shouldIntercept(
  event: Pick<
    MouseEvent,
    "button" | "metaKey" | "ctrlKey" | "shiftKey" | "altKey" | "defaultPrevented"
  >,
  anchor: HTMLAnchorElement,
  origin: string,
): boolean {
  if (event.defaultPrevented || event.button !== 0) return false;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return false;
  if (anchor.target && anchor.target !== "_self") return false;
  if (anchor.hasAttribute("download") || anchor.dataset.external !== undefined)
    return false;
  const href = anchor.getAttribute("href");
  if (!href || href.startsWith("#")) return false;
  let url: URL;
  try {
    url = new URL(anchor.href, origin);
  } catch {
    return false;
  }
  if (url.origin !== origin) return false;
  return !SERVER_PREFIXES.some((p) => url.pathname.startsWith(p));
}

export interface RouterOptions<N extends string> {
  routes: readonly Route<N>[];
  /** Called for every location change, including the first. */
  onChange: (match: Match<N> | null, url: string) => void;
  window?: Window;
}

export class Router<N extends string> {
  private readonly routes: readonly Route<N>[];
  private readonly onChange: RouterOptions<N>["onChange"];
  private readonly win: Window;
  private started = false;

  constructor(options: RouterOptions<N>) {
    this.routes = options.routes;
    this.onChange = options.onChange;
    this.win = options.window ?? window;
  }

  /** The current URL as path + query. */
  current(): string {
    const loc = this.win.location;
    return `${loc.pathname}${loc.search}`;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.win.addEventListener("popstate", this.onPopState);
    this.win.document.addEventListener("click", this.onClick);
    this.dispatch();
  }

  stop(): void {
    this.started = false;
    this.win.removeEventListener("popstate", this.onPopState);
    this.win.document.removeEventListener("click", this.onClick);
  }

  navigate(to: string, options: { replace?: boolean } = {}): void {
    const url = new URL(to, this.win.location.origin);
    const target = `${url.pathname}${url.search}${url.hash}`;
    if (options.replace) this.win.history.replaceState(null, "", target);
    else if (target !== this.current() + this.win.location.hash) {
      this.win.history.pushState(null, "", target);
    }
    this.dispatch();
  }

  /** Re-runs the handler for the current URL. */
  refresh(): void {
    this.dispatch();
  }

  match(url: string = this.current()): Match<N> | null {
    return matchRoute(this.routes, url);
  }

  private dispatch(): void {
    const url = this.current();
    this.onChange(this.match(url), url);
  }

  private readonly onPopState = (): void => {
    this.dispatch();
  };

  private readonly onClick = (event: MouseEvent): void => {
    const target = event.target;
    if (!(target instanceof Element)) return;
    const anchor = target.closest("a");
    if (!anchor || !shouldIntercept(event, anchor, this.win.location.origin)) return;
    event.preventDefault();
    const url = new URL(anchor.href, this.win.location.origin);
    this.navigate(`${url.pathname}${url.search}${url.hash}`);
  };
}
