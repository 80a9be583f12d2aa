import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

// `authflight` is a `file:../pkg` dependency, which npm installs as a symlink to the repo's pkg/,
// so every build bundles the pkg/ that scripts/build-pkg.sh produced last (no copy to go stale).
const pkgDir = fileURLToPath(new URL('../pkg', import.meta.url));
const api = `http://127.0.0.1:${process.env.AUTHFLIGHT_PORT || 8000}`;

export default defineConfig({
  plugins: [react()],
  // The link's target (pkg/) has no node_modules: authflight/react's `import 'react'` must resolve
  // to www's React (one copy of React on the page). An install from the registry or a tarball
  // needs none of this.
  resolve: { dedupe: ['react', 'react-dom'] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  // Only for `npm run dev`: the Vite dev server answers files outside www/ with 403 unless allowed,
  // and proxies the API so the page and the cookies stay on one origin (use http://127.0.0.1:5173).
  server: {
    host: '127.0.0.1',
    fs: { allow: ['.', pkgDir] },
    proxy: { '/api': api },
  },
});
