// integrity.js - the integrity panel: the store, the latest checkpoint and
// its signature, the last verification and its findings, the sinks, refreshed
// while the panel is shown.
//
// Not here: starting a verification (app.js, init: the button).

import { getJSON, getText } from './api.js';
import { $, h, put, fmtTime } from './util.js';
import { state } from './state.js';
import { checkCosignatures, checkSignature, parseWitnessKey, pinKey, pinWitness, pinnedWitnesses, verifierKey } from './note.js';

export let integrityTimer = 0;

function kvTable(rows) {
  return h(
    'table',
    { class: 'kv' },
    h(
      'tbody',
      {},
      rows.filter(Boolean).map(([k, v, cls]) => h('tr', {}, h('th', {}, k), h('td', { class: cls || '' }, v))),
    ),
  );
}

function ago(iso) {
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (isNaN(s)) return '';
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** the cosignatures of the latest checkpoint, per pinned witness, and a field to pin one */
function witnessBlock(cos, error) {
  const input = h('input', {
    id: 'witness-key',
    type: 'text',
    spellcheck: 'false',
    placeholder: 'a witness key NAME+KEYID+BASE64',
  });
  const msg = h('span', { class: 'error', id: 'witness-error' }, error || '');
  const add = h('button', { type: 'button', id: 'pin-witness' }, 'pin witness');
  add.addEventListener('click', async () => {
    try {
      await parseWitnessKey(input.value);
    } catch (e) {
      msg.textContent = e.message;
      return;
    }
    pinWitness(input.value.trim());
    loadIntegrity();
  });
  return h(
    'div',
    { class: 'witnesses' },
    h('h4', {}, 'Witnesses'),
    cos.witnesses.length
      ? h(
          'ul',
          { id: 'witness-list' },
          cos.witnesses.map((w) =>
            h(
              'li',
              { 'data-name': w.name },
              h('span', { class: 'badge ' + (w.ok ? 'ok' : 'bad') }, w.ok ? 'verified' : w.cosigned ? 'not verified' : 'not cosigned'),
              ' ',
              h('code', {}, w.name),
              ' ',
              h('span', { class: 'muted' }, w.id),
              ' ',
              h('span', { class: 'witness-detail' }, w.detail),
              ' ',
              h('button', { type: 'button', class: 'link', onclick: () => (pinWitness(w.key, true), loadIntegrity()) }, 'forget'),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No witness key is pinned: cosignatures are not checked.'),
    cos.others.length
      ? h(
          'p',
          { class: 'muted', id: 'witness-others' },
          'also cosigned by (no pinned key, not checked): ',
          cos.others.map((o) => `${o.name} ${o.id}`).join(', '),
        )
      : null,
    h('div', { class: 'witness-pin' }, input, add, msg),
  );
}

export async function loadIntegrity() {
  clearTimeout(integrityTimer);
  const [cp, ver, sinks, health] = await Promise.allSettled([
    getJSON('/v1/checkpoint'),
    getJSON('/v1/verify'),
    getJSON('/v1/sinks'),
    getJSON('/healthz').catch((e) => (e.body ? e.body : Promise.reject(e))),
  ]);
  if (state.view !== 'integrity') return;
  const body = (id) => $(id).querySelector('.card-body');
  if (cp.status === 'fulfilled') {
    const c = cp.value;
    const key = await verifierKey();
    const sig = await checkSignature(c, key);
    // the C2SP note with its cosignatures (404 before the first C2SP checkpoint)
    let note = '';
    let noteError = '';
    try {
      note = await getText('/checkpoint');
    } catch (e) {
      if (e.status !== 404) noteError = 'GET /checkpoint: ' + e.message;
    }
    const cos = await checkCosignatures(note, c, pinnedWitnesses());
    if (state.view !== 'integrity') return;
    const pinButton = key
      ? h(
          'button',
          {
            type: 'button',
            id: 'pin-key',
            onclick: () => {
              pinKey(key.source === 'pinned' ? '' : key.text);
              loadIntegrity();
            },
          },
          key.source === 'pinned' ? 'forget the pinned key' : 'pin this key',
        )
      : null;
    put(
      body('card-checkpoint'),
      kvTable([
        ['tree size', c.tree_size.toLocaleString('en-US') + ' records'],
        ['root', c.root, 'hash'],
        ['chain', c.chain, 'hash'],
        ['signed', `${fmtTime(c.time)} (${ago(c.time)})`],
        ['key id', c.key_id],
        ['origin', c.origin, 'hash'],
        [
          'signature',
          h(
            'span',
            { class: 'badge ' + (sig.ok ? 'ok' : 'bad'), id: 'signature-badge' },
            sig.ok ? 'verified' : 'not verified',
          ),
        ],
        ['', h('span', { id: 'signature-detail' }, sig.detail), 'muted'],
        key
          ? [key.source === 'pinned' ? 'pinned key' : 'served key', h('span', { id: 'verifier-key' }, key.text), 'hash']
          : null,
      ]),
      pinButton,
      witnessBlock(cos, noteError),
      h('details', {}, h('summary', {}, 'the line a witness keeps'), h('pre', { class: 'raw' }, c.text)),
    );
  } else put(body('card-checkpoint'), h('p', { class: 'muted' }, cp.reason.message));

  if (ver.status === 'fulfilled') {
    const v = ver.value;
    const badge =
      v.ok === undefined
        ? h('span', { class: 'badge wait', id: 'verify-badge' }, v.state === 'failed' ? 'could not run' : 'running…')
        : h(
            'span',
            { class: 'badge ' + (v.ok ? 'ok' : 'bad'), id: 'verify-badge' },
            v.ok ? 'intact' : `${v.damage_count} damaged`,
          );
    put(
      body('card-verify'),
      h(
        'p',
        {},
        badge,
        ' ',
        v.state === 'running' && v.ok !== undefined ? h('span', { class: 'muted' }, 'a new run is going on') : '',
      ),
      kvTable([
        v.finished
          ? ['finished', `${fmtTime(v.finished)} (${ago(v.finished)}), ${v.duration_ms} ms`]
          : ['started', v.started ? fmtTime(v.started) : 'never'],
        v.records !== undefined
          ? ['records', `${v.records.toLocaleString('en-US')} (seq ${v.first_seq}..${v.last_seq})`]
          : null,
        v.root ? ['root', v.root, 'hash'] : null,
        v.segments !== undefined
          ? ['checked', `${v.segments} segments, ${v.checkpoints} checkpoints, ${v.signatures} signatures`]
          : null,
        v.error ? ['error', v.error, 'error'] : null,
      ]),
      (v.damage || []).length
        ? h(
            'ul',
            { class: 'proof-steps' },
            v.damage.map((d) =>
              h(
                'li',
                { class: 'bad' },
                h('b', {}, d.kind),
                ` seq ${d.seq}${d.seq_last !== d.seq ? '..' + d.seq_last : ''} in ${d.file}: ${d.message}`,
              ),
            ),
          )
        : null,
      (v.notes || []).length
        ? h(
            'ul',
            { class: 'muted' },
            v.notes.map((n) => h('li', {}, n)),
          )
        : null,
    );
    $('verify-now').disabled = v.state === 'running';
  } else put(body('card-verify'), h('p', { class: 'error' }, ver.reason.message));

  if (health.status === 'fulfilled') {
    const s = health.value;
    put(
      body('card-store'),
      kvTable([
        ['status', s.status === 'ok' ? 'accepting events' : 'failing: ' + s.store, s.status === 'ok' ? '' : 'error'],
        ['durable seq', Number(s.durable_seq).toLocaleString('en-US')],
        ['queue', `${s.queue_events} of ${s.queue_limit} events`],
        ['traild', s.version],
      ]),
    );
  } else put(body('card-store'), h('p', { class: 'error' }, health.reason.message));

  if (sinks.status === 'fulfilled') {
    const list = sinks.value.sinks || [];
    put(
      body('card-sinks'),
      list.length
        ? h(
            'table',
            { class: 'sinks', id: 'sinks-table' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['sink', 'type', 'cursor', 'lag', 'delivered', 'updated', 'last error'].map((t, i) =>
                  h('th', { class: i >= 2 && i <= 4 ? 'num' : '' }, t),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              list.map((s) =>
                h(
                  'tr',
                  {},
                  h('td', {}, s.name),
                  h('td', {}, s.type + (s.witness ? ' (witness)' : '')),
                  h('td', { class: 'num' }, s.cursor.toLocaleString('en-US')),
                  // a cursor past the store's end has no lag: the store lost records it delivered
                  s.lag == null
                    ? h('td', { class: 'num error' }, `past the end by ${(s.past_end || 0).toLocaleString('en-US')}`)
                    : h('td', { class: 'num ' + (s.lag > 0 ? 'error' : '') }, s.lag.toLocaleString('en-US')),
                  h('td', { class: 'num' }, s.delivered.toLocaleString('en-US')),
                  h('td', {}, s.updated ? ago(s.updated) : 'never'),
                  h(
                    'td',
                    { class: s.error ? 'error' : 'muted' },
                    s.error ? (s.error_time ? `${s.error} (${ago(s.error_time)})` : s.error) : 'none',
                  ),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No sinks are configured ([sink NAME] sections of the config).'),
    );
  } else put(body('card-sinks'), h('p', { class: 'error' }, sinks.reason.message));

  const running = ver.status === 'fulfilled' && ver.value.state === 'running';
  integrityTimer = setTimeout(
    () => state.view === 'integrity' && !document.hidden && loadIntegrity(),
    running ? 1000 : 5000,
  );
}
