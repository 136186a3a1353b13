/**
 * HTTP/1.1 pipelining: several requests in one write, responses strictly in request order,
 * even when an earlier handler answers later than a later one.
 */
import test from 'ava'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { http, nodeHttp, listen, startServer, close, rawExchange, RawConnection, normalize, splitResponses } from './helpers/target'

const KA = 'Date: <DATE>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n'
const ok = (body: string) => `HTTP/1.1 200 OK\r\n${KA}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: h\r\n${extra}\r\n`

function echoUrl(req: IncomingMessage, res: ServerResponse): void {
  req.resume()
  req.on('end', () => res.end(req.url))
}

test('three pipelined GETs in one write: responses in order, byte-exact', async (t) => {
  const { server, port } = await startServer(echoUrl)
  try {
    const r = await rawExchange(port, get('/one') + get('/two') + get('/three'), { responses: 3 })
    t.is(r.responseCount, 3)
    t.is(normalize(r.data), ok('/one') + ok('/two') + ok('/three'))
  } finally {
    await close(server)
  }
})

test('slow first handler: responses still arrive in request order', async (t) => {
  const events: string[] = []
  const { server, port } = await startServer((req, res) => {
    events.push(`request ${req.url}`)
    if (req.url === '/slow') {
      setTimeout(() => {
        events.push('slow responds')
        res.end('slow')
      }, 50)
      return
    }
    res.end(`fast ${req.url}`)
  })
  try {
    const r = await rawExchange(port, get('/slow') + get('/a') + get('/b'), { responses: 3 })
    t.is(normalize(r.data), ok('slow') + ok('fast /a') + ok('fast /b'))
    t.is(events[events.length - 1], 'slow responds')
    t.deepEqual(events.slice(0, 3).sort(), ['request /a', 'request /b', 'request /slow'])
  } finally {
    await close(server)
  }
})

test('node dispatches pipelined requests without waiting for earlier responses', async (t) => {
  const events: string[] = []
  const { server, port } = await startServer((req, res) => {
    events.push(`request ${req.url}`)
    if (req.url === '/slow') {
      setTimeout(() => {
        events.push('slow responds')
        res.end('slow')
      }, 50)
      return
    }
    res.end(`fast ${req.url}`)
  })
  try {
    await rawExchange(port, get('/slow') + get('/a') + get('/b'), { responses: 3 })
    t.deepEqual(events, ['request /slow', 'request /a', 'request /b', 'slow responds'])
  } finally {
    await close(server)
  }
})

test('slow first handler, later handlers stream with write(): order and framing preserved', async (t) => {
  const { server, port } = await startServer((req, res) => {
    if (req.url === '/slow') {
      setTimeout(() => res.end('slow'), 50)
      return
    }
    res.write('part1,')
    res.end(`part2 ${req.url}`)
  })
  try {
    const r = await rawExchange(port, get('/slow') + get('/s1') + get('/s2'), { responses: 3 })
    const chunked = (url: string) =>
      `HTTP/1.1 200 OK\r\n${KA}Transfer-Encoding: chunked\r\n\r\n6\r\npart1,\r\n${(6 + url.length).toString(16)}\r\npart2 ${url}\r\n0\r\n\r\n`
    t.is(normalize(r.data), ok('slow') + chunked('/s1') + chunked('/s2'))
  } finally {
    await close(server)
  }
})

test('several handlers finish in reverse order: responses still in request order', async (t) => {
  const { server, port } = await startServer((req, res) => {
    const n = Number(req.url?.slice(1))
    setTimeout(() => res.end(`r${n}`), (5 - n) * 15)
  })
  try {
    const r = await rawExchange(port, [1, 2, 3, 4, 5].map((n) => get(`/${n}`)).join(''), { responses: 5 })
    t.is(normalize(r.data), [1, 2, 3, 4, 5].map((n) => ok(`r${n}`)).join(''))
  } finally {
    await close(server)
  }
})

test('pipelined mix: HEAD, 204, POST with Content-Length body, POST chunked, GET', async (t) => {
  const { server, port } = await startServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (req.url === '/nocontent') {
        res.statusCode = 204
        res.end()
        return
      }
      res.end(`${req.method} ${req.url} [${Buffer.concat(chunks).toString('latin1')}]`)
    })
  })
  try {
    const payload =
      'HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n' +
      'GET /nocontent HTTP/1.1\r\nHost: h\r\n\r\n' +
      'POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello' +
      'POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n' +
      'GET /g HTTP/1.1\r\nHost: h\r\n\r\n'
    const methods = ['HEAD', 'GET', 'POST', 'POST', 'GET']
    const r = await rawExchange(port, payload, { responses: 5, methods })
    const parts = splitResponses(normalize(r.data), methods)
    t.deepEqual(parts, [
      `HTTP/1.1 200 OK\r\n${KA}\r\n`,
      `HTTP/1.1 204 No Content\r\n${KA}\r\n`,
      ok('POST /p [hello]'),
      ok('POST /c [abcde]'),
      ok('GET /g []'),
    ])
  } finally {
    await close(server)
  }
})

test('pipelined requests split across writes at arbitrary offsets', async (t) => {
  const { server, port } = await startServer(echoUrl)
  try {
    const payload = get('/x1') + 'POST /x2 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody' + get('/x3')
    const r = await rawExchange(port, payload, { responses: 3, splitAt: 9, pauseMs: 5 })
    t.is(normalize(r.data), ok('/x1') + ok('/x2') + ok('/x3'))
  } finally {
    await close(server)
  }
})

test('50 pipelined requests in one write', async (t) => {
  const { server, port } = await startServer(echoUrl)
  try {
    const n = 50
    const paths = Array.from({ length: n }, (_, i) => `/r${i}`)
    const r = await rawExchange(port, paths.map((p) => get(p)).join(''), { responses: n })
    t.is(normalize(r.data), paths.map((p) => ok(p)).join(''))
  } finally {
    await close(server)
  }
})

test('last pipelined request with Connection: close: all answered, then the server closes', async (t) => {
  const { server, port } = await startServer(echoUrl)
  try {
    const r = await rawExchange(port, get('/a') + get('/b') + get('/c', 'Connection: close\r\n'))
    t.true(r.closedByServer)
    t.is(
      normalize(r.data),
      ok('/a') + ok('/b') + 'HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: close\r\nContent-Length: 2\r\n\r\n/c',
    )
  } finally {
    await close(server)
  }
})

test('requests pipelined after a Connection: close request are not processed', async (t) => {
  const seen: string[] = []
  const { server, port } = await startServer((req, res) => {
    seen.push(req.url ?? '')
    res.end(req.url)
  })
  try {
    const r = await rawExchange(port, get('/a', 'Connection: close\r\n') + get('/b'))
    t.true(r.closedByServer)
    t.is(normalize(r.data), 'HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: close\r\nContent-Length: 2\r\n\r\n/a')
    t.deepEqual(seen, ['/a'])
  } finally {
    await close(server)
  }
})

test('requests pipelined after an HTTP/1.0 request are not processed', async (t) => {
  const seen: string[] = []
  const { server, port } = await startServer((req, res) => {
    seen.push(req.url ?? '')
    res.end(req.url)
  })
  try {
    const r = await rawExchange(port, 'GET /a HTTP/1.0\r\n\r\n' + get('/b'))
    t.true(r.closedByServer)
    t.is(normalize(r.data), 'HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: close\r\n\r\n/a')
    t.deepEqual(seen, ['/a'])
  } finally {
    await close(server)
  }
})

test('sequential requests on one connection after pipelined ones', async (t) => {
  const { server, port } = await startServer(echoUrl)
  const conn = new RawConnection(port)
  try {
    await conn.write(get('/p1') + get('/p2'))
    const first = await conn.readResponses(2)
    await conn.write(get('/s3'))
    const second = await conn.readResponses(1)
    t.deepEqual([...first, ...second].map(normalize), [ok('/p1'), ok('/p2'), ok('/s3')])
    t.is(conn.rest(), '')
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('pipelines on many connections at once, small and large responses: each in request order', async (t) => {
  // One turn answers all connections' pipelines; their output is coalesced per connection and
  // must keep each connection's order, whatever the sizes (arena bytes and large Buffers).
  const big = (i: number) => String(i % 10).repeat(20_000 + i)
  // Below the by-reference size: 24 × 16 of these overflow the arena's cap within one turn.
  const pad = 'x'.repeat(8_000)
  const { server, port } = await startServer((req, res) => {
    const i = Number(new URL(req.url ?? '/', 'http://h').searchParams.get('i'))
    res.end(i % 5 === 3 ? big(i) : i % 7 === 2 ? Buffer.from(`buf${req.url}`) : `str${req.url}${pad}`)
  })
  try {
    const conns = 24
    const depth = 16
    const results = await Promise.all(
      Array.from({ length: conns }, (_, c) => {
        const paths = Array.from({ length: depth }, (_, k) => `/c${c}?i=${k}`)
        return rawExchange(port, paths.map((p) => get(p)).join(''), { responses: depth }).then((r) => ({ r, paths }))
      }),
    )
    for (const { r, paths } of results) {
      const expected = paths.map((p, k) => (k % 5 === 3 ? ok(big(k)) : k % 7 === 2 ? ok(`buf${p}`) : ok(`str${p}${pad}`)))
      t.is(normalize(r.data), expected.join(''))
    }
  } finally {
    await close(server)
  }
})

test('2000 pipelined requests in one write, 16 KiB responses: every one is answered', async (t) => {
  const big = Buffer.alloc(16 * 1024, 'A')
  const { server, port } = await startServer((_req, res) => res.end(big))
  const count = 2000
  try {
    const r = await rawExchange(port, get('/').repeat(count - 1) + get('/', 'Connection: close\r\n'), { timeoutMs: 20000 })
    t.is(r.responseCount, count)
  } finally {
    await close(server)
  }
})

// Node 24 destroys the responses still queued behind the current one when the connection
// closes, and detaches each finished request's `signal` from the socket; Node 20 and 22 do
// neither (and have no req.signal). The module under test must do what node:http does here.
async function queuedAtClose(module: typeof import('node:http')): Promise<unknown> {
  const seen: Record<string, ServerResponse> = {}
  let closed: () => void = () => {}
  const socketClosed = new Promise<void>((r) => (closed = r))
  const server = module.createServer((req, res) => {
    seen[req.url ?? ''] = res
    if (req.url === '/1') req.socket.once('close', () => setImmediate(closed))
  })
  const port = await listen(server)
  const conn = new RawConnection(port)
  try {
    await conn.ready()
    await conn.write(get('/1') + get('/2') + get('/3'))
    while (Object.keys(seen).length < 3) await new Promise((r) => setTimeout(r, 5))
    conn.destroy()
    await socketClosed
    return ['/1', '/2', '/3'].map((u) => {
      const res = seen[u] as ServerResponse & { errored?: Error | null }
      return [u, res.destroyed, res.errored ? `${res.errored.message} ${(res.errored as NodeJS.ErrnoException).code}` : null]
    })
  } finally {
    await close(server)
  }
}

test('the client leaves with responses queued behind an unfinished one: those responses end up as node:http leaves them', async (t) => {
  t.deepEqual(await queuedAtClose(http), await queuedAtClose(nodeHttp))
})

async function signalsAfterKeepAlive(module: typeof import('node:http')): Promise<unknown> {
  const signals: Array<AbortSignal | undefined> = []
  const closeListeners: number[] = []
  const server = module.createServer((req, res) => {
    signals.push((req as IncomingMessage & { signal?: AbortSignal }).signal)
    closeListeners.push(req.socket.listenerCount('close'))
    res.end('ok')
  })
  const port = await listen(server)
  const conn = new RawConnection(port)
  try {
    await conn.ready()
    for (let k = 0; k < 12; k++) {
      await conn.write(get(`/${k}`))
      await conn.readResponses(1)
    }
    conn.destroy()
    await new Promise((r) => setTimeout(r, 50))
    return { aborted: signals.map((s) => s?.aborted), closeListeners }
  } finally {
    await close(server)
  }
}

test("req.signal over a keep-alive connection: finished requests' signals are not aborted when it closes, and its 'close' listeners do not pile up (as node:http)", async (t) => {
  t.deepEqual(await signalsAfterKeepAlive(http), await signalsAfterKeepAlive(nodeHttp))
})
