"""Propagation of changes across a streamgate cluster (run by bench/cluster.sh; stdlib only).

For each kind of change (the kinds of tests/it/cluster.rs), TRIALS times: make an object through
instance 1, let every instance follow the change log, show the object to instances 2 and 3 so they
cache it, make the change through instance 1's HTTP API, then poll instances 2 and 3 as fast as
possible, one thread each on its own kept-alive connection, until each honours the change. A
trial's time runs from the change's response (it is committed and acknowledged) to the response
of the first poll that shows it honoured on the slower of the two instances. Prints p50/p99/max
per kind against the target (p99 <= TARGET_MS).

usage: cluster_probe.py URL1 URL2 URL3 API_KEY INGEST_TOKEN ACCOUNT_NUMBER
env:   BENCH_TRIALS (100), BENCH_TARGET_MS (50), BENCH_TRIAL_TIMEOUT_S (5)
"""

import http.client
import itertools
import json
import math
import os
import queue
import random
import re
import string
import sys
import threading
import time
import urllib.parse

TRIALS = int(os.environ.get("BENCH_TRIALS", "100"))
TARGET_MS = float(os.environ.get("BENCH_TARGET_MS", "50"))
TIMEOUT_S = float(os.environ.get("BENCH_TRIAL_TIMEOUT_S", "5"))

urls, API_KEY, INGEST_TOKEN, ACCOUNT = sys.argv[1:4], sys.argv[4], sys.argv[5], sys.argv[6]
HOSTS = [urllib.parse.urlsplit(u).netloc for u in urls]
RUN = "".join(random.choices(string.ascii_lowercase + string.digits, k=6))
serial = itertools.count()
local = threading.local()


def conn(i):
    """This thread's kept-alive connection to instance i."""
    pool = getattr(local, "pool", None)
    if pool is None:
        pool = local.pool = {}
    if i not in pool:
        pool[i] = http.client.HTTPConnection(HOSTS[i], timeout=10)
    return pool[i]


def request(i, method, path, body=None, headers=None, raw=None):
    """(status, body bytes) of one request to instance i; reconnects once if the connection went."""
    h = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    for attempt in (0, 1):
        c = conn(i)
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            return r.status, r.read()
        except (http.client.HTTPException, OSError):
            c.close()
            local.pool.pop(i, None)
            if attempt:
                raise


def admin(i, method, path, body=None, want=None):
    status, out = request(i, method, path, body, {"Authorization": f"Bearer {API_KEY}"})
    if want is not None and status != want:
        sys.exit(f"{method} {path} on instance {i + 1}: {status} {out[:300]!r}")
    return json.loads(out) if out else None


def edgecast(i, method, path, body, want=200):
    path = f"/v2/mcc/customers/{ACCOUNT}/httpstreaming/dcp{path}"
    status, out = request(i, method, path, body, {"Authorization": f"TOK:{API_KEY}"})
    if status != want:
        sys.exit(f"{method} {path} on instance {i + 1}: {status} {out[:300]!r}")
    return json.loads(out) if out else None


def me(i, secret):
    return request(i, "GET", "/sg/v1/me", headers={"Authorization": f"Bearer {secret}"})[0]


def publish(i, app, name, query=""):
    """nginx-rtmp's on_publish for rtmp://…/app/name?query on instance i. An allowed publish is
    ended again by `end_publishes` (a stream key publishes once at a time), which the pollers
    call only after they took the time: the publish-done is not part of what is measured."""
    form = (f"app={app}&flashver=FMLE%2F3.0&swfurl=&tcurl=rtmp://127.0.0.1:1935/{app}&pageurl="
            f"&addr=10.8.0.1&clientid=1&call=publish&name={name}&type=live")
    if query:
        form += "&" + query
    hdr = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _ = request(i, "POST", f"/ingest/nginx-rtmp/publish?token={INGEST_TOKEN}", raw=form.encode(), headers=hdr)
    if status == 200:
        done = form.replace("call=publish", "call=publish_done")
        pending().append((i, done))
    return status


def pending():
    """This thread's allowed publishes not yet ended."""
    if not hasattr(local, "pending"):
        local.pending = []
    return local.pending


def end_publishes():
    hdr = {"Content-Type": "application/x-www-form-urlencoded"}
    while pending():
        i, done = local.pending.pop()
        request(i, "POST", f"/ingest/nginx-rtmp/publish-done?token={INGEST_TOKEN}", raw=done.encode(), headers=hdr)


APPLIED = re.compile(rb"^streamgate_change_log_applied_seq (\S+)$", re.M)


def applied(i):
    status, out = request(i, "GET", "/metrics")
    m = APPLIED.search(out) if status == 200 else None
    return float(m.group(1)) if m else -1


def settle():
    """Waits until instances 2 and 3 have applied every change instance 1 made (instance 1
    applies its own at once), so the warm-up that follows is what they will have cached."""
    target = applied(0)
    deadline = time.monotonic() + 10
    while min(applied(1), applied(2)) < target:
        if time.monotonic() > deadline:
            sys.exit("instances 2 and 3 do not follow the change log")
        time.sleep(0.005)


def new_key(permissions):
    k = admin(0, "POST", "/sg/v1/keys", {"name": f"bench{next(serial)}", "permissions": permissions}, 201)
    return k["id"], k["key"]


def new_stream():
    s = admin(0, "POST", "/api/stream", {"name": f"bench{next(serial)}"}, 201)
    return s["id"], s["streamKey"]


# Each kind: prepare() -> state (through instance 1), warm(i, state) -> bool (instance i shows the
# object unchanged: it caches it), change(state) (through instance 1), honoured(i, state) -> bool.
class Revoke:
    name = "key revocation"
    def prepare(self):
        return dict(zip(("id", "secret"), new_key(["*"])))
    def warm(self, i, s):
        return me(i, s["secret"]) == 200
    def change(self, s):
        admin(0, "DELETE", f"/sg/v1/keys/{s['id']}", want=204)
    def honoured(self, i, s):
        return me(i, s["secret"]) == 401


class PermissionRemoved:
    name = "key permission removed"
    def prepare(self):
        return dict(zip(("id", "secret"), new_key(["keys:read", "streams:read"])))
    def read(self, i, s):
        return request(i, "GET", f"/sg/v1/keys/{s['id']}", headers={"Authorization": f"Bearer {s['secret']}"})[0]
    def warm(self, i, s):
        return self.read(i, s) == 200
    def change(self, s):
        admin(0, "PATCH", f"/sg/v1/keys/{s['id']}", {"permissions": ["streams:read"]}, 200)
    def honoured(self, i, s):
        return self.read(i, s) == 403


class Reroll:
    name = "key reroll"
    def prepare(self):
        return dict(zip(("id", "old"), new_key(["*"])))
    def warm(self, i, s):
        return me(i, s["old"]) == 200
    def change(self, s):
        s["new"] = admin(0, "POST", f"/sg/v1/keys/{s['id']}/reroll", {"gracePeriodSeconds": 0}, 201)["key"]
    def honoured(self, i, s):
        # The new key was never cached anywhere: it is read from the store at once. What has to
        # travel is the old one's end.
        return me(i, s["old"]) == 401 and me(i, s["new"]) == 200


class Suspend:
    name = "stream suspension"
    def prepare(self):
        return dict(zip(("id", "key"), new_stream()))
    def warm(self, i, s):
        return publish(i, "live", s["key"]) == 200
    def change(self, s):
        admin(0, "PATCH", f"/api/stream/{s['id']}", {"suspended": True}, 204)
    def honoured(self, i, s):
        return publish(i, "live", s["key"]) == 403


class Resume:
    name = "stream resumption"
    def prepare(self):
        s = dict(zip(("id", "key"), new_stream()))
        admin(0, "PATCH", f"/api/stream/{s['id']}", {"suspended": True}, 204)
        return s
    def warm(self, i, s):
        return publish(i, "live", s["key"]) == 403
    def change(self, s):
        admin(0, "PATCH", f"/api/stream/{s['id']}", {"suspended": False}, 204)
    def honoured(self, i, s):
        return publish(i, "live", s["key"]) == 200


class DirPathMoved:
    name = "Edgecast DirPath change"
    def prepare(self):
        n = next(serial)
        s = {"inst": f"b{RUN}x{n}", "key": f"benchKey{n}"}
        s["id"] = edgecast(0, "POST", "/streamkeys", {"DirPath": f"{s['inst']}/cam", "Key": s["key"]})["Id"]
        return s
    def warm(self, i, s):
        return publish(i, s["inst"], "cam", s["key"]) == 200 and publish(i, s["inst"], "cam2", s["key"]) == 403
    def change(self, s):
        edgecast(0, "PUT", f"/streamkeys/{s['id']}", {"DirPath": f"{s['inst']}/cam2", "Key": s["key"]})
    def honoured(self, i, s):
        return publish(i, s["inst"], "cam2", s["key"]) == 200 and publish(i, s["inst"], "cam", s["key"]) == 403


KINDS = [Revoke(), PermissionRemoved(), Reroll(), Suspend(), Resume(), DirPathMoved()]


class Poller(threading.Thread):
    """A long-lived thread for one instance, on its own kept-alive connection: it warms the
    instance up and polls it, so no poll pays for a new thread or connection."""

    def __init__(self, i):
        super().__init__(daemon=True)
        self.i, self.jobs, self.results = i, queue.Queue(), queue.Queue()
        self.start()

    def run(self):
        while True:
            fn = self.jobs.get()
            self.results.put(fn(self.i))

    def submit(self, fn):
        self.jobs.put(fn)

    def result(self):
        return self.results.get()


POLLERS = [None, Poller(1), Poller(2)]


def trial(kind):
    """(seconds until both instances honoured the change, per-instance seconds, change request
    seconds, polls, the honouring polls' own durations); None for an instance that did not
    within TIMEOUT_S."""
    state = kind.prepare()
    settle()

    def warm(i):
        ok = kind.warm(i, state)
        end_publishes()
        return ok

    for p in POLLERS[1:]:
        p.submit(warm)
    for p in POLLERS[1:]:
        if not p.result():
            sys.exit(f"{kind.name}: instance {p.i + 1} does not show the prepared object as it is")
    go = threading.Event()
    clock = {}

    def poll(i):
        go.wait()
        t0, polls = clock["t0"], 0
        while True:
            polls += 1
            p0 = time.perf_counter()
            ok = kind.honoured(i, state)
            t = time.perf_counter() - t0
            last = time.perf_counter() - p0
            end_publishes()
            if ok:
                return t, polls, last
            if t > TIMEOUT_S:
                return None, polls, last

    for p in POLLERS[1:]:
        p.submit(poll)
    # Instance 1's keep-alive connection was opened by prepare(): the change is one round trip.
    c0 = time.perf_counter()
    kind.change(state)
    clock["t0"] = time.perf_counter()
    go.set()
    result = [p.result() for p in POLLERS[1:]]
    per = [r[0] for r in result]
    both = None if None in per else max(per)
    return both, per, clock["t0"] - c0, sum(r[1] for r in result), [r[2] for r in result]


def pct(sorted_ms, p):
    """Nearest-rank percentile."""
    return sorted_ms[max(0, math.ceil(p / 100 * len(sorted_ms)) - 1)]


def main():
    print(f"{TRIALS} trials per kind; a trial: change through instance 1 ({HOSTS[0]}), "
          f"poll instances 2 and 3 ({HOSTS[1]}, {HOSTS[2]}) until both honour it")
    rows = []
    for kind in KINDS:
        both, per2, per3, change_ms, last_ms, polls, missed = [], [], [], [], [], 0, 0
        for _ in range(TRIALS):
            b, per, ch, n, last = trial(kind)
            change_ms.append(ch * 1000)
            last_ms.extend(x * 1000 for x in last)
            polls += n
            if b is None:
                missed += 1
                continue
            both.append(b * 1000)
            per2.append(per[0] * 1000)
            per3.append(per[1] * 1000)
        both.sort(), per2.sort(), per3.sort(), change_ms.sort(), last_ms.sort()
        rows.append((kind.name, both, per2, per3, change_ms, last_ms, polls, missed))
        p99 = pct(both, 99) if both else float("inf")
        print(f"  {kind.name}: p50 {pct(both, 50) if both else float('nan'):.2f} ms, p99 {p99:.2f} ms"
              f"{f', {missed} missed' if missed else ''}", file=sys.stderr)

    print()
    print(f"propagation: from the change's response to the first poll showing it on the slower of instances 2 and 3 (ms)")
    print(f"{'kind':<26}{'trials':>7}{'p50':>8}{'p99':>8}{'max':>8}{'mean':>8}"
          f"{'p50 i2':>8}{'p50 i3':>8}{'polls':>7}{'poll p50':>10}{'change p50':>12}  verdict (p99 <= {TARGET_MS:g} ms)")
    passed = 0
    for name, both, per2, per3, change_ms, last_ms, polls, missed in rows:
        if not both:
            print(f"{name:<26}{0:>7}  no trial was honoured within {TIMEOUT_S} s  FAIL")
            continue
        p99 = pct(both, 99)
        ok = p99 <= TARGET_MS and missed == 0
        passed += ok
        verdict = "PASS" if ok else "FAIL" + (f" ({missed} not honoured within {TIMEOUT_S:g} s)" if missed else "")
        print(f"{name:<26}{len(both):>7}{pct(both, 50):>8.2f}{p99:>8.2f}{both[-1]:>8.2f}"
              f"{sum(both) / len(both):>8.2f}{pct(per2, 50):>8.2f}{pct(per3, 50):>8.2f}"
              f"{polls / TRIALS:>7.1f}{pct(last_ms, 50):>10.2f}{pct(change_ms, 50):>12.2f}  {verdict}")
    print(f"\nSUMMARY: {passed}/{len(rows)} kinds meet the target (p99 <= {TARGET_MS:g} ms)")
    print("(polls: mean polls per trial over both instances; poll p50: the honouring poll's own round\n"
          " trip(s), part of each figure; change p50: the change request itself, not part of them)")


main()
