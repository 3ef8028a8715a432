/**
 * Every call the console makes to Django's JSON API (DRF, session auth + CSRF).
 *
 * Errors are thrown as `ApiError`, which understands DRF's two shapes:
 * `{"detail": "..."}` and `{"field": ["msg", ...]}`. A request that never reaches the
 * server becomes an `ApiError` with `status === 0` and `network === true`; the
 * handlers registered with `onApiEvent` hear about it so that a toast always shows.
 */

export type Id = number | string;
export type Role = "owner" | "developer";

export interface User {
  id: Id;
  username: string;
  email: string;
  is_staff: boolean;
}

export interface LoginRequest {
  username: string;
  password: string;
}

export interface App {
  id: Id;
  name: string;
  api_key: string;
  mode: string;
  suspended: boolean;
  kscript_enabled: boolean;
  role: Role;
  created_at: string;
}

export interface Member {
  user_id: Id;
  username: string;
  role: Role;
}

export interface AppDetail extends App {
  secret_key: string;
  members: Member[];
}

export interface CreateAppRequest {
  name: string;
}

export interface UpdateAppRequest {
  name: string;
}

export interface AddMemberRequest {
  username: string;
  role: Role;
}

export interface UpdateMemberRequest {
  role: Role;
}

export interface PlatformApp {
  id: Id;
  name: string;
  api_key: string;
  suspended: boolean;
  kscript_enabled: boolean;
  owners: string[];
  created_at: string;
}

export interface UpdatePlatformAppRequest {
  kscript_enabled?: boolean;
  suspended?: boolean;
}

export interface PlatformUser {
  id: Id;
  username: string;
  email: string;
  is_staff: boolean;
  /** False once disabled: cannot sign in, sessions ended. */
  is_active: boolean;
  date_joined: string;
}

export interface UpdatePlatformUserRequest {
  username?: string;
  email?: string;
  is_staff?: boolean;
  is_active?: boolean;
}

export interface ChangePasswordRequest {
  current_password: string;
  new_password: string;
}

export interface CreatePlatformUserRequest {
  username: string;
  email: string;
  password: string;
  is_staff: boolean;
}

export type FieldErrors = Record<string, string[]>;

export class ApiError extends Error {
  readonly status: number;
  /** The `detail` message, or a summary when the body had none. */
  readonly detail: string;
  /** Per-field messages (DRF validation errors); `non_field_errors` included. */
  readonly fields: FieldErrors;
  readonly network: boolean;

  constructor(status: number, detail: string, fields: FieldErrors = {}, network = false) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.fields = fields;
    this.network = network;
  }

  /** Messages for one field, joined; "" when the field has none. */
  fieldMessage(field: string): string {
    return (this.fields[field] ?? []).join(" ");
  }

  /** The messages of the fields a form does not show, as "field: message" each; "" when none. */
  otherFieldMessages(shown: readonly string[]): string {
    return Object.keys(this.fields)
      .filter((k) => !shown.includes(k))
      .map((k) => `${k}: ${this.fieldMessage(k)}`)
      .join(" ");
  }
}

/** Turns a DRF error body into an ApiError. Exported for tests. */
export function errorFromBody(status: number, body: unknown): ApiError {
  const fallback =
    status >= 500
      ? `The server had a problem (${status}). Try again in a moment.`
      : `Request failed (${status}).`;
  if (typeof body === "string") {
    const text = body.trim();
    // HTML error pages are not worth showing to a person.
    const useful = text !== "" && text.length < 300 && !text.startsWith("<");
    return new ApiError(status, useful ? text : fallback);
  }
  if (Array.isArray(body)) {
    const msgs = body.filter((m): m is string => typeof m === "string");
    return new ApiError(status, msgs.length ? msgs.join(" ") : fallback);
  }
  if (body === null || typeof body !== "object") {
    return new ApiError(status, fallback);
  }
  const record = body as Record<string, unknown>;
  const fields: FieldErrors = {};
  for (const [key, value] of Object.entries(record)) {
    if (key === "detail") continue;
    if (Array.isArray(value)) {
      fields[key] = value.map((v) => String(v));
    } else if (typeof value === "string") {
      fields[key] = [value];
    }
  }
  let detail: string;
  if (typeof record.detail === "string" && record.detail !== "") {
    detail = record.detail;
  } else {
    const parts = Object.entries(fields).map(([key, msgs]) =>
      key === "non_field_errors" ? msgs.join(" ") : `${key}: ${msgs.join(" ")}`,
    );
    detail = parts.length ? parts.join(" ") : fallback;
  }
  return new ApiError(status, detail, fields);
}

export function readCookie(name: string, cookie: string = document.cookie): string {
  for (const part of cookie.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      return decodeURIComponent(part.slice(eq + 1).trim());
    }
  }
  return "";
}

export type ApiEvent =
  | { kind: "network"; error: ApiError }
  /** The message says nobody is signed in. */
  | { kind: "unauthenticated"; error: ApiError }
  /** Some other 401/403: a missing permission, or perhaps a session that ended. */
  | { kind: "forbidden"; error: ApiError };

type Listener = (event: ApiEvent) => void;
const listeners = new Set<Listener>();

/** Subscribe to network failures and lost sessions. Returns an unsubscribe function. */
export function onApiEvent(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit(event: ApiEvent): void {
  for (const listener of listeners) listener(event);
}

/** DRF says this (403 under session auth) when nobody is signed in. */
function isNotAuthenticated(status: number, detail: string): boolean {
  return (
    (status === 401 || status === 403) &&
    /credentials were not provided|not authenticated|sign in first/i.test(detail)
  );
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface RequestOptions {
  /** Do not announce a lost session (used by `me()`, which expects 403). */
  quietAuth?: boolean;
  /** Do not announce an unreachable server (the caller shows it where it matters). */
  quietNetwork?: boolean;
  signal?: AbortSignal;
}

export async function request<T>(
  method: Method,
  path: string,
  body?: unknown,
  options: RequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = readCookie("csrftoken");

  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: options.signal,
    });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === "AbortError") throw cause;
    const error = new ApiError(
      0,
      "Could not reach the server. Check your connection and try again.",
      {},
      true,
    );
    if (!options.quietNetwork) emit({ kind: "network", error });
    throw error;
  }

  if (response.status === 204) return undefined as T;

  const text = await response.text();
  let data: unknown = text;
  const type = response.headers.get("Content-Type") ?? "";
  if (text !== "" && type.includes("json")) {
    try {
      data = parseJson(text);
    } catch {
      data = text;
    }
  }

  if (!response.ok) {
    const error = errorFromBody(response.status, data);
    if (!options.quietAuth && (error.status === 401 || error.status === 403)) {
      const lost = isNotAuthenticated(error.status, error.detail);
      emit({ kind: lost ? "unauthenticated" : "forbidden", error });
    }
    throw error;
  }
  return data as T;
}

const enc = (id: Id): string => encodeURIComponent(String(id));

export const api = {
  /** Resolves to null when nobody is signed in (403/401). */
  async me(): Promise<User | null> {
    try {
      return await request<User>("GET", "/api/auth/me/", undefined, { quietAuth: true });
    } catch (error) {
      if (error instanceof ApiError && (error.status === 403 || error.status === 401)) {
        return null;
      }
      throw error;
    }
  },
  login: (body: LoginRequest) =>
    request<User>("POST", "/api/auth/login/", body, { quietAuth: true }),
  logout: () => request<undefined>("POST", "/api/auth/logout/"),

  listApps: () => request<App[]>("GET", "/api/apps/"),
  createApp: (body: CreateAppRequest) => request<App>("POST", "/api/apps/", body),
  getApp: (id: Id) => request<AppDetail>("GET", `/api/apps/${enc(id)}/`),
  updateApp: (id: Id, body: UpdateAppRequest) =>
    request<App>("PATCH", `/api/apps/${enc(id)}/`, body),
  deleteApp: (id: Id) => request<undefined>("DELETE", `/api/apps/${enc(id)}/`),
  rotateSecret: (id: Id) =>
    request<AppDetail>("POST", `/api/apps/${enc(id)}/rotate-secret/`, {}),

  addMember: (appId: Id, body: AddMemberRequest) =>
    request<Member>("POST", `/api/apps/${enc(appId)}/members/`, body),
  updateMember: (appId: Id, userId: Id, body: UpdateMemberRequest) =>
    request<Member>("PATCH", `/api/apps/${enc(appId)}/members/${enc(userId)}/`, body),
  removeMember: (appId: Id, userId: Id) =>
    request<undefined>("DELETE", `/api/apps/${enc(appId)}/members/${enc(userId)}/`),

  platformApps: () => request<PlatformApp[]>("GET", "/api/platform/apps/"),
  updatePlatformApp: (id: Id, body: UpdatePlatformAppRequest) =>
    request<PlatformApp>("PATCH", `/api/platform/apps/${enc(id)}/`, body),
  platformUsers: () => request<PlatformUser[]>("GET", "/api/platform/users/"),
  createPlatformUser: (body: CreatePlatformUserRequest) =>
    request<PlatformUser>("POST", "/api/platform/users/", body),
  updatePlatformUser: (id: Id, body: UpdatePlatformUserRequest) =>
    request<PlatformUser>("PATCH", `/api/platform/users/${enc(id)}/`, body),
  changePassword: (body: ChangePasswordRequest) =>
    request<undefined>("POST", "/api/auth/password/", body),
};

/**
 * JSON.parse that keeps integers beyond 2^53 exact, as their digits in a string (a JS
 * number would round 2^60 + 1). Integer fields are 64-bit; the editors and the API take
 * such a string back unchanged. Needs JSON.parse's source text (Chromium 114 and later);
 * elsewhere big integers round as before.
 */
export function parseJson(text: string): unknown {
  return JSON.parse(text, exactBigIntegers as (key: string, value: unknown) => unknown);
}

function exactBigIntegers(
  _key: string,
  value: unknown,
  context?: { source?: string },
): unknown {
  if (
    typeof value === "number" &&
    !Number.isSafeInteger(value) &&
    typeof context?.source === "string" &&
    /^-?\d+$/.test(context.source)
  )
    return context.source;
  return value;
}
