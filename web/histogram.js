// histogram.js - the events-over-time chart: bars per hour or day, stacked
// by severity, drawn on a canvas at the screen's pixel density; hovering
// shows a bucket's counts, dragging selects a time range (onSelect(t0, t1)
// in ms), a click selects one bucket.
//
// Times on the axis and in the tooltip are in the zone the header's switch
// shows (util.js), in 24 hours; the axis labels drawn are also kept in the
// container's data-axis (JSON), which a canvas cannot show to tests.
//
// Not here: fetching the counts (app.js).

import { timeFields, onTz } from './util.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export const SEVERITIES = [
  [10, 'EMERGENCY'],
  [9, 'ALERT'],
  [8, 'CRITICAL'],
  [7, 'ERROR'],
  [6, 'WARNING'],
  [4, 'NOTICE'],
  [3, 'INFO'],
  [2, 'DEBUG'],
  [1, 'TRACE'],
];

function cssVar(el, name, fallback) {
  const v = getComputedStyle(el).getPropertyValue(name).trim();
  return v || fallback;
}

function niceStep(max, ticks) {
  const raw = max / ticks;
  const mag = Math.pow(10, Math.floor(Math.log10(raw || 1)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

export class Histogram {
  constructor(container, { onSelect }) {
    this.container = container;
    this.onSelect = onSelect;
    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', 'events over time by severity');
    this.tip = document.createElement('div');
    this.tip.className = 'hist-tip';
    this.tip.hidden = true;
    container.append(this.canvas, this.tip);
    this.buckets = [];
    this.drag = null;
    this.hover = -1;
    this.canvas.addEventListener('pointerdown', (e) => this.down(e));
    this.canvas.addEventListener('pointermove', (e) => this.move(e));
    this.canvas.addEventListener('pointerup', (e) => this.up(e));
    this.canvas.addEventListener('pointerleave', () => {
      this.hover = -1;
      this.tip.hidden = true;
      if (!this.drag) this.draw();
    });
    new ResizeObserver(() => this.draw()).observe(container);
    onTz(() => this.draw());
  }

  /**
   * set - buckets: [{t0, t1, counts: {severity: n}}] in time order (ms),
   * unit: 'hour' | 'day'.
   */
  set(buckets, unit) {
    this.buckets = buckets;
    this.unit = unit;
    let sum = 0;
    for (const b of buckets) for (const k in b.counts) sum += b.counts[k];
    this.container.dataset.sum = String(sum); // what the bars add up to (tests read it)
    this.draw();
  }

  layout() {
    const w = this.container.clientWidth;
    const h = this.container.clientHeight || 120;
    return { w, h, left: 44, right: 8, top: 8, bottom: 20 };
  }

  bucketAt(x) {
    const L = this.layout();
    const n = this.buckets.length;
    if (!n) return -1;
    const bw = (L.w - L.left - L.right) / n;
    const i = Math.floor((x - L.left) / bw);
    return Math.max(0, Math.min(n - 1, i));
  }

  xy(e) {
    const r = this.canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  down(e) {
    if (!this.buckets.length || e.button !== 0) return;
    const { x } = this.xy(e);
    this.canvas.setPointerCapture(e.pointerId);
    this.drag = { a: this.bucketAt(x), b: this.bucketAt(x) };
    this.draw();
  }

  move(e) {
    const { x, y } = this.xy(e);
    const i = this.bucketAt(x);
    if (this.drag) {
      this.drag.b = i;
      this.draw();
    } else if (i !== this.hover) {
      this.hover = i;
      this.draw();
    }
    this.showTip(i, x, y);
  }

  up(e) {
    if (!this.drag) return;
    const { a, b } = this.drag;
    this.drag = null;
    this.draw();
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    if (lo >= 0 && this.onSelect) this.onSelect(this.buckets[lo].t0, this.buckets[hi].t1);
    e.preventDefault();
  }

  showTip(i, x, y) {
    const b = this.buckets[i];
    if (!b) {
      this.tip.hidden = true;
      return;
    }
    const f = timeFields(b.t0);
    // a day is a UTC day: in another zone it starts at another hour, which is shown
    const fmt = `${f.y}-${f.mo}-${f.d} ${f.hh}:${f.mi} ${f.zone}` + (this.unit === 'day' ? ', 24 h' : '');
    let total = 0;
    const lines = [];
    for (const [sev, name] of SEVERITIES) {
      const n = b.counts[sev] || 0;
      total += n;
      if (n) lines.push(`<span class="sev-dot sev-${sev}"></span>${name} ${n.toLocaleString()}`);
    }
    this.tip.innerHTML = `<b>${fmt}</b> · ${total.toLocaleString()} events<br>${lines.join('<br>')}`;
    this.tip.hidden = false;
    const cw = this.container.clientWidth;
    this.tip.style.left = Math.min(Math.max(0, x + 12), Math.max(0, cw - 200)) + 'px';
    this.tip.style.top = Math.max(0, y - 10) + 'px';
  }

  draw() {
    const L = this.layout();
    const dpr = window.devicePixelRatio || 1;
    const c = this.canvas;
    if (c.width !== Math.round(L.w * dpr) || c.height !== Math.round(L.h * dpr)) {
      c.width = Math.round(L.w * dpr);
      c.height = Math.round(L.h * dpr);
      c.style.width = L.w + 'px';
      c.style.height = L.h + 'px';
    }
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, L.w, L.h);
    const fg = cssVar(this.container, '--muted', '#888');
    const grid = cssVar(this.container, '--grid', '#ddd');
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = fg;
    const n = this.buckets.length;
    const plotW = L.w - L.left - L.right;
    const plotH = L.h - L.top - L.bottom;
    if (!n) {
      g.fillText('no events in this range', L.left + 4, L.top + plotH / 2);
      return;
    }
    let max = 0;
    for (const b of this.buckets) {
      let t = 0;
      for (const k in b.counts) t += b.counts[k];
      b.total = t;
      if (t > max) max = t;
    }
    const step = Math.max(1, niceStep(max || 1, 3));
    const top = Math.max(step, Math.ceil(max / step) * step);
    // the value axis
    g.strokeStyle = grid;
    g.lineWidth = 1;
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    for (let v = 0; v <= top; v += step) {
      const y = L.top + plotH - (v / top) * plotH;
      g.beginPath();
      g.moveTo(L.left, Math.round(y) + 0.5);
      g.lineTo(L.w - L.right, Math.round(y) + 0.5);
      g.stroke();
      g.fillText(v >= 1000 ? v / 1000 + 'k' : String(v), L.left - 6, y);
    }
    // the bars, stacked from the least severe up
    const bw = plotW / n;
    const gap = bw > 4 ? 1 : 0;
    const colours = {};
    for (const [sev] of SEVERITIES) colours[sev] = cssVar(this.container, '--sev-' + sev, '#888');
    const sel = this.drag ? [Math.min(this.drag.a, this.drag.b), Math.max(this.drag.a, this.drag.b)] : null;
    for (let i = 0; i < n; i++) {
      const b = this.buckets[i];
      let y = L.top + plotH;
      const x = L.left + i * bw;
      for (let s = SEVERITIES.length - 1; s >= 0; s--) {
        const sev = SEVERITIES[s][0];
        const v = b.counts[sev] || 0;
        if (!v) continue;
        const h = (v / top) * plotH;
        g.fillStyle = colours[sev];
        g.globalAlpha = this.hover === i || (sel && i >= sel[0] && i <= sel[1]) ? 1 : 0.85;
        g.fillRect(x + gap / 2, y - h, Math.max(1, bw - gap), h);
        y -= h;
      }
    }
    g.globalAlpha = 1;
    if (sel) {
      g.fillStyle = cssVar(this.container, '--select', 'rgba(80,120,255,0.2)');
      g.fillRect(L.left + sel[0] * bw, L.top, (sel[1] - sel[0] + 1) * bw, plotH);
    }
    // the time axis: a label where there is room
    g.fillStyle = fg;
    g.textAlign = 'center';
    g.textBaseline = 'top';
    const t0 = this.buckets[0].t0;
    const t1 = this.buckets[n - 1].t1;
    const span = t1 - t0;
    const labelEvery = Math.max(1, Math.ceil(70 / bw));
    // no label over the zone's, which stands under the count axis
    let last = L.left - 40;
    const axis = [];
    for (let i = 0; i < n; i++) {
      const f = timeFields(this.buckets[i].t0);
      const isDay = f.hh === '00';
      if (i % labelEvery && !(isDay && this.unit === 'hour' && bw * 24 > 70)) continue;
      const x = L.left + i * bw + bw / 2;
      if (x - last < 70) continue;
      let text;
      if (this.unit === 'day' || span > 3 * 86400000)
        text =
          isDay || this.unit === 'day'
            ? `${MONTHS[Number(f.mo) - 1]} ${Number(f.d)}`
            : `${f.hh}:${f.mi}`;
      else text = `${f.hh}:${f.mi}`;
      g.fillText(text, x, L.top + plotH + 4);
      axis.push(text);
      last = x;
    }
    // the zone of the labels, under the count axis
    const zone = timeFields(t0).zone;
    g.textAlign = 'right';
    g.fillText(zone, L.left - 4, L.top + plotH + 4);
    this.container.dataset.axis = JSON.stringify(axis);
    this.container.dataset.zone = zone;
  }
}
