// note.js - checking a checkpoint's Ed25519 signature in the page (WebCrypto),
// with a C2SP verifier key (NAME+KEYID+BASE64(0x01 || public key)): the key
// pinned by the user when there is one, else the one traild serves.
//
// What it trusts: a key served by the same traild only shows that the
// checkpoint agrees with that server (whoever controls it can serve another
// key with the checkpoint it signs); a key pinned by the user (?vkey=... once,
// kept in localStorage, or the integrity panel's "pin" button) is checked
// against every checkpoint after, whatever the server says. docs/viewer.md.
//
// The signed message is rebuilt from the checkpoint line, which holds every
// signed field (lib/integrity/checkpoint.c): for trail-checkpoint/2 the C2SP
// tlog-checkpoint text (origin, size, base64 root, trail-time, trail-chain),
// for trail-checkpoint/1 the legacy text.
//
// Cosignatures (C2SP tlog-cosignature, docs/integrity.md §14): GET /checkpoint
// serves the checkpoint as a note with the cosignature/v1 lines of the
// witnesses that cosigned it. A witness's key (NAME+KEYID+BASE64(0x04 ||
// public key)) is pinned as the log key is (?wkey=... once, repeatable, kept
// in localStorage trail.wkeys, or the Integrity page's field); each pinned
// witness's line is checked: Ed25519 over "cosignature/v1\ntime T\n" and the
// checkpoint's note text, T and the signature in the line's blob (key id ||
// 8-byte big-endian T || 64-byte signature). A line of no pinned witness is
// shown, unchecked: anyone can append one.
//
// Not here: the inclusion proof (merkle.js), where the key is shown (detail.js,
// integrity.js).

import { getJSON } from './api.js';
import { base64ToBytes, bytesToHex, hexToBytes } from './merkle.js';

const PIN = 'trail.vkey';
const subtle = globalThis.crypto && globalThis.crypto.subtle;

function bytesToBase64(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

async function sha256(bytes) {
  return new Uint8Array(await subtle.digest('SHA-256', bytes));
}

const text = (s) => new TextEncoder().encode(s);

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * parseVerifierKey - NAME+KEYID+BASE64 into {name, id (8 hex), pub (32 bytes)},
 * the key id checked against SHA-256(NAME || 0x0A || 0x01 || pub)[0..4].
 * Throws on anything else.
 */
export async function parseVerifierKey(vkey) {
  // the name holds no '+'; the base64 after the key id may
  const m = /^([^+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(String(vkey));
  if (!m) throw new Error('not a verifier key NAME+KEYID+KEY');
  const parts = m.slice(1);
  const blob = base64ToBytes(parts[2]);
  if (blob.length !== 33 || blob[0] !== 1) throw new Error('not an Ed25519 verifier key');
  const pub = blob.slice(1);
  const id = bytesToHex((await sha256(concat(text(parts[0] + '\n'), new Uint8Array([1]), pub))).slice(0, 4));
  if (id !== parts[1]) throw new Error(`the key id ${parts[1]} is not the key's (${id})`);
  return { name: parts[0], id, pub, text: vkey };
}

/** parseLine - a trail-checkpoint/1 or /2 line into its fields and the signed message. */
export function parseLine(line) {
  const f = String(line).trim().split(' ');
  if (f.length !== 8 || (f[0] !== 'trail-checkpoint/2' && f[0] !== 'trail-checkpoint/1'))
    throw new Error('not a checkpoint line');
  const [magic, origin, size, root, chain, time, keyId, sig] = f;
  if (!/^[0-9]+$/.test(size) || !/^[0-9a-f]{64}$/.test(root) || !/^[0-9a-f]{64}$/.test(chain))
    throw new Error('a checkpoint line with a bad field');
  const legacy = magic === 'trail-checkpoint/1';
  const message = legacy
    ? `${magic}\norigin ${origin}\nsize ${size}\nroot ${root}\nchain ${chain}\ntime ${time}\nkey ${keyId}\n`
    : `${origin}\n${size}\n${bytesToBase64(hexToBytes(root))}\ntrail-time ${time}\ntrail-chain ${chain}\n`;
  return { legacy, origin, size, root, chain, time, keyId, sig: base64ToBytes(sig), message: text(message) };
}

/**
 * parseWitnessKey - a cosigner verifier key NAME+KEYID+BASE64(0x04 || pub)
 * into {name, id, pub, text}, its key id checked against
 * SHA-256(NAME || 0x0A || 0x04 || pub)[0..4]. Throws on anything else.
 */
export async function parseWitnessKey(wkey) {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(String(wkey).trim());
  if (!m) throw new Error('not a witness key NAME+KEYID+KEY');
  const blob = base64ToBytes(m[3]);
  if (blob.length !== 33 || blob[0] !== 4) throw new Error('not a cosignature/v1 key (type 0x04)');
  const pub = blob.slice(1);
  const id = bytesToHex((await sha256(concat(text(m[1] + '\n'), new Uint8Array([4]), pub))).slice(0, 4));
  if (id !== m[2]) throw new Error(`the key id ${m[2]} is not the key's (${id})`);
  return { name: m[1], id, pub, text: String(wkey).trim() };
}

const WPIN = 'trail.wkeys';

/** pinnedWitnesses - the pinned witness keys' texts. */
export function pinnedWitnesses() {
  try {
    return (localStorage.getItem(WPIN) || '').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** pinWitness - add wkey to the pinned witnesses, or with forget drop it. */
export function pinWitness(wkey, forget = false) {
  const keys = pinnedWitnesses().filter((k) => k !== wkey);
  if (!forget) keys.push(wkey);
  try {
    if (keys.length) localStorage.setItem(WPIN, keys.join('\n'));
    else localStorage.removeItem(WPIN);
  } catch {
    // storage refused: nothing is pinned past this page
  }
}

{
  for (const w of new URLSearchParams(location.search).getAll('wkey'))
    if (w && !pinnedWitnesses().includes(w.replace(/ /g, '+'))) pinWitness(w.replace(/ /g, '+'));
}

/**
 * checkCosignatures - the note served at GET /checkpoint against the
 * checkpoint cp ({text} as /v1/checkpoint sends it) and the pinned witness
 * keys. Returns {witnesses: [{name, id, key, ok, cosigned, time, detail}],
 * others: [{name, id}]}: one entry per pinned witness (a bad key too, not
 * ok), and the lines of signers that are neither the log nor a pinned witness.
 */
export async function checkCosignatures(note, cp, wkeys) {
  const out = { witnesses: [], others: [] };
  let c = null;
  try {
    c = parseLine(cp.text);
  } catch {
    c = null;
  }
  const end = String(note).indexOf('\n\n');
  const body = end >= 0 ? note.slice(0, end + 1) : '';
  // the note must be the very checkpoint the page checked: its text is what a cosignature signs
  const same = c && !c.legacy && body === new TextDecoder().decode(c.message);
  const lines = end >= 0 ? note.slice(end + 2).split('\n').filter(Boolean) : [];
  const sigs = [];
  for (const l of lines) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/.exec(l);
    if (!m) continue;
    let blob;
    try {
      blob = base64ToBytes(m[2]);
    } catch {
      continue;
    }
    if (blob.length < 4) continue;
    sigs.push({ name: m[1], id: bytesToHex(blob.slice(0, 4)), blob: blob.slice(4) });
  }
  const known = new Set(c ? [c.origin + ' ' + c.keyId] : []);
  for (const wkey of wkeys) {
    let w;
    try {
      w = await parseWitnessKey(wkey);
    } catch (e) {
      out.witnesses.push({ name: wkey.split('+')[0], id: '', key: wkey, ok: false, cosigned: false, detail: e.message });
      continue;
    }
    known.add(w.name + ' ' + w.id);
    const entry = { name: w.name, id: w.id, key: w.text, ok: false, cosigned: false, time: null, detail: '' };
    out.witnesses.push(entry);
    const sig = sigs.find((x) => x.name === w.name && x.id === w.id);
    if (!sig) {
      entry.detail = 'no cosignature of this witness on this checkpoint';
      continue;
    }
    entry.cosigned = true;
    if (!same) {
      entry.detail = 'the note served is not the checkpoint shown: not checked';
      continue;
    }
    if (!subtle) {
      entry.detail = 'this page has no WebCrypto (not a secure context): not checked';
      continue;
    }
    if (sig.blob.length !== 8 + 64) {
      entry.detail = 'a cosignature line of the wrong length';
      continue;
    }
    let t = 0n;
    for (let i = 0; i < 8; i++) t = (t << 8n) | BigInt(sig.blob[i]);
    entry.time = t;
    const msg = concat(text(`cosignature/v1\ntime ${t}\n`), c.message);
    try {
      const k = await subtle.importKey('raw', w.pub, { name: 'Ed25519' }, false, ['verify']);
      entry.ok = await subtle.verify({ name: 'Ed25519' }, k, sig.blob.slice(8), msg);
    } catch (e) {
      entry.detail = 'this browser cannot check Ed25519: ' + e.message;
      continue;
    }
    entry.detail = entry.ok
      ? `cosigned at ${new Date(Number(t) * 1000).toISOString()}, Ed25519 verified with the pinned key`
      : 'the cosignature does not verify with the pinned key';
  }
  for (const s of sigs) if (!known.has(s.name + ' ' + s.id)) out.others.push({ name: s.name, id: s.id });
  return out;
}

/** The pinned key's text, or ''. */
export function pinnedKey() {
  try {
    return localStorage.getItem(PIN) || '';
  } catch {
    return '';
  }
}

export function pinKey(vkey) {
  try {
    if (vkey) localStorage.setItem(PIN, vkey);
    else localStorage.removeItem(PIN);
  } catch {
    // storage refused (private mode): the pin lasts for this page only
  }
}

// A ?vkey= in the URL the page was opened with pins that key ('+' may come decoded
// as ' '). Read when this module loads: the app rewrites the URL from its state after.
{
  const fromUrl = new URLSearchParams(location.search).get('vkey');
  if (fromUrl) pinKey(fromUrl.replace(/ /g, '+'));
}

let servedKey = null;

/** verifierKey - {text, source: 'pinned' | 'server'}, or null when there is none. */
export async function verifierKey() {
  const pinned = pinnedKey();
  if (pinned) return { text: pinned, source: 'pinned' };
  if (!servedKey) {
    try {
      servedKey = (await getJSON('/v1/checkpoint')).verifier_key || '';
    } catch {
      servedKey = '';
    }
  }
  return servedKey ? { text: servedKey, source: 'server' } : null;
}

/**
 * originKey - the key to check a checkpoint of another origin with (an event
 * found in ClickHouse, proved by its origin's traild): the pinned key when it
 * is that origin's, else the key this traild's [origins] names for it (sent
 * with the proof as origin_verifier_key), else null.
 */
export function originKey(origin, proof) {
  const pinned = pinnedKey();
  if (pinned && pinned.split('+')[0] === origin) return { text: pinned, source: 'pinned' };
  return proof.origin_verifier_key ? { text: proof.origin_verifier_key, source: 'origin' } : null;
}

/**
 * checkSignature - the checkpoint cp ({text, root, tree_size, ...} as traild
 * sends it) against key ({text, source}). Returns {ok, detail}.
 */
export async function checkSignature(cp, key) {
  if (!subtle) return { ok: false, detail: 'this page has no WebCrypto (not a secure context): not checked' };
  if (!key) return { ok: false, detail: 'no verifier key: traild serves none and none is pinned' };
  let vk;
  let c;
  try {
    vk = await parseVerifierKey(key.text);
    c = parseLine(cp.text);
  } catch (e) {
    return { ok: false, detail: e.message };
  }
  // what the page shows and checks the proof against must be what is signed
  if (c.root !== cp.root || String(c.size) !== String(cp.tree_size))
    return { ok: false, detail: "the checkpoint's root or size is not the one its line signs" };
  if (!c.legacy && (c.origin !== vk.name || c.keyId !== vk.id))
    return { ok: false, detail: `signed by ${c.origin} key ${c.keyId}, not by the verifier key ${vk.name} ${vk.id}` };
  if (c.legacy && c.keyId !== bytesToHex((await sha256(vk.pub)).slice(0, 4)))
    return { ok: false, detail: `signed by key ${c.keyId}, not by the verifier key` };
  let ok;
  try {
    const k = await subtle.importKey('raw', vk.pub, { name: 'Ed25519' }, false, ['verify']);
    ok = c.sig.length === 64 && (await subtle.verify({ name: 'Ed25519' }, k, c.sig, c.message));
  } catch (e) {
    return { ok: false, detail: 'this browser cannot check Ed25519: ' + e.message };
  }
  const whose =
    key.source === 'pinned'
      ? 'the pinned key'
      : key.source === 'origin'
        ? "the origin's key named in this server's [origins]"
        : 'the key this server serves (it shows agreement with this server only: pin a key to check against it)';
  return ok
    ? { ok: true, detail: `Ed25519 signature of ${vk.name} (key ${vk.id}) verified with ${whose}` }
    : { ok: false, detail: `the Ed25519 signature does not verify with ${whose}` };
}
