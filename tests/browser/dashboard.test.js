#!/usr/bin/env node
// The dashboard end to end in headless Chromium (Debian's /usr/bin/chromium
// driven by playwright-core): a real `cnnserve serve` on a free loopback
// port, the page loaded from it, lenet5-fashion picked, a Fashion-MNIST PNG
// uploaded and another dropped. What the page shows is compared with what the
// API answers for the same image through a plain HTTP client: the top-1
// label (POST /classify), the number and size of the feature-map tiles (GET
// /v1/models/{m}/layers), the pixels of the enlarged tile (the layer's
// numbers from POST /featuremaps, mapped to gray by the channel's min/max),
// the hypercolumn image (the input's size, the checked layers). No console
// error, failed request or CSP violation may happen; an inline script
// injected at the end must be blocked by the page's CSP. A screenshot is
// saved as ARTIFACT_DIR/dashboard.png. Last, CORS as Chromium enforces it:
// a page of another loopback origin may POST to /featuremaps of a server
// started with --cors-origin for it (after a preflight the server counts),
// and reads the exposed X-* headers; a server without the flag refuses it.
//
// Usage: node dashboard.test.js PATH/TO/cnnserve ARTIFACT_DIR
'use strict';

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch (e) {
  console.error(`${e.message}\nplaywright-core is missing: run scripts/install-deps.sh (npm ci in tests/browser)`);
  process.exit(1);
}

const ROOT = path.resolve(__dirname, '..', '..');
const MODEL = 'lenet5-fashion';
const OTHER_MODEL = 'resnet-fashion';
const SAMPLES = path.join(ROOT, 'models', MODEL, 'samples');
const UPLOADED = path.join(SAMPLES, '0_ankle_boot.png');
const DROPPED = path.join(SAMPLES, '2_trouser.png');
const CHROMIUM = '/usr/bin/chromium';
const WAIT_MS = 60000;
const MAX_TILES = 64; // the page shows channels 0-63 of a layer by default

let passed = 0;
// Runs the assertions of one check (none when a wait before it was the
// assertion: waits throw on timeout) and counts it.
function check(name, fn) {
  fn();
  passed++;
  console.log(`ok ${passed} - ${name}`);
}

// ---- the server and a plain HTTP client ---------------------------------

function startServer(binary, repo, flags) {
  return new Promise((resolve, reject) => {
    const proc = spawn(binary, ['serve', '--models', repo, '--port', '0', '--default-model', OTHER_MODEL,
                                ...(flags || [])],
                       { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.log = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${proc.log}`)), WAIT_MS);
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk) => {
      proc.log += chunk;
      const m = /listening on http:\/\/[\d.]+:(\d+)/.exec(proc.log);
      if (m && !proc.port) {
        proc.port = Number(m[1]);
        clearTimeout(timer);
        resolve(proc);
      }
    });
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${proc.log}`)));
  });
}

function request(port, method, urlPath, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, headers: headers || {} }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function getJson(port, urlPath, body) {
  const r = await request(port, body ? 'POST' : 'GET', urlPath, body,
                          body ? { 'Content-Type': 'image/png' } : {});
  assert.equal(r.status, 200, `${urlPath}: ${r.status} ${r.body}`);
  return JSON.parse(r.body.toString('utf8'));
}

async function waitReady(port) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      if ((await request(port, 'GET', '/health/ready')).status === 200) return;
    } catch (e) {
      // not accepting yet
    }
    if (Date.now() > deadline) throw new Error('server never became ready');
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The top-1 label POST /classify answers for a PNG.
async function top1(port, png) {
  return (await getJson(port, `/v1/models/${MODEL}/classify?top_k=1`, png)).results[0].predictions[0].label;
}

// SIGTERM; resolves the server's exit status (or the signal that ended
// it). Under ASan a leak or error report makes it non-zero.
function stopServer(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode ?? proc.signalCode);
    proc.removeAllListeners('exit');
    proc.on('exit', (code, signal) => resolve(code ?? signal));
    proc.kill('SIGTERM');
  });
}

// A static page on a free loopback port: another origin than the API's.
function startPageServer() {
  return new Promise((resolve) => {
    const srv = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><title>another origin</title>');
    });
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

// A page of another origin calls the API of `apiPort` with fetch(): a POST
// of a PNG, which Chromium only sends after a successful CORS preflight.
// Returns what the page could read of the answer, or the fetch error.
async function crossOriginFetch(browser, pageOrigin, apiPort, png) {
  const page = await browser.newPage();
  try {
    await page.goto(`${pageOrigin}/`);
    return await page.evaluate(async ({ url, b64 }) => {
      const body = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      try {
        const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'image/png' }, body });
        return { status: r.status, type: r.headers.get('Content-Type'), grid: r.headers.get('X-Grid'),
                 predictions: r.headers.get('X-Predictions') };
      } catch (e) {
        return { error: String(e) };
      }
    }, { url: `http://127.0.0.1:${apiPort}/v1/models/${MODEL}/featuremaps?layers=features.0&format=png`,
         b64: png.toString('base64') });
  } finally {
    await page.close();
  }
}

// ---- the test -------------------------------------------------------------

async function main() {
  const [binary, artifacts] = process.argv.slice(2);
  if (!binary || !artifacts) throw new Error('usage: dashboard.test.js PATH/TO/cnnserve ARTIFACT_DIR');
  fs.mkdirSync(artifacts, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnserve-dashboard-'));
  for (const m of [MODEL, OTHER_MODEL]) fs.symlinkSync(path.join(ROOT, 'models', m), path.join(tmp, m));
  const server = await startServer(binary, tmp);
  let browser, corsServer, status, corsStatus;
  try {
    const port = server.port;
    await waitReady(port);
    const base = `http://127.0.0.1:${port}`;
    const uploaded = fs.readFileSync(UPLOADED);
    const dropped = fs.readFileSync(DROPPED);

    // The independent side: the API through a plain HTTP client.
    const ref1 = await top1(port, uploaded);
    const ref2 = await top1(port, dropped);
    const info = await getJson(port, `/v1/models/${MODEL}/layers`);
    const spatial = info.layers.filter((l) => l.shape.length === 3 && l.shape[1] * l.shape[2] > 1);
    const first = spatial[0];
    const convs = spatial.filter((l) => l.op.startsWith('conv')).map((l) => l.name);
    const second = spatial.find((l) => l.name !== first.name && l.shape[0] !== first.shape[0]);
    const nTiles = Math.min(first.shape[0], MAX_TILES);
    const zoomed = Math.min(2, nTiles - 1);
    const maps = await getJson(port, `/v1/models/${MODEL}/featuremaps?layers=${encodeURIComponent(first.name)}` +
                                     `&channels=${zoomed}`, uploaded);
    const zoomLayer = maps.results[0].layers[0];

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems = [];
    page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure().errorText}`));
    await page.addInitScript(() => {
      window.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });

    const resp = await page.goto(`${base}/`);
    const csp = resp.headers()['content-security-policy'] || '';
    check('GET / is the page, with a strict CSP and nosniff', () => {
      assert.equal(resp.status(), 200);
      assert.match(resp.headers()['content-type'], /^text\/html/);
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /img-src 'self' data: blob:/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(resp.headers()['x-content-type-options'], 'nosniff');
    });

    await page.waitForFunction((n) => document.querySelectorAll('#model option').length === n, 2, { timeout: WAIT_MS });
    const defaultModel = await page.inputValue('#model');
    check("the model list offers both models, the server's default chosen", () => {
      assert.equal(defaultModel, OTHER_MODEL);
    });

    await page.selectOption('#model', MODEL);
    await page.waitForFunction((name) => document.getElementById('layer').value === name, first.name,
                               { timeout: WAIT_MS });
    const layerOptions = await page.$$eval('#layer option', (os) => os.map((o) => o.value));
    check(`picking ${MODEL} lists its spatial layers, the first chosen`, () => {
      assert.deepEqual(layerOptions, spatial.map((l) => l.name));
    });

    await page.setInputFiles('#file', UPLOADED);
    await page.waitForFunction(() => document.body.dataset.grid === 'done' && document.body.dataset.hyper === 'done',
                               null, { timeout: WAIT_MS });
    const shown = await page.evaluate(() => ({
      top1: document.querySelector('#predictions li .label').textContent,
      predictions: document.querySelectorAll('#predictions li').length,
      tiles: [...document.querySelectorAll('#grid canvas')].map((c) => [c.width, c.height]),
      preview: document.getElementById('preview').naturalWidth,
    }));
    check('the uploaded image: preview, top-1 label as POST /classify answers', () => {
      assert.equal(shown.preview, 28);
      assert.equal(shown.top1, ref1);
      assert.equal(shown.predictions, 5);
    });
    check(`one tile per channel of ${first.name} (${nTiles}), each ${first.shape[2]}x${first.shape[1]}`, () => {
      assert.equal(shown.tiles.length, nTiles);
      for (const t of shown.tiles) assert.deepEqual(t, [first.shape[2], first.shape[1]]);
    });

    await page.click(`#grid canvas:nth-child(${zoomed + 1})`);
    await page.waitForSelector('#zoom:not([hidden])', { timeout: WAIT_MS });
    const zoom = await page.evaluate(() => {
      const c = document.getElementById('zoom-canvas');
      const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      return {
        caption: document.getElementById('zoom-caption').textContent,
        width: c.width, height: c.height,
        gray: Array.from({ length: c.width * c.height }, (_, i) => px[4 * i]),
        selected: [...document.querySelectorAll('#grid canvas.selected')].map((x) => x.dataset.channel),
        cssWidth: c.getBoundingClientRect().width,
      };
    });
    check(`a click on tile ${zoomed} enlarges it: its pixels are the layer's numbers from /featuremaps`, () => {
      assert.match(zoom.caption, new RegExp(`${first.name} channel ${zoomed} `));
      assert.deepEqual(zoom.selected, [String(zoomed)]);
      assert.deepEqual([zoom.width, zoom.height], [first.shape[2], first.shape[1]]);
      assert.ok(zoom.cssWidth >= 4 * first.shape[2], `enlarged to ${zoom.cssWidth} px`);
      const values = zoomLayer.data[0];
      const { min, max } = zoomLayer.stats[0];
      assert.ok(max > min, 'the reference channel is not constant');
      let worst = 0;
      values.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(zoom.gray[i] - Math.round((255 * (v - min)) / (max - min))));
      });
      assert.ok(worst <= 1, `gray differs from the API's numbers by ${worst}`);
    });

    const hyper = await page.evaluate(() => {
      const img = document.getElementById('hypercolumn');
      const c = document.createElement('canvas');
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      c.getContext('2d').drawImage(img, 0, 0);
      const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const gray = new Set(Array.from({ length: c.width * c.height }, (_, i) => px[4 * i]));
      return { w: img.naturalWidth, h: img.naturalHeight, hidden: img.hidden, layers: img.dataset.layers,
               levels: gray.size };
    });
    check('the hypercolumn: an image of the input size from the checked (conv) layers', () => {
      assert.equal(hyper.hidden, false);
      assert.deepEqual([hyper.w, hyper.h], [info.input.shape[2], info.input.shape[1]]);
      assert.equal(hyper.layers, convs.join(','));
      assert.ok(hyper.levels > 8, `only ${hyper.levels} gray levels`);
    });

    await page.uncheck(`#hyper-layers input[value="${convs[0]}"]`);
    await page.waitForFunction((l) => document.getElementById('hypercolumn').dataset.layers === l,
                               convs.slice(1).join(','), { timeout: WAIT_MS });
    check('unchecking a layer recomputes the hypercolumn without it', () => {});

    // A drop: a DataTransfer holding the second PNG, as a file dragged in.
    await page.evaluate((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'dropped.png', { type: 'image/png' }));
      document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true,
                                                                            cancelable: true }));
    }, dropped.toString('base64'));
    await page.waitForFunction((label) => document.body.dataset.grid === 'done' &&
                               document.querySelector('#predictions li .label').textContent === label,
                               ref2, { timeout: WAIT_MS });
    check(`a dropped image is classified as POST /classify answers (${ref2})`, () => {});

    await page.selectOption('#layer', second.name);
    await page.waitForFunction((n) => document.body.dataset.grid === 'done' &&
                               document.querySelectorAll('#grid canvas').length === n,
                               Math.min(second.shape[0], MAX_TILES), { timeout: WAIT_MS });
    check(`choosing ${second.name} shows its ${Math.min(second.shape[0], MAX_TILES)} tiles`, () => {});
    await page.click('#grid canvas:nth-child(1)');
    await page.waitForSelector('#zoom:not([hidden])', { timeout: WAIT_MS });

    const shot = path.join(artifacts, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot: ${shot}`);

    const violations = await page.evaluate(() => window.cspViolations.slice());
    check('no console error, failed request or CSP violation', () => {
      assert.deepEqual(problems, []);
      assert.deepEqual(violations, []);
    });

    // The policy is enforced: an injected inline script does not run.
    await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.inlineRan = true;';
      document.head.append(s);
    });
    await page.waitForFunction(() => window.cspViolations.length > 0, null, { timeout: WAIT_MS });
    const after = await page.evaluate(() => ({ ran: window.inlineRan === true, v: window.cspViolations }));
    check('an injected inline script is blocked by the CSP', () => {
      assert.equal(after.ran, false);
      assert.match(after.v[0], /^script-src/);
    });

    // CORS as a browser enforces it: a page of another origin may call a
    // server started with --cors-origin for that origin, not one without.
    const pageServer = await startPageServer();
    const other = `http://127.0.0.1:${pageServer.address().port}`;
    corsServer = await startServer(binary, tmp, ['--cors-origin', other]);
    try {
      await waitReady(corsServer.port);
      const allowed = await crossOriginFetch(browser, other, corsServer.port, uploaded);
      const refused = await crossOriginFetch(browser, other, port, uploaded);
      const metrics = (await request(corsServer.port, 'GET', '/metrics')).body.toString('utf8');
      const preflights = /cnnserve_requests_total\{[^}]*route="featuremaps",code="204"\} (\d+)/.exec(metrics);
      check('a page of the --cors-origin origin calls the API (preflight, exposed headers)', () => {
        assert.equal(allowed.error, undefined, allowed.error);
        assert.equal(allowed.status, 200);
        assert.ok(preflights && Number(preflights[1]) >= 1, 'the server saw no preflight (OPTIONS 204)');
        assert.equal(allowed.type, 'image/png');
        assert.match(allowed.grid, /^\d+x\d+$/);
        assert.equal(JSON.parse(allowed.predictions)[0].label, ref1);
      });
      check('the same page is refused by a server without --cors-origin', () => {
        assert.match(refused.error || '', /TypeError/);
      });
    } finally {
      corsStatus = await stopServer(corsServer);
      pageServer.close();
    }
  } finally {
    if (browser) await browser.close();
    status = await stopServer(server);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  check('both servers exit 0 on SIGTERM (under ASan: no error, no leak)', () => {
    assert.equal(status, 0, server.log);
    assert.equal(corsStatus, 0, corsServer.log);
  });
  console.log(`${passed} passed, 0 failed`);
}

main().catch((e) => {
  console.error(e.stack || String(e));
  console.log(`${passed} passed, 1 failed`);
  process.exit(1);
});
