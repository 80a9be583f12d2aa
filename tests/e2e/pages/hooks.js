// Loaded as a classic script before a test page's module (tab.html, storm.html), so it runs before
// any of the page's own code, in every engine (no driver's init-script hook needed):
// - collects the page's uncaught errors and unhandled rejections in window.__pageErrors, for
//   drivers with no page-error event (classic WebDriver: tests/e2e/lib/engines.mjs reads them);
// - `?disable=locks`, `?disable=bc` or `?disable=locks,bc` removes Web Locks (navigator.locks)
//   and/or BroadcastChannel, as in browsers without them: the library's fallback paths.
// window.__disabled says what is gone: { locks, bc } (true: absent), for the test to check.
(() => {
  const errors = (window.__pageErrors = []);
  addEventListener('error', (e) => errors.push(String(e.message || e.error)));
  addEventListener('unhandledrejection', (e) => errors.push(`unhandled rejection: ${(e.reason && e.reason.stack) || e.reason}`));
  const off = (new URLSearchParams(location.search).get('disable') || '').split(',').filter(Boolean);
  for (const what of off) {
    if (what === 'locks') {
      // [SecureContext] accessor on Navigator.prototype; an own property would shadow nothing.
      delete Navigator.prototype.locks;
      if ('locks' in navigator) Object.defineProperty(navigator, 'locks', { value: undefined, configurable: true });
    } else if (what === 'bc') {
      delete globalThis.BroadcastChannel;
      if ('BroadcastChannel' in globalThis) globalThis.BroadcastChannel = undefined;
    } else {
      errors.push(`hooks.js: unknown ?disable=${what}`);
    }
  }
  window.__disabled = { locks: !navigator.locks, bc: typeof BroadcastChannel !== 'function' };
})();
