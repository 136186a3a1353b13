/**
 * Helpers for the bodies-and-streams specs (streams-request, streams-response, continue, memory).
 * Everything here is client-side or bookkeeping; the server under test always comes from
 * helpers/target.ts.
 */
import * as net from 'node:net'
import { createHash } from 'node:crypto'
import { sleep } from './target'

export const KiB = 1024
export const MiB = 1024 * 1024

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')

/** Seeded PRNG (mulberry32): the same seed always gives the same sequence in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Deterministic pseudo-random bytes from a seed. */
export function seededBytes(n: number, seed: number): Buffer {
  const rnd = prng(seed)
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256)
  return b
}

export interface Deferred<T> {
  promise: Promise<T>
  resolve: (v: T) => void
  reject: (e: unknown) => void
  settled: boolean
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const d = {} as Deferred<T>
  d.settled = false
  d.promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  d.resolve = (v: T) => {
    d.settled = true
    resolve(v)
  }
  d.reject = (e: unknown) => {
    d.settled = true
    reject(e)
  }
  // a rejected deferred nobody awaits must not crash the worker
  d.promise.catch(() => {})
  return d
}

/**
 * Safety net only (never a timing assertion): reject with a readable message when `p` has not
 * settled after `ms`, so a hang fails the one test instead of the whole run.
 */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out (${ms} ms safety net) waiting for ${what}`)), ms)
    p.then(
      (v) => {
        clearTimeout(timer)
        resolve(v)
      },
      (e: unknown) => {
        clearTimeout(timer)
        reject(e)
      },
    )
  })
}

/** Resolve after `n` turns of the event loop (setImmediate), to let queued events surface. */
export async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r))
}

/**
 * Wait until `progress()` stops changing for `quietPolls` consecutive polls `intervalMs` apart,
 * or until `done()` holds. Used to find the point where a transfer is stuck on backpressure; the
 * assertions made afterwards are about bytes and events, not about how long anything took.
 */
export async function waitQuiescent(
  progress: () => number,
  done: () => boolean,
  opts: { intervalMs?: number; quietPolls?: number; maxMs?: number } = {},
): Promise<void> {
  const interval = opts.intervalMs ?? 100
  const quiet = opts.quietPolls ?? 5
  const deadline = Date.now() + (opts.maxMs ?? 60_000)
  let last = progress()
  let same = 0
  while (!done() && same < quiet) {
    if (Date.now() > deadline) throw new Error(`waitQuiescent: still moving after ${opts.maxMs ?? 60_000} ms (at ${progress()})`)
    await sleep(interval)
    const now = progress()
    if (now === last) same++
    else {
      same = 0
      last = now
    }
  }
}

/**
 * Encode `body` as chunked transfer-coding using chunk sizes cycling through `sizes`;
 * `ext` puts a chunk extension on every third chunk; `trailers` is inserted after the 0 chunk
 * (each line already ending in CRLF).
 */
export function chunkedEncode(body: Buffer, sizes: number[] = [1, 7, 100, 4096], trailers = '', ext = false): Buffer {
  const parts: Buffer[] = []
  let pos = 0
  let i = 0
  while (pos < body.length) {
    const size = Math.min(sizes[i % sizes.length], body.length - pos)
    const e = ext && i % 3 === 1 ? ';foo=bar' : ''
    parts.push(Buffer.from(`${size.toString(16)}${e}\r\n`, 'latin1'), body.subarray(pos, pos + size), Buffer.from('\r\n'))
    pos += size
    i++
  }
  parts.push(Buffer.from(`0\r\n${trailers}\r\n`, 'latin1'))
  return Buffer.concat(parts)
}

/** Decode a chunked body (latin1 string starting at the first chunk-size line). Throws when malformed. */
export function chunkedDecode(s: string): { body: string; trailers: string } {
  let pos = 0
  let body = ''
  for (;;) {
    const eol = s.indexOf('\r\n', pos)
    if (eol < 0) throw new Error('chunkedDecode: truncated size line')
    const size = parseInt(s.slice(pos, eol).split(';')[0], 16)
    if (Number.isNaN(size)) throw new Error(`chunkedDecode: bad size line ${JSON.stringify(s.slice(pos, eol))}`)
    if (size === 0) return { body, trailers: s.slice(eol + 2) }
    body += s.slice(eol + 2, eol + 2 + size)
    if (s.slice(eol + 2 + size, eol + 4 + size) !== '\r\n') throw new Error('chunkedDecode: missing CRLF after chunk')
    pos = eol + 4 + size
  }
}

/** Head and body of one raw response (latin1). */
export function splitHead(response: string): { head: string; body: string } {
  const i = response.indexOf('\r\n\r\n')
  if (i < 0) return { head: response, body: '' }
  return { head: response.slice(0, i + 4), body: response.slice(i + 4) }
}

/** Cut `bytes` at the given offsets. */
export function cutAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const sorted = [...new Set(cuts)].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b)
  const out: Buffer[] = []
  let prev = 0
  for (const c of sorted) {
    out.push(bytes.subarray(prev, c))
    prev = c
  }
  out.push(bytes.subarray(prev))
  return out
}

/**
 * A random splitting of `bytes` from `rnd`: pieces of 1 byte about a third of the time,
 * otherwise 2..maxPiece bytes.
 */
export function randomPieces(bytes: Buffer, rnd: () => number, maxPiece = 300): Buffer[] {
  const cuts: number[] = []
  let pos = 0
  while (pos < bytes.length) {
    pos += rnd() < 0.35 ? 1 : 2 + Math.floor(rnd() * (maxPiece - 1))
    cuts.push(pos)
  }
  return cutAt(bytes, cuts)
}

/** Write `buf` to a net socket; resolves when the write callback fired (the kernel took it). */
export function writeAsync(socket: net.Socket, buf: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(buf, (err) => (err ? reject(err) : resolve()))
  })
}

/** Connect a raw client socket to 127.0.0.1:port (no delay); resolves once connected. */
export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1')
    s.setNoDelay(true)
    s.once('connect', () => {
      s.removeListener('error', reject)
      resolve(s)
    })
    s.once('error', reject)
  })
}

/** Simplify an error into something deepEqual can compare across targets. */
export function errShape(err: unknown): { code?: string; message?: string; name?: string } | null {
  if (err === undefined || err === null) return null
  const e = err as NodeJS.ErrnoException
  return { name: e.name, code: e.code, message: e.message }
}
