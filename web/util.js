// util.js - what every part of the viewer uses: the page size, the debounce
// delay, the severity levels and the time presets; h() and put() that build
// and replace elements (text is never HTML; defined in dom.js, passed on
// here), the severity badge, debounce,
// and times shown and typed in the browser's time zone.
//
// Not here: any state of the page (state.js) or anything that talks to
// traild (api.js).

import { h, put } from './dom.js';

export { h, put };

export const PAGE = 100;
export const DEBOUNCE_MS = 350;
export const LEVELS = [
  [1, 'TRACE'],
  [2, 'DEBUG'],
  [3, 'INFO'],
  [4, 'NOTICE'],
  [6, 'WARNING'],
  [7, 'ERROR'],
  [8, 'CRITICAL'],
  [9, 'ALERT'],
  [10, 'EMERGENCY'],
];
export const SEV_NUM = Object.fromEntries(LEVELS.map(([n, s]) => [s, n]));
export const SEV_NAME = Object.fromEntries(LEVELS);
const PRESETS = {
  '15m': 'Last 15 minutes',
  '1h': 'Last hour',
  '6h': 'Last 6 hours',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
};
export const UNIT_MS = { s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 };

export const $ = (id) => document.getElementById(id);

export function sevBadge(sev, name) {
  return h('span', { class: 'sev sev-' + sev }, name || SEV_NAME[sev] || String(sev));
}

export function debounce(fn, ms) {
  let t = 0;
  const d = (...a) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...a), ms);
  };
  d.now = (...a) => {
    clearTimeout(t);
    fn(...a);
  };
  return d;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** localTime - "2026-11-25 14:03:07.123" in the browser's time zone. */
export function localTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return iso || '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** timeParts - localTime split so that a phone can drop the year and the milliseconds. */
export function timeParts(iso) {
  const t = localTime(iso);
  if (t.length < 23) return [t];
  return [h('span', { class: 'y' }, t.slice(0, 5)), t.slice(5, 19), h('span', { class: 'ms' }, t.slice(19))];
}

export function toLocalInput(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fromLocalInput(v) {
  if (!v) return '';
  const d = new Date(v);
  return isNaN(d) ? '' : d.toISOString().replace('.000Z', 'Z');
}
