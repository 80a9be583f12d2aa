// The live timeline, drawn on a <canvas>: one lane per request (sent → 401 → waiting → replayed →
// settled), one per refresh, and markers. Redrawn only in animation frames where something changed
// (or a request is still running), so 1000 lanes stay fluid; React never renders per event.
import { useEffect, useRef } from 'react';

export const COLORS = {
  flight: '#4f8cff',
  wait: '#f5b942',
  replay: '#2fd4a3',
  fail: '#ff5c7a',
  refresh: '#9b7bff',
};
const INK = { text: '#d5dcf5', dim: '#6f7897', faint: '#3a4262', grid: 'rgba(148,163,220,0.08)', hover: 'rgba(255,255,255,0.06)' };
const FONT = '11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
const AXIS_H = 26;
const REFRESH_H = 22;
const FEW = 32; // up to this many lanes: tall lanes with labels

function niceStep(span, target) {
  const raw = span / target;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
}

function geometry(t, width, now) {
  const n = t.lanes.length;
  const few = n <= FEW;
  const gutter = few ? 210 : 82;
  const right = few ? 150 : 18;
  const rows = Math.max(1, t.refreshes.length);
  const refreshH = rows <= 3 ? REFRESH_H : Math.max(6, (3 * REFRESH_H) / rows);
  const refreshTop = AXIS_H + 6;
  const laneTop = refreshTop + rows * refreshH + 12;
  const laneArea = n === 0 ? 110 : few ? n * 18 : 520;
  const laneH = n === 0 ? 18 : laneArea / n;
  const height = laneTop + laneArea + 10;

  let t0 = Infinity;
  let t1 = -Infinity;
  for (const l of t.lanes) {
    t0 = Math.min(t0, l.sent);
    t1 = Math.max(t1, l.settled ?? now);
  }
  for (const r of t.refreshes) {
    t0 = Math.min(t0, r.start);
    t1 = Math.max(t1, r.end ?? now);
  }
  if (t0 === Infinity) [t0, t1] = [now - 1000, now];
  const span = Math.max(t1 - t0, 40) * 1.02;
  const plot = width - gutter - right;
  const x = (time) => gutter + ((time - t0) / span) * plot;
  return { n, few, gutter, right, refreshTop, refreshH, laneTop, laneH, height, t0, span, plot, x };
}

function laneText(l) {
  if (l.settled == null) return l.fail != null ? (l.replayed != null ? 'replaying' : 'waiting') : 'in flight';
  const ms = Math.round(l.settled - l.sent);
  return `${l.error ?? l.status} · ${ms} ms`;
}

export function describeLane(l) {
  const rel = (time) => `+${Math.round(time - l.sent)} ms`;
  const parts = [`#${l.id} ${l.label}`];
  if (l.fail != null) parts.push(`${l.failStatus} at ${rel(l.fail)}`);
  if (l.refresh != null) parts.push(`waited on refresh #${l.refresh}`);
  if (l.replayed != null) parts.push(`replayed at ${rel(l.replayed)}`);
  parts.push(l.settled != null ? `settled ${l.error ?? l.status} at ${rel(l.settled)}` : 'running…');
  return parts.join(' · ');
}

function draw(ctx, t, g, width, now, hover) {
  const { few, gutter, refreshTop, refreshH, laneTop, laneH, height, t0, span, x } = g;
  ctx.clearRect(0, 0, width, height);
  ctx.font = FONT;
  ctx.textBaseline = 'middle';

  // Time grid and axis.
  const step = niceStep(span, Math.max(3, Math.floor(g.plot / 110)));
  ctx.fillStyle = INK.dim;
  ctx.textAlign = 'center';
  for (let s = 0; s <= span; s += step) {
    const px = Math.round(x(t0 + s)) + 0.5;
    ctx.fillStyle = INK.grid;
    ctx.fillRect(px, AXIS_H - 4, 1, height - AXIS_H);
    ctx.fillStyle = INK.dim;
    ctx.fillText(s >= 1000 && step >= 100 ? `${(s / 1000).toFixed(step >= 1000 ? 0 : 1)} s` : `${Math.round(s)} ms`, px, 12);
  }

  // Refresh lanes, and a band over the request lanes while each refresh was in flight.
  ctx.textAlign = 'left';
  t.refreshes.forEach((r, i) => {
    const y = refreshTop + i * refreshH;
    const x0 = x(r.start);
    const x1 = Math.max(x(r.end ?? now), x0 + 3);
    const tone = r.outcome == null || r.outcome === 'refreshed' ? COLORS.refresh : COLORS.fail;
    ctx.fillStyle = tone + '1f';
    ctx.fillRect(x0, laneTop - 6, x1 - x0, height - laneTop);
    ctx.fillStyle = tone;
    ctx.fillRect(x0, laneTop - 6, 1, height - laneTop);
    ctx.fillRect(x1 - 1, laneTop - 6, 1, height - laneTop);
    roundRect(ctx, x0, y + 2, x1 - x0, refreshH - 5, Math.min(5, (refreshH - 5) / 2));
    ctx.fill();
    if (refreshH >= 16) {
      const ms = Math.round((r.end ?? now) - r.start);
      ctx.fillStyle = INK.text;
      ctx.fillText(`${r.outcome ?? 'in flight'} · ${ms} ms`, x1 + 6, y + refreshH / 2 - 1);
      ctx.fillStyle = INK.dim;
      ctx.textAlign = 'right';
      ctx.fillText(`refresh #${r.n}`, gutter - 10, y + refreshH / 2 - 1);
      ctx.textAlign = 'left';
    }
  });
  if (!t.refreshes.length) {
    ctx.fillStyle = INK.faint;
    ctx.textAlign = 'right';
    ctx.fillText('refresh', gutter - 10, refreshTop + refreshH / 2 - 1);
    ctx.textAlign = 'left';
    ctx.fillText('no refresh yet', gutter, refreshTop + refreshH / 2 - 1);
  }

  if (!t.lanes.length) {
    ctx.fillStyle = INK.dim;
    ctx.textAlign = 'center';
    ctx.fillText('No requests yet: fire a burst, or reload the panels.', gutter + g.plot / 2, laneTop + 50);
    ctx.textAlign = 'left';
  }

  // Request lanes.
  const h = laneH >= 3 ? Math.max(2, laneH * 0.62) : laneH + 0.35;
  const off = (laneH - h) / 2;
  const seg = (color, a, b, y) => {
    ctx.fillStyle = color;
    ctx.fillRect(a, y, Math.max(b - a, 1), h);
  };
  for (let i = 0; i < t.lanes.length; i++) {
    const l = t.lanes[i];
    const y = laneTop + i * laneH + off;
    if (i === hover) {
      ctx.fillStyle = INK.hover;
      ctx.fillRect(0, laneTop + i * laneH, width, Math.max(laneH, 1));
    }
    const end = l.settled ?? now;
    const xs = x(l.sent);
    const xf = l.fail != null ? x(l.fail) : null;
    const xr = l.replayed != null ? x(l.replayed) : null;
    const xe = x(end);
    seg(COLORS.flight, xs, xf ?? xe, y);
    if (xf != null) seg(COLORS.wait, xf, xr ?? xe, y);
    if (xr != null) seg(COLORS.replay, xr, xe, y);
    if (l.settled != null && !l.ok) seg(COLORS.fail, xe - 3, xe, y);
    if (few) {
      if (xf != null) seg(COLORS.fail, xf - 1, xf + 1, y);
      ctx.fillStyle = i === hover ? INK.text : INK.dim;
      ctx.textAlign = 'right';
      ctx.fillText(clip(ctx, `#${l.id} ${l.label}`, gutter - 18), gutter - 10, y + h / 2);
      ctx.textAlign = 'left';
      ctx.fillStyle = l.settled != null && !l.ok ? COLORS.fail : INK.dim;
      ctx.fillText(laneText(l), xe + 6, y + h / 2);
    }
  }
  if (!few) {
    ctx.fillStyle = INK.dim;
    ctx.textAlign = 'right';
    const every = niceStep(t.lanes.length, 8);
    for (let i = 0; i < t.lanes.length; i += every) {
      ctx.fillText(`#${t.lanes[i].id}`, gutter - 10, laneTop + i * laneH + 5);
    }
    ctx.textAlign = 'left';
  }

  // Markers (controls pressed, session expired, logged in) inside the visible range.
  for (const m of t.marks) {
    const px = Math.round(x(m.time)) + 0.5;
    if (px < gutter - 2 || px > width - 4) continue;
    const color = m.tone === 'bad' ? COLORS.fail : m.tone === 'good' ? COLORS.replay : '#8fa2d8';
    ctx.fillStyle = color;
    for (let y = AXIS_H; y < height; y += 6) ctx.fillRect(px, y, 1, 3);
    ctx.textAlign = px > width - 140 ? 'right' : 'left';
    ctx.fillText(m.text, px + (ctx.textAlign === 'right' ? -5 : 5), AXIS_H - 2);
    ctx.textAlign = 'left';
  }
}

function clip(ctx, text, max) {
  if (ctx.measureText(text).width <= max) return text;
  while (text.length > 1 && ctx.measureText(text + '…').width > max) text = text.slice(0, -1);
  return text + '…';
}

function roundRect(ctx, x, y, w, h, r) {
  ctx.beginPath();
  if (ctx.roundRect) ctx.roundRect(x, y, w, h, r);
  else ctx.rect(x, y, w, h);
}

export function Timeline({ store }) {
  const wrapRef = useRef(null);
  const canvasRef = useRef(null);
  const tipRef = useRef(null);

  useEffect(() => {
    const wrap = wrapRef.current;
    const canvas = canvasRef.current;
    const tip = tipRef.current;
    const ctx = canvas.getContext('2d');
    let width = wrap.clientWidth;
    let drawn = -1;
    let hover = -1;
    let drawnHover = -1;
    let geo = null;
    let raf = 0;

    const frame = () => {
      raf = requestAnimationFrame(frame);
      if (drawn === store.version && hover === drawnHover && !store.active()) return;
      drawn = store.version;
      drawnHover = hover;
      const now = performance.now();
      geo = geometry(store, width, now);
      const dpr = window.devicePixelRatio || 1;
      if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(geo.height * dpr)) {
        canvas.width = Math.round(width * dpr);
        canvas.height = Math.round(geo.height * dpr);
        canvas.style.height = `${geo.height}px`;
      }
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      draw(ctx, store, geo, width, now, hover);
    };
    raf = requestAnimationFrame(frame);

    const resized = new ResizeObserver(() => {
      width = wrap.clientWidth;
      drawn = -1;
    });
    resized.observe(wrap);

    const move = (e) => {
      if (!geo) return;
      const r = canvas.getBoundingClientRect();
      const y = e.clientY - r.top;
      const i = Math.floor((y - geo.laneTop) / geo.laneH);
      hover = i >= 0 && i < store.lanes.length ? i : -1;
      if (hover < 0) {
        tip.hidden = true;
        return;
      }
      tip.hidden = false;
      tip.textContent = describeLane(store.lanes[hover]);
      tip.style.top = `${Math.min(y + 14, geo.height - 24)}px`;
    };
    const leave = () => {
      hover = -1;
      tip.hidden = true;
    };
    canvas.addEventListener('mousemove', move);
    canvas.addEventListener('mouseleave', leave);
    return () => {
      cancelAnimationFrame(raf);
      resized.disconnect();
      canvas.removeEventListener('mousemove', move);
      canvas.removeEventListener('mouseleave', leave);
    };
  }, [store]);

  return (
    <div className="timeline-canvas" ref={wrapRef}>
      <canvas ref={canvasRef} data-testid="timeline-canvas" />
      <div className="timeline-tip" ref={tipRef} hidden />
    </div>
  );
}
