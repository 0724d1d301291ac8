// selection.js - the selected row of the result list, moved by the keyboard
// (j/k), and the next page loaded when the selection nears the end.
//
// Not here: the keys themselves (app.js, onKey).

import { results, rowsEl, loadMore } from './search.js';

function rowAt(i) {
  return rowsEl().children[i] || null;
}

export function select(i, scroll = true) {
  const rows = rowsEl().children;
  if (!rows.length) return;
  i = Math.max(0, Math.min(rows.length - 1, i));
  if (results.selected >= 0 && rows[results.selected]) rows[results.selected].classList.remove('selected');
  results.selected = i;
  rows[i].classList.add('selected');
  if (scroll) rows[i].scrollIntoView({ block: 'nearest' });
  if (i > rows.length - 10) loadMore();
}

export function selectedSeq() {
  const tr = rowAt(results.selected);
  return tr ? Number(tr.dataset.seq) : null;
}
