// Development aid only: an in-memory stand-in for Django so the built console can be
// clicked through without the backend. Serves dist/ at /static/, the HTML shell (from
// the Vite manifest, like the Django template) for every other page, and the JSON API.
//   npm run build && npm run dev:mock   -> http://127.0.0.1:8001  (admin/admin, dev/dev)
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { randomBytes } from "node:crypto";

const PORT = Number(process.env.PORT ?? 8001);
const DIST = new URL("../dist/", import.meta.url).pathname;

const users = [
  {
    id: 1,
    username: "admin",
    email: "admin@example.com",
    is_staff: true,
    password: "admin",
  },
  { id: 2, username: "dev", email: "dev@example.com", is_staff: false, password: "dev" },
];
const apps = [];
let nextId = 1;
const sessions = new Map();
const key = (p) => `${p}_${randomBytes(12).toString("hex")}`;

function makeApp(name, ownerId) {
  const app = {
    id: nextId++,
    name,
    api_key: key("ak"),
    secret_key: key("sk"),
    mode: "development",
    suspended: false,
    kscript_enabled: false,
    created_at: new Date().toISOString(),
    members: [{ user_id: ownerId, role: "owner" }],
  };
  apps.push(app);
  return app;
}
makeApp("Demo shop", 1).members.push({ user_id: 2, role: "developer" });

const uname = (id) => users.find((u) => u.id === id)?.username ?? "?";
const publicUser = (user) => {
  const u = { ...user, date_joined: "2025-01-01T00:00:00Z" };
  delete u.password;
  return u;
};
const roleOf = (app, user) => app.members.find((m) => m.user_id === user.id)?.role;
const appOut = (app, user) => ({
  id: app.id,
  name: app.name,
  api_key: app.api_key,
  mode: app.mode,
  suspended: app.suspended,
  kscript_enabled: app.kscript_enabled,
  role: roleOf(app, user),
  created_at: app.created_at,
});
const detailOut = (app, user) => ({
  ...appOut(app, user),
  secret_key: app.secret_key,
  members: app.members.map((m) => ({
    user_id: m.user_id,
    username: uname(m.user_id),
    role: m.role,
  })),
});
const platformOut = (app) => ({
  id: app.id,
  name: app.name,
  api_key: app.api_key,
  suspended: app.suspended,
  kscript_enabled: app.kscript_enabled,
  owners: app.members.filter((m) => m.role === "owner").map((m) => uname(m.user_id)),
  created_at: app.created_at,
});

function cookies(req) {
  return Object.fromEntries(
    (req.headers.cookie ?? "")
      .split(";")
      .map((c) => c.trim().split("="))
      .filter((p) => p.length === 2),
  );
}

async function shell(res) {
  const manifest = JSON.parse(await readFile(join(DIST, ".vite/manifest.json"), "utf8"));
  const entry = manifest["src/main.ts"];
  const css = (entry.css ?? [])
    .map((f) => `<link rel="stylesheet" href="/static/${f}">`)
    .join("");
  res.writeHead(200, {
    "Content-Type": "text/html; charset=utf-8",
    "Set-Cookie": `csrftoken=devtoken; Path=/; SameSite=Lax`,
  });
  res.end(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Kiln</title>${css}<script type="module" src="/static/${entry.file}"></script></head><body><div id="app"></div></body></html>`,
  );
}

const TYPES = {
  ".js": "text/javascript",
  ".css": "text/css",
  ".map": "application/json",
};

async function api(req, res, path, body) {
  const send = (status, data) => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(data === undefined ? "" : JSON.stringify(data));
  };
  const sid = cookies(req).sessionid;
  const user = sid ? users.find((u) => u.id === sessions.get(sid)) : undefined;
  if (req.method !== "GET" && req.headers["x-csrftoken"] !== "devtoken") {
    return send(403, { detail: "CSRF Failed: CSRF token missing." });
  }
  if (path === "/api/auth/login/" && req.method === "POST") {
    const u = users.find(
      (x) => x.username === body.username && x.password === body.password,
    );
    if (!u) return send(400, { detail: "Wrong username or password." });
    const s = randomBytes(8).toString("hex");
    sessions.set(s, u.id);
    res.setHeader("Set-Cookie", `sessionid=${s}; Path=/; HttpOnly`);
    return send(200, publicUser(u));
  }
  if (!user) return send(403, { detail: "Sign in first." });
  if (path === "/api/auth/me/") return send(200, publicUser(user));
  if (path === "/api/auth/logout/") {
    sessions.delete(sid);
    return send(204);
  }
  if (path === "/api/apps/") {
    if (req.method === "POST") {
      if (!body.name?.trim())
        return send(400, { name: ["This field may not be blank."] });
      return send(201, appOut(makeApp(body.name.trim(), user.id), user));
    }
    return send(
      200,
      apps.filter((a) => roleOf(a, user)).map((a) => appOut(a, user)),
    );
  }
  let m = /^\/api\/apps\/(\d+)\/(.*)$/.exec(path);
  if (m) {
    const app = apps.find((a) => a.id === Number(m[1]) && roleOf(a, user));
    if (!app) return send(404, { detail: "Not found." });
    const rest = m[2];
    const owner = roleOf(app, user) === "owner";
    const denied = () => send(403, { detail: "Only owners can do that." });
    if (rest === "" && req.method === "GET") return send(200, detailOut(app, user));
    if (!owner) return denied();
    if (rest === "" && req.method === "PATCH") {
      if (!body.name?.trim())
        return send(400, { name: ["This field may not be blank."] });
      app.name = body.name.trim();
      return send(200, appOut(app, user));
    }
    if (rest === "" && req.method === "DELETE") {
      apps.splice(apps.indexOf(app), 1);
      return send(204);
    }
    if (rest === "rotate-secret/") {
      app.secret_key = key("sk");
      return send(200, detailOut(app, user));
    }
    if (rest === "members/" && req.method === "POST") {
      const u = users.find((x) => x.username === body.username);
      if (!u) return send(400, { username: ["No user with this username."] });
      if (roleOf(app, u)) return send(400, { username: ["Already a member."] });
      app.members.push({ user_id: u.id, role: body.role });
      return send(201, { user_id: u.id, username: u.username, role: body.role });
    }
    const mm = /^members\/(\d+)\/$/.exec(rest);
    if (mm) {
      const member = app.members.find((x) => x.user_id === Number(mm[1]));
      if (!member) return send(404, { detail: "Not found." });
      const owners = app.members.filter((x) => x.role === "owner").length;
      const lastOwner = member.role === "owner" && owners === 1;
      if (req.method === "DELETE" || body.role !== "owner") {
        if (lastOwner)
          return send(400, { detail: "An app must keep at least one owner." });
      }
      if (req.method === "DELETE") {
        app.members.splice(app.members.indexOf(member), 1);
        return send(204);
      }
      member.role = body.role;
      return send(200, {
        user_id: member.user_id,
        username: uname(member.user_id),
        role: member.role,
      });
    }
  }
  if (path.startsWith("/api/platform/") && !user.is_staff) {
    return send(403, { detail: "You do not have permission to perform this action." });
  }
  if (path === "/api/platform/apps/") return send(200, apps.map(platformOut));
  m = /^\/api\/platform\/apps\/(\d+)\/$/.exec(path);
  if (m && req.method === "PATCH") {
    const app = apps.find((a) => a.id === Number(m[1]));
    if (!app) return send(404, { detail: "Not found." });
    for (const f of ["kscript_enabled", "suspended"])
      if (f in body) app[f] = Boolean(body[f]);
    return send(200, platformOut(app));
  }
  if (path === "/api/platform/users/") {
    if (req.method === "POST") {
      if (!body.username) return send(400, { username: ["This field is required."] });
      if (users.some((u) => u.username === body.username)) {
        return send(400, { username: ["A user with that username already exists."] });
      }
      if (!body.password || body.password.length < 8) {
        return send(400, { password: ["This password is too short."] });
      }
      const u = { id: users.length + 1, ...body };
      users.push(u);
      return send(201, publicUser(u));
    }
    return send(200, users.map(publicUser));
  }
  return send(404, { detail: "Not found." });
}

createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  try {
    if (url.pathname.startsWith("/static/")) {
      const file = normalize(join(DIST, url.pathname.slice("/static/".length)));
      if (!file.startsWith(DIST)) throw new Error("bad path");
      const data = await readFile(file);
      res.writeHead(200, {
        "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
      });
      return res.end(data);
    }
    if (url.pathname.startsWith("/api/")) {
      let raw = "";
      for await (const chunk of req) raw += chunk;
      return await api(req, res, url.pathname, raw ? JSON.parse(raw) : {});
    }
    return await shell(res);
  } catch (error) {
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end(String(error));
  }
}).listen(PORT, "127.0.0.1", () => console.log(`Kiln mock on http://127.0.0.1:${PORT}`));
