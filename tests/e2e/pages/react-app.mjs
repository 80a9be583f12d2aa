// The React tree of tests/e2e/react.test.mjs, shared by its server render (react-node.mjs, in
// Node) and its browser bundle (react-main.mjs), so the page hydrates exactly what the server
// rendered. Plain createElement (no JSX): Node runs it as is. The test copies it next to a
// fixture node_modules (the package copied as a registry install would put it, React linked), so
// 'authflight/react' and 'react' resolve as they do in an app. Each root renders these inside
// <StrictMode> at its top, as apps do: React double-runs the mount effects of a newly placed
// subtree only when the top of that subtree is already inside StrictMode.
import { Component, createElement as h, useEffect } from 'react';
import { AuthProvider, useAuthClient, useAuthEvent, useSessionExpired } from 'authflight/react';

export const OPTIONS = { refreshUrl: '/api/auth/token/refresh/' };

/** What the components saw; the test reads it as window.probe. */
export const probe = { renders: 0, mounts: 0, clients: new Set(), refreshStarted: 0, expiredCalls: 0, bursts: [] };

export const fallback = h('p', { id: 'fallback' }, 'Loading authflight…');

/** Uses every hook once and shows what they say. */
function Probe() {
  const api = useAuthClient();
  probe.renders++;
  probe.clients.add(api);
  useAuthEvent('refresh_started', () => probe.refreshStarted++);
  const expired = useSessionExpired(() => probe.expiredCalls++);
  useEffect(() => {
    probe.mounts++;
  }, []);
  return h('p', { id: 'app', 'data-expired': String(expired) }, 'app ready');
}

/** The page: a provider whose options are an inline literal (new every render), and the probe. */
export function Page() {
  return h(AuthProvider, { options: { ...OPTIONS }, fallback }, h(Probe));
}

/** Fires `n` requests from a mount effect (StrictMode runs it twice: 2n requests). */
function Burst({ n, run }) {
  const api = useAuthClient();
  useEffect(() => {
    const one = (i) =>
      api.fetch(`/api/ping/?run=${run}&i=${i}&r=${Math.random()}`, { cache: 'no-store' }).then(
        (res) => res.status,
        (e) => (e && e.code) || String(e),
      );
    Promise.all(Array.from({ length: n }, (_, i) => one(i))).then((statuses) => probe.bursts.push(statuses));
  }, [api, n, run]);
  return h('p', { className: 'burst' }, 'burst');
}

export function BurstPage({ n, run }) {
  return h(AuthProvider, { options: { ...OPTIONS }, fallback }, h(Burst, { n, run }));
}

/** Shows the error it caught (name, code, field, message) in place of its children. */
export class Boundary extends Component {
  constructor(props) {
    super(props);
    this.state = { error: null };
  }

  static getDerivedStateFromError(error) {
    return { error };
  }

  render() {
    const e = this.state.error;
    if (!e) return this.props.children;
    return h(
      'p',
      { className: 'caught', 'data-name': String(e.name), 'data-code': String(e.code ?? ''), 'data-field': String(e.field ?? '') },
      String(e.message),
    );
  }
}

function Ready() {
  useAuthClient();
  return h('p', { className: 'ready' }, 'ready');
}

/** A provider for `options` inside an error boundary (remounted when `attempt` changes). */
export function Guarded({ options, attempt }) {
  return h(Boundary, { key: attempt }, h(AuthProvider, { options, fallback }, h(Ready)));
}

/** useAuthClient() with no provider above, inside an error boundary. */
export function Outside() {
  return h(Boundary, null, h(Ready));
}
