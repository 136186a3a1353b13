'use strict';
// Summaries (medians over repetitions, ratios to the reference server), the Markdown
// table and the SVG chart. No dependencies: the SVG is written by hand.

const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

// rows: raw per-run rows (see run.js); returns [{ scenario, desc, cells: [...] }]
function summarize(rows, { scenarios, servers, ref = 'node-http' }) {
  const out = [];
  for (const scen of scenarios) {
    const cells = [];
    for (const server of servers) {
      const rs = rows.filter((r) => r.scenario === scen.name && r.server === server && r.ok && r.rps > 0);
      if (!rs.length) continue;
      const pick = (k) => median(rs.map((r) => r[k]));
      const rpsList = rs.map((r) => r.rps);
      cells.push({
        server,
        n: rs.length,
        rps: pick('rps'),
        rps_min: Math.min(...rpsList),
        rps_max: Math.max(...rpsList),
        req_per_cpu_s: pick('req_per_cpu_s'),
        user_us: pick('user_us_per_req'),
        sys_us: pick('sys_us_per_req'),
        p50_us: pick('p50_us'),
        p99_us: pick('p99_us'),
        srv_cpu_pct: pick('srv_cpu_pct'),
        srv_core_pct: pick('srv_core_pct'),
        wrk_cpu_pct: pick('wrk_cpu_pct'),
        cli_core_pct: pick('cli_core_pct'),
        peak_kb: pick('peak_kb'),
        errors: rs.reduce((a, r) => a + Math.max(0, r.errors || 0), 0),
      });
    }
    const refCell = cells.find((c) => c.server === ref);
    for (const c of cells) {
      const ratio = (k) => (refCell && refCell[k] > 0 && c[k] != null ? c[k] / refCell[k] : null);
      c.x_rps = ratio('rps');
      c.x_eff = ratio('req_per_cpu_s');
      c.x_p99 = ratio('p99_us');
      c.x_peak = ratio('peak_kb');
      // wrk saturated its core while the server still had headroom: req/s is a lower bound
      c.client_bound = c.wrk_cpu_pct != null && c.wrk_cpu_pct >= 90 && c.srv_cpu_pct != null && c.srv_cpu_pct < 90;
    }
    if (cells.length) out.push({ scenario: scen.name, desc: scen.desc, cells });
  }
  return out;
}

const fmtInt = (v) => (v == null ? '-' : Math.round(v).toLocaleString('en-US'));
const fmtX = (v) => (v == null ? '-' : v.toFixed(2));
const fmtMs = (us) => (us == null ? '-' : (us / 1000).toFixed(2));
const fmtMb = (kb) => (kb == null ? '-' : (kb / 1024).toFixed(1));
const fmtPct = (v) => (v == null ? '-' : v.toFixed(0));
function fmtShort(v) {
  if (v == null) return '-';
  if (v >= 1e6) return `${(v / 1e6).toFixed(v >= 1e7 ? 1 : 2)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(v >= 1e5 ? 0 : 1)}k`;
  return `${Math.round(v)}`;
}

function markdown(result) {
  const { meta, summary } = result;
  const ref = meta.ref;
  const L = [];
  L.push(`# ferrohttp benchmark (${when(meta.finished || meta.started)})`);
  L.push('');
  L.push(`Median of ${meta.reps} interleaved repetition(s) per cell (rep → scenario → server, server order rotated per rep), ` +
    `fresh server process per run, ${meta.warmup} s warm-up + ${meta.duration} s measured with wrk ` +
    `(${meta.wrkThreads} thread). Server pinned to CPU ${meta.serverCpus ?? 'unpinned'}, wrk to CPU ${meta.clientCpus ?? 'unpinned'}, loopback 127.0.0.1. ` +
    `Ratios (×) are to ${ref} from the same run.`);
  L.push('');
  L.push(`Machine: ${meta.machine.cpu} × ${meta.machine.cpus}, Linux ${meta.machine.kernel}; Node ${meta.versions.node}; ` +
    `${meta.versions.wrk}; uWebSockets.js ${meta.versions.uws || 'not run'}; ferrohttp ${meta.versions.ferrohttp || '?'}` +
    `${meta.versions.commit ? ` (commit ${meta.versions.commit})` : ''}.`);
  L.push('');
  L.push('| scenario | server | req/s | × ' + ref + ' | req / server CPU-s | × ' + ref + ' | p50 ms | p99 ms | server CPU % | peak RSS MB | × ' + ref + ' | errors | n |');
  L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of summary) {
    for (const c of s.cells) {
      const lat = s.scenario === 'pipe16' && !meta.rawLatencyWrk ? ' †' : '';
      L.push(`| ${s.scenario} | ${c.server} | ${fmtInt(c.rps)}${c.client_bound ? ' *' : ''} | ${fmtX(c.x_rps)} | ` +
        `${fmtInt(c.req_per_cpu_s)} | ${fmtX(c.x_eff)} | ${fmtMs(c.p50_us)}${lat} | ${fmtMs(c.p99_us)}${lat} | ` +
        `${fmtPct(c.srv_cpu_pct)} | ${fmtMb(c.peak_kb)} | ${fmtX(c.x_peak)} | ${c.errors} | ${c.n} |`);
    }
  }
  L.push('');
  L.push('Scenarios: ' + summary.map((s) => `**${s.scenario}**: ${s.desc}`).join('; ') + '.');
  L.push('');
  L.push('Columns: **req/s** = wrk requests / measured seconds; **req / server CPU-s** = requests / CPU seconds ' +
    'of the server process (utime+stime of all its threads from /proc/PID/stat over the measured window; ' +
    'kernel softirq work for its sockets is not included); **p50/p99** = wrk latency percentiles (closed loop at ' +
    'saturation, queueing included); **server CPU %** = 100 × CPU seconds / wall seconds; **peak RSS** = VmHWM ' +
    'of the server process (fresh process per run, warm-up included); **errors** = wrk socket errors + non-2xx, summed over reps.');
  L.push('');
  const notes = [];
  if (summary.some((s) => s.cells.some((c) => c.client_bound))) {
    notes.push('`*` = client-bound: wrk used ≥ 90 % of its core while the server used < 90 % of its own; req/s is a lower ' +
      'bound, compare req / server CPU-s instead.');
  }
  if (!meta.rawLatencyWrk && summary.some((s) => s.scenario === 'pipe16')) {
    notes.push('† Stock wrk records one latency sample per pipelined batch and adds synthetic coordinated-omission ' +
      'samples, so pipe16 percentiles are not per-request latencies (see benchmark/README.md for a raw-latency wrk build).');
  }
  if (summary.some((s) => s.scenario === 'close' && s.cells.some((c) => c.server === 'uws' && c.errors > 0))) {
    notes.push('close + uws: uWS closes after `Connection: close` without sending the header back, so wrk counts the EOF ' +
      'as a read error; the responses themselves are complete and counted.');
  }
  for (const w of meta.warnings || []) notes.push(`Warning: ${w}`);
  for (const [name, why] of Object.entries(meta.skipped || {})) notes.push(`**${name} not measured**: ${why}`);
  for (const n of notes) { L.push(`- ${n}`); }
  if (notes.length) L.push('');
  const servers = meta.servers.filter((n) => summary.some((s) => s.cells.some((c) => c.server === n)));
  if (meta.reps > 1 && servers.length) {
    L.push('Spread (min–max req/s over repetitions):');
    L.push('');
    L.push('| scenario | ' + servers.join(' | ') + ' |');
    L.push('|---|' + servers.map(() => '---:|').join(''));
    for (const s of summary) {
      const cells = servers.map((n) => {
        const c = s.cells.find((x) => x.server === n);
        return c ? `${fmtShort(c.rps_min)}–${fmtShort(c.rps_max)}` : '-';
      });
      L.push(`| ${s.scenario} | ${cells.join(' | ')} |`);
    }
    L.push('');
  }
  if (summary.some((s) => s.cells.some((c) => c.sys_us != null))) {
    L.push(`Where the server's CPU goes, per request (medians): **user** = the process in user space (JS, the ` +
      `native addon, libuv, V8's GC); **kernel** = system time in the process's context (its system calls and the ` +
      `loopback TCP work they carry out). **ceiling** = ${ref}'s user + kernel divided by this server's kernel ` +
      `time: the ratio in req / server CPU-s it would reach if its user time fell to zero, with the same system calls.`);
    L.push('');
    L.push('| scenario | server | user µs | kernel µs | total µs | ceiling × ' + ref + ' |');
    L.push('|---|---|---:|---:|---:|---:|');
    const us = (v) => (v == null ? '-' : v.toFixed(2));
    for (const s of summary) {
      const refCell = s.cells.find((c) => c.server === ref);
      const refTotal = refCell && refCell.user_us != null && refCell.sys_us != null ? refCell.user_us + refCell.sys_us : null;
      for (const c of s.cells) {
        const total = c.user_us != null && c.sys_us != null ? c.user_us + c.sys_us : null;
        const ceiling = refTotal != null && c.sys_us > 0 ? refTotal / c.sys_us : null;
        L.push(`| ${s.scenario} | ${c.server} | ${us(c.user_us)} | ${us(c.sys_us)} | ${us(total)} | ${fmtX(ceiling)} |`);
      }
    }
    L.push('');
  }
  L.push('This machine may be shared and noisy: compare ratios from one interleaved run, not absolute numbers across runs. ' +
    `Raw rows: \`${meta.rawFiles.join('`, `')}\`.`);
  L.push('');
  return L.join('\n');
}

const COLORS = { 'node-http': '#868e96', ferrohttp: '#e8590c', uws: '#1c7ed6' };
const EXTRA_COLORS = ['#2b8a3e', '#7048e8', '#c2255c', '#0b7285'];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

// axis labels: 0, 250k, 1.5M (no trailing zeros)
function fmtTick(v) {
  const t = (x) => String(Number(x.toFixed(2)));
  if (v >= 1e6) return `${t(v / 1e6)}M`;
  if (v >= 1e3) return `${t(v / 1e3)}k`;
  return t(v);
}

const when = (iso) => (iso ? iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC') : '');

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// Small multiples: one panel per scenario with its own y scale (the scenarios differ by
// up to 100x), bars = servers, value = median requests per server CPU-second.
function svg(result) {
  const { meta, summary } = result;
  const servers = meta.servers.filter((n) => summary.some((s) => s.cells.some((c) => c.server === n)));
  const color = (n) => COLORS[n] || EXTRA_COLORS[servers.indexOf(n) % EXTRA_COLORS.length];
  const barW = 30;
  const gap = 8;
  const panelW = Math.max(150, servers.length * (barW + gap) + 70);
  const left = 20;
  const W = left + Math.max(1, summary.length) * panelW + 10;
  const top = 84;
  const plotH = 200;
  const H = top + plotH + 78;
  const font = 'font-family="system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif"';
  const o = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${font}>`);
  o.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  o.push(`<text x="${left}" y="24" font-size="16" font-weight="600" fill="#212529">Requests per server CPU-second (higher is better)</text>`);
  o.push(`<text x="${left}" y="42" font-size="11" fill="#495057">${esc(`median of ${meta.reps} interleaved rep(s), ${meta.duration} s each; wrk on CPU ${meta.clientCpus ?? '-'}, server on CPU ${meta.serverCpus ?? '-'}; ` +
    `× = ratio to ${meta.ref}; ${when(meta.finished || meta.started)}`)}</text>`);
  // legend
  let lx = left;
  for (const n of servers) {
    o.push(`<rect x="${lx}" y="54" width="12" height="12" fill="${color(n)}"/>`);
    o.push(`<text x="${lx + 16}" y="64" font-size="12" fill="#212529">${esc(n)}</text>`);
    lx += 16 + 8 * n.length + 22;
  }
  const skipped = Object.keys(meta.skipped || {});
  if (skipped.length) {
    o.push(`<text x="${lx}" y="64" font-size="11" fill="#c92a2a">${esc(`not measured: ${skipped.join(', ')} (see the table's notes)`)}</text>`);
  }
  summary.forEach((s, i) => {
    const x0 = left + i * panelW;
    const axisX = x0 + 44;
    const vmax = niceMax(Math.max(...s.cells.map((c) => c.req_per_cpu_s || 0)) * 1.12);
    const y = (v) => top + plotH - (v / vmax) * plotH;
    for (let k = 0; k <= 4; k++) {
      const v = (vmax * k) / 4;
      o.push(`<line x1="${axisX}" x2="${x0 + panelW - 12}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="${k ? '#e9ecef' : '#adb5bd'}"/>`);
      o.push(`<text x="${axisX - 4}" y="${(y(v) + 4).toFixed(1)}" font-size="10" text-anchor="end" fill="#868e96">${fmtTick(v)}</text>`);
    }
    servers.forEach((n, j) => {
      const c = s.cells.find((x) => x.server === n);
      const bx = axisX + 10 + j * (barW + gap);
      if (!c || c.req_per_cpu_s == null) {
        o.push(`<text x="${bx + barW / 2}" y="${top + plotH - 4}" font-size="10" text-anchor="middle" fill="#adb5bd">n/a</text>`);
        return;
      }
      const by = y(c.req_per_cpu_s);
      o.push(`<rect x="${bx}" y="${by.toFixed(1)}" width="${barW}" height="${(top + plotH - by).toFixed(1)}" fill="${color(n)}">` +
        `<title>${esc(`${s.scenario} / ${n}: ${fmtInt(c.req_per_cpu_s)} req per CPU-s (${fmtInt(c.rps)} req/s)`)}</title></rect>`);
      o.push(`<text x="${bx + barW / 2}" y="${(by - 4).toFixed(1)}" font-size="10" text-anchor="middle" fill="#212529">${fmtShort(c.req_per_cpu_s)}</text>`);
      if (c.x_eff != null) {
        o.push(`<text x="${bx + barW / 2}" y="${top + plotH + 14}" font-size="10" text-anchor="middle" fill="#495057">×${c.x_eff.toFixed(2)}</text>`);
      }
    });
    const cx = axisX + 10 + (servers.length * (barW + gap) - gap) / 2;
    o.push(`<text x="${cx}" y="${top + plotH + 34}" font-size="13" font-weight="600" text-anchor="middle" fill="#212529">${esc(s.scenario)}</text>`);
    const short = (SHORT[s.scenario] || '').split('\n');
    short.forEach((t, k) => {
      o.push(`<text x="${cx}" y="${top + plotH + 49 + 12 * k}" font-size="10" text-anchor="middle" fill="#868e96">${esc(t)}</text>`);
    });
  });
  o.push('</svg>');
  return o.join('\n') + '\n';
}

const SHORT = {
  hello: 'GET /, 64 conns\nkeep-alive',
  json: 'GET /json, 64 conns\nkeep-alive',
  pipe16: '16 pipelined GET /\n64 conns',
  post64k: 'POST 64 KiB echo\n16 conns',
  close: 'Connection: close\n16 conns',
};

// Tab-separated raw rows
function tsv(rows, columns) {
  const cell = (v) => (v == null ? '' : typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : String(v).replace(/[\t\n]/g, ' '));
  return [columns.join('\t'), ...rows.map((r) => columns.map((k) => cell(r[k])).join('\t'))].join('\n') + '\n';
}

module.exports = { summarize, markdown, svg, tsv, median, fmtInt, fmtShort };
