// The xpnn playground page: a live view of a model that xpnn trains in Python.
// The server streams "state" (layout, data) and "frame" (weights, maps, losses) events;
// controls POST to /api/*. Frames are drawn on animation frames, newest only.
import * as D from './draw.js';
import { ACTS, FEATURES, buildNetwork, drawNetwork, initNetwork, options } from './network.js';

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
const NAMES = { circle: 'Circle', xor: 'XOR', gauss: 'Gaussian', spiral: 'Spiral',
  moons: 'Moons', plane: 'Plane', multigauss: 'Multi-Gaussian', csv: 'Your CSV' };
const OPTS = { sgd: 'SGD', momentum: 'SGD + momentum', adam: 'Adam' };
const REGS = { none: 'None', l1: 'L1', l2: 'L2' };
// URL hash key -> config key (the page-only view options are added in writeHash)
const HASH = { dataset: 'dataset', classes: 'classes', noise: 'noise', ratio: 'train_ratio',
  seed: 'seed', features: 'features', layers: 'layers', act: 'activations', dropout: 'dropout',
  reg: 'regularization', regRate: 'regularization_rate', opt: 'optimizer', lr: 'learning_rate',
  batch: 'batch_size' };
const LISTS = new Set(['features', 'layers', 'activations']);

const app = {
  state: null, frame: null, pending: null, history: [], hover: null, net: null,
  view: { showTest: false, discretize: false }, framesReceived: 0, framesDrawn: 0,
  fps: 0, controlsBuilt: false,
};
window.xpnnPlayground = app;

// the output map as numbers: P(class 1) for two classes, [P(c)] per class, or values
app.boundaryValues = () => {
  const f = app.frame, s = app.state;
  if (!f) return null;
  const maps = f.grid.out.map((b) => Array.from(D.decode(b)));
  if (s.problem === 'regression') return maps[0].map((q) => (q / 127.5 - 1) * s.target_scale);
  if (maps.length === 1) return maps[0].map((q) => q / 255);
  return maps.map((m) => m.map((q) => q / 255));
};

// ---------------------------------------------------------------- talking to the server
async function post(path, body, text = false) {
  const res = await fetch(path, {
    method: 'POST', body: text ? body : JSON.stringify(body),
    headers: { 'Content-Type': text ? 'text/csv' : 'application/json' },
  });
  const out = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok) throw new Error(out.error || `HTTP ${res.status}`);
  return out;
}

let noticeTimer = 0;
function notice(message) {
  const el = $('notice');
  el.textContent = message;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { el.textContent = ''; }, 10000);
}
const send = (update) => post('/api/config', update).catch((e) => notice(e.message));
const control = (action) => post('/api/control', { action }).catch((e) => notice(e.message));

function connect() {
  const es = new EventSource('/events');
  es.addEventListener('state', (e) => onState(JSON.parse(e.data)));
  es.addEventListener('frame', (e) => onFrame(JSON.parse(e.data)));
  es.onerror = () => setStatus('error', 'Lost the server; retrying…');
}

// ---------------------------------------------------------------- URL hash
function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const cfg = {};
  for (const [key, value] of params) {
    if (key === 'showTest' || key === 'discretize') { app.view[key] = value === '1'; continue; }
    const name = HASH[key];
    if (!name) continue;
    if (LISTS.has(name)) {
      const items = value === '' ? [] : value.split(',');
      cfg[name] = name === 'layers' ? items.map(Number) : items;
    } else {
      cfg[name] = /^-?[\d.e+-]+$/.test(value) ? Number(value) : value;
    }
  }
  return cfg;
}

function writeHash(cfg) {
  const params = new URLSearchParams();
  for (const [key, name] of Object.entries(HASH)) {
    const v = cfg[name];
    params.set(key, Array.isArray(v) ? v.join(',') : String(v));
  }
  params.set('showTest', app.view.showTest ? '1' : '0');
  params.set('discretize', app.view.discretize ? '1' : '0');
  history.replaceState(null, '', '#' + params.toString());
}

// ---------------------------------------------------------------- controls
function buildControls(ch) {
  options($('learning-rate'), ch.learning_rates);
  options($('activation'), ch.activations, (a) => ACTS[a]);
  options($('regularization'), ch.regularizations, (r) => REGS[r]);
  options($('regularization-rate'), ch.regularization_rates);
  options($('optimizer'), ch.optimizers, (o) => OPTS[o]);
  options($('dropout'), ch.dropouts);
  options($('classes'), Array.from({ length: ch.max_classes - 1 }, (_, i) => i + 2));
  const num = (id, key) => $(id).addEventListener('change', (e) => send({ [key]: Number(e.target.value) }));
  num('learning-rate', 'learning_rate');
  num('regularization-rate', 'regularization_rate');
  num('dropout', 'dropout');
  num('classes', 'classes');
  num('train-ratio', 'train_ratio');
  num('noise', 'noise');
  num('batch-size', 'batch_size');
  for (const id of ['train-ratio', 'noise', 'batch-size']) {
    $(id).addEventListener('input', (e) => sliderLabel(id, e.target.value));
  }
  $('regularization').addEventListener('change', (e) => send({ regularization: e.target.value }));
  $('optimizer').addEventListener('change', (e) => send({ optimizer: e.target.value }));
  $('activation').addEventListener('change', (e) =>
    send({ activations: app.state.config.layers.map(() => e.target.value) }));
  $('problem').addEventListener('change', (e) =>
    send({ dataset: e.target.value === 'regression' ? 'plane' : 'circle' }));
  $('regenerate').addEventListener('click', () => send({ seed: app.state.config.seed + 1 }));
  $('play').addEventListener('click', () => control('play'));
  $('pause').addEventListener('click', () => control('pause'));
  $('step').addEventListener('click', () => control('step'));
  $('reset').addEventListener('click', () => control('reset'));
  $('add-layer').addEventListener('click', () => {
    const c = app.state.config;
    if (c.layers.length >= app.state.choices.max_layers) return notice(`At most ${app.state.choices.max_layers} hidden layers.`);
    send({ layers: [...c.layers, c.layers.at(-1) ?? 4],
      activations: [...c.activations, c.activations.at(-1) ?? 'tanh'] });
  });
  $('remove-layer').addEventListener('click', () => {
    const c = app.state.config;
    if (c.layers.length) send({ layers: c.layers.slice(0, -1), activations: c.activations.slice(0, -1) });
  });
  $('show-test').addEventListener('change', (e) => { app.view.showTest = e.target.checked; redraw(); });
  $('discretize').addEventListener('change', (e) => { app.view.discretize = e.target.checked; redraw(); });
  $('upload-csv').addEventListener('change', upload);
  document.addEventListener('keydown', (e) => {
    if (e.target.closest('input, select, textarea, button') && e.key !== 'Escape') return;
    if (e.key === ' ') { e.preventDefault(); control(app.frame && app.frame.running ? 'pause' : 'play'); }
    if (e.key === 's' || e.key === 'ArrowRight') { e.preventDefault(); control('step'); }
  });
  initNetwork({ app, send, notice, post, redraw });
  app.controlsBuilt = true;
}

function sliderLabel(id, v) {
  document.querySelector(`[data-for="${id}"]`).textContent = id === 'train-ratio' ? `${v}%` : v;
}

function syncControls(s) {
  const c = s.config;
  $('learning-rate').value = String(c.learning_rate);
  $('regularization').value = c.regularization;
  $('regularization-rate').value = String(c.regularization_rate);
  $('optimizer').value = c.optimizer;
  $('dropout').value = String(c.dropout);
  $('problem').value = s.problem;
  const same = c.activations.every((a) => a === c.activations[0]);
  $('activation').value = same && c.activations.length ? c.activations[0] : '';
  $('classes').value = String(c.classes);
  $('classes').disabled = !['gauss', 'spiral'].includes(c.dataset);
  for (const [id, key] of [['train-ratio', 'train_ratio'], ['noise', 'noise'], ['batch-size', 'batch_size']]) {
    $(id).value = String(c[key]); sliderLabel(id, c[key]);
  }
  $('show-test').checked = app.view.showTest;
  $('discretize').checked = app.view.discretize;
  $('backend').textContent = `${s.backend} · ${s.device}`;
  $('regenerate').textContent = `Regenerate (seed ${c.seed})`;
  $('layer-count').textContent = `${c.layers.length} hidden layer${c.layers.length === 1 ? '' : 's'}`;
  $('accuracy').closest('div').hidden = s.problem === 'regression';
  document.querySelector('.acc-legend').hidden = s.problem === 'regression';
}

async function upload(e) {
  const file = e.target.files[0];
  e.target.value = '';
  if (!file) return;
  const msg = $('upload-message');
  try {
    const out = await post('/api/upload', await file.text(), true);
    msg.className = 'msg ok';
    msg.textContent = `Loaded ${out.points} points from ${file.name} (${out.problem}` +
      (out.classes ? `, ${out.classes} classes)` : ')');
  } catch (err) {
    msg.className = 'msg bad';
    msg.textContent = err.message;
  }
}

// ---------------------------------------------------------------- datasets
function pointColour(s) {
  if (s.problem === 'regression') return (v) => D.valueColour(v / s.target_scale);
  return (c) => D.css(D.CLASS_COLOURS[c % D.CLASS_COLOURS.length]);
}

function buildDatasets(s) {
  const box = $('datasets');
  box.innerHTML = '';
  const names = [...s.choices[s.problem], ...(s.csv ? ['csv'] : [])];
  for (const name of names) {
    const b = document.createElement('button');
    b.className = 'dataset' + (s.config.dataset === name ? ' selected' : '');
    b.dataset.testid = `dataset-${name}`;
    b.title = NAMES[name];
    const c = document.createElement('canvas');
    c.width = 112; c.height = 112;
    b.append(c);
    const label = document.createElement('span');
    label.textContent = NAMES[name];
    b.append(label);
    b.addEventListener('click', () => send({ dataset: name }));
    box.append(b);
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#f4f6f7'; ctx.fillRect(0, 0, 112, 112);
    if (name === 'csv') {
      const both = { x: [...s.train.x, ...s.test.x], y: [...s.train.y, ...s.test.y] };
      if (s.config.dataset === 'csv') D.drawPoints(ctx, both, 112, 112, s.extent, pointColour(s), false, 2.4);
      continue;
    }
    const p = s.previews[name];
    const reg = s.choices.regression.includes(name);
    const colour = reg ? (v) => D.valueColour(v) : (k) => D.css(D.CLASS_COLOURS[k % D.CLASS_COLOURS.length]);
    D.drawPoints(ctx, p, 112, 112, [-6, 6, -6, 6], colour, false, 2.4);
  }
}

// ---------------------------------------------------------------- events from the server
function onState(s) {
  app.state = s;
  if (!app.controlsBuilt) buildControls(s.choices);
  syncControls(s);
  app.history = s.history.slice();
  app.frame = null;
  buildDatasets(s);
  buildNetwork(s);
  writeHash(s.config);
}

function onFrame(f) {
  if (!app.state || f.run !== app.state.run) return;
  app.framesReceived++;
  const last = app.history.at(-1);
  if (f.point && (!last || last[0] !== f.point[0])) {
    app.history.push(f.point);
    if (app.history.length > 2000) app.history = app.history.filter((_, i) => i % 2 === 0);
  }
  app.pending = f;
}

function setStatus(state, text) {
  const el = $('status');
  el.dataset.state = state;
  el.querySelector('.text').textContent = text;
}

// ---------------------------------------------------------------- drawing
const fmtLoss = (v) => (v === null || v === undefined ? '–' : v.toFixed(3));

function readouts(f, s) {
  const e = $('epoch');
  e.dataset.value = String(f.epoch);
  e.textContent = String(f.epoch).padStart(6, '0').replace(/(\d{3})(\d{3})$/, '$1,$2');
  for (const [id, v] of [['loss-train', f.loss_train], ['loss-test', f.loss_test]]) {
    $(id).dataset.value = String(v); $(id).textContent = fmtLoss(v);
  }
  const acc = $('accuracy');
  acc.dataset.value = String(f.acc_test);
  acc.textContent = f.acc_test === null ? '–' : `${(100 * f.acc_test).toFixed(1)}%`;
  acc.title = f.acc_train === null ? '' : `train ${(100 * f.acc_train).toFixed(1)}%`;
  $('play').hidden = f.running; $('pause').hidden = !f.running;
  setStatus(f.status, f.message);
  $('speed').textContent = `${f.samples_per_s.toLocaleString('en-US')} samples/s · ${app.fps.toFixed(0)} frames/s`;
  $('speed').dataset.samplesPerS = String(f.samples_per_s);
  const conf = $('confusion');
  if (!f.confusion) { conf.innerHTML = ''; return; }
  const names = s.class_names;
  let html = '<table><caption title="rows: true class, columns: predicted class">Confusion (test): true ↓ predicted →</caption><tr><th></th>';
  html += names.map((n) => `<th>${escapeHtml(n)}</th>`).join('') + '</tr>';
  f.confusion.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    html += `<tr><th>${escapeHtml(names[i])}</th>` + row.map((v, j) => {
      const a = v / total;
      const col = i === j ? `rgba(44,162,95,${0.12 + 0.6 * a})` : `rgba(215,48,31,${a > 0 ? 0.1 + 0.6 * a : 0})`;
      return `<td style="background:${col}">${v}</td>`;
    }).join('') + '</tr>';
  });
  conf.innerHTML = html + '</table>';
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

const boundaryBuffer = document.createElement('canvas');

function boundary(f, s) {
  const canvas = $('boundary');
  const ctx = canvas.getContext('2d');
  const { grid } = f;
  const h = app.hover;
  const title = $('map-title');
  const outs = app.net.columns.length - 1;
  if (h && h.col === 0) {
    const feat = s.choices.features[h.i];
    D.paintFeature(boundaryBuffer, feat, s.extent, 80);
    title.innerHTML = `Input ${FEATURES[feat]}`;
  } else if (h && h.col < outs) {
    const l = h.col - 1;
    D.paintScalar(boundaryBuffer, D.decode(grid.units[app.net.unitOffset[l] + h.i]), grid.unit_n, app.view.discretize);
    const scale = grid.unit_scale[app.net.unitOffset[l] + h.i];
    title.textContent = `Neuron ${h.i + 1} of hidden layer ${h.col} (${ACTS[s.config.activations[l]]})` +
      (scale > 1 ? `, colours span ±${scale.toPrecision(3)}` : '');
  } else if (s.problem === 'classification' && s.classes > 2 && !(h && h.col === outs)) {
    D.paintClasses(boundaryBuffer, grid.out.map(D.decode), grid.n, app.view.discretize);
    title.textContent = 'Output: class probabilities';
  } else {
    const i = h ? h.i : 0;
    if (s.problem === 'classification' && s.classes > 2) {
      D.paintProbability(boundaryBuffer, D.decode(grid.out[i]), grid.n, D.CLASS_COLOURS[i % D.CLASS_COLOURS.length], app.view.discretize);
    } else {
      D.paintScalar(boundaryBuffer, D.decode(grid.out[i]), grid.n, app.view.discretize);
    }
    title.textContent = s.problem === 'regression' ? 'Output: predicted value'
      : s.classes > 2 ? `Output: P(class ${s.class_names[i]})` : `Output: probability of class ${s.class_names[1]}`;
  }
  const W = canvas.width, H = canvas.height;
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(boundaryBuffer, 0, 0, W, H);
  const colour = pointColour(s);
  D.drawPoints(ctx, s.train, W, H, s.extent, colour, false, 5.5);
  if (app.view.showTest) D.drawPoints(ctx, s.test, W, H, s.extent, colour, true, 5.5);
  // axis ticks
  ctx.fillStyle = 'rgba(40,48,52,0.7)'; ctx.font = '20px system-ui, sans-serif';
  const [x0, x1, y0, y1] = s.extent;
  ctx.fillText(fmtTick(x0), 6, H - 8);
  ctx.fillText(fmtTick(x1), W - 8 - ctx.measureText(fmtTick(x1)).width, H - 8);
  ctx.fillText(fmtTick(y1), 6, 24);
  const sc = document.querySelector('.scale');
  sc.querySelector('.lo').textContent = s.problem === 'regression' ? (-s.target_scale).toPrecision(2) : '-1';
  sc.querySelector('.hi').textContent = s.problem === 'regression' ? s.target_scale.toPrecision(2) : '1';
  sc.hidden = s.problem === 'classification' && s.classes > 2 && !(h && h.col < outs);
}

const fmtTick = (v) => (Math.abs(v) >= 10 ? v.toFixed(0) : Number(v.toPrecision(2)).toString());

function draw(f) {
  const s = app.state;
  readouts(f, s);
  drawNetwork(f);
  boundary(f, s);
  D.drawChart($('loss-chart'), app.history, s.problem === 'classification');
}

function redraw() { if (app.frame && app.state) draw(app.frame); }

let fpsCount = 0, fpsStart = performance.now();
function loop(now) {
  if (app.pending && app.state) {
    app.frame = app.pending; app.pending = null;
    draw(app.frame);
    app.framesDrawn++; fpsCount++;
  }
  if (now - fpsStart >= 1000) {
    app.fps = fpsCount * 1000 / (now - fpsStart); fpsCount = 0; fpsStart = now;
  }
  requestAnimationFrame(loop);
}

// ---------------------------------------------------------------- start
async function start() {
  const cfg = readHash();
  if (Object.keys(cfg).length) {
    try { await post('/api/config', cfg); } catch (e) { notice(`URL: ${e.message}`); }
  }
  connect();
  requestAnimationFrame(loop);
  let resizeTimer = 0;
  addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { if (app.state) { buildNetwork(app.state); redraw(); } }, 150);
  });
}
start();

