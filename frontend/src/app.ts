/** The console: session state, the shell (sidebar + top bar) and page dispatch. */
import { api, ApiError, onApiEvent, type App, type Id, type User } from "./api";
import type { AppsCache, Crumb, Page, PageContext } from "./context";
import { append, clear, emptyState, h } from "./dom";
import { icon } from "./icons";
import { errorText, initials } from "./format";
import { activeAppSection, APP_SECTIONS, appSectionPath, visibleGlobalNav } from "./nav";
import { openPasswordDialog } from "./passwordDialog";
import { Router, type Match } from "./router";
import { ROUTES, safeNext, type RouteName } from "./routes";
import { toast } from "./toast";
import { renderLogin } from "./pages/login";
import { appsPage } from "./pages/apps";
import { appSettingsPage } from "./pages/appSettings";
import { kscriptsPage } from "./pages/kscripts";
import { kscriptEditorPage } from "./pages/kscriptEditor";
import { apiMethodsPage } from "./pages/apiMethods";
import { apiMethodEditorPage } from "./pages/apiMethodEditor";
import { platformPage } from "./pages/platform";
import { tablesPage } from "./pages/tables";
import { tableDesignerPage } from "./pages/tableDesigner";
import { dataBrowserPage } from "./pages/dataBrowser";
import { notFoundPage } from "./pages/notFound";
import { schedulesPage } from "./pages/schedules";
import { scheduleDetailPage } from "./pages/scheduleDetail";
import { platformSchedulesPage } from "./pages/platformSchedules";
import { eventsPage } from "./pages/events";
import { logsPage } from "./pages/logs";
import { usersPage } from "./pages/users";
import { automationsPage } from "./pages/automations";

const PAGES: Partial<Record<RouteName, Page>> = {
  apps: appsPage,
  "app-settings": appSettingsPage,
  "app-kscripts": kscriptsPage,
  "app-kscript": kscriptEditorPage,
  "app-api": apiMethodsPage,
  "app-api-method": apiMethodEditorPage,
  "app-tables": tablesPage,
  "app-table": tableDesignerPage,
  "app-table-data": dataBrowserPage,
  platform: platformPage,
  "app-schedules": schedulesPage,
  "app-schedule": scheduleDetailPage,
  "platform-schedules": platformSchedulesPage,
  "app-logs": logsPage,
  "app-events": eventsPage,
  "app-users": usersPage,
  "app-automations": automationsPage,
};

function createAppsCache(onChange: () => void): AppsCache & { reset(): void } {
  let apps: App[] = [];
  let loaded: Promise<App[]> | null = null;
  const sameId = (a: Id, b: Id): boolean => String(a) === String(b);
  return {
    list(force = false) {
      if (!loaded || force) {
        loaded = api.listApps().then(
          (list) => {
            apps = list;
            onChange();
            return list;
          },
          (error: unknown) => {
            loaded = null;
            throw error;
          },
        );
      }
      return loaded;
    },
    peek: () => apps,
    upsert(app) {
      const index = apps.findIndex((a) => sameId(a.id, app.id));
      if (index >= 0) apps = apps.map((a, i) => (i === index ? { ...a, ...app } : a));
      else apps = [...apps, app];
      onChange();
    },
    remove(id) {
      apps = apps.filter((a) => !sameId(a.id, id));
      onChange();
    },
    reset() {
      apps = [];
      loaded = null;
    },
  };
}

export class Console {
  private user: User | null = null;
  private readonly root: HTMLElement;
  private readonly router: Router<RouteName>;
  private readonly apps: ReturnType<typeof createAppsCache>;
  private controller: AbortController | null = null;
  private shell: {
    sidebar: HTMLElement;
    crumbs: HTMLElement;
    main: HTMLElement;
  } | null = null;
  private match: Match<RouteName> | null = null;
  private lastNetworkToast = 0;

  constructor(root: HTMLElement) {
    this.root = root;
    this.apps = createAppsCache(() => this.renderSidebar());
    this.router = new Router<RouteName>({
      routes: ROUTES,
      onChange: (match) => this.route(match),
    });
    onApiEvent((event) => {
      if (event.kind === "network") {
        const now = Date.now();
        if (now - this.lastNetworkToast > 1500) toast(event.error.message, "error");
        this.lastNetworkToast = now;
      } else if (event.kind === "forbidden") {
        // Usually a missing permission (the page shows it); make sure the session lives.
        if (this.user) {
          api.me().then(
            (user) => {
              if (!user) this.sessionEnded();
            },
            () => undefined,
          );
        }
      } else {
        this.sessionEnded();
      }
    });
  }

  private sessionEnded(): void {
    if (!this.user) return;
    this.user = null;
    this.apps.reset();
    toast("Your session has ended. Please sign in again.", "info");
    this.router.navigate(`/login?next=${encodeURIComponent(this.router.current())}`, {
      replace: true,
    });
  }

  async start(): Promise<void> {
    this.root.replaceChildren(
      h(
        "div",
        { class: "boot", role: "status" },
        h("span", { class: "spinner" }),
        "Loading Kiln…",
      ),
    );
    for (;;) {
      try {
        this.user = await api.me();
        break;
      } catch (error) {
        const message = error instanceof ApiError ? error.message : String(error);
        const retry = h(
          "button",
          { type: "button", class: "btn btn-primary" },
          "Try again",
        );
        this.root.replaceChildren(
          h(
            "div",
            { class: "boot", role: "alert" },
            h("p", null, `Kiln could not load: ${message}`),
            retry,
          ),
        );
        await new Promise<void>((resolve) =>
          retry.addEventListener("click", () => resolve()),
        );
      }
    }
    this.router.start();
  }

  private route(match: Match<RouteName> | null): void {
    this.controller?.abort();
    this.controller = new AbortController();
    this.match = match;
    const url = this.router.current();

    if (match?.name === "login") {
      if (this.user) {
        this.router.navigate(safeNext(match.query.get("next")), { replace: true });
        return;
      }
      this.shell = null;
      renderLogin(this.root, {
        onSignedIn: (user) => {
          this.user = user;
          this.apps.reset();
          this.router.navigate(safeNext(match.query.get("next")), { replace: true });
        },
      });
      document.title = "Sign in · Kiln";
      return;
    }

    if (!this.user) {
      const next = match?.name === "home" ? "" : `?next=${encodeURIComponent(url)}`;
      this.router.navigate(`/login${next}`, { replace: true });
      return;
    }

    if (match?.name === "home") {
      this.router.navigate("/apps", { replace: true });
      return;
    }
    if (match?.name === "app") {
      const first = APP_SECTIONS[0];
      const id = match.params.id ?? "";
      this.router.navigate(first ? appSectionPath(id, first) : "/apps", {
        replace: true,
      });
      return;
    }

    const shell = this.ensureShell(this.user);
    this.renderSidebar();
    this.setCrumbs([]);
    clear(shell.main);
    shell.main.scrollTop = 0;
    window.scrollTo(0, 0);

    const page = (match && PAGES[match.name]) ?? notFoundPage;
    const ctx: PageContext = {
      user: this.user,
      params: match?.params ?? {},
      query: match?.query ?? new URLSearchParams(),
      main: shell.main,
      signal: this.controller.signal,
      navigate: (to, options) => this.router.navigate(to, options),
      setTitle: (title) => {
        document.title = `${title} · Kiln`;
      },
      setCrumbs: (crumbs) => this.setCrumbs(crumbs),
      apps: this.apps,
      refreshNav: () => this.renderSidebar(),
    };
    const signal = this.controller.signal;
    Promise.resolve()
      .then(() => page(ctx))
      .catch((error: unknown) => {
        if (signal.aborted) return;
        if (error instanceof ApiError && error.network) {
          shell.main.replaceChildren(
            errorState("The server could not be reached.", () => this.router.refresh()),
          );
        } else if (error instanceof ApiError && error.status === 404) {
          notFoundPage(ctx);
        } else {
          const message = errorText(error);
          shell.main.replaceChildren(errorState(message, () => this.router.refresh()));
        }
      });
    // The apps list feeds the switcher; a failure there is shown by the page itself.
    if (match?.name !== "apps") this.apps.list().catch(() => undefined);
  }

  private ensureShell(user: User): NonNullable<Console["shell"]> {
    if (this.shell && this.root.contains(this.shell.main)) return this.shell;
    const sidebar = h("aside", { class: "sidebar", "aria-label": "Sidebar" });
    const crumbs = h("nav", { class: "crumbs", "aria-label": "Breadcrumb" });
    const main = h("main", {
      id: "main",
      class: "content",
      tabindex: "-1",
      testid: "main",
    });
    const signOut = h(
      "button",
      { type: "button", class: "btn btn-ghost btn-sm", testid: "sign-out" },
      icon("logout", 14),
      "Sign out",
    );
    signOut.addEventListener("click", () => void this.signOut(signOut));
    const password = h(
      "button",
      { type: "button", class: "btn btn-ghost btn-sm", testid: "change-password" },
      icon("shield", 14),
      "Password",
    );
    password.addEventListener("click", () => openPasswordDialog());
    const topbar = h(
      "header",
      { class: "topbar" },
      crumbs,
      h(
        "div",
        { class: "topbar-user" },
        h("span", { class: "avatar", "aria-hidden": "true" }, initials(user.username)),
        h("span", { class: "topbar-name", testid: "current-user" }, user.username),
        user.is_staff ? h("span", { class: "badge badge-accent" }, "Staff") : null,
        password,
        signOut,
      ),
    );
    const skip = h(
      "a",
      { href: "#main", class: "skip-link", "data-external": "" },
      "Skip to content",
    );
    skip.addEventListener("click", (event) => {
      event.preventDefault();
      main.focus();
    });
    this.root.replaceChildren(
      skip,
      h(
        "div",
        { class: "layout" },
        sidebar,
        h("div", { class: "main-col" }, topbar, main),
      ),
    );
    this.shell = { sidebar, crumbs, main };
    return this.shell;
  }

  private async signOut(btn: HTMLButtonElement): Promise<void> {
    btn.disabled = true;
    try {
      await api.logout();
    } catch (error) {
      btn.disabled = false;
      if (!(error instanceof ApiError && error.network)) {
        toast(`Sign out failed: ${errorText(error)}`, "error");
      }
      return;
    }
    this.user = null;
    this.apps.reset();
    this.shell = null;
    this.router.navigate("/login");
    toast("Signed out.", "success", 2500);
  }

  private setCrumbs(crumbs: Crumb[]): void {
    if (!this.shell) return;
    const list = h("ol", null);
    crumbs.forEach((crumb, i) => {
      const last = i === crumbs.length - 1;
      list.appendChild(
        h(
          "li",
          null,
          crumb.href && !last
            ? h("a", { href: crumb.href }, crumb.label)
            : h("span", { "aria-current": last ? "page" : undefined }, crumb.label),
        ),
      );
    });
    this.shell.crumbs.replaceChildren(list);
  }

  private renderSidebar(): void {
    const user = this.user;
    if (!this.shell || !user) return;
    const path = this.match?.path ?? this.router.current();
    const appId = this.match?.params.id;
    const apps = this.apps.peek();
    const section = activeAppSection(path);

    const link = (
      href: string,
      label: string,
      iconName: Parameters<typeof icon>[0],
      testid: string,
      active: boolean,
    ): HTMLElement =>
      h(
        "a",
        {
          href,
          class: active ? "nav-link active" : "nav-link",
          "aria-current": active ? "page" : undefined,
          testid,
        },
        icon(iconName),
        h("span", null, label),
      );

    const switcherId = "app-switcher";
    const select = h(
      "select",
      { id: switcherId, class: "input select switcher-select", testid: "app-switcher" },
      h("option", { value: "", selected: appId === undefined }, "Choose an app…"),
      apps.map((app) =>
        h(
          "option",
          {
            value: String(app.id),
            selected: appId !== undefined && String(app.id) === appId,
          },
          app.name,
        ),
      ),
    );
    if (appId !== undefined && !apps.some((a) => String(a.id) === appId)) {
      select.value = "";
    }
    select.addEventListener("change", () => {
      if (!select.value) return;
      const target = section ?? APP_SECTIONS[0];
      this.router.navigate(target ? appSectionPath(select.value, target) : "/apps");
    });

    const appNav =
      appId !== undefined
        ? h(
            "nav",
            { class: "nav-group", "aria-label": "App sections" },
            h("p", { class: "nav-heading" }, "App"),
            APP_SECTIONS.map((s) =>
              link(
                appSectionPath(appId, s),
                s.label,
                s.icon,
                `nav-${s.id}`,
                section?.id === s.id,
              ),
            ),
          )
        : null;

    const globalNav = h(
      "nav",
      { class: "nav-group", "aria-label": "Console" },
      h("p", { class: "nav-heading" }, "Console"),
      visibleGlobalNav(user).map((item) =>
        link(item.path, item.label, item.icon, `nav-${item.id}`, path === item.path),
      ),
    );

    clear(this.shell.sidebar);
    append(
      this.shell.sidebar,
      h(
        "a",
        { href: "/apps", class: "brand", testid: "brand" },
        h("span", { class: "brand-mark" }, icon("flame", 16)),
        h("span", null, "Kiln"),
      ),
      h(
        "div",
        { class: "switcher" },
        h("label", { for: switcherId, class: "nav-heading" }, "Current app"),
        select,
      ),
      appNav,
      globalNav,
    );
  }
}

function errorState(message: string, retry: () => void): HTMLElement {
  const btn = h("button", { type: "button", class: "btn btn-secondary" }, "Try again");
  btn.addEventListener("click", retry);
  return emptyState({
    testid: "page-error",
    role: "alert",
    heading: "h1",
    title: "Something went wrong",
    lead: message,
    actions: btn,
  });
}
