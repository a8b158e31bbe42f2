// The network view: input, hidden and output nodes with their heatmaps, links drawn by
// weight (hover shows the value, click edits it), and the per-layer editor buttons.
import * as D from './draw.js';

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
export const FEATURES = { 'x1': 'X<sub>1</sub>', 'x2': 'X<sub>2</sub>', 'x1^2': 'X<sub>1</sub><sup>2</sup>',
  'x2^2': 'X<sub>2</sub><sup>2</sup>', 'x1x2': 'X<sub>1</sub>X<sub>2</sub>',
  'sin(x1)': 'sin(X<sub>1</sub>)', 'sin(x2)': 'sin(X<sub>2</sub>)' };
export const ACTS = { relu: 'ReLU', tanh: 'Tanh', sigmoid: 'Sigmoid', linear: 'Linear', gelu: 'GELU' };

let app, send, notice, post, redraw;

// ctx: { app, send(update), notice(message), post(path, body), redraw() } from app.js
export function initNetwork(ctx) {
  ({ app, send, notice, post, redraw } = ctx);
  setupEditor();
}

export function options(select, values, label = (v) => String(v)) {
  select.innerHTML = '';
  for (const v of values) {
    const o = document.createElement('option');
    o.value = String(v); o.textContent = label(v);
    select.append(o);
  }
}


// ---------------------------------------------------------------- the network
const SVG = 'http://www.w3.org/2000/svg';

export function buildNetwork(s) {
  const host = $('network');
  host.innerHTML = '';
  const c = s.config;
  const outs = s.sizes.at(-1);
  const allFeatures = s.choices.features;
  const columns = [allFeatures.length, ...c.layers, outs];
  const scroll = host.parentElement;
  const HEAD = 64, LEFT = 58;   // room for the column headers and the feature names
  const H = Math.max(260, scroll.clientHeight - 8);
  const W = Math.max(300, scroll.clientWidth - 8 - LEFT);
  const most = Math.max(...columns);
  const per = (H - HEAD - 8) / most;
  const size = Math.round(Math.max(12, Math.min(46, per * 0.78)));
  const gap = Math.max(3, Math.round(Math.max(per, size + 3) - size));
  const colW = Math.max(size + 44, Math.min(170, W / columns.length));
  const height = Math.max(H, HEAD + most * (size + gap) + 8);
  const width = LEFT + colW * columns.length;
  host.style.width = `${width}px`;
  host.style.height = `${height}px`;
  // links are painted on a canvas (thousands of SVG paths restyled 30 times a second are
  // slow); transparent SVG paths on top of it catch the mouse
  const dpr = window.devicePixelRatio || 1;
  const paint = document.createElement('canvas');
  paint.className = 'links';
  paint.width = Math.round(width * dpr); paint.height = Math.round(height * dpr);
  paint.style.width = `${width}px`; paint.style.height = `${height}px`;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'links');
  svg.setAttribute('width', width); svg.setAttribute('height', height);
  host.append(paint, svg);
  const net = { size, nodes: [], links: [], unitOffset: [], columns, paint, dpr, hot: null };
  const x = (col) => LEFT + col * colW + (colW - size) / 2;
  const y = (i) => HEAD + i * (size + gap);
  // column headers
  columns.forEach((n, col) => {
    const head = document.createElement('div');
    head.className = 'col-head';
    head.style.left = `${LEFT + col * colW}px`; head.style.width = `${colW}px`;
    if (col === 0) head.innerHTML = '<b>Features</b><small>click to toggle</small>';
    else if (col === columns.length - 1) head.innerHTML = `<b>Output</b><small>${s.problem === 'regression' ? 'value' : outs === 1 ? 'P(class 1)' : 'P(class)'}</small>`;
    else headHidden(head, col - 1, n, c);
    host.append(head);
  });
  // nodes
  let unit = 0;
  columns.forEach((n, col) => {
    const nodes = [];
    for (let i = 0; i < n; i++) {
      const node = document.createElement('div');
      node.className = 'node';
      node.style.left = `${x(col)}px`; node.style.top = `${y(i)}px`;
      node.style.width = node.style.height = `${size}px`;
      const canvas = document.createElement('canvas');
      node.append(canvas);
      if (col === 0) {
        const f = allFeatures[i];
        const on = c.features.includes(f);
        node.classList.add('input', on ? 'on' : 'off');
        node.dataset.testid = `feature-${f}`;
        node.title = on ? 'Click to remove this input' : 'Click to use this input';
        const label = document.createElement('span');
        label.className = 'feature-label'; label.innerHTML = FEATURES[f];
        label.style.top = `${y(i) + size / 2 - 9}px`; label.style.left = `${x(col) - 54}px`;
        host.append(label);
        D.paintFeature(canvas, f, s.extent);
        node.addEventListener('click', () => toggleFeature(f));
      } else if (col < columns.length - 1) {
        node.dataset.testid = `node-${col}-${i}`;
      } else {
        node.classList.add('output');
        node.dataset.testid = `output-${i}`;
        if (n > 1) node.style.boxShadow = `0 0 0 2px ${D.css(D.CLASS_COLOURS[i % D.CLASS_COLOURS.length])}`;
        node.title = s.problem === 'regression' ? 'predicted value' : `P(class ${s.class_names[n > 1 ? i : 1]})`;
      }
      if (col > 0) {
        const bias = document.createElement('div');
        bias.className = 'bias';
        bias.dataset.testid = `bias-${col}-${i}`;
        bias.addEventListener('mouseenter', (e) => tip(e, () => `bias ${fmtW(app.frame?.biases[col - 1][i])}`));
        bias.addEventListener('mouseleave', untip);
        bias.addEventListener('click', (e) => { e.stopPropagation(); edit(e, col - 1, i, null); });
        node.append(bias);
      }
      node.addEventListener('mouseenter', () => { app.hover = { col, i }; redraw(); });
      node.addEventListener('mouseleave', () => { app.hover = null; redraw(); });
      host.append(node);
      nodes.push({ el: node, canvas, active: col > 0 || c.features.includes(allFeatures[i]) });
    }
    net.nodes.push(nodes);
    if (col > 0 && col < columns.length - 1) { net.unitOffset.push(unit); unit += n; }
  });
  // links: one per weight of each Linear layer; inactive inputs have none
  for (let col = 0; col < columns.length - 1; col++) {
    const from = net.nodes[col].map((nd, i) => ({ nd, i })).filter((o) => o.nd.active);
    const layer = [];
    net.nodes[col + 1].forEach((_, to) => {
      from.forEach(({ i }, k) => {
        const x1 = x(col) + size, y1 = y(i) + size / 2, x2 = x(col + 1), y2 = y(to) + size / 2;
        const mid = (x1 + x2) / 2;
        const d = `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`;
        const link = { x1, y1, x2, y2, mid, to, from: k };
        const hit = document.createElementNS(SVG, 'path');
        hit.setAttribute('d', d); hit.setAttribute('class', 'hit');
        hit.dataset.testid = `link-${col}-${to}-${k}`;
        hit.addEventListener('mouseenter', (e) => { net.hot = link; redraw(); tip(e, () => `weight ${fmtW(app.frame?.weights[col][to][k])}`); });
        hit.addEventListener('mousemove', moveTip);
        hit.addEventListener('mouseleave', () => { net.hot = null; redraw(); untip(); });
        hit.addEventListener('click', (e) => edit(e, col, to, k));
        svg.append(hit);
        layer.push(link);
      });
    });
    net.links.push(layer);
  }
  app.net = net;
}

function headHidden(head, l, n, c) {
  const max = app.state.choices.max_neurons;
  head.innerHTML = `<div class="pm"><button class="round tiny" data-testid="add-neuron-${l}" title="Add a neuron">+</button>` +
    `<button class="round tiny" data-testid="remove-neuron-${l}" title="Remove a neuron">&minus;</button></div>` +
    `<small>${n} neuron${n === 1 ? '' : 's'}</small>`;
  const sel = document.createElement('select');
  sel.className = 'layer-act'; sel.dataset.testid = `activation-${l}`;
  options(sel, app.state.choices.activations, (a) => ACTS[a]);
  sel.value = c.activations[l];
  sel.addEventListener('change', () => send({ activations: c.activations.map((a, j) => (j === l ? sel.value : a)) }));
  head.append(sel);
  const resize = (delta) => {
    const m = c.layers[l] + delta;
    if (m < 1 || m > max) return notice(`A layer has 1 to ${max} neurons.`);
    send({ layers: c.layers.map((v, j) => (j === l ? m : v)) });
  };
  head.querySelector('[data-testid^="add-neuron"]').addEventListener('click', () => resize(1));
  head.querySelector('[data-testid^="remove-neuron"]').addEventListener('click', () => resize(-1));
}

function toggleFeature(f) {
  const cur = app.state.config.features;
  if (cur.includes(f) && cur.length === 1) return notice('The network needs at least one input.');
  send({ features: cur.includes(f) ? cur.filter((g) => g !== f) : [...cur, f] });
}

// ---------------------------------------------------------------- tooltips and the weight editor
const fmtW = (w) => (w === undefined || w === null ? '–' : Number(w).toFixed(3));
let tipText = null;
function tip(e, text) { tipText = text; const t = $('tooltip'); t.hidden = false; moveTip(e); }
function moveTip(e) {
  const t = $('tooltip');
  if (!tipText) return;
  t.textContent = tipText();
  t.style.left = `${e.clientX + 12}px`; t.style.top = `${e.clientY + 12}px`;
}
function untip() { tipText = null; $('tooltip').hidden = true; }

let editing = null;
function edit(e, layer, to, from) {
  const f = app.frame;
  if (!f) return;
  editing = { layer, to, from };
  const form = $('weight-editor');
  const v = from === null ? f.biases[layer][to] : f.weights[layer][to][from];
  $('weight-label').textContent = from === null ? `Bias of unit ${to + 1}, layer ${layer + 1}` : `Weight ${from + 1}→${to + 1}, layer ${layer + 1}`;
  const input = $('weight-input');
  input.value = String(v);
  form.hidden = false;
  form.style.left = `${Math.min(e.clientX, innerWidth - 220)}px`; form.style.top = `${e.clientY + 10}px`;
  input.focus(); input.select();
}

function setupEditor() {
  const form = $('weight-editor');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const value = Number($('weight-input').value);
    if (!editing || !Number.isFinite(value)) return notice('Enter a finite number.');
    const { layer, to, from } = editing;
    form.hidden = true; editing = null;
    await post('/api/weight', { layer, to, from, value }).catch((err) => notice(err.message));
  });
  form.addEventListener('keydown', (e) => { if (e.key === 'Escape') { form.hidden = true; editing = null; } });
  document.addEventListener('mousedown', (e) => { if (!form.hidden && !form.contains(e.target)) { form.hidden = true; editing = null; } });
}


export function drawNetwork(f) {
  const net = app.net;
  if (!net) return;
  const { grid } = f;
  // hidden units
  for (let l = 0; l < net.columns.length - 2; l++) {
    net.nodes[l + 1].forEach((nd, i) => D.paintScalar(nd.canvas, D.decode(grid.units[net.unitOffset[l] + i]), grid.unit_n));
  }
  // outputs
  const outs = net.nodes.at(-1);
  const perClass = outs.length > 1;   // k > 2 classes: each output in its class colour
  outs.forEach((nd, i) => {
    const bytes = D.decode(grid.out[i]);
    if (perClass) D.paintProbability(nd.canvas, bytes, grid.n, D.CLASS_COLOURS[i % D.CLASS_COLOURS.length], app.view.discretize);
    else D.paintScalar(nd.canvas, bytes, grid.n, app.view.discretize);
  });
  // links: thickness and colour by weight, relative to the layer's largest (if above 1)
  const ctx = net.paint.getContext('2d');
  ctx.setTransform(net.dpr, 0, 0, net.dpr, 0, 0);
  ctx.clearRect(0, 0, net.paint.width, net.paint.height);
  const curve = (k) => {
    ctx.beginPath(); ctx.moveTo(k.x1, k.y1);
    ctx.bezierCurveTo(k.mid, k.y1, k.mid, k.y2, k.x2, k.y2); ctx.stroke();
  };
  net.links.forEach((layer, l) => {
    const W = f.weights[l];
    let m = 1;
    for (const row of W) for (const w of row) m = Math.max(m, Math.abs(w));
    for (const k of layer) {
      const w = W[k.to][k.from], a = Math.min(1, Math.abs(w) / m);
      ctx.strokeStyle = w >= 0 ? 'rgb(8,119,189)' : 'rgb(245,147,34)';
      ctx.globalAlpha = 0.35 + 0.65 * a;
      ctx.lineWidth = 0.4 + 5 * a;
      curve(k);
    }
  });
  ctx.globalAlpha = 1;
  if (net.hot) { ctx.strokeStyle = '#111'; ctx.lineWidth = 2.5; curve(net.hot); }
  net.nodes.slice(1).forEach((col, l) => col.forEach((nd, i) => {
    const b = f.biases[l][i];
    const bias = nd.el.querySelector('.bias');
    if (bias) bias.style.background = D.valueColour(Math.max(-1, Math.min(1, b)));
  }));
}

