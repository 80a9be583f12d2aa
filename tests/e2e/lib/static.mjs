// A tiny static file server on 127.0.0.1, for pages that must run on another origin than the API
// (same host name, another port: same site, so the API's SameSite=Lax cookies still flow).
//
//   const pages = await startStatic({ '/': PAGES, '/pkg/': PKG });
//   await page.goto(`${pages.url}/browser.html`);
//   await pages.stop();
//
// GET/HEAD only, `Cache-Control: no-cache`, `.wasm` as application/wasm (streaming instantiation);
// paths with `..`, `\` or NUL are 404. No /api/: a relative API URL fails loudly here.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
};

/** Serves `mounts` ({ '/url/prefix/': '/abs/dir' }, longest prefix wins) on a free port. */
export async function startStatic(mounts) {
  const table = Object.entries(mounts)
    .map(([prefix, dir]) => [prefix.endsWith('/') ? prefix : `${prefix}/`, resolve(dir)])
    .sort((a, b) => b[0].length - a[0].length);
  const server = createServer(async (req, res) => {
    const fail = (status) => res.writeHead(status, { 'Content-Type': 'text/plain' }).end(String(status));
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405);
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      return fail(400);
    }
    if (/\.\.|\\|\0/.test(path)) return fail(404);
    const hit = table.find(([prefix]) => path.startsWith(prefix));
    if (!hit) return fail(404);
    let file = join(hit[1], path.slice(hit[0].length));
    try {
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] || 'application/octet-stream',
        'Content-Length': body.length,
        'Cache-Control': 'no-cache',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      fail(404);
    }
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
