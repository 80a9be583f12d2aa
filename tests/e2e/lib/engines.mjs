// One browser of the engine the tests ask for, behind one small page API, so a suite written for
// Chromium runs in Firefox and WebKit too. AUTHFLIGHT_ENGINE=chromium (default) | firefox | webkit.
//
//   const browser = await launchEngine();      // or launchEngine('webkit')
//   const page = await browser.newPage();      // a tab of the same browser: one cookie jar,
//   await page.goto(url);                      // Web Locks and BroadcastChannel for all its tabs
//   await page.waitForFunction(() => window.ready === true);
//   const r = await page.evaluate(([a, b]) => T.burst(a, b), [25, 'x']);  // awaits a returned promise
//   page.on('pageerror', (e) => ...);           // uncaught errors of the page
//   await page.close();
//   await browser.clearCookies({ name: 'access' });   // HttpOnly ones too
//   await browser.close();
//
// - chromium: lib/browser.mjs as every other suite uses it (playwright-core, /usr/bin/chromium); the
//   pages are playwright's own (exposeFunction, framenavigated, CDP are there).
// - firefox: puppeteer-core over WebDriver BiDi with /usr/bin/firefox-esr, headless, a fresh profile.
//   Each page is its own window, so none is a background tab (Firefox clamps timers in background
//   tabs to 1 s, which Chromium's headless pages never see).
// - webkit: WebKitGTK's classic WebDriver (/usr/bin/WebKitWebDriver, driving MiniBrowser) through
//   selenium-webdriver. MiniBrowser needs a display: $DISPLAY if set, else an Xvfb started here (on
//   the first free display) and stopped by close(). Pages are window handles of one session; a
//   classic session runs one command at a time, so evaluate() starts the function in the page, then
//   polls for its result in short slices (other pages' commands run in between: functions that start
//   on an absolute time, like T.at, start together). Uncaught errors are read from
//   window.__pageErrors, which the test pages collect (pages/hooks.js).
//
// `browser.features` says what an engine's pages can do beyond the common API: { exposeFunction,
// navigationEvents, cdp }; tests skip what needs a missing one, with the reason.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser } from './browser.mjs';
import { freePort, killGroup } from './server.mjs';

export const ENGINES = ['chromium', 'firefox', 'webkit'];
export const ENGINE = process.env.AUTHFLIGHT_ENGINE || 'chromium';
if (!ENGINES.includes(ENGINE)) throw new Error(`AUTHFLIGHT_ENGINE=${ENGINE}: one of ${ENGINES.join(', ')}`);

export const FIREFOX = process.env.AUTHFLIGHT_FIREFOX || '/usr/bin/firefox-esr';
export const WEBKIT_DRIVER = process.env.AUTHFLIGHT_WEBKIT_DRIVER || '/usr/bin/WebKitWebDriver';
export const MINIBROWSER = process.env.AUTHFLIGHT_MINIBROWSER || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

/** The longest one WebDriver command may take (a page's `evaluate` is many short commands). */
const COMMAND_MS = 30_000;
/** Firefox: the longest one BiDi command may take (an `evaluate` is one: the suites' take ≤ 15 s). */
const PROTOCOL_MS = 45_000;

/** The longest a WebKit session may take to start. */
const LAUNCH_MS = 60_000;
/** The longest a page function may take to settle (the suites' take ≤ 15 s): then it fails. */
const PAGE_MS = 30_000;

/**
 * Runs in the page: the function `src` (its source) applied to `arg`, rejected if it has not
 * settled within `ms`. A promise that never settles is the page's failure, not a driver's.
 */
function settle(src, arg, ms) {
  const f = (0, eval)(`(${src})`);
  return Promise.race([
    Promise.resolve().then(() => f(arg)),
    new Promise((_, fail) => setTimeout(() => fail(new Error(`the page function did not settle within ${ms} ms`)), ms)),
  ]);
}

/**
 * Whether `e` says the browser or its driver stopped answering (a command past its deadline), as
 * opposed to a page or an assertion failing: the suite may relaunch the engine and say so.
 */
export function isWedged(e) {
  return !!e && (e.wedged === true || (e.name === 'ProtocolError' && /timed out/i.test(e.message)));
}
/** The longest closing a browser may take before its processes are killed. */
const CLOSE_MS = 15_000;

/** `p`, or a rejection with `onLate()`'s error (or null: a plain timeout) after `ms`. */
export function deadline(p, ms, onLate = () => null) {
  let timer;
  const late = new Promise((_, fail) => {
    timer = setTimeout(() => fail(onLate() || new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Launches `engine`; resolves to { engine, features, newPage(), clearCookies({ name }), close() }. */
export async function launchEngine(engine = ENGINE) {
  if (engine === 'chromium') return chromium();
  if (engine === 'firefox') return firefox();
  if (engine === 'webkit') return webkit();
  throw new Error(`unknown engine ${engine}`);
}

async function chromium() {
  const b = await launchBrowser();
  return {
    engine: 'chromium',
    features: { exposeFunction: true, navigationEvents: true, cdp: true },
    context: b.context,
    newPage: () => b.newPage(),
    clearCookies: (filter) => b.context.clearCookies(filter),
    close: () => b.close(),
  };
}

// ---------------------------------------------------------------------------------------------
// Firefox: puppeteer-core over WebDriver BiDi.

async function firefox() {
  const { default: puppeteer } = await import('puppeteer-core');
  const userDataDir = mkdtempSync(join(tmpdir(), 'authflight-firefox-'));
  let browser;
  try {
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX,
      headless: true,
      userDataDir,
      protocolTimeout: PROTOCOL_MS,
      extraPrefsFirefox: {
        // Nothing of the test's own traffic goes elsewhere: no updates, telemetry, safe browsing.
        'app.update.enabled': false,
        'browser.safebrowsing.malware.enabled': false,
        'browser.safebrowsing.phishing.enabled': false,
        'datareporting.policy.dataSubmissionEnabled': false,
        'toolkit.telemetry.enabled': false,
        'network.captive-portal-service.enabled': false,
        'network.connectivity-service.enabled': false,
      },
    });
  } catch (e) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw e;
  }
  let closed = false;
  return {
    engine: 'firefox',
    features: { exposeFunction: true, navigationEvents: true, cdp: false },
    puppeteer: browser,
    async newPage() {
      const page = await browser.newPage({ type: 'window' });
      return puppeteerPage(page);
    },
    clearCookies: ({ name }) => browser.deleteMatchingCookies({ name }),
    async close() {
      if (closed) return;
      closed = true;
      // puppeteer starts Firefox in a process group of its own: a wedged one goes with all of it.
      await deadline(browser.close(), CLOSE_MS).catch(() => {
        const child = browser.process();
        if (child) killGroup(child, 'SIGKILL');
      });
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** A puppeteer page with playwright's argument order for waitForFunction and goto's `commit`. */
function puppeteerPage(page) {
  return {
    raw: page,
    goto: (url, { waitUntil = 'load' } = {}) =>
      page.goto(url, { waitUntil: waitUntil === 'commit' ? 'domcontentloaded' : waitUntil }),
    evaluate: (fn, arg) => page.evaluate(settle, String(fn), arg, PAGE_MS),
    waitForFunction: (fn, arg, { timeout = 30_000 } = {}) => page.waitForFunction(fn, { polling: 50, timeout }, arg),
    exposeFunction: (name, fn) => page.exposeFunction(name, fn),
    mainFrame: () => page.mainFrame(),
    on(event, handler) {
      page.on(event, handler);
      return this;
    },
    close: () => page.close(),
  };
}

// ---------------------------------------------------------------------------------------------
// WebKit: WebKitWebDriver (classic WebDriver) + MiniBrowser, through selenium-webdriver.


/** Starts `Xvfb -displayfd` (the server picks a free display); resolves to { display, stop() }. */
async function startXvfb() {
  const child = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    detached: true,
  });
  track(child);
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  const display = await new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`Xvfb gave no display in 10 s: ${err}`)), 10_000);
    child.stdio[3].on('data', (c) => {
      out += c;
      if (out.includes('\n')) {
        clearTimeout(timer);
        ok(`:${out.trim()}`);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`Xvfb exited (${code}): ${err}`));
    });
  });
  return { display, stop: () => killTree(child) };
}

/** SIGTERM to `child`'s process group; SIGKILL to what is left of it once it exits, or after 3 s. */
function killTree(child) {
  const kill = (signal) => killGroup(child, signal);
  kill('SIGTERM');
  return new Promise((ok) => {
    const done = () => {
      clearTimeout(t);
      kill('SIGKILL');
      ok();
    };
    const t = setTimeout(done, 3000);
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', done);
  });
}

/** The detached processes started here (Xvfb, WebKitWebDriver), killed with their groups on exit. */
const children = new Set();
function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
}
process.once('exit', () => {
  for (const c of children) killGroup(c, 'SIGKILL');
});

async function webkit() {
  const { Builder } = await import('selenium-webdriver');
  const stops = [];
  // Each step bounded: a wedged driver's quit() must not keep the suite from ending (the processes
  // are killed after it either way).
  const cleanup = async () => {
    for (const s of stops.reverse()) await deadline(s(), CLOSE_MS, () => null).catch(() => {});
    stops.length = 0;
  };
  try {
    let display = process.env.DISPLAY;
    if (!display) {
      const x = await startXvfb();
      display = x.display;
      stops.push(x.stop);
    }
    const port = await freePort();
    const driverProc = spawn(WEBKIT_DRIVER, [`--port=${port}`], {
      env: { ...process.env, DISPLAY: display },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    track(driverProc);
    let driverErr = '';
    driverProc.stderr.on('data', (c) => (driverErr = (driverErr + c).slice(-4000)));
    stops.push(() => killTree(driverProc));
    for (let i = 0; ; i++) {
      if (driverProc.exitCode !== null) throw new Error(`WebKitWebDriver exited: ${driverErr}`);
      const up = await fetch(`http://127.0.0.1:${port}/status`).then((r) => r.ok, () => false);
      if (up) break;
      if (i > 100) throw new Error(`WebKitWebDriver did not answer on ${port}: ${driverErr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const session = new Builder()
      .usingServer(`http://127.0.0.1:${port}`)
      .withCapabilities({
        browserName: 'MiniBrowser',
        // navigate() returns at once: pages that reload themselves (storm.html) never finish a
        // "load"; every test waits for its own readiness (window.ready) instead.
        pageLoadStrategy: 'none',
        'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
      })
      .build();
    const driver = await deadline(session, LAUNCH_MS, () => new Error(`WebKitWebDriver started no session within ${LAUNCH_MS} ms`));
    stops.push(() => driver.quit());
    const home = await deadline(
      driver
        .manage()
        .setTimeouts({ script: 60_000, pageLoad: 60_000 })
        .then(() => driver.getWindowHandle()),
      COMMAND_MS,
      () => new Error(`WebKitWebDriver did not answer its first commands within ${COMMAND_MS} ms`),
    );
    return webdriverBrowser(driver, home, cleanup);
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/**
 * Pages over one classic WebDriver session. Every command runs through `run` (one at a time),
 * switching to its page's window first. The first window (about:blank) stays open, so closing
 * every page never ends the session.
 */
function webdriverBrowser(driver, home, cleanup) {
  let chain = Promise.resolve();
  let current = home;
  // selenium-webdriver has no deadline of its own: a wedged MiniBrowser would leave a command (and
  // every one queued behind it) waiting forever. Past COMMAND_MS the command fails, and so does
  // every later one: the browser is reported wedged instead of hanging the suite.
  let wedged = null;
  // WebKitWebDriver sometimes answers the command after a page reloaded itself (storm.html) with
  // that page's "Callback was not called before the unload event": a command that only reads (or
  // switches windows) is sent again; one that acts is not (`resend: false`: it starts a page
  // function, opens or closes a window).
  const stale = (e) => e?.name === 'NoSuchFrameError' && /unload/.test(e.message);
  const again = (f, resend) => f().catch((e) => {
    if (!resend || !stale(e)) throw e;
    return f();
  });
  const once = async (handle, f, resend) => {
    if (handle && handle !== current) {
      await again(() => driver.switchTo().window(handle), true);
      current = handle;
    }
    return again(f, resend);
  };
  const run = (handle, f, { resend = true } = {}) => {
    const next = chain.then(() => {
      if (wedged) throw wedged;
      return deadline(
        once(handle, f, resend),
        COMMAND_MS,
        () => (wedged = Object.assign(new Error(`WebKitWebDriver did not answer a command within ${COMMAND_MS} ms: the browser is wedged`), { wedged: true })),
      );
    });
    chain = next.catch(() => {});
    return next;
  };
  const pages = new Set();
  let seq = 0;
  let closed = false;

  function newWebdriverPage(handle) {
    const handlers = { pageerror: [] };
    let open = true;
    const report = (errors) => {
      for (const m of errors || []) for (const h of handlers.pageerror) h(new Error(m));
    };
    const page = {
      handle,
      async goto(url) {
        await run(handle, () => driver.get(url));
      },
      /** fn(arg) in the page; a returned promise is awaited (in slices, see the top of the file). */
      async evaluate(fn, arg) {
        const id = ++seq;
        const until = Date.now() + PAGE_MS + COMMAND_MS;
        await run(
          handle,
          () =>
            driver.executeScript(
            `const id = arguments[0], arg = arguments[1];
             const jobs = (window.__wd ||= {});
             jobs[id] = { done: false };
             (${settle})(${JSON.stringify(String(fn))}, arg, ${PAGE_MS}).then(
               (v) => Object.assign(jobs[id], { done: true, v: v === undefined ? null : v }),
               (e) => Object.assign(jobs[id], { done: true, e: e instanceof Error ? e.message + '\\n' + e.stack : String(e) }));
             return 1;`,
            id,
            arg === undefined ? null : arg,
          ),
          { resend: false },
        );
        for (;;) {
          if (Date.now() > until) throw new Error(`evaluate: no result within ${PAGE_MS + COMMAND_MS} ms`);
          const r = await run(handle, () =>
            driver.executeAsyncScript(
              `const id = arguments[0], done = arguments[arguments.length - 1];
               const errors = (window.__pageErrors || []).splice(0);
               const job = window.__wd && window.__wd[id];
               if (!job) return done({ lost: true, errors });
               const finish = () => {
                 if (!job.done) return false;
                 delete window.__wd[id];
                 done({ job, errors });
                 return true;
               };
               if (finish()) return;
               const t0 = Date.now();
               (function poll() {
                 if (finish()) return;
                 if (Date.now() - t0 > 150) return done({ pending: true, errors });
                 setTimeout(poll, 10);
               })();`,
              id,
            ),
          );
          report(r.errors);
          if (r.lost) throw new Error('evaluate: the page navigated away before the function settled');
          if (r.pending) continue;
          if ('e' in r.job) throw new Error(`evaluate in page: ${r.job.e}`);
          return r.job.v;
        }
      },
      async waitForFunction(fn, arg, { timeout = 30_000 } = {}) {
        const deadline = Date.now() + timeout;
        for (;;) {
          const r = await run(handle, () =>
            driver.executeScript(
              `const errors = (window.__pageErrors || []).splice(0);
               let v = false;
               try { v = (${fn})(arguments[0]); } catch (e) { v = false; }
               return { v: !!v, errors };`,
              arg === undefined ? null : arg,
            ),
          );
          report(r.errors);
          if (r.v) return true;
          if (Date.now() > deadline) throw new Error(`waitForFunction timed out after ${timeout} ms: ${fn}`);
          await new Promise((ok) => setTimeout(ok, 50));
        }
      },
      on(event, handler) {
        (handlers[event] ||= []).push(handler);
        return page;
      },
      async close() {
        if (!open) return;
        open = false;
        pages.delete(page);
        await run(
          handle,
          async () => {
            await driver.close();
            current = null;
          },
          { resend: false },
        );
      },
    };
    return page;
  }

  return {
    engine: 'webkit',
    features: { exposeFunction: false, navigationEvents: false, cdp: false },
    driver,
    async newPage() {
      const handle = await run(
        home,
        async () => {
          await driver.switchTo().newWindow('window');
          current = await driver.getWindowHandle();
          return current;
        },
        { resend: false },
      );
      const page = newWebdriverPage(handle);
      pages.add(page);
      return page;
    },
    /** Cookies of the pages' origin (a page must be open on it): WebDriver's Delete Cookie. */
    async clearCookies({ name }) {
      const page = [...pages].at(-1);
      if (!page) throw new Error('clearCookies: no open page on the origin');
      await run(page.handle, () => driver.manage().deleteCookie(name));
    },
    async close() {
      if (closed) return;
      closed = true;
      await deadline(chain.catch(() => {}), CLOSE_MS, () => null).catch(() => {});
      await cleanup();
    },
  };
}
