// export.js - the search's Export button: every event of the current search
// as a file (CSV, NDJSON or event.log lines). The page asks traild for a
// one-use link (POST /v1/events/export with the search's parameters; the
// token goes in the header, as for every request) and follows it as a
// plain download: the events go from traild's stream to the file and never
// through the page, whatever their number.
//
// Not here: the search's parameters (state.js), the stream (traild,
// daemon/http/query_http.c).

import { postJSON } from './api.js';
import { $, h } from './util.js';
import { state, filterParams } from './state.js';
import { showError } from './search.js';

/** exportSearch - download the current search in the format chosen beside the button. */
export async function exportSearch() {
  const p = filterParams();
  if (state.order !== 'newest') p.set('order', state.order);
  p.set('format', $('export-format').value);
  const btn = $('export');
  btn.disabled = true;
  try {
    const { url } = await postJSON('/v1/events/export?' + p);
    const a = h('a', { href: url, download: '', hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    showError('export: ' + e.message);
  } finally {
    btn.disabled = false;
  }
}
