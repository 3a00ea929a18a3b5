// api.video's published JavaScript client (npm `@api.video/nodejs-client`) against a running
// streamgate. Env: SG_URL (http://127.0.0.1:PORT), SG_KEY (production key), SG_SANDBOX_KEY.
// Run by tests/apivideo_clients.rs with cwd tests/clients; exits non-zero on the first failure.
import ApiVideoClient from "@api.video/nodejs-client";

const baseUri = process.env.SG_URL;
const SECRET = "js-restream-secret-88";

function check(cond, what) {
  if (!cond) {
    console.error(`FAILED: ${what}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

const client = new ApiVideoClient({ apiKey: process.env.SG_KEY, baseUri });
const made = await client.liveStreams.create({
  name: "js-apivideo",
  // The client's model property is `_public` (serialized as "public"); `public` is silently dropped.
  _public: true,
  restreams: [{ name: "yt", serverUrl: "rtmp://a.rtmp.youtube.com/live2", streamKey: SECRET }],
});
check(made.liveStreamId.startsWith("li"), "live stream created with an li… id");
const got = await client.liveStreams.get(made.liveStreamId);
check(got.name === "js-apivideo" && got.streamKey === made.streamKey && got._public === true, "get returns it");
check(got.restreams.length === 1 && !JSON.stringify(got).includes(SECRET), "restream key is not shown in clear");
const listed = await client.liveStreams.list({});
check(listed.data.some((x) => x.liveStreamId === made.liveStreamId), "list finds it");
check(listed.pagination.itemsTotal >= 1 && Array.isArray(listed.pagination.links), "list has pagination");
const upd = await client.liveStreams.update(made.liveStreamId, { name: "js-apivideo 2", _public: false });
check(upd.name === "js-apivideo 2" && upd._public === false, "update changed name and public");
check(upd.assets.hls.includes("?token="), "a private stream's assets carry its private token");
const other = await client.liveStreams.create({ name: "a js-apivideo" });
const byName = await client.liveStreams.list({ sortBy: "name", sortOrder: "desc" });
const order = byName.data.map((x) => x.name);
check(order.indexOf("js-apivideo 2") < order.indexOf("a js-apivideo"), "list sorted by name, descending");
const byNameAsc = await client.liveStreams.list({ sortBy: "name", sortOrder: "asc" });
check(byNameAsc.data[0].name === "a js-apivideo", "list sorted by name, ascending");
await client.liveStreams.delete(other.liveStreamId);

const tok = await client.uploadTokens.createToken({ ttl: 3600 });
check(tok.token.startsWith("to") && tok.ttl === 3600, "upload token created");
check((await client.uploadTokens.getToken(tok.token)).token === tok.token, "upload token get");
check((await client.uploadTokens.list({})).data.some((t) => t.token === tok.token), "upload token list");
await client.uploadTokens.deleteToken(tok.token);

const hook = await client.webhooks.create({ events: ["video.encoding.quality.completed"], url: "https://example.com/hook" });
check(hook.webhookId.startsWith("wh") && hook.url === "https://example.com/hook", "webhook created");
check((await client.webhooks.get(hook.webhookId)).webhookId === hook.webhookId, "webhook get");
check((await client.webhooks.list({})).data.some((h) => h.webhookId === hook.webhookId), "webhook list");
const live = await client.webhooks.create({ events: ["live-stream.broadcast.started"], url: "https://example.com/live" });
const byEvent = await client.webhooks.list({ events: "live-stream.broadcast.started" });
check(byEvent.data.length === 1 && byEvent.data[0].webhookId === live.webhookId, "webhook list filtered by event");
check(byEvent.pagination.itemsTotal === 1, "webhook list filtered by event: total");
await client.webhooks.delete(live.webhookId);
await client.webhooks.delete(hook.webhookId);

const sandbox = new ApiVideoClient({ apiKey: process.env.SG_SANDBOX_KEY, baseUri });
const sb = await sandbox.liveStreams.list({});
check(!sb.data.some((x) => x.liveStreamId === made.liveStreamId), "sandbox does not see production streams");

await client.liveStreams.delete(made.liveStreamId);
try {
  await client.liveStreams.get(made.liveStreamId);
  check(false, "a deleted live stream is gone");
} catch (e) {
  // ApiVideoError: `code` is the HTTP status, `problemDetails` the parsed problem+json body.
  check(e.code === 404 && e.problemDetails?.status === 404, `a deleted live stream is a 404 (${e.constructor.name} ${e.code})`);
}
console.log("api.video javascript client: all good");
