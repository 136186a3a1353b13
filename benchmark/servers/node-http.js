'use strict';
// Reference server: plain node:http with the shared handler.
// PORT / HOST from the environment (default 8080 / 127.0.0.1).
const http = require('node:http');
const { handler, port, host } = require('./handler.js');

const server = http.createServer(handler);
server.listen(port, host, () => console.log(`node-http listening on ${host}:${port}`));
