/**
 * Timeouts: headersTimeout / requestTimeout (408 with Connection: close), keepAliveTimeout,
 * server.timeout / server.setTimeout and the 'timeout' event, socket.setTimeout,
 * req.setTimeout / res.setTimeout. Option values are small (200-1000 ms); the assertions are on
 * events and bytes, never on elapsed time.
 *
 * Node checks headersTimeout / requestTimeout on a timer (connectionsCheckingInterval, 30 s by
 * default), so every server here sets it small; ferrohttp may ignore the option.
 */
import test from 'ava'
import * as net from 'node:net'
import type { IncomingMessage, ServerResponse, ServerOptions } from 'node:http'
import { http, startServer, close, RawConnection, normalize, sleep } from './helpers/target'
import { deferred, within } from './helpers/lifecycle'

const REQUEST_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n'
const FAST_CHECKS = { connectionsCheckingInterval: 50 } as ServerOptions

const KA_OK = (body: string, keepAlive = 'Keep-Alive: timeout=5\r\n') =>
  `HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: keep-alive\r\n${keepAlive}Content-Length: ${body.length}\r\n\r\n${body}`

function echoUrl(req: IncomingMessage, res: ServerResponse): void {
  req.resume()
  req.on('end', () => res.end(`ok ${req.url}`))
}

test('defaults: headersTimeout 60000, requestTimeout 300000, keepAliveTimeout 5000, timeout 0', (t) => {
  const server = http.createServer()
  t.is(server.headersTimeout, 60000)
  t.is(server.requestTimeout, 300000)
  t.is(server.keepAliveTimeout, 5000)
  t.is(server.timeout, 0)
})

test('timeout options are stored on the server; headersTimeout defaults to min(60000, requestTimeout)', (t) => {
  const a = http.createServer({ headersTimeout: 300, requestTimeout: 600, keepAliveTimeout: 1500 })
  t.deepEqual([a.headersTimeout, a.requestTimeout, a.keepAliveTimeout], [300, 600, 1500])
  const b = http.createServer({ requestTimeout: 1000 })
  t.deepEqual([b.headersTimeout, b.requestTimeout], [1000, 1000])
  const c = http.createServer({ requestTimeout: 0 })
  t.deepEqual([c.headersTimeout, c.requestTimeout], [0, 0])
})

test('invalid timeout options throw ERR_OUT_OF_RANGE with node messages', (t) => {
  const e1 = t.throws(() => http.createServer({ requestTimeout: 1000, headersTimeout: 2000 })) as NodeJS.ErrnoException
  t.is(e1.code, 'ERR_OUT_OF_RANGE')
  t.is(e1.message, 'The value of "headersTimeout" is out of range. It must be <= requestTimeout. Received 2000')
  const e2 = t.throws(() => http.createServer({ keepAliveTimeout: -1 })) as NodeJS.ErrnoException
  t.is(e2.code, 'ERR_OUT_OF_RANGE')
  t.is(e2.message, 'The value of "keepAliveTimeout" is out of range. It must be >= 0 && <= 9007199254740991. Received -1')
})

test('headersTimeout: a head that does not complete in time gets the exact 408 and the connection is closed', async (t) => {
  const seen: string[] = []
  const { server, port } = await startServer(
    (req, res) => {
      seen.push(req.url ?? '')
      res.end('no')
    },
    { headersTimeout: 300, requestTimeout: 600, ...FAST_CHECKS },
  )
  const conn = new RawConnection(port)
  try {
    await conn.write('GET /slow-head HTTP/1.1\r\nHost: x\r\n')
    await conn.waitClose()
    t.is(conn.data, REQUEST_TIMEOUT)
    t.deepEqual(seen, [])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('headersTimeout: bytes trickling in do not extend it (408 while the head is still being sent)', async (t) => {
  const { server, port } = await startServer(echoUrl, { headersTimeout: 300, requestTimeout: 600, ...FAST_CHECKS })
  const conn = new RawConnection(port)
  try {
    await conn.write('GET /trickle HTTP/1.1\r\n')
    // Stops at the 408: bytes sent after the server closed make its kernel answer RST, which
    // discards the 408 if it is still unread. The check phase comes after the poll phase that
    // reads it, so a slow loop (a loaded machine) cannot write past it.
    for (let i = 0; i < 40 && !conn.closed && conn.data === ''; i++) {
      await conn.write(`X-${i}: v\r\n`)
      await sleep(50)
      await new Promise((resolve) => setImmediate(resolve))
    }
    await conn.waitClose()
    t.is(conn.data, REQUEST_TIMEOUT)
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('headersTimeout: a connection that sends nothing also gets the 408 (node starts the clock at connect)', async (t) => {
  const { server, port } = await startServer(echoUrl, { headersTimeout: 300, requestTimeout: 600, ...FAST_CHECKS })
  const conn = new RawConnection(port)
  try {
    await conn.ready()
    await conn.waitClose()
    t.is(conn.data, REQUEST_TIMEOUT)
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('requestTimeout: a body that does not complete in time gets the 408; req is aborted with ECONNRESET', async (t) => {
  const reqEvents: string[] = []
  const reqClosed = deferred()
  const { server, port } = await startServer(
    (req, res) => {
      reqEvents.push(`request ${req.url}`)
      req.on('data', (d: Buffer) => reqEvents.push(`data ${d.toString()}`))
      req.on('aborted', () => reqEvents.push('aborted'))
      req.on('error', (e: NodeJS.ErrnoException) => reqEvents.push(`error ${e.code}`))
      req.on('close', () => reqClosed.resolve())
      req.on('end', () => res.end('complete'))
    },
    { headersTimeout: 300, requestTimeout: 600, ...FAST_CHECKS },
  )
  const conn = new RawConnection(port)
  try {
    await conn.write('POST /slow-body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc')
    await conn.waitClose()
    t.is(conn.data, REQUEST_TIMEOUT)
    await within(reqClosed.promise, 'req close')
    t.deepEqual(reqEvents, ['request /slow-body', 'data abc', 'aborted', 'error ECONNRESET'])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("headersTimeout with a 'clientError' listener: ERR_HTTP_REQUEST_TIMEOUT, and the listener answers itself", async (t) => {
  const { server, port } = await startServer(echoUrl, { headersTimeout: 300, requestTimeout: 600, ...FAST_CHECKS })
  const errors: Array<{ code?: string; message: string; isSocket: boolean }> = []
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    errors.push({ code: err.code, message: err.message, isSocket: socket instanceof net.Socket })
    socket.end('HTTP/1.1 408 Too Slow\r\nContent-Length: 4\r\nConnection: close\r\n\r\nslow')
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('GET /x HTTP/1.1\r\nHost: x\r\n')
    await conn.waitClose()
    t.is(conn.data, 'HTTP/1.1 408 Too Slow\r\nContent-Length: 4\r\nConnection: close\r\n\r\nslow')
    t.deepEqual(errors, [{ code: 'ERR_HTTP_REQUEST_TIMEOUT', message: 'Request timeout', isSocket: true }])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("after a request timeout whose 'clientError' listener only ends the socket, the peer's FIN still ends and closes it", async (t) => {
  const { server, port } = await startServer(echoUrl, { headersTimeout: 300, requestTimeout: 600, ...FAST_CHECKS })
  const events: string[] = []
  const closed = deferred()
  server.on('connection', (socket: net.Socket) => {
    socket.on('end', () => events.push('end'))
    socket.on('error', (err: NodeJS.ErrnoException) => events.push(`error ${err.code}`))
    socket.on('close', () => closed.resolve())
  })
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    events.push(`clientError ${err.code}`)
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
  })
  // Not half-open: the client answers the server's FIN with its own.
  const conn = new RawConnection(port)
  try {
    await conn.write('GET / HTTP/1.1\r\n')
    await conn.waitClose()
    t.is(conn.data, 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
    await within(closed.promise, "the server socket's 'close'")
    // The FIN ends the half-received message: parser.finish()'s error, then 'end'; the
    // listener's second end() writes after the end.
    t.deepEqual(events, [
      'clientError ERR_HTTP_REQUEST_TIMEOUT',
      'clientError HPE_INVALID_EOF_STATE',
      'end',
      'error ERR_STREAM_WRITE_AFTER_END',
    ])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("after a request timeout whose 'clientError' listener leaves the socket alone, the request may still complete, and the peer's RST closes it", async (t) => {
  const { server, port } = await startServer(echoUrl, { headersTimeout: 300, requestTimeout: 600, ...FAST_CHECKS })
  const errors: Array<string | undefined> = []
  const timedOut = deferred()
  const closed = deferred()
  server.on('connection', (socket: net.Socket) => {
    socket.on('error', () => {})
    socket.on('close', () => closed.resolve())
  })
  server.on('clientError', (err: NodeJS.ErrnoException) => {
    errors.push(err.code)
    timedOut.resolve()
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('GET /late HTTP/1.1\r\n')
    await within(timedOut.promise, 'ERR_HTTP_REQUEST_TIMEOUT')
    await conn.write('Host: x\r\n\r\n')
    t.deepEqual((await conn.readResponses(1)).map(normalize), [KA_OK('ok /late')])
    conn.socket.resetAndDestroy()
    await within(closed.promise, "the server socket's 'close'")
    t.deepEqual(errors, ['ERR_HTTP_REQUEST_TIMEOUT'])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('headersTimeout: 0 and requestTimeout: 0 disable both: a slow head still gets its response', async (t) => {
  const { server, port } = await startServer(echoUrl, { headersTimeout: 0, requestTimeout: 0, ...FAST_CHECKS })
  const conn = new RawConnection(port)
  try {
    await conn.write('GET /no-limit HTTP/1.1\r\nHost: x\r\n')
    await sleep(600)
    t.false(conn.closed)
    await conn.write('\r\n')
    t.deepEqual((await conn.readResponses(1)).map(normalize), [KA_OK('ok /no-limit')])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('a keep-alive connection idle between requests is not cut by headersTimeout while requests keep coming in time', async (t) => {
  const { server, port } = await startServer(echoUrl, { headersTimeout: 500, requestTimeout: 1000, keepAliveTimeout: 5000, ...FAST_CHECKS })
  const conn = new RawConnection(port)
  try {
    for (let i = 0; i < 4; i++) {
      await conn.write(`GET /r${i} HTTP/1.1\r\nHost: x\r\n\r\n`)
      t.deepEqual((await conn.readResponses(1)).map(normalize), [KA_OK(`ok /r${i}`)])
      await sleep(300)
    }
    t.false(conn.closed)
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('keepAliveTimeout: the response advertises Keep-Alive: timeout=N and the idle connection is then closed by the server', async (t) => {
  const { server, port } = await startServer(echoUrl, { keepAliveTimeout: 1000, ...FAST_CHECKS })
  const conn = new RawConnection(port)
  try {
    await conn.write('GET /ka HTTP/1.1\r\nHost: x\r\n\r\n')
    t.deepEqual((await conn.readResponses(1)).map(normalize), [KA_OK('ok /ka', 'Keep-Alive: timeout=1\r\n')])
    await conn.waitClose()
    t.is(conn.rest(), '') // closed without another byte
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('keepAliveTimeout: a stray CRLF after a request starts no new one; the idle connection is still closed', async (t) => {
  const { server, port } = await startServer(echoUrl, { keepAliveTimeout: 500, ...FAST_CHECKS })
  const conn = new RawConnection(port)
  try {
    await conn.write('GET /ka HTTP/1.1\r\nHost: x\r\n\r\n\r\n')
    t.deepEqual((await conn.readResponses(1)).map(normalize), [KA_OK('ok /ka', 'Keep-Alive: timeout=0\r\n')])
    await conn.waitClose()
    t.is(conn.rest(), '')
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('keepAliveTimeout under a second is advertised as timeout=0 (node floors the seconds)', async (t) => {
  const { server, port } = await startServer(echoUrl, { keepAliveTimeout: 500, ...FAST_CHECKS })
  const conn = new RawConnection(port)
  try {
    await conn.write('GET /ka HTTP/1.1\r\nHost: x\r\n\r\n')
    t.deepEqual((await conn.readResponses(1)).map(normalize), [KA_OK('ok /ka', 'Keep-Alive: timeout=0\r\n')])
    await conn.waitClose()
    t.is(conn.rest(), '')
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('keepAliveTimeout set on the server after creation is used by later responses', async (t) => {
  const { server, port } = await startServer(echoUrl, FAST_CHECKS)
  server.keepAliveTimeout = 2000
  const conn = new RawConnection(port)
  try {
    await conn.write('GET /ka HTTP/1.1\r\nHost: x\r\n\r\n')
    t.deepEqual((await conn.readResponses(1)).map(normalize), [KA_OK('ok /ka', 'Keep-Alive: timeout=2\r\n')])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('keepAliveTimeout: 0 sends no Keep-Alive header and leaves the connection open', async (t) => {
  const { server, port } = await startServer(echoUrl, { keepAliveTimeout: 0, ...FAST_CHECKS })
  const conn = new RawConnection(port)
  try {
    await conn.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\n')
    t.deepEqual((await conn.readResponses(1)).map(normalize), [KA_OK('ok /a', '')])
    await sleep(300)
    await conn.write('GET /b HTTP/1.1\r\nHost: x\r\n\r\n')
    t.deepEqual((await conn.readResponses(1)).map(normalize), [KA_OK('ok /b', '')])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("server.setTimeout(ms, cb): returns the server, sets server.timeout; 'timeout' gets the socket, which is then not destroyed", async (t) => {
  let connSocket: net.Socket | null = null
  const { server, port } = await startServer(echoUrl)
  server.on('connection', (s: net.Socket) => (connSocket = s))
  const timedOut = deferred<unknown[]>()
  const ret = server.setTimeout(300, (...args: unknown[]) => timedOut.resolve(args))
  t.true(ret === server)
  t.is(server.timeout, 300)
  const conn = new RawConnection(port)
  try {
    await conn.ready()
    const args = await within(timedOut.promise, "server 'timeout'")
    t.is(args.length, 1)
    t.true(args[0] instanceof net.Socket)
    t.true(args[0] === connSocket)
    t.is((args[0] as net.Socket).remotePort, conn.socket.localPort)
    // a 'timeout' listener takes over: the connection is still usable
    t.false(conn.closed)
    await conn.write('GET /after-timeout HTTP/1.1\r\nHost: x\r\n\r\n')
    t.deepEqual((await conn.readResponses(1)).map(normalize), [KA_OK('ok /after-timeout')])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("server.timeout without a 'timeout' listener: the idle socket is destroyed (no bytes)", async (t) => {
  const { server, port } = await startServer(echoUrl)
  server.timeout = 300
  const conn = new RawConnection(port)
  try {
    await conn.ready()
    await conn.waitClose()
    t.is(conn.data, '')
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("server.timeout while a handler has not answered: 'timeout' on the server with the socket; the handler still answers", async (t) => {
  let release!: () => void
  const { server, port } = await startServer((req, res) => {
    release = () => res.end('late but fine')
  })
  const timedOut = deferred<net.Socket>()
  server.setTimeout(300, (s: net.Socket) => timedOut.resolve(s))
  const conn = new RawConnection(port)
  try {
    await conn.write('GET /slow-handler HTTP/1.1\r\nHost: x\r\n\r\n')
    const s = await within(timedOut.promise, "server 'timeout'")
    t.true(s instanceof net.Socket)
    release()
    t.deepEqual((await conn.readResponses(1)).map(normalize), [KA_OK('late but fine')])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("socket.setTimeout(ms) in 'connection': returns the socket, 'timeout' fires on it, then the server destroys it", async (t) => {
  const { server, port } = await startServer(echoUrl)
  const events: string[] = []
  const closed = deferred()
  server.on('connection', (socket: net.Socket) => {
    t.is(socket.setTimeout(250), socket)
    socket.on('timeout', () => events.push('socket timeout'))
    socket.on('close', () => {
      events.push('socket close')
      closed.resolve()
    })
  })
  const conn = new RawConnection(port)
  try {
    await conn.ready()
    await conn.waitClose()
    t.is(conn.data, '')
    await within(closed.promise, 'socket close')
    t.deepEqual(events, ['socket timeout', 'socket close'])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("socket.setTimeout(ms, cb): the callback runs on 'timeout'; with a server 'timeout' listener the socket survives", async (t) => {
  const { server, port } = await startServer(echoUrl)
  const cbArgs = deferred<unknown[]>()
  server.on('timeout', () => {}) // keeps node from destroying the socket
  server.on('connection', (socket: net.Socket) => {
    socket.setTimeout(250, (...args: unknown[]) => {
      cbArgs.resolve(args)
      socket.setTimeout(0)
    })
  })
  const conn = new RawConnection(port)
  try {
    await conn.ready()
    t.deepEqual(await within(cbArgs.promise, 'socket timeout callback'), [])
    await conn.write('GET /still-here HTTP/1.1\r\nHost: x\r\n\r\n')
    t.deepEqual((await conn.readResponses(1)).map(normalize), [KA_OK('ok /still-here')])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('req.setTimeout(ms, cb) while the body is incomplete: returns req, cb gets the socket, a response from it arrives', async (t) => {
  const info = deferred<{ sameReq: boolean; isSocket: boolean; same: boolean }>()
  const { server, port } = await startServer((req, res) => {
    const ret = req.setTimeout(250, (...args: unknown[]) => {
      info.resolve({ sameReq: ret === req, isSocket: args[0] instanceof net.Socket, same: args[0] === req.socket })
      res.setHeader('Connection', 'close')
      res.end('req timed out')
    })
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('POST /slow-upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab')
    t.deepEqual(await within(info.promise, 'req timeout'), { sameReq: true, isSocket: true, same: true })
    await conn.waitClose()
    t.is(normalize(conn.data), 'HTTP/1.1 200 OK\r\nConnection: close\r\nDate: <DATE>\r\nContent-Length: 13\r\n\r\nreq timed out')
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("req.setTimeout does not fire for a request that is already complete: the server's own 'timeout' does", async (t) => {
  const events: string[] = []
  const serverTimeout = deferred()
  const { server, port } = await startServer((req, res) => {
    req.setTimeout(250, () => events.push('req timeout'))
    res.on('timeout', () => events.push('res timeout'))
    server.once('timeout', () => {
      events.push('server timeout')
      res.end('done')
      serverTimeout.resolve()
    })
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('GET /complete HTTP/1.1\r\nHost: x\r\n\r\n')
    await within(serverTimeout.promise, 'server timeout')
    t.deepEqual(events, ['res timeout', 'server timeout'])
    t.deepEqual((await conn.readResponses(1)).map(normalize), [KA_OK('done')])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('res.setTimeout(ms, cb): returns res, cb gets the socket, the response written from it arrives', async (t) => {
  const info = deferred<{ sameRes: boolean; same: boolean }>()
  const { server, port } = await startServer((req, res) => {
    const ret = res.setTimeout(250, (...args: unknown[]) => {
      info.resolve({ sameRes: ret === res, same: args[0] === req.socket })
      res.end('late')
    })
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n')
    t.deepEqual(await within(info.promise, 'res timeout'), { sameRes: true, same: true })
    t.deepEqual((await conn.readResponses(1)).map(normalize), [KA_OK('late')])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("res.setTimeout(ms) without a callback or listeners: the socket is destroyed, the client gets no response", async (t) => {
  const resClosed = deferred<boolean>()
  const { server, port } = await startServer((_req, res) => {
    res.setTimeout(250)
    res.on('close', () => resClosed.resolve(res.writableFinished))
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('GET /never HTTP/1.1\r\nHost: x\r\n\r\n')
    await conn.waitClose()
    t.is(conn.data, '')
    t.false(await within(resClosed.promise, 'res close'))
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('server.timeout and keep-alive: after a response the keep-alive timeout replaces the idle timeout until the next request', async (t) => {
  // Node's resOnFinish: socket.setTimeout(keepAliveTimeout + 1 s); the next request sets
  // server.timeout again (resetSocketTimeout).
  const timeouts: Array<number | undefined> = []
  const { server, port } = await startServer((req, res) => {
    timeouts.push(req.socket.timeout)
    res.on('finish', () => setImmediate(() => timeouts.push(req.socket.timeout)))
    res.end(`ok ${req.url}`)
  })
  server.timeout = 150
  server.keepAliveTimeout = 10_000
  let serverTimeouts = 0
  server.on('timeout', () => serverTimeouts++)
  const conn = new RawConnection(port)
  try {
    await conn.write('GET /1 HTTP/1.1\r\nHost: x\r\n\r\n')
    t.deepEqual((await conn.readResponses(1)).map(normalize), [KA_OK('ok /1', 'Keep-Alive: timeout=10\r\n')])
    // Idle for longer than server.timeout: no 'timeout', the connection stays.
    await sleep(500)
    t.is(serverTimeouts, 0)
    t.false(conn.closed)
    await conn.write('GET /2 HTTP/1.1\r\nHost: x\r\n\r\n')
    t.deepEqual((await conn.readResponses(1)).map(normalize), [KA_OK('ok /2', 'Keep-Alive: timeout=10\r\n')])
    await sleep(20)
    t.deepEqual(timeouts, [150, 11_000, 150, 11_000])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("socket.setTimeout(ms) in the handler, then the response: the keep-alive timeout replaces it, as the later setTimeout", async (t) => {
  // The two reach the connection in one turn; their order is what counts (Node: one timer).
  const { server, port } = await startServer((req, res) => {
    req.socket.setTimeout(150)
    res.end('ok')
  })
  server.keepAliveTimeout = 10_000
  let socketTimeouts = 0
  server.on('connection', (s: net.Socket) => s.on('timeout', () => socketTimeouts++))
  const conn = new RawConnection(port)
  try {
    await conn.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    t.deepEqual((await conn.readResponses(1)).map(normalize), [KA_OK('ok', 'Keep-Alive: timeout=10\r\n')])
    await sleep(500)
    t.is(socketTimeouts, 0)
    t.false(conn.closed)
  } finally {
    conn.destroy()
    await close(server)
  }
})
