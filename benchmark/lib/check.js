'use strict';
// Response check run against every freshly started server before it is measured,
// with Node's own HTTP client (like `curl`) plus two raw-socket probes.
//   errors   (the server is not measured):  GET /, GET /json, POST /echo (64 KiB)
//   warnings (measured, reported):           keep-alive reuse, pipelining, Connection: close
const http = require('node:http');
const net = require('node:net');
const crypto = require('node:crypto');

const TIMEOUT_MS = 5000;

function request(port, { method = 'GET', path = '/', headers = {}, body = null, agent = false }) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), reused: req.reusedSocket }));
      res.on('error', reject);
    });
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`timeout after ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

// Write `payload` on a fresh socket; resolve with everything read until the server
// closes or `untilMs` passes: { data, closedByServer }.
function rawExchange(port, payload, untilMs) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks = [];
    let done = false;
    const finish = (closedByServer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ data: Buffer.concat(chunks).toString('latin1'), closedByServer });
    };
    const timer = setTimeout(() => finish(false), untilMs);
    sock.on('connect', () => sock.write(payload));
    sock.on('data', (c) => chunks.push(c));
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', (e) => { if (!done) { done = true; clearTimeout(timer); reject(e); } });
  });
}

const countResponses = (s) => (s.match(/HTTP\/1\.1 200/g) || []).length;

async function checkServer(port) {
  const errors = [];
  const warnings = [];
  const attempt = async (label, list, fn) => {
    try {
      const msg = await fn();
      if (msg) list.push(`${label}: ${msg}`);
    } catch (e) {
      list.push(`${label}: ${e.message}`);
    }
  };

  await attempt('GET /', errors, async () => {
    const r = await request(port, {});
    if (r.status !== 200) return `status ${r.status}`;
    if (r.body.toString() !== 'Hello World') return `body ${JSON.stringify(r.body.toString().slice(0, 60))}`;
    if (!(r.headers['content-type'] || '').startsWith('text/plain')) return `content-type ${r.headers['content-type']}`;
    return null;
  });
  await attempt('GET /json', errors, async () => {
    const r = await request(port, { path: '/json' });
    if (r.status !== 200) return `status ${r.status}`;
    if (!/application\/json/.test(r.headers['content-type'] || '')) return `content-type ${r.headers['content-type']}`;
    const v = JSON.parse(r.body.toString());
    if (v.message !== 'Hello, World!') return `unexpected JSON ${r.body.toString().slice(0, 60)}`;
    return null;
  });
  await attempt('POST /echo 64 KiB', errors, async () => {
    const body = crypto.randomBytes(65536);
    const r = await request(port, {
      method: 'POST', path: '/echo', body,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length },
    });
    if (r.status !== 200) return `status ${r.status}`;
    if (!r.body.equals(body)) return `echoed ${r.body.length} bytes, not the 65536 sent`;
    return null;
  });
  if (errors.length) return { errors, warnings };

  await attempt('keep-alive', warnings, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await request(port, { agent });
      const r = await request(port, { agent });
      return r.reused ? null : 'the second request did not reuse the connection';
    } finally {
      agent.destroy();
    }
  });
  await attempt('pipelining', warnings, async () => {
    const one = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    const { data } = await rawExchange(port, one.repeat(3), 1000);
    const n = countResponses(data);
    return n === 3 ? null : `3 pipelined requests got ${n} responses`;
  });
  await attempt('Connection: close', warnings, async () => {
    const { data, closedByServer } = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', 2000);
    if (countResponses(data) !== 1) return 'no response';
    return closedByServer ? null : 'the server did not close the connection within 2 s';
  });
  return { errors, warnings };
}

module.exports = { checkServer };
