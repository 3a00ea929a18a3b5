// Real-browser CORS test: Debian's Chromium driven by playwright-core. Pages served from two
// origins call streamgate (a third origin) with fetch(), so the browser itself enforces CORS.
//
// Protocol with tests/livepeer_browser.rs: this script starts two static page servers and prints
// {"allowed": origin, "other": origin} on its first line; it then reads one JSON line on stdin:
// {"api": streamgate base URL, "cors": key allowed from `allowed` (no full access),
//  "star": key allowed from "*", "backend": key with no CORS}. Exits non-zero on a failure.
import http from "node:http";
import readline from "node:readline";
import { chromium } from "playwright-core";

const page = "<!doctype html><title>streamgate CORS test</title><p>origin page</p>";
function serve() {
  return new Promise((resolve) => {
    const srv = http.createServer((_, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(page);
    });
    srv.listen(0, "127.0.0.1", () => resolve(srv));
  });
}
const [a, b] = [await serve(), await serve()];
const allowed = `http://127.0.0.1:${a.address().port}`;
const other = `http://127.0.0.1:${b.address().port}`;
console.log(JSON.stringify({ allowed, other }));

const rl = readline.createInterface({ input: process.stdin });
const keys = JSON.parse(await new Promise((resolve) => rl.once("line", resolve)));
rl.close();

let failed = false;
function check(cond, what) {
  console.log(`${cond ? "ok" : "FAILED"}: ${what}`);
  if (!cond) failed = true;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
try {
  const ctx = await browser.newContext();
  const fromAllowed = await ctx.newPage();
  await fromAllowed.goto(allowed);
  const fromOther = await ctx.newPage();
  await fromOther.goto(other);

  // Runs fetch() in the page; returns {status, body} or {error} when the browser blocks it.
  const call = (p, key, method, path, body) =>
    p.evaluate(
      async ({ api, key, method, path, body }) => {
        try {
          const res = await fetch(api + path, {
            method,
            headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) },
            body: body ? JSON.stringify(body) : undefined,
          });
          const text = await res.text();
          return { status: res.status, body: text };
        } catch (e) {
          return { error: `${e.name}: ${e.message}` };
        }
      },
      { api: keys.api, key, method, path, body },
    );

  // (a) The CORS key from its origin: a JSON POST (preflighted), then a GET.
  const created = await call(fromAllowed, keys.cors, "POST", "/api/stream", { name: "from the browser" });
  check(created.status === 201, `allowed origin, CORS key: POST /api/stream -> ${JSON.stringify(created).slice(0, 120)}`);
  const id = created.body ? JSON.parse(created.body).id : "missing";
  const got = await call(fromAllowed, keys.cors, "GET", `/api/stream/${id}`);
  check(got.status === 200 && JSON.parse(got.body).id === id, `allowed origin, CORS key: GET /api/stream/{id} -> ${got.status ?? got.error}`);

  // (b) The same key from another origin: the browser refuses to hand over the response.
  const blocked = await call(fromOther, keys.cors, "GET", `/api/stream/${id}`);
  check(blocked.error?.startsWith("TypeError"), `other origin, CORS key: blocked by the browser (${JSON.stringify(blocked).slice(0, 100)})`);

  // (c) A backend-only key from a page: blocked too.
  const backend = await call(fromAllowed, keys.backend, "GET", `/api/stream/${id}`);
  check(backend.error?.startsWith("TypeError"), `allowed origin, backend key: blocked by the browser (${JSON.stringify(backend).slice(0, 100)})`);

  // (d) The CORS key without full access, outside the allowlist: a readable 403.
  const listed = await call(fromAllowed, keys.cors, "GET", "/api/stream");
  const errors = listed.body ? JSON.parse(listed.body).errors : undefined;
  check(listed.status === 403 && Array.isArray(errors) && errors.length === 1, `allowed origin, CORS key: GET /api/stream -> ${JSON.stringify(listed).slice(0, 160)}`);

  // (e) A "*" key works from any origin.
  const star = await call(fromOther, keys.star, "GET", `/api/stream/${id}`);
  check(star.status === 200, `other origin, "*" key: GET /api/stream/{id} -> ${star.status ?? star.error}`);
} finally {
  await browser.close();
  a.close();
  b.close();
}
process.exit(failed ? 1 : 0);
