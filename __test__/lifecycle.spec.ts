/**
 * Server lifecycle: close(cb) and what it does to new, idle and in-flight connections,
 * closeAllConnections / closeIdleConnections, `listening`, ref/unref (in a child process),
 * Symbol.asyncDispose; listen() forms: Unix socket path, listen(options) with host / port /
 * backlog / exclusive / ipv6Only; the 'connection' event.
 */
import test from 'ava'
import * as fs from 'node:fs'
import * as net from 'node:net'
import type { AddressInfo } from 'node:net'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { http, nodeHttp, listen, close, startServer, RawConnection, normalize, sleep } from './helpers/target'
import { request, tryConnect, nextEvent, deferred, within, runFixture, hasIPv6Loopback, tmpSocketPath } from './helpers/lifecycle'

const KA_OK = (body: string) =>
  `HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: ${body.length}\r\n\r\n${body}`

/** A handler that answers `/slow` only when released, everything else at once. */
function holdingServer() {
  const events: string[] = []
  const held: Array<() => void> = []
  const arrived: Array<() => void> = []
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    events.push(`request ${req.url}`)
    res.on('finish', () => events.push(`finish ${req.url}`))
    if (req.url?.startsWith('/slow')) {
      held.push(() => res.end(`done ${req.url}`))
      for (const a of arrived.splice(0)) a()
    } else {
      res.end(`ok ${req.url}`)
    }
  }
  /** resolves once `n` slow requests are being held */
  const slowArrived = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => (held.length >= n ? resolve() : arrived.push(check))
      check()
    })
  return { events, held, handler, slowArrived }
}

test('listening is false before listen(), true after, false right after close()', async (t) => {
  const server = http.createServer((_req, res) => res.end('ok'))
  t.is(server.listening, false)
  const port = await listen(server)
  t.is(server.listening, true)
  const closed = nextEvent(server, 'close')
  server.close()
  t.is(server.listening, false) // synchronously, not only once 'close' fired
  await closed
  t.is(server.listening, false)
  t.is(await tryConnect(port), 'ECONNREFUSED')
})

test('close(cb): stops accepting, closes idle keep-alive connections, lets the in-flight request finish, then emits close', async (t) => {
  const h = holdingServer()
  const { server, port } = await startServer(h.handler)
  const idle = new RawConnection(port)
  try {
    // an idle keep-alive connection (one request answered)
    await idle.write('GET /idle HTTP/1.1\r\nHost: x\r\n\r\n')
    t.deepEqual((await idle.readResponses(1)).map(normalize), [KA_OK('ok /idle')])

    // an in-flight request (node's client with agent: false sends Connection: close)
    const inFlight = request(port, { path: '/slow' })
    await h.slowArrived(1)

    let closeCbArgs: unknown[] | null = null
    const closeCb = deferred()
    server.on('close', () => h.events.push('server close'))
    const ret = server.close((...args: unknown[]) => {
      closeCbArgs = args
      h.events.push('close cb')
      closeCb.resolve()
    })
    t.true(ret === server)
    t.false(server.listening)

    // no new connections
    t.is(await tryConnect(port), 'ECONNREFUSED')
    // the idle connection is closed by the server, without a byte
    await idle.waitClose()
    t.is(idle.rest(), '')
    // nothing has closed the server yet: the request is still in flight
    t.false(h.events.includes('server close'))

    h.held[0]()
    const res = await inFlight
    t.is(res.status, 200)
    t.is(res.body, 'done /slow')
    t.is(res.headers.connection, 'close')
    await within(closeCb.promise, 'close callback')
    t.deepEqual(closeCbArgs, [])
    t.deepEqual(h.events, ['request /idle', 'finish /idle', 'request /slow', 'finish /slow', 'server close', 'close cb'])
  } finally {
    idle.destroy()
    await close(server)
  }
})

test('listen() again right after close(), while a request is in flight: both are served; close waits for the second close()', async (t) => {
  const h = holdingServer()
  const { server, port } = await startServer(h.handler)
  try {
    const inFlight = request(port, { path: '/slow' })
    await h.slowArrived(1)
    server.on('close', () => h.events.push('server close'))
    server.close()
    // net.Server drops its handle at once: listening again does not wait for the connections
    const port2 = await listen(server)
    t.true(server.listening)
    const res2 = await request(port2, { path: '/new' })
    t.is(res2.body, 'ok /new')
    h.held[0]()
    t.is((await inFlight).body, 'done /slow')
    // one 'close', for the second close(): the first had a listener left to wait for
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())))
    t.deepEqual(h.events, ['request /slow', 'request /new', 'finish /new', 'finish /slow', 'server close'])
  } finally {
    await close(server)
  }
})

test('closeAllConnections() closes idle and active connections; the server keeps listening', async (t) => {
  const h = holdingServer()
  const { server, port } = await startServer(h.handler)
  const idle = new RawConnection(port)
  const active = new RawConnection(port)
  try {
    await idle.write('GET /idle HTTP/1.1\r\nHost: x\r\n\r\n')
    t.deepEqual((await idle.readResponses(1)).map(normalize), [KA_OK('ok /idle')])
    const reqClosed = deferred<string[]>()
    server.once('request', (req: IncomingMessage) => {
      const seen: string[] = []
      req.on('aborted', () => seen.push('aborted'))
      req.on('error', (e: NodeJS.ErrnoException) => seen.push(`error ${e.code}`))
      req.on('close', () => reqClosed.resolve(seen))
    })
    await active.write('POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab')
    await h.slowArrived(1)

    t.is(server.closeAllConnections(), undefined)
    await idle.waitClose()
    await active.waitClose()
    t.is(idle.rest(), '')
    t.is(active.data, '')
    t.deepEqual(await within(reqClosed.promise, 'req close'), ['aborted', 'error ECONNRESET'])
    t.true(server.listening)
    const res = await request(port, { path: '/after' })
    t.is(res.body, 'ok /after')
  } finally {
    idle.destroy()
    active.destroy()
    await close(server)
  }
})

test('closeIdleConnections() closes only idle keep-alive connections; a busy one finishes and stays usable', async (t) => {
  const h = holdingServer()
  const { server, port } = await startServer(h.handler)
  const idle = new RawConnection(port)
  const busy = new RawConnection(port)
  try {
    await idle.write('GET /idle HTTP/1.1\r\nHost: x\r\n\r\n')
    t.deepEqual((await idle.readResponses(1)).map(normalize), [KA_OK('ok /idle')])
    await busy.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n')
    await h.slowArrived(1)

    t.is(server.closeIdleConnections(), undefined)
    await idle.waitClose()
    t.is(idle.rest(), '')
    t.false(busy.closed)

    h.held[0]()
    t.deepEqual((await busy.readResponses(1)).map(normalize), [KA_OK('done /slow')])
    // still a keep-alive connection after its response
    await busy.write('GET /again HTTP/1.1\r\nHost: x\r\n\r\n')
    t.deepEqual((await busy.readResponses(1)).map(normalize), [KA_OK('ok /again')])
    t.true(server.listening)
  } finally {
    idle.destroy()
    busy.destroy()
    await close(server)
  }
})

test('closeIdleConnections() does not count a connection that has sent nothing yet as idle (node: its request clock runs)', async (t) => {
  const h = holdingServer()
  const { server, port } = await startServer(h.handler)
  const fresh = new RawConnection(port)
  try {
    await fresh.ready()
    // the server has accepted `fresh` once a request on a later connection got through
    await sleep(50)
    t.is((await request(port, { path: '/sync' })).body, 'ok /sync')
    server.closeIdleConnections()
    t.is((await request(port, { path: '/sync2' })).body, 'ok /sync2')
    t.false(fresh.closed)
    await fresh.write('GET /fresh HTTP/1.1\r\nHost: x\r\n\r\n')
    t.deepEqual((await fresh.readResponses(1)).map(normalize), [KA_OK('ok /fresh')])
  } finally {
    fresh.destroy()
    await close(server)
  }
})

test('closeIdleConnections() leaves a connection alone once it has sent part of a request head', async (t) => {
  const h = holdingServer()
  const { server, port } = await startServer(h.handler)
  const partial = new RawConnection(port)
  try {
    await partial.write('GET /partial HTTP/1.1\r\nHo')
    // make sure the partial head has been read by the server: a later connection is answered
    await sleep(50)
    t.is((await request(port, { path: '/sync' })).body, 'ok /sync')
    server.closeIdleConnections()
    t.is((await request(port, { path: '/sync2' })).body, 'ok /sync2')
    t.false(partial.closed)
    await partial.write('st: x\r\n\r\n')
    t.deepEqual((await partial.readResponses(1)).map(normalize), [KA_OK('ok /partial')])
  } finally {
    partial.destroy()
    await close(server)
  }
})

test('await server[Symbol.asyncDispose]() closes the server (idle connections too)', async (t) => {
  const { server, port } = await startServer((req, res) => res.end(`ok ${req.url}`))
  const idle = new RawConnection(port)
  try {
    await idle.write('GET /idle HTTP/1.1\r\nHost: x\r\n\r\n')
    t.deepEqual((await idle.readResponses(1)).map(normalize), [KA_OK('ok /idle')])
    let closeEvent = false
    server.on('close', () => (closeEvent = true))
    const ret = await within(server[Symbol.asyncDispose](), 'asyncDispose')
    t.is(ret, undefined)
    t.true(closeEvent)
    t.false(server.listening)
    await idle.waitClose()
    t.is(idle.rest(), '')
    t.is(await tryConnect(port), 'ECONNREFUSED')
  } finally {
    idle.destroy()
    await close(server)
  }
})

test('server[Symbol.asyncDispose]() on a server that is not listening rejects with ERR_SERVER_NOT_RUNNING', async (t) => {
  const server = http.createServer()
  const err = await t.throwsAsync(within(server[Symbol.asyncDispose](), 'asyncDispose'))
  t.is((err as NodeJS.ErrnoException).code, 'ERR_SERVER_NOT_RUNNING')
})

// ---------------------------------------------------------------------------------------------
// ref / unref (child processes: an unref'd listening server must not keep the process alive)
// ---------------------------------------------------------------------------------------------

for (const mode of ['unref-after-listen', 'unref-before-listen']) {
  test(`ref/unref: ${mode} -> the child process exits by itself while the server is listening`, async (t) => {
    const child = runFixture('lifecycle-refs.js', [mode])
    try {
      const { code, signal, stdout, stderr } = await within(child.exited, 'child exit (unref did not let the process exit)', 20000)
      t.is(stderr, '')
      t.is(signal, null)
      t.is(code, 0)
      t.regex(stdout, /^listening \d+\nexit 0\n$/)
    } finally {
      child.kill()
    }
  })
}

test('ref/unref: unref() then ref() keeps the process alive; it serves a request, then exits after close()', async (t) => {
  const child = runFixture('lifecycle-refs.js', ['unref-then-ref'])
  try {
    const line = await within(child.line(/^listening \d+$/), 'child listening', 20000)
    const port = Number(line.split(' ')[1])
    // give a wrongly unref'd server every chance to let its process exit first
    await sleep(300)
    const res = await request(port, { path: '/' })
    t.is(res.status, 200)
    t.is(res.body, 'alive')
    const { code, stdout, stderr } = await within(child.exited, 'child exit after close()', 20000)
    t.is(stderr, '')
    t.is(code, 0)
    t.is(stdout, `listening ${port}\nexit 0\n`)
  } finally {
    child.kill()
  }
})

test("server[kConnectionsCheckingInterval] (Node's symbol, from _http_server): set at 'listening', destroyed by close(); connectionsCheckingInterval option", async (t) => {
  const { kConnectionsCheckingInterval } = require('node:_http_server') as { kConnectionsCheckingInterval: symbol }
  type Timer = { _destroyed: boolean }
  const timer = (s: unknown) => (s as Record<symbol, Timer | undefined>)[kConnectionsCheckingInterval]
  const server = http.createServer((_req, res) => res.end('ok'))
  t.is((server as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval, 30000)
  t.is(timer(server), undefined)
  await listen(server)
  const first = timer(server)
  t.is(first?._destroyed, false)
  const closed = nextEvent(server, 'close')
  server.close()
  t.is(first?._destroyed, true)
  await closed
  t.is(timer(server), first)

  // It is the work of the server's own 'listening' listener, as Node's setupConnectionsTracking:
  // an emitted 'listening' replaces the timer (Node's test-http-server-clear-timer).
  const emitted = http.createServer()
  t.deepEqual(
    emitted.listeners('listening').map((f) => f.name),
    ['setupConnectionsTracking'],
  )
  emitted.emit('listening')
  const before = timer(emitted)
  emitted.emit('listening')
  t.is(before?._destroyed, true)
  t.is(timer(emitted)?._destroyed, false)
  emitted.close()
  t.is(timer(emitted)?._destroyed, true)

  const other = http.createServer({ connectionsCheckingInterval: 1234 })
  t.is((other as unknown as { connectionsCheckingInterval: number }).connectionsCheckingInterval, 1234)
  const err = t.throws(() => http.createServer({ connectionsCheckingInterval: -1 })) as NodeJS.ErrnoException
  t.is(err.code, 'ERR_OUT_OF_RANGE')
})

test('ref/unref: a connection open when the server is unref()ed keeps the process alive until it closes', async (t) => {
  const child = runFixture('lifecycle-refs.js', ['unref-on-connection'])
  try {
    const line = await within(child.line(/^listening \d+$/), 'child listening', 20000)
    const port = Number(line.split(' ')[1])
    const c = new RawConnection(port)
    try {
      await c.ready()
      await within(child.line(/^unrefed$/), 'unref on connection', 20000)
      // give a wrongly released process every chance to exit first
      await sleep(300)
      await c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
      await c.waitClose()
      t.regex(c.data, /\r\n\r\nalive$/)
    } finally {
      c.destroy()
    }
    const { code, stdout, stderr } = await within(child.exited, 'child exit after the connection closed', 20000)
    t.is(stderr, '')
    t.is(code, 0)
    t.is(stdout, `listening ${port}\nunrefed\nexit 0\n`)
  } finally {
    child.kill()
  }
})

test('a connection paused by an unread request body does not keep the process alive after close(), as in Node', async (t) => {
  const child = runFixture('lifecycle-refs.js', ['paused-upload'])
  try {
    const line = await within(child.line(/^listening \d+$/), 'child listening', 20000)
    const port = Number(line.split(' ')[1])
    const upload = new RawConnection(port)
    try {
      await upload.ready()
      await upload.write(`POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${4 * 1024 * 1024}\r\n\r\n`)
      // More than the request's and the socket's buffers take before reading pauses (not
      // awaited: the kernel may hold part of it); the connection stays open, the upload unfinished.
      void upload.write(Buffer.alloc(512 * 1024, 'a'))
      const { code, stdout, stderr } = await within(child.exited, 'child exit (the paused connection held the process)', 20000)
      t.is(stderr, '')
      t.is(code, 0)
      t.is(stdout, `listening ${port}\nrequest\nexit 0\n`)
    } finally {
      upload.destroy()
    }
  } finally {
    child.kill()
  }
})

for (const [mode, what] of [
  ['upgrade-peer-gone', 'an upgraded socket whose peer is gone'],
  ['upgrade-ended-unread', 'an upgraded socket that ended and holds unread bytes and the EOF'],
] as const) {
  test(`ref/unref: after close(), ${what} does not keep the process alive`, async (t) => {
    const child = runFixture('lifecycle-refs.js', [mode])
    try {
      const { code, stdout, stderr } = await within(child.exited, `child exit (${mode}: the upgraded socket held the process)`, 20000)
      t.is(stderr, '')
      t.is(code, 0)
      t.regex(stdout, /^listening \d+\nexit 0\n$/)
    } finally {
      child.kill()
    }
  })
}

test('ref() and unref() return the server', (t) => {
  const server = http.createServer()
  t.is(server.unref(), server)
  t.is(server.ref(), server)
})

// ---------------------------------------------------------------------------------------------
// listen() forms
// ---------------------------------------------------------------------------------------------

test('http.Server.call(this, listener) initializes an object that inherits from Server (pre-class inheritance)', async (t) => {
  // The function-constructor idiom: `this` itself becomes the server, nothing is returned.
  function Legacy(this: import('node:http').Server) {
    const ret = (http.Server as unknown as (this: unknown, l: () => void) => unknown).call(this, () => {})
    t.is(ret, undefined)
    this.on('request', (_req: IncomingMessage, res: ServerResponse) => res.end('legacy'))
  }
  Object.setPrototypeOf(Legacy.prototype, http.Server.prototype)
  Object.setPrototypeOf(Legacy, http.Server)
  const server = new (Legacy as unknown as new () => import('node:http').Server)()
  t.true(server instanceof http.Server)
  t.is(server.listenerCount('request'), 2)
  const port = await listen(server)
  try {
    const r = await request(port, { path: '/' })
    t.is(r.body, 'legacy')
  } finally {
    await close(server)
  }
})

test('listen(path) on a Unix socket: http.request({ socketPath }) is served; address() is the path', async (t) => {
  const socketPath = tmpSocketPath('listen-path')
  const server = http.createServer((req, res) => {
    const s = req.socket
    res.end(`unix ${req.method} ${req.url} remote=${String(s.remoteAddress)} port=${String(s.remotePort)} family=${String(s.remoteFamily)}`)
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(socketPath, () => resolve())
    })
    t.true(server.listening)
    t.is(server.address(), socketPath)
    t.true(fs.statSync(socketPath).isSocket())
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = nodeHttp.request({ socketPath, path: '/over-unix', agent: false }, (r) => {
        let body = ''
        r.setEncoding('latin1')
        r.on('data', (d: string) => (body += d))
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }))
      })
      req.on('error', reject)
      req.end()
    })
    t.deepEqual(res, { status: 200, body: 'unix GET /over-unix remote=undefined port=undefined family=undefined' })
  } finally {
    await close(server)
  }
  t.false(fs.existsSync(socketPath)) // removed on close
})

test('listen({ path }) on a Unix socket, raw bytes', async (t) => {
  const socketPath = tmpSocketPath('listen-opts-path')
  const server = http.createServer((_req, res) => res.end('ok'))
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ path: socketPath }, () => resolve())
    })
    const data = await new Promise<string>((resolve, reject) => {
      const c = net.connect(socketPath)
      let d = ''
      c.on('data', (b: Buffer) => (d += b.toString('latin1')))
      c.on('error', reject)
      c.on('close', () => resolve(d))
      c.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    })
    t.is(normalize(data), 'HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok')
  } finally {
    await close(server)
  }
})

test('listen({ host, port, backlog, exclusive }, cb)', async (t) => {
  const server = http.createServer((_req, res) => res.end('ok'))
  const ret = await new Promise<unknown>((resolve, reject) => {
    server.once('error', reject)
    const r = server.listen({ host: '127.0.0.1', port: 0, backlog: 8, exclusive: true }, () => resolve(r))
  })
  try {
    t.true(ret === server)
    const addr = server.address() as AddressInfo
    t.deepEqual({ ...addr }, { address: '127.0.0.1', family: 'IPv4', port: addr.port })
    const res = await request(addr.port)
    t.is(res.body, 'ok')
  } finally {
    await close(server)
  }
})

test('listen({ port }) with a fixed port that was just free', async (t) => {
  // find a free port with a plain net server, then reuse it
  const probe = net.createServer()
  const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as AddressInfo).port)))
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  const server = http.createServer((_req, res) => res.end('fixed'))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port, host: '127.0.0.1' }, () => resolve())
  })
  try {
    t.is((server.address() as AddressInfo).port, port)
    t.is((await request(port)).body, 'fixed')
  } finally {
    await close(server)
  }
})

const v6test = hasIPv6Loopback ? test : test.skip

v6test("listen({ host: '::', ipv6Only: true }): an IPv4 client cannot connect, an IPv6 one can", async (t) => {
  const listenV6Only = async () => {
    const s = http.createServer((req, res) => res.end(`v6 ${req.socket.remoteFamily}`))
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject)
      s.listen({ host: '::', port: 0, ipv6Only: true }, () => resolve())
    })
    return s
  }
  // The port's IPv4 side is free, so a test running beside this one may be given it: an IPv4
  // connection that succeeds is tried again on a new port (ipv6Only ignored fails every time).
  let server = await listenV6Only()
  let v4 = await tryConnect((server.address() as AddressInfo).port, '127.0.0.1')
  for (let retry = 0; retry < 3 && v4 === 'connected'; retry++) {
    await close(server)
    server = await listenV6Only()
    v4 = await tryConnect((server.address() as AddressInfo).port, '127.0.0.1')
  }
  try {
    const addr = server.address() as AddressInfo
    t.deepEqual({ ...addr }, { address: '::', family: 'IPv6', port: addr.port })
    t.is(v4, 'ECONNREFUSED')
    const res = await request(addr.port, { host: '::1' })
    t.is(res.body, 'v6 IPv6')
  } finally {
    await close(server)
  }
})

v6test("listen({ host: '::' }) without ipv6Only is dual-stack: an IPv4 client is served", async (t) => {
  const server = http.createServer((req, res) => res.end(`${req.socket.remoteFamily} ${req.socket.remoteAddress}`))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: '::', port: 0 }, () => resolve())
  })
  try {
    const { port } = server.address() as AddressInfo
    t.is((await request(port, { host: '127.0.0.1' })).body, 'IPv6 ::ffff:127.0.0.1')
    t.is((await request(port, { host: '::1' })).body, 'IPv6 ::1')
  } finally {
    await close(server)
  }
})

test("'connection' event: a net.Socket, emitted before 'request', the same socket the request sees", async (t) => {
  const events: string[] = []
  let connSocket: unknown = null
  const server = http.createServer((req, res) => {
    events.push('request')
    t.true(req.socket === connSocket)
    res.end('ok')
  })
  server.on('connection', (socket: net.Socket) => {
    events.push('connection')
    connSocket = socket
    t.true(socket instanceof net.Socket)
    t.is(socket.remoteAddress, '127.0.0.1')
  })
  const port = await listen(server)
  try {
    t.is((await request(port)).body, 'ok')
    t.deepEqual(events, ['connection', 'request'])
  } finally {
    await close(server)
  }
})

test("'connection' fires for a connection that never sends a request", async (t) => {
  const { server, port } = await startServer((_req, res) => res.end('ok'))
  const conn = new RawConnection(port)
  try {
    const [socket] = await nextEvent<[net.Socket]>(server, 'connection')
    await conn.ready()
    t.true(socket instanceof net.Socket)
    t.is(socket.remotePort, conn.socket.localPort)
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('a handler that throws: the error reaches uncaughtException and the server keeps serving', async (t) => {
  const child = runFixture('handler-context.js', ['uncaught'])
  try {
    const port = Number((await within(child.line(/^listening /), 'listening')).split(' ')[1])
    const hung = new RawConnection(port)
    await hung.write('GET /throw HTTP/1.1\r\nHost: x\r\n\r\n')
    t.is(await within(child.line(/^uncaught /), 'uncaught'), 'uncaught boom from handler')
    t.is((await request(port, { path: '/ok' })).body, 'ok')
    hung.destroy()
  } finally {
    child.kill()
  }
})

test('handlers run in the async context the server listened in; a store entered there reaches its ticks', async (t) => {
  const child = runFixture('handler-context.js', ['als'])
  try {
    const port = Number((await within(child.line(/^listening /), 'listening')).split(' ')[1])
    t.is((await request(port, { path: '/a' })).body, 'ok')
    t.is((await request(port, { path: '/b' })).body, 'ok')
    t.is(await within(child.line(/^tick store in-handler \/b/), 'tick'), 'tick store in-handler /b')
    const { stdout } = await (child.kill(), child.exited)
    t.deepEqual(
      stdout.split('\n').filter((l) => l.startsWith('store ') || l.startsWith('tick ')),
      ['store listen', 'tick store in-handler /a', 'store listen', 'tick store in-handler /b'],
    )
  } finally {
    child.kill()
  }
})

test("clients connecting at once: 'connection' and 'request' come in the order they connected, as node's", async (t) => {
  // Node serves an accept's connections and a poll's reads in kernel order; a scheduler that
  // runs the task woken last first would put the last client first.
  const N = 4
  const ROUNDS = 30
  const seen: string[] = []
  for (let r = 0; r < ROUNDS; r++) {
    const conns: number[] = []
    const reqs: number[] = []
    const all = deferred()
    const { server, port } = await startServer((req, res) => {
      reqs.push(Number(req.url?.slice(1)))
      res.end()
      if (reqs.length === N) all.resolve()
    })
    server.on('connection', (s: net.Socket) => conns.push(s.remotePort ?? -1))
    const clients: net.Socket[] = []
    const ports: number[] = []
    try {
      for (let i = 0; i < N; i++) {
        const c = net.connect(port, '127.0.0.1', () => {
          ports[i] = c.localPort ?? -2
          c.write(`GET /${i} HTTP/1.1\r\nHost: h\r\n\r\n`)
        })
        c.on('error', () => {})
        c.resume()
        clients.push(c)
      }
      await within(all.promise, 'the requests')
      seen.push(`${conns.map((p) => ports.indexOf(p)).join(',')} / ${reqs.join(',')}`)
    } finally {
      for (const c of clients) c.destroy()
      await close(server)
    }
  }
  t.deepEqual(seen, Array.from({ length: ROUNDS }, () => '0,1,2,3 / 0,1,2,3'))
})
