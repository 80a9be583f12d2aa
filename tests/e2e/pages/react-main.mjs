// The browser half of tests/e2e/react.test.mjs, bundled by esbuild (development React, so
// StrictMode double-renders and double-runs effects). It hydrates the server-rendered #root
// (unless the URL has ?manual) and gives the test window.T to mount more roots.
import { StrictMode, createElement as h } from 'react';
import { createRoot, hydrateRoot } from 'react-dom/client';
import { getAuthClient } from 'authflight/react';
import { BurstPage, Guarded, OPTIONS, Outside, Page, probe } from './app.mjs';

window.probe = probe;
window.recoverable = [];
const roots = new Map();

/** Renders `element` in <StrictMode> into the root `name` (made on first use). */
function mount(name, element) {
  let el = document.getElementById(name);
  if (!el) {
    el = document.createElement('div');
    el.id = name;
    document.body.append(el);
  }
  if (!roots.has(name)) roots.set(name, createRoot(el));
  roots.get(name).render(h(StrictMode, null, element));
}

window.T = {
  OPTIONS,
  getAuthClient,
  /** The hydrated page's client. */
  client: () => [...probe.clients][0],
  page: (name) => mount(name, h(Page)),
  burst: (name, n, run) => mount(name, h(BurstPage, { n, run })),
  guarded: (name, options, attempt) => mount(name, h(Guarded, { options, attempt })),
  outside: (name) => mount(name, h(Outside)),
  unmount(name) {
    roots.get(name)?.unmount();
    roots.delete(name);
    document.getElementById(name)?.remove();
  },
  async login() {
    const res = await fetch('/api/auth/login/', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'demo', password: 'demo-password-123' }),
    });
    if (!res.ok) throw new Error(`login answered ${res.status}`);
  },
};

if (!new URLSearchParams(location.search).has('manual')) {
  hydrateRoot(document.getElementById('root'), h(StrictMode, null, h(Page)), {
    onRecoverableError: (e) => window.recoverable.push(String((e && e.message) || e)),
  });
}
