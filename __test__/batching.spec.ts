// The boundary's batching, seen through server._ferroStats() (ferrohttp only: node:http has no
// such boundary). A head, a small body that came with it, and the end of that body cross to JS
// in one wake-up; pipelined requests with bodies share wake-ups too.
import test from 'ava'
import * as net from 'node:net'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { http, listen, close, targetName } from './helpers/target'

type Stats = { batches: number; events: number; requests: number }
const ferroOnly = targetName === 'ferrohttp' ? test : test.skip

function statsOf(server: unknown): Stats {
  return (server as { _ferroStats(): Stats })._ferroStats()
}

function echoServer() {
  return http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => res.end(Buffer.concat(chunks)))
  })
}

/** Opens a connection and waits until the server has seen it (its CONNECTION batch is done). */
async function connected(server: ReturnType<typeof echoServer>, port: number): Promise<net.Socket> {
  const seen = new Promise<void>((resolve) => server.once('connection', () => resolve()))
  const c = net.connect(port, '127.0.0.1')
  await new Promise<void>((resolve) => c.once('connect', () => resolve()))
  await seen
  return c
}

ferroOnly('a small body sent with its head reaches JS in the same wake-up as the head', async (t) => {
  const server = echoServer()
  const port = await listen(server)
  const c = await connected(server, port)
  const before = statsOf(server)
  const ended = new Promise<void>((resolve) => server.once('request', (req: IncomingMessage) => req.on('end', () => resolve())))
  c.write('POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello')
  await ended
  const after = statsOf(server)
  t.is(after.requests - before.requests, 1)
  // HEAD, BODY and END: three events, one batch.
  t.is(after.batches - before.batches, 1)
  t.is(after.events - before.events, 3)
  c.destroy()
  await close(server)
})

ferroOnly('pipelined requests with bodies, written at once, share wake-ups with their heads', async (t) => {
  const server = echoServer()
  const port = await listen(server)
  const c = await connected(server, port)
  const before = statsOf(server)
  const n = 20
  let ended = 0
  const all = new Promise<void>((resolve) =>
    server.on('request', (req: IncomingMessage) => req.on('end', () => ++ended === n && resolve())),
  )
  let wire = ''
  for (let i = 0; i < n; i++) wire += `POST /${i} HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n${String(i).padStart(2, '0')}`
  c.write(wire)
  await all
  const after = statsOf(server)
  t.is(after.requests - before.requests, n)
  // One write of 20 requests: far fewer wake-ups than requests (one, unless the read split it).
  t.true(after.batches - before.batches <= 2, `${after.batches - before.batches} batches`)
  c.destroy()
  await close(server)
})
