'use strict';
// The example from the README: node:http's hello world with one import changed.
const http = require('..');

const port = Number(process.env.PORT) || 3000;
const server = http.createServer((req, res) => {
  if (req.url === '/json') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ hello: 'world', method: req.method, headers: req.headers }));
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('Hello World\n');
});
server.listen(port, () => {
  console.log(`ferrohttp example listening on http://localhost:${server.address().port}/`);
});
