// catalog-browser.js - the catalog view: the events traild knows, filtered by
// id, description, attribute and severity, and one event's definition with
// its attributes and a link that searches for it.
//
// Not here: loading the catalog (catalog.js).

import { $, h, put, sevBadge } from './util.js';
import { state } from './state.js';
import { catalog, catalogById, loadCatalog } from './catalog.js';
import { globMatch } from './form.js';
import { search } from './search.js';

function catMatches(e, q, sev) {
  if (sev && e.severity !== sev) return false;
  if (!q) return true;
  if (/[*?[]/.test(q)) return globMatch(q, e.id);
  const hay = (e.id + ' ' + e.description + ' ' + (e.attrs || []).map((a) => a.key).join(' ')).toLowerCase();
  return q
    .toLowerCase()
    .split(/\s+/)
    .every((w) => hay.includes(w));
}

export async function showCatalog() {
  $('cat-q').value = state.catQ;
  let c;
  try {
    c = await loadCatalog();
  } catch (e) {
    put($('cat-detail'), h('p', { class: 'error' }, 'catalog: ' + e.message));
    return;
  }
  const sev = Number($('cat-sev').value) || 0;
  const list = c.events.filter((e) => catMatches(e, state.catQ, sev));
  const custom = c.events.filter((e) => e.custom).length;
  $('cat-count').textContent =
    `${list.length} of ${c.events.length} events (${c.events.length - custom} built in, ${custom} custom) · policy ${c.policy}`;
  put(
    $('cat-list'),
    ...list.map((e) =>
      h(
        'li',
        {},
        h(
          'a',
          {
            href: '?view=catalog&id=' + encodeURIComponent(e.id),
            'data-id': e.id,
            class: 'catlink',
            'aria-current': e.id === state.catId ? 'true' : 'false',
          },
          sevBadge(e.severity, e.severity_name),
          h('code', {}, e.id),
          e.custom ? h('span', { class: 'tag' }, 'custom') : null,
        ),
      ),
    ),
  );
  const cur = $('cat-list').querySelector('a[aria-current="true"]');
  if (cur) cur.scrollIntoView({ block: 'nearest' });
  renderCatalogEntry(catalogById.get(state.catId));
}

function renderCatalogEntry(e) {
  const box = $('cat-detail');
  if (!e) {
    put(
      box,
      h(
        'p',
        { class: 'muted' },
        state.catId
          ? `no event ${state.catId} in the catalog`
          : 'Choose an event to see its description and attributes.',
      ),
    );
    return;
  }
  const attrs = (e.attrs || []).map((a) =>
    h(
      'tr',
      {},
      h('th', {}, a.key),
      h(
        'td',
        {},
        a.type,
        a.required ? ', required' : ', optional',
        a.indexed ? ', indexed' : '',
        a.values ? h('div', { class: 'muted' }, 'values: ' + a.values.join(', ')) : null,
        a.doc ? h('div', { class: 'muted' }, a.doc) : null,
      ),
    ),
  );
  const searchHref = '?' + new URLSearchParams({ event: e.id }).toString();
  put(
    box,
    h('h2', { id: 'cat-title' }, e.id),
    h(
      'p',
      {},
      sevBadge(e.severity, e.severity_name),
      ' ',
      h('span', { class: 'muted' }, `severity ${e.severity}`),
      e.custom ? h('span', { class: 'tag' }, 'custom') : null,
    ),
    h('p', { class: 'desc', id: 'cat-desc' }, e.description),
    e.note ? h('p', { class: 'note' }, e.note) : null,
    h('h3', {}, 'Attributes'),
    attrs.length
      ? h('table', { class: 'kv', id: 'cat-attrs' }, h('tbody', {}, attrs))
      : h('p', { class: 'muted' }, 'none declared'),
    h('p', {}, h('a', { href: searchHref, id: 'cat-search', class: 'searchlink' }, `search ${e.id} events →`)),
  );
}
