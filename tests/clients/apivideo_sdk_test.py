"""api.video's published Python client (PyPI `api-video`) against a running streamgate.

Env: SG_URL (http://127.0.0.1:PORT), SG_KEY (production key), SG_SANDBOX_KEY (sandbox key of the
same account), SG_TTL_WAIT (seconds to wait for the first access token to expire).
The client authenticates with POST /auth/api-key and refreshes by itself (POST /auth/refresh,
`expires_in - 10` seconds after each token): the harness gives tokens a short lifetime, and the
last call, made after the first token expired, only works if the client refreshed.
Run by tests/it/apivideo_clients.rs; exits non-zero on the first broken expectation.
"""

import os
import sys
import time
import urllib.error
import urllib.request

import hashlib
import tempfile
import apivideo
from apivideo import AuthenticatedApiClient
from apivideo.api.live_streams_api import LiveStreamsApi
from apivideo.api.upload_tokens_api import UploadTokensApi
from apivideo.api.videos_api import VideosApi
from apivideo.model.video_creation_payload import VideoCreationPayload
from apivideo.model.video_update_payload import VideoUpdatePayload
from apivideo.model.metadata import Metadata
from apivideo.api.webhooks_api import WebhooksApi
from apivideo.model.live_stream_creation_payload import LiveStreamCreationPayload
from apivideo.model.live_stream_update_payload import LiveStreamUpdatePayload
from apivideo.model.restreams_request_object import RestreamsRequestObject
from apivideo.model.token_creation_payload import TokenCreationPayload
from apivideo.model.webhooks_creation_payload import WebhooksCreationPayload

URL = os.environ["SG_URL"]
RESTREAM_SECRET = "py-restream-secret-77"


def check(cond, what):
    if not cond:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}", flush=True)


def client(key):
    c = AuthenticatedApiClient(key)
    c.configuration.host = URL
    return c


with client(os.environ["SG_KEY"]) as c:
    first_token = c._access_token
    live = LiveStreamsApi(c)
    made = live.create(LiveStreamCreationPayload(
        name="py-apivideo", public=True,
        restreams=[RestreamsRequestObject(name="yt", server_url="rtmp://a.rtmp.youtube.com/live2", stream_key=RESTREAM_SECRET)],
    ))
    check(made.live_stream_id.startswith("li"), "live stream created with an li… id")
    got = live.get(made.live_stream_id)
    check(got.name == "py-apivideo" and got.stream_key == made.stream_key and got.public is True, "get returns it")
    check(len(got.restreams) == 1 and RESTREAM_SECRET not in str(got.to_dict()), "restream key is not shown in clear")
    listed = live.list()
    check(any(x.live_stream_id == made.live_stream_id for x in listed.data), "list finds it")
    check(listed.pagination.items_total >= 1, "list has pagination")
    upd = live.update(made.live_stream_id, LiveStreamUpdatePayload(name="py-apivideo 2", public=False))
    check(upd.name == "py-apivideo 2" and upd.public is False, "update changed name and public")

    tokens = UploadTokensApi(c)
    tok = tokens.create_token(TokenCreationPayload(ttl=3600))
    check(tok.token.startswith("to") and tok.ttl == 3600, "upload token created")
    check(tokens.get_token(tok.token).token == tok.token, "upload token get")
    check(any(t.token == tok.token for t in tokens.list().data), "upload token list")
    tokens.delete_token(tok.token)

    hooks = WebhooksApi(c)
    hook = hooks.create(WebhooksCreationPayload(events=["video.encoding.quality.completed"], url="https://example.com/hook"))
    check(hook.webhook_id.startswith("wh") and hook.url == "https://example.com/hook", "webhook created")
    check(hooks.get(hook.webhook_id).webhook_id == hook.webhook_id, "webhook get")
    check(any(h.webhook_id == hook.webhook_id for h in hooks.list().data), "webhook list")
    hooks.delete(hook.webhook_id)

    # --- videos and uploads -------------------------------------------------------------------
    tmp = tempfile.mkdtemp(prefix="sg-av-py-")

    def file_of(name, size, seed):
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(bytes(((i * 31 + seed) & 0xFF) for i in range(size)))
        return path

    def fetched(url):
        with urllib.request.urlopen(url) as r:
            return r.read()

    def sha(b):
        return hashlib.sha256(b).hexdigest()

    videos = VideosApi(c)
    up = tokens.create_token(TokenCreationPayload(ttl=3600))
    # The smallest chunk the client allows (5 MiB): three `part k/3` chunks naming no video.
    c.configuration.chunk_size = 5 * 1024 * 1024
    big = file_of("big.mp4", 11 * 1024 * 1024, 5)
    with open(big, "rb") as f:
        big_video = videos.upload_with_upload_token(up.token, f)
    check(big_video.video_id.startswith("vi") and big_video.title == "big.mp4", "upload_with_upload_token in chunks made one video")
    with open(big, "rb") as f:
        check(sha(fetched(big_video.assets.mp4)) == sha(f.read()), "the served file is the uploaded one")
    st = videos.get_status(big_video.video_id)
    check(st.ingest.status == "uploaded" and st.encoding.playable is True, "get_status: uploaded and playable")
    parts = [file_of(f"p{i}.mp4", 50_000 + i, i) for i in range(3)]
    session = videos.create_upload_with_upload_token_progressive_session(up.token)
    with open(parts[0], "rb") as f:
        session.uploadPart(f)
    with open(parts[1], "rb") as f:
        session.uploadPart(f)
    with open(parts[2], "rb") as f:
        prog = session.uploadLastPart(f)
    whole = b"".join(open(p, "rb").read() for p in parts)
    check(sha(fetched(prog.assets.mp4)) == sha(whole), "a progressive upload with a token is joined in order")

    made_video = videos.create(VideoCreationPayload(
        title="py video", public=False, tags=["py", "sg"], metadata=[Metadata(key="k", value="v")]))
    check(made_video.video_id.startswith("vi"), "videos.create")
    src = file_of("src.mp4", 150_000, 9)
    with open(src, "rb") as f:
        uploaded = videos.upload(made_video.video_id, f)
    check("?token=" in uploaded.assets.mp4, "a private video's file URL carries its token")
    with open(src, "rb") as f:
        check(sha(fetched(uploaded.assets.mp4)) == sha(f.read()), "videos.upload, then the private file with its token")
    upd_video = videos.update(made_video.video_id, VideoUpdatePayload(title="py video 2", public=True))
    check(upd_video.title == "py video 2" and upd_video.public is True, "videos.update")
    by_tag = videos.list(tags=["py"], metadata={"k": "v"})
    check(len(by_tag.data) == 1 and by_tag.data[0].video_id == made_video.video_id, "videos.list by tags and metadata")
    by_title = videos.list(sort_by="title", sort_order="desc")
    check(by_title.data[0].title == "py video 2" and by_title.pagination.items_total == 3, "videos.list sorted by title")
    for v in (made_video, big_video, prog):
        videos.delete(v.video_id)
    check(videos.list().pagination.items_total == 0, "videos.delete")
    tokens.delete_token(up.token)
    thumb = file_of("thumb.png", 20_000, 4)
    with open(thumb, "rb") as f:
        with_thumb = live.upload_thumbnail(made.live_stream_id, f)
    check("/media/live/" in with_thumb.assets.thumbnail, "live_streams.upload_thumbnail: assets.thumbnail is the uploaded image")
    with open(thumb, "rb") as f:
        check(sha(fetched(with_thumb.assets.thumbnail)) == sha(f.read()), "the thumbnail is served (with the private stream's token)")
    no_thumb = live.delete_thumbnail(made.live_stream_id)
    check("/media/live/" not in no_thumb.assets.thumbnail, "live_streams.delete_thumbnail")

    with client(os.environ["SG_SANDBOX_KEY"]) as sandbox:
        sb = LiveStreamsApi(sandbox).list()
        check(all(x.live_stream_id != made.live_stream_id for x in sb.data), "sandbox does not see production streams")

    # Outlive the first access token: the client must have refreshed by itself.
    time.sleep(float(os.environ.get("SG_TTL_WAIT", "0")))
    check(c._access_token != first_token, "the client refreshed its access token")
    try:
        urllib.request.urlopen(urllib.request.Request(URL + "/live-streams", headers={"Authorization": "Bearer " + first_token}))
        sys.exit("FAILED: the first access token is still accepted after SG_TTL_WAIT: nothing proves the refresh")
    except urllib.error.HTTPError as e:
        check(e.code == 401, "the first access token has expired (401)")
    live.delete(made.live_stream_id)
    print("ok: calls still work after the first access token expired", flush=True)
    try:
        live.get(made.live_stream_id)
        sys.exit("FAILED: a deleted live stream is still returned")
    except apivideo.exceptions.NotFoundException as e:
        check(e.status == 404, "a deleted live stream is a 404")
print("api.video python client: all good")
