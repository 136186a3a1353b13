'use strict';
// Request-side differential fuzz: the same random script of IncomingMessage calls (pause,
// resume, setEncoding, 'data' / 'readable' / 'end' listeners, read(), destroy, answering before
// the body is read…) runs in a node:http server and in ferrohttp against the same request, sent
// at once; the events, states and results the handler sees and the bytes sent back must be
// equal. How a body is cut into chunks depends on the reads, so consecutive 'data' events count
// as one and only their total length is compared. A development tool (not run by CI).
//   SEED=1 N=200 node scripts/differential/request-streams.js      (SHOW=n: differences shown)
// Known differences (SEED=1 / SEED=2 / SEED=3, N=200: 4 / 8 / 8 scripts, with IO on a thread):
// - How much of a body arrives before a tick (timing): reads are cut as Node's 64 KiB reads,
//   but Rust reads what arrived in one step, node one read per loop iteration, so a request not
//   paused sees its body (and end) sooner.
// - The same read-ahead at a destroy(): a body Rust read into a batch JS has not taken yet is
//   input JS never saw, so the close is a reset where node, having read it, sends FIN.
const { seeded, compareAll } = require('./harness');
const { rnd, pick } = seeded(Number(process.env.SEED || 1));

const SIZES = [0, 0, 5, 3000, 70000, 300000];
const ENCS = ['utf8', 'latin1', 'hex', 'base64'];
function genOp() {
  const r = rnd();
  if (r < 0.12) return ['pause'];
  if (r < 0.24) return ['resume'];
  if (r < 0.3) return ['setEncoding', pick(ENCS)];
  if (r < 0.45) return ['onData'];
  if (r < 0.55) return ['onEnd'];
  if (r < 0.62) return ['onReadable'];
  if (r < 0.7) return ['read', pick([undefined, 0, 1, 100])];
  if (r < 0.8) return ['tick'];
  if (r < 0.84) return ['destroy'];
  if (r < 0.9) return ['respond'];
  if (r < 0.94) return ['dump'];
  return ['state'];
}
function genScript() {
  const ops = [];
  const n = 1 + Math.floor(rnd() * 6);
  for (let k = 0; k < n; k++) ops.push(genOp());
  return {
    ops,
    size: pick(SIZES),
    chunked: rnd() < 0.4,
    close: rnd() < 0.3,
    // a second request on the same connection, after the first's body
    second: rnd() < 0.3,
  };
}

function makeHandler(log) {
  return async (req, res) => {
    const id = req.headers['x-id'];
    if (req.headers['x-second']) {
      log[id].push('second request');
      req.resume();
      res.end('second');
      return;
    }
    const script = scripts[id];
    const events = (log[id] = []);
    let dataRun = 0;
    const note = (x) => {
      if (dataRun > 0) {
        events.push(`data×(${dataRun})`);
        dataRun = 0;
      }
      events.push(x);
    };
    const flushData = () => note('·');
    const state = () => `flowing=${req.readableFlowing} paused=${req.isPaused()} ended=${req.readableEnded} complete=${req.complete} destroyed=${req.destroyed} len=${req.readableLength > 0}`;
    req.on('close', () => note('close ' + state()));
    req.on('error', (e) => note('error ' + e.code));
    req.on('aborted', () => note('aborted'));
    const respond = () => {
      if (!res.headersSent && !res.writableEnded) res.end('done');
    };
    res.on('finish', () => note('res finish'));
    for (const op of script.ops) {
      try {
        switch (op[0]) {
          case 'pause': req.pause(); break;
          case 'resume': req.resume(); break;
          case 'setEncoding': req.setEncoding(op[1]); break;
          case 'onData': req.on('data', (c) => { dataRun += c.length; }); break;
          case 'onEnd': req.on('end', () => note('end ' + state())); break;
          case 'onReadable': req.on('readable', () => { let c; let n = 0; while ((c = req.read()) !== null) n += c.length; if (n > 0) dataRun += n; else note('readable(empty)'); }); break;
          case 'read': { const c = req.read(op[1]); if (c !== null) dataRun += c.length; else note('read null'); break; }
          case 'tick': await new Promise((r) => setImmediate(r)); flushData(); break;
          case 'destroy': req.destroy(); break;
          case 'respond': respond(); break;
          case 'dump': req.resume(); req.on('end', respond); break;
          case 'state': note(state()); break;
        }
        note(op[0] + ' ' + state());
      } catch (e) {
        note(op[0] + ' threw ' + (e.code || e.message));
      }
    }
    // end the exchange if the script did not
    setTimeout(() => { flushData(); note('final ' + state()); respond(); req.resume(); }, 80);
  };
}
const scripts = [];
const N = Number(process.env.N || 300);
for (let i = 0; i < N; i++) scripts.push(genScript());

function requestBytes(i) {
  const sc = scripts[i];
  const body = Buffer.alloc(sc.size, 'é'.repeat(7) + 'abc');
  let head = `POST /${i} HTTP/1.1\r\nHost: a\r\nX-Id: ${i}\r\n${sc.close ? 'Connection: close\r\n' : ''}`;
  const parts = [];
  if (sc.chunked) {
    head += 'Transfer-Encoding: chunked\r\n\r\n';
    parts.push(Buffer.from(head, 'latin1'));
    for (let off = 0; off < body.length; off += 40000) {
      const piece = body.subarray(off, off + 40000);
      parts.push(Buffer.from(piece.length.toString(16) + '\r\n'), piece, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
  } else {
    parts.push(Buffer.from(`${head}Content-Length: ${body.length}\r\n\r\n`, 'latin1'), body);
  }
  if (sc.second) parts.push(Buffer.from(`GET /s HTTP/1.1\r\nHost: a\r\nX-Id: ${i}\r\nX-Second: 1\r\n\r\n`));
  return Buffer.concat(parts);
}

compareAll({
  n: N,
  makeHandler,
  bytesOf: requestBytes,
  concurrency: 8,
  idleMs: 400,
  settleMs: 100,
  report(i, [x, y], [u, v]) {
    const sc = scripts[i];
    console.log('### script', i, JSON.stringify(sc.ops), `size=${sc.size} chunked=${sc.chunked} close=${sc.close} second=${sc.second}`);
    if (x !== y) console.log(' wire node :', JSON.stringify(x).slice(-200), '\n wire ferro:', JSON.stringify(y).slice(-200));
    let k = 0;
    while (k < u.length && u[k] === v[k]) k++;
    if (k < u.length || k < v.length) console.log(` events alike up to #${k}; then\n  node : ${JSON.stringify(u.slice(k, k + 3))}\n  ferro: ${JSON.stringify(v.slice(k, k + 3))}`);
  },
});
