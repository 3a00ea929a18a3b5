// The web dashboard in a real browser (Debian's Chromium driven by playwright-core).
//
// Protocol with tests/dashboard_browser.rs: the config arrives as JSON in DASHBOARD_CONFIG:
// {base, admin: {username, password}, member: {username, password}, probeKey, probeKeyId,
//  foreignStreamId, foreignKeyId, shots}. Prints "ok: …" per check, "FAILED: …" on a failure
// (exit code 1), and saves a screenshot of every page at 1280 and 390 px under `shots`.
import fs from "node:fs";
import { chromium } from "playwright-core";

const cfg = JSON.parse(process.env.DASHBOARD_CONFIG);
const base = cfg.base;
fs.mkdirSync(cfg.shots, { recursive: true });

let failed = false;
function check(cond, what) {
  console.log(`${cond ? "ok" : "FAILED"}: ${what}`);
  if (!cond) failed = true;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
page.on("dialog", (d) => d.accept());
const consoleErrors = [];
// Script errors and CSP violations; pages answered with an error status on purpose are not.
page.on("console", (m) => {
  if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) consoleErrors.push(m.text());
});
page.on("pageerror", (e) => consoleErrors.push(String(e)));

async function shot(name) {
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
    await page.screenshot({ path: `${cfg.shots}/${name}-${width}.png`, fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

async function signIn(user, password) {
  await page.goto(`${base}/dashboard/login`);
  await page.fill("#username", user);
  await page.fill("#password", password);
  await Promise.all([page.waitForLoadState(), page.click("button[type=submit]")]);
}

try {
  // A wrong password is refused with a readable message.
  await page.goto(`${base}/dashboard/keys`);
  check(page.url().endsWith("/dashboard/login"), "signed-out pages send the browser to sign in");
  await shot("login");
  await signIn(cfg.admin.username, "not the password");
  check((await page.textContent(".error"))?.includes("Wrong user name or password"), "a wrong password is refused");

  await signIn(cfg.admin.username, cfg.admin.password);
  check(page.url().endsWith("/dashboard/keys"), "the admin signs in");
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "sg_session");
  check(session && session.httpOnly && session.sameSite === "Strict", "the session cookie is HttpOnly and SameSite=Strict");

  // Create a CORS key with two origins, exactly as Livepeer's docs describe.
  await page.click("text=Create API key");
  await page.fill("#key-name", "web player");
  check(await page.isHidden("#cors-settings"), "the origins list is hidden until Allow CORS access is ticked");
  await page.check("#allow-cors");
  check(await page.isVisible("#cors-settings"), "ticking Allow CORS access reveals the origins list");
  check((await page.textContent("#cors-settings .warning")).includes("Full API access"), "Full API access carries its warning");
  await page.fill("#origin-0", "https://player.example.com");
  await page.click("text=Add origin");
  await page.locator("#origins input").nth(1).fill("http://localhost:8080");
  await shot("keys-dialog");
  await Promise.all([page.waitForLoadState(), page.click("#create-key button[type=submit]")]);
  const secret = (await page.textContent("#new-secret")).trim();
  check(/^sg_production_[0-9A-Za-z]+$/.test(secret), "the new key's secret is shown once");
  const row = page.locator("tr", { hasText: "web player" });
  const rowText = await row.textContent();
  check(rowText.includes("https://player.example.com") && rowText.includes("http://localhost:8080") && rowText.includes("Active"),
    "the key is listed with both origins");
  await shot("keys-created");
  const me = await fetch(`${base}/sg/v1/me`, { headers: { authorization: `Bearer ${secret}` } }).then((r) => r.json());
  check(JSON.stringify(me.cors.allowedOrigins) === JSON.stringify(["https://player.example.com", "http://localhost:8080"]),
    "the key works, with the origins the dialog set");
  await page.goto(`${base}/dashboard/keys`);
  check(!(await page.content()).includes(secret), "the secret is not shown again");

  // Revoke it (the confirmation is accepted).
  await Promise.all([page.waitForLoadState(), row.locator("button", { hasText: "Revoke" }).click()]);
  check((await page.locator("tr", { hasText: "web player" }).textContent()).includes("Revoked"), "the revoked key is listed as revoked");
  const after = await fetch(`${base}/sg/v1/me`, { headers: { authorization: `Bearer ${secret}` } });
  check(after.status === 401, "the revoked key is refused at once");
  await shot("keys");

  // A stream, and its key on demand.
  await page.goto(`${base}/dashboard/streams`);
  await page.fill("#stream-name", "Launch day");
  await Promise.all([page.waitForLoadState(), page.click("text=Create stream")]);
  check(page.url().includes("/dashboard/streams/"), "creating a stream opens its page");
  const beforeReveal = await page.content();
  await Promise.all([page.waitForLoadState(), page.click("text=Reveal key")]);
  const streamKey = (await page.textContent("#stream-key")).trim();
  check(!beforeReveal.includes(streamKey), "the stream key is not in the page until asked for");
  check(/^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}$/.test(streamKey), "the stream key is revealed on demand");
  check((await page.textContent("#publish-url")).trim().endsWith(`/live/${streamKey}`), "the nginx-rtmp publish URL ends in live/<key>");
  await shot("stream");
  await page.goto(`${base}/dashboard/streams`);
  check((await page.textContent("main")).includes("Launch day"), "the stream is listed");
  const recentText = await page.locator("table", { hasText: "Client" }).last().textContent();
  check(recentText.includes("acme private") && recentText.includes("10.0.0.7"), "recent sessions across streams are listed");
  await shot("streams");

  // A credential: the private value never reaches the page.
  const privateValue = "hook-password-never-shown-4711";
  await page.goto(`${base}/dashboard/credentials`);
  await page.fill("#cred-label", "hooks");
  await page.selectOption("#cred-type", "http");
  await page.fill("#cred-public", "hookuser");
  await page.fill("#cred-private", privateValue);
  await Promise.all([page.waitForLoadState(), page.click("text=Add credential")]);
  const credHtml = await page.content();
  const credSource = await (await page.request.get(`${base}/dashboard/credentials`)).text();
  check(credHtml.includes("hooks") && credHtml.includes("****4711"), "the credential is listed, masked");
  check(!credHtml.includes(privateValue) && !credSource.includes(privateValue), "the private value is not in the page source");
  await shot("credentials");

  // Edgecast stream keys: a generated key is shown once, then masked.
  await page.goto(`${base}/dashboard/stream-keys`);
  await page.fill("#dir-path", "800001/live*");
  await Promise.all([page.waitForLoadState(), page.click("text=Add stream key")]);
  const sk = (await page.textContent("#new-key")).trim();
  check(/^[0-9A-Za-z]{24}$/.test(sk), "an Edgecast stream key is generated and shown once");
  await page.goto(`${base}/dashboard/stream-keys`);
  check(!(await page.content()).includes(sk) && (await page.textContent("main")).includes("800001/live*"), "the stream key is listed masked");
  await shot("stream-keys");

  // A playback signing key: the private key is shown once, then only its fingerprint.
  await page.goto(`${base}/dashboard/signing-keys`);
  await page.fill("#signing-key-name", "player tokens");
  await Promise.all([page.waitForLoadState(), page.click("text=Create signing key")]);
  const signingKey = (await page.textContent("#new-private-key")).trim();
  check(/^[0-9A-Za-z+/]{100,}={0,2}$/.test(signingKey), "a signing key's private key is shown once");
  await page.goto(`${base}/dashboard/signing-keys`);
  check(!(await page.content()).includes(signingKey) && (await page.locator("tr", { hasText: "player tokens" }).textContent()).includes("Enabled"),
    "the signing key is listed without its private key");
  await shot("signing-keys");

  // Usage: the requests this test makes with the probe key are counted.
  for (let i = 0; i < 7; i++) {
    const r = await fetch(`${base}/sg/v1/me`, { headers: { "x-api-key": cfg.probeKey } });
    if (r.status !== 200) throw new Error(`probe request ${r.status}`);
  }
  await page.goto(`${base}/dashboard/usage?period=hour`);
  const probeRow = page.locator(`tr[data-key="${cfg.probeKeyId}"]`);
  check((await probeRow.locator("td.requests").textContent()).trim() === "7", "the usage table counts the 7 requests of the probe key");
  const total = Number(await page.getAttribute("#chart-requests .total", "data-total"));
  check(total >= 7 && (await page.locator("#chart-requests svg rect").count()) >= 1, "the requests chart draws them");
  check(Number(await page.getAttribute("#chart-failures .total", "data-total")) >= 1, "the auth-failure chart counts the revoked key's refusal");
  check((await page.locator("#sessions svg rect").count()) >= 1, "the ingest sessions timeline shows the stream's publish");
  await shot("usage");

  await page.goto(`${base}/dashboard/audit`);
  const audit = await page.textContent("main");
  check(audit.includes("key.create") && audit.includes("key.revoke") && audit.includes(`user:${cfg.admin.username}`), "the audit page shows who did what");
  check(!(await page.content()).includes(privateValue) && !(await page.content()).includes(secret), "no secret on the audit page");
  await shot("audit");

  await page.goto(`${base}/dashboard/users`);
  check((await page.textContent("main")).includes(cfg.member.username), "admins see the users");
  await shot("users");

  await page.click("header a.user");
  check((await page.textContent("main")).includes("Change password"), "the user name in the header opens the account page");
  await shot("account");

  // A POST without the CSRF token is refused (the session cookie alone is not enough).
  const forged = await page.request.post(`${base}/dashboard/streams`, { form: { name: "forged" } });
  check(forged.status() === 403, "a POST without the CSRF token is refused");
  const wrongToken = await page.request.post(`${base}/dashboard/streams`, { form: { name: "forged", csrf: "x".repeat(32) } });
  check(wrongToken.status() === 403, "a POST with a wrong CSRF token is refused");
  await page.goto(`${base}/dashboard/streams`);
  check(!(await page.textContent("main")).includes("forged"), "nothing was created by them");

  // Sign out, then a member of another account.
  await Promise.all([page.waitForLoadState(), page.click("text=Sign out")]);
  check(page.url().endsWith("/dashboard/login"), "sign-out ends the session");
  await page.goto(`${base}/dashboard/keys`);
  check(page.url().endsWith("/dashboard/login"), "the old session no longer opens pages");
  await signIn(cfg.member.username, cfg.member.password);
  check(page.url().endsWith("/dashboard/keys"), "the member signs in");
  check(!(await page.textContent("main")).includes("web player"), "the member does not see the other account's keys");
  const foreign = await page.goto(`${base}/dashboard/streams/${cfg.foreignStreamId}`);
  check(foreign.status() === 404, "the member cannot open another account's stream");
  await page.goto(`${base}/dashboard/keys`);
  const csrf = await page.getAttribute("input[name=csrf]", "value");
  const revokeForeign = await page.request.post(`${base}/dashboard/keys/${cfg.foreignKeyId}/revoke`, { form: { csrf } });
  check(revokeForeign.status() === 404, "the member cannot revoke another account's key");
  const users = await page.goto(`${base}/dashboard/users`);
  check(users.status() === 403, "members do not manage users");
  const addUser = await page.request.post(`${base}/dashboard/users`, { form: { csrf, username: "sneaky", password: "long enough password", account: "0001", role: "admin" } });
  check(addUser.status() === 403, "members cannot add users");
  await page.goto(`${base}/dashboard/streams`);
  check(!(await page.locator("header nav").textContent()).includes("Users"), "the member's navigation has no Users page");
  await shot("member-streams");

  // Lockout after repeated failures, for the right password too.
  await Promise.all([page.waitForLoadState(), page.click("text=Sign out")]);
  for (let i = 0; i < 5; i++) await signIn(cfg.lockout.username, "wrong password " + i);
  await signIn(cfg.lockout.username, cfg.lockout.password);
  check((await page.textContent(".error"))?.includes("locked"), "five failures lock the user name, even for the right password");
  check(consoleErrors.length === 0, `no script errors or CSP violations in the browser ${consoleErrors.join(" | ")}`);
} catch (e) {
  console.log(`FAILED: ${e.stack || e}`);
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
