/** What every page receives from the shell. */
import type { App, Id, User } from "./api";

export interface Crumb {
  label: string;
  href?: string;
}

export interface AppsCache {
  /** The user's apps, fetched once and then served from memory. */
  list(force?: boolean): Promise<App[]>;
  /** What is in memory now (may be empty before the first load). */
  peek(): App[];
  upsert(app: App): void;
  remove(id: Id): void;
}

export interface PageContext {
  user: User;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The page's area; cleared before each page renders. */
  main: HTMLElement;
  /** Aborted when the user navigates away; check after every await. */
  signal: AbortSignal;
  navigate(to: string, options?: { replace?: boolean }): void;
  setTitle(title: string): void;
  setCrumbs(crumbs: Crumb[]): void;
  apps: AppsCache;
  /** Re-draws the sidebar (after an app is created, renamed or deleted). */
  refreshNav(): void;
}

export type Page = (ctx: PageContext) => Promise<void> | void;
