// The Node half of tests/e2e/react.test.mjs, run as a child process in the fixture directory (next
// to app.mjs and a node_modules holding the package and React). Prints one JSON line.
//
//   node react-node.mjs ssr     server rendering: what it renders, and what it touched on the way
//   node react-node.mjs cache   getAuthClient in Node: which options share a client
import { Writable } from 'node:stream';

const mode = process.argv[2];
Error.stackTraceLimit = 50;

if (mode === 'ssr') {
  // Record every read of a browser global and every call that would load the wasm or build a client.
  const touched = [];
  for (const name of ['window', 'document', 'navigator', 'location', 'localStorage', 'sessionStorage', 'self']) {
    if (name in globalThis) continue;
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get() {
        touched.push({ name, stack: new Error().stack });
        return undefined;
      },
    });
  }
  const calls = { fetch: 0, wasm: 0, channels: 0 };
  const realFetch = globalThis.fetch;
  globalThis.fetch = (...args) => {
    calls.fetch++;
    return realFetch(...args);
  };
  for (const k of ['instantiate', 'instantiateStreaming', 'compile', 'compileStreaming']) {
    const real = WebAssembly[k];
    if (typeof real !== 'function') continue;
    WebAssembly[k] = (...args) => {
      calls.wasm++;
      return real.apply(WebAssembly, args);
    };
  }
  const RealChannel = globalThis.BroadcastChannel;
  globalThis.BroadcastChannel = class extends RealChannel {
    constructor(name) {
      super(name);
      calls.channels++;
    }
  };

  const { StrictMode, createElement: h } = await import('react');
  const { renderToString, renderToPipeableStream } = await import('react-dom/server');
  const app = await import('./app.mjs');
  const { AuthClient } = await import('authflight');

  const page = h(StrictMode, null, h(app.Page));
  const html = renderToString(page);
  const streamed = await new Promise((resolve, reject) => {
    let out = '';
    const sink = new Writable({
      write(chunk, _, done) {
        out += chunk;
        done();
      },
    });
    sink.on('finish', () => resolve(out));
    const stream = renderToPipeableStream(page, { onAllReady: () => stream.pipe(sink), onShellError: reject });
  });
  const invalid = renderToString(h(app.Guarded, { options: { nope: 1 }, attempt: 0 }));
  let outside = null;
  try {
    renderToString(h(app.Outside));
  } catch (e) {
    outside = String(e && e.message);
  }
  // `new AuthClient()` before `init()` is refused: so nothing above ran init().
  let construct = null;
  try {
    new AuthClient({ refreshUrl: 'http://127.0.0.1:9/api/auth/token/refresh/', crossTab: false }).free();
  } catch (e) {
    construct = { name: e.name, code: e.code };
  }
  const ours = touched.filter((t) => /node_modules[\\/]authflight[\\/]/.test(t.stack));
  console.log(
    JSON.stringify({ html, streamed, invalid, outside, construct, renders: app.probe.renders, calls, touched: ours }),
  );
} else if (mode === 'cache') {
  const { getAuthClient } = await import('authflight/react');
  // No page here: an absolute refresh URL, its origin allowed.
  const refreshUrl = 'http://127.0.0.1:9/api/auth/token/refresh/';
  const allowedOrigins = ['http://127.0.0.1:9'];
  const base = { refreshUrl, allowedOrigins, crossTab: false };
  const get = (options) => getAuthClient(options);
  const classify = () => 'refreshed';
  const hidden = { refreshUrl, allowedOrigins };
  Object.defineProperty(hidden, 'crossTab', { value: false, enumerable: false });
  Object.defineProperty(hidden, 'maxConcurrent', { value: 3, enumerable: false });
  const hidden2 = { refreshUrl, allowedOrigins };
  Object.defineProperty(hidden2, 'crossTab', { value: false, enumerable: false });

  const a = await get(base);
  const same = {
    reordered: (await get({ crossTab: false, allowedOrigins, refreshUrl })) === a,
    samePromise: get({ ...base }) === get({ ...base }),
    sameFunction: (await get({ ...base, classifyRefresh: classify })) === (await get({ ...base, classifyRefresh: classify })),
    headersByContent:
      (await get({ ...base, refreshHeaders: new Headers({ 'X-A': '1' }) })) ===
      (await get({ ...base, refreshHeaders: new Headers({ 'x-a': '1' }) })),
    mapByContent:
      (await get({ ...base, refreshHeaders: new Map([['x-a', '1'], ['x-b', '2']]) })) ===
      (await get({ ...base, refreshHeaders: new Map([['x-b', '2'], ['x-a', '1']]) })),
  };
  const different = {
    otherFunction: (await get({ ...base, classifyRefresh: () => 'refreshed' })) !== (await get({ ...base, classifyRefresh: classify })),
    otherHeaders:
      (await get({ ...base, refreshHeaders: new Headers({ 'x-a': '2' }) })) !==
      (await get({ ...base, refreshHeaders: new Headers({ 'x-a': '1' }) })),
    otherNumber: (await get({ ...base, maxConcurrent: 6 })) !== a,
    nonEnumerable: (await get(hidden)) !== (await get(hidden2)),
  };
  // An undefined unknown option is still an unknown option: never hidden behind `base`'s client.
  const undefinedTypo = await get({ ...base, nope: undefined }).then(
    () => null,
    (e) => ({ code: e.code, field: e.field }),
  );
  const bad = { ...base, nope: 1 };
  const first = get(bad);
  const e1 = await first.catch((e) => e);
  const second = get(bad);
  const e2 = await second.catch((e) => e);
  const invalid = { code: e1.code, field: e1.field, retried: second !== first, again: e2.code };
  console.log(JSON.stringify({ same, different, undefinedTypo, invalid, requests: a.stats().requests }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
