/**
 * res.end() in all its shapes, differentially: each case runs on node:http and on the module
 * under test in the same process, and the bytes on the wire (Date normalised) and the order of
 * the response's events must be the same. ferrohttp answers the common shapes of end() with one
 * write of head, framing and body (lib/outgoing.ts); the rest goes through Node's own end().
 */
import test from 'ava'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { http, nodeHttp, listen, close, rawExchange, normalize } from './helpers/target'

type Handler = (req: IncomingMessage, res: ServerResponse, log: string[]) => void

const GET = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'

interface Case {
  name: string
  handler: Handler
  request?: string
  responses?: number
  methods?: string[]
}

/** Records the response's events, in order, into `log`. */
function watch(res: ServerResponse, log: string[], tag = ''): void {
  for (const ev of ['prefinish', 'finish', 'close']) res.on(ev, () => log.push(tag + ev))
}

const cases: Case[] = [
  { name: 'writeHead + end(ASCII string): chunked', handler: (_q, res) => (res.writeHead(200, { 'content-type': 'text/plain' }), res.end('Hello World')) },
  { name: 'writeHead + end(non-ASCII utf8 string)', handler: (_q, res) => (res.writeHead(200), res.end('héllo ✓ 𝄞')) },
  { name: 'writeHead + end(latin1 string, "latin1")', handler: (_q, res) => (res.writeHead(200), res.end('ÿé latin', 'latin1')) },
  { name: 'writeHead + end(string, "hex")', handler: (_q, res) => (res.writeHead(200), res.end('cafe00ff', 'hex')) },
  { name: 'writeHead + end(string, "ascii")', handler: (_q, res) => (res.writeHead(200), res.end('plain ascii', 'ascii')) },
  { name: 'writeHead + end(Buffer)', handler: (_q, res) => (res.writeHead(200), res.end(Buffer.from([0, 1, 2, 255]))) },
  { name: 'writeHead + end(Uint8Array)', handler: (_q, res) => (res.writeHead(200), res.end(new Uint8Array([65, 66, 67]))) },
  { name: 'writeHead + end()', handler: (_q, res) => (res.writeHead(200), res.end()) },
  { name: "writeHead + end('')", handler: (_q, res) => (res.writeHead(200), res.end('')) },
  { name: 'implicit head: end(ASCII string) gets Content-Length', handler: (_q, res) => res.end('implicit') },
  { name: 'implicit head: end(utf8 string) counts bytes', handler: (_q, res) => res.end('ünïcödé ✓') },
  { name: 'implicit head: end(Buffer)', handler: (_q, res) => res.end(Buffer.from('buffer body')) },
  { name: 'implicit head: end()', handler: (_q, res) => res.end() },
  { name: "implicit head: end('')", handler: (_q, res) => res.end('') },
  {
    name: 'end(chunk, callback) and end(callback): callback after finish',
    handler: (_q, res, log) => {
      res.setHeader('x-a', '1')
      res.end('with callback', () => log.push('cb'))
    },
  },
  { name: 'end(callback) alone', handler: (_q, res, log) => res.end(() => log.push('cb')) },
  { name: 'end(chunk, encoding, callback)', handler: (_q, res, log) => res.end('6869', 'hex', () => log.push('cb')) },
  {
    name: 'write() then end(chunk)',
    handler: (_q, res) => {
      res.write('first ')
      res.end('last')
    },
  },
  {
    name: 'write() then end()',
    handler: (_q, res) => {
      res.writeHead(200, { 'content-length': '5' })
      res.write('12345')
      res.end()
    },
  },
  {
    name: 'Content-Length set by the application, end(Buffer)',
    handler: (_q, res) => (res.writeHead(200, { 'Content-Length': 3 }), res.end(Buffer.from('abc'))),
  },
  {
    name: 'trailers on a chunked response',
    handler: (_q, res) => {
      res.writeHead(200, { Trailer: 'x-sum' })
      res.addTrailers({ 'x-sum': '42' })
      res.end('body')
    },
  },
  {
    name: 'strictContentLength with the right length',
    handler: (_q, res) => {
      res.strictContentLength = true
      res.setHeader('content-length', 4)
      res.end('four')
    },
  },
  {
    name: 'cork() held by the application: end() releases it',
    handler: (_q, res) => {
      res.cork()
      res.write('a')
      res.end('b')
    },
  },
  { name: '204: end(body) sends no body', handler: (_q, res) => (res.writeHead(204), res.end('ignored')) },
  { name: '304: end()', handler: (_q, res) => (res.writeHead(304), res.end()) },
  { name: 'HEAD: end(body) sends the head only', handler: (_q, res) => res.end('not sent'), request: 'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n', methods: ['HEAD'] },
  { name: 'HTTP/1.0: end(body), then close', handler: (_q, res) => (res.writeHead(200), res.end('one-oh')), request: 'GET / HTTP/1.0\r\n\r\n' },
  {
    name: 'Connection: close from the client',
    handler: (_q, res) => res.end('bye'),
    request: 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  },
  // A header value of latin1 characters (here the bytes of UTF-8 'bår' read as latin1).
  { name: 'latin1 header value, end(ASCII string): head and body as utf8', handler: (_q, res) => (res.setHeader('x-a', 'bÃ¥r'), res.end('hello')) },
  { name: 'latin1 header value, end(utf8 string)', handler: (_q, res) => (res.setHeader('x-a', 'bÃ¥r'), res.end('hé')) },
  { name: 'latin1 header value, end(string, "utf-8"): head as latin1', handler: (_q, res) => (res.setHeader('x-a', 'bÃ¥r'), res.end('hé', 'utf-8')) },
  { name: 'latin1 header value, end(string, "latin1")', handler: (_q, res) => (res.setHeader('x-a', 'bÃ¥r'), res.end('hé', 'latin1')) },
  { name: 'latin1 header value, end(Buffer)', handler: (_q, res) => (res.setHeader('x-a', 'bÃ¥r'), res.end(Buffer.from('hello'))) },
  { name: 'latin1 header value, end()', handler: (_q, res) => (res.setHeader('x-a', 'bÃ¥r'), res.end()) },
  { name: 'latin1 header value, writeHead + end(string): chunked', handler: (_q, res) => (res.writeHead(200, ['x-a', 'bÃ¥r']), res.end('hello')) },
  {
    name: 'latin1 Content-Disposition with Content-Length (Node re-decodes it), end(string)',
    handler: (_q, res) => (res.writeHead(200, ['Content-Length', '5', 'content-disposition', 'bÃ¥r']), res.end('hello')),
  },
  {
    name: 'flushHeaders() then end(chunk)',
    handler: (_q, res) => {
      res.flushHeaders()
      res.end('after flush')
    },
  },
  {
    name: 'pipelined: the second response ends first and waits its turn',
    request: 'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n',
    responses: 2,
    handler: (req, res, log) => {
      const tag = req.url + ':'
      watch(res, log, tag)
      if (req.url === '/1') setImmediate(() => res.end('first'))
      else res.end('second', () => log.push(tag + 'cb'))
    },
  },
  {
    name: 'pipelined: a queued response corked, written and ended without uncork()',
    request: 'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n',
    responses: 2,
    handler: (req, res, log) => {
      const tag = req.url + ':'
      watch(res, log, tag)
      if (req.url === '/1') {
        setImmediate(() => res.end('first'))
        return
      }
      // Node 22 holds a corked response's chunks in its own buffer until uncork() or end().
      res.cork()
      res.write('a')
      res.write('b')
      res.end('c', () => log.push(tag + 'cb'))
    },
  },
  {
    name: 'pipelined, queued responses of every shape, finished in reverse order',
    request: Array.from({ length: 6 }, (_, k) => `GET /${k} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''),
    responses: 6,
    handler: (req, res, log) => {
      const k = Number(req.url?.slice(1))
      watch(res, log, `${k}:`)
      // Responses 1..5 end while response 0 still holds the connection; 0 ends last.
      const finish = (): void => {
        switch (k) {
          case 0:
            res.end('zero')
            break
          case 1:
            res.writeHead(200, { 'content-type': 'text/plain' })
            res.end('ünïcödé ✓', () => log.push('1:cb'))
            break
          case 2:
            res.write('partial ')
            res.end(Buffer.from([1, 2, 3]))
            break
          case 3:
            res.writeHead(200, { Trailer: 'x-t' })
            res.addTrailers({ 'x-t': 'v' })
            res.end('with trailers')
            break
          case 4:
            res.end()
            break
          case 5:
            res.writeHead(204)
            res.end('dropped')
            break
        }
      }
      if (k === 0) setTimeout(finish, 30)
      else finish()
    },
  },
]

async function run(module: typeof import('node:http'), c: Case): Promise<{ wire: string; log: string[] }> {
  const log: string[] = []
  const server = module.createServer((req, res) => {
    if (c.responses === undefined) watch(res, log)
    c.handler(req, res, log)
  })
  const port = await listen(server)
  const request = c.request ?? GET
  const result = await rawExchange(port, request, { responses: c.responses ?? 1, methods: c.methods })
  // Let the last events ('close' comes a tick after 'finish') land before reading the log.
  await new Promise((r) => setTimeout(r, 20))
  await close(server)
  return { wire: normalize(result.data), log }
}

for (const c of cases) {
  test(`end(): ${c.name}`, async (t) => {
    const expected = await run(nodeHttp, c)
    const actual = await run(http, c)
    t.is(actual.wire, expected.wire)
    t.deepEqual(actual.log, expected.log)
  })
}
