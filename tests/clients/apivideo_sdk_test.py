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

import apivideo
from apivideo import AuthenticatedApiClient
from apivideo.api.live_streams_api import LiveStreamsApi
from apivideo.api.upload_tokens_api import UploadTokensApi
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
