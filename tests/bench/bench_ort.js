#!/usr/bin/env node
// Benchmark helper: times ONNX Runtime (CPU, onnxruntime-node) on an ONNX file.
//
//   node bench_ort.js --model model.onnx --shape 3,224,224 [--batch 1,8]
//                     [--reps 10] [--warmup 10] [--warmup-ms 500] [--threads 2]
// Warm-up: at least --warmup runs and at least --warmup-ms milliseconds.
//
// Prints JSON on stdout: {"model", "threads", "reps", "ort_version",
// "results": [{"batch", "median_ms", "p10_ms", "p90_ms", "images_per_s"}]}.
// Progress goes to stderr.
'use strict';

const path = require('path');
const ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));

function parseArgs(argv) {
  const opts = { batch: '1,8', reps: 10, warmup: 10, 'warmup-ms': 500, threads: 2 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in opts) && key !== 'model' && key !== 'shape') throw new Error(`unknown option ${argv[i]}`);
    if (i + 1 >= argv.length) throw new Error(`option ${argv[i]} needs a value`);
    opts[key] = argv[i + 1];
  }
  if (!opts.model || !opts.shape) throw new Error('--model and --shape are required');
  return {
    model: opts.model,
    shape: opts.shape.split(',').map(Number),
    batches: String(opts.batch).split(',').map(Number),
    reps: Number(opts.reps),
    warmup: Number(opts.warmup),
    warmupMs: Number(opts['warmup-ms']),
    threads: Number(opts.threads),
  };
}

function quantile(sorted, q) {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  if (lo >= sorted.length - 1) return sorted[sorted.length - 1];
  return sorted[lo] + (pos - lo) * (sorted[lo + 1] - sorted[lo]);
}

async function timeBatch(session, opts, batch) {
  const n = batch * opts.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = 0x9e3779b9 >>> 0;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    data[i] = (s >>> 8) / (1 << 23) - 1;
  }
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [batch, ...opts.shape]) };
  const times = [];
  const warmUntil = Date.now() + opts.warmupMs;
  let warm = 0;
  while (times.length < opts.reps) {
    const warming = warm < opts.warmup || Date.now() < warmUntil;
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (warming) warm++; else times.push(ms);
  }
  times.sort((a, b) => a - b);
  const median = quantile(times, 0.5);
  return {
    batch, median_ms: median, p10_ms: quantile(times, 0.1), p90_ms: quantile(times, 0.9),
    images_per_s: (batch * 1e3) / median,
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const session = await ort.InferenceSession.create(opts.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const results = [];
  for (const b of opts.batches) {
    const r = await timeBatch(session, opts, b);
    process.stderr.write(`[ort] ${path.basename(path.dirname(opts.model))} batch ${b}: ` +
      `median ${r.median_ms.toFixed(3)} ms, ${r.images_per_s.toFixed(1)} images/s\n`);
    results.push(r);
  }
  process.stdout.write(JSON.stringify({
    model: opts.model, threads: opts.threads, reps: opts.reps, ort_version: ort.env.versions.common, results,
  }, null, 2) + '\n');
}

main().catch((e) => {
  process.stderr.write(`bench_ort: ${e.message}\n`);
  process.exit(1);
});
