// Livepeer's published JavaScript client (npm `livepeer`) against a running streamgate.
// Env: SG_LIVEPEER_URL (http://127.0.0.1:PORT/api), SG_KEY (full-access key), SG_REVOKED_KEY.
// Run by tests/livepeer_clients.rs with cwd tests/clients; exits non-zero on the first failure.
import { Livepeer } from "livepeer";

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
console.log("livepeer javascript client: all good");
