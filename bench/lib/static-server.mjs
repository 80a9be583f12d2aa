// A minimal static + /ping server on 127.0.0.1, for the figures where Django must not dominate
// (cold start, happy path overhead). Same-origin with the page it serves.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
const PING_BODY = Buffer.from('{"ok":true}');

/** Starts the server; `mounts` maps URL prefixes ('/b/') to directories. Resolves to { url, close }. */
export function startStaticServer({ port, mounts }) {
  const server = http.createServer({ noDelay: true, keepAliveTimeout: 60_000 }, (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/ping') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': PING_BODY.length, 'Cache-Control': 'no-store' });
      res.end(PING_BODY);
      return;
    }
    for (const [prefix, dir] of Object.entries(mounts)) {
      if (!url.pathname.startsWith(prefix)) continue;
      let rel = decodeURIComponent(url.pathname.slice(prefix.length)) || 'index.html';
      if (rel.includes('..') || rel.includes('\0')) break;
      const file = path.join(dir, rel);
      fs.readFile(file, (err, data) => {
        if (err) {
          res.writeHead(404, { 'Content-Type': 'text/plain' });
          res.end('not found');
          return;
        }
        res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Content-Length': data.length, 'Cache-Control': prefix === '/' ? 'no-cache' : 'max-age=3600' });
        res.end(data);
      });
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
      });
    });
  });
}
