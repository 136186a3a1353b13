'use strict';
// What the script-driven differentials (responses.js, request-streams.js) share: a seeded
// random source, one raw exchange, and the run that sends each script's request to a
// node:http server and a ferrohttp server with the same handler and compares what comes back.
const net = require('node:net');
const nodeHttp = require('node:http');

/** xorshift32 from `seed`: `rnd()` in [0, 1), `pick(array)`. */
function seeded(seed) {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  return { rnd, pick: (a) => a[Math.floor(rnd() * a.length)] };
}

/**
 * Sends `bytes` on a new connection and resolves with everything received (latin1, Date
 * headers blanked) and how it ended: `<closed>`, `<err CODE>`, or `<open>` after `idleMs` quiet.
 */
function exchange(port, bytes, idleMs) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const got = [];
    let t;
    const fin = (how) => {
      clearTimeout(t);
      sock.destroy();
      resolve(`${Buffer.concat(got).toString('latin1').replace(/Date: [^\r]*\r\n/g, 'Date: X\r\n')}<${how}>`);
    };
    const arm = () => {
      clearTimeout(t);
      t = setTimeout(() => fin('open'), idleMs);
    };
    sock.on('connect', () => {
      sock.write(bytes);
      arm();
    });
    sock.on('data', (d) => {
      got.push(d);
      arm();
    });
    sock.on('end', () => fin('closed'));
    sock.on('error', (e) => fin(`err ${e.code}`));
  });
}

/**
 * Runs scripts 0..n-1: `makeHandler(log)` builds a server's handler that records script i's
 * events in `log[i]`; `bytesOf(i)` is its request. Prints `report(i, wire, events)` for the
 * first SHOW differences (wire and events are [node, ferro]), then `N scripts, D differ`.
 */
async function compareAll({ n, makeHandler, bytesOf, report, concurrency, idleMs, settleMs }) {
  const ferro = require(process.env.FERRO || require('node:path').resolve(__dirname, '..', '..'));
  const nlog = {};
  const flog = {};
  const a = nodeHttp.createServer(makeHandler(nlog));
  const b = ferro.createServer(makeHandler(flog));
  await new Promise((r) => a.listen(0, '127.0.0.1', r));
  await new Promise((r) => b.listen(0, '127.0.0.1', r));
  const show = Number(process.env.SHOW || 5);
  let diff = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const [x, y] = await Promise.all([exchange(a.address().port, bytesOf(i), idleMs), exchange(b.address().port, bytesOf(i), idleMs)]);
        await new Promise((r) => setTimeout(r, settleMs));
        if (x !== y || JSON.stringify(nlog[i]) !== JSON.stringify(flog[i])) {
          diff++;
          if (diff <= show) report(i, [x, y], [nlog[i] || [], flog[i] || []]);
        }
      }
    }),
  );
  console.log(`${n} scripts, ${diff} differ`);
  a.close();
  b.close();
  process.exit(0);
}

module.exports = { seeded, exchange, compareAll };
