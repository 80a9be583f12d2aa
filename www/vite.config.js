import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

// `authflight` is a `file:../pkg` dependency, which npm installs as a symlink to the repo's pkg/,
// so every build bundles the pkg/ that scripts/build-pkg.sh produced last (no copy to go stale).
const pkgDir = fileURLToPath(new URL('../pkg', import.meta.url));
const api = `http://127.0.0.1:${process.env.AUTHFLIGHT_PORT || 8000}`;

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  // Only for `npm run dev`: the Vite dev server answers files outside www/ with 403 unless allowed,
  // and proxies the API so the page and the cookies stay on one origin (use http://127.0.0.1:5173).
  server: {
    host: '127.0.0.1',
    fs: { allow: ['.', pkgDir] },
    proxy: { '/api': api },
  },
});
