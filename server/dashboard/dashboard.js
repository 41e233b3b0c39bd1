// cnnserve dashboard: pick a model, give an image, see the predictions, the
// feature maps of one layer and the hypercolumn of a set of layers.
// Plain browser JavaScript, no build step; it only talks to the server that
// served it (the page's Content-Security-Policy allows nothing else).
//
// API used: GET /v1/models, GET /v1/models/{m}/layers,
// POST /v1/models/{m}/featuremaps (format=json with encoding=base64 for the
// predictions and the grid, format=png with hypercolumn=1 for the
// hypercolumn; /classify for a model without spatial layers).
'use strict';

const MAX_DEFAULT_CHANNELS = 64;
const TOP_K = 5;

const state = {
  models: [],        // GET /v1/models entries
  model: null,       // the chosen model's name
  layers: [],        // GET /v1/models/{m}/layers entries with a spatial shape
  file: null,        // the image (File or Blob)
  gridSeq: 0,        // the latest grid request; older answers are dropped
  hyperSeq: 0,
  tiles: null,       // {layer, shape, channels, stats, data: Float32Array}
  urls: {},          // object URLs in use, by element id
};

const $ = (id) => document.getElementById(id);

function el(tag, props, children) {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  for (const c of children || []) e.append(c);
  return e;
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = false;
}

function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

function setStatus(text) {
  $('status').textContent = text;
}

// fetch() that throws an Error with the server's {"error": ...} message
// for any status other than 2xx.
async function api(path, options) {
  const resp = await fetch(path, options);
  if (!resp.ok) {
    let message = `${resp.status} ${resp.statusText}`;
    try {
      const body = await resp.json();
      if (body && body.error) message = `${resp.status}: ${body.error}`;
    } catch (e) {
      // not JSON: keep the status line
    }
    throw new Error(message);
  }
  return resp;
}

function modelPath(suffix) {
  return `/v1/models/${encodeURIComponent(state.model)}/${suffix}`;
}

// The image as the body of a POST.
function imageRequest() {
  return {
    method: 'POST',
    headers: { 'Content-Type': state.file.type || 'application/octet-stream' },
    body: state.file,
  };
}

// Replaces the object URL shown by an <img> (and frees the old one).
function showBlob(id, blob) {
  if (state.urls[id]) URL.revokeObjectURL(state.urls[id]);
  state.urls[id] = URL.createObjectURL(blob);
  $(id).src = state.urls[id];
  $(id).hidden = false;
}

// ---- models and layers ----------------------------------------------------

async function loadModels() {
  const list = await (await api('/v1/models')).json();
  state.models = list.models;
  const select = $('model');
  select.replaceChildren(...list.models.map((m) => el('option', { value: m.name, textContent: m.name })));
  select.value = list.default_model;
  await chooseModel(select.value);
}

function defaultChannels(layer) {
  const n = Math.min(layer.shape[0], MAX_DEFAULT_CHANNELS);
  return n === 1 ? '0' : `0-${n - 1}`;
}

async function chooseModel(name) {
  state.model = name;
  state.tiles = null;
  $('grid').replaceChildren();
  $('zoom').hidden = true;
  $('hypercolumn').hidden = true;
  const info = await (await api(modelPath('layers'))).json();
  state.layers = info.layers.filter((l) => l.shape.length === 3 && l.shape[1] * l.shape[2] > 1);
  const layerSelect = $('layer');
  layerSelect.replaceChildren(...state.layers.map((l) =>
    el('option', { value: l.name, textContent: `${l.name} (${l.op}${l.fused ? '+' + l.fused : ''})` })));
  if (state.layers.length) {
    chooseLayer(state.layers[0].name);
  } else {
    $('channels').value = '';
    $('layer-info').textContent = 'no layer with a spatial output';
  }

  const convs = state.layers.filter((l) => l.op.startsWith('conv'));
  const checked = new Set((convs.length ? convs : state.layers.slice(0, 1)).map((l) => l.name));
  const fieldset = $('hyper-layers');
  fieldset.replaceChildren(el('legend', { textContent: 'Layers' }), ...state.layers.map((l) =>
    el('label', {}, [el('input', { type: 'checkbox', value: l.name, checked: checked.has(l.name) }),
                     ` ${l.name} [${l.shape.join('×')}]`])));
  setStatus(`${name}: input ${info.input.shape.join('×')}, ${state.layers.length} spatial layers`);
  runAll();
}

function currentLayer() {
  return state.layers.find((l) => l.name === $('layer').value);
}

function chooseLayer(name) {
  $('layer').value = name;
  const layer = currentLayer();
  $('channels').value = defaultChannels(layer);
  $('layer-info').textContent = `${layer.op}${layer.fused ? ' + ' + layer.fused : ''}, ` +
    `[${layer.shape.join(', ')}]`;
}

// ---- predictions and feature maps ----------------------------------------

function topK() {
  const m = state.models.find((x) => x.name === state.model);
  return Math.min(TOP_K, m ? m.num_classes : TOP_K);
}

function renderPredictions(predictions) {
  $('predictions').replaceChildren(...predictions.map((p) => el('li', {}, [
    el('span', { className: 'label', textContent: p.label }),
    el('progress', { max: 1, value: p.probability }),
    el('span', { className: 'prob', textContent: `${(100 * p.probability).toFixed(1)} %` }),
  ])));
}

function renderTimings(t) {
  if (!t) {
    $('timings').textContent = '';
    return;
  }
  const parts = Object.entries(t).map(([k, v]) => `${k} ${Number(v).toFixed(2)}`);
  $('timings').textContent = `ms: ${parts.join(', ')}`;
}

// Little-endian float32 values from base64.
function decodeFloats(b64) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const view = new DataView(bytes.buffer);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

// Draws channel k of the tiles on a canvas of the channel's size, each value
// mapped to gray by the channel's own min/max (a constant channel is black).
function drawChannel(canvas, k) {
  const t = state.tiles;
  const [, h, w] = t.shape;
  const { min, max } = t.stats[k];
  const span = max > min ? max - min : 0;
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(w, h);
  const base = k * h * w;
  for (let i = 0; i < h * w; i++) {
    const g = span ? Math.round((255 * (t.data[base + i] - min)) / span) : 0;
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = g;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

function renderGrid() {
  const t = state.tiles;
  const tiles = t.channels.map((ch, k) => {
    const c = el('canvas', { title: `channel ${ch}`, tabIndex: 0 });
    c.dataset.channel = ch;
    drawChannel(c, k);
    c.addEventListener('click', () => zoom(k));
    c.addEventListener('keydown', (e) => { if (e.key === 'Enter') zoom(k); });
    return c;
  });
  $('grid').replaceChildren(...tiles);
  $('zoom').hidden = true;
}

function zoom(k) {
  const t = state.tiles;
  for (const c of $('grid').children) c.classList.toggle('selected', Number(c.dataset.channel) === t.channels[k]);
  drawChannel($('zoom-canvas'), k);
  const s = t.stats[k];
  $('zoom-caption').textContent = `${t.layer} channel ${t.channels[k]} (${t.shape[1]}×${t.shape[2]}): ` +
    `min ${s.min.toPrecision(4)}, max ${s.max.toPrecision(4)}, mean ${s.mean.toPrecision(4)}`;
  $('zoom').dataset.channel = t.channels[k];
  $('zoom').hidden = false;
}

// One /featuremaps request: the predictions and the chosen layer's maps
// (a model without spatial layers: /classify, predictions only).
async function runGrid() {
  const layer = currentLayer();
  if (!state.file) return;
  const seq = ++state.gridSeq;
  document.body.dataset.grid = 'loading';
  const q = new URLSearchParams({ top_k: topK() });
  if (layer) {
    q.set('layers', layer.name);
    q.set('encoding', 'base64');
    const channels = $('channels').value.trim();
    if (channels) q.set('channels', channels);
  }
  try {
    const url = `${modelPath(layer ? 'featuremaps' : 'classify')}?${q}`;
    const json = await (await api(url, imageRequest())).json();
    if (seq !== state.gridSeq) return;
    const result = json.results[0];
    renderPredictions(result.predictions);
    renderTimings(json.timings_ms);
    if (layer) {
      const l = result.layers[0];
      state.tiles = { layer: l.name, shape: l.shape, channels: l.channels, stats: l.stats,
                      data: decodeFloats(l.data_base64) };
      renderGrid();
    }
    document.body.dataset.grid = 'done';
  } catch (e) {
    if (seq !== state.gridSeq) return;
    document.body.dataset.grid = 'error';
    showError(`feature maps: ${e.message}`);
  }
}

// ---- hypercolumn ----------------------------------------------------------

async function runHypercolumn() {
  if (!state.file) return;
  const layers = [...$('hyper-layers').querySelectorAll('input:checked')].map((i) => i.value);
  const seq = ++state.hyperSeq;
  if (!layers.length) {
    $('hypercolumn').hidden = true;
    $('hyper-info').textContent = state.layers.length ? 'Check at least one layer.' : 'No layer with a spatial output.';
    return;
  }
  document.body.dataset.hyper = 'loading';
  const q = new URLSearchParams({ layers: layers.join(','), hypercolumn: 1, format: 'png' });
  try {
    const blob = await (await api(`${modelPath('featuremaps')}?${q}`, imageRequest())).blob();
    if (seq !== state.hyperSeq) return;
    showBlob('hypercolumn', blob);
    $('hypercolumn').dataset.layers = layers.join(',');
    $('hyper-info').textContent = `${layers.length} layer${layers.length > 1 ? 's' : ''}: ${layers.join(', ')}`;
    document.body.dataset.hyper = 'done';
  } catch (e) {
    if (seq !== state.hyperSeq) return;
    document.body.dataset.hyper = 'error';
    showError(`hypercolumn: ${e.message}`);
  }
}

function runAll() {
  clearError();
  runGrid();
  runHypercolumn();
}

function chooseFile(file) {
  if (!file) return;
  state.file = file;
  showBlob('preview', file);
  runAll();
}

// ---- wiring ---------------------------------------------------------------

function wire() {
  $('model').addEventListener('change', (e) => {
    clearError();
    chooseModel(e.target.value).catch((err) => showError(err.message));
  });
  $('layer').addEventListener('change', (e) => {
    chooseLayer(e.target.value);
    clearError();
    runGrid();
  });
  $('channels').addEventListener('change', () => { clearError(); runGrid(); });
  $('hyper-layers').addEventListener('change', () => { clearError(); runHypercolumn(); });
  $('file').addEventListener('change', (e) => chooseFile(e.target.files[0]));

  const drop = $('drop');
  drop.addEventListener('keydown', (e) => { if (e.key === 'Enter') $('file').click(); });
  for (const type of ['dragenter', 'dragover']) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add('over'); });
  }
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    chooseFile(e.dataTransfer.files[0]);
  });
  // A file dropped next to the drop zone must not replace the page.
  for (const type of ['dragover', 'drop']) document.addEventListener(type, (e) => e.preventDefault());
}

wire();
loadModels().catch((e) => showError(`models: ${e.message}`));
