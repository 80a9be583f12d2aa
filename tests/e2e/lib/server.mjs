// Starts the real Django test backend (tests/server) for an e2e test, on its own port and its own
// fresh database, so tests never share sessions, counters or blacklists with anything else.
//
// Two stacks (option `stack`, default: env AUTHFLIGHT_STACK, else 'dev'):
//   'dev'   `scripts/server.sh run`: Django's threaded dev server, HTTP/1.1, SQLite, one process.
//   'prod'  `scripts/prod-stack.sh run`: nginx (TLS, HTTP/2, self-signed certificate) in front of
//           gunicorn (4 gthread workers) and a throwaway PostgreSQL; `url` is https (the browser
//           needs --ignore-certificate-errors); stats/reset/post/get go to gunicorn's internal
//           plain-http port (`internalUrl`), so Node needs no certificate.
//
//   const server = await startServer({ port: 0, env: { AUTHFLIGHT_ACCESS_SECONDS: '60' }, staticDir });
//   await server.reset();                       // POST /api/test/reset/
//   await server.post('/api/test/fault/', { kind: '500', count: 1 });
//   (await server.stats()).refresh_calls;       // GET /api/test/stats/
//   await server.stop();
//
// The script is spawned in the foreground (it migrates and seeds the fresh database, then runs the
// server(s)), in its own process group, and killed by that id on stop() or process exit.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const RESERVED = new Set([8765]); // the default port: other runs use it with the default database
const running = new Map(); // child -> its temporary directory
export const STACKS = ['dev', 'prod'];
/** The longest a test-control request (stats, reset, faults) may take. */
const REQUEST_MS = 30_000;

// A run stopped from outside (scripts' `bounded`: SIGTERM) still stops its servers: 'exit' runs.
if (!process.listenerCount('SIGTERM')) process.once('SIGTERM', () => process.exit(143));
process.once('exit', () => {
  for (const [child, tmp] of running) {
    killGroup(child, 'SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
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

/** Sends `signal` to `child`'s process group (it was spawned detached), if it is still there. */
export function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

/**
 * Starts the backend on 127.0.0.1:`port` (0 or omitted: a free port) with AUTHFLIGHT_TEST_ENDPOINTS=1,
 * a fresh database, `staticDir` as AUTHFLIGHT_STATIC_DIR, and `env` on top; `stack` 'dev' or 'prod'
 * (see above). Resolves once the server answers /api/health/ (rejects with the log tail after
 * `timeoutMs`).
 */
export async function startServer({
  stack = process.env.AUTHFLIGHT_STACK || 'dev',
  port = 0,
  env = {},
  staticDir,
  timeoutMs = 60_000,
} = {}) {
  if (!STACKS.includes(stack)) throw new Error(`startServer: stack must be one of ${STACKS.join(', ')}, not ${stack}`);
  const prod = stack === 'prod';
  if (!port) port = await freePort();
  if (RESERVED.has(port)) throw new Error(`startServer: port ${port} is reserved for other runs`);
  const internalPort = prod ? await freePort() : port;
  const tmp = mkdtempSync(join(tmpdir(), 'authflight-e2e-'));
  const childEnv = {
    ...process.env,
    AUTHFLIGHT_PORT: String(port),
    AUTHFLIGHT_TEST_ENDPOINTS: '1',
    ...(prod
      ? { AUTHFLIGHT_INTERNAL_PORT: String(internalPort), AUTHFLIGHT_STACK_DIR: tmp }
      : { AUTHFLIGHT_DB: join(tmp, 'db.sqlite3') }),
    ...(staticDir ? { AUTHFLIGHT_STATIC_DIR: resolve(staticDir) } : {}),
    ...env,
  };
  const script = prod ? 'scripts/prod-stack.sh' : 'scripts/server.sh';
  const child = spawn('bash', [join(ROOT, script), 'run'], {
    cwd: ROOT,
    env: childEnv,
    detached: true, // its own process group, killed as one
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.set(child, tmp);
  const log = [];
  let ready = false; // prod: the script's "prod-stack: ready" line (both URLs answer by then)
  const keep = (chunk) => {
    const lines = chunk.toString().split('\n').filter(Boolean);
    if (lines.some((l) => l.startsWith('prod-stack: ready '))) ready = true;
    log.push(...lines);
    if (log.length > 200) log.splice(0, log.length - 200);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((ok) => child.once('exit', (code, signal) => ok({ code, signal })));
  exited.then(() => running.delete(child));

  const url = `${prod ? 'https' : 'http'}://127.0.0.1:${port}`;
  const internalUrl = `http://127.0.0.1:${internalPort}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return exited;
    stopped = true;
    killGroup(child, 'SIGTERM');
    // prod: the script stops nginx, gunicorn and PostgreSQL, then deletes its directory.
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), prod ? 10_000 : 3000);
    await exited;
    clearTimeout(timer);
    rmSync(tmp, { recursive: true, force: true });
  };

  const started = Date.now();
  const deadline = started + timeoutMs;
  let early = null;
  exited.then((e) => (early = e));
  for (;;) {
    if (early) {
      await stop();
      throw new Error(`startServer: ${stack} server exited (${early.code ?? early.signal}) before it was healthy:\n${log.slice(-40).join('\n')}`);
    }
    try {
      if (prod ? ready : (await fetch(`${url}/api/health/`, { signal: AbortSignal.timeout(1000) })).ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`startServer: no healthy ${stack} server on ${url} after ${timeoutMs} ms:\n${log.slice(-40).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, prod ? 50 : 100));
  }
  const startMs = Date.now() - started;

  // Bounded: a server that stops answering fails the test with its last lines, never hangs it.
  const request = async (method, path, body) => {
    const res = await fetch(internalUrl + path, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_MS),
    }).catch((e) => {
      throw new Error(`${method} ${path}: ${e.name === 'TimeoutError' ? `no answer within ${REQUEST_MS} ms` : e.message}; the server's last lines:\n${log.slice(-20).join('\n')}`);
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  };

  return {
    /** What the page loads: http://127.0.0.1:P (dev) or https://127.0.0.1:P (prod). */
    url,
    port,
    /** 'dev' or 'prod'. */
    stack,
    /** What the browser speaks to `url`: 'http/1.1' (dev) or 'h2' (prod: nginx, HTTP/2 over TLS). */
    protocol: prod ? 'h2' : 'http/1.1',
    /** Plain http to the Django app itself (dev: = url; prod: gunicorn behind nginx). */
    internalUrl,
    /** dev: the SQLite file; prod: null (PostgreSQL in a temporary directory). */
    db: prod ? null : childEnv.AUTHFLIGHT_DB,
    /** How long the start took, ms (script spawned → healthy). */
    startMs,
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
    /** Stops the server (SIGTERM to its group, then SIGKILL after 3 s, prod 10 s) and deletes its database. */
    stop,
  };
}
