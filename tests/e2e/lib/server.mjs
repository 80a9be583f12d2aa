// Starts the real Django test backend (tests/server) for an e2e test, on its own port and its own
// fresh SQLite file, so tests never share sessions, counters or blacklists with anything else.
//
//   const server = await startServer({ port: 0, env: { AUTHFLIGHT_ACCESS_SECONDS: '60' }, staticDir });
//   await server.reset();                       // POST /api/test/reset/
//   await server.post('/api/test/fault/', { kind: '500', count: 1 });
//   (await server.stats()).refresh_calls;       // GET /api/test/stats/
//   await server.stop();
//
// `scripts/server.sh run` is spawned in the foreground (it migrates and seeds the fresh database,
// then execs the server), in its own process group, and killed by that id on stop() or process exit.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const RESERVED = new Set([8765]); // the default port: other runs use it with the default database
const running = new Set();

process.once('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

/** A TCP port nobody listens on right now (asked from the OS). */
export async function freePort() {
  for (;;) {
    const port = await new Promise((ok, fail) => {
      const s = createServer();
      s.once('error', fail);
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address();
        s.close(() => ok(port));
      });
    });
    if (!RESERVED.has(port)) return port;
  }
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

/**
 * Starts the backend on 127.0.0.1:`port` (0 or omitted: a free port) with AUTHFLIGHT_TEST_ENDPOINTS=1,
 * a fresh temporary AUTHFLIGHT_DB, `staticDir` as AUTHFLIGHT_STATIC_DIR, and `env` on top.
 * Resolves once GET /api/health/ answers 200 (rejects with the log tail after `timeoutMs`).
 */
export async function startServer({ port = 0, env = {}, staticDir, timeoutMs = 60_000 } = {}) {
  if (!port) port = await freePort();
  if (RESERVED.has(port)) throw new Error(`startServer: port ${port} is reserved for other runs`);
  const tmp = mkdtempSync(join(tmpdir(), 'authflight-e2e-'));
  const childEnv = {
    ...process.env,
    AUTHFLIGHT_PORT: String(port),
    AUTHFLIGHT_DB: join(tmp, 'db.sqlite3'),
    AUTHFLIGHT_TEST_ENDPOINTS: '1',
    ...(staticDir ? { AUTHFLIGHT_STATIC_DIR: resolve(staticDir) } : {}),
    ...env,
  };
  const child = spawn('bash', [join(ROOT, 'scripts/server.sh'), 'run'], {
    cwd: ROOT,
    env: childEnv,
    detached: true, // its own process group, killed as one
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const log = [];
  const keep = (chunk) => {
    log.push(...chunk.toString().split('\n').filter(Boolean));
    if (log.length > 200) log.splice(0, log.length - 200);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((ok) => child.once('exit', (code, signal) => ok({ code, signal })));
  exited.then(() => running.delete(child));

  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return exited;
    stopped = true;
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
    rmSync(tmp, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  let early = null;
  exited.then((e) => (early = e));
  for (;;) {
    if (early) {
      await stop();
      throw new Error(`startServer: server exited (${early.code ?? early.signal}) before it was healthy:\n${log.slice(-40).join('\n')}`);
    }
    try {
      const res = await fetch(`${url}/api/health/`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`startServer: no healthy server on ${url} after ${timeoutMs} ms:\n${log.slice(-40).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  const request = async (method, path, body) => {
    const res = await fetch(url + path, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  };

  return {
    url,
    port,
    db: childEnv.AUTHFLIGHT_DB,
    /** GET /api/test/stats/: refresh_calls, refresh_reused, protected_ok, ... */
    stats: () => request('GET', '/api/test/stats/'),
    /** POST /api/test/reset/: zeroes counters, clears faults, delays and items. */
    reset: () => request('POST', '/api/test/reset/', {}),
    /** POST `path` with a JSON `body`; resolves to the parsed JSON answer, rejects on a non-2xx. */
    post: (path, body = {}) => request('POST', path, body),
    /** GET `path`; resolves to the parsed JSON answer, rejects on a non-2xx. */
    get: (path) => request('GET', path),
    /** The server's last output lines (for failure messages). */
    log: () => log.join('\n'),
    /** Stops the server (SIGTERM, then SIGKILL after 3 s) and deletes its database. */
    stop,
  };
}
