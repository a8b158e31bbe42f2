// Drawing helpers with no page state: colours, heatmaps, points, the loss chart.
// Values arrive as bytes: 0 means -1 (orange), 255 means +1 (blue), ~128 means 0.

export const ORANGE = [245, 147, 34];
export const BLUE = [8, 119, 189];
export const NEUTRAL = [232, 234, 235];
export const CLASS_COLOURS = [ORANGE, BLUE, [44, 162, 95], [136, 86, 167], [215, 48, 31],
  [65, 182, 196], [231, 41, 138], [102, 166, 30], [166, 118, 29], [102, 102, 102]];

function mix(a, b, t) {
  return [0, 1, 2].map((c) => a[c] + (b[c] - a[c]) * t);
}

// 256 RGB triples: the diverging orange-neutral-blue scale
export const LUT = (() => {
  const t = new Uint8ClampedArray(256 * 3);
  for (let q = 0; q < 256; q++) {
    const v = q / 127.5 - 1;
    const rgb = mix(NEUTRAL, v < 0 ? ORANGE : BLUE, Math.min(1, Math.abs(v)));
    t.set(rgb.map(Math.round), q * 3);
  }
  return t;
})();

export function css(rgb, alpha = 1) {
  return `rgba(${rgb.map(Math.round).join(',')},${alpha})`;
}

// colour of a value in [-1, 1] on the diverging scale
export function valueColour(v) {
  const q = Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
  return `rgb(${LUT[q * 3]},${LUT[q * 3 + 1]},${LUT[q * 3 + 2]})`;
}

export function decode(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

// one value map (n*n bytes) into an n x n canvas
export function paintScalar(canvas, bytes, n, discretize = false) {
  if (canvas.width !== n) { canvas.width = n; canvas.height = n; }
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(n, n);
  const px = img.data;
  for (let i = 0; i < n * n; i++) {
    let q = bytes[i];
    if (discretize) q = q >= 128 ? 255 : 0;
    px[i * 4] = LUT[q * 3]; px[i * 4 + 1] = LUT[q * 3 + 1]; px[i * 4 + 2] = LUT[q * 3 + 2];
    px[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

// one class's probability map (bytes q = 255 p): neutral at 0, the class colour at 1
export function paintProbability(canvas, bytes, n, rgb, discretize = false) {
  if (canvas.width !== n) { canvas.width = n; canvas.height = n; }
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(n, n);
  const px = img.data;
  for (let i = 0; i < n * n; i++) {
    let p = bytes[i] / 255;
    if (discretize) p = p >= 0.5 ? 1 : 0;
    const c = mix(NEUTRAL, rgb, p);
    px[i * 4] = c[0]; px[i * 4 + 1] = c[1]; px[i * 4 + 2] = c[2]; px[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

// k class-probability maps: each pixel mixes the class colours by probability
export function paintClasses(canvas, maps, n, discretize = false) {
  if (canvas.width !== n) { canvas.width = n; canvas.height = n; }
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(n, n);
  const px = img.data;
  const k = maps.length;
  for (let i = 0; i < n * n; i++) {
    let r = 0, g = 0, b = 0, best = 0, arg = 0;
    for (let c = 0; c < k; c++) {
      const p = maps[c][i] / 255;
      if (p > best) { best = p; arg = c; }
      const col = CLASS_COLOURS[c % CLASS_COLOURS.length];
      r += p * col[0]; g += p * col[1]; b += p * col[2];
    }
    let rgb = [r, g, b];
    if (discretize) rgb = CLASS_COLOURS[arg % CLASS_COLOURS.length];
    rgb = mix(NEUTRAL, rgb, discretize ? 0.8 : 0.35 + 0.65 * Math.max(0, (best - 1 / k) / (1 - 1 / k)));
    px[i * 4] = rgb[0]; px[i * 4 + 1] = rgb[1]; px[i * 4 + 2] = rgb[2]; px[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

// a feature's values over the plane, for the input nodes (scaled to [-1, 1])
export function paintFeature(canvas, name, extent, n = 40) {
  const [x0, x1, y0, y1] = extent;
  const f = {
    'x1': (a) => a, 'x2': (a, b) => b, 'x1^2': (a) => a * a, 'x2^2': (a, b) => b * b,
    'x1x2': (a, b) => a * b, 'sin(x1)': (a) => Math.sin(a), 'sin(x2)': (a, b) => Math.sin(b),
  }[name];
  const vals = new Float64Array(n * n);
  let m = 1e-9;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = f(x0 + (x1 - x0) * j / (n - 1), y1 - (y1 - y0) * i / (n - 1));
      vals[i * n + j] = v; m = Math.max(m, Math.abs(v));
    }
  }
  const bytes = new Uint8Array(n * n);
  for (let i = 0; i < n * n; i++) bytes[i] = Math.round((vals[i] / m + 1) * 127.5);
  paintScalar(canvas, bytes, n);
}

// points on a map of size w x h; train points white-ringed, test points black-ringed
export function drawPoints(ctx, pts, w, h, extent, colourOf, test, radius = 3.2) {
  const [x0, x1, y0, y1] = extent;
  ctx.lineWidth = 1;
  ctx.strokeStyle = test ? 'rgba(0,0,0,0.85)' : 'rgba(255,255,255,0.95)';
  for (let i = 0; i < pts.x.length; i++) {
    const [a, b] = pts.x[i];
    const px = (a - x0) / (x1 - x0) * w, py = (y1 - b) / (y1 - y0) * h;
    ctx.beginPath();
    ctx.arc(px, py, radius, 0, 2 * Math.PI);
    ctx.fillStyle = colourOf(pts.y[i]);
    ctx.fill();
    ctx.stroke();
  }
}

// train and test loss (left axis) and test accuracy (dashed, right axis, 0..1)
export function drawChart(canvas, history, hasAccuracy) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = '#e3e6e8'; ctx.lineWidth = 1;
  for (let g = 0; g <= 4; g++) {
    const y = Math.round(4 + (h - 8) * g / 4) + 0.5;
    ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(w, y); ctx.stroke();
  }
  if (history.length < 2) return;
  const e0 = history[0][0], e1 = history[history.length - 1][0] || 1;
  let top = 1e-9;
  for (const p of history) top = Math.max(top, p[1] ?? 0, p[2] ?? 0);
  const X = (e) => (e - e0) / Math.max(1e-9, e1 - e0) * (w - 4) + 2;
  const line = (idx, colour, scale, dash) => {
    ctx.beginPath(); ctx.setLineDash(dash); ctx.strokeStyle = colour; ctx.lineWidth = 1.6;
    let started = false;
    for (const p of history) {
      if (p[idx] === null || p[idx] === undefined) continue;
      const y = h - 4 - (h - 8) * Math.min(1, p[idx] / scale);
      if (started) ctx.lineTo(X(p[0]), y); else { ctx.moveTo(X(p[0]), y); started = true; }
    }
    ctx.stroke(); ctx.setLineDash([]);
  };
  line(1, '#9aa3a8', top, []);
  line(2, '#1b1f22', top, []);
  if (hasAccuracy) line(4, '#2ca25f', 1, [4, 3]);
  const label = `loss ${top.toPrecision(2)}`;
  ctx.font = '10px system-ui, sans-serif';
  ctx.fillStyle = 'rgba(255,255,255,0.85)';
  ctx.fillRect(w - ctx.measureText(label).width - 6, 0, ctx.measureText(label).width + 6, 13);
  ctx.fillStyle = '#6b7479';
  ctx.fillText(label, w - ctx.measureText(label).width - 3, 10);
}
