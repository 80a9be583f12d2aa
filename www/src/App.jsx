import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { isAuthError } from 'authflight';
import { useAuthClient, useAuthEvent, useSessionExpired } from 'authflight/react';
import { createTimeline } from './timeline.js';
import { COLORS, Timeline } from './Timeline.jsx';

const DEMO_USER = { username: 'demo', password: 'demo-password-123' };
const BURST_SIZES = [10, 50, 100, 250, 500, 1000];
const timeline = createTimeline();

// ---------------------------------------------------------------- small helpers

/** The test backend's own endpoints (no auth, no CSRF): sent with plain fetch, not through authflight. */
async function testApi(path, body) {
  const res = await fetch(`/api/test/${path}/`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  });
  if (!res.ok) throw new Error(`/api/test/${path}/ answered ${res.status}`);
  return res.json();
}

function errorText(e) {
  return isAuthError(e) ? `${e.code}${e.status ? ` (${e.status})` : ''}` : String(e?.message ?? e);
}

/** `api.fetch`, with a label for the request's timeline lane. */
function useTrackedFetch() {
  const api = useAuthClient();
  return useCallback(
    (url, init) => {
      timeline.label(`${init?.method ? `${init.method} ` : ''}${url.replace(/&run=\w+/, '')}`);
      return api.fetch(url, init);
    },
    [api],
  );
}

/** Re-renders at most once per animation frame while the timeline changes. */
function useTimelineVersion() {
  return useSyncExternalStore(timeline.subscribe, () => timeline.version);
}

/** The server's counters, polled, minus a baseline taken when a run starts. */
function useServerStats() {
  const [stats, setStats] = useState(null);
  const base = useRef(null);
  const refresh = useCallback(async () => {
    try {
      const s = await testApi('stats');
      base.current ??= s;
      setStats(s);
      return s;
    } catch {
      return null;
    }
  }, []);
  const rebase = useCallback(async () => {
    base.current = null;
    await refresh();
  }, [refresh]);
  useEffect(() => {
    refresh();
    const timer = setInterval(refresh, 1000);
    return () => clearInterval(timer);
  }, [refresh]);
  const run = (key) => (stats && base.current ? stats[key] - base.current[key] : 0);
  return { stats, run, refresh, rebase };
}

// ---------------------------------------------------------------- the app

export function App() {
  const api = useAuthClient();
  const tracked = useTrackedFetch();
  const [phase, setPhase] = useState('boot'); // boot | login | dashboard
  const [user, setUser] = useState(null);
  const [message, setMessage] = useState(null);
  const phaseRef = useRef(phase);
  phaseRef.current = phase;

  useAuthEvent('*', timeline.event);
  useEffect(() => {
    window.authflightDemo = { api, timeline }; // for the console and e2e tests
  }, [api]);

  useSessionExpired(() => {
    if (phaseRef.current === 'boot') return; // first visit, no session yet: not worth a message
    setPhase('login');
    setMessage('Your session has expired: the server rejected the refresh token. Please sign in again.');
  });

  // Resume a session the cookies still hold (another tab, a reload), else show the login form.
  const resume = useCallback(
    () =>
      tracked('/api/me/')
        .then(async (res) => {
          if (!res.ok) throw new Error(String(res.status));
          setUser((await res.json()).username);
          setMessage(null);
          setPhase('dashboard');
        })
        .catch(() => setPhase('login')),
    [tracked],
  );
  const booted = useRef(false);
  useEffect(() => {
    if (booted.current) return; // StrictMode runs effects twice in development
    booted.current = true;
    resume();
  }, [resume]);

  // A login in another tab reaches this one too (the client broadcasts it): follow it.
  useAuthEvent('logged_in', () => {
    if (phaseRef.current === 'login') resume();
  });

  const loggedIn = (name) => {
    phaseRef.current = 'dashboard'; // our own logged_in event must not trigger resume()
    api.markLoggedIn();
    setUser(name);
    setMessage(null);
    setPhase('dashboard');
  };

  return (
    <div className="page">
      <header className="top">
        <div className="brand">
          <span className="logo" aria-hidden>
            <svg viewBox="0 0 32 32" width="26" height="26">
              <path d="M5 22h6l5-13 5 13h6" stroke="currentColor" strokeWidth="3" fill="none" strokeLinecap="round" strokeLinejoin="round" />
            </svg>
          </span>
          <div>
            <h1>authflight</h1>
            <p>Many requests hit a 401 at once: exactly one token refresh, every waiting request replayed.</p>
          </div>
        </div>
        <div className={`session is-${phase}`} data-testid="session-state">
          {phase === 'dashboard' ? `signed in as ${user}` : phase === 'login' ? 'signed out' : 'starting…'}
        </div>
      </header>

      {phase === 'login' && <Login message={message} onLoggedIn={loggedIn} />}
      {phase === 'dashboard' && <Dashboard user={user} />}
      {phase !== 'dashboard' && <TimelineCard server={null} />}
    </div>
  );
}

// ---------------------------------------------------------------- login

function Login({ message, onLoggedIn }) {
  const [form, setForm] = useState(DEMO_USER);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await fetch('/api/auth/login/', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(form),
      });
      if (res.ok) return onLoggedIn(form.username);
      const body = await res.json().catch(() => ({}));
      setError(body.non_field_errors?.[0] ?? body.detail ?? `Login failed (${res.status})`);
    } catch (err) {
      setError(`Network error: ${err.message}`);
    }
    setBusy(false);
  };

  return (
    <main className="login-wrap">
      <form className="card login" onSubmit={submit} data-testid="login-form">
        <h2>Sign in</h2>
        {message && (
          <p className="alert" role="alert" data-testid="login-message">
            {message}
          </p>
        )}
        <p className="muted">
          The seeded demo user is filled in: <code>{DEMO_USER.username}</code> / <code>{DEMO_USER.password}</code>
        </p>
        <label>
          Username
          <input value={form.username} autoComplete="username" onChange={(e) => setForm({ ...form, username: e.target.value })} />
        </label>
        <label>
          Password
          <input
            type="password"
            value={form.password}
            autoComplete="current-password"
            onChange={(e) => setForm({ ...form, password: e.target.value })}
          />
        </label>
        {error && <p className="alert soft">{error}</p>}
        <button className="primary" disabled={busy} data-testid="login-submit">
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="muted small">
          POST <code>/api/auth/login/</code> sets HttpOnly <code>access</code> and <code>refresh</code> cookies; then{' '}
          <code>api.markLoggedIn()</code>.
        </p>
      </form>
    </main>
  );
}

// ---------------------------------------------------------------- dashboard

const PANELS = [
  { key: 'me', title: 'Profile', url: '/api/me/', show: (d) => d.username },
  { key: 'items', title: 'Items', url: '/api/items/', show: (d) => `${d.count} item${d.count === 1 ? '' : 's'}` },
  { key: 'orders', title: 'Orders', url: '/api/ping/?panel=orders&delay_ms=80', show: () => 'up to date' },
  { key: 'alerts', title: 'Alerts', url: '/api/ping/?panel=alerts&delay_ms=140', show: () => 'none' },
];

function Dashboard() {
  const tracked = useTrackedFetch();
  const server = useServerStats();
  const [panels, setPanels] = useState({});
  const [notice, setNotice] = useState(null);
  const [burst, setBurst] = useState(null);
  const [size, setSize] = useState(50);
  const [expireFirst, setExpireFirst] = useState(true);
  const [lowPriority, setLowPriority] = useState(false);

  const loadPanels = useCallback(async () => {
    setPanels((p) => Object.fromEntries(PANELS.map(({ key }) => [key, { ...p[key], loading: true }])));
    await Promise.all(
      PANELS.map(async ({ key, url, show }) => {
        const t0 = performance.now();
        let state;
        try {
          const res = await tracked(url);
          const data = await res.json().catch(() => ({}));
          state = { status: res.status, text: res.ok ? show(data) : `HTTP ${res.status}`, ok: res.ok, items: data.items };
        } catch (e) {
          state = { text: errorText(e), ok: false };
        }
        setPanels((p) => ({ ...p, [key]: { ...state, ms: Math.round(performance.now() - t0) } }));
      }),
    );
    server.refresh();
  }, [tracked, server.refresh]);

  const loaded = useRef(false);
  useEffect(() => {
    if (loaded.current) return; // StrictMode runs effects twice in development
    loaded.current = true;
    loadPanels();
  }, [loadPanels]);

  const act = async (label, fn, tone) => {
    try {
      setNotice({ text: await fn(), tone });
      if (label) timeline.mark(label);
    } catch (e) {
      setNotice({ text: errorText(e), tone: 'bad' });
    }
    server.refresh();
  };

  const expire = () =>
    act('access expired', async () => {
      await testApi('expire-access', {});
      return 'Every access token issued so far is now rejected: the next request gets a 401 and triggers one refresh.';
    });

  const fire = async () => {
    const n = size;
    setBurst({ n, state: 'running' });
    timeline.reset();
    await server.rebase();
    if (expireFirst) {
      await testApi('expire-access', {});
      timeline.mark('access expired');
    }
    const run = Math.random().toString(36).slice(2, 8);
    const t0 = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: n }, (_, i) =>
        tracked(`/api/ping/?i=${i + 1}&run=${run}`, lowPriority ? { priority: 'low' } : undefined),
      ),
    );
    const ms = Math.round(performance.now() - t0);
    const errors = {};
    let ok = 0;
    for (const r of results) {
      if (r.status === 'fulfilled' && r.value.ok) ok++;
      else {
        const why = r.status === 'fulfilled' ? `HTTP ${r.value.status}` : errorText(r.reason);
        errors[why] = (errors[why] ?? 0) + 1;
      }
    }
    await server.refresh();
    const refreshes = timeline.refreshes.length;
    const replayed = timeline.lanes.filter((l) => l.replayed != null).length;
    setBurst({ n, ok, failed: n - ok, errors, ms, refreshes, replayed, state: 'done' });
  };

  const postItems = () =>
    act('POST ×3', async () => {
      const names = ['apples', 'pears', 'plums'].map((f) => `${f}-${Math.floor(Math.random() * 1000)}`);
      const res = await Promise.all(
        names.map((name) =>
          tracked('/api/items/', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name }) }),
        ),
      );
      await loadPanels();
      return `POSTed ${names.join(', ')}: ${res.map((r) => r.status).join(' ')}. Bodies are replayed too if a 401 interrupts them.`;
    });

  const breakRefresh = () =>
    act('next refresh breaks', async () => {
      await testApi('fault', { kind: '500', count: 1 });
      return 'The next refresh will get a 500. Fire a burst: the waiting requests fail with refresh_failed, but you stay signed in, and the burst after that refreshes normally.';
    }, 'warn');

  const invalidate = () =>
    act('refresh revoked', async () => {
      await testApi('invalidate-refresh', {});
      return 'Every refresh token is blacklisted. Fire a burst (with "expire access first"): the refresh is rejected and you are sent back to the login form.';
    }, 'warn');

  const reset = () =>
    act(null, async () => {
      await testApi('reset', {});
      timeline.reset();
      setBurst(null);
      await server.rebase();
      return 'Server counters, faults and items reset; timeline cleared.';
    });

  return (
    <>
      <section className="panels">
        {PANELS.map(({ key, title, url }) => {
          const p = panels[key] ?? { loading: true };
          return (
            <article className={`card panel ${p.loading ? 'loading' : p.ok ? 'ok' : 'bad'}`} key={key} data-testid={`panel-${key}`}>
              <header>
                <h3>{title}</h3>
                <span className="badge">{p.loading ? '…' : p.status ?? 'error'}</span>
              </header>
              <p className="value">{p.loading ? 'loading…' : p.text}</p>
              {key === 'items' && p.items?.length > 0 && (
                <p className="muted small">{p.items.slice(-3).map((i) => i.name).join(', ')}</p>
              )}
              <p className="muted small mono">
                {url}
                {p.ms != null && !p.loading && ` · ${p.ms} ms`}
              </p>
            </article>
          );
        })}
      </section>

      <section className="workbench">
        <aside className="card controls">
          <h2>Try it</h2>
          <div className="fire">
            <label className="row">
              <span>Burst of</span>
              <select value={size} onChange={(e) => setSize(Number(e.target.value))} data-testid="burst-size">
                {BURST_SIZES.map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
              <span>concurrent requests</span>
            </label>
            <label className="row check">
              <input type="checkbox" checked={expireFirst} onChange={(e) => setExpireFirst(e.target.checked)} data-testid="expire-first" />
              <span>expire the access token first</span>
            </label>
            <label className="row check" title="Chromium sends at most 6 requests at a time per host (HTTP/1.1); the refresh waits behind the burst unless the burst has a lower priority">
              <input type="checkbox" checked={lowPriority} onChange={(e) => setLowPriority(e.target.checked)} data-testid="low-priority" />
              <span>
                send with <code>priority: 'low'</code>
              </span>
            </label>
            <button className="primary" onClick={fire} disabled={burst?.state === 'running'} data-testid="fire">
              {burst?.state === 'running' ? `Firing ${burst.n}…` : `Fire ${size} requests`}
            </button>
            <p className="hint">
              Distinct URLs <code>/api/ping/?i=…&amp;run=…</code> through <code>api.fetch</code>. With low priority the
              refresh overtakes the burst in the browser's 6-connection queue.
            </p>
          </div>
          <Control onClick={expire} testid="expire" title="Expire access token now" hint="POST /api/test/expire-access/" />
          <Control onClick={postItems} testid="post-items" title="POST 3 items" hint="request bodies survive the replay" />
          <Control onClick={breakRefresh} testid="break-refresh" title="Break the next refresh" hint="one 500: requests fail, session stays" />
          <Control onClick={invalidate} testid="invalidate" title="Invalidate refresh token" hint="blacklists it: the session ends" tone="danger" />
          <Control onClick={() => window.open(window.location.href, '_blank')} testid="open-tab" title="Open another tab" hint="same cookies, its own client" />
          <Control onClick={loadPanels} testid="reload-panels" title="Reload panels" hint="4 concurrent requests" />
          <Control onClick={reset} testid="reset" title="Reset server counters" hint="and clear the timeline" />
          {notice && (
            <p className={`notice ${notice.tone ?? ''}`} data-testid="notice">
              {notice.text}
            </p>
          )}
        </aside>
        <TimelineCard server={server} burst={burst} />
      </section>
    </>
  );
}

function Control({ onClick, title, hint, testid, tone }) {
  return (
    <button className={`control ${tone ?? ''}`} onClick={onClick} data-testid={testid}>
      <span>{title}</span>
      <small>{hint}</small>
    </button>
  );
}

// ---------------------------------------------------------------- timeline + counters

function TimelineCard({ server, burst }) {
  useTimelineVersion();
  const api = useAuthClient();
  const c = timeline.counts;
  const s = api.stats();
  const reused = server ? server.run('refresh_reused') : null;
  return (
    <section className="card timeline">
      <header className="timeline-head">
        <div>
          <h2>Live timeline</h2>
          <p className="muted small">
            From <code>api.on('*', …)</code>: one lane per request, the refresh on top. Hover a lane for its story.
          </p>
        </div>
        <ul className="legend">
          <li style={{ '--c': COLORS.flight }}>in flight</li>
          <li style={{ '--c': COLORS.wait }}>401 → waiting for refresh</li>
          <li style={{ '--c': COLORS.replay }}>replayed</li>
          <li style={{ '--c': COLORS.refresh }}>refresh</li>
          <li style={{ '--c': COLORS.fail }}>failed</li>
        </ul>
      </header>
      {burst && (
        <p className={`summary ${burst.state}`} data-testid="burst-summary" data-state={burst.state}>
          {burst.state === 'running'
            ? `${burst.n} requests in flight…`
            : `${burst.n} requests → ${burst.ok} ok, ${burst.failed} failed${Object.entries(burst.errors)
                .map(([k, v]) => ` (${v}× ${k})`)
                .join('')} · ${burst.refreshes} refresh${burst.refreshes === 1 ? '' : 'es'} · ${burst.replayed} replayed · ${burst.ms} ms`}
        </p>
      )}
      <div
        className="timeline-body"
        data-testid="timeline"
        data-lanes={c.requests}
        data-ok={c.ok}
        data-failed={c.failed}
        data-waiting={c.waiting}
        data-refreshes={timeline.refreshes.length}
        data-refresh-outcomes={timeline.refreshes.map((r) => r.outcome ?? 'running').join(' ')}
      >
        <Timeline store={timeline} />
        <div className="counters">
          <Stat label="requests" value={c.requests} testid="count-requests" />
          <Stat label="succeeded" value={c.ok} testid="count-ok" tone="good" />
          <Stat label="failed" value={c.failed} testid="count-failed" tone={c.failed ? 'bad' : ''} />
          <Stat label="waiting on a refresh" value={c.waiting} testid="count-waiting" tone={c.waiting ? 'warn' : ''} />
          {server && (
            <>
              <Stat
                label="refreshes seen by the server"
                value={server.run('refresh_calls')}
                testid="server-refresh-calls"
                tone="accent"
                sub={server.stats && `${server.stats.refresh_calls} since reset`}
              />
              <Stat
                label="refresh tokens presented twice"
                value={reused}
                testid="server-refresh-reused"
                tone={reused ? 'bad' : 'good'}
                sub={server.stats && `${server.stats.refresh_reused} since reset · should stay 0`}
              />
            </>
          )}
          <div className="client-stats" data-testid="client-stats">
            <h4>
              <code>api.stats()</code> since page load
            </h4>
            <dl>
              {Object.entries(s).map(([k, v]) => (
                <div key={k}>
                  <dt>{k}</dt>
                  <dd data-testid={`client-${k}`}>{v}</dd>
                </div>
              ))}
            </dl>
          </div>
        </div>
      </div>
    </section>
  );
}

function Stat({ label, value, testid, tone, sub }) {
  return (
    <div className={`stat ${tone ?? ''}`}>
      <b data-testid={testid}>{value ?? '–'}</b>
      <span>{label}</span>
      {sub && <small>{sub}</small>}
    </div>
  );
}
