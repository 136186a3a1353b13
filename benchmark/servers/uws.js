'use strict';
// Baseline: uWebSockets.js v20.30.0, from the npm republish
// @trufflesuite/uws-js-unofficial@20.30.0-unofficial.0, which benchmark/run.js installs on
// demand into benchmark/.deps (not a dependency of the package).
//
// The republish's entry point silently falls back to a pure-Node implementation (built on
// `ws`) when its native binary does not load. That would not be uWS, so this server loads
// the native binary directly and exits with an error if it cannot.
//
// Same contract as handler.js: GET / Hello World text/plain, GET /json JSON (97 bytes,
// stringified per request), POST /echo echoes the body; uWS honours Connection: close.
// PORT / HOST from the environment; UWS_DIR overrides the package directory.
const path = require('node:path');
const { JSON_OBJ, port, host } = require('./handler.js');

const pkgDir = process.env.UWS_DIR ||
  path.join(__dirname, '..', '.deps', 'node_modules', '@trufflesuite', 'uws-js-unofficial');
const binary = path.join(pkgDir, 'binaries',
  `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);

let uWS;
try {
  uWS = require(binary);
} catch (e) {
  console.error(`uws: cannot load the native uWebSockets.js binary ${binary}: ${e.message}`);
  process.exit(3);
}

uWS.App()
  .get('/', (res) => {
    res.cork(() => res.writeStatus('200 OK').writeHeader('Content-Type', 'text/plain').end('Hello World'));
  })
  .get('/json', (res) => {
    res.cork(() => res.writeStatus('200 OK').writeHeader('Content-Type', 'application/json').end(JSON.stringify(JSON_OBJ)));
  })
  .post('/echo', (res) => {
    const chunks = [];
    let aborted = false;
    res.onAborted(() => { aborted = true; });
    res.onData((ab, isLast) => {
      chunks.push(Buffer.from(ab.slice(0))); // ab is neutered after the callback: copy
      if (isLast && !aborted) {
        const body = Buffer.concat(chunks);
        res.cork(() => res.writeStatus('200 OK').writeHeader('Content-Type', 'application/octet-stream').end(body));
      }
    });
  })
  .listen(host, port, (token) => {
    if (!token) { console.error(`uws: listen on ${host}:${port} failed`); process.exit(1); }
    console.log(`uws listening on ${host}:${port}`);
  });
