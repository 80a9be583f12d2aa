// Small statistics and formatting helpers for the report.

export function summary(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const q = (p) => {
    const i = (v.length - 1) * p;
    const lo = Math.floor(i), hi = Math.ceil(i);
    return v[lo] + (v[hi] - v[lo]) * (i - lo);
  };
  return { n: v.length, median: q(0.5), min: v[0], max: v[v.length - 1], q1: q(0.25), q3: q(0.75) };
}

export function fmt(x, digits = 1) {
  if (x === null || x === undefined || Number.isNaN(x)) return 'n/a';
  return x.toFixed(digits);
}

/** "median [min–max]" with `digits` decimals and an optional unit. */
export function fmtSummary(s, digits = 1, unit = '') {
  if (!s) return 'n/a';
  if (s.n === 1) return `${fmt(s.median, digits)}${unit}`;
  return `${fmt(s.median, digits)}${unit} [${fmt(s.min, digits)}–${fmt(s.max, digits)}]`;
}

/** Integer counts over repetitions: "1" when all equal, else "median [min–max]". */
export function fmtCounts(xs) {
  const s = summary(xs);
  if (!s) return 'n/a';
  if (s.min === s.max) return String(s.min);
  return `${s.median} [${s.min}–${s.max}]`;
}

export const kb = (bytes) => bytes / 1000;
