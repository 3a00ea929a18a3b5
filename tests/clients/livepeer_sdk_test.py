"""Livepeer's published Python client (PyPI `livepeer`) against a running streamgate.

Env: SG_LIVEPEER_URL (http://127.0.0.1:PORT/api), SG_KEY (a full-access key), SG_REVOKED_KEY.
Run by tests/it/livepeer_clients.rs; exits non-zero on the first broken expectation.
"""

import base64
import http.server
import threading
import time
import urllib.request
import os
import re
import sys

from livepeer import Livepeer
from livepeer.models import errors

URL = os.environ["SG_LIVEPEER_URL"]
lp = Livepeer(api_key=os.environ["SG_KEY"], server_url=URL)


def check(cond, what):
    if not cond:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")


created = lp.stream.create(request={"name": "py-sdk cam", "record": False}).stream
check(created is not None and created.id, "stream.create returns a stream with an id")
check(created.name == "py-sdk cam", "name round-trips")
check(re.fullmatch(r"[a-z0-9]{4}(-[a-z0-9]{4}){3}", created.stream_key or ""), "streamKey has the xxxx-xxxx-xxxx-xxxx shape")
check(bool(created.playback_id), "playbackId is set")
check(created.is_active is False, "isActive is false")

got = lp.stream.get(id=created.id).stream
check(got.stream_key == created.stream_key, "stream.get returns the same stream key")

# (This client's patch model has no `name`: it sends record/suspended/profiles/… only.)
lp.stream.update(id=created.id, stream_patch_payload={"record": True, "suspended": True})
got = lp.stream.get(id=created.id).stream
check(got.record is True and got.suspended is True, "stream.update changed record and suspended")
check(got.name == "py-sdk cam", "untouched fields stay")

all_streams = lp.stream.get_all().data or []
check(any(s.id == created.id for s in all_streams), "stream.get_all lists it")

target = lp.multistream.create(
    request={"name": "py-sdk yt", "url": "rtmp://a.rtmp.youtube.com/live2/py-secret-key"}
).multistream_target
check(target is not None and target.id, "multistream.create returns a target")
raw = lp.multistream.get(id=target.id)
t = raw.multistream_target
check(t.name == "py-sdk yt", "multistream.get returns it")
check(getattr(t, "url", None) in (None, "") and "py-secret-key" not in t.model_dump_json(), "the target url is write-only")
lp.multistream.update(id=target.id, multistream_target_patch_payload={"name": "py-sdk yt 2", "url": "rtmp://a.rtmp.youtube.com/live2/other"})
check(lp.multistream.get(id=target.id).multistream_target.name == "py-sdk yt 2", "multistream.update renamed it")
targets = lp.multistream.get_all().data or []
check(any(x.id == target.id for x in targets), "multistream.get_all lists it")
lp.multistream.delete(id=target.id)

lp.stream.delete(id=created.id)
try:
    lp.stream.get(id=created.id)
    sys.exit("FAILED: a deleted stream is still returned")
except (errors.SDKError, errors.Error) as e:
    status = getattr(e, "status_code", None) or getattr(getattr(e, "raw_response", None), "status_code", None)
    check(status == 404, f"a deleted stream is a 404 ({type(e).__name__})")

revoked = Livepeer(api_key=os.environ["SG_REVOKED_KEY"], server_url=URL)
try:
    revoked.stream.create(request={"name": "nope"})
    sys.exit("FAILED: a revoked key was accepted")
except (errors.SDKError, errors.Error) as e:
    status = getattr(e, "status_code", None) or getattr(getattr(e, "raw_response", None), "status_code", None)
    check(status == 401, f"a revoked key gets a 401 ({type(e).__name__}: {str(e)[:80]})")

# Signing keys and playback info. The client's SigningKey model has no `private_key` (pydantic drops
# unknown fields), so the raw bodies are read from the response's http_meta.
# access_control.create() sends no body (it takes no `name`) and only parses a 200: a 201 makes it
# raise a pydantic ValidationError.
try:
    key_res = lp.access_control.create()
except Exception as e:  # a 201 lands here as a pydantic ValidationError
    sys.exit(f"FAILED: access_control.create raised {type(e).__name__}: {str(e)[:160]}")
check(key_res.http_meta.response.status_code == 200, "access_control.create answers 200")
key = key_res.signing_key
check(key is not None and key.id and key.public_key, "access_control.create returns a key with an id and a public_key")
private_key = key_res.http_meta.response.json().get("privateKey")
check(isinstance(private_key, str) and private_key, "the create response carries a privateKey")
check(isinstance(key.created_at, float) and key.disabled is not True, "createdAt is a number and the key is enabled")
check(
    base64.b64decode(private_key).startswith(b"-----BEGIN PRIVATE KEY-----")
    and base64.b64decode(key.public_key).startswith(b"-----BEGIN PUBLIC KEY-----"),
    "privateKey/publicKey are base64 of PKCS#8 / SPKI PEM",
)

keys_res = lp.access_control.get_all()
check(any(k.id == key.id for k in keys_res.data or []), "access_control.get_all lists it")
listed = [k for k in keys_res.http_meta.response.json() if k.get("id") == key.id]
check(listed and listed[0].get("privateKey") is None, "the listed key has no privateKey")

got_res = lp.access_control.get(key_id=key.id)
check(got_res.signing_key.id == key.id and got_res.signing_key.public_key == key.public_key, "access_control.get returns it")
check(got_res.http_meta.response.json().get("privateKey") is None, "a fetched key has no privateKey")

res = lp.access_control.update(key_id=key.id, request_body={"disabled": True})
check(res.http_meta.response.status_code == 204, "access_control.update {disabled} answers 204")
check(lp.access_control.get(key_id=key.id).signing_key.disabled is True, "the key reads back disabled")
res = lp.access_control.update(key_id=key.id, request_body={"name": "renamed"})
check(res.http_meta.response.status_code == 204, "access_control.update {name} answers 204")
renamed = lp.access_control.get(key_id=key.id).signing_key
check(renamed.name == "renamed" and renamed.disabled is True, "the key reads back renamed and still disabled")

private = lp.stream.create(request={"name": "py-sdk private", "playback_policy": {"type": "jwt"}}).stream
check(private.playback_policy is not None and private.playback_policy.type == "jwt", "stream.create keeps playbackPolicy {type: jwt}")
pid = private.playback_id
info = lp.playback.get(id=pid).playback_info
check(info is not None and info.type == "live", "playback.get of a stream's playbackId has type live")
check(info.meta.live == 0, "meta.live is 0 for an idle stream")
check(info.meta.playback_policy and info.meta.playback_policy.type == "jwt", "meta.playbackPolicy.type is jwt")
check(
    any(s.hrn == "HLS (TS)" and s.url.endswith(f"/{pid}/index.m3u8") for s in info.meta.source),
    "meta.source has the HLS url ending in /<playbackId>/index.m3u8",
)
# A JSON 404 raises errors.Error (no status on it); any other 404 raises SDKError with status_code.
try:
    lp.playback.get(id="doesnotexist")
    sys.exit("FAILED: playback.get of an unknown id succeeded")
except errors.SDKError as e:
    check(e.status_code == 404, f"playback.get of an unknown id is a 404 (SDKError {e.status_code})")
except errors.Error as e:
    check(True, f"playback.get of an unknown id is a JSON 404 (errors.Error {e})")
lp.stream.delete(id=private.id)

res = lp.access_control.delete(key_id=key.id)
check(res.http_meta.response.status_code == 204, "access_control.delete answers 204")
try:
    lp.access_control.get(key_id=key.id)
    sys.exit("FAILED: a deleted signing key is still returned")
except (errors.SDKError, errors.Error) as e:
    status = getattr(e, "status_code", None) or getattr(getattr(e, "raw_response", None), "status_code", None)
    check(status == 404, f"a deleted signing key is a 404 ({type(e).__name__})")
# A stream's multistream targets, one at a time.
ops = lp.stream.create(request={"name": "py-sdk ops"}).stream
lp.stream.add_multistream_target(id=ops.id, target_add_payload={"profile": "source", "spec": {"name": "py-op", "url": "rtmp://ops.example/live/py-op-key"}})
added = lp.stream.get(id=ops.id).stream.multistream.targets
check(len(added) == 1 and added[0].profile == "source" and added[0].id, "stream.add_multistream_target adds one")
lp.stream.remove_multistream_target(id=ops.id, target_id=added[0].id)
after = lp.stream.get(id=ops.id).stream.multistream
check(after is None or not after.targets, "stream.remove_multistream_target removes it")
check(lp.stream.terminate(id=ops.id).http_meta.response.status_code == 204, "stream.terminate answers 204")
lp.stream.delete(id=ops.id)

# Sessions: every one of the account's, and a stream's by whether they were recorded.
recorded_stream = os.environ["SG_RECORDED_STREAM"]
all_sessions = lp.session.get_all().data
check(any(x.parent_id == recorded_stream and x.record for x in all_sessions), "session.get_all lists the recorded session")
check(len(lp.session.get_recorded(parent_id=recorded_stream, record=True).data) == 1, "session.get_recorded(record=True) finds it")
check(len(lp.session.get_recorded(parent_id=recorded_stream, record=False).data) == 0, "session.get_recorded(record=False) does not")

# Webhooks, through the client unchanged: it reads create, update and delete only from a 200 with
# the webhook; its Webhook model has no shared_secret (write-only), so raw bodies are read from
# http_meta.
hook_res = lp.webhook.create(
    request={
        "name": "py-sdk hook",
        "url": "https://hooks.example.com/py",
        "events": ["stream.started", "stream.idle"],
        "shared_secret": "py-sdk-shared-secret",
    }
)
check(
    hook_res.http_meta.response.status_code == 200 and hook_res.webhook is not None and hook_res.webhook.id,
    f"webhook.create answers 200 with a webhook (got {hook_res.http_meta.response.status_code})",
)
hook = hook_res.webhook
check(hook.name == "py-sdk hook" and hook.url == "https://hooks.example.com/py", "name and url round-trip")
check(isinstance(hook.created_at, float), "createdAt is a number")
check([getattr(e, "value", e) for e in hook.events] == ["stream.started", "stream.idle"], "events round-trip")
check(hook_res.http_meta.response.json().get("sharedSecret") == "py-sdk-shared-secret", "the create response carries the sharedSecret")
hooks_res = lp.webhook.get_all()
check(any(h.id == hook.id for h in hooks_res.data or []), "webhook.get_all lists it")
check("py-sdk-shared-secret" not in hooks_res.http_meta.response.text, "the list has no sharedSecret")
got_hook = lp.webhook.get(id=hook.id)
check(got_hook.webhook.id == hook.id and got_hook.webhook.name == "py-sdk hook", "webhook.get returns it")
check("py-sdk-shared-secret" not in got_hook.http_meta.response.text, "a fetched webhook has no sharedSecret")
upd = lp.webhook.update(
    id=hook.id,
    webhook={"name": "py-sdk hook 2", "url": "https://hooks.example.com/py2", "events": ["stream.idle"], "stream_id": recorded_stream},
)
check(
    upd.http_meta.response.status_code == 200 and upd.webhook.name == "py-sdk hook 2" and upd.webhook.stream_id == recorded_stream,
    "webhook.update answers 200 with the webhook as it is now",
)
reread = lp.webhook.get(id=hook.id).webhook
check(reread.url == "https://hooks.example.com/py2" and [getattr(e, "value", e) for e in reread.events] == ["stream.idle"], "webhook.get reads the update back")
deleted = lp.webhook.delete(id=hook.id)
check(deleted.http_meta.response.status_code == 200 and deleted.webhook.id == hook.id, "webhook.delete answers 200 with the webhook")
try:
    lp.webhook.get(id=hook.id)
    sys.exit("FAILED: a deleted webhook is still returned")
except (errors.SDKError, errors.Error) as e:
    status = getattr(e, "status_code", None) or getattr(getattr(e, "raw_response", None), "status_code", None)
    check(status == 404, f"a deleted webhook is a 404 ({type(e).__name__})")

# --- assets and tasks (direct upload, import from a URL) -------------------------------------
up = lp.asset.create(request={"name": "py asset"})
check(up.http_meta.response.status_code == 200 and up.data.url and up.data.tus_endpoint and up.data.asset.id and up.data.task.id,
      "asset.create answers 200 with the upload URL, the asset and its task")
file_bytes = bytes([7]) * 250_000
req = urllib.request.Request(up.data.url, data=file_bytes, method="PUT", headers={"Content-Type": "video/mp4"})
with urllib.request.urlopen(req) as r:
    check(r.status == 200, "the file is PUT to the one-time URL, without an API key")
try:
    urllib.request.urlopen(urllib.request.Request(up.data.url, data=file_bytes, method="PUT"))
    sys.exit("FAILED: the upload URL worked twice")
except urllib.error.HTTPError as e:
    check(e.code == 401, "the upload URL works once")
asset = lp.asset.get(asset_id=up.data.asset.id).asset
check(getattr(asset.status.phase, "value", asset.status.phase) == "ready" and asset.size == 250_000, "asset.get: ready, with its size")
with urllib.request.urlopen(asset.download_url) as r:
    check(r.read() == file_bytes, "the asset's download_url serves the file")
task = lp.task.get(task_id=up.data.task.id).task
check(getattr(task.status.phase, "value", task.status.phase) == "completed" and task.output_asset_id == asset.id, "task.get: completed")
renamed = lp.asset.update(asset_id=asset.id, asset_patch_payload={"name": "py asset 2"}).asset
check(renamed.name == "py asset 2", "asset.update")
check(any(a.id == asset.id for a in lp.asset.get_all().data or []), "asset.get_all lists it")
check(any(t.id == task.id for t in lp.task.get_all().data or []), "task.get_all lists its task")

served = bytes([3]) * 90_000


class File(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(served)))
        self.end_headers()
        self.wfile.write(served)

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), File)
threading.Thread(target=srv.serve_forever, daemon=True).start()
origin = f"http://127.0.0.1:{srv.server_address[1]}/file.mp4"
imp = lp.asset.create_via_url(request={"name": "py import", "url": origin})
imp_data = imp.two_hundred_and_one_application_json_data or imp.two_hundred_application_json_data
check(imp_data is not None and imp_data.asset.id and imp_data.task.id, "asset.create_via_url answers the asset and its task")
phase = None
for _ in range(100):
    t = lp.task.get(task_id=imp_data.task.id).task
    phase = getattr(t.status.phase, "value", t.status.phase)
    if phase in ("completed", "failed"):
        break
    time.sleep(0.1)
check(phase == "completed", f"the import completed ({phase})")
imp_asset = lp.asset.get(asset_id=imp_data.asset.id).asset
with urllib.request.urlopen(imp_asset.download_url) as r:
    check(r.read() == served, "the imported file is served")
srv.shutdown()
deleted_asset = lp.asset.delete(asset_id=asset.id)
check(deleted_asset.http_meta.response.status_code == 204, "asset.delete answers 204")
lp.asset.delete(asset_id=imp_data.asset.id)

print("livepeer python client: all good")
