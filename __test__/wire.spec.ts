/**
 * Exact bytes on the wire (Date normalised) for the common response shapes, compared against what
 * node:http 20 sends. Keep-alive is proven by a second request on the same connection, close by the
 * server actually closing the socket.
 */
import test from 'ava'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { startServer, close, rawExchange, RawConnection, normalize } from './helpers/target'

/** A small router used by every test in this file. */
function router(req: IncomingMessage, res: ServerResponse): void {
  switch (req.url) {
    case '/':
      res.end('hello')
      return
    case '/typed':
      res.setHeader('Content-Type', 'text/plain; charset=utf-8')
      res.end('hello')
      return
    case '/chunked':
      res.write('hello')
      res.end(' world')
      return
    case '/cl':
      res.setHeader('Content-Length', '5')
      res.end('hello')
      return
    case '/cl-write':
      res.setHeader('Content-Length', '5')
      res.write('he')
      res.end('llo')
      return
    case '/empty':
      res.end()
      return
    case '/204':
      res.statusCode = 204
      res.end()
      return
    case '/204-body':
      res.statusCode = 204
      res.end('this body must not be sent')
      return
    case '/204-cl':
      res.writeHead(204, { 'Content-Length': '0' })
      res.end()
      return
    case '/304':
      res.statusCode = 304
      res.end()
      return
    case '/304-etag':
      res.writeHead(304, { ETag: '"abc"' })
      res.end()
      return
    case '/304-write':
      res.statusCode = 304
      res.write('x')
      res.end()
      return
    case '/head-cl':
      res.setHeader('Content-Length', '5')
      res.end()
      return
    default:
      res.statusCode = 404
      res.end('not found')
  }
}

const KA = 'Date: <DATE>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n'

/**
 * Send `request` on a fresh connection, expect exactly `expected` (normalised) as one response,
 * then prove the connection is still usable with a follow-up GET /empty.
 */
async function expectKeepAlive(port: number, request: string, method: string): Promise<string> {
  const conn = new RawConnection(port)
  try {
    await conn.write(request)
    const [first] = await conn.readResponses(1, [method])
    await conn.write('GET /empty HTTP/1.1\r\nHost: h\r\n\r\n')
    const [second] = await conn.readResponses(1)
    if (normalize(second) !== `HTTP/1.1 200 OK\r\n${KA}Content-Length: 0\r\n\r\n`) {
      throw new Error(`follow-up response on the kept-alive connection was ${JSON.stringify(second)}`)
    }
    if (conn.rest() !== '') throw new Error(`unexpected extra bytes ${JSON.stringify(conn.rest())}`)
    return normalize(first)
  } finally {
    conn.destroy()
  }
}

/** Send `request` and collect until the server closes; fails (timeout) if the server never closes. */
async function expectClose(port: number, request: string, methods?: string[]): Promise<string> {
  const r = await rawExchange(port, request, { methods })
  if (!r.closedByServer) throw new Error('server did not close the connection')
  return normalize(r.data)
}

const withServer = (fn: (port: number) => Promise<void>) => async () => {
  const { server, port } = await startServer(router)
  try {
    await fn(port)
  } finally {
    await close(server)
  }
}

test('plain GET keep-alive: end(data) -> Content-Length', async (t) => {
  await withServer(async (port) => {
    t.is(
      await expectKeepAlive(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n', 'GET'),
      `HTTP/1.1 200 OK\r\n${KA}Content-Length: 5\r\n\r\nhello`,
    )
  })()
})

test('user headers come first, then Date, Connection, Keep-Alive, Content-Length', async (t) => {
  await withServer(async (port) => {
    t.is(
      await expectKeepAlive(port, 'GET /typed HTTP/1.1\r\nHost: h\r\n\r\n', 'GET'),
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n${KA}Content-Length: 5\r\n\r\nhello`,
    )
  })()
})

test('explicit Connection: keep-alive request header on 1.1 changes nothing', async (t) => {
  await withServer(async (port) => {
    t.is(
      await expectKeepAlive(port, 'GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n', 'GET'),
      `HTTP/1.1 200 OK\r\n${KA}Content-Length: 5\r\n\r\nhello`,
    )
  })()
})

test('write() then end() -> chunked', async (t) => {
  await withServer(async (port) => {
    t.is(
      await expectKeepAlive(port, 'GET /chunked HTTP/1.1\r\nHost: h\r\n\r\n', 'GET'),
      `HTTP/1.1 200 OK\r\n${KA}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`,
    )
  })()
})

test('end() with no body -> Content-Length: 0', async (t) => {
  await withServer(async (port) => {
    t.is(
      await expectKeepAlive(port, 'GET /empty HTTP/1.1\r\nHost: h\r\n\r\n', 'GET'),
      `HTTP/1.1 200 OK\r\n${KA}Content-Length: 0\r\n\r\n`,
    )
  })()
})

test('explicit Content-Length header is placed where the user set it', async (t) => {
  await withServer(async (port) => {
    t.is(
      await expectKeepAlive(port, 'GET /cl-write HTTP/1.1\r\nHost: h\r\n\r\n', 'GET'),
      `HTTP/1.1 200 OK\r\nContent-Length: 5\r\n${KA}\r\nhello`,
    )
  })()
})

test('404 from the router', async (t) => {
  await withServer(async (port) => {
    t.is(
      await expectKeepAlive(port, 'GET /nope HTTP/1.1\r\nHost: h\r\n\r\n', 'GET'),
      `HTTP/1.1 404 Not Found\r\n${KA}Content-Length: 9\r\n\r\nnot found`,
    )
  })()
})

test('Connection: close on HTTP/1.1 -> Connection: close, Content-Length, server closes', async (t) => {
  await withServer(async (port) => {
    t.is(
      await expectClose(port, 'GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'),
      'HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello',
    )
  })()
})

test('Connection: Close (any case) also closes', async (t) => {
  await withServer(async (port) => {
    t.is(
      await expectClose(port, 'GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n'),
      'HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello',
    )
  })()
})

test('HTTP/1.0 without keep-alive: status line still HTTP/1.1, Connection: close, no Content-Length, close-delimited', async (t) => {
  await withServer(async (port) => {
    t.is(
      await expectClose(port, 'GET / HTTP/1.0\r\n\r\n'),
      'HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: close\r\n\r\nhello',
    )
  })()
})

test('HTTP/1.0 write()+end() is close-delimited, not chunked', async (t) => {
  await withServer(async (port) => {
    t.is(
      await expectClose(port, 'GET /chunked HTTP/1.0\r\n\r\n'),
      'HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: close\r\n\r\nhello world',
    )
  })()
})

test('HTTP/1.0 with Connection: keep-alive but no explicit Content-Length is still closed', async (t) => {
  await withServer(async (port) => {
    t.is(
      await expectClose(port, 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'),
      'HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: close\r\n\r\nhello',
    )
    t.is(
      await expectClose(port, 'GET /chunked HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n'),
      'HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: close\r\n\r\nhello world',
    )
  })()
})

test('HTTP/1.0 with Connection: keep-alive and an explicit Content-Length is kept alive', async (t) => {
  await withServer(async (port) => {
    t.is(
      await expectKeepAlive(port, 'GET /cl HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', 'GET'),
      `HTTP/1.1 200 OK\r\nContent-Length: 5\r\n${KA}\r\nhello`,
    )
  })()
})

test('HTTP/1.0 with explicit Content-Length but no keep-alive is closed', async (t) => {
  await withServer(async (port) => {
    t.is(
      await expectClose(port, 'GET /cl HTTP/1.0\r\n\r\n'),
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDate: <DATE>\r\nConnection: close\r\n\r\nhello',
    )
  })()
})

test('HEAD: headers only, no Content-Length computed, no body', async (t) => {
  await withServer(async (port) => {
    t.is(
      await expectKeepAlive(port, 'HEAD / HTTP/1.1\r\nHost: h\r\n\r\n', 'HEAD'),
      `HTTP/1.1 200 OK\r\n${KA}\r\n`,
    )
    t.is(
      await expectKeepAlive(port, 'HEAD /chunked HTTP/1.1\r\nHost: h\r\n\r\n', 'HEAD'),
      `HTTP/1.1 200 OK\r\n${KA}\r\n`,
    )
  })()
})

test('HEAD keeps an explicit Content-Length', async (t) => {
  await withServer(async (port) => {
    t.is(
      await expectKeepAlive(port, 'HEAD /head-cl HTTP/1.1\r\nHost: h\r\n\r\n', 'HEAD'),
      `HTTP/1.1 200 OK\r\nContent-Length: 5\r\n${KA}\r\n`,
    )
  })()
})

test('HEAD on HTTP/1.0 closes', async (t) => {
  await withServer(async (port) => {
    t.is(await expectClose(port, 'HEAD / HTTP/1.0\r\n\r\n', ['HEAD']), 'HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: close\r\n\r\n')
  })()
})

test('204: no body, no Content-Length, no Transfer-Encoding', async (t) => {
  await withServer(async (port) => {
    t.is(
      await expectKeepAlive(port, 'GET /204 HTTP/1.1\r\nHost: h\r\n\r\n', 'GET'),
      `HTTP/1.1 204 No Content\r\n${KA}\r\n`,
    )
    t.is(
      await expectKeepAlive(port, 'GET /204-body HTTP/1.1\r\nHost: h\r\n\r\n', 'GET'),
      `HTTP/1.1 204 No Content\r\n${KA}\r\n`,
    )
    t.is(
      await expectKeepAlive(port, 'GET /204-cl HTTP/1.1\r\nHost: h\r\n\r\n', 'GET'),
      `HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n${KA}\r\n`,
    )
  })()
})

test('304: no body, no Content-Length, no Transfer-Encoding', async (t) => {
  await withServer(async (port) => {
    t.is(
      await expectKeepAlive(port, 'GET /304 HTTP/1.1\r\nHost: h\r\n\r\n', 'GET'),
      `HTTP/1.1 304 Not Modified\r\n${KA}\r\n`,
    )
    t.is(
      await expectKeepAlive(port, 'GET /304-etag HTTP/1.1\r\nHost: h\r\n\r\n', 'GET'),
      `HTTP/1.1 304 Not Modified\r\nETag: "abc"\r\n${KA}\r\n`,
    )
    t.is(
      await expectKeepAlive(port, 'GET /304-write HTTP/1.1\r\nHost: h\r\n\r\n', 'GET'),
      `HTTP/1.1 304 Not Modified\r\n${KA}\r\n`,
    )
  })()
})

test('request line and headers split byte by byte still parse', async (t) => {
  await withServer(async (port) => {
    const request = 'GET /typed HTTP/1.1\r\nHost: h\r\n\r\n'
    const cuts = Array.from({ length: request.length - 1 }, (_, i) => i + 1)
    const r = await rawExchange(port, request, { responses: 1, splitAt: cuts, pauseMs: 2 })
    t.is(
      normalize(r.data),
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n${KA}Content-Length: 5\r\n\r\nhello`,
    )
  })()
})

test('the Date header is a valid IMF-fixdate close to now', async (t) => {
  await withServer(async (port) => {
    const r = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n', { responses: 1 })
    const m = /\r\nDate: ([^\r]+)\r\n/.exec(r.data)
    t.truthy(m)
    t.regex(m?.[1] ?? '', /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/)
    const when = Date.parse(m?.[1] ?? '')
    t.true(Math.abs(when - Date.now()) < 60_000)
  })()
})

test('a header value of latin1 characters: utf8 before a string body given to end(), latin1 in a chunked head', async (t) => {
  // The bytes of UTF-8 'bår' read as latin1: 'b\xc3\xa5r'.
  const value = Buffer.from('bår').toString('latin1')
  const { server, port } = await startServer((req, res) => {
    res.setHeader('x-a', value)
    if (req.url === '/chunked') res.writeHead(200)
    res.end('hi')
  })
  try {
    const asUtf8 = Buffer.from(value, 'utf8').toString('latin1')
    const cl = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
    t.is(normalize(cl.data), `HTTP/1.1 200 OK\r\nx-a: ${asUtf8}\r\nDate: <DATE>\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi`)
    const chunked = await rawExchange(port, 'GET /chunked HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
    t.is(normalize(chunked.data), `HTTP/1.1 200 OK\r\nx-a: ${value}\r\nDate: <DATE>\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n`)
  } finally {
    await close(server)
  }
})
