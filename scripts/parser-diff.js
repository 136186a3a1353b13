'use strict';
// Differential check of the request parser against node:http: the same bytes go to a node:http
// server and to a ferrohttp server (one connection per case, sent in one write, then half-close)
// and what each does is compared: the response's status line, the requests dispatched, and every
// clientError's code, reason and bytesParsed. Cases are mutations (bytes replaced, inserted,
// removed) of a few valid requests, reproducible by seed. Prints each difference and a count.
// Needs a build (dist/). Usage: node scripts/parser-diff.js [count] [seed] [--insecure] [--max-header-size=N]
//   --insecure: both servers with insecureHTTPParser (llhttp's lenient flags).
//   --max-header-size=N: both servers with maxHeaderSize N, and each case padded (a long target,
//   header value or trailer value, before or after the mutations) to straddle it.
const net = require('node:net');
const path = require('node:path');

const nodeHttp = require('node:http');
const ferro = require(path.resolve(__dirname, '..'));

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const insecureHTTPParser = process.argv.includes('--insecure');
const maxSizeArg = process.argv.find((a) => a.startsWith('--max-header-size='));
const maxHeaderSize = maxSizeArg ? Number(maxSizeArg.split('=')[1]) : undefined;
const COUNT = Number(args[0]) || 1000;
let seed = Number(args[1]) || 12345;

const SEEDS = [
  'GET /a?b=1#c HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: ws\r\n\r\n',
  'POST /p HTTP/1.0\r\nContent-Length: 2\r\nConnection: close\r\nX-A:  v \r\n\r\nab',
  'PUT * HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\nProxy-Connection: close\r\n\r\n0\r\n\r\n',
  'GET http://u@h:8/x?y HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
  'POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a="b"\r\nabc\r\n0\r\nT: v\r\n\r\n',
  // UTF-8 (as latin1 text, one char per byte) in the target and a value: httparse takes it.
  'GET /caf\xc3\xa9?q=\xc3\xa9 HTTP/1.1\r\nHost: x\r\nX-U: \xc3\xa9\r\n\r\n',
];
const BYTES = ' \t\r\n:,;/?#@*"\x00\x01\x7f\x80\xffaAzZ09-_.HTPchunkedclose';

function random() {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed;
}

function mutate(text) {
  const s = text.split('');
  for (let k = 1 + (random() % 3); k > 0; k--) {
    const at = random() % s.length;
    const b = BYTES[random() % BYTES.length];
    const op = random() % 3;
    if (op === 0) s[at] = b;
    else if (op === 1) s.splice(at, 0, b);
    else s.splice(at, 1);
  }
  return s.join('');
}

/** `text` with a run of padding about the size of the limit in its target or a header value. */
function pad(text) {
  const run = 'p'.repeat(random() % (2 * maxHeaderSize));
  const lineEnd = text.indexOf('\r\n');
  const lastChunk = text.indexOf('\r\n0\r\n');
  if (lastChunk >= 0 && random() % 3 === 0) {
    // A trailer: counted on its own, from the end of the head.
    return `${text.slice(0, lastChunk + 5)}T-Pad: ${run}\r\n${text.slice(lastChunk + 5)}`;
  }
  if (random() % 3 === 0 || lineEnd < 0) {
    const space = text.indexOf(' ');
    return text.slice(0, space + 2) + run + text.slice(space + 2);
  }
  return `${text.slice(0, lineEnd + 2)}X-Pad: ${run}\r\n${text.slice(lineEnd + 2)}`;
}

/** A server recording what it saw; answers every request at once. */
function start(http) {
  return new Promise((resolve) => {
    const seen = [];
    const server = http.createServer({ insecureHTTPParser, maxHeaderSize }, (req, res) => {
      seen.push(`request ${req.method} ${req.url} ${req.httpVersion}`);
      res.end('x');
    });
    server.on('clientError', (e, socket) => {
      seen.push(`clientError ${e.code} ${JSON.stringify(e.reason)} ${e.bytesParsed}`);
      socket.destroy();
    });
    server.listen(0, '127.0.0.1', () => resolve({ server, seen }));
  });
}

/** Sends `bytes`; resolves the status line received (if any) once the server closes. */
function exchange(port, bytes) {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1', () => c.end(Buffer.from(bytes, 'latin1')));
    let got = '';
    c.on('data', (d) => (got += d.toString('latin1')));
    c.on('error', () => {});
    c.on('close', () => resolve(got.split('\r\n')[0]));
  });
}

async function judge(target, bytes) {
  const status = await exchange(target.server.address().port, bytes);
  // Let a clientError that follows the close arrive.
  await new Promise((r) => setTimeout(r, 5));
  return [status, ...target.seen.splice(0)].join(' | ');
}

(async () => {
  const node = await start(nodeHttp);
  const ours = await start(ferro);
  let differ = 0;
  for (let i = 0; i < COUNT; i++) {
    const seedText = SEEDS[i % SEEDS.length];
    let bytes;
    if (maxHeaderSize === undefined) bytes = mutate(seedText);
    else bytes = random() % 2 === 0 ? mutate(pad(seedText)) : pad(mutate(seedText));
    const a = await judge(node, bytes);
    const b = await judge(ours, bytes);
    if (a !== b) {
      differ++;
      console.log(`${JSON.stringify(bytes)}\n  node:http  ${a}\n  ferrohttp  ${b}`);
    }
  }
  console.log(`${COUNT - differ}/${COUNT} cases judged alike (Node ${process.version}, llhttp ${process.versions.llhttp})`);
  node.server.close();
  ours.server.close();
})();
