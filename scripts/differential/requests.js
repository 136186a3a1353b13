'use strict';
// Request-side differential fuzz: the same bytes to a node:http server and to ferrohttp, each
// on a fresh connection; what comes back (Date aside) and whether the server closed must be
// equal. The handler echoes what it saw (method, url, version, raw headers, body, trailers).
// A development tool (not run by CI; __test__/parser-parity.spec.ts holds a fixed corpus).
// scripts/parser-diff.js is its twin for errors: it half-closes and compares each clientError's
// code, reason and bytesParsed, which this one (bytes back only) does not see.
//   node scripts/differential/requests.js [--lenient]          byte sweeps + vectors
//   LIST=cases.json node scripts/differential/requests.js      a JSON array of inputs
//   SEED=3 N=8000 node scripts/differential/random-requests.js > cases.json (then LIST=…)
// Env: ONLY=regex (case names), QUIET=ms (quiet period ending an exchange, default 250),
// CONC=n (parallel exchanges), SHOW=n (differences printed), SPLIT=1 (write in pieces),
// FERRO=path (module under test, default the repository root).
const net = require('node:net');
const nodeHttp = require('node:http');
const ferro = require(process.env.FERRO || require('node:path').resolve(__dirname, '..', '..'));
const LENIENT = process.argv.includes('--lenient');
const ONLY = process.env.ONLY ? new RegExp(process.env.ONLY) : null;

function handler(req, res) {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('error', () => {});
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('latin1');
    res.end(JSON.stringify({ m: req.method, u: req.url, v: req.httpVersion, h: req.rawHeaders, b: body, t: req.rawTrailers, up: req.upgrade }));
  });
}
function start(mod) {
  return new Promise((resolve) => {
    const s = mod.createServer({ insecureHTTPParser: LENIENT }, handler);
    s.on('connect', (req, sock) => { sock.end('CONNECT ' + req.url); });
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}
function exchange(port, bytes, quiet) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const got = [];
    let timer = null;
    let done = false;
    const finish = (how) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(Buffer.concat(got).toString('latin1').replace(/Date: [^\r]*\r\n/g, 'Date: X\r\n') + '\n<' + how + '>');
    };
    const arm = () => { clearTimeout(timer); timer = setTimeout(() => finish('open'), quiet); };
    sock.on('connect', async () => {
      if (process.env.SPLIT) {
        // deterministic cut points from the bytes themselves
        const cuts = [];
        let h = 7; for (const b of bytes) h = (h * 31 + b) >>> 0;
        const n = 1 + (h % 3);
        for (let k = 0; k < n; k++) cuts.push(1 + ((h >>> (k * 7)) % Math.max(1, bytes.length - 1)));
        cuts.sort((a, b) => a - b);
        let at = 0;
        for (const c of cuts) { if (c <= at) continue; sock.write(bytes.subarray(at, c)); at = c; await new Promise((r) => setTimeout(r, 15)); }
        sock.write(bytes.subarray(at));
      } else sock.write(bytes);
      arm();
    });
    sock.on('data', (d) => { got.push(d); arm(); });
    sock.on('end', () => finish('closed'));
    sock.on('error', (e) => finish('error ' + e.code));
  });
}

const B = (s) => Buffer.from(s, 'latin1');
const cases = [];
const SECOND = 'GET /second HTTP/1.1\r\nHost: b\r\n\r\n';
function add(name, s, both = true) {
  if (ONLY && !ONLY.test(name)) return;
  cases.push([name, B(s)]);
  if (both) cases.push([name + ' +second', B(s + SECOND)]);
}
if (process.env.LIST) { for (const [k, c] of JSON.parse(require('fs').readFileSync(process.env.LIST, 'utf8')).entries()) cases.push([`R${k} ${JSON.stringify(c).slice(0, 80)}`, B(c)]); }
const templates = process.env.LIST ? [] : [
  ['method', 'G§T / HTTP/1.1\r\nHost: a\r\n\r\n'],
  ['method-end', 'GET§/ HTTP/1.1\r\nHost: a\r\n\r\n'],
  ['target-first', 'GET § HTTP/1.1\r\nHost: a\r\n\r\n'],
  ['target', 'GET /a§b HTTP/1.1\r\nHost: a\r\n\r\n'],
  ['target-end', 'GET /§HTTP/1.1\r\nHost: a\r\n\r\n'],
  ['version-H', 'GET / §TTP/1.1\r\nHost: a\r\n\r\n'],
  ['version-dot', 'GET / HTTP/1§1\r\nHost: a\r\n\r\n'],
  ['version-minor', 'GET / HTTP/1.§\r\nHost: a\r\n\r\n'],
  ['after-version', 'GET / HTTP/1.1§\nHost: a\r\n\r\n'],
  ['request-line-lf', 'GET / HTTP/1.1\r§Host: a\r\n\r\n'],
  ['name-first', 'GET / HTTP/1.1\r\nHost: a\r\n§X: y\r\n\r\n'],
  ['name', 'GET / HTTP/1.1\r\nHost: a\r\nX§Y: y\r\n\r\n'],
  ['before-colon', 'GET / HTTP/1.1\r\nHost: a\r\nXY§: y\r\n\r\n'],
  ['after-colon', 'GET / HTTP/1.1\r\nHost: a\r\nXY:§y\r\n\r\n'],
  ['value', 'GET / HTTP/1.1\r\nHost: a\r\nXY: a§b\r\n\r\n'],
  ['value-end', 'GET / HTTP/1.1\r\nHost: a\r\nXY: ab§\r\n\r\n'],
  ['header-cr', 'GET / HTTP/1.1\r\nHost: a\r\nXY: ab\r§\r\n'],
  ['head-end', 'GET / HTTP/1.1\r\nHost: a\r\n§\n'],
  ['head-end-cr', 'GET / HTTP/1.1\r\nHost: a\r\n\r§'],
  ['cl-value', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1§\r\n\r\nabcdefghijk'],
  ['cl-prefix', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: §3\r\n\r\nabc'],
  ['cl-name', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Len§th: 3\r\n\r\nabc'],
  ['te-value', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunk§d\r\n\r\n3\r\nabc\r\n0\r\n\r\n'],
  ['te-after', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked§\r\n\r\n3\r\nabc\r\n0\r\n\r\n'],
  ['te-before', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:§chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'],
  ['chunk-size', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n§\r\nabc\r\n0\r\n\r\n'],
  ['chunk-size-after', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3§\r\nabc\r\n0\r\n\r\n'],
  ['chunk-ext', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;a§b\r\nabc\r\n0\r\n\r\n'],
  ['chunk-ext-q', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;a="x§y"\r\nabc\r\n0\r\n\r\n'],
  ['chunk-size-lf', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r§abc\r\n0\r\n\r\n'],
  ['chunk-data-end', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc§\n0\r\n\r\n'],
  ['chunk-data-lf', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r§0\r\n\r\n'],
  ['last-chunk', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0§\r\n\r\n'],
  ['trailer-name', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT§r: x\r\n\r\n'],
  ['trailer-value', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nTr: x§y\r\n\r\n'],
  ['trailer-end', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r§'],
  ['conn-value', 'GET / HTTP/1.1\r\nHost: a\r\nConnection: clo§e\r\n\r\n'],
  ['upgrade-value', 'GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: w§\r\n\r\n'],
  ['fold', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n§b\r\n\r\n'],
  ['fold-end', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b§\r\n\r\n'],
  ['fold-cl', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n §\r\n\r\nabc'],
  ['fold-te', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n §\r\n\r\n3\r\nabc\r\n0\r\n\r\n'],
  ['fold-te2', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n §chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'],
  ['fold-conn', 'GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n §close\r\n\r\n'],
  ['fold-upgrade', 'GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade:\r\n §\r\n\r\n'],
  ['trailer-fold', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nA: b\r\n§c\r\n\r\n'],
  ['trailer-fold2', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nA: b\r\n c§\r\n d\r\nE: f\r\n\r\n'],
  ['chunk-lf-lf', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\n§abc\r\n0\n\n'],
  ['http10', 'GET / HTTP/1.0\r\nHost: a\r\nConnection: keep§alive\r\n\r\n'],
  // What follows a body: the next request, or llhttp's error after a closing one.
  ['next-after-body', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc§GET /2 HTTP/1.1\r\nHost: a\r\n\r\n'],
  ['conn-then-body', 'POST / HTTP/1.1\r\nHost: a\r\nConnection: clo§e\r\nContent-Length: 3\r\n\r\nabcGET /2 HTTP/1.1\r\nHost: a\r\n\r\n'],
  ['http10-then-body', 'POST / HTTP/1.0\r\nContent-Length: 3\r\nConnection: keep-aliv§\r\n\r\nabcGET /2 HTTP/1.1\r\nHost: a\r\n\r\n'],
  ['http10-then-chunked', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-aliv§\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n'],
];
const bytes = process.env.BYTES ? process.env.BYTES.split(',').map(Number) : [...Array(256).keys()];
for (const [name, t] of templates) for (const b of bytes) add(`${name} 0x${b.toString(16)}`, t.replace('§', String.fromCharCode(b)));
// Structured vectors.
const S = process.env.LIST ? [] : [
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc',
  'POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \tchunked\t\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: x\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 00003\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9007199254740993\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3 3\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0000000000000000000003\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n 3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;a=\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3 ;a=b\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b ;c\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;a="b\\"c"\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nA: b\r\nC : d\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nA: b\r\n folded\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nContent-Length: 5\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc',
  'GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  'HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc',
  'GET / HTTP/1.1\r\nHost: a\r\n\tX: y\r\n\r\n',
  'GET / HTTP/1.1\r\n Host: a\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  b\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\n: y\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nX y: z\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n',
  'GET / HTTP/1.1\nHost: a\n\n',
  'GET / HTTP/1.1\r\nHost: a\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\n\n',
  'GET / HTTP/1.1\nHost: a\r\n\r\n',
  '\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n',
  '\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n',
  '\nGET / HTTP/1.1\r\nHost: a\r\n\r\n',
  ' GET / HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET  / HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET /  HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET / HTTP/1.1 \r\nHost: a\r\n\r\n',
  'GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET /\tHTTP/1.1\r\nHost: a\r\n\r\n',
  'GET / HTTP/2.0\r\nHost: a\r\n\r\n',
  'GET / HTTP/0.9\r\nHost: a\r\n\r\n',
  'GET / HTTP/1.2\r\nHost: a\r\n\r\n',
  'GET / HTTP/3.1\r\nHost: a\r\n\r\n',
  'GET / HTTP/11.1\r\nHost: a\r\n\r\n',
  'GET / http/1.1\r\nHost: a\r\n\r\n',
  'GET / RTSP/1.0\r\nHost: a\r\n\r\n',
  'GET /\r\n\r\n',
  'GET / \r\n\r\n',
  'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
  'CONNECT a:80 HTTP/1.1\r\nHost: a\r\n\r\n',
  'CONNECT /a HTTP/1.1\r\nHost: a\r\n\r\n',
  'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET * HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET http://a/b?c#d HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET http://[::1]:80/ HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET //a HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET /a#b#c HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET ?a HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET a HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET http:/a HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET http://a@b/ HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET https://a:b@c:1/ HTTP/1.1\r\nHost: a\r\n\r\n',
  'M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n',
  'QUERY / HTTP/1.1\r\nHost: a\r\n\r\n',
  'get / HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET / HTTP/1.1\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
  'GET / HTTP/1.1\r\nHost:\r\n\r\n',
  'GET / HTTP/1.1\r\nhOsT: a\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\nContent-Length: 3\r\n\r\nabc',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: close, keep-alive\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: Close\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive, upgrade\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 3\r\n\r\nabc',
  'GET / HTTP/1.1\r\nHost: a\r\nX: \x80\xff\r\n\r\n',
  'GET /\x80 HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nX: \x7f\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nX\x7f: b\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nX: y \r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nX:   \t y \t \r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: foo\r\n close\r\nUpgrade: w\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: foo\r\n close\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: foo\r\n close\r\nUpgrade: w\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: foo\r\n close\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n foo\r\nUpgrade: w\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n foo\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: close\r\n foo\r\nUpgrade: w\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: close\r\n foo\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: foo,\r\n close\r\nUpgrade: w\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: foo,\r\n close\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: foo,\r\n close\r\nUpgrade: w\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: foo,\r\n close\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: closex\r\n close\r\nUpgrade: w\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: closex\r\n close\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: closex\r\n close\r\nUpgrade: w\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: closex\r\n close\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n upgrade\r\nUpgrade: w\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n upgrade\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n upgrade\r\nUpgrade: w\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n upgrade\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\t,close\r\nUpgrade: w\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\t,close\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: upgrade\r\n\t,close\r\nUpgrade: w\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: upgrade\r\n\t,close\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: foo\r\n\tkeep-alive\r\nUpgrade: w\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: foo\r\n\tkeep-alive\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: foo\r\n\tkeep-alive\r\nUpgrade: w\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: foo\r\n\tkeep-alive\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: \r\n close\r\nUpgrade: w\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: \r\n close\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: \r\n close\r\nUpgrade: w\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: \r\n close\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: clo\r\n se\r\nUpgrade: w\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: clo\r\n se\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: clo\r\n se\r\nUpgrade: w\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: clo\r\n se\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nTransfer-Encoding: chunked\r\n chunked\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nTransfer-Encoding: chunked,\r\n gzip\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nTransfer-Encoding: \r\n chunked\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nConnection: close\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nTransfer-Encoding: gzip\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nContent-Length: 0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\ncontent-length: abc\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nUpgrade: websocket\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nConnection: keep-alive\r\n\r\n',
  'POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nConnection: keep-alive\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nHost: b\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nContent-Length: 5\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nExpect: 100-continue\r\n\r\n',
];
S.forEach((s, k) => add(`S${k} ${JSON.stringify(s).slice(1, 60)}`, s));

async function pool(items, n, fn) {
  const out = Array.from({ length: items.length });
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) { const k = next++; out[k] = await fn(items[k], k); }
  }));
  return out;
}

(async () => {
  const ns = await start(nodeHttp);
  const fs = await start(ferro);
  const np = ns.address().port, fp = fs.address().port;
  const quiet = Number(process.env.QUIET) || 250;
  const conc = Number(process.env.CONC) || 48;
  const res = await pool(cases, conc, async ([name, bytes]) => {
    let [a, b] = await Promise.all([exchange(np, bytes, quiet), exchange(fp, bytes, quiet)]);
    if (a !== b) [a, b] = await Promise.all([exchange(np, bytes, 2000), exchange(fp, bytes, 2000)]);
    return [name, a, b];
  });
  let diff = 0;
  for (const [name, a, b] of res) {
    if (a === b) continue;
    diff++;
    if (diff <= Number(process.env.SHOW || 40)) console.log('### ' + name + '\n--- node:\n' + a + '\n--- ferro:\n' + b + '\n');
  }
  console.log(`${cases.length} cases, ${diff} differ${LENIENT ? ' (lenient)' : ''}`);
  ns.close(); fs.close(); ns.closeAllConnections(); fs.closeAllConnections();
  setTimeout(() => process.exit(0), 100);
})();
