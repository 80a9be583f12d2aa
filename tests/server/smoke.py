#!/usr/bin/env python3
"""Smoke test of the authflight test backend. Standard library only.

Run against a server started with test endpoints on:

    AUTHFLIGHT_TEST_ENDPOINTS=1 scripts/server.sh start
    tests/server/.venv/bin/python tests/server/smoke.py

or against any URL, e.g. the production stack through nginx (https, its self-signed certificate is
not verified) or its internal gunicorn port:

    AUTHFLIGHT_SMOKE_URL=https://127.0.0.1:8443 tests/server/.venv/bin/python tests/server/smoke.py

It also starts two short-lived servers of its own on free ports to check other modes: CSRF on, test
endpoints off, static files mounted; and a refresh view that authenticates the access cookie
(AUTHFLIGHT_REFRESH_AUTHENTICATES) with an access cookie that outlives its JWT
(AUTHFLIGHT_ACCESS_COOKIE_SLACK_SECONDS). Last line: "N passed, N failed"; exit 1 on failure.
"""

import base64
import http.client
import json
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
HOST = "127.0.0.1"
_target = urlsplit(os.environ.get("AUTHFLIGHT_SMOKE_URL") or
                   f"http://{HOST}:{os.environ.get('AUTHFLIGHT_PORT', '8765')}")
SCHEME, PORT = _target.scheme, _target.port or (443 if _target.scheme == "https" else 80)
_INSECURE_TLS = ssl.create_default_context()
_INSECURE_TLS.check_hostname, _INSECURE_TLS.verify_mode = False, ssl.CERT_NONE


def connect(port=PORT, scheme=SCHEME, timeout=30):
    """A new HTTP/1.1 connection to 127.0.0.1:port (https: certificate not verified)."""
    if scheme == "https":
        return http.client.HTTPSConnection(HOST, port, timeout=timeout, context=_INSECURE_TLS)
    return http.client.HTTPConnection(HOST, port, timeout=timeout)

USER = {"username": "demo", "password": "demo-password-123"}

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name} {detail}")
    return ok


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body

    def header(self, name):
        vals = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(vals) if vals else None

    def set_cookies(self):
        return [v for k, v in self.headers if k.lower() == "set-cookie"]

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Client:
    """One cookie jar (name -> value, like a browser for a single host) over http.client."""

    def __init__(self, port=None, keep_alive=False):
        # No port: the server under test; a port: one of our own dev servers (plain http).
        self.port, self.scheme = (PORT, SCHEME) if port is None else (port, "http")
        self.cookies = {}
        self.keep_alive = keep_alive
        self.conn = None

    def _conn(self):
        if self.keep_alive:
            if self.conn is None:
                self.conn = connect(self.port, self.scheme)
            return self.conn
        return connect(self.port, self.scheme)

    def request(self, method, path, body=None, headers=None, json_body=None, cookies=None):
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        jar = self.cookies if cookies is None else cookies
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        conn = self._conn()
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            resp = Resp(r.status, r.getheaders(), r.read())
        finally:
            if not self.keep_alive:
                conn.close()
        if cookies is None:
            for raw in resp.set_cookies():
                for name, morsel in SimpleCookie(raw).items():
                    if morsel["max-age"] == "0" or not morsel.value:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def login(self):
        return self.post("/api/auth/login/", json_body=USER)

    def refresh(self, **kw):
        return self.post("/api/auth/token/refresh/", **kw)


api = Client()


def stats():
    return api.get("/api/test/stats/").json()


def reset():
    r = api.post("/api/test/reset/")
    assert r.status == 200, r


def fault(**kw):
    r = api.post("/api/test/fault/", json_body=kw)
    assert r.status == 200, r


def jwt_claims(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def section(fn):
    try:
        fn()
    except Exception:
        check(f"{fn.__name__} raised", False, traceback.format_exc())


# ------------------------------------------------------------------------------------------ tests
def test_health_and_reset():
    check("health 200", api.get("/api/health/").status == 200)
    reset()
    s = stats()
    keys = ["refresh_calls", "refresh_succeeded", "refresh_failed", "refresh_reused",
            "items_created", "protected_ok", "protected_401"]
    check("stats has all counters, zero after reset", all(s.get(k) == 0 for k in keys), s)


def test_login_cookies():
    c = Client()
    r = c.login()
    check("login 200", r.status == 200, r)
    raw = {SimpleCookie(v).keys().__iter__().__next__(): v for v in r.set_cookies()}
    for name in ("access", "refresh"):
        v = raw.get(name, "")
        check(f"login sets HttpOnly SameSite=Lax '{name}' cookie",
              "httponly" in v.lower() and "samesite=lax" in v.lower(), v[:80])
        if SCHEME == "https":
            check(f"over https the '{name}' cookie is Secure", "; secure" in v.lower(), v[-80:])
    check("no session cookie (pure JWT)", "sessionid" not in raw, list(raw))
    r = c.get("/api/me/")
    check("/api/me/ 200 after login", r.status == 200 and r.json() == {"username": "demo"}, r)
    r = Client().get("/api/me/")
    check("/api/me/ without cookies 401 not-provided",
          r.status == 401 and "not provided" in r.json().get("detail", ""), r)


def test_expire_access_and_refresh():
    reset()
    c = Client()
    c.login()
    check("me 200", c.get("/api/me/").status == 200)
    api.post("/api/test/expire-access/")
    r = c.get("/api/me/")
    check("expire-access -> me 401 token_not_valid",
          r.status == 401 and r.json().get("code") == "token_not_valid", r)
    r = c.refresh()
    check("refresh 200", r.status == 200, r)
    check("refresh sets new access and refresh cookies",
          {"access", "refresh"} <= {next(iter(SimpleCookie(v))) for v in r.set_cookies()}, r.headers)
    r = c.get("/api/me/")
    check("me 200 after refresh", r.status == 200, r)
    s = stats()
    check("stats count protected ok/401 and refresh", s["protected_ok"] == 2
          and s["protected_401"] == 1 and s["refresh_calls"] == 1 and s["refresh_succeeded"] == 1, s)


def test_expire_same_second():
    # login, expire and refresh inside one wall-clock second: the old and new access tokens have
    # the same `iat`, yet only the new one must work.
    for attempt in range(3):
        while time.time() % 1 > 0.4:
            time.sleep(0.02)
        c = Client()
        c.login()
        old_access = c.cookies["access"]
        api.post("/api/test/expire-access/")
        r = c.refresh()
        new_access = c.cookies["access"]
        same = jwt_claims(old_access)["iat"] == jwt_claims(new_access)["iat"]
        if same or attempt == 2:
            break
    check("same-second: old and new access have equal iat", same)
    check("same-second: refresh 200", r.status == 200, r)
    check("same-second: new access works", c.get("/api/me/").status == 200)
    r = c.get("/api/me/", cookies={"access": old_access})
    check("same-second: old access still 401", r.status == 401, r)


def test_refresh_reuse_blacklisted():
    reset()
    c = Client()
    c.login()
    old_refresh = c.cookies["refresh"]
    check("refresh 200", c.refresh().status == 200)
    check("reused still 0 after a normal refresh", stats()["refresh_reused"] == 0)
    r = c.refresh(cookies={"refresh": old_refresh})
    check("old refresh token -> 401 blacklisted",
          r.status == 401 and r.json() == {"detail": "Token is blacklisted", "code": "token_not_valid"}, r)
    s = stats()
    check("refresh_reused = 1", s["refresh_reused"] == 1, s)
    check("refresh_failed = 1, succeeded = 1", s["refresh_failed"] == 1 and s["refresh_succeeded"] == 1, s)
    r = c.refresh()
    check("current refresh token still works", r.status == 200, r)
    r = Client().refresh()
    check("refresh without cookie -> 401",
          r.status == 401 and r.json().get("code") == "token_not_valid", r)


def test_fault_500():
    reset()
    c = Client()
    c.login()
    fault(kind="500", count=1)
    r = c.refresh()
    check("fault 500 -> refresh 500 JSON", r.status == 500 and r.json().get("code") == "injected_fault", r)
    r = c.refresh()
    check("next refresh (same token, not rotated) 200", r.status == 200, r)
    s = stats()
    check("500 retry is not counted as reuse", s["refresh_reused"] == 0
          and s["refresh_failed"] == 1 and s["refresh_succeeded"] == 1, s)


def _raw_refresh(cookie):
    conn = connect(timeout=10)
    try:
        conn.request("POST", "/api/auth/token/refresh/", headers={"Cookie": f"refresh={cookie}"})
        r = conn.getresponse()
        return r.status, r.read()
    except (http.client.RemoteDisconnected, ConnectionError) as e:
        return None, repr(e)
    finally:
        conn.close()


def test_fault_drop():
    reset()
    c = Client()
    c.login()
    fault(kind="drop", count=1)
    status, info = _raw_refresh(c.cookies["refresh"])
    check("fault drop -> connection closed without response", status is None, (status, info))
    r = c.refresh()
    check("after drop the token was not rotated: refresh 200", r.status == 200, r)
    # extra kind: the server rotates (old token blacklisted) but the answer never arrives
    fault(kind="drop_after_rotate", count=1)
    before = c.cookies["refresh"]
    status, info = _raw_refresh(before)
    check("fault drop_after_rotate -> connection closed", status is None, (status, info))
    r = c.refresh(cookies={"refresh": before})
    check("after drop_after_rotate the old token is blacklisted", r.status == 401, r)
    s = stats()
    check("drop stats", s["refresh_calls"] == 4 and s["refresh_failed"] == 3
          and s["refresh_succeeded"] == 1 and s["refresh_reused"] == 1, s)


def test_fault_hang_and_delay():
    reset()
    c = Client()
    c.login()
    fault(kind="hang", count=1, hang_ms=300)
    t = time.monotonic()
    r = c.refresh()
    dt = time.monotonic() - t
    check("fault hang -> 504 after hang_ms", r.status == 504 and 0.25 < dt < 3, (r, dt))
    fault(refresh_delay_ms=300)
    t = time.monotonic()
    r = c.refresh()
    dt = time.monotonic() - t
    check("refresh_delay_ms slows refresh", r.status == 200 and dt >= 0.3, (r, dt))
    # hang released early by reset
    fault(kind="hang", count=1, hang_ms=20000)
    out = {}
    th = threading.Thread(target=lambda: out.setdefault("r", c.refresh()))
    t = time.monotonic()
    th.start()
    time.sleep(0.3)
    reset()
    th.join(10)
    check("reset releases a hanging refresh", "r" in out and out["r"].status == 504
          and time.monotonic() - t < 5, out)
    t = time.monotonic()
    r = c.refresh()
    check("reset clears refresh_delay_ms", r.status == 200 and time.monotonic() - t < 0.25, r)


def test_reuse_counting():
    """refresh_reused: a token presented again after an accepted or in-flight presentation, but not
    a retry of a token whose presentations were all rejected (or cut short by a fault)."""
    reset()
    c = Client()
    c.login()
    first = c.cookies["refresh"]
    check("reuse: refresh 200", c.refresh().status == 200)
    c.refresh(cookies={"refresh": first})
    c.refresh(cookies={"refresh": first})
    s = stats()
    check("reuse: an accepted token presented twice more counts 2", s["refresh_reused"] == 2, s)

    reset()
    current = c.cookies["refresh"]
    api.post("/api/test/invalidate-refresh/")
    r1 = c.refresh(cookies={"refresh": current})
    r2 = c.refresh(cookies={"refresh": current})
    s = stats()
    check("reuse: a rejected token retried is not reuse", r1.status == 401 and r2.status == 401
          and s["refresh_reused"] == 0 and s["refresh_failed"] == 2, (r1, r2, s))

    reset()
    c = Client()
    c.login()
    fault(kind="hang", count=1, hang_ms=300)
    r1 = c.refresh()
    r2 = c.refresh()
    s = stats()
    check("reuse: a retry after a hang fault is not reuse", r1.status == 504 and r2.status == 200
          and s["refresh_reused"] == 0, (r1, r2, s))

    # A hung call never reached the refresh logic: a new call with the same token meanwhile is fine.
    reset()
    fault(kind="hang", count=1, hang_ms=20000)
    token = c.cookies["refresh"]
    out = {}
    th = threading.Thread(target=lambda: out.setdefault("hung", c.refresh(cookies={"refresh": token})))
    th.start()
    time.sleep(0.3)
    r = c.refresh(cookies={"refresh": token})
    s = stats()
    check("reuse: a call while a hung call of the same token is pending is not reuse",
          r.status == 200 and s["refresh_reused"] == 0 and s["refresh_in_flight"] == 1, (r, s))
    reset()
    th.join(10)
    check("reuse: reset releases the hung call", out.get("hung") is not None and out["hung"].status == 504, out)

    # Presented again while the first presentation is still in flight: reuse.
    reset()
    c = Client()
    c.login()
    fault(refresh_delay_ms=600)
    token = c.cookies["refresh"]
    out = {}
    th = threading.Thread(target=lambda: out.setdefault("first", c.refresh(cookies={"refresh": token})))
    th.start()
    time.sleep(0.2)
    second = c.refresh(cookies={"refresh": token})
    th.join(10)
    s = stats()
    check("reuse: a token presented while its first presentation is in flight counts 1",
          s["refresh_reused"] == 1 and out["first"].status == 200, (out, second, s))
    log = s.get("refresh_log", [])
    check("stats: refresh_log has each call's start, end, status",
          len(log) == 2 and all(e["end"] >= e["start"] for e in log)
          and sorted(e["status"] for e in log) in ([200, 200], [200, 401]), log)
    reset()


def test_invalidate_refresh():
    c = Client()
    c.login()
    r = api.post("/api/test/invalidate-refresh/")
    check("invalidate-refresh 200", r.status == 200 and r.json()["blacklisted"] >= 1, r)
    r = c.refresh()
    check("refresh after invalidate -> 401 blacklisted",
          r.status == 401 and r.json().get("detail") == "Token is blacklisted", r)


def test_logout():
    c = Client()
    c.login()
    refresh = c.cookies["refresh"]
    r = c.post("/api/auth/logout/")
    check("logout 200 clears cookies", r.status == 200 and "access" not in c.cookies
          and "refresh" not in c.cookies, (r, c.cookies))
    r = c.refresh(cookies={"refresh": refresh})
    check("refresh token blacklisted by logout", r.status == 401, r)


def test_echo():
    c = Client()
    c.login()
    blob = bytes(range(256)) * 3
    r = c.post("/api/echo/", body=blob, headers={"Content-Type": "application/octet-stream"})
    j = r.json()
    check("echo binary exact bytes", r.status == 200 and base64.b64decode(j["body_b64"]) == blob
          and j["method"] == "POST" and j["content_type"] == "application/octet-stream", r)
    body = json.dumps({"a": "é", "n": [1, 2]}).encode()
    r = c.post("/api/echo/", body=body, headers={"Content-Type": "application/json"})
    check("echo JSON exact bytes", base64.b64decode(r.json()["body_b64"]) == body, r)
    boundary = "----authflightBoundary7MA4YWxkTrZu0gW"
    mp = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"b.bin\"\r\n"
          f"Content-Type: application/octet-stream\r\n\r\n").encode() + blob + \
        f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--{boundary}--\r\n".encode()
    r = c.post("/api/echo/", body=mp, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    check("echo multipart exact bytes", r.status == 200 and base64.b64decode(r.json()["body_b64"]) == mp, r)
    form = b"a=1&b=%C3%A9+x&a=2"
    r = c.post("/api/echo/", body=form, headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"})
    check("echo urlencoded exact bytes", base64.b64decode(r.json()["body_b64"]) == form, r)
    for m in ("PUT", "PATCH", "DELETE"):
        r = c.request(m, "/api/echo/", body=b"xyz", headers={"Content-Type": "text/plain"})
        check(f"echo {m}", r.status == 200 and r.json()["method"] == m
              and base64.b64decode(r.json()["body_b64"]) == b"xyz", r)
    r = Client().post("/api/echo/", body=b"x")
    check("echo without auth 401", r.status == 401, r)


def test_items_concurrent():
    reset()
    c = Client()
    c.login()
    results = [None] * 10

    def post(i):
        results[i] = c.post("/api/items/", json_body={"name": f"item-{i}"})

    threads = [threading.Thread(target=post, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check("10 concurrent item POSTs all 201", all(r is not None and r.status == 201 for r in results), results)
    r = c.get("/api/items/")
    names = sorted(i["name"] for i in r.json()["items"])
    check("each item created exactly once", names == sorted(f"item-{i}" for i in range(10)), names)
    check("items_created = 10", stats()["items_created"] == 10)


def test_concurrent_same_token():
    """N refreshes of one token at the same instant (on several workers, on the production stack):
    each after the first is reuse, whichever ones rotated, and the counts add up."""
    reset()
    c = Client()
    c.login()
    token, n = c.cookies["refresh"], 12
    results = [None] * n
    barrier = threading.Barrier(n)

    def refresh(i):
        barrier.wait(10)
        results[i] = c.refresh(cookies={"refresh": token})

    threads = [threading.Thread(target=refresh, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    codes = sorted(r.status for r in results if r is not None)
    s = stats()
    check(f"{n} concurrent refreshes of one token: reused = {n - 1}, none lost",
          s["refresh_reused"] == n - 1 and s["refresh_calls"] == n and s["refresh_in_flight"] == 0
          and s["refresh_succeeded"] + s["refresh_failed"] == n and len(s["refresh_log"]) == n
          and codes.count(200) >= 1 and set(codes) <= {200, 401}
          and s["refresh_succeeded"] == codes.count(200), (codes, s))


def test_cors():
    origin = "http://127.0.0.1:5555"
    r = api.request("OPTIONS", "/api/me/", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-csrftoken"})
    check("preflight 200", r.status == 200, r)
    check("preflight echoes origin", r.header("Access-Control-Allow-Origin") == origin, r.headers)
    check("preflight allow-credentials", r.header("Access-Control-Allow-Credentials") == "true", r.headers)
    allow = (r.header("Access-Control-Allow-Headers") or "").lower()
    check("preflight allows content-type, x-csrftoken", "content-type" in allow and "x-csrftoken" in allow, allow)
    c = Client()
    c.login()
    r = c.get("/api/me/", headers={"Origin": "http://localhost:4444"})
    check("credentialed GET from localhost:4444 echoes origin + Vary: Origin",
          r.header("Access-Control-Allow-Origin") == "http://localhost:4444"
          and r.header("Access-Control-Allow-Credentials") == "true"
          and "origin" in (r.header("Vary") or "").lower(), r.headers)
    r = api.request("OPTIONS", "/api/me/", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "GET"})
    check("foreign origin not allowed", r.header("Access-Control-Allow-Origin") is None, r.headers)


def test_keepalive_latency():
    c = Client(keep_alive=True)
    c.login()
    c.get("/api/me/")
    sock = c.conn.sock
    times = []
    for i in range(30):
        t = time.perf_counter()
        r = c.get(f"/api/ping/?i={i}")
        times.append(time.perf_counter() - t)
        assert r.status == 200, r
    same = c.conn.sock is sock
    c.conn.close()
    med = statistics.median(times) * 1000
    check("connection kept alive across requests", same)
    check(f"kept-alive latency median {med:.1f} ms < 20 ms (no ~40 ms Nagle stall)", med < 20,
          [round(x * 1000, 1) for x in times])


def test_concurrent_ping():
    c = Client()
    c.login()
    n = 100
    results = [None] * n
    barrier = threading.Barrier(n)

    def ping(i):
        try:
            barrier.wait(10)
            results[i] = c.get(f"/api/ping/?i={i}&delay_ms=300")
        except Exception as e:  # noqa: BLE001
            results[i] = e

    t = time.monotonic()
    threads = [threading.Thread(target=ping, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    dt = time.monotonic() - t
    ok = [r for r in results if isinstance(r, Resp) and r.status == 200]
    check(f"{n} concurrent pings all 200", len(ok) == n,
          [r for r in results if not (isinstance(r, Resp) and r.status == 200)][:5])
    check("pings echo their query", all(r.json()["q"]["i"] == str(i) for i, r in enumerate(results)
                                        if isinstance(r, Resp) and r.status == 200))
    check(f"{n} x 300 ms pings ran concurrently ({dt:.2f} s < 5 s)", dt < 5, dt)


# ------------------------------------------------------------------ second server: other modes
# Our own dev servers run on SQLite with the in-memory state, whatever stack is under test.
_PROD_VARS = ("AUTHFLIGHT_PG_HOST", "AUTHFLIGHT_PG_PORT", "AUTHFLIGHT_STATE",
              "AUTHFLIGHT_SECURE_COOKIES", "AUTHFLIGHT_BEHIND_TLS_PROXY")


def dev_env(**kw):
    env = dict(os.environ, **kw)
    for name in _PROD_VARS:
        env.pop(name, None)
    return env


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def test_other_modes():
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="authflight-smoke-")
    site, pkg = os.path.join(tmp, "site"), os.path.join(tmp, "pkg")
    os.makedirs(os.path.join(site, "sub"))
    os.makedirs(pkg)
    files = {
        os.path.join(site, "index.html"): b"<!doctype html><title>t</title>",
        os.path.join(site, "app.mjs"): b"export const x = 1;",
        os.path.join(site, "sub", "index.html"): b"sub",
        os.path.join(pkg, "lib.js"): b"export default 1;",
        os.path.join(pkg, "lib_bg.wasm"): b"\x00asm\x01\x00\x00\x00",
        os.path.join(tmp, "secret.txt"): b"secret",
    }
    for path, data in files.items():
        with open(path, "wb") as f:
            f.write(data)
    env = dev_env(AUTHFLIGHT_PORT=str(port), AUTHFLIGHT_CSRF="1",
               AUTHFLIGHT_STATIC_DIR=site, AUTHFLIGHT_STATIC_MOUNTS=f"/pkg/={pkg}")
    env.pop("AUTHFLIGHT_TEST_ENDPOINTS", None)
    env.pop("AUTHFLIGHT_TRUSTED_ORIGINS", None)
    proc = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", str(port)], cwd=HERE,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        c = Client(port)
        for _ in range(100):
            try:
                if c.get("/api/health/").status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        check("second server (csrf on, test endpoints off) healthy", c.get("/api/health/").status == 200)
        check("test endpoints 404 when AUTHFLIGHT_TEST_ENDPOINTS unset",
              c.get("/api/test/stats/").status == 404 and c.post("/api/test/reset/").status == 404)
        r = c.get("/")
        check("static / -> index.html", r.status == 200 and r.body == files[os.path.join(site, "index.html")]
              and r.header("Content-Type").startswith("text/html"), r)
        r = c.get("/app.mjs")
        check(".mjs served as text/javascript", r.header("Content-Type") == "text/javascript", r.headers)
        r = c.get("/sub/")
        check("directory -> index.html", r.body == b"sub", r)
        r = c.get("/pkg/lib_bg.wasm")
        check("mount /pkg/ .wasm as application/wasm", r.status == 200
              and r.header("Content-Type") == "application/wasm" and r.body.startswith(b"\x00asm"), r.headers)
        r = c.get("/pkg/lib.js")
        check("mount /pkg/ .js as text/javascript", r.header("Content-Type") == "text/javascript", r.headers)
        bad = [c.get(p).status for p in ("/../secret.txt", "/%2e%2e/secret.txt", "/pkg/..%2fsecret.txt",
                                         "/pkg/%2e%2e/secret.txt", "/sub/..%2f..%2fsecret.txt")]
        check("path traversal refused", all(s == 404 for s in bad), bad)

        # CSRF mode
        c.login()
        r = c.post("/api/echo/", body=b"x", headers={"Content-Type": "text/plain"})
        check("csrf on: unsafe request without X-CSRFToken -> 403",
              r.status == 403 and "CSRF" in r.json().get("detail", ""), r)
        r = c.get("/api/csrf/")
        token = c.cookies.get("csrftoken")
        raw = " ".join(r.set_cookies())
        check("/api/csrf/ sets a JS-readable csrftoken cookie",
              r.status == 200 and token and "httponly" not in raw.lower(), raw)
        r = c.post("/api/echo/", body=b"x", headers={"Content-Type": "text/plain", "X-CSRFToken": token})
        check("csrf on: same-origin with X-CSRFToken -> 200", r.status == 200, r)
        r = c.post("/api/echo/", body=b"x", headers={"Content-Type": "text/plain", "X-CSRFToken": token,
                                                     "Origin": "http://127.0.0.1:5555"})
        check("csrf on: Origin http://127.0.0.1:5555 trusted (port wildcard)", r.status == 200, r)
        r = c.post("/api/echo/", body=b"x", headers={"Content-Type": "text/plain", "X-CSRFToken": token,
                                                     "Origin": "http://evil.example"})
        check("csrf on: foreign Origin -> 403", r.status == 403, r)
        r = c.post("/api/items/", json_body={"name": "x"}, headers={"X-CSRFToken": token})
        check("csrf on: items POST with token 201", r.status == 201, r)
        r = c.refresh()
        check("csrf on: refresh needs no CSRF token", r.status == 200, r)
        blob = bytes(range(256))
        r = c.post("/api/echo/", body=blob, headers={"Content-Type": "application/octet-stream",
                                                     "X-CSRFToken": token})
        check("csrf on: binary echo exact bytes", r.status == 200
              and base64.b64decode(r.json()["body_b64"]) == blob, r)
        r = c.post("/api/echo/", body=b"{not json", headers={"Content-Type": "application/json",
                                                            "X-CSRFToken": token})
        check("csrf on: echo of malformed JSON bytes", r.status == 200
              and base64.b64decode(r.json()["body_b64"]) == b"{not json", r)
        mp = b"--b\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\nv\r\n--b--\r\n"
        r = c.post("/api/echo/", body=mp, headers={"Content-Type": "multipart/form-data; boundary=b",
                                                   "X-CSRFToken": token})
        check("csrf on: multipart echo exact bytes", r.status == 200
              and base64.b64decode(r.json()["body_b64"]) == mp, r)
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        check("second server stops cleanly on SIGTERM", proc.returncode == 0,
              (proc.returncode, out.decode(errors="replace")[-2000:]))
        shutil.rmtree(tmp, ignore_errors=True)


def test_refresh_authenticates():
    """A third server: AUTHFLIGHT_REFRESH_AUTHENTICATES=1, AUTHFLIGHT_ACCESS_COOKIE_SLACK_SECONDS=1."""
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="authflight-smoke-")
    env = dev_env(AUTHFLIGHT_PORT=str(port), AUTHFLIGHT_TEST_ENDPOINTS="1",
               AUTHFLIGHT_REFRESH_AUTHENTICATES="1", AUTHFLIGHT_ACCESS_SECONDS="2",
               AUTHFLIGHT_ACCESS_COOKIE_SLACK_SECONDS="1", AUTHFLIGHT_DB=os.path.join(tmp, "db.sqlite3"))
    env.pop("AUTHFLIGHT_CSRF", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=HERE, env=env,
                   check=True)
    subprocess.run([sys.executable, "manage.py", "seed_demo"], cwd=HERE, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    proc = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", str(port)], cwd=HERE,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        c = Client(port)
        for _ in range(100):
            try:
                if c.get("/api/health/").status == 200:
                    break
            except OSError:
                time.sleep(0.1)

        def st():
            return c.get("/api/test/stats/", cookies={}).json()

        r = c.login()
        raw = next(v for v in r.set_cookies() if v.startswith("access="))
        morsel = SimpleCookie(raw)["access"]
        check("slack: access cookie Max-Age = token lifetime 2 s + 1 s", morsel["max-age"] == "3", raw)
        raw = next(v for v in r.set_cookies() if v.startswith("refresh="))
        check("slack: the refresh cookie keeps dj-rest-auth's Max-Age", "Max-Age=" in raw, raw)
        r = c.refresh()
        check("authenticating refresh with a valid access cookie -> 200", r.status == 200, r)
        raw = next(v for v in r.set_cookies() if v.startswith("access="))
        check("slack: the refresh's access cookie too", "max-age=3" in raw.lower(), raw)
        c.post("/api/test/expire-access/", cookies={})
        r = c.refresh()
        check("authenticating refresh with a revoked access cookie -> 401 token_not_valid",
              r.status == 401 and r.json().get("code") == "token_not_valid", r)
        s = st()
        check("counted: a call, a failure, refresh_auth_rejected", s["refresh_calls"] == 2
              and s["refresh_failed"] == 1 and s["refresh_auth_rejected"] == 1, s)
        r = c.refresh(cookies={"refresh": c.cookies["refresh"]})
        check("the same refresh token without the access cookie -> 200, not reuse",
              r.status == 200 and st()["refresh_reused"] == 0, (r, st()))
        exp = jwt_claims(c.cookies["access"])["exp"]
        time.sleep(max(0, exp - time.time()) + 0.1)
        r = c.refresh()
        check("authenticating refresh with an expired access cookie -> 401", r.status == 401
              and r.json().get("code") == "token_not_valid", r)
        r = c.get("/api/me/")
        check("the API answers that cookie 401 as well", r.status == 401, r)
        s = st()
        check("refresh_auth_rejected = 2, reused 0", s["refresh_auth_rejected"] == 2
              and s["refresh_reused"] == 0, s)
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    try:
        api.get("/api/test/stats/")
    except OSError as e:
        print(f"no server on {SCHEME}://{HOST}:{PORT} ({e}); start it with "
              "AUTHFLIGHT_TEST_ENDPOINTS=1 scripts/server.sh start")
        print("0 passed, 1 failed")
        return 1
    for fn in (test_health_and_reset, test_login_cookies, test_expire_access_and_refresh,
               test_expire_same_second, test_refresh_reuse_blacklisted, test_fault_500,
               test_fault_drop, test_fault_hang_and_delay, test_reuse_counting,
               test_invalidate_refresh, test_logout,
               test_echo, test_items_concurrent, test_concurrent_same_token, test_cors, test_keepalive_latency,
               test_concurrent_ping, test_other_modes, test_refresh_authenticates):
        section(fn)
    reset()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
