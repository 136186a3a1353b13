#!/usr/bin/env node
'use strict';
// Boundary benchmark: JS main-thread CPU time per request spent *outside* the user's
// handler (dispatch into JS + response submission), and the batch-size distribution of
// requests handed to JS, at 1, 16 and 256 requests in flight.
//
//   node benchmark/boundary.js --help
//
// Three processes: this orchestrator, the server (`--serve NAME`, pinned to CPU 0) and a
// Node load generator (`--load`, pinned to CPU 1), talking over IPC. The server wraps its
// handler with process.hrtime.bigint() and snapshots, at the start and end of the
// measured window, its main thread's CPU time (/proc/self/task/PID/schedstat, ns), the
// whole process's CPU time (process.cpuUsage) and the handler totals. Per request:
//
//   main     main-thread CPU time / requests
//   user     the user's code in the handler (routing + building the body; --work-us adds
//            a busy loop there), i.e. the handler minus its calls into res
//   res      time inside res.writeHead() + res.end() (response submission, synchronous part)
//   outside  main - user: everything on the JS thread that the user did not write =
//            dispatch (parsing, event loop, napi calls, GC) + response submission
//   other    outside - res (dispatch + deferred submission work)
//   process  process.cpuUsage() / requests: all threads (tokio workers, libuv, V8 helpers)
//
// Batch sizes come from a hook that ferrohttp's core may expose: `server._ferroStats`
// (an object, or a function returning one), read before and after the window (numeric
// leaves are reported as deltas). Without it the column says "n/a".
//
// The load generator is a Node process, so it is usually the bottleneck at high
// concurrency: this tool measures per-request cost in the server, not peak throughput
// (that is benchmark/run.js with wrk).

const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const http = require('node:http');
const { spawn, spawnSync } = require('node:child_process');
const { threadCpuNs, allowedCpus, parseCpuList } = require('./lib/procstat.js');

const ROOT = path.resolve(__dirname, '..');
const SERVER_KINDS = {
  'node-http': () => require('node:http'),
  ferrohttp: () => require(ROOT),
};

const USAGE = `Usage: node benchmark/boundary.js [options]

JS-thread cost per request outside the user's handler (dispatch + response submission)
and ferrohttp's batch-size distribution, at several numbers of requests in flight.
Server on CPU 0, a Node load generator on CPU 1 (separate processes), GET /.

Options:
  --servers LIST     ${Object.keys(SERVER_KINDS).join(',')} (default: ferrohttp,node-http)
  --inflight LIST    requests in flight (default 1,16,256)
  --mode M           pipeline: raw sockets, CONNS connections each keeping INFLIGHT/CONNS
                     requests pipelined (refilled as responses arrive; default)
                     agent: keep-alive http.Agent, INFLIGHT connections, 1 request each
  --conns N          connections in pipeline mode (default: ceil(sqrt(INFLIGHT)))
  --duration S       measured seconds per point (default 5)
  --warmup S         seconds of load before measuring (default 1)
  --work-us N        busy-loop N µs in the handler, as "user work" (default 0)
  --port N           server port on 127.0.0.1 (default 18090)
  --server-cpu L     taskset CPU list for the server (default 0)
  --client-cpu L     taskset CPU list for the load generator (default 1)
  --no-pin           do not use taskset
  --json FILE        also write the results as JSON
  -h, --help         this text

Quick run:  node benchmark/boundary.js --duration 2 --inflight 1,16
`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function parseArgs(argv) {
  const o = {
    servers: 'ferrohttp,node-http', inflight: '1,16,256', mode: 'pipeline', conns: null, duration: '5', warmup: '1',
    workUs: '0', port: '18090', serverCpu: '0', clientCpu: '1', pin: true, json: null, help: false,
    role: null, name: null, target: null,
  };
  const flags = {
    '--servers': 'servers', '--inflight': 'inflight', '--mode': 'mode', '--conns': 'conns', '--duration': 'duration',
    '--warmup': 'warmup', '--work-us': 'workUs', '--port': 'port', '--server-cpu': 'serverCpu', '--client-cpu': 'clientCpu',
    '--json': 'json', '--serve': 'name',
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let val;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) { val = a.slice(eq + 1); a = a.slice(0, eq); }
    if (a === '-h' || a === '--help') o.help = true;
    else if (a === '--no-pin') o.pin = false;
    else if (a === '--load') o.role = 'load';
    else if (flags[a]) {
      if (val === undefined) val = argv[++i];
      if (val === undefined) die(`${a} needs a value`);
      o[flags[a]] = val;
      if (a === '--serve') o.role = 'serve';
    } else die(`unknown argument: ${argv[i]} (see --help)`);
  }
  const num = (k, min) => {
    const v = Number(o[k]);
    if (!Number.isFinite(v) || v < min) die(`--${k} must be a number >= ${min}`);
    o[k] = v;
  };
  num('duration', 0.1); num('warmup', 0); num('workUs', 0); num('port', 1);
  if (o.conns !== null) num('conns', 1);
  o.inflight = String(o.inflight).split(',').map(Number);
  if (o.inflight.some((n) => !Number.isInteger(n) || n < 1)) die('--inflight needs positive integers');
  o.servers = String(o.servers).split(',').filter(Boolean);
  for (const s of o.servers) if (!SERVER_KINDS[s]) die(`unknown server ${s}; known: ${Object.keys(SERVER_KINDS).join(', ')}`);
  if (!['pipeline', 'agent'].includes(o.mode)) die('--mode is pipeline or agent');
  return o;
}

function die(msg) {
  console.error(`boundary: ${msg}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------
// server role

function serve(opts) {
  let http_;
  try {
    http_ = SERVER_KINDS[opts.name]();
  } catch (e) {
    const hint = opts.name === 'ferrohttp' && !fs.existsSync(path.join(ROOT, 'dist', 'index.js'))
      ? ' (dist/index.js does not exist: run `npm run build` first)' : '';
    process.send({ type: 'fatal', error: `cannot load ${opts.name}: ${e.message.split('\n')[0]}${hint}` });
    process.exit(1);
  }
  const hr = process.hrtime.bigint;
  const workNs = BigInt(Math.round(opts.workUs * 1000));
  const HEADERS = { 'Content-Type': 'text/plain' };
  let count = 0;
  let userNs = 0n;
  let resNs = 0n;

  function handler(req, res) {
    const t0 = hr();
    // ---- the user's code: route and build the body (plus optional simulated work)
    const body = req.url === '/' ? 'Hello World' : `no route for ${req.url}`;
    if (workNs > 0n) { const end = t0 + workNs; while (hr() < end) { /* spin */ } }
    const t1 = hr();
    // ---- response submission
    res.writeHead(body === 'Hello World' ? 200 : 404, HEADERS);
    res.end(body);
    const t2 = hr();
    userNs += t1 - t0;
    resNs += t2 - t1;
    count++;
  }

  const server = http_.createServer(handler);
  const stats = () => {
    const s = server._ferroStats ?? server.ferroStats;
    try {
      const v = typeof s === 'function' ? s.call(server) : s;
      return v === undefined ? null : JSON.parse(JSON.stringify(v));
    } catch (e) {
      return { error: e.message };
    }
  };
  const snap = () => {
    const cpu = process.cpuUsage();
    const main = threadCpuNs(process.pid);
    return {
      t: Number(hr()),
      count,
      userNs: Number(userNs),
      resNs: Number(resNs),
      mainNs: main === null ? null : Number(main),
      procUs: cpu.user + cpu.system,
      stats: stats(),
    };
  };
  process.on('message', (m) => {
    if (m.type === 'snap') process.send({ type: 'snap', id: m.id, snap: snap() });
    else if (m.type === 'exit') process.exit(0);
  });
  process.on('disconnect', () => process.exit(0));
  server.on('error', (e) => { process.send({ type: 'fatal', error: `listen failed: ${e.message}` }); process.exit(1); });
  server.listen(opts.port, '127.0.0.1', () => process.send({ type: 'ready', pid: process.pid }));
}

// ---------------------------------------------------------------------------------------
// load role

// Counts complete HTTP/1.1 responses in a byte stream (Content-Length or chunked bodies).
class ResponseCounter {
  constructor() { this.buf = Buffer.alloc(0); this.bad = 0; }
  push(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let n = 0;
    for (;;) {
      const end = this.parseOne();
      if (end < 0) break;
      this.buf = this.buf.subarray(end);
      n++;
    }
    return n;
  }
  parseOne() { // returns the offset after one complete response, or -1
    const b = this.buf;
    const h = b.indexOf('\r\n\r\n');
    if (h < 0) return -1;
    const head = b.latin1Slice(0, h);
    if (!head.startsWith('HTTP/1.1 200')) this.bad++;
    const cl = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
    if (cl) {
      const end = h + 4 + Number(cl[1]);
      return b.length >= end ? end : -1;
    }
    if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) {
      let p = h + 4;
      for (;;) {
        const le = b.indexOf('\r\n', p);
        if (le < 0) return -1;
        const size = parseInt(b.latin1Slice(p, le), 16);
        if (Number.isNaN(size)) { this.bad++; return b.length; }
        p = le + 2 + size + 2; // data + CRLF (no trailers expected)
        if (b.length < p) return -1;
        if (size === 0) return p;
      }
    }
    return h + 4; // no body
  }
}

function load(opts) {
  const inflight = opts.inflight[0];
  const port = opts.port;
  const REQ = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  let responses = 0;
  let errors = 0;
  let stopped = false;
  const closers = [];

  function pipelineConn(depth) {
    const counter = new ResponseCounter();
    const sock = net.connect(port, '127.0.0.1');
    sock.setNoDelay(true);
    closers.push(() => sock.destroy());
    sock.on('connect', () => sock.write(REQ.repeat(depth)));
    sock.on('data', (chunk) => {
      const n = counter.push(chunk);
      responses += n;
      if (n > 0 && !stopped) sock.write(n === 1 ? REQ : REQ.repeat(n)); // keep `depth` in flight
    });
    sock.on('error', () => { errors++; });
    sock.on('close', () => { if (!stopped) { errors++; setTimeout(() => pipelineConn(depth), 10); } });
    return sock;
  }

  if (opts.mode === 'pipeline') {
    const conns = Math.min(inflight, opts.conns || Math.ceil(Math.sqrt(inflight)));
    for (let i = 0; i < conns; i++) {
      // spread inflight over conns: some carry one more when it does not divide evenly
      const depth = Math.floor(inflight / conns) + (i < inflight % conns ? 1 : 0);
      pipelineConn(depth);
    }
    process.send({ type: 'ready', conns, depth: inflight / conns });
  } else {
    const agent = new http.Agent({ keepAlive: true, maxSockets: inflight });
    closers.push(() => agent.destroy());
    const loop = () => {
      if (stopped) return;
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => { if (res.statusCode === 200) responses++; else errors++; loop(); });
      });
      req.on('error', () => { errors++; if (!stopped) setTimeout(loop, 10); });
    };
    for (let i = 0; i < inflight; i++) loop();
    process.send({ type: 'ready', conns: inflight, depth: 1 });
  }
  process.on('message', (m) => {
    if (m.type === 'stop') {
      stopped = true;
      for (const c of closers) c();
      process.send({ type: 'stopped', responses, errors }, () => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------
// orchestrator

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(false); });
    s.once('error', () => resolve(true));
  });
}

// Spawn this script in a role, optionally pinned; returns { child, next(type) }.
function spawnRole(args, cpus, pin) {
  const argv = pin ? ['taskset', '-c', cpus, process.execPath, __filename, ...args] : [process.execPath, __filename, ...args];
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], cwd: ROOT });
  const queue = [];
  const waiters = [];
  let exited = null;
  child.on('message', (m) => {
    const w = waiters.findIndex((x) => x.type === m.type || m.type === 'fatal');
    if (w >= 0) waiters.splice(w, 1)[0].resolve(m); else queue.push(m);
  });
  child.on('exit', (code, signal) => {
    exited = { code, signal };
    for (const w of waiters.splice(0)) w.reject(new Error(`process exited (${signal || `code ${code}`})`));
  });
  const next = (type, timeoutMs = 30000) => new Promise((resolve, reject) => {
    const q = queue.findIndex((x) => x.type === type || x.type === 'fatal');
    if (q >= 0) return resolve(queue.splice(q, 1)[0]);
    if (exited) return reject(new Error(`process exited (${exited.signal || `code ${exited.code}`})`));
    const w = { type, resolve, reject };
    waiters.push(w);
    setTimeout(() => {
      const i = waiters.indexOf(w);
      if (i >= 0) { waiters.splice(i, 1); reject(new Error(`no "${type}" message within ${timeoutMs} ms`)); }
    }, timeoutMs);
  });
  const done = new Promise((r) => child.on('exit', r));
  return { child, next, done, get exited() { return exited; } };
}

async function stopRole(role, msg) {
  if (!role || role.exited) return;
  try { role.child.send(msg); } catch { /* gone */ }
  await Promise.race([role.done, sleep(3000)]);
  if (!role.exited) { role.child.kill('SIGKILL'); await role.done; }
}

function delta(a, b) { // numeric leaves of b minus a (for cumulative counters); other values from b
  if (typeof b === 'number' && typeof a === 'number') return b - a;
  if (Array.isArray(b)) return b.map((v, i) => delta(Array.isArray(a) ? a[i] : undefined, v));
  if (b && typeof b === 'object') {
    const o = {};
    for (const k of Object.keys(b)) o[k] = delta(a && typeof a === 'object' ? a[k] : undefined, b[k]);
    return o;
  }
  return b;
}

async function measure(name, inflight, opts, pin) {
  let port = opts.port;
  while (!(await portFree(port))) port++;
  const common = ['--port', String(port), '--work-us', String(opts.workUs)];
  const srv = spawnRole(['--serve', name, ...common], opts.serverCpu, pin);
  let cli = null;
  let seq = 0;
  const snap = async () => { srv.child.send({ type: 'snap', id: ++seq }); return (await srv.next('snap')).snap; };
  try {
    const r = await srv.next('ready');
    if (r.type === 'fatal') return { name, inflight, error: r.error };
    cli = spawnRole(['--load', ...common, '--inflight', String(inflight), '--mode', opts.mode,
      ...(opts.conns ? ['--conns', String(opts.conns)] : [])], opts.clientCpu, pin);
    const ready = await cli.next('ready');
    if (ready.type === 'fatal') return { name, inflight, error: ready.error };
    await sleep(opts.warmup * 1000);
    const a = await snap();
    await sleep(opts.duration * 1000);
    const b = await snap();
    cli.child.send({ type: 'stop' });
    const stopped = await cli.next('stopped');
    const n = b.count - a.count;
    const per = (x) => (n > 0 && x !== null ? x / n / 1000 : null); // ns -> µs per request
    const mainNs = a.mainNs === null || b.mainNs === null ? null : b.mainNs - a.mainNs;
    const userNs = b.userNs - a.userNs;
    const resNs = b.resNs - a.resNs;
    return {
      name,
      inflight,
      mode: opts.mode,
      conns: ready.conns,
      depth: ready.depth,
      requests: n,
      seconds: (b.t - a.t) / 1e9,
      rps: n / ((b.t - a.t) / 1e9),
      main_us: per(mainNs),
      user_us: per(userNs),
      res_us: per(resNs),
      outside_us: per(mainNs === null ? null : mainNs - userNs),
      other_us: per(mainNs === null ? null : mainNs - userNs - resNs),
      process_us: per((b.procUs - a.procUs) * 1000),
      main_share: mainNs === null ? null : mainNs / (b.t - a.t),
      client_errors: stopped.errors,
      batch: b.stats === null ? null : delta(a.stats, b.stats),
    };
  } catch (e) {
    return { name, inflight, error: e.message };
  } finally {
    await stopRole(cli, { type: 'stop' });
    await stopRole(srv, { type: 'exit' });
  }
}

// cost of the 3 hrtime.bigint() calls the wrapper adds per request (ns)
function timerOverheadNs() {
  const hr = process.hrtime.bigint;
  const N = 200000;
  let x = 0n;
  const t0 = hr();
  for (let i = 0; i < N; i++) x += hr();
  const t1 = hr();
  return x > 0n ? (Number(t1 - t0) / N) * 3 : 0;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) { process.stdout.write(USAGE); return; }
  if (opts.role === 'serve') return serve(opts);
  if (opts.role === 'load') return load(opts);

  let pin = opts.pin;
  if (pin) {
    const allowed = allowedCpus() || [];
    const want = [...parseCpuList(opts.serverCpu), ...parseCpuList(opts.clientCpu)];
    if (spawnSync('taskset', ['-c', '0', 'true']).status !== 0 || !want.every((c) => allowed.includes(c))) {
      console.error('boundary: warning: taskset or the CPUs are not available: running unpinned');
      pin = false;
    }
  }
  if (threadCpuNs(process.pid) === null) {
    console.error('boundary: warning: /proc/self/task/PID/schedstat is not readable: main-thread figures are n/a');
  }
  console.log(`boundary: GET /, ${opts.mode} mode, ${opts.warmup} s warm-up + ${opts.duration} s per point, ` +
    `server ${pin ? `on CPU ${opts.serverCpu}` : 'unpinned'}, load ${pin ? `on CPU ${opts.clientCpu}` : 'unpinned'}, ` +
    `handler work ${opts.workUs} µs; timer overhead ≈ ${timerOverheadNs().toFixed(0)} ns/req (counted in "outside")\n`);

  const results = [];
  const f = (v, d = 2) => (v === null || v === undefined ? 'n/a' : v.toFixed(d));
  const cols = ['server', 'inflight', 'conns×depth', 'req/s', 'main µs', 'user µs', 'res µs', 'outside µs', 'other µs', 'process µs', 'main busy', 'batch sizes'];
  const widths = [10, 8, 11, 9, 8, 8, 7, 10, 9, 10, 9, 0];
  const line = (cells) => cells.map((c, i) => (widths[i] ? String(c).padStart(widths[i]) : ` ${c}`)).join(' ');
  console.log(line(cols));
  const skip = new Set();
  for (const name of opts.servers) {
    for (const inflight of opts.inflight) {
      if (skip.has(name)) continue;
      const r = await measure(name, inflight, opts, pin);
      results.push(r);
      if (r.error) {
        console.log(`${name.padStart(10)} ${String(inflight).padStart(8)}  error: ${r.error}`);
        if (/cannot load|listen failed/.test(r.error)) { skip.add(name); console.log(`${' '.repeat(20)}skipping ${name}`); }
        continue;
      }
      const depth = Number.isInteger(r.depth) ? r.depth : r.depth.toFixed(1);
      console.log(line([
        name, inflight, `${r.conns}×${depth}`, Math.round(r.rps), f(r.main_us), f(r.user_us), f(r.res_us), f(r.outside_us),
        f(r.other_us), f(r.process_us), r.main_share === null ? 'n/a' : `${(100 * r.main_share).toFixed(0)}%`,
        r.batch === null ? 'n/a' : JSON.stringify(r.batch),
      ]));
    }
  }
  console.log('\nPer request: main = JS main-thread CPU; user = handler code before res.*; res = res.writeHead+end; ' +
    'outside = main - user (dispatch + submission); other = outside - res; process = all threads. ' +
    '"main busy" near 100% means the server was saturated; lower means the Node load generator was the limit.');
  if (opts.json) {
    fs.writeFileSync(opts.json, JSON.stringify({ date: new Date().toISOString(), node: process.version, opts, results }, null, 2) + '\n');
    console.log(`boundary: wrote ${opts.json}`);
  }
}

main().catch((e) => { console.error(`boundary: ${e.stack || e.message}`); process.exit(1); });
