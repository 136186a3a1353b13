'use strict';
// The project's server with exactly node-http.js's handler: only the module differs.
// Loads the package from the repository root (package.json "main": dist/index.js,
// built by `npm run build`). PORT / HOST from the environment.
const path = require('node:path');
const { handler, port, host } = require('./handler.js');

const http = require(path.resolve(__dirname, '..', '..'));

const server = http.createServer(handler);
server.listen(port, host, () => console.log(`ferrohttp listening on ${host}:${port}`));
