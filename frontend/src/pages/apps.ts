/** /apps: the apps the user belongs to, and the "New app" dialog. */
import { api, ApiError, type App } from "../api";
import type { PageContext } from "../context";
import { formDialog } from "../dialog";
import {
  badge,
  button,
  emptyState,
  h,
  inputField,
  loadingStatus,
  pageHead,
  withBusy,
} from "../dom";
import { errorText, formatDate, titleCase } from "../format";
import { icon } from "../icons";
import { APP_SECTIONS, appSectionPath } from "../nav";
import { toast } from "../toast";

export function appHome(app: Pick<App, "id">): string {
  const first = APP_SECTIONS[0];
  return first
    ? appSectionPath(app.id, first)
    : `/apps/${encodeURIComponent(String(app.id))}`;
}

/**
 * Title and crumbs of one of an app's sections (Apps / <app> / <section>): "…" until the
 * app's name is known from the apps list (already in memory after the first page).
 */
export async function sectionCrumbs(
  ctx: PageContext,
  appId: string,
  section: string,
): Promise<void> {
  ctx.setTitle(section);
  ctx.setCrumbs([{ label: "Apps", href: "/apps" }, { label: "…" }, { label: section }]);
  let app: App | undefined;
  try {
    app = (await ctx.apps.list()).find((a) => String(a.id) === String(appId));
  } catch {
    return; // the page itself reports what failed
  }
  if (!app || ctx.signal.aborted) return;
  ctx.setTitle(`${app.name} · ${section}`);
  ctx.setCrumbs([
    { label: "Apps", href: "/apps" },
    { label: app.name, href: appHome(app) },
    { label: section },
  ]);
}

export function appBadges(app: App): HTMLElement[] {
  const out: HTMLElement[] = [
    badge(app.role === "owner" ? "Owner" : "Developer", "neutral", "app-role"),
    badge(titleCase(app.mode), "neutral", "app-mode"),
  ];
  if (app.suspended) out.push(badge("Suspended", "danger", "app-suspended"));
  if (app.kscript_enabled) out.push(badge("KScript", "accent", "app-kscript"));
  return out;
}

function appCard(app: App): HTMLElement {
  return h(
    "article",
    { class: "card app-card", testid: "app-card", "data-app-id": String(app.id) },
    h(
      "div",
      { class: "app-card-head" },
      h(
        "span",
        { class: "app-avatar", "aria-hidden": "true" },
        app.name.slice(0, 1).toUpperCase(),
      ),
      h(
        "h2",
        { class: "app-card-title" },
        h("a", { href: appHome(app), class: "stretched", testid: "app-link" }, app.name),
      ),
    ),
    h("div", { class: "badges" }, appBadges(app)),
    h(
      "dl",
      { class: "app-card-meta" },
      h("dt", null, "API key"),
      h("dd", { class: "mono truncate" }, app.api_key),
      h("dt", null, "Created"),
      h("dd", null, formatDate(app.created_at)),
    ),
  );
}

export function openNewAppDialog(ctx: PageContext): void {
  const name = inputField({
    label: "App name",
    name: "name",
    testid: "new-app-name",
    hint: "You can rename it later.",
    autocomplete: "off",
    required: true,
  });
  const { dialog, submit, showError, hideError } = formDialog({
    title: "New app",
    description: "An app gets its own API key, secret key, data and scripts.",
    testid: "new-app-dialog",
    formClass: "stack",
    fields: [name.wrap],
    submitLabel: "Create app",
    submitTestid: "new-app-submit",
    cancelTestid: "new-app-cancel",
    onSubmit: () => {
      hideError();
      name.setError("");
      const value = name.input.value.trim();
      if (!value) {
        name.setError("Give the app a name.");
        name.input.focus();
        return;
      }
      void withBusy(submit, () => api.createApp({ name: value })).then(
        (app) => {
          ctx.apps.upsert(app);
          dialog.close();
          toast(`Created “${app.name}”.`, "success");
          ctx.navigate(appHome(app));
        },
        (err: unknown) => {
          if (err instanceof ApiError && err.fields.name) {
            name.setError(err.fieldMessage("name"));
            name.input.focus();
          } else if (!(err instanceof ApiError && err.network)) {
            showError(errorText(err));
          }
        },
      );
    },
  });
}

export async function appsPage(ctx: PageContext): Promise<void> {
  ctx.setTitle("Apps");
  ctx.setCrumbs([{ label: "Apps" }]);
  const newApp = button([icon("plus", 14), "New app"], {
    variant: "primary",
    testid: "new-app",
  });
  newApp.addEventListener("click", () => openNewAppDialog(ctx));
  const body = loadingStatus("Loading apps…");
  ctx.main.replaceChildren(
    h(
      "div",
      { class: "page" },
      pageHead({
        title: "Apps",
        lead: "Backends you own or develop. Each has its own keys, data and scripts.",
        actions: newApp,
      }),
      body,
    ),
  );

  const apps = await ctx.apps.list(true);
  if (ctx.signal.aborted) return;

  if (apps.length === 0) {
    const cta = button([icon("plus", 14), "Create your first app"], {
      variant: "primary",
    });
    cta.addEventListener("click", () => openNewAppDialog(ctx));
    body.replaceWith(
      emptyState({
        testid: "apps-empty",
        frame: "card",
        icon: icon("apps", 22),
        title: "No apps yet",
        lead: "Create an app to get an API key and start building.",
        actions: cta,
      }),
    );
    return;
  }
  const sorted = [...apps].sort((a, b) => a.name.localeCompare(b.name));
  body.replaceWith(
    h("div", { class: "app-grid", testid: "apps-list" }, sorted.map(appCard)),
  );
}
