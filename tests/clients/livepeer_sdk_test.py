"""Livepeer's published Python client (PyPI `livepeer`) against a running streamgate.

Env: SG_LIVEPEER_URL (http://127.0.0.1:PORT/api), SG_KEY (a full-access key), SG_REVOKED_KEY.
Run by tests/it/livepeer_clients.rs; exits non-zero on the first broken expectation.
"""

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
print("livepeer python client: all good")
