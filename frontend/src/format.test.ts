import { describe, expect, it } from "vitest";
import {
  curlExample,
  errorText,
  formatDate,
  formatDateTime,
  formatRelative,
  initials,
  isLowerCamelCase,
  maskSecret,
  shellQuote,
  titleCase,
  toLowerCamelCase,
} from "./format";

describe("toLowerCamelCase", () => {
  it.each([
    ["your method", "yourMethod"],
    ["Send-Welcome_email", "sendWelcomeEmail"],
    ["getUser", "getUser"],
    ["GetUserByID", "getUserById"],
    ["HTTPRequest", "httpRequest"],
    ["  spaced   out  ", "spacedOut"],
    ["2fast 2furious", "fast2furious"],
    ["", ""],
  ])("%s -> %s", (input, expected) => {
    expect(toLowerCamelCase(input)).toBe(expected);
  });

  it("produces names isLowerCamelCase accepts", () => {
    for (const name of ["a b c", "Hello World", "x_y_z1"]) {
      expect(isLowerCamelCase(toLowerCamelCase(name))).toBe(true);
    }
  });
});

describe("isLowerCamelCase", () => {
  it("accepts and rejects", () => {
    expect(isLowerCamelCase("yourMethod")).toBe(true);
    expect(isLowerCamelCase("getUser2")).toBe(true);
    expect(isLowerCamelCase("YourMethod")).toBe(false);
    expect(isLowerCamelCase("your_method")).toBe(false);
    expect(isLowerCamelCase("1method")).toBe(false);
    expect(isLowerCamelCase("")).toBe(false);
  });
});

describe("dates", () => {
  it("formats ISO dates and passes junk through", () => {
    expect(formatDate("2025-11-22T12:00:00Z")).toBe("Nov 22, 2025");
    expect(formatDate("not a date")).toBe("not a date");
  });

  it("formats relative times", () => {
    const now = new Date("2025-11-22T12:00:00Z");
    expect(formatRelative("2025-11-22T11:59:50Z", now)).toBe("just now");
    expect(formatRelative("2025-11-22T11:57:00Z", now)).toBe("3 minutes ago");
    expect(formatRelative("2025-11-21T12:00:00Z", now)).toBe("yesterday");
  });
});

describe("small helpers", () => {
  it("masks secrets without revealing their length", () => {
    expect(maskSecret("abc")).toBe(maskSecret("a much longer secret value"));
    expect(maskSecret("abc")).not.toContain("abc");
    expect(maskSecret("")).toBe("");
  });

  it("title-cases modes", () => {
    expect(titleCase("development")).toBe("Development");
    expect(titleCase("read_only")).toBe("Read Only");
    expect(titleCase("")).toBe("Unknown");
  });

  it("makes initials", () => {
    expect(initials("ada")).toBe("A");
    expect(initials("kiln admin")).toBe("KA");
    expect(initials("jane.doe")).toBe("JD");
  });

  it("quotes for the shell", () => {
    expect(shellQuote("plain")).toBe("'plain'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });
});

describe("curlExample", () => {
  it("builds a Basic-auth POST to the method URL", () => {
    const text = curlExample({
      origin: "https://kiln.example/",
      apiKey: "ak_123",
      secretKey: "sk_456",
    });
    expect(text).toContain(
      "curl -X POST 'https://kiln.example/b2.2/ak_123/yourMethod.json'",
    );
    expect(text).toContain("-u 'ak_123:sk_456'");
    expect(text).toContain("-H 'Content-Type: application/json'");
    expect(text).toContain(`-d '{"params": {}}'`);
  });

  it("takes another method and body", () => {
    const text = curlExample({
      origin: "http://localhost:8000",
      apiKey: "k",
      secretKey: "s",
      method: "getUser",
      body: '{"id": 1}',
    });
    expect(text).toContain("http://localhost:8000/b2.2/k/getUser.json");
    expect(text).toContain(`-d '{"id": 1}'`);
  });
});

describe("errorText", () => {
  it("reads an Error's message and stringifies anything else", () => {
    expect(errorText(new Error("Name taken."))).toBe("Name taken.");
    expect(errorText("plain")).toBe("plain");
    expect(errorText(404)).toBe("404");
  });
});

describe("formatDateTime", () => {
  // Built in local time: the console shows the browser's time zone.
  const at = (y: number, m: number, d: number, hh: number, mm: number): string =>
    new Date(y, m - 1, d, hh, mm).toISOString();
  const now = new Date(2025, 10, 22, 18, 0);

  it("reads as formatDate's date followed by a 24-hour time", () => {
    expect(formatDateTime(at(2025, 11, 22, 9, 5))).toBe("Nov 22, 2025, 09:05");
    expect(formatDateTime(at(2024, 1, 3, 21, 40))).toBe("Jan 3, 2024, 21:40");
    expect(
      formatDateTime(at(2025, 11, 22, 9, 5)).startsWith(
        formatDate(at(2025, 11, 22, 9, 5)),
      ),
    ).toBe(true);
  });

  it("short leaves out today's date and this year", () => {
    expect(formatDateTime(at(2025, 11, 22, 9, 5), { short: true, now })).toBe("09:05");
    expect(formatDateTime(at(2025, 3, 1, 0, 0), { short: true, now })).toBe(
      "Mar 1, 00:00",
    );
    expect(formatDateTime(at(2024, 11, 22, 9, 5), { short: true, now })).toBe(
      "Nov 22, 2024, 09:05",
    );
  });

  it("shows seconds when asked", () => {
    const iso = new Date(2025, 10, 22, 9, 5, 7).toISOString();
    expect(formatDateTime(iso, { seconds: true })).toBe("Nov 22, 2025, 09:05:07");
    expect(formatDateTime(iso, { seconds: true, short: true, now })).toBe("09:05:07");
  });

  it("gives back what it cannot read", () => {
    expect(formatDateTime("not a date")).toBe("not a date");
    expect(formatDateTime("")).toBe("");
  });
});
