// The test pages' helpers for the Django test server at `server` (the page's ?server= query):
// plain credentialed calls (the tests' own, never through authflight), its counts, the demo login,
// a fresh expired session, and an AuthClient for it. Shared by browser.html and axios.html.
export function serverHelpers(T, AuthClient) {
  const SERVER = T.SERVER;
  T.url = (path) => SERVER + path;
  T.sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  T.check = (ok, message) => {
    if (!ok) throw new Error(message);
  };

  /** A plain credentialed fetch to the server (the test's own calls, not through authflight). */
  T.raw = (method, path, body) =>
    fetch(T.url(path), {
      method,
      credentials: 'include',
      ...(body === undefined ? {} : { body, headers: { 'Content-Type': 'application/json' } }),
    });

  /** GET /api/test/stats/: the server's own counts, now. */
  T.stats = async () => (await T.raw('GET', '/api/test/stats/')).json();

  T.login = async () => {
    const res = await T.raw('POST', '/api/auth/login/', JSON.stringify({ username: 'demo', password: 'demo-password-123' }));
    T.check(res.status === 200, `demo login: ${res.status}`);
  };

  /** POST a test endpoint with a JSON body; it must answer 200. */
  T.postTest = async (path, body = {}) => {
    const res = await T.raw('POST', path, JSON.stringify(body));
    T.check(res.status === 200, `${path}: ${res.status}`);
  };

  /** Fresh counters and a fresh logged-in session whose access token the server no longer accepts. */
  T.expiredSession = async () => {
    const reset = await T.raw('POST', '/api/test/reset/?logout=1');
    T.check(reset.status === 200, `reset: ${reset.status}`);
    await T.login();
    const expire = await T.raw('POST', '/api/test/expire-access/');
    T.check(expire.status === 200, `expire-access: ${expire.status}`);
  };

  T.client = (extra = {}) =>
    new AuthClient({ refreshUrl: T.url('/api/auth/token/refresh/'), allowedOrigins: [SERVER], ...extra });
  return T;
}
