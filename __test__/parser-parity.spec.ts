/**
 * Parser parity with node:http (llhttp), differentially: every input of a corpus of request
 * bytes goes to a node:http server and to a server of the module under test, each on a fresh
 * connection, and what comes back must be the same bytes (Date aside) with the same ending
 * (closed by the server or left open). The handler answers with what it saw (method, url,
 * version, raw headers, body, raw trailers), so a request split differently, a header or body
 * read differently, or a connection kept when llhttp closes it (request smuggling) shows up.
 * Both strict and lenient (`insecureHTTPParser`) parsers; each input also with a second,
 * pipelined request after it.
 */
import test from 'ava'
import * as net from 'node:net'
import type { Server, IncomingMessage, ServerResponse } from 'node:http'
import { http, nodeHttp, listen, close } from './helpers/target'

function handler(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('error', () => {})
  req.on('end', () => {
    const seen = { m: req.method, u: req.url, v: req.httpVersion, h: req.rawHeaders, b: Buffer.concat(chunks).toString('latin1'), t: req.rawTrailers }
    res.end(JSON.stringify(seen))
  })
}

async function start(mod: typeof import('node:http'), lenient: boolean): Promise<{ server: Server; port: number }> {
  const server = mod.createServer({ insecureHTTPParser: lenient }, handler)
  server.on('connect', (req: IncomingMessage, socket: net.Socket) => socket.end(`CONNECT ${req.url}`))
  return { server, port: await listen(server) }
}

/**
 * The bytes a server sends back for `input` on a new connection, and how it ends: 'closed' by
 * the server, or 'open' once nothing more came for `quietMs`.
 */
function exchange(port: number, input: Buffer, quietMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    const got: Buffer[] = []
    let timer: NodeJS.Timeout | undefined
    let done = false
    const finish = (how: string): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      const text = Buffer.concat(got).toString('latin1').replace(/Date: [^\r]*\r\n/g, 'Date: <DATE>\r\n')
      resolve(`${text}\n<${how}>`)
    }
    const arm = (): void => {
      clearTimeout(timer)
      timer = setTimeout(() => finish('open'), quietMs)
    }
    socket.on('connect', () => {
      socket.write(input)
      arm()
    })
    socket.on('data', (d: Buffer) => {
      got.push(d)
      arm()
    })
    socket.on('end', () => finish('closed'))
    socket.on('error', (e: NodeJS.ErrnoException) => finish(`error ${e.code}`))
  })
}

const SECOND = 'GET /second HTTP/1.1\r\nHost: b\r\n\r\n'
const CHUNKED = 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n'

/** Templates whose `§` takes each byte of SWEEP_BYTES. */
const TEMPLATES = [
  'G§T / HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET /a§b HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET / HTTP/1.1§\nHost: a\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\n§X: y\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nX§Y: y\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nXY§: y\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nXY: a§b\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nXY: ab\r§\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\n§\n',
  'GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n§b\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n §close\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1§\r\n\r\nabcdefghijk',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked§\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n §\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  `${CHUNKED}3§\r\nabc\r\n0\r\n\r\n`,
  `${CHUNKED}3;a§b\r\nabc\r\n0\r\n\r\n`,
  `${CHUNKED}3\r§abc\r\n0\r\n\r\n`,
  `${CHUNKED}3\n§abc\r\n0\n\n`,
  `${CHUNKED}3\r\nabc§\n0\r\n\r\n`,
  `${CHUNKED}3\r\nabc\r\n0§\r\n\r\n`,
  `${CHUNKED}3\r\nabc\r\n0\r\nT§r: x\r\n\r\n`,
  `${CHUNKED}3\r\nabc\r\n0\r\nTr: x§y\r\n\r\n`,
  `${CHUNKED}3\r\nabc\r\n0\r\nA: b\r\n§c\r\n\r\n`,
]
const SWEEP_BYTES = [0x00, 0x01, 0x09, 0x0a, 0x0b, 0x0d, 0x20, 0x22, 0x2c, 0x2f, 0x3a, 0x3b, 0x3d, 0x40, 0x5c, 0x7f, 0x80, 0xff]

/** Inputs written out: smuggling shapes, framing, line ends, folds, trailers, targets. */
const VECTORS = [
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc',
  'POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \tchunked\t\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n , chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 00003\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n 2\r\n\r\nabc',
  `${CHUNKED}ffffffffffffffffff\r\nabc\r\n0\r\n\r\n`,
  `${CHUNKED}3 \r\nabc\r\n0\r\n\r\n`,
  `${CHUNKED}3\r\nabcd\r\n0\r\n\r\n`,
  `${CHUNKED}3\nabc\n0\n\n`,
  `${CHUNKED}3;a="b\\"c"\r\nabc\r\n0\r\n\r\n`,
  `${CHUNKED}3\r\nabc\r\n0\r\nA: b\r\n folded\r\n\r\n`,
  `${CHUNKED}3\r\nabc\r\n0\r\n folded\r\n\r\n`,
  // llhttp 9.4.3 (Node 22.23, 24.21): an empty Transfer-Encoding is an error, as an empty Content-Length.
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\nabc',
  'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\nabc',
  `${CHUNKED}3\r\nabc\r\n0\r\nTransfer-Encoding:\r\n\r\n`,
  // Node 22.23.2 / 24.18.1 (CVE-2026-58044): more than 1000 header lines (maxHeadersCount null) is 431; trailers apart.
  `GET / HTTP/1.1\r\nHost: a\r\n${'x:y\r\n'.repeat(1000)}\r\n`,
  `GET / HTTP/1.1\r\nHost: a\r\n${'x:y\r\n'.repeat(999)}\r\n`,
  `${CHUNKED}3\r\nabc\r\n0\r\n${'x:y\r\n'.repeat(1001)}\r\n`,
  `${CHUNKED}3\r\nabc\r\n0\r\nContent-Length: 5\r\n\r\n`,
  `${CHUNKED}3\r\nabc\r\n0\r\ncontent-length: abc\r\n\r\n`,
  `${CHUNKED}3\r\nabc\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n`,
  `${CHUNKED}3\r\nabc\r\n0\r\nConnection: close\r\n\r\n`,
  `${CHUNKED}3\r\nabc\r\n0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n`,
  'POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nConnection: keep-alive\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc',
  'HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc',
  'GET / HTTP/1.1\r\n Host: a\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  b\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nX: a \r\n b \r\n\tc\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: foo\r\n close\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n foo\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: foo,\r\n keep-alive\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n',
  'GET / HTTP/1.1\nHost: a\n\n',
  'GET / HTTP/1.1\r\nHost: a\n\r\n',
  'GET / HTTP/1.1\n\nHost: a\r\n\r\n',
  '\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET  /  HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET / HTTP/1.2\r\nHost: a\r\n\r\n',
  'GET / HTTP/2.0\r\nHost: a\r\n\r\n',
  'GET / RTSP/1.0\r\nHost: a\r\n\r\n',
  'GET /\r\n\r\n',
  'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
  'PRI /a?b\r\nX: y\r\n\r\n',
  'CONNECT a:80 HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET http://a@b/ HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET http://[::1]:80/ HTTP/1.1\r\nHost: a\r\n\r\n',
  'M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n',
  'GET / HTTP/1.1\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: close, keep-alive\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n',
  'GET / HTTP/1.0\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n',
  'POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc',
  'GET / HTTP/1.1\r\nHost: a\r\nX: \x80\xff\x7f\r\n\r\n',
]

function corpus(): Array<[string, Buffer]> {
  const cases: Array<[string, Buffer]> = []
  for (const t of TEMPLATES) {
    for (const b of SWEEP_BYTES) {
      const s = t.replace('§', String.fromCharCode(b))
      cases.push([`${JSON.stringify(t)} with 0x${b.toString(16)}`, Buffer.from(s, 'latin1')])
    }
  }
  for (const v of VECTORS) {
    cases.push([JSON.stringify(v), Buffer.from(v, 'latin1')])
    cases.push([`${JSON.stringify(v)} + second`, Buffer.from(v + SECOND, 'latin1')])
  }
  return cases
}

async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = Array.from({ length: items.length })
  let next = 0
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const k = next++
        out[k] = await fn(items[k])
      }
    }),
  )
  return out
}

for (const lenient of [false, true]) {
  test(`every input of the corpus gets node:http's answer (${lenient ? 'insecureHTTPParser' : 'strict'})`, async (t) => {
    const reference = await start(nodeHttp, lenient)
    const target = await start(http, lenient)
    try {
      const cases = corpus()
      // A quiet period ends an exchange whose connection stays open; an input whose answers
      // differ is tried again with longer ones, so a slow machine cannot make a difference.
      const differing = await pool(cases, 32, async ([name, input]) => {
        for (const quiet of [150, 1000, 3000]) {
          const [a, b] = await Promise.all([exchange(reference.port, input, quiet), exchange(target.port, input, quiet)])
          if (a === b) return null
          if (quiet === 3000) return { name, node: a, target: b }
        }
        return null
      })
      const diffs = differing.filter((d) => d !== null)
      t.deepEqual(diffs, [], `${diffs.length} of ${cases.length} inputs answered differently`)
      t.true(cases.length > 500)
    } finally {
      await close(reference.server)
      await close(target.server)
    }
  })
}
