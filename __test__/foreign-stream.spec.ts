// node:http serves HTTP over any stream emitted as 'connection' (a Duplex pair here, a TLS
// socket in practice). ferrohttp serves such streams too, with node:http's semantics.
import test from 'ava'
import { Duplex } from 'node:stream'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { http } from './helpers/target'

/** Two Duplexes wired to each other (like Node's test/common/duplexpair). */
function duplexPair(): { client: Duplex; server: Duplex } {
  const pair: { client?: Duplex; server?: Duplex } = {}
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk, _enc, cb) {
        peer().push(chunk)
        cb()
      },
      final(cb) {
        peer().push(null)
        cb()
      },
    })
  pair.client = make(() => pair.server as Duplex)
  pair.server = make(() => pair.client as Duplex)
  return { client: pair.client, server: pair.server }
}

function exchange(server: ReturnType<typeof http.createServer>, bytes: string): Promise<string> {
  const { client, server: side } = duplexPair()
  server.emit('connection', side)
  return new Promise((resolve) => {
    let got = ''
    client.on('data', (d: Buffer) => {
      got += d.toString('latin1')
      if (/\r\n0\r\n\r\n$|Content-Length: \d+\r\n\r\n[\s\S]*$/.test(got) && got.endsWith('hello')) resolve(got)
    })
    client.on('end', () => resolve(got))
    client.write(bytes)
  })
}

test("a Duplex emitted as 'connection' is served: 'request' fires on this server", async (t) => {
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('Content-Length', 5)
    res.end(req.url === '/s' ? 'hello' : 'wrong')
  })
  const got = await exchange(server, 'GET /s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.true(got.startsWith('HTTP/1.1 200 OK\r\n'))
  t.true(got.endsWith('\r\n\r\nhello'))
})

test("a Duplex connection: a malformed request reaches this server's 'clientError'", async (t) => {
  const server = http.createServer(() => t.fail('no request expected'))
  const codes: string[] = []
  const seen = new Promise<void>((resolve) =>
    server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
      codes.push(err.code ?? '')
      socket.destroy()
      resolve()
    }),
  )
  const { client, server: side } = duplexPair()
  server.emit('connection', side)
  client.write('GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n')
  await seen
  t.deepEqual(codes, ['HPE_INVALID_HEADER_TOKEN'])
})

test("a Duplex connection: listeners added after the stream was emitted count ('clientError', 'checkContinue')", async (t) => {
  const server = http.createServer((_req: IncomingMessage, res: ServerResponse) => res.end('plain'))
  const { client, server: side } = duplexPair()
  server.emit('connection', side)
  const seen = new Promise<string>((resolve) =>
    server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => {
      socket.destroy()
      resolve(err.code ?? '')
    }),
  )
  client.write('not http\r\n\r\n')
  t.is(await seen, 'HPE_INVALID_METHOD')

  const server2 = http.createServer((_req: IncomingMessage, res: ServerResponse) => res.end('request'))
  const pair = duplexPair()
  server2.emit('connection', pair.server)
  server2.on('checkContinue', (_req: IncomingMessage, res: ServerResponse) => res.end('checkContinue'))
  let got = ''
  pair.client.on('data', (d: Buffer) => (got += d.toString('latin1')))
  const body = new Promise<void>((resolve) => pair.client.on('data', () => got.endsWith('checkContinue') && resolve()))
  pair.client.write('GET / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n')
  await body
  t.false(got.startsWith('HTTP/1.1 100'))
  pair.client.destroy()
})

test("a stream emitted as 'connection': its server is this one in the application's 'connection' listener, and its 'timeout' comes here", async (t) => {
  const server = http.createServer()
  const { client, server: side } = duplexPair()
  const seen: unknown[] = []
  server.on('connection', (socket: Duplex & { server?: unknown }) => seen.push(socket.server === server))
  const timedOut = new Promise<Duplex>((resolve) => server.on('timeout', resolve))
  server.emit('connection', side)
  t.deepEqual(seen, [true])
  // socketOnTimeout emits on socket.server: the idle stream's timeout reaches this server.
  side.emit('timeout')
  t.is(await timedOut, side)
  client.destroy()
  side.destroy()
})
