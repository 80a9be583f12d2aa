// The timeline's data: every client event folded into one lane per request and one per refresh.
// Plain mutable state outside React (1000 requests make ~6000 events in a second); subscribers
// are notified at most once per animation frame.

const OK = (s) => s >= 200 && s < 400;

export function createTimeline() {
  const t = {
    lanes: [], // in request order
    byId: new Map(), // request id -> lane
    refreshes: [], // { n, by, start, end, outcome }
    marks: [], // { time, text, tone }
    labels: [], // FIFO of labels for requests about to be sent (see label())
    counts: null,
    version: 0,
    lastEvent: 0,
  };
  const listeners = new Set();
  let scheduled = false;

  function reset() {
    t.lanes = [];
    t.byId = new Map();
    t.refreshes = [];
    t.marks = [];
    t.counts = { requests: 0, ok: 0, failed: 0, inFlight: 0, waiting: 0, authFailures: 0, replayed: 0 };
    t.lastEvent = 0;
    changed();
  }

  function changed() {
    t.version++;
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      listeners.forEach((f) => f());
    });
  }

  /** Folds one AuthClient event in (the argument of `api.on('*', ...)`). */
  function event(ev) {
    const c = t.counts;
    let lane = t.byId.get(ev.request);
    t.lastEvent = Math.max(t.lastEvent, ev.time);
    switch (ev.type) {
      case 'sent':
        lane = { id: ev.request, label: t.labels.shift() ?? '', sent: ev.time, fail: null, queued: null, replayed: null, settled: null };
        t.byId.set(ev.request, lane);
        t.lanes.push(lane);
        c.requests++;
        c.inFlight++;
        break;
      case 'auth_failure':
        if (!lane) return;
        lane.fail = ev.time;
        lane.failStatus = ev.status;
        c.authFailures++;
        c.waiting++;
        break;
      case 'queued':
        if (!lane) return;
        lane.queued = ev.time;
        lane.refresh = ev.refresh;
        break;
      case 'refresh_started':
        t.refreshes.push({ n: ev.refresh, by: ev.request, start: ev.time, end: null, outcome: null });
        break;
      case 'refresh_ended': {
        const r = t.refreshes.find((x) => x.n === ev.refresh);
        if (r) Object.assign(r, { end: ev.time, outcome: ev.outcome });
        break;
      }
      case 'replayed':
        if (!lane) return;
        lane.replayed = ev.time;
        c.waiting--;
        c.replayed++;
        break;
      case 'settled':
        if (!lane) return;
        lane.settled = ev.time;
        lane.status = ev.status;
        lane.error = ev.error;
        lane.ok = !ev.error && OK(ev.status);
        if (lane.fail != null && lane.replayed == null) c.waiting--;
        c.inFlight--;
        if (lane.ok) c.ok++;
        else c.failed++;
        break;
      case 'session_expired':
        t.marks.push({ time: ev.time, text: 'session expired', tone: 'bad' });
        break;
      case 'logged_in':
        t.marks.push({ time: ev.time, text: 'logged in', tone: 'good' });
        break;
      default:
        return;
    }
    changed();
  }

  Object.assign(t, {
    reset,
    event,
    /** Names the next request the client will send (ids are given in call order). */
    label(text) {
      t.labels.push(text);
    },
    /** A vertical marker, e.g. for a control the user pressed. */
    mark(text, tone = 'info') {
      t.marks.push({ time: performance.now(), text, tone });
      changed();
    },
    subscribe(f) {
      listeners.add(f);
      return () => listeners.delete(f);
    },
    active() {
      return t.counts.inFlight > 0 || t.refreshes.some((r) => r.end == null);
    },
  });
  reset();
  return t;
}
