'use strict';
// Linux /proc readers used by run.js (and boundary.js).
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch { /* keep 100, the Linux default */ }

// utime + stime of a process in clock ticks. The thread-group leader's /proc/PID/stat
// sums the times of all its threads (tokio workers, libuv pool, V8 helpers included).
// Returns null if the process is gone.
function cpuTicks(pid) {
  let s;
  try { s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return null; }
  // the command name (field 2) may contain spaces or ')': split after the last ')'
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state); utime is field 14, stime field 15
  return Number(f[11]) + Number(f[12]);
}

function cpuSeconds(pid) {
  const t = cpuTicks(pid);
  return t === null ? null : t / clkTck;
}

// { user, sys } CPU seconds of a process (all threads), or null if it is gone. `sys` is the
// kernel working in the process's own context: its system calls, and the loopback TCP work
// they do for both ends of a connection.
function cpuSplit(pid) {
  let s;
  try { s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return null; }
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]) / clkTck, sys: Number(f[12]) / clkTck };
}

// A field of /proc/PID/status in kB (VmHWM = peak RSS, VmRSS = current RSS).
function statusKb(pid, field) {
  let s;
  try { s = fs.readFileSync(`/proc/${pid}/status`, 'utf8'); } catch { return null; }
  const m = s.match(new RegExp(`^${field}:\\s+(\\d+)\\s*kB`, 'm'));
  return m ? Number(m[1]) : null;
}

// Busy and total jiffies summed over the given CPU ids, from /proc/stat. Busy = all
// but idle and iowait (so softirq, i.e. kernel TCP work, counts as busy).
function cpuBusy(ids) {
  const want = new Set(ids.map((i) => `cpu${i}`));
  let busy = 0;
  let total = 0;
  let s;
  try { s = fs.readFileSync('/proc/stat', 'utf8'); } catch { return { busy: 0, total: 0 }; }
  for (const line of s.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (!want.has(f[0])) continue;
    const v = f.slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
    const t = v.reduce((a, b) => a + b, 0);
    total += t;
    busy += t - v[3] - v[4];
  }
  return { busy, total };
}

// "0-1,3" -> [0, 1, 3]
function parseCpuList(spec) {
  const out = [];
  for (const part of String(spec).split(',')) {
    if (!part.trim()) continue;
    const m = part.match(/^\s*(\d+)\s*-\s*(\d+)\s*$/);
    if (m) for (let i = Number(m[1]); i <= Number(m[2]); i++) out.push(i);
    else out.push(Number(part));
  }
  return out;
}

// CPUs this process may run on (from /proc/self/status Cpus_allowed_list).
function allowedCpus() {
  try {
    const s = fs.readFileSync('/proc/self/status', 'utf8');
    const m = s.match(/^Cpus_allowed_list:\s*(\S+)/m);
    if (m) return parseCpuList(m[1]);
  } catch { /* not Linux */ }
  return null;
}

// CPU time of one thread in ns (/proc/self/task/TID/schedstat, first field), or null.
function threadCpuNs(tid = process.pid) {
  try {
    const s = fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8');
    return BigInt(s.split(' ')[0]);
  } catch {
    return null;
  }
}

module.exports = {
  clkTck, cpuTicks, cpuSeconds, cpuSplit, statusKb, cpuBusy, parseCpuList, allowedCpus, threadCpuNs };
