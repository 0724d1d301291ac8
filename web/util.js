// util.js - what every part of the viewer uses: the page size, the debounce
// delay, the severity levels and the time presets; h() and put() that build
// and replace elements (text is never HTML; defined in dom.js, passed on
// here), the severity badge, debounce,
// and times shown and typed in UTC or the browser's zone (the switch).
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

// Times are shown in UTC or in the browser's zone, as the switch in the
// header says (remembered in localStorage), always in 24 hours and always
// with their zone: "2026-11-25 14:03:07.123 UTC", "... +01:00".
const TZ_KEY = 'trail.tz';
let tzMode = 'local';
try {
  tzMode = localStorage.getItem(TZ_KEY) === 'utc' ? 'utc' : 'local';
} catch {
  /* storage refused: local time, not remembered */
}
const tzListeners = [];

/** getTz - 'utc' or 'local': the zone times are shown in. */
export function getTz() {
  return tzMode;
}

/** setTz - show times in mode ('utc' or 'local') from now on, remember it, and redraw every time shown. */
export function setTz(mode) {
  tzMode = mode === 'utc' ? 'utc' : 'local';
  try {
    localStorage.setItem(TZ_KEY, tzMode);
  } catch {
    /* not remembered */
  }
  document.documentElement.dataset.tz = tzMode;
  for (const el of document.querySelectorAll('[data-t]')) {
    if (el.dataset.parts !== undefined) put(el, ...timeParts(el.dataset.t));
    else el.textContent = fmtTime(el.dataset.t);
  }
  for (const fn of tzListeners) fn(tzMode);
}

/** onTz - fn(mode) after every switch (the histogram redraws its labels). */
export function onTz(fn) {
  tzListeners.push(fn);
}

/** tzName - the zone of the times shown: "UTC", or the browser's ("Europe/Stockholm"). */
export function tzName() {
  if (tzMode === 'utc') return 'UTC';
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local';
  } catch {
    return 'local';
  }
}

/** timeFields - the wall clock of ms (a Date's value) in the zone shown, with the zone: "UTC" or "+01:00". */
export function timeFields(ms) {
  const d = new Date(ms);
  const utc = tzMode === 'utc';
  const off = utc ? 0 : -d.getTimezoneOffset();
  const zone = utc ? 'UTC' : `${off < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return {
    y: utc ? d.getUTCFullYear() : d.getFullYear(),
    mo: pad((utc ? d.getUTCMonth() : d.getMonth()) + 1),
    d: pad(utc ? d.getUTCDate() : d.getDate()),
    hh: pad(utc ? d.getUTCHours() : d.getHours()),
    mi: pad(utc ? d.getUTCMinutes() : d.getMinutes()),
    ss: pad(utc ? d.getUTCSeconds() : d.getSeconds()),
    ms: pad(d.getMilliseconds(), 3),
    zone,
  };
}

/** fmtTime - "2026-11-25 14:03:07.123 +01:00": iso (or ms) in the zone shown, 24 hours, with the zone. */
export function fmtTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return typeof iso === 'string' ? iso : '';
  const f = timeFields(d.getTime());
  return `${f.y}-${f.mo}-${f.d} ${f.hh}:${f.mi}:${f.ss}.${f.ms} ${f.zone}`;
}

/** timeEl - a <time> showing iso as fmtTime does, redrawn when the zone is switched. */
export function timeEl(iso) {
  return h('time', { datetime: iso, 'data-t': iso }, fmtTime(iso));
}

/** timeParts - fmtTime's parts, so that a phone can drop the year and the milliseconds. */
export function timeParts(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return [iso || ''];
  const f = timeFields(d.getTime());
  return [
    h('span', { class: 'y' }, `${f.y}-`),
    `${f.mo}-${f.d} ${f.hh}:${f.mi}:${f.ss}`,
    h('span', { class: 'ms' }, `.${f.ms}`),
    h('span', { class: 'zone' }, ` ${f.zone}`),
  ];
}

/** toLocalInput - iso as a datetime-local input's value, in the zone shown. */
export function toLocalInput(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  const f = timeFields(d.getTime());
  return `${f.y}-${f.mo}-${f.d}T${f.hh}:${f.mi}:${f.ss}`;
}

/** fromLocalInput - a datetime-local input's value, read in the zone shown, as RFC 3339 UTC. */
export function fromLocalInput(v) {
  if (!v) return '';
  const d = new Date(tzMode === 'utc' ? v + 'Z' : v);
  return isNaN(d) ? '' : d.toISOString().replace('.000Z', 'Z');
}
