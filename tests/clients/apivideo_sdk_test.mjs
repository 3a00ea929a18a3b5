// api.video's published JavaScript client (npm `@api.video/nodejs-client`) against a running
// streamgate. Env: SG_URL (http://127.0.0.1:PORT), SG_KEY (production key), SG_SANDBOX_KEY.
// Run by tests/apivideo_clients.rs with cwd tests/clients; exits non-zero on the first failure.
import ApiVideoClient from "@api.video/nodejs-client";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

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
const shortTok = await client.uploadTokens.createToken({ ttl: 100 });
const longTok = await client.uploadTokens.createToken({ ttl: 3000 });
const byTtl = await client.uploadTokens.list({ sortBy: "ttl", sortOrder: "desc" });
check(byTtl.data[0].token === longTok.token && byTtl.data[1].token === shortTok.token, "upload tokens sorted by ttl, descending");
const byTtlAsc = await client.uploadTokens.list({ sortBy: "ttl", sortOrder: "asc" });
check(byTtlAsc.data[0].token === shortTok.token, "upload tokens sorted by ttl, ascending");
await client.uploadTokens.deleteToken(shortTok.token);
await client.uploadTokens.deleteToken(longTok.token);

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

// --- videos and uploads ---------------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), "sg-av-"));
const sha = (b) => createHash("sha256").update(b).digest("hex");
const fileOf = (name, size, seed) => {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
  const p = join(dir, name);
  writeFileSync(p, b);
  return p;
};
const fetched = async (url) => Buffer.from(await (await fetch(url)).arrayBuffer());
// The smallest chunk the client allows (5 MiB): an 11 MiB file goes in three `part k/3` chunks,
// none of which names the video.
const chunked = new ApiVideoClient({ apiKey: process.env.SG_KEY, baseUri, chunkSize: 5 * 1024 * 1024 });
const upTok = await client.uploadTokens.createToken({ ttl: 3600 });
const big = fileOf("big.mp4", 11 * 1024 * 1024, 7);
const bigVideo = await chunked.videos.uploadWithUploadToken(upTok.token, big);
check(bigVideo.videoId.startsWith("vi") && bigVideo.title === "big.mp4", "uploadWithUploadToken in chunks made one video");
check(sha(await fetched(bigVideo.assets.mp4)) === sha(readFileSync(big)), "the served file is the uploaded one");
const status = await client.videos.getStatus(bigVideo.videoId);
check(status.ingest.status === "uploaded" && status.encoding.playable === true, "getStatus: uploaded and playable");
const small = fileOf("small.mp4", 100 * 1024, 3);
const smallVideo = await client.videos.uploadWithUploadToken(upTok.token, small);
check(sha(await fetched(smallVideo.assets.mp4)) === sha(readFileSync(small)), "uploadWithUploadToken, one request");
const session = client.videos.createUploadWithUploadTokenProgressiveSession(upTok.token);
const p1 = fileOf("p1.mp4", 64 * 1024, 1), p2 = fileOf("p2.mp4", 64 * 1024, 2), p3 = fileOf("p3.mp4", 10 * 1024, 3);
await session.uploadPart(p1);
await session.uploadPart(p2);
const progressive = await session.uploadLastPart(p3);
const whole = Buffer.concat([readFileSync(p1), readFileSync(p2), readFileSync(p3)]);
check(sha(await fetched(progressive.assets.mp4)) === sha(whole), "a progressive upload with a token is joined in order");

const video = await client.videos.create({ title: "js video", _public: false, tags: ["js", "sg"], metadata: [{ key: "k", value: "v" }] });
check(video.videoId.startsWith("vi") && video.title === "js video", "videos.create");
const src = fileOf("src.mp4", 200 * 1024, 9);
const uploaded = await client.videos.upload(video.videoId, src);
check(uploaded.assets.mp4.includes("?token="), "a private video's file URL carries its token");
check(sha(await fetched(uploaded.assets.mp4)) === sha(readFileSync(src)), "videos.upload, then the private file with its token");
check((await fetch(uploaded.assets.mp4.split("?")[0])).status === 404, "a private video's file without its token is a 404");
const vget = await client.videos.get(video.videoId);
check(vget.tags.length === 2 && vget.metadata[0].key === "k", "videos.get");
const vupd = await client.videos.update(video.videoId, { title: "js video 2", _public: true });
check(vupd.title === "js video 2" && vupd._public === true, "videos.update");
const byTag = await client.videos.list({ tags: ["js"], metadata: { k: "v" } });
check(byTag.data.length === 1 && byTag.data[0].videoId === video.videoId, "videos.list by tags and metadata");
const byTitle = await client.videos.list({ sortBy: "title", sortOrder: "asc" });
check(byTitle.data[0].title === "big.mp4" && byTitle.pagination.itemsTotal === 4, "videos.list sorted by title");
for (const v of [video, bigVideo, smallVideo, progressive]) await client.videos.delete(v.videoId);
check((await client.videos.list({})).pagination.itemsTotal === 0, "videos.delete");
await client.uploadTokens.deleteToken(upTok.token);
const thumb = fileOf("thumb.jpg", 20 * 1024, 4);
const withThumb = await client.liveStreams.uploadThumbnail(made.liveStreamId, thumb);
check(withThumb.assets.thumbnail.includes("/media/live/"), "liveStreams.uploadThumbnail: assets.thumbnail is the uploaded image");
check(sha(await fetched(withThumb.assets.thumbnail)) === sha(readFileSync(thumb)), "the thumbnail is served (with the private stream's token)");
const noThumb = await client.liveStreams.deleteThumbnail(made.liveStreamId);
check(!noThumb.assets.thumbnail.includes("/media/live/"), "liveStreams.deleteThumbnail");
check((await fetch(withThumb.assets.thumbnail)).status === 404, "a deleted thumbnail is no longer served");

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
