#!/usr/bin/env node
'use strict';
// `npm run bench`: load benchmark of ferrohttp vs node:http vs uWebSockets.js with wrk.
// Run `node benchmark/run.js --help` for the options; benchmark/README.md explains the method.
//
// Needs Linux (/proc, taskset) and wrk on PATH. On Debian/Ubuntu:
//   apt-get update && apt-get install -y wrk
// uWebSockets.js is installed on demand into benchmark/.deps (never into package.json).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { spawn, spawnSync } = require('node:child_process');

const proc = require('./lib/procstat.js');
const { checkServer } = require('./lib/check.js');
const report = require('./lib/report.js');

const BENCH_DIR = __dirname;
const ROOT = path.resolve(BENCH_DIR, '..');
const DEPS_DIR = path.join(BENCH_DIR, '.deps');
const UWS_NAME = '@trufflesuite/uws-js-unofficial';
const UWS_VERSION = '20.30.0-unofficial.0';
const UWS_DIR = path.join(DEPS_DIR, 'node_modules', ...UWS_NAME.split('/'));

const SCENARIOS = {
  hello: { conns: 64, path: '/', lua: 'get.lua', desc: "keep-alive, 64 conns, GET / → 'Hello World' text/plain" },
  json: { conns: 64, path: '/json', lua: 'get.lua', desc: 'keep-alive, 64 conns, GET /json → 97 B JSON.stringify per request' },
  pipe16: { conns: 64, path: '/', lua: 'pipeline.lua', arg: '16', desc: 'keep-alive, 64 conns, 16 pipelined GET / per write' },
  post64k: { conns: 16, path: '/echo', lua: 'post.lua', arg: '65536', desc: 'keep-alive, 16 conns, POST /echo with a 64 KiB body echoed' },
  close: { conns: 16, path: '/', lua: 'get.lua', close: true, desc: '16 conns, GET / with Connection: close (a new TCP connection per request)' },
};

const SERVERS = {
  'node-http': { script: 'node-http.js', desc: 'node:http (the reference)' },
  ferrohttp: { script: 'ferrohttp.js', desc: 'this package, from the repository root (npm run build first)' },
  uws: { script: 'uws.js', desc: `uWebSockets.js v20.30.0 (npm ${UWS_NAME}@${UWS_VERSION}, installed on demand)` },
};
const REF = 'node-http';

const RAW_COLUMNS = [
  'ts', 'rep', 'scenario', 'server', 'ok', 'error', 'conns', 'requests', 'duration_us', 'rps', 'p50_us', 'p90_us', 'p99_us',
  'max_us', 'errors', 'err_connect', 'err_read', 'err_write', 'err_status', 'err_timeout', 'wall_s', 'srv_cpu_s', 'srv_cpu_pct',
  'req_per_cpu_s', 'user_us_per_req', 'sys_us_per_req', 'srv_core_pct', 'cli_core_pct', 'wrk_cpu_pct', 'rss_kb', 'peak_kb', 'port', 'warnings',
];

const USAGE = `Usage: node benchmark/run.js [options]        (or: npm run bench -- [options])

Load benchmark: wrk against ferrohttp, node:http and uWebSockets.js in one interleaved run
(rep -> scenario -> server, server order rotated per rep). Each run starts a fresh server
process pinned to CPU 0, checks its responses, warms it up, then measures with wrk pinned
to CPU 1. Reports medians over the reps and ratios to node:http.

Options (environment variable in brackets):
  --reps N            repetitions per scenario and server (default 3)        [BENCH_REPS]
  --duration S        measured seconds per run, integer (default 10)         [BENCH_DURATION]
  --warmup S          warm-up seconds before each measured run (default 2)   [BENCH_WARMUP]
  --scenarios LIST    comma list of ${Object.keys(SCENARIOS).join(',')} (default: all)  [BENCH_SCENARIOS]
  --servers LIST      comma list of ${Object.keys(SERVERS).join(',')} (default: all)   [BENCH_SERVERS]
  --port N            port for the servers, 127.0.0.1 (default 18080)       [BENCH_PORT]
  --server-cpu LIST   taskset CPU list for the server (default 0)
  --client-cpu LIST   taskset CPU list for wrk (default 1)
  --no-pin            do not use taskset
  --threads N         wrk threads (default 1)
  --wrk PATH          wrk binary (default: wrk on PATH)                      [BENCH_WRK]
  --out-dir DIR       where results go (default benchmark/results)
  --name NAME         result file names: NAME.md/.json/.tsv/.svg (default latest)
  --no-install        do not npm-install uWebSockets.js if missing (uws is then skipped)
  --render FILE.json  only re-render NAME.md and NAME.svg from a results JSON (no load)
  -h, --help          this text

Scenarios:
${Object.entries(SCENARIOS).map(([k, s]) => `  ${k.padEnd(8)} ${s.desc}`).join('\n')}

Outputs: <out-dir>/<name>.md (Markdown table), .svg (chart: requests per server
CPU-second), .json (settings, raw rows, summary), .tsv (raw rows). Server logs and
partial results: benchmark/results/tmp/.

Quick smoke run:   npm run bench -- --reps 1 --duration 2 --scenarios hello
Needs wrk:         apt-get update && apt-get install -y wrk
The full default run (3 reps x 5 scenarios x 3 servers x ~13.5 s) takes about 10 minutes.
`;

// ---------------------------------------------------------------------------------------
// options

function parseArgs(argv) {
  const env = process.env;
  const o = {
    reps: env.BENCH_REPS || '3',
    duration: env.BENCH_DURATION || '10',
    warmup: env.BENCH_WARMUP || '2',
    scenarios: env.BENCH_SCENARIOS || Object.keys(SCENARIOS).join(','),
    servers: env.BENCH_SERVERS || Object.keys(SERVERS).join(','),
    port: env.BENCH_PORT || '18080',
    serverCpu: '0',
    clientCpu: '1',
    pin: true,
    threads: '1',
    wrk: env.BENCH_WRK || '',
    outDir: path.join(BENCH_DIR, 'results'),
    name: 'latest',
    install: true,
    render: null,
    help: false,
  };
  const flags = {
    '--reps': 'reps', '--duration': 'duration', '--warmup': 'warmup', '--scenarios': 'scenarios', '--servers': 'servers',
    '--port': 'port', '--server-cpu': 'serverCpu', '--client-cpu': 'clientCpu', '--threads': 'threads', '--wrk': 'wrk',
    '--out-dir': 'outDir', '--name': 'name', '--render': 'render',
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let val;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) { val = a.slice(eq + 1); a = a.slice(0, eq); }
    if (a === '-h' || a === '--help') o.help = true;
    else if (a === '--no-pin') o.pin = false;
    else if (a === '--no-install') o.install = false;
    else if (flags[a]) {
      if (val === undefined) {
        if (i + 1 >= argv.length) fail(`${a} needs a value (see --help)`);
        val = argv[++i];
      }
      o[flags[a]] = val;
    } else fail(`unknown argument: ${argv[i]} (see --help)`);
  }
  const int = (k, min) => {
    const v = Number(o[k]);
    if (!Number.isInteger(v) || v < min) fail(`--${k} must be an integer >= ${min}, got ${JSON.stringify(o[k])}`);
    o[k] = v;
  };
  if (!o.help && !o.render) {
    int('reps', 1); int('duration', 1); int('warmup', 0); int('port', 1); int('threads', 1);
    o.scenarios = list(o.scenarios, SCENARIOS, 'scenario');
    o.servers = list(o.servers, SERVERS, 'server');
  }
  o.outDir = path.resolve(o.outDir);
  return o;
}

function list(s, known, what) {
  const v = String(s).split(',').map((x) => x.trim()).filter(Boolean);
  for (const x of v) if (!known[x]) fail(`unknown ${what} "${x}"; known: ${Object.keys(known).join(', ')}`);
  if (!v.length) fail(`no ${what} selected`);
  return [...new Set(v)];
}

function fail(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

const log = (...a) => console.log(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// environment

function findWrk(opt) {
  const candidates = opt ? [opt] : (process.env.PATH || '').split(':').filter(Boolean).map((d) => path.join(d, 'wrk'));
  for (const c of candidates) {
    try { fs.accessSync(c, fs.constants.X_OK); return c; } catch { /* next */ }
  }
  return null;
}

function wrkVersion(wrk) {
  const r = spawnSync(wrk, ['--version'], { encoding: 'utf8' });
  const m = `${r.stdout}${r.stderr}`.match(/wrk\s+(\S+)/);
  return m ? `wrk ${m[1]}` : 'wrk (unknown version)';
}

function hasTaskset() {
  return spawnSync('taskset', ['-c', '0', 'true']).status === 0;
}

function gitDescribe() {
  const r = spawnSync('git', ['-C', ROOT, 'describe', '--always', '--dirty'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function readJson(file) {
  try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch { return null; }
}

// uWebSockets.js: install on demand into benchmark/.deps; check that the *native* binary
// loads (the republish otherwise silently falls back to a pure-JS implementation).
function ensureUws(opts) {
  const pkg = readJson(path.join(UWS_DIR, 'package.json'));
  if (!pkg || pkg.version !== UWS_VERSION) {
    if (!opts.install) return { ok: false, reason: `${UWS_NAME}@${UWS_VERSION} is not in benchmark/.deps and --no-install was given` };
    log(`bench: installing ${UWS_NAME}@${UWS_VERSION} into ${path.relative(process.cwd(), DEPS_DIR) || DEPS_DIR} (once) ...`);
    fs.mkdirSync(DEPS_DIR, { recursive: true });
    const r = spawnSync('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--ignore-scripts',
      '--loglevel', 'error', '--prefix', DEPS_DIR, `${UWS_NAME}@${UWS_VERSION}`], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.error || r.status !== 0) {
      return { ok: false, reason: `npm install ${UWS_NAME}@${UWS_VERSION} failed (${r.error ? r.error.message : `exit ${r.status}`})` };
    }
  }
  const binary = path.join(UWS_DIR, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(binary)})`], { encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) {
    const why = (r.stderr || '').trim().split('\n').filter(Boolean).slice(-1)[0] || `exit ${r.status}`;
    return { ok: false, reason: `the native uWS binary does not load on Node ${process.version} ${process.platform}-${process.arch}: ${why}` };
  }
  return { ok: true, version: `v20.30.0 (npm ${UWS_NAME}@${UWS_VERSION})` };
}

// ---------------------------------------------------------------------------------------
// processes

const live = { server: null, wrk: null };

function portInUse(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
    s.setTimeout(1000, () => { s.destroy(); resolve(true); });
  });
}

async function pickPort(base) {
  for (let p = base; p < base + 20; p++) if (!(await portInUse(p))) return p;
  throw new Error(`ports ${base}-${base + 19} on 127.0.0.1 are all in use`);
}

// The server's output since its last start: the first error line (for one-line
// messages) and an excerpt starting there (for the console).
function startupOutput(file) {
  let lines = [];
  try {
    const all = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    let start = 0;
    all.forEach((l, i) => { if (l.startsWith('--- ')) start = i + 1; });
    lines = all.slice(start);
  } catch { /* no log */ }
  let at = lines.findIndex((l) => /^\w*Error\b|\bError:|^uws:/.test(l));
  if (at < 0) at = Math.max(0, lines.length - 8);
  return {
    first: (lines[at] || '').trim().slice(0, 300),
    excerpt: lines.slice(at, at + 8).map((l) => `    | ${l}`).join('\n'),
  };
}

class ServerError extends Error {
  constructor(short, detail) {
    super(detail ? `${short}\n${detail}` : short);
    this.short = short;
  }
}

async function startServer(name, port, ctx) {
  const script = path.join(BENCH_DIR, 'servers', SERVERS[name].script);
  const logFile = path.join(ctx.tmpDir, `${name}.log`);
  const fd = fs.openSync(logFile, 'a');
  fs.writeSync(fd, `--- ${new Date().toISOString()} start ${name} on 127.0.0.1:${port}\n`);
  const argv = ctx.pin ? ['taskset', '-c', ctx.serverCpu, process.execPath, script] : [process.execPath, script];
  const child = spawn(argv[0], argv.slice(1), {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', fd, fd],
    detached: true, // own process group, so that stopping it reaches nothing else
  });
  fs.closeSync(fd);
  const srv = { name, child, pid: child.pid, port, logFile, exited: null };
  srv.exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => { srv.exited = { code, signal }; resolve(); });
    child.on('error', (e) => { srv.exited = { error: e.message }; resolve(); });
  });
  live.server = srv;
  const deadline = Date.now() + 30000;
  for (;;) {
    if (srv.exited) {
      live.server = null;
      const how = srv.exited.error || (srv.exited.signal ? `signal ${srv.exited.signal}` : `exit code ${srv.exited.code}`);
      const out = startupOutput(logFile);
      let hint = '';
      if (name === 'ferrohttp' && !fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) {
        hint = ' [dist/index.js does not exist: build the package first with `npm run build`]';
      }
      throw new ServerError(`the server exited during start-up (${how}): ${out.first || 'no output'}${hint}`,
        `    server output (${path.relative(process.cwd(), logFile)}):\n${out.excerpt}`);
    }
    if (await portInUse(port)) return srv;
    if (Date.now() > deadline) {
      await stopServer(srv);
      throw new ServerError(`the server did not open 127.0.0.1:${port} within 30 s`,
        `    server output (${path.relative(process.cwd(), logFile)}):\n${startupOutput(logFile).excerpt}`);
    }
    await sleep(100);
  }
}

async function stopServer(srv) {
  if (!srv) return;
  const kill = (sig) => { try { process.kill(-srv.pid, sig); } catch { /* gone */ } };
  if (!srv.exited) {
    kill('SIGTERM');
    await Promise.race([srv.exitPromise, sleep(5000)]);
    if (!srv.exited) { kill('SIGKILL'); await srv.exitPromise; }
  }
  if (live.server === srv) live.server = null;
}

function parseResult(stdout) {
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT'));
  if (!line) return null;
  const r = {};
  for (const kv of line.split(' ').slice(1)) {
    const [k, v] = kv.split('=');
    r[k] = Number(v);
  }
  return r;
}

function runWrk(scen, port, secs, ctx) {
  const s = SCENARIOS[scen];
  const args = [`-t${ctx.threads}`, `-c${s.conns}`, `-d${secs}s`, '--timeout', '5s', '-s', path.join(BENCH_DIR, 'lua', s.lua)];
  if (s.close) args.push('-H', 'Connection: close'); // wrk wants exactly "Name: value"
  args.push(`http://127.0.0.1:${port}${s.path}`);
  if (s.arg) args.push('--', s.arg);
  const argv = ctx.pin ? ['taskset', '-c', ctx.clientCpu, ctx.wrk, ...args] : [ctx.wrk, ...args];
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    live.wrk = child;
    let stdout = '';
    let stderr = '';
    let cpu = null; // wrk's own CPU seconds, polled (it is gone once it has exited)
    const sample = () => { const t = proc.cpuSeconds(child.pid); if (t !== null) cpu = t; };
    const poll = setInterval(sample, 200);
    const killer = setTimeout(() => child.kill('SIGKILL'), (secs + 30) * 1000);
    child.stdout.on('data', (d) => { stdout += d; if (stdout.includes('BENCH_RESULT')) sample(); });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', (e) => { stderr += e.message; });
    child.on('close', (code) => {
      clearInterval(poll);
      clearTimeout(killer);
      live.wrk = null;
      resolve({ code, stdout, stderr, result: parseResult(stdout), wrkCpuS: cpu });
    });
  });
}

// One measured cell: fresh server, response check, warm-up, measured run, stop.
async function runCell(rep, scen, name, ctx) {
  const row = { ts: new Date().toISOString(), rep, scenario: scen, server: name, conns: SCENARIOS[scen].conns, ok: false };
  const port = await pickPort(ctx.port);
  row.port = port;
  const srv = await startServer(name, port, ctx); // throws ServerError
  try {
    const chk = await checkServer(port);
    if (chk.errors.length) throw new ServerError(`response check failed: ${chk.errors.join('; ')}`);
    row.warnings = chk.warnings.join('; ');
    if (ctx.warmup > 0) await runWrk(scen, port, ctx.warmup, ctx);
    if (srv.exited) throw new Error('the server died during the warm-up');

    const busy0 = { s: proc.cpuBusy(ctx.serverCpuIds), c: proc.cpuBusy(ctx.clientCpuIds) };
    const split0 = proc.cpuSplit(srv.pid);
    const cpu0 = proc.cpuSeconds(srv.pid);
    const t0 = process.hrtime.bigint();
    const w = await runWrk(scen, port, ctx.duration, ctx);
    const t1 = process.hrtime.bigint();
    const cpu1 = proc.cpuSeconds(srv.pid);
    const split1 = proc.cpuSplit(srv.pid);
    const busy1 = { s: proc.cpuBusy(ctx.serverCpuIds), c: proc.cpuBusy(ctx.clientCpuIds) };
    row.rss_kb = proc.statusKb(srv.pid, 'VmRSS');
    row.peak_kb = proc.statusKb(srv.pid, 'VmHWM');
    if (srv.exited || cpu1 === null) throw new Error('the server died during the measured run');
    if (!w.result) {
      throw new Error(`no result from wrk (exit ${w.code}): ${(w.stderr || w.stdout).trim().split('\n').slice(-3).join(' / ')}`);
    }
    const r = w.result;
    const wall = Number(t1 - t0) / 1e9;
    // busy share of the pinned cores from /proc/stat (100 = one core; includes softirq and foreign load)
    const pct = (a, b, n) => (b.total > a.total ? (100 * n * (b.busy - a.busy)) / (b.total - a.total) : null);
    Object.assign(row, {
      requests: r.requests,
      duration_us: r.duration_us,
      rps: r.rps,
      p50_us: r.lat_p50_us,
      p90_us: r.lat_p90_us,
      p99_us: r.lat_p99_us,
      max_us: r.lat_max_us,
      err_connect: r.err_connect,
      err_read: r.err_read,
      err_write: r.err_write,
      err_status: r.err_status,
      err_timeout: r.err_timeout,
      errors: r.err_connect + r.err_read + r.err_write + r.err_status + r.err_timeout,
      wall_s: wall,
      srv_cpu_s: cpu1 - cpu0,
      srv_cpu_pct: (100 * (cpu1 - cpu0)) / wall,
      req_per_cpu_s: cpu1 > cpu0 ? r.requests / (cpu1 - cpu0) : null,
      user_us_per_req: split0 && split1 && r.requests > 0 ? (1e6 * (split1.user - split0.user)) / r.requests : null,
      sys_us_per_req: split0 && split1 && r.requests > 0 ? (1e6 * (split1.sys - split0.sys)) / r.requests : null,
      srv_core_pct: pct(busy0.s, busy1.s, ctx.serverCpuIds.length),
      cli_core_pct: pct(busy0.c, busy1.c, ctx.clientCpuIds.length),
      wrk_cpu_pct: w.wrkCpuS === null ? null : (100 * w.wrkCpuS) / wall,
      ok: r.requests > 0,
    });
    if (!row.ok) row.error = 'wrk completed no requests';
  } catch (e) {
    row.error = e.message;
    if (e instanceof ServerError) { await stopServer(srv); throw e; }
  } finally {
    await stopServer(srv);
  }
  return row;
}

// ---------------------------------------------------------------------------------------
// output

function writeOutputs(result, dir, name) {
  fs.mkdirSync(dir, { recursive: true });
  const files = {};
  const put = (ext, text) => { const f = path.join(dir, `${name}.${ext}`); fs.writeFileSync(f, text); files[ext] = f; };
  put('json', JSON.stringify(result, null, 2) + '\n');
  put('tsv', report.tsv(result.rows, RAW_COLUMNS));
  put('md', report.markdown(result));
  put('svg', report.svg(result));
  return files;
}

function cellLine(r) {
  const k = (v) => report.fmtInt(v).padStart(10);
  if (!r.ok) return `FAILED: ${r.error}`;
  return `${k(r.rps)} req/s ${k(r.req_per_cpu_s)} req/CPU-s  p50 ${(r.p50_us / 1000).toFixed(2).padStart(6)} ms` +
    `  p99 ${(r.p99_us / 1000).toFixed(2).padStart(6)} ms  srv ${String(Math.round(r.srv_cpu_pct)).padStart(3)}%` +
    ` (core ${r.srv_core_pct == null ? '  -' : String(Math.round(r.srv_core_pct)).padStart(3)}%)` +
    `  wrk ${r.wrk_cpu_pct == null ? '  -' : String(Math.round(r.wrk_cpu_pct)).padStart(3)}%` +
    `  peak ${(r.peak_kb / 1024).toFixed(1).padStart(6)} MB  err ${r.errors}`;
}

// ---------------------------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) { process.stdout.write(USAGE); return; }

  if (opts.render) {
    const result = readJson(opts.render);
    if (!result || !result.rows) fail(`cannot read a results JSON from ${opts.render}`);
    result.summary = report.summarize(result.rows, { scenarios: result.meta.scenarioDefs, servers: result.meta.servers, ref: result.meta.ref });
    const files = writeOutputs(result, opts.outDir, opts.name);
    log(`bench: rendered ${Object.values(files).join(', ')}`);
    return;
  }

  if (process.platform !== 'linux' || !fs.existsSync('/proc/self/stat')) fail('needs Linux (/proc) to measure server CPU time and RSS');
  const wrk = findWrk(opts.wrk);
  if (!wrk) {
    fail(`wrk not found${opts.wrk ? ` at ${opts.wrk}` : ' on PATH'}. Install it, e.g. on Debian/Ubuntu:\n` +
      '    apt-get update && apt-get install -y wrk\n  or point --wrk / BENCH_WRK at a wrk binary.');
  }
  const warnings = [];
  let pin = opts.pin;
  const allowed = proc.allowedCpus() || [];
  const serverCpuIds = proc.parseCpuList(opts.serverCpu);
  const clientCpuIds = proc.parseCpuList(opts.clientCpu);
  if (pin && !hasTaskset()) {
    pin = false;
    warnings.push('taskset not found (util-linux): server and wrk ran unpinned');
  } else if (pin && ![...serverCpuIds, ...clientCpuIds].every((c) => allowed.includes(c))) {
    pin = false;
    warnings.push(`CPUs ${opts.serverCpu}/${opts.clientCpu} are not all available (allowed: ${allowed.join(',')}): server and wrk ran unpinned`);
  }
  for (const w of warnings) console.error(`bench: warning: ${w}`);

  const started = new Date();
  const stamp = started.toISOString().replace(/[-:]/g, '').replace(/\..*/, 'Z');
  const tmpDir = path.join(BENCH_DIR, 'results', 'tmp', `run-${stamp}`);
  fs.mkdirSync(tmpDir, { recursive: true });

  const ctx = {
    pin,
    wrk,
    threads: opts.threads,
    port: opts.port,
    warmup: opts.warmup,
    duration: opts.duration,
    serverCpu: opts.serverCpu,
    clientCpu: opts.clientCpu,
    serverCpuIds: pin ? serverCpuIds : allowed,
    clientCpuIds: pin ? clientCpuIds : allowed,
    tmpDir,
  };

  const rootPkg = readJson(path.join(ROOT, 'package.json')) || {};
  const meta = {
    started: started.toISOString(),
    finished: null,
    reps: opts.reps,
    duration: opts.duration,
    warmup: opts.warmup,
    wrkThreads: opts.threads,
    serverCpus: pin ? opts.serverCpu : null,
    clientCpus: pin ? opts.clientCpu : null,
    ref: REF,
    servers: opts.servers,
    scenarios: opts.scenarios,
    scenarioDefs: opts.scenarios.map((n) => ({ name: n, ...SCENARIOS[n] })),
    versions: {
      node: process.version,
      wrk: wrkVersion(wrk),
      uws: null,
      ferrohttp: rootPkg.version || null,
      commit: gitDescribe(),
    },
    machine: { cpu: (os.cpus()[0] || {}).model || '?', cpus: os.cpus().length, kernel: os.release() },
    rawLatencyWrk: false,
    skipped: {},
    warnings,
    rawFiles: [],
    interrupted: false,
  };
  meta.rawLatencyWrk = /raw/.test(meta.versions.wrk);

  log(`bench: ${meta.versions.wrk} (${wrk}), Node ${process.version}, ${meta.machine.cpus} CPUs; ` +
    (pin ? `server on CPU ${opts.serverCpu}, wrk on CPU ${opts.clientCpu}` : 'unpinned'));
  if (meta.machine.cpus < 2) console.error('bench: warning: fewer than 2 CPUs: server and wrk compete for one core');

  // uWS on demand
  if (opts.servers.includes('uws')) {
    const u = ensureUws(opts);
    if (u.ok) meta.versions.uws = u.version;
    else {
      meta.skipped.uws = u.reason;
      log(`bench: SKIP uws: ${u.reason}. Continuing without it.`);
    }
  }

  // Pre-flight: every server must start and answer correctly once, else it is skipped.
  for (const name of opts.servers) {
    if (meta.skipped[name]) continue;
    try {
      const srv = await startServer(name, await pickPort(opts.port), ctx);
      try {
        const chk = await checkServer(srv.port);
        if (chk.errors.length) throw new ServerError(`response check failed: ${chk.errors.join('; ')}`);
        for (const w of chk.warnings) log(`bench: warning: ${name}: ${w}`);
        log(`bench: ${name.padEnd(9)} ok (${SERVERS[name].desc})`);
      } finally {
        await stopServer(srv);
      }
    } catch (e) {
      meta.skipped[name] = e.short || e.message.split('\n')[0];
      log(`bench: SKIP ${name}: ${e.message}\n    Continuing without ${name}.`);
    }
  }
  const active = opts.servers.filter((n) => !meta.skipped[n]);
  if (!active.length) fail('no server could be started; nothing to measure');
  if (!active.includes(REF)) log(`bench: note: ${REF} is not measured, so there are no ratios`);

  const total = opts.reps * opts.scenarios.length * active.length;
  const eta = Math.ceil((total * (opts.warmup + opts.duration + 1.5)) / 60);
  log(`bench: ${opts.reps} rep(s) x ${opts.scenarios.length} scenario(s) x ${active.length} server(s) = ${total} runs of ` +
    `${opts.warmup} s + ${opts.duration} s, about ${eta} min\n`);

  const rows = [];
  const partial = () => {
    meta.finished = new Date().toISOString();
    const result = { meta, rows, summary: report.summarize(rows, { scenarios: meta.scenarioDefs, servers: opts.servers, ref: REF }) };
    meta.rawFiles = [path.relative(ROOT, path.join(tmpDir, 'raw.tsv'))];
    fs.writeFileSync(path.join(tmpDir, 'raw.tsv'), report.tsv(rows, RAW_COLUMNS));
    fs.writeFileSync(path.join(tmpDir, 'raw.json'), JSON.stringify(result, null, 2) + '\n');
    return result;
  };

  let stopping = false;
  const onSignal = async (sig) => {
    if (stopping) return;
    stopping = true;
    meta.interrupted = true;
    console.error(`\nbench: ${sig}: stopping; partial results in ${path.relative(process.cwd(), tmpDir)}`);
    if (live.wrk) live.wrk.kill('SIGKILL');
    await stopServer(live.server);
    partial();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let i = 0;
  for (let rep = 1; rep <= opts.reps; rep++) {
    for (const scen of opts.scenarios) {
      const order = active.filter((n) => !meta.skipped[n]);
      for (let k = 0; k < order.length; k++) {
        const name = order[(k + rep - 1) % order.length];
        i++;
        const label = `[${String(i).padStart(String(total).length)}/${total}] rep ${rep} ${scen.padEnd(7)} ${name.padEnd(9)}`;
        let row;
        try {
          row = await runCell(rep, scen, name, ctx);
        } catch (e) {
          // start-up or response check failed: drop this server for the rest of the run
          const short = e.short || e.message.split('\n')[0];
          meta.skipped[name] = `failed in rep ${rep} ${scen}: ${short}`;
          log(`${label} SKIP from now on: ${e.message}`);
          rows.push({ ts: new Date().toISOString(), rep, scenario: scen, server: name, ok: false, error: short });
          partial();
          continue;
        }
        rows.push(row);
        log(`${label} ${cellLine(row)}`);
        if (row.warnings) log(`${' '.repeat(label.length)} warning: ${row.warnings}`);
        partial();
      }
    }
  }
  for (const n of active) if (meta.skipped[n]) log(`bench: note: ${n} was dropped during the run: ${meta.skipped[n]}`);

  const result = partial();
  const files = writeOutputs(result, opts.outDir, opts.name);
  meta.rawFiles = [path.relative(ROOT, files.tsv), path.relative(ROOT, files.json)];
  writeOutputs(result, opts.outDir, opts.name); // again, now naming its own raw files
  log('');
  process.stdout.write(report.markdown(result));
  log(`\nbench: wrote ${Object.values(files).map((f) => path.relative(process.cwd(), f)).join(', ')}`);
}

main().catch((e) => {
  console.error(`bench: ${e.stack || e.message}`);
  if (live.wrk) live.wrk.kill('SIGKILL');
  stopServer(live.server).finally(() => process.exit(1));
});
