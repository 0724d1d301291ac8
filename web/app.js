// app.js - the trail viewer's entry point (index.html loads it as a module):
// routing between the views (search, catalog, integrity) from the URL, the
// keyboard, and init(), which wires the page's elements to the parts.
//
// The viewer's parts, one file each: util.js (helpers), state.js (the URL),
// catalog.js, form.js (the search form), search.js (the result list and the
// histogram's counts), live.js, selection.js, detail.js (the event and its
// proof), catalog-browser.js, integrity.js, login.js, export.js (the Export
// button), detect.js (alerts, rules), reports.js (the Reports page). The page never holds
// more than it shows: one page of events per request, counts from /v1/count,
// requests cancelled when the filters change and typing debounced.
//
// Not here: HTTP and the stream (api.js), the proof check (merkle.js), the
// chart (histogram.js).

import { postJSON, getToken, setToken, setUnauthorizedHandler } from './api.js';
import { Histogram } from './histogram.js';
import { $, h, debounce, toLocalInput, getTz, setTz, tzName } from './util.js';
import { state, readUrl, saveUrl } from './state.js';
import { forgetCatalog, loadCatalog } from './catalog.js';
import {
  fillSeveritySelects,
  writeForm,
  removeWhere,
  addWhere,
  suggestIndex,
  updateSuggest,
  closeSuggest,
  moveSuggest,
  acceptSuggest,
} from './form.js';
import { results, setHistogram, resolveTime, rowsEl, search, debouncedSearch, loadMore, maybeMore } from './search.js';
import { setLiveButton, stopLive, toggleLive } from './live.js';
import { select, selectedSeq } from './selection.js';
import { openDetail, closeDetail } from './detail.js';
import { showCatalog } from './catalog-browser.js';
import { integrityTimer, loadIntegrity } from './integrity.js';
import { showLogin } from './login.js';
import { showAlerts, showRules, stopDetect } from './detect.js';
import { exportSearch } from './export.js';
import { showReports } from './reports.js';

function route() {
  readUrl();
  for (const v of ['search', 'catalog', 'integrity', 'alerts', 'rules', 'reports']) {
    $('view-' + v).hidden = state.view !== v;
    $('tab-' + v).setAttribute('aria-current', state.view === v ? 'page' : 'false');
  }
  $('logout').hidden = !getToken();
  clearTimeout(integrityTimer);
  if (state.view !== 'search') stopLive();
  stopDetect();
  document.title = {
    search: 'trail · search',
    catalog: 'trail · catalog',
    integrity: 'trail · integrity',
    alerts: 'trail · alerts',
    rules: 'trail · rules',
    reports: 'trail · reports',
  }[state.view];
  if (state.view === 'search') {
    writeForm();
    $('detail').hidden = !state.seq;
    document.querySelector('.split').classList.toggle('with-detail', !!state.seq);
    search();
  } else if (state.view === 'catalog') showCatalog();
  else if (state.view === 'alerts') showAlerts();
  else if (state.view === 'rules') showRules(state.catId);
  else if (state.view === 'reports') showReports();
  else loadIntegrity();
}

function go(url) {
  history.pushState(null, '', url);
  route();
}

let gPending = false;

function onKey(e) {
  const t = e.target;
  const typing = t instanceof HTMLElement && t.matches('input, select, textarea');
  if (e.key === 'Escape') {
    if (!$('event-suggest').hidden) return closeSuggest();
    if (typing) return t.blur();
    if (!$('detail').hidden) return closeDetail();
    return;
  }
  if (typing || e.ctrlKey || e.metaKey || e.altKey || $('login').open) return;
  if (gPending) {
    gPending = false;
    const to = { s: './', c: '?view=catalog', i: '?view=integrity', a: '?view=alerts', r: '?view=rules', p: '?view=reports' }[e.key];
    if (to) {
      e.preventDefault();
      go(to);
    }
    return;
  }
  if (e.key === 'g') {
    gPending = true;
    setTimeout(() => (gPending = false), 1200);
    return;
  }
  if (e.key === '?') {
    $('help').showModal();
    return;
  }
  if (state.view === 'catalog' && (e.key === 'j' || e.key === 'k')) {
    const links = [...$('cat-list').querySelectorAll('a')];
    const i = links.findIndex((a) => a.dataset.id === state.catId);
    const next = links[Math.max(0, Math.min(links.length - 1, i + (e.key === 'j' ? 1 : -1)))];
    if (next) {
      state.catId = next.dataset.id;
      saveUrl(false);
      showCatalog();
    }
    return;
  }
  if (state.view !== 'search') return;
  switch (e.key) {
    case '/':
      e.preventDefault();
      $('q-text').focus();
      $('q-text').select();
      break;
    case 'j':
      select(results.selected + 1);
      if (!$('detail').hidden && selectedSeq()) openDetail(selectedSeq(), false);
      break;
    case 'k':
      select(results.selected - 1);
      if (!$('detail').hidden && selectedSeq()) openDetail(selectedSeq(), false);
      break;
    case 'Enter':
      if (selectedSeq()) {
        e.preventDefault();
        openDetail(selectedSeq());
      }
      break;
    case 'l':
      toggleLive();
      break;
  }
}

function init() {
  fillSeveritySelects();
  setHistogram(
    new Histogram($('hist'), {
      onSelect: (t0, t1) => {
        state.since = new Date(t0).toISOString().replace('.000Z', 'Z');
        state.until = new Date(Math.min(t1, Date.now() + 60000)).toISOString().replace('.000Z', 'Z');
        writeForm();
        search();
      },
    }),
  );
  setUnauthorizedHandler(() => showLogin(getToken() ? 'That token was refused.' : ''));

  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    setToken($('login-token').value.trim());
    $('login-token').value = '';
    $('login').close();
    forgetCatalog();
    loadCatalog().catch(() => {});
    route();
  });
  $('logout').addEventListener('click', () => {
    setToken('');
    location.reload();
  });
  $('help-btn').addEventListener('click', () => $('help').showModal());
  $('export').addEventListener('click', exportSearch);

  // UTC or local time: the table, the histogram and the detail redraw their times
  const tzLabel = () => ($('tz-label').textContent = '(' + tzName() + ')');
  $('tz-mode').value = getTz();
  document.documentElement.dataset.tz = getTz();
  tzLabel();
  $('tz-mode').addEventListener('change', () => {
    setTz($('tz-mode').value);
    tzLabel();
    writeForm(); // a custom range's inputs show the new zone's wall clock
  });

  // the form: selects search at once, typing after a pause
  $('search').addEventListener('submit', (e) => {
    e.preventDefault();
    debouncedSearch.now();
  });
  for (const id of ['q-preset', 'q-sev-min', 'q-sev-max', 'q-order', 'q-since', 'q-until'])
    $(id).addEventListener('change', () => {
      if (id === 'q-preset' && $('q-preset').value === 'custom' && !$('q-since').value) {
        // start the custom range from what was shown
        const now = Date.now();
        $('q-since').value = toLocalInput(resolveTime(state.since, now) ?? now - 864e5);
        $('q-until').value = toLocalInput(now);
      }
      // live mode adds new events on top: newest received first only
      if (id === 'q-order' && $('q-order').value !== 'newest' && state.live) {
        state.live = false;
        setLiveButton();
      }
      debouncedSearch.now();
    });
  $('q-text').addEventListener('input', debouncedSearch);
  const ev = $('q-event');
  // a half-typed id matches nothing: the event field searches on Enter, on a
  // chosen suggestion and when it is left, not on every key
  ev.addEventListener('input', updateSuggest);
  ev.addEventListener('change', () => debouncedSearch.now());
  ev.addEventListener('focus', () => loadCatalog().then(updateSuggest, () => {}));
  ev.addEventListener('blur', () => setTimeout(closeSuggest, 100));
  ev.addEventListener('keydown', (e) => {
    const open = !$('event-suggest').hidden;
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      if (!open) updateSuggest();
      moveSuggest(1);
    } else if (e.key === 'ArrowUp' && open) {
      e.preventDefault();
      moveSuggest(-1);
    } else if ((e.key === 'Enter' || e.key === 'Tab') && open && suggestIndex >= 0) {
      e.preventDefault();
      acceptSuggest(suggestIndex);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      closeSuggest();
      debouncedSearch.now();
    }
  });
  const wh = $('q-where');
  wh.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      if (addWhere(wh.value)) {
        wh.value = '';
        search();
      }
    } else if (e.key === 'Backspace' && !wh.value && state.where.length) {
      removeWhere(state.where.length - 1);
    }
  });
  $('live').addEventListener('click', toggleLive);
  $('reset').addEventListener('click', () => go('./'));
  $('new-events').addEventListener('click', () => {
    $('results').scrollTo({ top: 0, behavior: 'smooth' });
  });

  // the list: infinite scroll, clicks, the pill
  const box = $('results');
  box.addEventListener('scroll', () => {
    if (box.scrollTop < 4 && results.newCount) {
      results.newCount = 0;
      $('new-events').hidden = true;
    }
    maybeMore();
  });
  new IntersectionObserver((entries) => entries.some((x) => x.isIntersecting) && loadMore(), {
    root: box,
    rootMargin: '600px',
  }).observe($('sentinel'));
  rowsEl().addEventListener('click', (e) => {
    const a = e.target.closest('a.evlink');
    if (a) {
      e.preventDefault();
      go(a.getAttribute('href'));
      return;
    }
    const tr = e.target.closest('tr');
    if (tr) openDetail(Number(tr.dataset.seq));
  });
  $('detail-close').addEventListener('click', closeDetail);
  $('detail').addEventListener('click', (e) => {
    const a = e.target.closest('a.evlink');
    if (a) {
      e.preventDefault();
      go(a.getAttribute('href'));
    }
  });

  // catalog
  const catSearch = debounce(() => {
    state.catQ = $('cat-q').value.trim();
    saveUrl(false);
    showCatalog();
  }, 150);
  $('cat-q').addEventListener('input', catSearch);
  $('cat-sev').addEventListener('change', () => showCatalog());
  $('cat-list').addEventListener('click', (e) => {
    const a = e.target.closest('a.catlink');
    if (!a) return;
    e.preventDefault();
    state.catId = a.dataset.id;
    saveUrl(true);
    showCatalog();
  });
  $('cat-detail').addEventListener('click', (e) => {
    const a = e.target.closest('a.searchlink');
    if (!a) return;
    e.preventDefault();
    go(a.getAttribute('href'));
  });

  // reports: a report of the list or of the schedules opens in the page
  for (const id of ['rep-list', 'rep-detail'])
    $(id).addEventListener('click', (e) => {
      const a = e.target.closest('a.replink');
      if (!a || e.ctrlKey || e.metaKey || e.shiftKey) return;
      e.preventDefault();
      go(a.getAttribute('href'));
    });

  // integrity
  $('verify-now').addEventListener('click', async () => {
    $('verify-now').disabled = true;
    try {
      await postJSON('/v1/verify');
    } catch (e) {
      if (e.status !== 409) {
        // e.g. 403: running a verification is an admin's
        $('card-verify')
          .querySelector('.card-body')
          .prepend(h('p', { class: 'error' }, 'cannot start one: ' + e.message));
        $('verify-now').disabled = false;
        return;
      }
    }
    loadIntegrity();
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && state.view === 'integrity') loadIntegrity();
  });

  // navigation
  document.querySelectorAll('.tabs a, a.brand').forEach((a) =>
    a.addEventListener('click', (e) => {
      if (e.ctrlKey || e.metaKey || e.shiftKey) return;
      e.preventDefault();
      go(a.getAttribute('href'));
    }),
  );
  window.addEventListener('popstate', route);
  document.addEventListener('keydown', onKey);

  loadCatalog().catch(() => {});
  route();
}

init();
