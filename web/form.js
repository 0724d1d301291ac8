// form.js - the search form: the time presets and custom range, the
// severity range, the where chips, and the event field's completion of ids and
// families (auth_*) from the catalog; the form is written from the state and
// read back into it.
//
// Not here: running the search (search.js), the form's event handlers
// (app.js, init).

import { LEVELS, SEV_NUM, SEV_NAME, $, h, put, sevBadge, toLocalInput, fromLocalInput } from './util.js';
import { state, orderOf } from './state.js';
import { catalog } from './catalog.js';
import { showError, resolveTime, search } from './search.js';
import { setLiveButton } from './live.js';

export function fillSeveritySelects() {
  for (const [id, any] of [
    ['q-sev-min', 'any'],
    ['q-sev-max', 'any'],
  ]) {
    const s = $(id);
    put(s, h('option', { value: '' }, any), ...LEVELS.map(([n, name]) => h('option', { value: String(n) }, name)));
  }
  const cs = $('cat-sev');
  for (const [n, name] of LEVELS) cs.append(h('option', { value: String(n) }, name));
}

function levelOf(text) {
  const t = text.trim().toUpperCase();
  if (/^\d+$/.test(t)) return Number(t);
  return SEV_NUM[t] || 0;
}

/** parseSeverity - the severity filter as [min, max] levels (0: open). */
function parseSeverity(s) {
  s = (s || '').trim();
  let m;
  if ((m = s.match(/^(.+)\.\.(.+)$/))) return [levelOf(m[1]), levelOf(m[2])];
  if ((m = s.match(/^>=(.+)$/))) return [levelOf(m[1]), 0];
  if ((m = s.match(/^<=(.+)$/))) return [0, levelOf(m[1])];
  if ((m = s.match(/^>(.+)$/))) {
    const l = levelOf(m[1]);
    const next = LEVELS.find(([n]) => n > l);
    return [next ? next[0] : 11, 0];
  }
  if ((m = s.match(/^<(.+)$/))) {
    const l = levelOf(m[1]);
    const prev = [...LEVELS].reverse().find(([n]) => n < l);
    return [0, prev ? prev[0] : 0];
  }
  if ((m = s.match(/^=?(.+)$/))) {
    const l = levelOf(m[1]);
    return [l, l];
  }
  return [0, 0];
}

function severityText(min, max) {
  if (min && max) return min === max ? SEV_NAME[min] : `${SEV_NAME[min]}..${SEV_NAME[max]}`;
  if (min) return '>=' + SEV_NAME[min];
  if (max) return '<=' + SEV_NAME[max];
  return '';
}

function presetOf() {
  if (!state.since && !state.until) return 'all';
  if (!state.until && /^\d+[smhdw]$/.test(state.since)) return state.since;
  return 'custom';
}

export function writeForm() {
  $('q-text').value = state.text;
  $('q-event').value = state.events.join(' ');
  const preset = presetOf();
  const sel = $('q-preset');
  if (preset !== 'all' && preset !== 'custom' && !sel.querySelector(`option[value="${preset}"]`))
    sel.insertBefore(h('option', { value: preset }, 'Last ' + preset), sel.querySelector('option[value="all"]'));
  sel.value = preset;
  $('custom-range').hidden = preset !== 'custom';
  if (preset === 'custom') {
    $('q-since').value = state.since ? toLocalInput(resolveTime(state.since, Date.now())) : '';
    $('q-until').value = state.until ? toLocalInput(resolveTime(state.until, Date.now())) : '';
  }
  const [min, max] = parseSeverity(state.severity);
  $('q-sev-min').value = min ? String(min) : '';
  $('q-sev-max').value = max ? String(max) : '';
  $('q-order').value = state.order;
  renderChips();
  setLiveButton();
}

export function readForm() {
  state.text = $('q-text').value.trim();
  state.events = $('q-event')
    .value.split(/[\s,]+/)
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const preset = $('q-preset').value;
  $('custom-range').hidden = preset !== 'custom';
  if (preset === 'all') {
    state.since = '';
    state.until = '';
  } else if (preset === 'custom') {
    state.since = fromLocalInput($('q-since').value);
    state.until = fromLocalInput($('q-until').value);
  } else {
    state.since = preset;
    state.until = '';
  }
  state.severity = severityText(Number($('q-sev-min').value) || 0, Number($('q-sev-max').value) || 0);
  state.order = orderOf($('q-order').value);
}

function renderChips() {
  const box = $('where-chips');
  box.querySelectorAll('.chip').forEach((c) => c.remove());
  const wrap = box.querySelector('.suggest-wrap');
  state.where.forEach((w, i) => {
    box.insertBefore(
      h(
        'span',
        { class: 'chip', title: w },
        w,
        h('button', { type: 'button', 'aria-label': 'remove ' + w, onclick: () => removeWhere(i) }, '×'),
      ),
      wrap,
    );
  });
}

export function removeWhere(i) {
  state.where.splice(i, 1);
  renderChips();
  search();
}

export function addWhere(text) {
  const t = text.trim();
  if (!t) return false;
  if (!/^[A-Za-z0-9_.-]+(=|!=|\^=)/.test(t)) {
    showError(`"${t}" is not a condition: key=value, key!=value, key^=prefix or ip=CIDR`);
    return false;
  }
  if (!state.where.includes(t)) state.where.push(t);
  renderChips();
  return true;
}

// event glob completion: ids and families (auth_*, auth_entrypoints_*) from the catalog
let suggestItems = [];
export let suggestIndex = -1;

export function globMatch(glob, s) {
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const j = glob.indexOf(']', i + 1);
      if (j < 0) re += '\\[';
      else {
        let set = glob.slice(i + 1, j).replace(/\\/g, '\\\\');
        if (set[0] === '!') set = '^' + set.slice(1);
        re += '[' + set + ']';
        i = j;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  try {
    return new RegExp(re + '$').test(s);
  } catch {
    return false;
  }
}

function families() {
  if (families.cache) return families.cache;
  const count = new Map();
  for (const e of catalog.events) {
    const parts = e.id.split('_');
    for (let n = 1; n < Math.min(parts.length, 4); n++) {
      const f = parts.slice(0, n).join('_') + '_*';
      count.set(f, (count.get(f) || 0) + 1);
    }
  }
  families.cache = [...count.entries()].filter(([, n]) => n > 1);
  return families.cache;
}

export function updateSuggest() {
  const input = $('q-event');
  const list = $('event-suggest');
  if (!catalog || document.activeElement !== input) return closeSuggest();
  const before = input.value.slice(0, input.selectionStart);
  const token = (before.match(/[^\s,]*$/) || [''])[0].toLowerCase();
  const items = [];
  if (/[*?[]/.test(token)) {
    const hits = catalog.events.filter((e) => globMatch(token, e.id));
    items.push({ value: token, label: token, desc: `${hits.length} events`, glob: true });
    for (const e of hits.slice(0, 12)) items.push({ value: e.id, label: e.id, sev: e.severity, desc: e.description });
  } else {
    for (const [f, n] of families())
      if (f.startsWith(token) && (token.length > 0 || f.split('_').length === 2))
        items.push({ value: f, label: f, desc: `${n} events`, glob: true });
    items.sort((a, b) => a.value.length - b.value.length);
    items.splice(6);
    const starts = catalog.events.filter((e) => e.id.startsWith(token));
    const within = token ? catalog.events.filter((e) => !e.id.startsWith(token) && e.id.includes(token)) : [];
    for (const e of [...starts, ...within].slice(0, 14 - items.length))
      items.push({ value: e.id, label: e.id, sev: e.severity, desc: e.description });
  }
  suggestItems = items;
  suggestIndex = -1;
  if (!items.length) return closeSuggest();
  put(
    list,
    ...items.map((it, i) =>
      h(
        'li',
        {
          role: 'option',
          id: 'sugg-' + i,
          'aria-selected': 'false',
          onmousedown: (e) => (e.preventDefault(), acceptSuggest(i)),
        },
        it.sev ? sevBadge(it.sev) : h('span', { class: 'tag' }, 'glob'),
        h('code', {}, it.label),
        h('span', { class: 'desc' }, it.desc || ''),
      ),
    ),
  );
  list.hidden = false;
  input.setAttribute('aria-expanded', 'true');
}

export function closeSuggest() {
  $('event-suggest').hidden = true;
  $('q-event').setAttribute('aria-expanded', 'false');
  suggestIndex = -1;
}

export function moveSuggest(d) {
  const lis = $('event-suggest').children;
  if (!lis.length) return;
  suggestIndex = (suggestIndex + d + lis.length) % lis.length;
  [...lis].forEach((li, i) => li.setAttribute('aria-selected', i === suggestIndex ? 'true' : 'false'));
  lis[suggestIndex].scrollIntoView({ block: 'nearest' });
  $('q-event').setAttribute('aria-activedescendant', 'sugg-' + suggestIndex);
}

export function acceptSuggest(i) {
  const input = $('q-event');
  const it = suggestItems[i];
  if (!it) return;
  const pos = input.selectionStart;
  const before = input.value.slice(0, pos).replace(/[^\s,]*$/, '');
  const after = input.value.slice(pos).replace(/^[^\s,]*/, '');
  input.value = before + it.value + (after.startsWith(' ') ? after : ' ' + after.trimStart());
  const caret = before.length + it.value.length + 1;
  input.setSelectionRange(caret, caret);
  closeSuggest();
  readForm();
  search();
}
