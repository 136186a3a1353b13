/**
 * Helpers for the lifecycle / timeouts / limits / client-error / socket specs.
 * Everything here is client side (Node's own http / net / child_process); the server under test
 * still comes from helpers/target.ts.
 */
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { spawn } from 'node:child_process'
import type { EventEmitter } from 'node:events'
import type { IncomingHttpHeaders, RequestOptions } from 'node:http'
import { nodeHttp, targetName } from './target'

export interface ClientResponse {
  status: number
  headers: IncomingHttpHeaders
  rawHeaders: string[]
  body: string
}

/**
 * One request with Node's http client. `agent: false` by default, so the request carries
 * `Connection: close` and the connection is not reused.
 */
export function request(port: number, opts: RequestOptions & { body?: string | Buffer } = {}): Promise<ClientResponse> {
  const { body, ...rest } = opts
  return new Promise((resolve, reject) => {
    const req = nodeHttp.request({ host: '127.0.0.1', port, agent: false, ...rest }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (d: Buffer) => chunks.push(d))
      res.on('error', reject)
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: Buffer.concat(chunks).toString('latin1'),
        }),
      )
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** Try a TCP connection; resolves 'connected' (and closes it) or the error code (ECONNREFUSED...). */
export function tryConnect(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host })
    s.once('connect', () => {
      s.destroy()
      resolve('connected')
    })
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)))
  })
}

/** Resolve with the listener arguments of the next `event` (safety net: reject after timeoutMs). */
export function nextEvent<T extends unknown[] = unknown[]>(emitter: EventEmitter, event: string, timeoutMs = 10000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.removeListener(event, on)
      reject(new Error(`timed out waiting for '${event}'`))
    }, timeoutMs)
    const on = (...args: unknown[]) => {
      clearTimeout(timer)
      resolve(args as T)
    }
    emitter.once(event, on)
  })
}

/** A promise plus its resolve function. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

/** Safety net around a promise: reject with `what` after `ms` (never a timing assertion). */
export function within<T>(p: Promise<T>, what: string, ms = 10000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)
    p.then(
      (v) => {
        clearTimeout(timer)
        resolve(v)
      },
      (e) => {
        clearTimeout(timer)
        reject(e)
      },
    )
  })
}

export interface ChildHandle {
  /** Resolves the first stdout line matching `re`. */
  line(re: RegExp): Promise<string>
  /** Resolves when the child exited: code, signal, stdout, stderr. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>
  kill(): void
}

/**
 * Run `__test__/fixtures/<name>` with the current node, the same FERRO_TEST_TARGET and `args`.
 * The fixture loads the module under test itself (see fixtures/lifecycle-*.js). `nodeArgs` go
 * to node before the file.
 */
export function runFixture(name: string, args: string[] = [], nodeArgs: string[] = []): ChildHandle {
  const file = path.resolve(__dirname, '..', 'fixtures', name)
  const child = spawn(process.execPath, [...nodeArgs, file, ...args], {
    env: { ...process.env, FERRO_TEST_TARGET: targetName },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  const waiters: Array<() => void> = []
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString()
    for (const w of waiters.splice(0)) w()
  })
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    // 'close', not 'exit': only then has all of the child's output been read (a loaded machine
    // can deliver the pipes' last bytes after 'exit' and the next turn).
    child.on('close', (code, signal) => {
      for (const w of waiters.splice(0)) w()
      resolve({ code, signal, stdout, stderr })
    })
  })
  let done = false
  void exited.then(() => (done = true))
  return {
    exited,
    kill: () => {
      if (!done) child.kill('SIGKILL')
    },
    line: async (re: RegExp) => {
      for (;;) {
        const m = stdout.split('\n').find((l) => re.test(l))
        if (m !== undefined) return m
        if (done) throw new Error(`child exited without printing ${re}; stdout=${JSON.stringify(stdout)} stderr=${JSON.stringify(stderr)}`)
        await new Promise<void>((r) => waiters.push(r))
      }
    },
  }
}

/** True when the host has an IPv6 loopback (so '::' / '::1' can be bound and reached). */
export const hasIPv6Loopback: boolean = Object.values(os.networkInterfaces())
  .flat()
  .some((i) => i !== undefined && i.family === 'IPv6' && i.internal && i.address === '::1')

/** A fresh Unix socket path in the temp directory. */
export function tmpSocketPath(tag: string): string {
  return path.join(os.tmpdir(), `ferrohttp-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}.sock`)
}
