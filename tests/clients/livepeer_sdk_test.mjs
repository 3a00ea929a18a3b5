// Livepeer's published JavaScript client (npm `livepeer`) against a running streamgate.
// Env: SG_LIVEPEER_URL (http://127.0.0.1:PORT/api), SG_KEY (full-access key), SG_REVOKED_KEY.
// Run by tests/livepeer_clients.rs with cwd tests/clients; exits non-zero on the first failure.
import { createPrivateKey, createPublicKey } from "node:crypto";
import { createServer } from "node:http";
import { Livepeer } from "livepeer";
import { HTTPClient } from "livepeer/lib/http.js";

const serverURL = process.env.SG_LIVEPEER_URL;
const lp = new Livepeer({ apiKey: process.env.SG_KEY, serverURL });

function check(cond, what) {
  if (!cond) {
    console.error(`FAILED: ${what}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

async function status(promise) {
  try {
    await promise;
    return 0;
  } catch (e) {
    return e.statusCode ?? e.rawResponse?.status ?? -1;
  }
}

const created = (await lp.stream.create({ name: "js-sdk cam", record: false })).stream;
check(created?.id, "stream.create returns a stream with an id");
check(created.name === "js-sdk cam", "name round-trips");
check(/^[a-z0-9]{4}(-[a-z0-9]{4}){3}$/.test(created.streamKey ?? ""), "streamKey has the xxxx-xxxx-xxxx-xxxx shape");
check(created.playbackId && created.isActive === false, "playbackId set, isActive false");

const got = (await lp.stream.get(created.id)).stream;
check(got.streamKey === created.streamKey, "stream.get returns the same stream key");

await lp.stream.update({ record: true, suspended: true }, created.id);
const updated = (await lp.stream.get(created.id)).stream;
check(updated.record === true && updated.suspended === true, "stream.update changed record and suspended");

const all = (await lp.stream.getAll()).data ?? [];
check(all.some((s) => s.id === created.id), "stream.getAll lists it");

const target = (await lp.multistream.create({ name: "js-sdk yt", url: "rtmp://a.rtmp.youtube.com/live2/js-secret-key" })).multistreamTarget;
check(target?.id, "multistream.create returns a target");
const t = (await lp.multistream.get(target.id)).multistreamTarget;
check(t.name === "js-sdk yt" && !JSON.stringify(t).includes("js-secret-key"), "multistream.get returns it without its url");
await lp.multistream.update({ name: "js-sdk yt 2", url: "rtmp://a.rtmp.youtube.com/live2/other" }, target.id);
check((await lp.multistream.get(target.id)).multistreamTarget.name === "js-sdk yt 2", "multistream.update renamed it");
const targets = (await lp.multistream.getAll()).data ?? [];
check(targets.some((x) => x.id === target.id), "multistream.getAll lists it");
await lp.multistream.delete(target.id);
check((await status(lp.multistream.get(target.id))) === 404, "a deleted target is a 404");

await lp.stream.delete(created.id);
check((await status(lp.stream.get(created.id))) === 404, "a deleted stream is a 404");

const revoked = new Livepeer({ apiKey: process.env.SG_REVOKED_KEY, serverURL });
check((await status(revoked.stream.create({ name: "nope" }))) === 401, "a revoked key gets a 401");

// Signing keys and playback info. The SDK's SigningKey schema has no `privateKey` (zod strips it),
// so the raw bodies are read through the SDK's own response hook.
let lastStatus = 0;
let lastBody = Promise.resolve("");
const hooked = new HTTPClient().addHook("response", (res) => {
  lastStatus = res.status;
  lastBody = res.clone().text();
});
const lpRaw = new Livepeer({ apiKey: process.env.SG_KEY, serverURL, httpClient: hooked });
const rawJSON = async () => JSON.parse((await lastBody) || "null");

// accessControl.create() sends no body (the client has no `name` parameter) and only parses a 200.
const keyRes = await lpRaw.accessControl.create();
const createdRaw = await rawJSON();
check(keyRes.statusCode === 200, `accessControl.create answers 200, the only status this client parses (got ${keyRes.statusCode})`);
const key = keyRes.signingKey;
check(key?.id && typeof key.publicKey === "string" && key.publicKey.length > 0, "accessControl.create returns a key with an id and a publicKey");
check(typeof createdRaw?.privateKey === "string" && createdRaw.privateKey.length > 0, "the create response carries a privateKey");
check(typeof key.createdAt === "number" && key.disabled !== true, "createdAt is a number and the key is enabled");
const privPem = Buffer.from(createdRaw.privateKey, "base64").toString();
const pubPem = Buffer.from(key.publicKey, "base64").toString();
check(privPem.startsWith("-----BEGIN PRIVATE KEY-----") && pubPem.startsWith("-----BEGIN PUBLIC KEY-----"),
  "privateKey/publicKey are base64 of PKCS#8 / SPKI PEM (what signAccessJwt expects)");
const priv = createPrivateKey(privPem);
check(priv.asymmetricKeyType === "ec" && priv.asymmetricKeyDetails?.namedCurve === "prime256v1", "the key pair is ECDSA P-256 (ES256)");
check(createPublicKey(priv).export({ type: "spki", format: "pem" }).trim() === pubPem.trim(), "publicKey matches privateKey");

const keys = (await lpRaw.accessControl.getAll()).data ?? [];
check(keys.some((k) => k.id === key.id), "accessControl.getAll lists it");
const listed = ((await rawJSON()) ?? []).find((k) => k.id === key.id);
check(listed && listed.privateKey == null, "the listed key has no privateKey");

const gotKey = (await lpRaw.accessControl.get(key.id)).signingKey;
check(gotKey?.id === key.id && gotKey.publicKey === key.publicKey, "accessControl.get returns it");
check((await rawJSON())?.privateKey == null, "a fetched key has no privateKey");

check((await lp.accessControl.update({ disabled: true }, key.id)).statusCode === 204, "accessControl.update {disabled} answers 204");
check((await lp.accessControl.get(key.id)).signingKey?.disabled === true, "the key reads back disabled");
check((await lp.accessControl.update({ name: "renamed" }, key.id)).statusCode === 204, "accessControl.update {name} answers 204");
const renamed = (await lp.accessControl.get(key.id)).signingKey;
check(renamed?.name === "renamed" && renamed.disabled === true, "the key reads back renamed and still disabled");

const privStream = (await lp.stream.create({ name: "js-sdk private", playbackPolicy: { type: "jwt" } })).stream;
check(privStream?.playbackPolicy?.type === "jwt", "stream.create keeps playbackPolicy {type: jwt}");
const pid = privStream.playbackId;
const info = (await lp.playback.get(pid)).playbackInfo;
check(info?.type === "live", "playback.get of a stream's playbackId has type live");
check(info.meta.live === 0, "meta.live is 0 for an idle stream");
check(info.meta.playbackPolicy?.type === "jwt", "meta.playbackPolicy.type is jwt");
check((info.meta.source ?? []).some((s) => s.hrn === "HLS (TS)" && s.url.endsWith(`/${pid}/index.m3u8`)),
  "meta.source has the HLS url ending in /<playbackId>/index.m3u8");
let missing = null;
try {
  await lpRaw.playback.get("doesnotexist");
} catch (e) {
  missing = e;
}
// A JSON 404 surfaces as errors.ErrorT (no statusCode on it); any other 404 as SDKError.statusCode.
check(missing && lastStatus === 404 && (missing.name === "ErrorT" || missing.statusCode === 404),
  `playback.get of an unknown id is a 404 (${missing?.name}, status ${lastStatus})`);
await lp.stream.delete(privStream.id);

check((await lp.accessControl.delete(key.id)).statusCode === 204, "accessControl.delete answers 204");
check((await status(lp.accessControl.get(key.id))) === 404, "a deleted signing key is a 404");

// A stream's multistream targets, one at a time.
const opsStream = (await lp.stream.create({ name: "js-sdk ops" })).stream;
await lp.stream.addMultistreamTarget(
  { profile: "source", spec: { name: "js-op", url: "rtmp://ops.example/live/js-op-key" } },
  opsStream.id,
);
const withTarget = (await lp.stream.get(opsStream.id)).stream;
const added = withTarget.multistream?.targets ?? [];
check(added.length === 1 && added[0].profile === "source" && added[0].id, "stream.addMultistreamTarget adds one");
await lp.stream.removeMultistreamTarget(opsStream.id, added[0].id);
check(((await lp.stream.get(opsStream.id)).stream.multistream?.targets ?? []).length === 0, "stream.removeMultistreamTarget removes it");
check((await lp.stream.terminate(opsStream.id)).statusCode === 204, "stream.terminate answers 204");
await lp.stream.delete(opsStream.id);

// Sessions: every one of the account's, and a stream's by whether they were recorded.
const recordedStream = process.env.SG_RECORDED_STREAM;
const allSessions = (await lp.session.getAll()).data;
check(allSessions.some((x) => x.parentId === recordedStream && x.record === true), "session.getAll lists the recorded session");
check((await lp.session.getRecorded(recordedStream, true)).data.length === 1, "session.getRecorded(record=true) finds it");
check((await lp.session.getRecorded(recordedStream, false)).data.length === 0, "session.getRecorded(record=false) does not");

// Webhooks, through the SDK unchanged: it reads create, update and delete only from a 200 with the
// webhook; its Webhook schema has no sharedSecret (write-only), so raw bodies are read from the hook.
const hookRes = await lpRaw.webhook.create({
  name: "js-sdk hook",
  url: "https://hooks.example.com/js",
  events: ["stream.started", "stream.idle"],
  sharedSecret: "js-sdk-shared-secret",
});
check(hookRes.statusCode === 200 && hookRes.webhook?.id, `webhook.create answers 200 with a webhook (got ${hookRes.statusCode})`);
const hook = hookRes.webhook;
check(hook.name === "js-sdk hook" && hook.url === "https://hooks.example.com/js" && typeof hook.createdAt === "number",
  "name, url and createdAt round-trip");
check(JSON.stringify(hook.events) === JSON.stringify(["stream.started", "stream.idle"]), "events round-trip");
check((await rawJSON())?.sharedSecret === "js-sdk-shared-secret", "the create response carries the sharedSecret");
const hooks = (await lpRaw.webhook.getAll()).data ?? [];
check(hooks.some((h) => h.id === hook.id), "webhook.getAll lists it");
check(!(await lastBody).includes("js-sdk-shared-secret"), "the list has no sharedSecret");
const gotHook = (await lpRaw.webhook.get(hook.id)).webhook;
check(gotHook?.id === hook.id && gotHook.name === "js-sdk hook", "webhook.get returns it");
check(!(await lastBody).includes("js-sdk-shared-secret"), "a fetched webhook has no sharedSecret");
const upd = await lp.webhook.update(
  { name: "js-sdk hook 2", url: "https://hooks.example.com/js2", events: ["stream.idle"], streamId: recordedStream },
  hook.id,
);
check(upd.statusCode === 200 && upd.webhook?.name === "js-sdk hook 2" && upd.webhook.streamId === recordedStream,
  "webhook.update answers 200 with the webhook as it is now");
const reread = (await lp.webhook.get(hook.id)).webhook;
check(reread.url === "https://hooks.example.com/js2" && JSON.stringify(reread.events) === JSON.stringify(["stream.idle"]),
  "webhook.get reads the update back");
check((await status(lp.webhook.create({ name: "bad", url: "ftp://hooks.example.com/", events: [] }))) === 400,
  "a webhook with a bad url is refused with a 400");
const del = await lp.webhook.delete(hook.id);
check(del.statusCode === 200 && del.webhook?.id === hook.id, "webhook.delete answers 200 with the webhook");
check((await status(lp.webhook.get(hook.id))) === 404, "a deleted webhook is a 404");

// --- assets and tasks (direct upload, import from a URL) -----------------------------------
const up = await lp.asset.create({ name: "js asset" });
check(up.statusCode === 200 && up.data?.url && up.data.tusEndpoint && up.data.asset?.id && up.data.task?.id,
  "asset.create answers 200 with the upload URL, the asset and its task");
check(up.data.asset.status?.phase === "uploading" && up.data.asset.source.type === "directUpload", "a new asset is uploading");
const fileBytes = Buffer.alloc(300_000, 7);
const put = await fetch(up.data.url, { method: "PUT", body: fileBytes, headers: { "content-type": "video/mp4" } });
check(put.status === 200, "the file is PUT to the one-time URL, without an API key");
check((await fetch(up.data.url, { method: "PUT", body: fileBytes })).status === 401, "the upload URL works once");
const asset = (await lp.asset.get(up.data.asset.id)).asset;
check(asset?.status?.phase === "ready" && asset.size === 300_000, "asset.get: ready, with its size");
const dl = Buffer.from(await (await fetch(asset.downloadUrl)).arrayBuffer());
check(dl.equals(fileBytes), "the asset's downloadUrl serves the file");
const task = (await lp.task.get(up.data.task.id)).task;
check(task?.type === "upload" && task.status?.phase === "completed" && task.outputAssetId === asset.id, "task.get: completed");
const renamedAsset = (await lp.asset.update({ name: "js asset 2" }, asset.id)).asset;
check(renamedAsset?.name === "js asset 2", "asset.update");
check(((await lp.asset.getAll()).data ?? []).some((a) => a.id === asset.id), "asset.getAll lists it");
check(((await lp.task.getAll()).data ?? []).some((t) => t.id === task.id), "task.getAll lists its task");
// An import: this script serves the file itself.
const served = Buffer.alloc(120_000, 3);
const origin = await new Promise((resolve) => {
  const srv = createServer((_, res) => res.end(served));
  srv.listen(0, "127.0.0.1", () => resolve({ srv, url: `http://127.0.0.1:${srv.address().port}/file.mp4` }));
});
const imp = await lp.asset.createViaUrl({ name: "js import", url: origin.url });
const impData = imp.twoHundredAndOneApplicationJsonData ?? imp.twoHundredApplicationJsonData;
check(impData?.asset?.id && impData.task?.id, "asset.createViaUrl answers the asset and its task");
let impTask;
for (let i = 0; i < 100; i++) {
  impTask = (await lp.task.get(impData.task.id)).task;
  if (["completed", "failed"].includes(impTask?.status?.phase)) break;
  await new Promise((r) => setTimeout(r, 100));
}
check(impTask?.status?.phase === "completed", `the import completed (${JSON.stringify(impTask?.status)})`);
const impAsset = (await lp.asset.get(impData.asset.id)).asset;
check(impAsset.source.type === "url" && impAsset.source.url === origin.url, "an imported asset names its source URL");
check(Buffer.from(await (await fetch(impAsset.downloadUrl)).arrayBuffer()).equals(served), "the imported file is served");
origin.srv.close();
const delAsset = await lp.asset.delete(asset.id);
check(delAsset.statusCode === 204, "asset.delete answers 204");
check((await status(lp.asset.get(asset.id))) === 404, "a deleted asset is a 404");
await lp.asset.delete(impData.asset.id);

console.log("livepeer javascript client: all good");
