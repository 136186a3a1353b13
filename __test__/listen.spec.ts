import test from 'ava'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import * as net from 'node:net'
import type { AddressInfo } from 'node:net'
import { spawn } from 'node:child_process'
import { http, nodeHttp, listen, close, rawRequest, normalize, targetName } from './helpers/target'

const ok = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => res.end('ok')

const OK_RESPONSE =
  'HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'
const CLOSE_REQ = 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'

test('listen(0) and server.address()', async (t) => {
  const server = http.createServer(ok)
  t.is(server.listening, false)
  const port = await listen(server)
  try {
    t.true(server.listening)
    t.true(Number.isInteger(port) && port > 0 && port < 65536)
    const addr = server.address() as AddressInfo
    t.deepEqual({ ...addr }, { address: '127.0.0.1', family: 'IPv4', port })
    t.is(normalize(await rawRequest(port, CLOSE_REQ)), OK_RESPONSE)
  } finally {
    await close(server)
  }
  t.is(server.listening, false)
})

test('listen(port, host, backlog, cb) and the listening event', async (t) => {
  const server = http.createServer(ok)
  const events: string[] = []
  server.on('listening', () => events.push('event'))
  const ret = await new Promise<unknown>((resolve) => {
    const r = server.listen(0, '127.0.0.1', 511, () => {
      events.push('cb')
      resolve(r)
    })
  })
  try {
    t.is(ret, server) // listen() returns the server (chainable)
    t.deepEqual(events, ['event', 'cb'])
    t.true(server.listening)
    const { port, address, family } = server.address() as AddressInfo
    t.is(address, '127.0.0.1')
    t.is(family, 'IPv4')
    t.is(normalize(await rawRequest(port, CLOSE_REQ)), OK_RESPONSE)
  } finally {
    await close(server)
  }
})

test('listen({ port, host }, cb)', async (t) => {
  const server = http.createServer(ok)
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, () => resolve()))
  try {
    t.true(server.listening)
    const { port, address, family } = server.address() as AddressInfo
    t.is(address, '127.0.0.1')
    t.is(family, 'IPv4')
    t.is(normalize(await rawRequest(port, CLOSE_REQ)), OK_RESPONSE)
  } finally {
    await close(server)
  }
})

test('close(cb) and the close event; listening goes back to false', async (t) => {
  const server = http.createServer(ok)
  await listen(server)
  const events: string[] = []
  server.on('close', () => events.push('event'))
  await new Promise<void>((resolve, reject) => {
    const r = server.close((err?: Error) => {
      if (err) reject(err)
      events.push('cb')
      resolve()
    })
    t.is(r, server) // close() returns the server
  })
  t.is(server.listening, false)
  t.is(server.address(), null)
  t.deepEqual(events.sort(), ['cb', 'event'])
})

test('close() on a server that is not listening calls back with ERR_SERVER_NOT_RUNNING', async (t) => {
  const server = http.createServer(ok)
  const err = await new Promise<(Error & { code?: string }) | undefined>((resolve) => server.close((e) => resolve(e)))
  t.truthy(err)
  t.is(err?.code, 'ERR_SERVER_NOT_RUNNING')
})

test('server.close() closes idle keep-alive connections (node >= 19)', async (t) => {
  const server = http.createServer(ok)
  const port = await listen(server)
  const net = await import('node:net')
  const sock = net.connect(port, '127.0.0.1')
  let data = ''
  sock.setEncoding('latin1')
  sock.on('data', (d: string) => (data += d))
  sock.on('error', () => {})
  const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()))
  sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  // wait for the complete response, then the connection is idle
  await new Promise<void>((resolve) => {
    const check = () => (data.endsWith('\r\n\r\nok') ? resolve() : sock.once('data', check))
    check()
  })
  t.is(
    normalize(data),
    'HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok',
  )
  const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()))
  await closed // the server must drop the idle connection on its own
  await serverClosed
  t.false(server.listening)
})

test('EADDRINUSE reaches the error event with code, errno, syscall, address, port', async (t) => {
  const first = http.createServer(ok)
  const port = await listen(first)
  const second = http.createServer(ok)
  try {
    const err = await new Promise<NodeJS.ErrnoException & { address?: string; port?: number }>((resolve, reject) => {
      second.on('error', resolve)
      second.listen(port, '127.0.0.1', () => reject(new Error('second listen unexpectedly succeeded')))
    })
    t.true(err instanceof Error)
    t.is(err.code, 'EADDRINUSE')
    t.is(err.errno, -os.constants.errno.EADDRINUSE)
    t.is(err.syscall, 'listen')
    t.is(err.address, '127.0.0.1')
    t.is(err.port, port)
    t.is(err.message, `listen EADDRINUSE: address already in use 127.0.0.1:${port}`)
    t.false(second.listening)
    // the first server is unaffected
    t.is(normalize(await rawRequest(port, CLOSE_REQ)), OK_RESPONSE)
  } finally {
    await close(first)
    await close(second)
  }
})

test('server._handle: null until listen(), the listening socket while listening, null after close()', async (t) => {
  // Code outside Node reads it: supertest closes a server only `if (server._handle)`.
  const server = http.createServer(ok) as import('node:http').Server & { _handle: ListenHandle | null }
  t.is(server._handle, null)
  const listening = new Promise<void>((resolve) => server.once('listening', resolve))
  server.listen(0)
  t.truthy(server._handle) // without a host to look up, set by listen() itself, as in Node
  await listening
  const handle = server._handle as ListenHandle
  t.true(Number.isInteger(handle.fd) && handle.fd > 2)
  t.true(fs.fstatSync(handle.fd).isSocket())
  const out: Record<string, unknown> = {}
  t.is(handle.getsockname(out), 0)
  t.deepEqual(out, { ...(server.address() as AddressInfo) })
  t.true((out.port as number) > 0)
  t.true(handle.hasRef())
  server.unref()
  t.false(handle.hasRef())
  server.ref()
  t.true(handle.hasRef())
  await close(server)
  t.is(server._handle, null)
})

test('server._handle of a Unix socket server has its descriptor', async (t) => {
  const file = path.join(os.tmpdir(), `ferro-handle-${process.pid}-${Date.now()}.sock`)
  const server = http.createServer(ok) as import('node:http').Server & { _handle: ListenHandle | null }
  await new Promise<void>((resolve) => server.listen(file, resolve))
  try {
    const handle = server._handle as ListenHandle
    t.true(fs.fstatSync(handle.fd).isSocket())
    t.is(server.address(), file)
  } finally {
    await close(server)
  }
  t.is(server._handle, null)
})

interface ListenHandle {
  fd: number
  getsockname(out: Record<string, unknown>): number
  hasRef(): boolean
}

test('createServer(undefined, listener) and createServer(null, listener) keep the listener', async (t) => {
  for (const options of [undefined, null]) {
    const server = http.createServer(options as never, ok)
    t.is(server.listenerCount('request'), 1)
    const port = await listen(server)
    try {
      t.is(normalize(await rawRequest(port, CLOSE_REQ)), OK_RESPONSE)
    } finally {
      await close(server)
    }
  }
})

test("listen()'s arguments: what throws, and how, is node:http's (a non-numeric options.port is no pipe name)", (t) => {
  const cases: unknown[][] = [
    [{ port: 'hello-world' }],
    [{ port: '8080x' }],
    [{ port: '' }],
    [{ port: 1.5 }],
    [{ port: -1 }],
    [70000],
    [{ port: 'x'.repeat(40) }],
    [{ port: true }],
    [{}],
    [{ host: '127.0.0.1' }],
    [{ port: NaN }],
  ]
  const outcome = (module: typeof http, args: unknown[]): string => {
    const server = module.createServer()
    try {
      ;(server.listen as (...a: unknown[]) => unknown)(...args)
      server.close()
      return 'listening'
    } catch (e) {
      const err = e as Error & { code?: string }
      return `${err.constructor.name} ${err.code} ${err.message}`
    }
  }
  for (const args of cases) t.is(outcome(http, args), outcome(nodeHttp as typeof http, args), JSON.stringify(args))
})

test("close() right after listen(): no 'listening' (its callback is not called), close's callback is, as Node's emitListeningNT", async (t) => {
  for (const when of ['sync', 'microtask'] as const) {
    const events: string[] = []
    const server = http.createServer()
    server.listen(0, '127.0.0.1', () => events.push(`listening ${server.address() === null}`))
    await new Promise<void>((resolve) => {
      const closeNow = () => server.close(() => resolve())
      if (when === 'sync') closeNow()
      else queueMicrotask(closeNow)
    })
    await new Promise((r) => setImmediate(r))
    t.deepEqual(events, [], when)
    t.false(server.listening, when)
  }
})

test("listen(port, IP literal) binds on the next tick, as the host's lookup answers: address() is null and listening false until then", async (t) => {
  const server = http.createServer()
  server.listen(0, '127.0.0.1')
  t.is(server.address(), null)
  t.false(server.listening)
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  t.is((server.address() as AddressInfo).address, '127.0.0.1')
  await close(server)
})

test('close() while listen() resolves its host cancels the listen; the callback gets ERR_SERVER_NOT_RUNNING', async (t) => {
  for (const host of ['127.0.0.1', 'localhost']) {
    const server = http.createServer()
    let listened = false
    server.listen(0, host, () => (listened = true))
    const err = await new Promise<Error | undefined>((resolve) => server.close(resolve))
    t.is((err as Error & { code?: string })?.code, 'ERR_SERVER_NOT_RUNNING', host)
    // The lookup answered by now (localhost's from the resolver: wait for a few turns).
    for (let k = 0; k < 20; k++) await new Promise((r) => setTimeout(r, 1))
    t.false(listened, host)
    t.false(server.listening, host)
  }
})

/** GET / over a fresh connection; resolves the body. */
function getBody(options: import('node:http').RequestOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    nodeHttp
      .get({ host: '127.0.0.1', agent: false, ...options }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d) => (body += d))
        res.on('end', () => resolve(body))
      })
      .on('error', reject)
  })
}

test("listen(handle) and listen(server): a net.Server's TCP handle becomes this server's, its connections served here", async (t) => {
  for (const form of ['handle', 'server', '{ handle }'] as const) {
    const netServer = net.createServer(() => t.fail(`${form}: the net.Server got the connection`))
    await new Promise<void>((resolve) => netServer.listen(0, '127.0.0.1', resolve))
    const server = http.createServer((req, res) => res.end(`served by the http server (${form})`))
    const handle = (netServer as unknown as { _handle: object })._handle
    const arg = form === 'handle' ? handle : form === 'server' ? netServer : { handle }
    await new Promise<void>((resolve) => server.listen(arg as net.ListenOptions, resolve))
    t.deepEqual(server.address(), netServer.address(), form)
    t.true(server.listening, form)
    const port = (server.address() as AddressInfo).port
    t.is(await getBody({ port }), `served by the http server (${form})`)
    t.is(await getBody({ port }), `served by the http server (${form})`)
    // Closing the server closes the handle it took.
    await new Promise((resolve) => server.close(resolve))
    await t.throwsAsync(getBody({ port }), { code: 'ECONNREFUSED' }, form)
    netServer.close()
  }
})

test('listen({ fd }): a listening socket the process was given (descriptor 3 of a child)', async (t) => {
  const netServer = net.createServer()
  await new Promise<void>((resolve) => netServer.listen(0, '127.0.0.1', resolve))
  const port = (netServer.address() as AddressInfo).port
  const fd = (netServer as unknown as { _handle: { fd: number } })._handle.fd
  const module = targetName === 'node' ? 'node:http' : path.resolve(__dirname, '..')
  const child = spawn(process.execPath, [path.resolve(__dirname, 'fixtures', 'listen-fd.js'), module], { stdio: ['ignore', 'pipe', 'inherit', fd, 'ipc'] })
  try {
    const line = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())))
    t.is(line, `listening ${JSON.stringify({ address: '127.0.0.1', family: 'IPv4', port })}`)
    // The parent's copy no longer accepts: close it, so every connection is the child's.
    await new Promise((resolve) => netServer.close(resolve))
    t.is(await getBody({ port }), 'served on fd 3 true')
  } finally {
    child.kill()
  }
})

test('listen({ fd }) with a descriptor that is no listening socket: EINVAL, as node', async (t) => {
  for (const fd of [0, 987]) {
    const server = http.createServer()
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => server.once('error', resolve).listen({ fd }))
    t.is(err.message, 'listen EINVAL: invalid argument', `fd ${fd}`)
    t.like(err, { code: 'EINVAL', errno: -22, syscall: 'listen' }, `fd ${fd}`)
    t.false(server.listening)
  }
})

test('listen({ signal }): aborting closes the server; an aborted signal closes it at once; anything else throws', async (t) => {
  const controller = new AbortController()
  const server = http.createServer()
  const closed = new Promise<void>((resolve) => server.once('close', resolve))
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', signal: controller.signal }, resolve))
  t.true(server.listening)
  controller.abort()
  t.false(server.listening)
  await closed

  const early = http.createServer()
  const events: string[] = []
  early.on('listening', () => events.push('listening'))
  early.on('close', () => events.push('close'))
  early.listen({ port: 0, signal: AbortSignal.abort() })
  await new Promise((r) => setTimeout(r, 20))
  t.false(early.listening)
  t.deepEqual(events, ['close'])

  t.throws(() => http.createServer().listen({ port: 0, signal: 'x' as unknown as AbortSignal }), {
    code: 'ERR_INVALID_ARG_TYPE',
    message: 'The "options.signal" property must be an instance of AbortSignal. Received type string (\'x\')',
  })
})

test('listen({ path, readableAll, writableAll }) opens the socket file to everyone; not on an abstract socket', async (t) => {
  const socketPath = path.join(os.tmpdir(), `ferrohttp-modes-${process.pid}.sock`)
  fs.rmSync(socketPath, { force: true })
  const oldMask = process.umask(0o077)
  try {
    const server = http.createServer()
    await new Promise<void>((resolve) => server.listen({ path: socketPath, readableAll: true, writableAll: true }, resolve))
    t.is(fs.statSync(socketPath).mode & 0o777, 0o766)
    await close(server)
    const readable = http.createServer()
    await new Promise<void>((resolve) => readable.listen({ path: socketPath, readableAll: true }, resolve))
    t.is(fs.statSync(socketPath).mode & 0o777, 0o744)
    await close(readable)
  } finally {
    process.umask(oldMask)
  }
  t.throws(() => http.createServer().listen({ path: '\0ferrohttp-abstract', writableAll: true }), {
    code: 'ERR_INVALID_ARG_VALUE',
    message: /^The argument 'options' can not set readableAll or writableAllt to true when path is abstract unix socket\. Received /,
  })
})

// Node has reusePort from 22.12 on; ferrohttp takes it on every Node line.
const reusePortHere = targetName === 'ferrohttp' || Number(process.versions.node.split('.')[0]) >= 23 || /^22\.(1[2-9]|[2-9]\d)\./.test(process.versions.node)

test(`listen({ reusePort: true }): servers share a port, ${reusePortHere ? 'each serves' : 'EADDRINUSE (this Node has no reusePort)'}; one without it cannot join`, async (t) => {
  const a = http.createServer((req, res) => res.end('a'))
  const b = http.createServer((req, res) => res.end('b'))
  await new Promise<void>((resolve) => a.listen({ port: 0, host: '127.0.0.1', reusePort: true } as net.ListenOptions, resolve))
  const port = (a.address() as AddressInfo).port
  const second = await new Promise<string>((resolve) => {
    b.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
    b.listen({ port, host: '127.0.0.1', reusePort: true } as net.ListenOptions, () => resolve('listening'))
  })
  const plain = http.createServer()
  const third = await new Promise<string>((resolve) => {
    plain.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'))
    plain.listen({ port, host: '127.0.0.1' }, () => resolve('listening'))
  })
  t.is(third, 'EADDRINUSE')
  if (!reusePortHere) {
    t.is(second, 'EADDRINUSE')
    await close(a)
    return
  }
  t.is(second, 'listening')
  t.regex(await getBody({ port }), /^[ab]$/)
  // Either one alone still serves the port.
  await close(a)
  t.is(await getBody({ port }), 'b')
  await close(b)
})
