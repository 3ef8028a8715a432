import { toast } from "./toast";

/** Copies text; falls back to execCommand on plain-HTTP origins without navigator.clipboard. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the textarea trick
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  let ok: boolean;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

export async function copyWithToast(text: string, what: string): Promise<void> {
  if (await copyText(text)) toast(`${what} copied to clipboard`, "success", 2500);
  else
    toast(
      `Could not copy the ${what.toLowerCase()}; select it and copy by hand.`,
      "error",
    );
}
