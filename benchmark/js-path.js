'use strict';
// JS-thread cost of the request path alone, without sockets or the native side: synthesized
// event batches (64 connections, one GET each per batch) are fed to the Server's batch handler,
// the Outbox submits to a stub, and the CPU time per request is reported. It isolates what the
// TS layer and node:http's own objects cost, which the load benchmark cannot separate from the
// kernel. Usage: node benchmark/js-path.js [rounds] [url]   (url /json for the json handler)
// Reaches into internals (Server#onBatch, lib/socket's Outbox): a development tool only.
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const http = require(root);
const { Outbox } = require(path.join(root, 'dist/lib/socket.js'));
const { METHODS } = require(path.join(root, 'dist/lib/common.js'));
const { handler } = require('./servers/handler.js');

const CONNS = 64;
const ROUNDS = Number(process.argv[2]) || 4000;
const WARMUP = 1000;
const url = process.argv[3] || '/';

let submits = 0;
const stub = {
  submit() {
    submits++;
    return null;
  },
  bytesRead() {
    return 0;
  },
};
const server = http.createServer(handler);
server.outbox = new Outbox(stub);

/** A batch in the native wire layout (src/server/queue.rs): header words, meta, text. */
function wire(meta, text) {
  const t = Buffer.from(text, 'latin1');
  const b = Buffer.alloc(16 + meta.length * 4 + t.length);
  b.writeUInt32LE(meta.length, 0);
  b.writeUInt32LE(t.length, 4);
  meta.forEach((w, k) => b.writeUInt32LE(w, 16 + 4 * k));
  t.copy(b, 16 + meta.length * 4);
  return b;
}

const addrs = '127.0.0.1 127.0.0.1';
const connMeta = [];
for (let c = 1; c <= CONNS; c++) connMeta.push(1, c, 0, addrs.length, 40000 + c, 18090, 4);
server.onBatch(wire(connMeta, addrs));

// HEAD events: flags keep-alive|has-host, method, minor 1, url, one header (Host).
const head = `GET ${url} HTTP/1.1\r\nHost: localhost:18090\r\n\r\n`;
const hostAt = head.indexOf('Host');
const meta = [];
let text = '';
for (let c = 1; c <= CONNS; c++) {
  const base = text.length;
  text += head;
  meta.push(2, c, 1 | 16, METHODS.indexOf('GET'), 1, base + 4, url.length, 1, base + hostAt, 4, base + hostAt + 6, 15);
}
const batch = wire(meta, text);

let round = 0;
let t0;
let cpu0;
function step() {
  server.onBatch(Buffer.from(batch));
  round++;
  if (round === WARMUP) {
    t0 = process.hrtime.bigint();
    cpu0 = process.cpuUsage();
    submits = 0;
  }
  if (round === WARMUP + ROUNDS) {
    const wall = Number(process.hrtime.bigint() - t0);
    const cpu = process.cpuUsage(cpu0);
    const n = ROUNDS * CONNS;
    console.log(
      `${url}: ${(((cpu.user + cpu.system) * 1000) / n).toFixed(0)} ns CPU per request ` +
        `(${(wall / n).toFixed(0)} ns wall), ${(submits / ROUNDS).toFixed(2)} submits per batch, ${n} requests`,
    );
    process.exit(0);
  }
  // From an immediate, as a native batch arrives: ticks and microtasks run after each batch.
  setImmediate(step);
}
setImmediate(step);
