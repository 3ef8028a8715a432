import { afterEach, describe, expect, it, vi } from "vitest";
import {
  api,
  ApiError,
  errorFromBody,
  onApiEvent,
  parseJson,
  readCookie,
  request,
  type ApiEvent,
} from "./api";

function jsonResponse(status: number, body: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

afterEach(() => {
  vi.unstubAllGlobals();
  document.cookie = "csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/";
});

describe("errorFromBody", () => {
  it("reads {detail}", () => {
    const err = errorFromBody(403, { detail: "Only owners can do that." });
    expect(err.status).toBe(403);
    expect(err.message).toBe("Only owners can do that.");
    expect(err.fields).toEqual({});
  });

  it("reads field errors and summarises them", () => {
    const err = errorFromBody(400, { name: ["This field may not be blank."], code: "x" });
    expect(err.fields).toEqual({ name: ["This field may not be blank."], code: ["x"] });
    expect(err.fieldMessage("name")).toBe("This field may not be blank.");
    expect(err.fieldMessage("other")).toBe("");
    expect(err.message).toContain("name: This field may not be blank.");
  });

  it("names the messages of the fields a form does not show", () => {
    const err = errorFromBody(400, {
      name: ["Too long."],
      code: ["x", "y"],
      when: ["Bad."],
    });
    expect(err.otherFieldMessages(["name"])).toBe("code: x y when: Bad.");
    expect(err.otherFieldMessages(["name", "code", "when"])).toBe("");
  });

  it("uses non_field_errors without a prefix", () => {
    const err = errorFromBody(400, { non_field_errors: ["Bad combination."] });
    expect(err.message).toBe("Bad combination.");
  });

  it("turns HTML error pages and empty bodies into a readable message", () => {
    expect(errorFromBody(500, "<!doctype html><h1>Server Error</h1>").message).toMatch(
      /server had a problem \(500\)/,
    );
    expect(errorFromBody(502, "").message).toMatch(/502/);
    expect(errorFromBody(400, ["one", "two"]).message).toBe("one two");
  });
});

describe("readCookie", () => {
  it("finds one cookie among many", () => {
    expect(readCookie("csrftoken", "a=1; csrftoken=abc%3D; b=2")).toBe("abc=");
    expect(readCookie("csrftoken", "a=1")).toBe("");
  });
});

describe("request", () => {
  it("sends JSON, the CSRF header and same-origin credentials on writes", async () => {
    document.cookie = "csrftoken=tok123; path=/";
    const fetchMock = vi.fn(() =>
      Promise.resolve(jsonResponse(201, { id: 1, name: "x" })),
    );
    vi.stubGlobal("fetch", fetchMock);
    const app = await api.createApp({ name: "x" });
    expect(app).toEqual({ id: 1, name: "x" });
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("/api/apps/");
    expect(init.method).toBe("POST");
    expect(init.credentials).toBe("same-origin");
    expect(init.body).toBe('{"name":"x"}');
    const headers = init.headers as Record<string, string>;
    expect(headers["X-CSRFToken"]).toBe("tok123");
    expect(headers["Content-Type"]).toBe("application/json");
  });

  it("does not send the CSRF header on GET", async () => {
    const fetchMock = vi.fn(() => Promise.resolve(jsonResponse(200, [])));
    vi.stubGlobal("fetch", fetchMock);
    await api.listApps();
    const init = (fetchMock.mock.calls[0] as unknown as [string, RequestInit])[1];
    expect((init.headers as Record<string, string>)["X-CSRFToken"]).toBeUndefined();
  });

  it("resolves 204 to undefined and encodes ids in URLs", async () => {
    const fetchMock = vi.fn(() => Promise.resolve(new Response(null, { status: 204 })));
    vi.stubGlobal("fetch", fetchMock);
    await expect(api.removeMember(3, "a/b")).resolves.toBeUndefined();
    expect(fetchMock.mock.calls[0]?.[0 as never]).toBe("/api/apps/3/members/a%2Fb/");
  });

  it("throws ApiError with field errors on 400", async () => {
    vi.stubGlobal("fetch", () =>
      Promise.resolve(jsonResponse(400, { name: ["Too long."] })),
    );
    const error = await api.createApp({ name: "x" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).fieldMessage("name")).toBe("Too long.");
  });

  it("reports network failures to listeners and throws a network ApiError", async () => {
    vi.stubGlobal("fetch", () => Promise.reject(new TypeError("Failed to fetch")));
    const events: ApiEvent[] = [];
    const off = onApiEvent((e) => events.push(e));
    const error = await request("GET", "/api/apps/").catch((e: unknown) => e);
    off();
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).network).toBe(true);
    expect((error as ApiError).status).toBe(0);
    expect(events.map((e) => e.kind)).toEqual(["network"]);
  });

  it("announces a lost session, except for me()", async () => {
    const body = { detail: "Authentication credentials were not provided." };
    vi.stubGlobal("fetch", () => Promise.resolve(jsonResponse(403, body)));
    const events: ApiEvent[] = [];
    const off = onApiEvent((e) => events.push(e));
    await expect(api.me()).resolves.toBeNull();
    expect(events).toEqual([]);
    await expect(api.listApps()).rejects.toBeInstanceOf(ApiError);
    off();
    expect(events.map((e) => e.kind)).toEqual(["unauthenticated"]);
  });

  it("recognises Kiln's own wording for a lost session", async () => {
    vi.stubGlobal("fetch", () =>
      Promise.resolve(jsonResponse(403, { detail: "Sign in first." })),
    );
    const events: ApiEvent[] = [];
    const off = onApiEvent((e) => events.push(e));
    await expect(api.listApps()).rejects.toThrow("Sign in first.");
    off();
    expect(events.map((e) => e.kind)).toEqual(["unauthenticated"]);
  });

  it("reports a permission error as forbidden, not as a lost session", async () => {
    vi.stubGlobal("fetch", () =>
      Promise.resolve(
        jsonResponse(403, { detail: "Only owners can rotate the secret." }),
      ),
    );
    const events: ApiEvent[] = [];
    const off = onApiEvent((e) => events.push(e));
    await expect(api.rotateSecret(1)).rejects.toThrow(
      "Only owners can rotate the secret.",
    );
    off();
    expect(events.map((e) => e.kind)).toEqual(["forbidden"]);
  });
});

describe("parseJson", () => {
  it("leaves ordinary values alone", () => {
    expect(parseJson('{"a":1,"b":[1.5,"x",null,true],"c":-9007199254740991}')).toEqual({
      a: 1,
      b: [1.5, "x", null, true],
      c: -9007199254740991,
    });
  });

  it("keeps an integer beyond 2^53 as its digits where the engine gives the source", () => {
    const parsed = parseJson("[1152921504606846977, 1e300]") as unknown[];
    // Chromium passes the source text to the reviver; Node 20 does not (the number rounds).
    expect(["1152921504606846977", Number("1152921504606846977")]).toContain(parsed[0]);
    expect(parsed[1]).toBe(1e300);
  });
});
