/**
 * Malformed requests get node's exact 400 reply and the connection is closed, while other
 * connections keep being served.
 */
import test from 'ava'
import type { Socket } from 'node:net'
import { startServer, close, rawExchange, RawConnection, normalize } from './helpers/target'

const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'
const KA = 'Date: <DATE>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n'
const ok = (body: string) => `HTTP/1.1 200 OK\r\n${KA}Content-Length: ${body.length}\r\n\r\n${body}`

async function withServer(fn: (port: number, seen: string[]) => Promise<void>): Promise<void> {
  const seen: string[] = []
  const { server, port } = await startServer((req, res) => {
    seen.push(`${req.method} ${req.url}`)
    req.resume()
    req.on('end', () => res.end(`ok ${req.url}`))
    req.on('error', () => {})
  })
  try {
    await fn(port, seen)
  } finally {
    await close(server)
  }
}

/** Send `bytes` on a fresh connection; expect exactly `expected` and that the server closes. */
async function expectRejected(port: number, bytes: string | Buffer, expected = BAD_REQUEST): Promise<string> {
  const r = await rawExchange(port, bytes)
  if (!r.closedByServer) throw new Error('server did not close')
  return r.data === expected ? expected : normalize(r.data)
}

const malformed: Array<[string, string | Buffer]> = [
  ['header line without a colon', 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'],
  ['binary garbage', Buffer.from([0x00, 0x01, 0x02, 0x20, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x0d, 0x0a, 0x0d, 0x0a])],
  ['unknown method', 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['bare LF line endings', 'GET / HTTP/1.1\nHost: x\n\n'],
  ['space before the colon', 'GET / HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n'],
  ['obsolete line folding', 'GET / HTTP/1.1\r\nHost: a\r\n Folded: x\r\n\r\n'],
  ['control character in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\u0001b\r\n\r\n'],
  ['control character in the target', 'GET /\u0001 HTTP/1.1\r\nHost: x\r\n\r\n'],
  // httparse takes UTF-8 in a target; llhttp does not.
  ['UTF-8 in the target', Buffer.from('GET /caf\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n', 'utf8')],
  ['UTF-8 in the query', Buffer.from('GET /a?q=\u00e9t\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n', 'utf8')],
  ['non-numeric Content-Length', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n'],
  ['Content-Length together with Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n'],
  ['duplicate Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc'],
  ['Transfer-Encoding where chunked is not last', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n'],
]

for (const [name, bytes] of malformed) {
  test(`malformed request (${name}) -> exact 400 and close; no handler call`, async (t) => {
    await withServer(async (port, seen) => {
      t.is(await expectRejected(port, bytes), BAD_REQUEST)
      t.deepEqual(seen, [])
    })
  })
}

// What llhttp takes although a stricter parser would not: each is dispatched as Node does,
// with Node's version and keep-alive decision (the 1.0 rules for 0.9 and 2.0).
const accepted: Array<[string, string, string, boolean]> = [
  ['several spaces around the target', 'GET  /a  HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /a 1.1', true],
  ['HTTP/2.0 in the request line', 'GET /a HTTP/2.0\r\nHost: x\r\n\r\n', 'GET /a 2.0', false],
  ['HTTP/0.9 in the request line', 'GET /a HTTP/0.9\r\nHost: x\r\n\r\n', 'GET /a 0.9', false],
  ['no version (HTTP/0.9)', 'GET /a\r\nHost: x\r\n\r\n', 'GET /a 0.9', false],
  ['RTSP/1.0 with an RTSP method', 'DESCRIBE /a RTSP/1.0\r\n\r\n', 'DESCRIBE /a 1.0', false],
  ['ICE/1.0 with SOURCE', 'SOURCE /a ICE/1.0\r\n\r\n', 'SOURCE /a 1.0', false],
  ['Proxy-Connection: close', 'GET /a HTTP/1.1\r\nHost: x\r\nProxy-Connection: close\r\n\r\n', 'GET /a 1.1', false],
  ['absolute-form target', 'GET http://[::1]:80/a?b#c HTTP/1.1\r\nHost: x\r\n\r\n', 'GET http://[::1]:80/a?b#c 1.1', true],
]

for (const [name, bytes, seenAs, keepAlive] of accepted) {
  test(`accepted as llhttp does (${name}): dispatched, answered, ${keepAlive ? 'kept open' : 'closed'}`, async (t) => {
    const seen: string[] = []
    const { server, port } = await startServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.httpVersion}`)
      res.end('ok')
    })
    try {
      const r = await rawExchange(port, bytes, keepAlive ? { responses: 1 } : {})
      // Below HTTP/1.1 (no chunked by default) and closing, Node frames the body by the close,
      // with no Content-Length.
      const length = seenAs.endsWith(' 1.1') ? 'Content-Length: 2\r\n' : ''
      const head = keepAlive ? `${KA}${length}` : `Date: <DATE>\r\nConnection: close\r\n${length}`
      t.is(normalize(r.data), `HTTP/1.1 200 OK\r\n${head}\r\nok`)
      t.is(r.closedByServer, !keepAlive)
      t.deepEqual(seen, [seenAs])
    } finally {
      await close(server)
    }
  })
}

test('a second, already-open keep-alive connection is served before and after a malformed request', async (t) => {
  await withServer(async (port) => {
    const good = new RawConnection(port)
    try {
      await good.write('GET /before HTTP/1.1\r\nHost: h\r\n\r\n')
      t.deepEqual((await good.readResponses(1)).map(normalize), [ok('ok /before')])

      t.is(await expectRejected(port, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'), BAD_REQUEST)
      t.is(await expectRejected(port, '\x00\x01\x02 hello\r\n\r\n'), BAD_REQUEST)

      await good.write('GET /after HTTP/1.1\r\nHost: h\r\n\r\n')
      t.deepEqual((await good.readResponses(1)).map(normalize), [ok('ok /after')])
      t.false(good.closed)
    } finally {
      good.destroy()
    }
  })
})

test('a malformed request after a completed one on the same connection: 400 then close', async (t) => {
  await withServer(async (port) => {
    const conn = new RawConnection(port)
    try {
      await conn.write('GET /first HTTP/1.1\r\nHost: h\r\n\r\n')
      t.deepEqual((await conn.readResponses(1)).map(normalize), [ok('ok /first')])
      await conn.write('GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n')
      await conn.waitClose()
      t.is(conn.rest(), BAD_REQUEST)
    } finally {
      conn.destroy()
    }
  })
})

test('HTTP/1.1 request without Host: 400 with Date and an empty chunked body (not the parser-error reply)', async (t) => {
  await withServer(async (port, seen) => {
    const r = await rawExchange(port, 'GET / HTTP/1.1\r\n\r\n')
    t.true(r.closedByServer)
    t.is(
      normalize(r.data),
      'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nDate: <DATE>\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    )
    t.deepEqual(seen, [])
  })
})

test('HTTP/1.0 request without Host is fine', async (t) => {
  await withServer(async (port, seen) => {
    const r = await rawExchange(port, 'GET /ten HTTP/1.0\r\n\r\n')
    t.is(normalize(r.data), 'HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: close\r\n\r\nok /ten')
    t.deepEqual(seen, ['GET /ten'])
  })
})

test('headers larger than 16 KiB -> 431 and close', async (t) => {
  await withServer(async (port, seen) => {
    const big = `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`
    t.is(await expectRejected(port, big, 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n'),
      'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n')
    t.deepEqual(seen, [])
  })
})

test('headers just under the limit are accepted', async (t) => {
  await withServer(async (port, seen) => {
    const value = 'a'.repeat(15 * 1024)
    const r = await rawExchange(port, `GET /big HTTP/1.1\r\nHost: x\r\nX-Big: ${value}\r\n\r\n`, { responses: 1 })
    t.is(normalize(r.data), ok('ok /big'))
    t.deepEqual(seen, ['GET /big'])
  })
})

test('invalid chunk size after the handler started: 400, close, req gets aborted + ECONNRESET error', async (t) => {
  const reqEvents: string[] = []
  let settle!: () => void
  const settled = new Promise<void>((r) => (settle = r))
  const { server, port } = await startServer((req, res) => {
    reqEvents.push(`request ${req.url}`)
    req.on('aborted', () => reqEvents.push('aborted'))
    req.on('error', (e: Error & { code?: string }) => reqEvents.push(`error ${e.code} ${e.message}`))
    req.on('close', () => {
      reqEvents.push('close')
      settle()
    })
    req.on('end', () => res.end('should not be sent'))
    req.resume()
  })
  try {
    const r = await rawExchange(port, 'POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n')
    t.true(r.closedByServer)
    t.is(r.data, BAD_REQUEST)
    await settled
    t.deepEqual(reqEvents, ['request /x', 'aborted', 'error ECONNRESET aborted', 'close'])
  } finally {
    await close(server)
  }
})

test("clientError listener gets (err, socket) with node's parser error codes and can answer itself", async (t) => {
  const cases: Array<[string, string]> = [
    ['GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['\x00\x01\x02 hello\r\n\r\n', 'HPE_INVALID_METHOD'],
    ['FOO / HTTP/1.1\r\nHost: x\r\n\r\n', 'HPE_INVALID_METHOD'],
    ['GET / HTTP/1.1\nHost: x\n\n', 'HPE_INVALID_VERSION'],
    ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH'],
    ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`, 'HPE_HEADER_OVERFLOW'],
  ]
  const seen: Array<{ isError: boolean; code: string | undefined; hasSocket: boolean }> = []
  const { server, port } = await startServer((req, res) => res.end('unexpected'))
  server.on('clientError', (err: Error & { code?: string }, socket: Socket) => {
    seen.push({ isError: err instanceof Error, code: err.code, hasSocket: typeof socket.end === 'function' })
    socket.end('HTTP/1.1 418 I\'m a Teapot\r\nConnection: close\r\nContent-Length: 6\r\n\r\ncustom')
  })
  try {
    for (const [bytes] of cases) {
      const r = await rawExchange(port, bytes)
      t.true(r.closedByServer)
      t.is(r.data, "HTTP/1.1 418 I'm a Teapot\r\nConnection: close\r\nContent-Length: 6\r\n\r\ncustom")
    }
    t.deepEqual(
      seen,
      cases.map(([, code]) => ({ isError: true, code, hasSocket: true })),
    )
  } finally {
    await close(server)
  }
})
