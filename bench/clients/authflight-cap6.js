// authflight as shipped, with `maxConcurrent: 6` (the HTTP/1.1 connection count): at most 6 requests
// in flight, none sent while a refresh runs, so a burst after expiry meets only a handful of 401s.
import init, { AuthClient } from '../../pkg/authflight.js';

export const name = 'authflight (maxConcurrent 6)';

export async function create({ refreshUrl }) {
  const t0 = performance.now();
  const wasm = await init();
  const t1 = performance.now();
  const client = new AuthClient({ refreshUrl, maxConcurrent: 6 });
  const t2 = performance.now();
  return {
    client,
    startup: { initMs: t1 - t0, constructMs: t2 - t1 },
    wasmMemoryBytes: () => wasm.memory.buffer.byteLength,
    async get(url) {
      const res = await client.fetch(url);
      await res.json();
      return res.status;
    },
  };
}
