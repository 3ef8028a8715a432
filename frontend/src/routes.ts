import type { Route } from "./router";

/** Every console URL Django serves the shell for. Order matters: first match wins. */
export const ROUTES = [
  { name: "login", pattern: "/login" },
  { name: "home", pattern: "/" },
  { name: "apps", pattern: "/apps" },
  { name: "app", pattern: "/apps/:id" },
  { name: "app-settings", pattern: "/apps/:id/settings" },
  { name: "app-kscripts", pattern: "/apps/:id/kscripts" },
  { name: "app-kscript", pattern: "/apps/:id/kscripts/:method" },
  { name: "app-api", pattern: "/apps/:id/api" },
  { name: "app-api-method", pattern: "/apps/:id/api/:method" },
  { name: "app-tables", pattern: "/apps/:id/tables" },
  { name: "app-table", pattern: "/apps/:id/tables/:table" },
  { name: "app-table-data", pattern: "/apps/:id/tables/:table/data" },
  { name: "app-schedules", pattern: "/apps/:id/schedules" },
  { name: "app-schedule", pattern: "/apps/:id/schedules/:schedule" },
  { name: "app-logs", pattern: "/apps/:id/logs" },
  { name: "app-events", pattern: "/apps/:id/events" },
  { name: "app-users", pattern: "/apps/:id/users" },
  { name: "app-automations", pattern: "/apps/:id/automations" },
  { name: "platform", pattern: "/platform" },
  { name: "platform-schedules", pattern: "/platform/schedules" },
] as const satisfies readonly Route[];

export type RouteName = (typeof ROUTES)[number]["name"];

/** Where to go after signing in: only same-site console paths are accepted. */
export function safeNext(next: string | null): string {
  if (
    !next ||
    !next.startsWith("/") ||
    next.startsWith("//") ||
    next.startsWith("/login")
  ) {
    return "/apps";
  }
  return next;
}
