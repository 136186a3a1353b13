'use strict';
// Response-side differential fuzz: the same random script of ServerResponse calls (setHeader,
// writeHead, write/end with every encoding, cork, flushHeaders, trailers, 1xx, ticks…) runs in
// a node:http server and in ferrohttp; the bytes on the wire and the results, errors and
// events the handler sees must be equal. A development tool (not run by CI;
// __test__/response-edges.spec.ts holds what it found).
//   SEED=1 N=300 node scripts/differential/responses.js       (BIG=1: 20000-byte bodies)
// BIG=1 seeds 1-5, N=300: no difference left (the last, 'drain' while writes were still corked,
// is in response-edges.spec.ts).
const { seeded, compareAll } = require('./harness');
const { rnd, pick } = seeded(Number(process.env.SEED || 1));

const HNAMES = ['Content-Type', 'Content-Length', 'Transfer-Encoding', 'Connection', 'X-A', 'x-a', 'Date', 'Trailer', 'Keep-Alive', 'Set-Cookie', 'Expect', 'Content-Encoding', 'bad name', 'X-Ü'];
const HVALUES = ['text/plain', '5', '0', '11', 'chunked', 'gzip, chunked', 'close', 'keep-alive', 'a', '', 'timeout=1', ['a', 'b'], 'x\u00ff', 'a\u0100', 7, 'bad\r\nx', 'X-T'];
const BODIES = ['', 'hello', 'héllo', 'x'.repeat(100), (process.env.BIG ? 'y'.repeat(20000) : 'y'.repeat(3000)) + 'é', 'B:hello', 'B:', 'U:abc'];
const ENCS = [undefined, 'utf8', 'latin1', 'base64', 'ascii', 'utf16le', 'bogus'];
function genOp() {
  const r = rnd();
  if (r < 0.14) return ['setHeader', pick(HNAMES), pick(HVALUES)];
  if (r < 0.2) return ['removeHeader', pick(HNAMES)];
  if (r < 0.3) {
    const st = pick([200, 200, 201, 204, 304, 100, 101, 404, 500, 99, 1000, '200', 200.5]);
    const args = [st];
    if (rnd() < 0.3) args.push(pick(['OK', 'Custom Msg', 'bad\nmsg', '']));
    const hr = rnd();
    if (hr < 0.4) { const o = {}; for (let k = 0; k < 1 + rnd() * 3; k++) o[pick(HNAMES)] = pick(HVALUES); args.push(o); }
    else if (hr < 0.6) { const a = []; for (let k = 0; k < 1 + rnd() * 2; k++) a.push(pick(HNAMES), String(pick(HVALUES))); args.push(a); }
    return ['writeHead', ...args];
  }
  if (r < 0.48) return ['write', pick(BODIES), pick(ENCS), rnd() < 0.3];
  if (r < 0.55) return ['flushHeaders'];
  if (r < 0.6) return ['addTrailers', { [pick(['X-T', 'Content-Length', 'bad name'])]: pick(['v', 'bad\nv', '1']) }];
  if (r < 0.64) return ['statusCode', pick([200, 201, 204, 304, 404, 99])];
  if (r < 0.67) return ['sendDate', false];
  if (r < 0.7) return ['strictContentLength', true];
  if (r < 0.73) return ['cork'];
  if (r < 0.76) return ['uncork'];
  if (r < 0.82) return ['tick'];
  if (r < 0.85) return ['writeContinue'];
  if (r < 0.87) return ['writeProcessing'];
  if (r < 0.89) return ['chunkedEncoding', pick([true, false])];
  if (r < 0.91) return ['shouldKeepAlive', false];
  return ['end', pick([undefined, ...BODIES]), pick(ENCS), rnd() < 0.3];
}
function genScript() {
  const ops = [];
  const n = 1 + Math.floor(rnd() * 6);
  for (let k = 0; k < n; k++) ops.push(genOp());
  if (rnd() < 0.8) ops.push(['end', pick([undefined, ...BODIES]), pick(ENCS), rnd() < 0.3]);
  return { ops, method: pick(['GET', 'GET', 'HEAD', 'POST']), version: pick(['1.1', '1.1', '1.0']), ka: pick(['', 'Connection: close\r\n', 'Connection: keep-alive\r\n']) };
}
const chunkOf = (b) => (typeof b === 'string' && b.startsWith('B:') ? Buffer.from(b.slice(2)) : typeof b === 'string' && b.startsWith('U:') ? new Uint8Array(Buffer.from(b.slice(2))) : b);

function makeHandler(log) {
  return async (req, res) => {
    const id = req.headers['x-id'];
    const script = scripts[id];
    const events = (log[id] = []);
    const note = (x) => events.push(x);
    res.on('finish', () => note('finish'));
    res.on('close', () => note('close'));
    res.on('error', (e) => note('error ' + e.code));
    res.on('drain', () => note('drain'));
    req.resume();
    for (const op of script.ops) {
      try {
        switch (op[0]) {
          case 'setHeader': res.setHeader(op[1], op[2]); break;
          case 'removeHeader': res.removeHeader(op[1]); break;
          case 'writeHead': res.writeHead(...op.slice(1)); break;
          case 'write': note('w=' + res.write(chunkOf(op[1]), op[2], op[3] ? (e) => note('wcb ' + (e && e.code)) : undefined)); break;
          case 'end': res.end(chunkOf(op[1]), op[2], op[3] ? () => note('ecb') : undefined); break;
          case 'flushHeaders': res.flushHeaders(); break;
          case 'addTrailers': res.addTrailers(op[1]); break;
          case 'statusCode': res.statusCode = op[1]; break;
          case 'sendDate': res.sendDate = op[1]; break;
          case 'strictContentLength': res.strictContentLength = op[1]; break;
          case 'cork': res.cork(); break;
          case 'uncork': res.uncork(); break;
          case 'tick': await new Promise((r) => setImmediate(r)); break;
          case 'writeContinue': res.writeContinue(); break;
          case 'writeProcessing': res.writeProcessing(); break;
          case 'chunkedEncoding': res.chunkedEncoding = op[1]; break;
          case 'shouldKeepAlive': res.shouldKeepAlive = op[1]; break;
        }
        note(op[0] + ' ok h=' + res.headersSent + ' wf=' + res.writableFinished + ' we=' + res.writableEnded);
      } catch (e) {
        note(op[0] + ' threw ' + (e.code || e.message));
      }
    }
    // finish the response if the script did not, so the exchange ends
    setTimeout(() => { try { if (!res.writableEnded) res.end(); } catch (e) { note('final ' + e.code); } }, 30);
  };
}
const scripts = [];
const N = Number(process.env.N || 500);
for (let i = 0; i < N; i++) scripts.push(genScript());

function requestBytes(i) {
  const sc = scripts[i];
  return `${sc.method} / HTTP/${sc.version}\r\nHost: a\r\nX-Id: ${i}\r\n${sc.ka}${sc.method === 'POST' ? 'Content-Length: 2\r\n\r\nhi' : '\r\n'}`;
}
const cut = (t) => {
  t = t.replace(/(y|y\\u0000){20,}/g, (m) => `<y*${m.length}>`).replace(/x{50,}/g, (m) => `x*${m.length}`);
  return t.length > 400 ? t.slice(0, 300) + '…#' + require('crypto').createHash('md5').update(t).digest('hex').slice(0, 8) : t;
};
compareAll({
  n: N,
  makeHandler,
  bytesOf: requestBytes,
  concurrency: 16,
  idleMs: 300,
  settleMs: 60,
  report(i, [x, y], [ex, ey]) {
    console.log('### script', i, cut(JSON.stringify(scripts[i].ops)).slice(0, 400), scripts[i].method, scripts[i].version, JSON.stringify(scripts[i].ka));
    if (x !== y) console.log(' wire node :', cut(JSON.stringify(x)).slice(-250), '\n wire ferro:', cut(JSON.stringify(y)).slice(-250));
    const [u, v] = [JSON.stringify(ex), JSON.stringify(ey)];
    if (u !== v) console.log(' ev node :', u.slice(-300), '\n ev ferro:', v.slice(-300));
  },
});
