// authflight as shipped: the release build in pkg/ (the JS entry, its glue and the wasm core), default options.
import init, { AuthClient } from '../../pkg/authflight.js';

export const name = 'authflight';

/** A bench client over `new AuthClient({ refreshUrl, ...extra })`. */
export async function createWith(extra, { refreshUrl }) {
  const t0 = performance.now();
  const wasm = await init();
  const t1 = performance.now();
  const client = new AuthClient({ refreshUrl, ...extra });
  const t2 = performance.now();
  return {
    client,
    startup: { initMs: t1 - t0, constructMs: t2 - t1 },
    // The export names are shortened in the release build: find the memory by its type.
    wasmMemoryBytes: () => Object.values(wasm).find((v) => v instanceof WebAssembly.Memory).buffer.byteLength,
    async get(url) {
      const res = await client.fetch(url);
      await res.json();
      return res.status;
    },
  };
}

export const create = (opts) => createWith({}, opts);
