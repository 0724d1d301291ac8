// cited.js - the search page's marks on events that an alert cites: the
// seqs in first_seqs and last_seqs of the newest alerts (trail_alert
// records, read through the normal query API with each search), and of the
// alerts that live mode brings in. A marked row links to the alert.
//
// Not here: the rows themselves (search.js), the Alerts page (detect.js).

import { getJSON } from './api.js';
import { h } from './dom.js';

// how many of the newest alerts are read for the marks: a page of them
const ALERTS = 500;

// seq -> [{seq, title, level}] of the alerts that cite it
const cited = new Map();

function seqsOf(text) {
  return String(text || '')
    .split(',')
    .map((s) => Number(s))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** noteAlert - remember the seqs an alert record cites; true when it is one. */
export function noteAlert(ev) {
  if (!ev || ev.id !== 'trail_alert' || ev.origin !== 'trail') return false;
  const a = ev.attrs || {};
  const by = { seq: ev.seq, title: a.title || a.rule || 'alert', level: a.level || 'medium' };
  for (const s of [...seqsOf(a.first_seqs), ...seqsOf(a.last_seqs)]) {
    const list = cited.get(s) || [];
    if (!list.some((x) => x.seq === by.seq)) list.push(by);
    cited.set(s, list);
  }
  return true;
}

/** loadCited - read the newest alerts again; resolves to false when they could not be read. */
export async function loadCited(signal) {
  let res;
  try {
    res = await getJSON(`/v1/events?event=trail_alert&limit=${ALERTS}`, { signal });
  } catch (e) {
    return false; // no marks is better than an error over the results
  }
  cited.clear();
  for (const ev of res.events || []) noteAlert(ev);
  return true;
}

/** markRow - mark a result row (tr with data-seq) whose event an alert cites. */
export function markRow(tr) {
  const by = cited.get(Number(tr.dataset.seq));
  if (!by || tr.classList.contains('cited')) return;
  tr.classList.add('cited');
  const cell = tr.querySelector('.evcell');
  if (!cell) return;
  const titles = by.map((x) => `${x.title} (alert seq ${x.seq})`).join('; ');
  cell.append(
    h(
      'a',
      {
        href: './?seq=' + by[0].seq,
        class: 'cited-mark level level-' + by[0].level,
        title: 'cited by ' + titles,
        'aria-label': 'cited by an alert',
      },
      by.length > 1 ? `alert ×${by.length}` : 'alert',
    ),
  );
}

/** markRows - mark every row under root whose event an alert cites. */
export function markRows(root) {
  for (const tr of root.querySelectorAll('tr[data-seq]')) markRow(tr);
}
