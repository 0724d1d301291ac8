// merkle.js - checking an event's inclusion proof in the page, trusting
// nothing but the signed checkpoint's root: decode the record's canonical
// bytes (docs/format.md, "Record") and compare them with the event shown,
// hash the leaf (SHA-256(0x00 || record)), walk the audit path to a root
// (RFC 9162 2.1.3.2) and compare it with the checkpoint's root.
//
// SHA-256 is the browser's SubtleCrypto; a small JavaScript SHA-256 stands
// in only where the browser withholds SubtleCrypto (plain http to an address
// other than localhost), and the result says which was used.
//
// Not here: fetching the proof (app.js), checking the checkpoint's signature.

export function hexToBytes(hex) {
  if (!/^([0-9a-f]{2})*$/.test(hex)) throw new Error('not lower-case hex: ' + hex.slice(0, 16));
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}

export function bytesToHex(bytes) {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function base64ToBytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function concat(parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---- SHA-256: SubtleCrypto, or the fallback below ----

const subtle = globalThis.crypto && globalThis.crypto.subtle;
export const hashEngine = subtle ? 'SubtleCrypto' : 'JavaScript (SubtleCrypto unavailable)';

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

function sha256js(msg) {
  const h = new Uint32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  const n = Math.ceil((msg.length + 9) / 64) * 64;
  const m = new Uint8Array(n);
  m.set(msg);
  m[msg.length] = 0x80;
  const bits = msg.length * 8;
  const dv = new DataView(m.buffer);
  dv.setUint32(n - 8, Math.floor(bits / 0x100000000));
  dv.setUint32(n - 4, bits >>> 0);
  const w = new Uint32Array(64);
  const rotr = (x, r) => (x >>> r) | (x << (32 - r));
  for (let off = 0; off < n; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = dv.getUint32(off + 4 * i);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + K[i] + w[i]) >>> 0;
      const S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) >>> 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) ov.setUint32(4 * i, h[i]);
  return out;
}

export async function sha256(...parts) {
  const data = concat(parts);
  if (subtle) return new Uint8Array(await subtle.digest('SHA-256', data));
  return sha256js(data);
}

const ZERO = new Uint8Array([0]);
const ONE = new Uint8Array([1]);

/** leafHash - RFC 9162 leaf hash of a record: SHA-256(0x00 || record). */
export function leafHash(record) {
  return sha256(ZERO, record);
}

function nodeHash(left, right) {
  return sha256(ONE, left, right);
}

/**
 * inclusionRoot - RFC 9162 2.1.3.2: the root that the audit path leads to
 * from leaf (bytes) at index in a tree of size leaves. Throws when the
 * path's length is wrong for index and size.
 */
export async function inclusionRoot(index, size, leaf, path) {
  // indexes beyond 2^53 do not occur in practice; BigInt keeps them exact anyway
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  if (fn > sn) throw new Error(`leaf index ${index} is outside a tree of ${size}`);
  let r = leaf;
  for (const p of path) {
    if (sn === 0n) throw new Error('the audit path is longer than the tree is deep');
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new Error('the audit path is shorter than the tree is deep');
  return r;
}

// ---- the record's canonical bytes ----

const TYPES = { 1: 'string', 2: 'int', 3: 'bool', 4: 'ip', 5: 'time', 6: 'enum' };

/** formatTime - µs since the epoch (BigInt) as RFC 3339 UTC with microseconds. */
export function formatTime(us) {
  const ms = us / 1000n;
  const micro = ((us % 1000000n) + 1000000n) % 1000000n;
  const d = new Date(Number(ms));
  const iso = d.toISOString(); // 2026-11-24T08:59:58.150Z
  return iso.slice(0, 19) + '.' + micro.toString().padStart(6, '0') + 'Z';
}

function formatIp(b) {
  if (b.length === 4) return Array.from(b).join('.');
  const g = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i] << 8) | b[i + 1]);
  // an IPv4-mapped address keeps its dotted tail (RFC 5952 section 5)
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return '::ffff:' + Array.from(b.slice(12)).join('.');
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return hex.slice(0, best).join(':') + '::' + hex.slice(best + bestLen).join(':');
}

const INPUTS = ['', 'library', 'import', 'http', 'syslog_udp', 'syslog_tcp', 'syslog_tls', 'cef_tcp', 'unix', 'follow', 'trail'];

/**
 * decodeRecord - the fields of a record's canonical bytes (docs/format.md,
 * "Record", versions 1 and 2): {seq, time, severity, uuid|null, id, host,
 * own, received, input, peer, principal, problems, attrs: {key: value text}}.
 * Throws on bytes that do not parse.
 */
export function decodeRecord(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dec = new TextDecoder('utf-8', { fatal: false });
  let o = 0;
  const need = (n) => {
    if (o + n > bytes.length) throw new Error('the record ends early at byte ' + o);
  };
  need(19);
  const version = bytes[0];
  if (version !== 1 && version !== 2) throw new Error('unknown record version ' + version);
  const seq = dv.getBigUint64(1, true);
  const time = dv.getBigInt64(9, true);
  const severity = bytes[17];
  const flags = bytes[18];
  o = 19;
  let uuid = null;
  if (!(flags & 1)) {
    need(16);
    uuid = bytesToHex(bytes.slice(o, o + 16));
    o += 16;
  }
  const str = (lenBytes) => {
    need(lenBytes);
    const n = lenBytes === 1 ? bytes[o] : dv.getUint32(o, true);
    o += lenBytes;
    need(n);
    const s = dec.decode(bytes.subarray(o, o + n));
    o += n;
    return s;
  };
  let received = null;
  if (version >= 2) {
    need(8);
    received = formatTime(dv.getBigInt64(o, true));
    o += 8;
  }
  const id = str(1);
  const host = str(1);
  let input = '';
  let peer = '';
  let principal = '';
  let problems = '';
  if (version >= 2) {
    need(1);
    input = INPUTS[bytes[o++]];
    if (input === undefined) throw new Error('unknown input ' + bytes[o - 1]);
    const name = str(1);
    if (name) input += ':' + name;
    need(1);
    const fam = bytes[o++];
    if (fam === 4 || fam === 6) {
      const n = fam === 6 ? 16 : 4;
      need(n + 2);
      const ip = formatIp(bytes.slice(o, o + n));
      o += n;
      const port = dv.getUint16(o, true);
      o += 2;
      peer = fam === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
    } else if (fam !== 0) throw new Error('unknown peer family ' + fam);
    principal = str(1);
    if (flags & 4) {
      need(2);
      const n = dv.getUint16(o, true);
      o += 2;
      need(n);
      problems = dec.decode(bytes.subarray(o, o + n));
      o += n;
    }
  }
  need(2);
  const nAttrs = dv.getUint16(o, true);
  o += 2;
  const attrs = {};
  for (let i = 0; i < nAttrs; i++) {
    const key = str(1);
    need(1);
    const type = bytes[o++];
    let val;
    switch (TYPES[type]) {
      case 'string':
      case 'enum':
        val = str(4);
        break;
      case 'int':
        need(8);
        val = dv.getBigInt64(o, true).toString();
        o += 8;
        break;
      case 'time':
        need(8);
        val = formatTime(dv.getBigInt64(o, true));
        o += 8;
        break;
      case 'bool':
        need(1);
        val = bytes[o++] ? 'true' : 'false';
        break;
      case 'ip': {
        need(1);
        const fam = bytes[o++];
        const n = fam === 6 ? 16 : 4;
        need(n);
        val = formatIp(bytes.slice(o, o + n));
        o += n;
        break;
      }
      default:
        throw new Error(`attribute ${key}: unknown type ${type}`);
    }
    attrs[key] = { type: TYPES[type], value: val };
  }
  if (o !== bytes.length) throw new Error(`${bytes.length - o} bytes after the last attribute`);
  const own = (flags & 2) !== 0;
  return { seq, time: formatTime(time), severity, uuid, id, host, own, received, input, peer, principal, problems, attrs };
}

/** compareRecord - the differences between a decoded record and an event's JSON, as text. */
export function compareRecord(rec, ev) {
  const diffs = [];
  const same = (what, a, b) => {
    if (String(a) !== String(b)) diffs.push(`${what}: record has ${a}, the event shows ${b}`);
  };
  same('seq', rec.seq, ev.seq);
  same('event id', rec.id, ev.id);
  same('time', rec.time, ev.time);
  same('severity', rec.severity, ev.severity);
  if (rec.host || ev.host) same('host', rec.host || '(none)', ev.host || '(none)');
  // provenance: where the record says it came from, as the event shown says it
  if (rec.received || ev.received) same('received', rec.received || '(none)', ev.received || '(none)');
  if (rec.input || ev.input) same('input', rec.input || '(none)', ev.input || '(none)');
  if (rec.peer || ev.peer) same('peer', rec.peer || '(none)', ev.peer || '(none)');
  if (rec.principal || ev.principal) same('principal', rec.principal || '(none)', ev.principal || '(none)');
  same("trail's own", rec.own, ev.origin === 'trail');
  const evAttrs = ev.attrs || {};
  const keys = new Set([...Object.keys(rec.attrs), ...Object.keys(evAttrs)]);
  for (const k of keys) {
    const r = rec.attrs[k];
    const e = evAttrs[k];
    if (!r) diffs.push(`attribute ${k}: not in the record`);
    else if (e === undefined || e === null) diffs.push(`attribute ${k}: not in the event shown`);
    else same('attribute ' + k, r.value, e);
  }
  return diffs;
}

/**
 * checkProof - the whole check of a /v1/proof answer p against the event
 * the page shows (ev, from the search). Returns
 * {ok, reason, steps: [{label, ok, detail}], root, checkpointRoot, leaf}.
 */
export async function checkProof(p, ev) {
  const steps = [];
  const out = { ok: false, steps, engine: hashEngine };
  const fail = (label, detail) => {
    steps.push({ label, ok: false, detail });
    out.reason = label + ': ' + detail;
    return out;
  };
  let record;
  let rec;
  try {
    record = base64ToBytes(p.record);
    rec = decodeRecord(record);
  } catch (e) {
    return fail('record', 'the record bytes do not parse: ' + e.message);
  }
  const diffs = compareRecord(rec, ev);
  if (diffs.length) return fail('record matches the event', diffs.join('; '));
  steps.push({
    label: 'record matches the event',
    ok: true,
    detail: `${record.length} bytes; seq, id, time, severity, host and ${Object.keys(rec.attrs).length} attributes agree`,
  });
  const leaf = await leafHash(record);
  out.leaf = bytesToHex(leaf);
  let path;
  try {
    path = (p.proof.path || []).map(hexToBytes);
    if (path.some((h) => h.length !== 32)) throw new Error('a path hash is not 32 bytes');
  } catch (e) {
    return fail('proof', e.message);
  }
  if (out.leaf !== p.proof.leaf_hash)
    steps.push({
      label: 'leaf hash',
      ok: false,
      detail: `SHA-256(0x00 || record) = ${out.leaf}, the proof says ${p.proof.leaf_hash}`,
    });
  else steps.push({ label: 'leaf hash', ok: true, detail: 'SHA-256(0x00 || record) = ' + out.leaf });
  if (String(p.proof.leaf_index) !== String(rec.seq - 1n))
    return fail('leaf index', `the proof is for leaf ${p.proof.leaf_index}, the record is seq ${rec.seq}`);
  if (String(p.proof.tree_size) !== String(p.checkpoint.tree_size))
    return fail(
      'tree size',
      `the proof is for ${p.proof.tree_size} leaves, the checkpoint signs ${p.checkpoint.tree_size}`,
    );
  let root;
  try {
    root = await inclusionRoot(p.proof.leaf_index, p.proof.tree_size, leaf, path);
  } catch (e) {
    return fail('audit path', e.message);
  }
  out.root = bytesToHex(root);
  out.checkpointRoot = p.checkpoint.root;
  if (out.root !== p.checkpoint.root)
    return fail('root', `recomputed ${out.root}, the checkpoint signs ${p.checkpoint.root}`);
  steps.push({
    label: 'root',
    ok: true,
    detail: `${path.length} path hashes lead to ${out.root}, the checkpoint's root`,
  });
  out.ok = steps.every((s) => s.ok);
  if (!out.ok) out.reason = steps.find((s) => !s.ok).label;
  return out;
}
