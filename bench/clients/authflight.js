// authflight as shipped: the release build in pkg/ (wasm + wasm-bindgen glue), default options.
import init, { AuthClient } from '../../pkg/authflight.js';

export const name = 'authflight';

export async function create({ refreshUrl }) {
  const t0 = performance.now();
  const wasm = await init();
  const t1 = performance.now();
  const client = new AuthClient({ refreshUrl });
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
