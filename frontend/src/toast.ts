/**
 * Toast notifications in a live region, stacked in the bottom-left corner (over the
 * sidebar's foot, clear of form buttons); each can be dismissed, at most three show.
 */
import { h } from "./dom";
import { errorText } from "./format";

export type ToastTone = "success" | "error" | "info";

const MAX_TOASTS = 3;

let region: HTMLElement | null = null;

function ensureRegion(): HTMLElement {
  if (region && document.body.contains(region)) return region;
  region = h("div", {
    class: "toasts",
    testid: "toasts",
    "aria-live": "polite",
    "aria-relevant": "additions",
  });
  document.body.appendChild(region);
  return region;
}

export function toast(
  message: string,
  tone: ToastTone = "info",
  timeoutMs?: number,
): HTMLElement {
  const host = ensureRegion();
  const close = h(
    "button",
    { type: "button", class: "toast-close", "aria-label": "Dismiss notification" },
    "×",
  );
  const el = h(
    "div",
    {
      class: `toast toast-${tone}`,
      role: tone === "error" ? "alert" : "status",
      testid: "toast",
      "data-tone": tone,
    },
    h("span", { class: "toast-dot", "aria-hidden": "true" }),
    h("span", { class: "toast-message" }, message),
    close,
  );
  const remove = (): void => {
    el.classList.add("toast-leaving");
    window.setTimeout(() => el.remove(), 150);
  };
  close.addEventListener("click", remove);
  // The same message again replaces the earlier one rather than stacking a copy.
  for (const old of Array.from(host.children)) {
    const text = old.querySelector(".toast-message")?.textContent;
    if (text === message && (old as HTMLElement).dataset.tone === tone) old.remove();
  }
  host.appendChild(el);
  while (host.children.length > MAX_TOASTS) host.firstElementChild?.remove();
  const ms = timeoutMs ?? (tone === "error" ? 8000 : 4000);
  if (ms > 0) window.setTimeout(remove, ms);
  return el;
}

/** Shows any thrown value as an error toast (ApiError messages are readable). */
export function toastError(error: unknown, prefix = ""): void {
  const message = errorText(error);
  toast(prefix ? `${prefix}: ${message}` : message, "error");
}
