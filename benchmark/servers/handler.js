'use strict';
// The request handler shared by node-http.js and ferrohttp.js, so that the two
// servers differ only in the module that provides createServer().
//
// Contract (also met by uws.js):
//   GET  /      -> 200 text/plain "Hello World"
//   GET  /json  -> 200 application/json, JSON.stringify(JSON_OBJ) per request (97 bytes)
//   POST /echo  -> 200 application/octet-stream, the request body echoed back
//   Connection: close is honoured by the server implementation itself.

// JSON.stringify(JSON_OBJ) is 97 bytes.
const JSON_OBJ = { message: 'Hello, World!', id: 1234567, active: true, tags: ['fast', 'http', 'napi'], score: 99.5 };

function handler(req, res) {
  if (req.method === 'POST') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
      res.end(body);
    });
    return;
  }
  if (req.url === '/json') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(JSON_OBJ));
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('Hello World');
}

const port = Number(process.env.PORT) || 8080;
const host = process.env.HOST || '127.0.0.1';

module.exports = { handler, JSON_OBJ, port, host };
