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
      : 'the key this server serves (it shows agreement with this server only: pin a key to check against it)';
  return ok
    ? { ok: true, detail: `Ed25519 signature of ${vk.name} (key ${vk.id}) verified with ${whose}` }
    : { ok: false, detail: `the Ed25519 signature does not verify with ${whose}` };
}
