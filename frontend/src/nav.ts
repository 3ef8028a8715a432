/**
 * Sidebar navigation as data. To add a console section (Tables, API methods, KScript,
 * Schedules...), add one entry to APP_SECTIONS and a route + page in routes.ts;
 * nothing else in the shell changes. Only list sections that work.
 */
import type { Id, User } from "./api";
import type { IconName } from "./icons";

export interface AppSection {
  /** Route name in routes.ts, also used for `data-testid="nav-<id>"`. */
  id: string;
  label: string;
  icon: IconName;
  /** URL segment after /apps/<id>/. */
  segment: string;
}

export const APP_SECTIONS: readonly AppSection[] = [
  { id: "app-settings", label: "Settings", icon: "settings", segment: "settings" },
  { id: "app-api", label: "API", icon: "link", segment: "api" },
  { id: "app-kscripts", label: "KScript", icon: "code", segment: "kscripts" },
  { id: "app-tables", label: "Tables", icon: "table", segment: "tables" },
  { id: "app-schedules", label: "Schedules", icon: "history", segment: "schedules" },
  { id: "app-logs", label: "Logs", icon: "search", segment: "logs" },
  { id: "app-events", label: "Events", icon: "flame", segment: "events" },
  { id: "app-users", label: "Users", icon: "users", segment: "users" },
  { id: "app-automations", label: "Automations", icon: "play", segment: "automations" },
];

export interface GlobalNavItem {
  id: string;
  label: string;
  icon: IconName;
  path: string;
  /** Whether `user` sees the entry at all. */
  visible: (user: User) => boolean;
}

export const GLOBAL_NAV: readonly GlobalNavItem[] = [
  { id: "apps", label: "All apps", icon: "apps", path: "/apps", visible: () => true },
  {
    id: "platform",
    label: "Platform",
    icon: "shield",
    path: "/platform",
    visible: (user) => user.is_staff,
  },
  {
    id: "platform-schedules",
    label: "All schedules",
    icon: "history",
    path: "/platform/schedules",
    visible: (user) => user.is_staff,
  },
];

export function appSectionPath(appId: Id, section: AppSection): string {
  return `/apps/${encodeURIComponent(String(appId))}/${section.segment}`;
}

/** The section a path belongs to, for highlighting; null outside an app. */
export function activeAppSection(path: string): AppSection | null {
  const match = /^\/apps\/[^/]+\/([^/]+)/.exec(path);
  if (!match) return null;
  return APP_SECTIONS.find((s) => s.segment === match[1]) ?? null;
}

export function visibleGlobalNav(user: User): GlobalNavItem[] {
  return GLOBAL_NAV.filter((item) => item.visible(user));
}
