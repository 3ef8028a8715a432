import { afterEach, describe, expect, it, vi } from "vitest";
import {
  buildPath,
  matchPattern,
  matchRoute,
  normalizePath,
  Router,
  shouldIntercept,
} from "./router";
import { ROUTES, safeNext, type RouteName } from "./routes";

describe("normalizePath", () => {
  it("drops trailing and doubled slashes", () => {
    expect(normalizePath("/apps/")).toBe("/apps");
    expect(normalizePath("//apps//3/")).toBe("/apps/3");
    expect(normalizePath("")).toBe("/");
    expect(normalizePath("/")).toBe("/");
  });
});

describe("matchPattern / matchRoute", () => {
  it("extracts parameters", () => {
    expect(matchPattern("/apps/:id/settings", "/apps/42/settings")).toEqual({ id: "42" });
    expect(matchPattern("/apps/:id", "/apps/42/settings")).toBeNull();
    expect(matchPattern("/apps/:id", "/apps/")).toBeNull();
  });

  it("decodes parameters and rejects broken escapes", () => {
    expect(matchPattern("/apps/:id", "/apps/a%20b")).toEqual({ id: "a b" });
    expect(matchPattern("/apps/:id", "/apps/%E0%A4%A")).toBeNull();
  });

  it("matches the console routes, with query strings", () => {
    expect(matchRoute(ROUTES, "/")?.name).toBe("home");
    expect(matchRoute(ROUTES, "/apps/")?.name).toBe("apps");
    expect(matchRoute(ROUTES, "/apps/7")?.params).toEqual({ id: "7" });
    const settings = matchRoute(ROUTES, "/apps/7/settings?tab=x#top");
    expect(settings?.name).toBe("app-settings");
    expect(settings?.query.get("tab")).toBe("x");
    const login = matchRoute(ROUTES, "/login?next=%2Fapps%2F7");
    expect(login?.name).toBe("login");
    expect(login?.query.get("next")).toBe("/apps/7");
    expect(matchRoute(ROUTES, "/platform")?.name).toBe("platform");
    expect(matchRoute(ROUTES, "/nope")).toBeNull();
  });
});

describe("buildPath", () => {
  it("fills and encodes parameters", () => {
    expect(buildPath("/apps/:id/settings", { id: 3 })).toBe("/apps/3/settings");
    expect(buildPath("/apps/:id", { id: "a/b" })).toBe("/apps/a%2Fb");
    expect(() => buildPath("/apps/:id", {})).toThrow(/id/);
  });
});

describe("safeNext", () => {
  it("only accepts same-site console paths", () => {
    expect(safeNext("/apps/3/settings")).toBe("/apps/3/settings");
    expect(safeNext(null)).toBe("/apps");
    expect(safeNext("https://evil.example/")).toBe("/apps");
    expect(safeNext("//evil.example/")).toBe("/apps");
    expect(safeNext("/login")).toBe("/apps");
  });
});

function anchor(href: string, attrs: Record<string, string> = {}): HTMLAnchorElement {
  const a = document.createElement("a");
  a.href = href;
  for (const [k, v] of Object.entries(attrs)) a.setAttribute(k, v);
  return a;
}

const click = {
  button: 0,
  metaKey: false,
  ctrlKey: false,
  shiftKey: false,
  altKey: false,
  defaultPrevented: false,
};

describe("shouldIntercept", () => {
  const origin = window.location.origin;

  it("takes plain same-origin console links", () => {
    expect(shouldIntercept(click, anchor("/apps/3/settings"), origin)).toBe(true);
  });

  it("leaves modified clicks, new tabs, downloads and other origins to the browser", () => {
    expect(shouldIntercept({ ...click, metaKey: true }, anchor("/apps"), origin)).toBe(
      false,
    );
    expect(shouldIntercept({ ...click, button: 1 }, anchor("/apps"), origin)).toBe(false);
    expect(shouldIntercept(click, anchor("/apps", { target: "_blank" }), origin)).toBe(
      false,
    );
    expect(shouldIntercept(click, anchor("/apps", { download: "" }), origin)).toBe(false);
    expect(shouldIntercept(click, anchor("https://example.com/apps"), origin)).toBe(
      false,
    );
    expect(
      shouldIntercept({ ...click, defaultPrevented: true }, anchor("/apps"), origin),
    ).toBe(false);
  });

  it("leaves server paths (API, static, admin) alone", () => {
    expect(shouldIntercept(click, anchor("/api/apps/"), origin)).toBe(false);
    expect(shouldIntercept(click, anchor("/static/x.js"), origin)).toBe(false);
    expect(shouldIntercept(click, anchor("/admin/"), origin)).toBe(false);
  });
});

describe("Router", () => {
  let current: Router<RouteName> | null = null;
  afterEach(() => {
    current?.stop();
    current = null;
    window.history.replaceState(null, "", "/");
    document.body.replaceChildren();
  });

  it("dispatches on start, navigate, link clicks and back/forward", async () => {
    const seen: (string | null)[] = [];
    const router = new Router<RouteName>({
      routes: ROUTES,
      onChange: (match, url) => seen.push(match ? `${match.name} ${url}` : null),
    });
    window.history.replaceState(null, "", "/apps");
    current = router;
    router.start();
    expect(seen).toEqual(["apps /apps"]);

    router.navigate("/apps/5/settings");
    expect(window.location.pathname).toBe("/apps/5/settings");
    expect(seen.at(-1)).toBe("app-settings /apps/5/settings");

    const link = anchor("/platform");
    link.textContent = "Platform";
    document.body.appendChild(link);
    const event = new MouseEvent("click", { bubbles: true, cancelable: true, button: 0 });
    link.dispatchEvent(event);
    expect(event.defaultPrevented).toBe(true);
    expect(seen.at(-1)).toBe("platform /platform");

    const popped = new Promise<void>((resolve) =>
      window.addEventListener("popstate", () => resolve(), { once: true }),
    );
    window.history.back();
    await popped;
    expect(seen.at(-1)).toBe("app-settings /apps/5/settings");
  });

  it("replace does not add a history entry", () => {
    const onChange = vi.fn();
    const router = new Router<RouteName>({ routes: ROUTES, onChange });
    window.history.replaceState(null, "", "/");
    current = router;
    router.start();
    const before = window.history.length;
    router.navigate("/login?next=%2Fapps", { replace: true });
    expect(window.history.length).toBe(before);
    expect(window.location.search).toBe("?next=%2Fapps");
    expect(onChange).toHaveBeenCalledTimes(2);
  });
});
