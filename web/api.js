// api.js - how the viewer talks to traild: JSON GETs and POSTs with the
// bearer token kept in sessionStorage, a 401 handler (the login form), and
// the server-sent event stream read with fetch() so that it can carry the
// Authorization header (EventSource cannot) and resume with Last-Event-ID.
//
// Not here: what the answers mean (app.js), proofs (merkle.js).

const TOKEN_KEY = 'trail.token';

export class HttpError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

let unauthorized = () => {};

/** setUnauthorizedHandler - fn() is called on every 401 answer. */
export function setUnauthorizedHandler(fn) {
  unauthorized = fn;
}

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage refused (private mode): the token lives only in this page */
  }
}

function headers(extra) {
  const h = Object.assign({ Accept: 'application/json' }, extra || {});
  const t = getToken();
  if (t) h.Authorization = 'Bearer ' + t;
  return h;
}

async function answer(res) {
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (res.status === 401) {
    unauthorized();
    throw new HttpError(401, (body && body.error) || 'a token is needed', body);
  }
  if (!res.ok) {
    const msg = (body && body.error) || text.trim() || res.statusText || 'HTTP ' + res.status;
    throw new HttpError(res.status, msg, body);
  }
  return body;
}

/**
 * getBlob - GET path as a file (a download): its bytes as a Blob; throws
 * HttpError on any non-2xx, with traild's {"error":...} message.
 */
export async function getBlob(path) {
  const res = await fetch(path, { headers: headers({ Accept: '*/*' }), cache: 'no-store' });
  if (!res.ok) await answer(res);
  return res.blob();
}

/** getJSON - GET path and parse the JSON answer; throws HttpError on any non-2xx. */
export async function getJSON(path, opts = {}) {
  const res = await fetch(path, { headers: headers(), signal: opts.signal, cache: 'no-store' });
  return answer(res);
}

/** getText - GET path as text (a C2SP note, GET /checkpoint); throws HttpError on any non-2xx. */
export async function getText(path, opts = {}) {
  const res = await fetch(path, { headers: headers({ Accept: 'text/plain' }), signal: opts.signal, cache: 'no-store' });
  if (res.status === 401) unauthorized();
  if (!res.ok) throw new HttpError(res.status, (await res.text()).trim() || 'HTTP ' + res.status);
  return res.text();
}

/** postJSON - POST body (a string or an object sent as JSON) to path. */
export async function postJSON(path, body, opts = {}) {
  const data = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(path, {
    method: 'POST',
    headers: headers({ 'Content-Type': 'application/json' }),
    body: data,
    signal: opts.signal,
    cache: 'no-store',
  });
  return answer(res);
}

/**
 * openStream - follow a server-sent event stream at path. Each message's
 * data is parsed as JSON and passed to onEvent(obj, id); onState(state,
 * detail) hears 'open', 'retry' (with the error) and 'closed'. Reconnects
 * after failures with Last-Event-ID set to the last id seen, so nothing is
 * missed or repeated. Returns { close() }.
 */
export function openStream(path, { onEvent, onState = () => {}, lastId = '' }) {
  const ctl = new AbortController();
  let closed = false;
  let retryMs = 1000;

  async function once() {
    const h = headers({ Accept: 'text/event-stream' });
    if (lastId) h['Last-Event-ID'] = lastId;
    const res = await fetch(path, { headers: h, signal: ctl.signal, cache: 'no-store' });
    if (res.status === 401) {
      unauthorized();
      throw new HttpError(401, 'a token is needed');
    }
    if (!res.ok || !res.body) {
      let msg = res.statusText;
      try {
        const b = await res.json();
        msg = b.error || msg;
      } catch {
        /* not JSON */
      }
      throw new HttpError(res.status, msg || 'HTTP ' + res.status);
    }
    onState('open');
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    let data = [];
    let id = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let nl;
      while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + (buf[nl] === '\r' && buf[nl + 1] === '\n' ? 2 : 1));
        if (line === '') {
          if (id !== null) lastId = id;
          if (data.length) {
            const text = data.join('\n');
            let obj = null;
            try {
              obj = JSON.parse(text);
            } catch {
              obj = null;
            }
            if (obj) onEvent(obj, lastId);
          }
          data = [];
          id = null;
          continue;
        }
        if (line[0] === ':') continue; // a comment: keep-alive
        const c = line.indexOf(':');
        const field = c < 0 ? line : line.slice(0, c);
        let val = c < 0 ? '' : line.slice(c + 1);
        if (val[0] === ' ') val = val.slice(1);
        if (field === 'data') data.push(val);
        else if (field === 'id') id = val;
        else if (field === 'retry' && /^\d+$/.test(val)) retryMs = Number(val);
      }
    }
  }

  (async () => {
    while (!closed) {
      try {
        await once();
        if (closed) break;
        onState('retry', 'the stream ended');
      } catch (e) {
        if (closed) break;
        onState('retry', e.message || String(e));
        if (e.status === 401) break;
      }
      await new Promise((r) => setTimeout(r, retryMs));
    }
    onState('closed');
  })();

  return {
    close() {
      closed = true;
      ctl.abort();
    },
    lastId: () => lastId,
  };
}
