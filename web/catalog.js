// catalog.js - the event catalog from /v1/catalog, loaded once (again after a
// login) and shared: the attribute keys offered in the where field, and each
// event's attribute definitions (types, descriptions) by id.
//
// Not here: the catalog browser view (catalog-browser.js), the event field's
// completion (form.js).

import { getJSON } from './api.js';
import { $, h, put } from './util.js';

export let catalog = null;
export let catalogById = new Map();
let catalogLoading = null;

/** forgetCatalog - after a login: the next loadCatalog() asks traild again. */
export function forgetCatalog() {
  catalogLoading = null;
}

export function loadCatalog() {
  if (!catalogLoading) {
    catalogLoading = getJSON('/v1/catalog')
      .then((c) => {
        catalog = c;
        catalogById = new Map(c.events.map((e) => [e.id, e]));
        const keys = new Set();
        for (const e of c.events) for (const a of e.attrs || []) keys.add(a.key);
        const dl = $('attr-keys');
        put(dl, ...[...keys].sort().map((k) => h('option', { value: k + '=' })));
        return c;
      })
      .catch((e) => {
        catalogLoading = null;
        throw e;
      });
  }
  return catalogLoading;
}

export function attrDef(eventId, key) {
  const d = catalogById.get(eventId);
  return d && (d.attrs || []).find((a) => a.key === key);
}
