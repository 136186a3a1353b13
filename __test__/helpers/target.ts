import test from 'ava'
/**
 * Shared test helpers.
 *
 * Every spec runs against the module selected by FERRO_TEST_TARGET:
 *   FERRO_TEST_TARGET=node  -> Node's own `node:http` (proves the expected values are Node's)
 *   anything else / unset   -> this package (`require('<repo root>')`, i.e. package.json "main")
 *
 * Clients (http.get / http.request / undici / raw net sockets) always come from Node itself,
 * only the *server* side is the module under test.
 */
import * as path from 'node:path'
import * as net from 'node:net'
import type { AddressInfo } from 'node:net'

export const targetName: 'node' | 'ferrohttp' = process.env.FERRO_TEST_TARGET === 'node' ? 'node' : 'ferrohttp'

/** Node's own http module: used for clients, instanceof checks and prototype swaps. */
export const nodeHttp: typeof import('node:http') = require('node:http')

/**
 * The Node line's order for end()'s callback (Node 24 and later): OutgoingMessage keeps it
 * itself and runs it before 'finish', and writableFinished turns true only in its onFinish,
 * not as soon as no output is left. Node 20 and 22 add the callback as a 'finish' listener.
 * Probed as lib/outgoing.ts does, from the symbol node:http's own class carries.
 */
export const END_CALLBACKS_BEFORE_FINISH = Object.getOwnPropertySymbols(new nodeHttp.OutgoingMessage()).some(
  (s) => s.description === 'kEndCallbacks',
)

/** The module under test. Typed as node:http because it is meant to be a drop-in replacement. */
export const http: typeof import('node:http') = targetName === 'node' ? nodeHttp : loadPackage()

function loadPackage(): typeof import('node:http') {
  const root = path.resolve(__dirname, '..', '..')
  try {
    return require(root)
  } catch (err) {
    const e = err as Error
    e.message =
      `Could not load ferrohttp from ${root} (package.json "main"; run \`npm run build\` first, ` +
      `or set FERRO_TEST_TARGET=node to run the suite against node:http): ${e.message}`
    throw e
  }
}

type Server = import('node:http').Server

/** Listen on 127.0.0.1 with an ephemeral port; resolves the port. Rejects on 'error'. */
export function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err)
    server.once('error', onError)
    server.listen(0, '127.0.0.1', () => {
      server.removeListener('error', onError)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

/**
 * Close a server. Idle keep-alive connections are closed by server.close() itself in Node >= 19;
 * closeAllConnections() (if present) is also called so a leftover connection can never hang a test.
 */
export function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) {
      resolve()
      return
    }
    server.close((err) => (err ? reject(err) : resolve()))
    if (typeof server.closeAllConnections === 'function') server.closeAllConnections()
  })
}

/** Start a server with the given handler; returns server and port. */
export async function startServer(
  handler?: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void,
  options?: import('node:http').ServerOptions,
): Promise<{ server: Server; port: number }> {
  const server = options ? http.createServer(options, handler) : http.createServer(handler)
  const port = await listen(server)
  return { server, port }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

// ---------------------------------------------------------------------------------------------
// Minimal HTTP/1.x response framing (client side), enough to know where each response ends.
// ---------------------------------------------------------------------------------------------

interface FrameResult {
  /** number of bytes of `buf` (from `start`) the response occupies, or -1 if incomplete */
  length: number
  /** true when the response is delimited by connection close (body runs until EOF) */
  closeDelimited: boolean
  /** true for 1xx interim responses */
  interim: boolean
}

/**
 * Try to frame one response starting at `start` in a latin1 string.
 * `method` is the request method the response answers (HEAD responses have no body).
 */
function frameResponse(buf: string, start: number, method: string): FrameResult {
  const headEnd = buf.indexOf('\r\n\r\n', start)
  if (headEnd === -1) return { length: -1, closeDelimited: false, interim: false }
  const head = buf.slice(start, headEnd)
  const lines = head.split('\r\n')
  const m = /^HTTP\/\d\.\d (\d{3})/.exec(lines[0])
  if (!m) throw new Error(`rawRequest: cannot parse status line ${JSON.stringify(lines[0])}`)
  const status = Number(m[1])
  let contentLength: number | null = null
  let chunked = false
  for (const line of lines.slice(1)) {
    const idx = line.indexOf(':')
    if (idx === -1) continue
    const name = line.slice(0, idx).trim().toLowerCase()
    const value = line.slice(idx + 1).trim()
    if (name === 'content-length') contentLength = Number(value)
    else if (name === 'transfer-encoding' && /(^|,)\s*chunked\s*$/i.test(value)) chunked = true
  }
  const bodyStart = headEnd + 4
  const interim = status >= 100 && status < 200 && status !== 101
  if (interim || method === 'HEAD' || status === 204 || status === 304) {
    return { length: bodyStart - start, closeDelimited: false, interim }
  }
  if (chunked) {
    let pos = bodyStart
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', pos)
      if (lineEnd === -1) return { length: -1, closeDelimited: false, interim }
      const size = parseInt(buf.slice(pos, lineEnd).split(';')[0].trim(), 16)
      if (Number.isNaN(size)) throw new Error(`rawRequest: bad chunk size line at ${pos}`)
      if (size === 0) {
        // trailers, terminated by an empty line
        let tpos = lineEnd + 2
        for (;;) {
          const tEnd = buf.indexOf('\r\n', tpos)
          if (tEnd === -1) return { length: -1, closeDelimited: false, interim }
          if (tEnd === tpos) return { length: tEnd + 2 - start, closeDelimited: false, interim }
          tpos = tEnd + 2
        }
      }
      const next = lineEnd + 2 + size + 2
      if (buf.length < next) return { length: -1, closeDelimited: false, interim }
      pos = next
    }
  }
  if (contentLength !== null) {
    const end = bodyStart + contentLength
    if (buf.length < end) return { length: -1, closeDelimited: false, interim }
    return { length: end - start, closeDelimited: false, interim }
  }
  return { length: -1, closeDelimited: true, interim }
}

/** Split a latin1 string holding several complete responses into the individual responses. */
export function splitResponses(data: string, methods: string[] = []): string[] {
  const out: string[] = []
  let pos = 0
  let idx = 0
  while (pos < data.length) {
    const f = frameResponse(data, pos, methods[idx] ?? 'GET')
    if (f.length === -1) {
      out.push(data.slice(pos))
      break
    }
    out.push(data.slice(pos, pos + f.length))
    pos += f.length
    if (!f.interim) idx++
  }
  return out
}

export interface RawOptions {
  /**
   * Stop (and destroy the socket) after this many complete final (non-1xx) responses.
   * When omitted, collect until the server closes the connection.
   */
  responses?: number
  /**
   * Split the payload into several writes. Either a list of byte offsets at which to cut,
   * or a number N meaning "write in N roughly equal pieces".
   */
  splitAt?: number[] | number
  /** Pause between writes (ms). Default 20. */
  pauseMs?: number
  /** Methods of the pipelined requests, in order (HEAD responses have no body). Default GET. */
  methods?: string[]
  /** Safety net: reject after this long (ms). Default 10000. Not a timing assertion. */
  timeoutMs?: number
  /** Half-close (FIN) the socket after writing everything. Default false. */
  endAfterWrite?: boolean
}

export interface RawResult {
  /** Everything received, latin1. */
  data: string
  /** True if the server closed (FIN/reset) the connection before we stopped reading. */
  closedByServer: boolean
  /** Number of complete final responses seen. */
  responseCount: number
}

function toPieces(bytes: Buffer, splitAt: number[] | number | undefined): Buffer[] {
  if (splitAt === undefined) return [bytes]
  let cuts: number[]
  if (typeof splitAt === 'number') {
    const n = Math.max(1, Math.floor(splitAt))
    const step = Math.ceil(bytes.length / n)
    cuts = []
    for (let i = step; i < bytes.length; i += step) cuts.push(i)
  } else {
    cuts = [...splitAt].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b)
  }
  const pieces: Buffer[] = []
  let prev = 0
  for (const c of cuts) {
    pieces.push(bytes.subarray(prev, c))
    prev = c
  }
  pieces.push(bytes.subarray(prev))
  return pieces.filter((p) => p.length > 0)
}

/**
 * A raw client connection for tests that need to keep a socket open across several exchanges.
 */
export class RawConnection {
  readonly socket: net.Socket
  data = ''
  closed = false
  private consumed = 0
  private waiters: Array<() => void> = []
  private readonly connected: Promise<void>

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1')
    this.socket.setNoDelay(true)
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve())
      this.socket.once('error', reject)
    })
    this.socket.on('data', (d: Buffer) => {
      this.data += d.toString('latin1')
      this.wake()
    })
    // ECONNRESET after the server closes is fine: treat it as a close.
    this.socket.on('error', () => {})
    this.socket.on('close', () => {
      this.closed = true
      this.wake()
    })
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  private waitChange(timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`RawConnection: timed out waiting for ${what}; received so far: ${JSON.stringify(this.data)}`))
      }, timeoutMs)
      this.waiters.push(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  ready(): Promise<void> {
    return this.connected
  }

  async write(bytes: string | Buffer, opts: { splitAt?: number[] | number; pauseMs?: number } = {}): Promise<void> {
    await this.connected
    const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes
    const pieces = toPieces(buf, opts.splitAt)
    for (let i = 0; i < pieces.length; i++) {
      if (i > 0) await sleep(opts.pauseMs ?? 20)
      if (this.closed || this.socket.destroyed) return
      await new Promise<void>((resolve) => {
        this.socket.write(pieces[i], () => resolve())
      })
    }
  }

  /**
   * Wait for `count` more complete final responses after those already returned by previous calls;
   * returns them (latin1 strings, each one full response).
   */
  async readResponses(count: number, methods: string[] = [], timeoutMs = 10000): Promise<string[]> {
    const out: string[] = []
    let idx = 0
    for (;;) {
      while (out.length < count) {
        const f = frameResponse(this.data, this.consumed, methods[idx] ?? 'GET')
        if (f.length === -1) {
          if (f.closeDelimited && this.closed) {
            out.push(this.data.slice(this.consumed))
            this.consumed = this.data.length
            idx++
            continue
          }
          break
        }
        // interim (1xx) responses are skipped: not counted, but still visible in `data`
        if (!f.interim) {
          out.push(this.data.slice(this.consumed, this.consumed + f.length))
          idx++
        }
        this.consumed += f.length
      }
      if (out.length >= count) return out
      if (this.closed) {
        throw new Error(
          `RawConnection: connection closed after ${out.length}/${count} responses; received: ${JSON.stringify(this.data)}`,
        )
      }
      await this.waitChange(timeoutMs, `${count} responses`)
    }
  }

  /** Wait until `pred(data)` holds for everything received so far (or fail when the connection closes first). */
  async waitUntil(pred: (data: string) => boolean, timeoutMs = 10000): Promise<void> {
    while (!pred(this.data)) {
      if (this.closed) throw new Error(`RawConnection: closed before condition held; received: ${JSON.stringify(this.data)}`)
      await this.waitChange(timeoutMs, 'condition')
    }
  }

  /** Wait until the server closes the connection. */
  async waitClose(timeoutMs = 10000): Promise<void> {
    while (!this.closed) await this.waitChange(timeoutMs, 'server close')
  }

  /** Everything received that has not been returned by readResponses yet. */
  rest(): string {
    return this.data.slice(this.consumed)
  }

  destroy(): void {
    this.socket.destroy()
  }
}

/**
 * Open a raw TCP connection, write `bytes` (optionally split into several writes with pauses),
 * collect everything until the server closes the connection or until `opts.responses` complete
 * responses arrived. Returns details; see `rawRequest` for the plain-string variant.
 */
export async function rawExchange(port: number, bytes: string | Buffer, opts: RawOptions = {}): Promise<RawResult> {
  const conn = new RawConnection(port)
  const timeoutMs = opts.timeoutMs ?? 10000
  try {
    await conn.ready()
    await conn.write(bytes, { splitAt: opts.splitAt, pauseMs: opts.pauseMs })
    if (opts.endAfterWrite) conn.socket.end()
    let responseCount = 0
    if (opts.responses !== undefined) {
      const got = await conn.readResponses(opts.responses, opts.methods, timeoutMs)
      responseCount = got.length
    } else {
      await conn.waitClose(timeoutMs)
      responseCount = splitResponses(conn.data, opts.methods).filter((r) => !/^HTTP\/\d\.\d 1(?!01)\d\d/.test(r)).length
    }
    return { data: conn.data, closedByServer: conn.closed, responseCount }
  } finally {
    conn.destroy()
  }
}

/** Like rawExchange but resolves just the received bytes as a latin1 string. */
export async function rawRequest(port: number, bytes: string | Buffer, opts: RawOptions = {}): Promise<string> {
  return (await rawExchange(port, bytes, opts)).data
}

// ---------------------------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------------------------

/** Token that replaces a well-formed Date header value. */
export const DATE = '<DATE>'

const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/

/**
 * Replace the value of every `Date:` header line whose value is a valid IMF-fixdate
 * (RFC 9110 §5.6.7) with `<DATE>`. A malformed date is left untouched, so byte-exact
 * comparisons fail on it.
 */
export function normalize(raw: string): string {
  return raw.replace(/(^|\r\n)(date): ([^\r\n]*)/gi, (whole, pre: string, name: string, value: string) =>
    IMF_FIXDATE.test(value) ? `${pre}${name}: ${DATE}` : whole,
  )
}

/** Build a latin1 string from a Buffer (for byte-exact comparisons of binary bodies). */
export const latin1 = (b: Buffer): string => b.toString('latin1')

/**
 * A test of a Node behaviour ferrohttp does not have yet: it runs as ava's `test.failing` on
 * ferrohttp (so it still runs, and ava reports it the day it passes) and as a plain test on
 * node:http. Each use says what is missing.
 */
export const knownGap = (targetName === 'ferrohttp' ? test.failing : test) as typeof test
