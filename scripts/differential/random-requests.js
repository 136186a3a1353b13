'use strict';
// Random request inputs for requests.js: structured requests (methods, targets, versions,
// special headers and values, line ends, folds, bodies, a pipelined second request) with up to
// two byte mutations each, printed as a JSON array. SEED and N from the environment.
const SEED = Number(process.env.SEED || 1);
let s = SEED >>> 0 || 1;
const rnd = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; };
const pick = (a) => a[Math.floor(rnd() * a.length)];
const EOL = () => pick(['\r\n', '\r\n', '\r\n', '\r\n', '\n', '\r', '\r\r\n']);
const methods = ['GET', 'POST', 'PUT', 'HEAD', 'CONNECT', 'OPTIONS', 'PRI', 'get', 'GE', 'M-SEARCH', 'SOURCE', 'DESCRIBE'];
const targets = ['/', '/a?b', '*', 'http://a/b', 'a:80', '/a b', '/%00', '//x', '', 'http://a@b/', '/\x7f', '/é'];
const versions = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.2', 'RTSP/1.0', 'ICE/1.0', 'HTTP/1', 'http/1.1', ''];
const names = ['Host', 'Content-Length', 'Transfer-Encoding', 'Connection', 'Upgrade', 'Expect', 'X', 'content-length', 'TRANSFER-ENCODING', 'Proxy-Connection', 'Keep-Alive', 'X Y', ''];
const values = {
  'Content-Length': ['0', '3', '5', '03', '3 ', ' 3', '3,3', '-1', '', 'abc', '99999999999999999999', '3\t'],
  'Transfer-Encoding': ['chunked', 'gzip, chunked', 'chunked, gzip', 'CHUNKED', 'chunked ', ' chunked', 'gzip', 'chunked,', 'identity', 'chunkedx', ''],
  Connection: ['close', 'keep-alive', 'upgrade', 'Upgrade, keep-alive', 'close, keep-alive', 'foo', 'closed', 'close\t', ''],
  Upgrade: ['websocket', 'h2c', ''],
  Expect: ['100-continue', 'foo'],
};
const bodies = ['', 'abc', '3\r\nabc\r\n0\r\n\r\n', '0\r\n\r\n', '3\r\nabc\r\n0\r\nT: v\r\n\r\n', '3;x=y\r\nabc\r\n0\r\n\r\n', '3\nabc\n0\n\n', 'abcde'];
function one() {
  let r = `${pick(methods)} ${pick(targets)}${rnd() < 0.9 ? ' ' + pick(versions) : ''}${EOL()}`;
  const n = Math.floor(rnd() * 5);
  for (let k = 0; k < n; k++) {
    const name = pick(names);
    const v = values[name] ? pick(values[name]) : pick(['a', '', 'x y', 'a\tb', '\x01', 'é']);
    r += `${name}:${pick([' ', '', '  ', '\t'])}${v}${EOL()}`;
    if (rnd() < 0.05) r += ` fold${EOL()}`;
  }
  r += EOL() + pick(bodies);
  if (rnd() < 0.5) r += 'GET /second HTTP/1.1\r\nHost: b\r\n\r\n';
  // mutations
  const m = Math.floor(rnd() * 3);
  for (let k = 0; k < m; k++) {
    const at = Math.floor(rnd() * (r.length + 1));
    const op = rnd();
    const ch = String.fromCharCode(pick([0, 9, 10, 13, 32, 44, 58, 59, 0x7f, 0x80, 0xff, 65, 48]));
    if (op < 0.33) r = r.slice(0, at) + ch + r.slice(at);
    else if (op < 0.66) r = r.slice(0, at) + r.slice(at + 1);
    else r = r.slice(0, at) + ch + r.slice(at + 1);
  }
  return r;
}
const N = Number(process.env.N || 5000);
const list = [];
for (let i = 0; i < N; i++) list.push(one());
process.stdout.write(JSON.stringify(list));
