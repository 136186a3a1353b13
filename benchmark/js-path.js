'use strict';
// JS-thread cost of the request path alone, without sockets or the native side: synthesized
// event batches (64 connections, one GET each per batch) are fed to the Server's batch handler,
// the Outbox submits to a stub, and the CPU time per request is reported. It isolates what the
// TS layer and node:http's own objects cost, which the load benchmark cannot separate from the
// kernel. Usage: node benchmark/js-path.js [rounds] [url] [close|pipe16]
//   url /json for the json handler; `close`: every request on a new connection (Connection:
//   close), each batch carrying the CONNECTION and HEAD events of 64 new connections and the
//   CLOSE events of the previous batch's; `pipe16`: 4 connections with 16 pipelined GETs each
//   per batch (responses 2-16 of a connection wait in its queue for the one before).
// Reaches into internals (Server#onBatch, lib/socket's Outbox): a development tool only.
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const http = require(root);
const { Outbox } = require(path.join(root, 'dist/lib/socket.js'));
const { NATIVE_METHODS: METHODS } = require(path.join(root, 'dist/lib/native.js'));
const { handler } = require('./servers/handler.js');

const CONNS = 64;
const ROUNDS = Number(process.argv[2]) || 4000;
const WARMUP = 1000;
const url = process.argv[3] || '/';
const closeMode = process.argv[4] === 'close';
// Requests per connection in one batch; the batch keeps 64 requests.
const PIPELINED = process.argv[4] === 'pipe16' ? 16 : 1;

let submits = 0;
const stub = {
  submit() {
    submits++;
    return null;
  },
  bytesRead() {
    return 0;
  },
  // What keeps the loop alive follows the connections (Outbox#updateHold).
  ref() {},
  unref() {},
};
const server = http.createServer(handler);
// The server's batch handler takes the Outbox of the native server a batch came from.
const outbox = new Outbox(stub, () => {});
server.outbox = outbox;
server.outboxes.add(outbox);

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

const { EV_CONNECTION, EV_HEAD, EV_CLOSE, HEAD_KEEP_ALIVE, HEAD_HAS_HOST } = require(path.join(root, 'dist/lib/native.js'));
const addrs = '127.0.0.1 127.0.0.1';

/**
 * One batch: for connection ids `first`..`first + CONNS - 1`, optionally their CONNECTION
 * events, a GET each, and optionally CLOSE events for the ids before them.
 */
function makeBatch(first, { connect, closePrevious }) {
  const head = `GET ${url} HTTP/1.1\r\nHost: localhost:18090\r\n${closeMode ? 'Connection: close\r\n' : ''}\r\n`;
  const hostAt = head.indexOf('Host');
  const meta = [];
  let text = '';
  if (closePrevious) for (let c = first - CONNS; c < first; c++) meta.push(EV_CLOSE, c, 0, head.length, 0);
  for (let c = first; c < first + CONNS / PIPELINED; c++) {
    if (connect) {
      meta.push(EV_CONNECTION, c, text.length, addrs.length, 40000 + (c % 20000), 18090, 4);
      text += addrs;
    }
    for (let p = 0; p < PIPELINED; p++) {
      const base = text.length;
      text += head;
      const flags = (closeMode ? 0 : HEAD_KEEP_ALIVE) | HEAD_HAS_HOST;
      const extra = closeMode ? 1 : 0;
      meta.push(EV_HEAD, c, flags, METHODS.indexOf('GET'), 0x101, base + 4, url.length, 1 + extra, base + hostAt, 4, base + hostAt + 6, 15);
      if (closeMode) {
        const connAt = head.indexOf('Connection');
        meta.push(base + connAt, 10, base + connAt + 12, 5);
      }
    }
  }
  return wire(meta, text);
}

/** Keep-alive: the same 64 connections every round. Close: new ones each round. */
let nextId = 1;
let keepAliveBatch = null;
if (!closeMode) {
  server.onBatch(outbox, wire(Array.from({ length: CONNS }, (_, k) => [EV_CONNECTION, k + 1, 0, addrs.length, 40001 + k, 18090, 4]).flat(), addrs));
  keepAliveBatch = makeBatch(1, { connect: false, closePrevious: false });
}

function nextBatch() {
  if (keepAliveBatch) return Buffer.from(keepAliveBatch);
  const b = makeBatch(nextId, { connect: true, closePrevious: nextId > 1 });
  nextId += CONNS;
  return b;
}

let round = 0;
let t0;
let cpu0;
function step() {
  server.onBatch(outbox, nextBatch());
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
      `${url}${closeMode ? ' (close)' : PIPELINED > 1 ? ' (pipe16)' : ''}: ${(((cpu.user + cpu.system) * 1000) / n).toFixed(0)} ns CPU per request ` +
        `(${(wall / n).toFixed(0)} ns wall), ${(submits / ROUNDS).toFixed(2)} submits per batch, ${n} requests, ` +
        `${server.outbox.sockets.size} connections open`,
    );
    process.exit(0);
  }
  // From an immediate, as a native batch arrives: ticks and microtasks run after each batch.
  setImmediate(step);
}
setImmediate(step);
