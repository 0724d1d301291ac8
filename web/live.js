// live.js - live mode: new events from the SSE stream added at the top of the
// list (once per animation frame), the count and the histogram kept up, the
// "new events" pill when the list is scrolled away from the top.
//
// Not here: the stream itself (api.js), the list's rows (search.js).

import { openStream } from './api.js';
import { $ } from './util.js';
import { state, filterParams, saveUrl } from './state.js';
import { results, hist, renderTotal, addRows, search } from './search.js';

export function setLiveButton() {
  const b = $('live');
  b.setAttribute('aria-pressed', state.live ? 'true' : 'false');
  b.textContent = state.live ? '● Live' : '○ Live';
}

let pendingLive = [];
let liveFrame = 0;

export function startLive() {
  stopLive();
  const fp = filterParams();
  fp.delete('since');
  fp.delete('until');
  // start after the newest event shown, so that nothing between the search and the stream is lost
  let last = 0;
  for (const s of results.bySeq.keys()) if (s > last) last = s;
  $('live-state').textContent = 'live: connecting…';
  results.stream = openStream('/v1/events/stream' + (fp.toString() ? '?' + fp : ''), {
    lastId: last ? String(last) : '',
    onEvent: (ev) => {
      pendingLive.push(ev);
      if (!liveFrame) liveFrame = requestAnimationFrame(flushLive);
    },
    onState: (s, detail) => {
      $('live-state').textContent =
        s === 'open' ? 'live: following new events' : s === 'retry' ? `live: reconnecting (${detail})` : '';
    },
  });
}

export function stopLive() {
  if (results.stream) results.stream.close();
  results.stream = null;
  pendingLive = [];
  $('live-state').textContent = '';
}

function flushLive() {
  liveFrame = 0;
  const evs = pendingLive.sort((a, b) => b.seq - a.seq);
  pendingLive = [];
  if (!evs.length) return;
  const box = $('results');
  const atTop = box.scrollTop < 4;
  const before = box.scrollHeight;
  const top = box.scrollTop;
  const n = addRows(state.order === 'oldest' ? [] : evs, true);
  if (state.order === 'oldest' && !results.next) addRows(evs.reverse(), false);
  if (!n) return;
  if (results.selected >= 0) results.selected += n;
  if (!atTop) {
    // keep what the reader looks at where it was
    box.scrollTop = top + (box.scrollHeight - before);
    results.newCount += n;
    const pill = $('new-events');
    pill.textContent = `↑ ${results.newCount} new event${results.newCount === 1 ? '' : 's'}`;
    pill.hidden = false;
  }
  if (results.total !== null) results.total += n;
  // the histogram's last bucket grows with them
  for (const ev of evs) {
    const t = Date.parse(ev.time);
    const b = results.buckets.find((x) => t >= x.t0 && t < x.t1);
    if (b) b.counts[ev.severity] = (b.counts[ev.severity] || 0) + 1;
  }
  if (results.buckets.length) hist.set(results.buckets, results.unit);
  renderTotal();
}

export function toggleLive() {
  state.live = !state.live;
  if (state.live && state.order !== 'newest') {
    state.order = 'newest';
    $('q-order').value = 'newest';
    setLiveButton();
    search();
    return;
  }
  setLiveButton();
  saveUrl(false);
  if (state.live) startLive();
  else stopLive();
}
