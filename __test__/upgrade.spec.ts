// Upgrade and CONNECT: the connection leaves HTTP and its bytes reach the socket as 'data'.
import test from 'ava'
import * as net from 'node:net'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { WebSocketServer, WebSocket } from 'ws'
import { http, nodeHttp, listen, close, rawExchange, normalize } from './helpers/target'

function echoUpgradeServer() {
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => res.end(`plain ${req.url}`))
  server.on('upgrade', (_req: IncomingMessage, socket: net.Socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n')
    socket.on('data', (d: Buffer) => socket.write(`echo:${d}`))
    socket.on('end', () => socket.end())
  })
  return server
}

function talk(port: number, first: string, then: string, until: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1')
    let got = ''
    let sent = false
    c.on('data', (d) => {
      got += d.toString('latin1')
      if (!sent && got.includes('\r\n\r\n')) {
        sent = true
        c.write(then)
      }
      if (got.includes(until)) c.end()
    })
    c.on('close', () => resolve(got))
    c.on('error', reject)
    c.write(first)
  })
}

test("'upgrade' gets the socket; later bytes arrive as its 'data'; its writes reach the peer", async (t) => {
  const server = echoUpgradeServer()
  const port = await listen(server)
  const got = await talk(port, 'GET /x HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n', 'hello', 'echo:hello')
  t.is(got, 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\necho:hello')
  await close(server)
})

test("an Upgrade request with no 'upgrade' listener is a plain request; like llhttp, nothing after it is parsed", async (t) => {
  const server = http.createServer({ keepAliveTimeout: 100 }, (req: IncomingMessage, res: ServerResponse) =>
    res.end(`plain ${req.url} ${String((req as IncomingMessage & { upgrade: boolean }).upgrade)}`),
  )
  const port = await listen(server)
  // The connection stays open until the keep-alive timeout; /b is never answered.
  const r = await rawExchange(
    port,
    'GET /a HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
  )
  t.true(r.data.includes('plain /a false'))
  t.false(r.data.includes('/b'))
  t.true(r.closedByServer)
  await close(server)
})

// Node 22 added options.shouldUpgradeCallback; on Node 20 it is ignored. Either way the module
// under test must do what node:http does on the running Node.
async function shouldUpgradeOutcome(
  module: typeof import('node:http'),
  withListener: boolean,
  url: string,
): Promise<{ data: string; closedByServer: boolean; thisIsServer: boolean | null }> {
  let thisIsServer: boolean | null = null
  const options = {
    keepAliveTimeout: 100,
    shouldUpgradeCallback(this: unknown, req: IncomingMessage): boolean {
      thisIsServer = this === server
      return req.url === '/yes'
    },
  } as import('node:http').ServerOptions
  const server = module.createServer(options, (req: IncomingMessage, res: ServerResponse) =>
    res.end(`plain ${req.url} ${String((req as IncomingMessage & { upgrade: boolean }).upgrade)}`),
  )
  if (withListener) {
    server.on('upgrade', (req: IncomingMessage, socket: net.Socket) => {
      socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nupgraded ${req.url}`)
    })
  }
  const port = await listen(server)
  try {
    const r = await rawExchange(port, `GET ${url} HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n`)
    return { data: normalize(r.data), closedByServer: r.closedByServer, thisIsServer }
  } finally {
    await close(server)
  }
}

for (const withListener of [true, false]) {
  for (const url of ['/yes', '/no']) {
    test(`options.shouldUpgradeCallback (${url}, ${withListener ? 'with' : 'without'} an 'upgrade' listener): as node:http on this Node`, async (t) => {
      const expected = await shouldUpgradeOutcome(nodeHttp, withListener, url)
      const actual = await shouldUpgradeOutcome(http, withListener, url)
      t.deepEqual(actual, expected)
    })
  }
}

test('options.shouldUpgradeCallback and keepAliveTimeoutBuffer: the server properties and validation are node:http\'s', (t) => {
  for (const module of [nodeHttp, http]) {
    const plain = module.createServer() as unknown as Record<string, unknown>
    const named = module.createServer({ keepAliveTimeoutBuffer: 250 } as import('node:http').ServerOptions) as unknown as Record<string, unknown>
    const expected = nodeHttp.createServer() as unknown as Record<string, unknown>
    const expectedNamed = nodeHttp.createServer({ keepAliveTimeoutBuffer: 250 } as import('node:http').ServerOptions) as unknown as Record<string, unknown>
    t.is(typeof plain.shouldUpgradeCallback, typeof expected.shouldUpgradeCallback)
    t.is(plain.keepAliveTimeoutBuffer, expected.keepAliveTimeoutBuffer)
    t.is(named.keepAliveTimeoutBuffer, expectedNamed.keepAliveTimeoutBuffer)
  }
  const errorOf = (module: typeof import('node:http'), options: object): string => {
    try {
      module.createServer(options as import('node:http').ServerOptions)
      return 'no error'
    } catch (e) {
      return `${(e as NodeJS.ErrnoException).code}`
    }
  }
  for (const options of [{ keepAliveTimeoutBuffer: -1 }, { keepAliveTimeoutBuffer: 1.5 }, { keepAliveTimeoutBuffer: '5' }, { shouldUpgradeCallback: 5 }]) {
    t.is(errorOf(http, options), errorOf(nodeHttp, options), JSON.stringify(options))
  }
})

test("CONNECT with a 'connect' listener: tunnel bytes flow both ways", async (t) => {
  const server = http.createServer()
  server.on('connect', (req: IncomingMessage, socket: net.Socket) => {
    socket.write(`HTTP/1.1 200 Connection Established\r\nX-Target: ${req.url}\r\n\r\n`)
    socket.on('data', (d: Buffer) => socket.write(`tunnel:${d}`))
    socket.on('end', () => socket.end())
  })
  const port = await listen(server)
  const got = await talk(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 'ping', 'tunnel:ping')
  t.is(got, 'HTTP/1.1 200 Connection Established\r\nX-Target: example.com:443\r\n\r\ntunnel:ping')
  await close(server)
})

test("CONNECT without a 'connect' listener: the connection is closed", async (t) => {
  const server = http.createServer((_req: IncomingMessage, res: ServerResponse) => res.end('no'))
  const port = await listen(server)
  const r = await rawExchange(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
  t.true(r.closedByServer)
  t.is(r.data, '')
  await close(server)
})

test('the ws package runs unchanged on the server: a WebSocket echo', async (t) => {
  const server = http.createServer((_req: IncomingMessage, res: ServerResponse) => res.end('x'))
  const wss = new WebSocketServer({ server: server as never })
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo:${String(m)}`)))
  const port = await listen(server)
  const reply = await new Promise<string>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`)
    ws.on('open', () => ws.send('hi'))
    ws.on('message', (m) => {
      resolve(String(m))
      ws.close()
    })
    ws.on('error', reject)
  })
  t.is(reply, 'echo:hi')
  wss.close()
  await close(server)
})

test("the socket 'connect' and 'upgrade' hand over has left HTTP: none of its listeners remain (node: 'end' keeps net.Socket's own)", async (t) => {
  const counts = (s: net.Socket) => ['close', 'drain', 'data', 'end', 'error', 'timeout'].map((e) => `${e}:${s.listenerCount(e)}`).join(' ')
  const expected = 'close:0 drain:0 data:0 end:1 error:0 timeout:0'
  const server = http.createServer()
  server.on('connect', (_req: IncomingMessage, socket: net.Socket) => {
    t.is(counts(socket), expected)
    socket.end('HTTP/1.1 200 Connection Established\r\n\r\n')
  })
  server.on('upgrade', (_req: IncomingMessage, socket: net.Socket) => {
    t.is(counts(socket), expected)
    socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n')
  })
  const port = await listen(server)
  const c = await rawExchange(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')
  t.is(c.data, 'HTTP/1.1 200 Connection Established\r\n\r\n')
  const u = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n')
  t.is(u.data, 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n')
  t.plan(4)
  await close(server)
})

test("server.close() emits 'close' only once a connection taken over by 'upgrade' is destroyed (node: before that socket's 'close')", async (t) => {
  const server = http.createServer()
  const events: string[] = []
  let upgraded: net.Socket | undefined
  const taken = new Promise<void>((resolve) => {
    server.on('upgrade', (_req: IncomingMessage, socket: net.Socket) => {
      upgraded = socket
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n', () => resolve())
    })
  })
  const port = await listen(server)
  const c = net.connect(port, '127.0.0.1')
  c.on('error', () => {})
  c.write('GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n')
  await taken
  const serverClosed = new Promise<void>((resolve) => server.close(() => resolve(void events.push('server close'))))
  await new Promise((r) => setImmediate(r))
  events.push('destroying')
  const socketClosed = new Promise<void>((resolve) => upgraded?.on('close', () => resolve(void events.push('socket close'))))
  upgraded?.destroy()
  await Promise.all([serverClosed, socketClosed])
  t.deepEqual(events, ['destroying', 'server close', 'socket close'])
  c.destroy()
})

test("'upgrade' gets the bytes that came in the same packet after the head as its `head` argument", async (t) => {
  const server = http.createServer()
  const head = new Promise<string>((resolve) =>
    server.on('upgrade', (_req: IncomingMessage, socket: net.Socket, h: Buffer) => {
      socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n')
      resolve(h.toString('latin1'))
    }),
  )
  const port = await listen(server)
  await rawExchange(port, 'GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nfirst bytes')
  const got = await head
  await close(server)
  t.is(got, 'first bytes')
})

test("'connect' gets the bytes after the head as `head`, and later bytes as 'data', in order", async (t) => {
  const server = http.createServer()
  const seen = new Promise<string>((resolve) =>
    server.on('connect', (_req: IncomingMessage, socket: net.Socket, h: Buffer) => {
      let got = `head=${h.toString('latin1')};`
      socket.on('data', (d: Buffer) => {
        got += `data=${d.toString('latin1')};`
        if (got.includes('second')) {
          socket.end()
          resolve(got)
        }
      })
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
    }),
  )
  const port = await listen(server)
  const c = net.connect(port, '127.0.0.1')
  c.on('data', (d) => {
    if (d.toString('latin1').startsWith('HTTP/1.1 200')) c.write('second')
  })
  c.write('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nfirst')
  const got = await seen
  c.destroy()
  await close(server)
  t.is(got, 'head=first;data=second;')
})

test('responses queued before a pipelined upgrade still go out in order once the one ahead of them ends', async (t) => {
  const held = new Map<string, ServerResponse>()
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    held.set(req.url ?? '', res)
    // /b ends at once, but waits behind /a for the socket.
    if (req.url === '/b') res.end('b')
  })
  const finished: string[] = []
  server.on('upgrade', (_req: IncomingMessage, socket: net.Socket) => {
    held.get('/b')?.on('finish', () => {
      finished.push('b')
      socket.end('raw')
    })
    held.get('/a')?.end('a', () => finished.push('a'))
  })
  const port = await listen(server)
  const r = await rawExchange(
    port,
    'GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\nGET /u HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n',
  )
  const ok = (body: string) => `HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 1\r\n\r\n${body}`
  t.is(normalize(r.data), `${ok('a')}${ok('b')}raw`)
  t.deepEqual(finished, ['a', 'b'])
  await close(server)
})

/** Upgrades a raw client connection; resolves with the server's socket and the client. */
async function upgraded(port: number, server: import('node:http').Server): Promise<{ socket: net.Socket; client: net.Socket }> {
  const gotSocket = new Promise<net.Socket>((resolve) =>
    server.once('upgrade', (_req: IncomingMessage, socket: net.Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: raw\r\nConnection: Upgrade\r\n\r\n')
      resolve(socket)
    }),
  )
  const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
  client.write('GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\n')
  await new Promise<void>((resolve) => {
    let got = ''
    const onData = (d: Buffer) => {
      got += d.toString('latin1')
      if (got.includes('\r\n\r\n')) {
        client.removeListener('data', onData)
        resolve()
      }
    }
    client.on('data', onData)
  })
  return { socket: await gotSocket, client }
}

/** Runs `body` with an upgraded connection's two ends on a fresh server, closed afterwards. */
async function withUpgraded(body: (ends: { socket: net.Socket; client: net.Socket }) => Promise<void>): Promise<void> {
  const server = http.createServer()
  const port = await listen(server)
  try {
    await body(await upgraded(port, server))
  } finally {
    await close(server)
  }
}

test("an upgraded socket's end() is half-open: it reads on until the peer ends, then closes", async (t) => {
  await withUpgraded(async ({ socket, client }) => {
    const events: string[] = []
    let serverGot = ''
    socket.on('data', (d: Buffer) => (serverGot += d.toString('latin1')))
    socket.on('end', () => events.push('server end'))
    const serverClosed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
    client.setEncoding('latin1')
    let clientGot = ''
    client.on('data', (d: string) => (clientGot += d))
    const clientEnded = new Promise<void>((resolve) => client.on('end', () => resolve()))
    socket.end('bye')
    await clientEnded
    events.push('client got FIN')
    // The server's side is still open for reading.
    client.end('late data')
    await serverClosed
    events.push('server close')
    t.is(clientGot, 'bye')
    t.is(serverGot, 'late data')
    t.deepEqual(events, ['client got FIN', 'server end', 'server close'])
  })
})

test('resetAndDestroy() on an upgraded socket resets the connection: the peer gets ECONNRESET', async (t) => {
  await withUpgraded(async ({ socket, client }) => {
    const clientError = new Promise<NodeJS.ErrnoException>((resolve) => client.on('error', resolve))
    const serverClose = new Promise<boolean>((resolve) => socket.on('close', (hadError: boolean) => resolve(hadError)))
    t.is(socket.resetAndDestroy(), socket)
    t.is((await clientError).code, 'ECONNRESET')
    t.false(await serverClose)
    // Once closed: a destroy that finds the socket destroyed already, nothing more.
    let errors = 0
    socket.on('error', () => errors++)
    t.is(socket.resetAndDestroy(), socket)
    await new Promise((r) => setImmediate(r))
    t.is(errors, 0)
  })
})

test("an upgraded socket's _writableState.length counts what it holds once writes pass the high-water mark (ws's bufferedAmount)", async (t) => {
  await withUpgraded(async ({ socket, client }) => {
    const state = (socket as unknown as { _writableState: { length: number } })._writableState
    t.is(state.length, 0)
    const data = Buffer.alloc(1024, 61)
    let writes = 0
    // ws's test: send until bufferedAmount > 0. node:http's socket gets there once the kernel
    // buffer is full, ours once a turn's writes pass the high-water mark.
    while (state.length === 0 && writes < 1_000_000) {
      socket.write(data)
      writes++
    }
    t.true(state.length > 0, `still 0 after ${writes} writes`)
    t.is(state.length, socket.writableLength)
    let received = 0
    client.on('data', (d: Buffer) => (received += d.length))
    socket.end()
    await new Promise<void>((resolve) => client.on('end', () => resolve()))
    t.is(received, writes * data.length)
    client.destroy()
  })
})

/** Resolves once `socket` holds at least `n` bytes unread (checked on each turn of the loop). */
function buffered(socket: net.Socket, n: number): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (socket.readableLength >= n) resolve()
      else setImmediate(check)
    }
    check()
  })
}

for (const kind of ['upgrade', 'connect'] as const) {
  test(`the '${kind}' socket is handed over neither flowing nor paused: bytes sent before a 'data' listener wait in its buffer`, async (t) => {
    const server = http.createServer()
    const handedOver = new Promise<net.Socket>((resolve) =>
      server.on(kind, (_req: IncomingMessage, socket: net.Socket) => {
        t.is(socket.readableFlowing, null)
        t.false(socket.isPaused())
        socket.write(kind === 'connect' ? 'HTTP/1.1 200 OK\r\n\r\n' : 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n')
        resolve(socket)
      }),
    )
    const port = await listen(server)
    const client = net.connect(port, '127.0.0.1')
    client.once('data', () => client.write('late'))
    client.write(
      kind === 'connect' ? 'CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n\r\n' : 'GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n',
    )
    const socket = await handedOver
    await buffered(socket, 4)
    const data = await new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString('latin1'))))
    t.is(data, 'late')
    client.destroy()
    socket.destroy()
    await close(server)
  })
}

test("a paused upgraded socket goes on reading: read() gets the bytes, and the peer's FIN is still its 'end'", async (t) => {
  await withUpgraded(async ({ socket, client }) => {
    socket.resume()
    socket.pause()
    client.write('abc')
    await buffered(socket, 3)
    t.true(socket.isPaused())
    t.is(String(socket.read()), 'abc')
    const ended = new Promise<void>((resolve) => socket.on('end', () => resolve()))
    client.end()
    await ended
    t.true(socket.isPaused())
    socket.destroy()
  })
})

test('an upgraded socket nobody reads stops reading near its high-water mark and reads on when it is read', async (t) => {
  await withUpgraded(async ({ socket, client }) => {
    const total = 32 * 1024 * 1024
    const clientDone = new Promise<void>((resolve) => client.end(Buffer.alloc(total, 'x'), () => resolve()))
    await buffered(socket, socket.readableHighWaterMark)
    // Until nothing more arrives for a while: reading stopped.
    for (let last = -1, same = 0; same < 50; ) {
      await new Promise((resolve) => setImmediate(resolve))
      if (socket.readableLength === last) same++
      else [last, same] = [socket.readableLength, 0]
    }
    // Node stops within a read (64 KiB) past the mark; ferrohttp within its read-ahead window
    // (128 KiB) and a read.
    t.true(socket.readableLength < 512 * 1024, `${socket.readableLength} bytes buffered`)
    const ended = new Promise<void>((resolve) => socket.on('end', () => resolve()))
    let got = 0
    socket.on('data', (d: Buffer) => (got += d.length))
    await ended
    await clientDone
    t.is(got, total)
    socket.destroy()
  })
})

test("destroy() on an upgraded socket sends the FIN at once: bytes the peer writes right after do not turn it into a reset", async (t) => {
  const outcomes: string[] = []
  for (let k = 0; k < 10; k++) {
    await withUpgraded(async ({ socket, client }) => {
      socket.on('data', () => {})
      client.resume()
      const seen = new Promise<string>((resolve) => {
        client.on('end', () => resolve('end'))
        client.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`))
      })
      // From a timer, as ws's close timeout: the next check phase comes before the next poll.
      setTimeout(() => {
        socket.destroy()
        setImmediate(() => client.write('late bytes'))
      }, 5)
      outcomes.push(await seen)
      client.destroy()
    })
  }
  t.deepEqual(outcomes, Array(10).fill('end'))
})

test("a write past the high-water mark that the kernel takes at once returns true and calls back on the next tick, before ticks queued after it, without 'drain'", async (t) => {
  await withUpgraded(async ({ socket, client }) => {
    client.resume()
    const order: string[] = []
    socket.on('drain', () => order.push('drain'))
    const ret = socket.write(Buffer.alloc(socket.writableHighWaterMark + 1000, 'x'), () => order.push('callback'))
    order.push(`writableLength ${socket.writableLength}`)
    process.nextTick(() => order.push('later tick'))
    await new Promise((resolve) => setTimeout(resolve, 50))
    t.true(ret)
    t.deepEqual(order, ['writableLength 0', 'callback', 'later tick'])
    client.destroy()
    socket.destroy()
  })
})

/**
 * An upgrade request that also carries body framing, as Node 20 (llhttp) takes it. `listen`
 * adds the 'upgrade' / 'connect' listener; the client ends its side 100 ms after sending.
 * Returns what the client received (Date removed) and what the server saw.
 */
async function upgradeWithBody(raw: string, listen_: boolean): Promise<{ reply: string; seen: string[] }> {
  const seen: string[] = []
  const server = http.createServer({ keepAliveTimeout: 200 }, (req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    req.on('data', (d: Buffer) => (body += d.toString('latin1')))
    req.on('end', () => {
      seen.push(`request ${req.url} upgrade=${String((req as IncomingMessage & { upgrade: boolean }).upgrade)} body=${body}`)
      res.end(`plain ${req.url}`)
    })
  })
  if (listen_) {
    for (const event of ['upgrade', 'connect']) {
      server.on(event, (req: IncomingMessage, socket: net.Socket, head: Buffer) => {
        seen.push(`${event} ${req.url} head=${head.toString('latin1')}`)
        socket.on('data', (d: Buffer) => seen.push(`data ${d.toString('latin1')}`))
        socket.end('HTTP/1.1 101 Switching Protocols\r\n\r\n')
      })
    }
  }
  const port = await listen(server)
  const reply = await new Promise<string>((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1')
    let got = ''
    c.on('data', (d) => (got += d.toString('latin1')))
    c.on('close', () => resolve(got))
    c.on('error', reject)
    c.write(raw)
    setTimeout(() => c.end(), 100)
  })
  await close(server)
  return { reply: reply.replace(/Date: [^\r]*\r\n/, ''), seen }
}

const UPGRADE_CL = 'GET /u HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: x\r\nContent-Length: 5\r\n\r\nhelloGET /next HTTP/1.1\r\nHost: a\r\n\r\n'
const UPGRADE_CHUNKED =
  'GET /u HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n'
const PLAIN_U = 'HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=0\r\nContent-Length: 8\r\n\r\nplain /u'
const SWITCHED = 'HTTP/1.1 101 Switching Protocols\r\n\r\n'

test("an upgrade with a body, taken by 'upgrade': the body was never one; all after the head is `head`", async (t) => {
  t.deepEqual(await upgradeWithBody(UPGRADE_CL, true), {
    reply: SWITCHED,
    seen: ['upgrade /u head=helloGET /next HTTP/1.1\r\nHost: a\r\n\r\n'],
  })
  t.deepEqual(await upgradeWithBody(UPGRADE_CHUNKED, true), {
    reply: SWITCHED,
    seen: ['upgrade /u head=5\r\nhello\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n'],
  })
})

test("an upgrade with a body and no 'upgrade' listener: a request with that body, then nothing more is parsed", async (t) => {
  for (const raw of [UPGRADE_CL, UPGRADE_CHUNKED]) {
    t.deepEqual(await upgradeWithBody(raw, false), { reply: PLAIN_U, seen: ['request /u upgrade=false body=hello'] })
  }
})

test('CONNECT ends at its head whatever its Content-Length / Transfer-Encoding: the rest is the tunnel\'s', async (t) => {
  for (const framing of ['Content-Length: 5', 'Transfer-Encoding: gzip', 'Transfer-Encoding: chunked']) {
    const raw = `CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n${framing}\r\n\r\nhelloXYZ`
    t.deepEqual(await upgradeWithBody(raw, true), { reply: SWITCHED, seen: ['connect a:1 head=helloXYZ'] }, framing)
    // Without a 'connect' listener the connection is closed, the bytes after the head unread.
    t.deepEqual(await upgradeWithBody(raw, false), { reply: '', seen: [] }, framing)
  }
})

test('an upgrade whose Transfer-Encoding is not chunked has no body (llhttp): no 400 for it', async (t) => {
  const raw = 'GET /u HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: x\r\nTransfer-Encoding: gzip\r\n\r\nhello'
  t.deepEqual(await upgradeWithBody(raw, true), { reply: SWITCHED, seen: ['upgrade /u head=hello'] })
  t.deepEqual(await upgradeWithBody(raw, false), { reply: PLAIN_U, seen: ['request /u upgrade=false body='] })
})
