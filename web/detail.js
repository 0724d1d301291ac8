// detail.js - the event detail: its fields and attributes (typed from the
// catalog, each a link that narrows the search), and its inclusion proof
// fetched and checked in the page against the signed checkpoint's root;
// retried while the event is not yet in a checkpoint.
//
// Not here: the proof check itself (merkle.js).

import { getBlob, getJSON } from './api.js';
import { checkProof } from './merkle.js';
import { checkSignature, originKey, verifierKey } from './note.js';
import { SEV_NAME, $, h, put, sevBadge, timeEl } from './util.js';
import { state, saveUrl } from './state.js';
import { catalogById, attrDef } from './catalog.js';
import { addWhere } from './form.js';
import { results, rowsEl, search } from './search.js';
import { select } from './selection.js';

let detailGen = 0;
let detailRetry = 0;

function section(title, ...content) {
  return [h('h3', {}, title), ...content];
}

// The relays an event came through, first hop first: "ORIGIN #SEQ INPUT@PEER PRINCIPAL > ...".
export function viaText(via) {
  if (!Array.isArray(via) || !via.length) return '';
  return via
    .map((hop) => `${hop.origin} #${hop.seq} ${hop.input}${hop.peer ? '@' + hop.peer : ''}${hop.principal ? ' ' + hop.principal : ''}`)
    .join(' > ');
}

function attrsTable(ev) {
  const a = ev.attrs || {};
  const keys = Object.keys(a).sort();
  const rows = [
    ['time', [timeEl(ev.time), '  (' + ev.time + ')']],
    ['seq', String(ev.seq)],
    ['uuid', ev.uuid || ''],
    ['host', ev.host || ''],
    ['severity', `${ev.severity} ${ev.severity_name || SEV_NAME[ev.severity] || ''}`],
    ['from', ev.origin === 'trail' ? 'trail itself' : [ev.input, ev.peer].filter(Boolean).join(' from ')],
    ['principal', ev.principal || ''],
    ['received', ev.received ? [timeEl(ev.received), '  (' + ev.received + ')'] : ''],
    ['problems', ev.problems || ''],
    ['via', viaText(ev.via)],
    ['stored at', ev.source ? `${ev.source.origin} #${ev.source.seq} (found in ClickHouse: this store no longer holds it)` : ''],
  ]
    .filter(([k, v]) => v || !['principal', 'problems', 'received', 'via', 'stored at'].includes(k))
    .map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v)));
  for (const k of keys) {
    const def = attrDef(ev.id, k);
    const v = a[k] === null ? 'null' : String(a[k]);
    rows.push(
      h(
        'tr',
        {},
        h('th', { title: def && def.doc ? def.doc : '' }, k),
        h(
          'td',
          {},
          v,
          def ? h('span', { class: 'type' }, def.type + (def.required ? ', required' : '')) : null,
          h(
            'button',
            {
              type: 'button',
              class: 'filter',
              title: `search ${k}=${v}`,
              onclick: () => {
                addWhere(`${k}=${v}`);
                closeDetail();
                search();
              },
            },
            'filter',
          ),
        ),
      ),
    );
  }
  return h('table', { class: 'kv', id: 'detail-attrs' }, h('tbody', {}, rows));
}

export async function openDetail(seq, push = true) {
  const gen = ++detailGen;
  clearTimeout(detailRetry);
  state.seq = seq;
  saveUrl(push);
  const idx = [...rowsEl().children].findIndex((tr) => Number(tr.dataset.seq) === seq);
  if (idx >= 0) select(idx);
  const shown = results.bySeq.get(seq);
  $('detail').hidden = false;
  document.querySelector('.split').classList.add('with-detail');
  $('detail-title').textContent = shown ? shown.id : 'event ' + seq;
  const body = $('detail-body');
  const proofBox = h('div', { id: 'proof' }, h('p', { class: 'muted' }, 'fetching the record and its proof…'));
  const rawBox = h('div', { id: 'raw' });
  put(body);
  if (shown) body.append(...detailHead(shown), ...section('Attributes', attrsTable(shown)));
  body.append(...section('Inclusion proof', proofBox), rawBox);
  let p;
  try {
    // an event found in ClickHouse is proved by its origin's traild (the link traild gave)
    p = await getJSON(shown && shown.source ? shown.source.proof : '/v1/proof?seq=' + seq);
  } catch (e) {
    if (gen !== detailGen) return;
    if (e.body && e.body.proof_unavailable) {
      put(proofBox, h('p', { class: 'proof-status', id: 'proof-status' }, 'proof unavailable'), h('p', { class: 'muted' }, e.message));
    } else if (e.status === 409) {
      put(
        proofBox,
        h('p', { class: 'proof-status', id: 'proof-status' }, 'not yet covered'),
        h('p', { class: 'muted' }, e.message + ' Trying again in a few seconds.'),
      );
      detailRetry = setTimeout(() => gen === detailGen && !$('detail').hidden && openDetail(seq, false), 3000);
    } else {
      put(proofBox, h('p', { class: 'error' }, 'no proof: ' + e.message));
    }
    return;
  }
  if (gen !== detailGen) return;
  const ev = shown || p.event;
  if (!shown) {
    $('detail-title').textContent = ev.id;
    body.prepend(...detailHead(ev), ...section('Attributes', attrsTable(ev)));
  }
  put(
    rawBox,
    ...section('CEF', h('pre', { class: 'raw', id: 'detail-cef' }, p.cef || '')),
    ...section('JSON', h('pre', { class: 'raw', id: 'detail-json' }, JSON.stringify(p.event, null, 2))),
  );
  let check;
  try {
    check = await checkProof(p, ev);
    // the root the proof leads to counts only if the checkpoint's signature holds
    // another origin's checkpoint is checked with that origin's key, never this server's
    const origin = shown && shown.source ? shown.source.origin : null;
    const key = origin ? originKey(origin, p) : await verifierKey();
    const sig =
      origin && !key
        ? { ok: false, detail: `no verifier key for the origin ${origin}: pin it, or name it in traild's [origins] (NAME = URL KEY)` }
        : await checkSignature(p.checkpoint, key);
    check.steps.push({ label: 'signature', ok: sig.ok, detail: sig.detail });
    if (!sig.ok) {
      if (check.ok) check.reason = 'signature: ' + sig.detail;
      check.ok = false;
    }
  } catch (e) {
    check = { ok: false, reason: e.message, steps: [{ label: 'check', ok: false, detail: e.message }] };
  }
  if (gen !== detailGen) return;
  put(proofBox, ...proofView(p, check, !shown), bundleLink(seq));
}

// The evidence bundle of this event (docs/integrity.md section 15): the
// record, its proof and the newest cosigned checkpoint in one file that
// `trail proof check BUNDLE --policy FILE` checks offline. Fetched with the
// token like every request, then saved from a blob.
function bundleLink(seq) {
  const status = h('span', { class: 'muted', id: 'bundle-status' });
  const btn = h('button', { type: 'button', id: 'bundle-download' }, 'Download evidence bundle');
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    status.textContent = '';
    try {
      const blob = await getBlob('/v1/proof/bundle?seq=' + seq);
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `trail-bundle-${seq}.txt`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      status.textContent = ' check it offline: trail proof check trail-bundle-' + seq + '.txt --policy FILE';
    } catch (e) {
      status.textContent = ' no bundle: ' + e.message;
    } finally {
      btn.disabled = false;
    }
  });
  return h('p', { class: 'bundle' }, btn, status);
}

function detailHead(ev) {
  const def = catalogById.get(ev.id);
  return [
    h(
      'p',
      {},
      sevBadge(ev.severity, ev.severity_name),
      ' ',
      def ? def.description : '',
      ' ',
      h(
        'a',
        {
          href: '?view=catalog&id=' + encodeURIComponent(ev.id),
          class: 'evlink',
          'data-id': ev.id,
          id: 'detail-catalog-link',
        },
        'catalog entry →',
      ),
    ),
  ];
}

function proofView(p, check, selfCheck) {
  const cp = p.checkpoint;
  const rootMatch = check.root && check.root === cp.root;
  return [
    h(
      'p',
      { class: 'proof-status ' + (check.ok ? 'ok' : 'bad'), id: 'proof-status' },
      check.ok ? 'verified' : 'not verified',
    ),
    check.ok
      ? h(
          'p',
          { class: 'muted' },
          `Record ${p.seq} is leaf ${p.proof.leaf_index} of the tree of ${cp.tree_size} records that checkpoint signs; the proof and the signature checked in this page with ${check.engine}.`,
        )
      : h('p', { class: 'error', id: 'proof-reason' }, check.reason || 'the proof does not hold'),
    selfCheck ? h('p', { class: 'muted' }, 'The event shown comes from the proof answer itself.') : null,
    h(
      'ul',
      { class: 'proof-steps' },
      check.steps.map((s) => h('li', { class: s.ok ? '' : 'bad' }, h('b', {}, s.label), ': ', s.detail)),
    ),
    h(
      'table',
      { class: 'kv' },
      h(
        'tbody',
        {},
        h('tr', {}, h('th', {}, 'leaf hash'), h('td', { class: 'hash' }, check.leaf || '')),
        h(
          'tr',
          {},
          h('th', {}, 'recomputed root'),
          h('td', { class: 'hash ' + (rootMatch ? 'match' : 'mismatch'), id: 'proof-root' }, check.root || '(none)'),
        ),
        h('tr', {}, h('th', {}, 'checkpoint root'), h('td', { class: 'hash', id: 'checkpoint-root' }, cp.root)),
        h(
          'tr',
          {},
          h('th', {}, 'checkpoint'),
          h('td', {}, `size ${cp.tree_size} · `, timeEl(cp.time), ` · key ${cp.key_id}`),
        ),
        h('tr', {}, h('th', {}, 'path'), h('td', {}, `${(p.proof.path || []).length} hashes`)),
      ),
    ),
    h(
      'details',
      {},
      h('summary', {}, 'checkpoint line and audit path'),
      h('pre', { class: 'raw' }, cp.text + '\n\n' + (p.proof.path || []).join('\n')),
    ),
  ];
}

export function closeDetail() {
  detailGen++;
  clearTimeout(detailRetry);
  $('detail').hidden = true;
  document.querySelector('.split').classList.remove('with-detail');
  state.seq = null;
  saveUrl(false);
  $('results').focus({ preventScroll: true });
}
