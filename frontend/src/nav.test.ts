import { describe, expect, it } from "vitest";
import { activeAppSection, APP_SECTIONS, appSectionPath, visibleGlobalNav } from "./nav";
import { matchRoute } from "./router";
import { ROUTES } from "./routes";

const user = { id: 1, username: "ada", email: "", is_staff: false };

describe("nav config", () => {
  it("every app section has a route", () => {
    for (const section of APP_SECTIONS) {
      expect(matchRoute(ROUTES, appSectionPath(7, section))?.name).toBe(section.id);
    }
  });

  it("finds the active section", () => {
    expect(activeAppSection("/apps/7/settings")?.label).toBe("Settings");
    expect(activeAppSection("/apps")).toBeNull();
  });

  it("shows Platform to staff only", () => {
    expect(visibleGlobalNav(user).map((i) => i.id)).toEqual(["apps"]);
    expect(visibleGlobalNav({ ...user, is_staff: true }).map((i) => i.id)).toEqual([
      "apps",
      "platform",
      "platform-schedules",
    ]);
  });
});
