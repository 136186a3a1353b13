/**
 * More than one core. node:cluster: a worker's server listens through its primary (net.js's
 * listenInCluster), under both scheduling policies; each case runs fixtures/cluster-server.js as
 * the primary, which forks the workers and reports what it saw. worker_threads: a server per
 * thread (fixtures/thread-server.js).
 */
import test from 'ava'
import { spawn } from 'node:child_process'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { Worker } from 'node:worker_threads'
import { nodeHttp, targetName } from './helpers/target'

const FIXTURE = path.resolve(__dirname, 'fixtures', 'cluster-server.js')
const MODULE = targetName === 'node' ? 'node:http' : path.resolve(__dirname, '..')

function runPrimary(policy: 'rr' | 'none', scenario: string, env: Record<string, string> = {}): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIXTURE, MODULE, policy, scenario], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...env },
    })
    let log: string[] | null = null
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.on('message', (m: { log: string[] }) => (log = m.log))
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (log) resolve(log)
      else reject(new Error(`primary exited (${code} ${signal}) without a report`))
    })
  })
}

/** GET over a new connection: the body, or `error <code>`. */
function get(port: number, urlPath: string): Promise<string> {
  return new Promise((resolve) => {
    nodeHttp
      .get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d) => (body += d))
        res.on('end', () => resolve(body))
      })
      .on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code}`))
  })
}

async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const port = (s.address() as net.AddressInfo).port
  await new Promise((resolve) => s.close(resolve))
  return port
}

for (const policy of ['rr', 'none'] as const) {
  test.serial(`cluster (${policy}): workers listen on one port through the primary, serve, and exit on disconnect()`, async (t) => {
    const port = await freePort()
    const log = await runPrimary(policy, 'share', { CLUSTER_PORT: String(port) })
    const served = log.find((l) => l.startsWith('served by'))
    // Round-robin hands connections out in turn; a shared socket is the kernel's choice.
    if (policy === 'rr') t.is(served, 'served by worker 1,worker 2')
    else t.regex(served ?? '', /^served by worker [12](,worker 2)?$/)
    t.deepEqual(
      log.filter((l) => l !== served).sort(),
      [
        'primary saw listening 1 true 4',
        'primary saw listening 2 true 4',
        'worker 1 exit 0 null',
        'worker 1 server closed',
        'worker 1: listening true true IPv6',
        'worker 2 exit 0 null',
        'worker 2 server closed',
        'worker 2: listening true true IPv6',
      ],
    )
  })

  test.serial(`cluster (${policy}): a port the primary cannot bind is node's bind error in the worker`, async (t) => {
    const log = await runPrimary(policy, 'busy')
    t.deepEqual(log, ['bind EADDRINUSE 127.0.0.1:<port> | EADDRINUSE -98 bind 127.0.0.1 true'])
  })

  test.serial(`cluster (${policy}): a Unix domain socket through the primary`, async (t) => {
    const socketPath = path.join(os.tmpdir(), `ferrohttp-cluster-${process.pid}-${policy}.sock`)
    const log = await runPrimary(policy, 'pipe', { CLUSTER_PIPE: socketPath })
    t.deepEqual(log, ['listening at true', 'over the pipe, remoteAddress undefined'])
  })
}

test.serial('worker_threads: a server per thread; terminate() with a request in flight resets it and frees the port', async (t) => {
  const port = await freePort()
  const fixture = path.resolve(__dirname, 'fixtures', 'thread-server.js')
  const worker = new Worker(fixture, { workerData: { module: MODULE, port, reusePort: false } })
  t.is(await new Promise((resolve) => worker.once('message', resolve)), 'listening')
  t.is(await get(port, '/'), `thread ${worker.threadId}`)
  const inFlight = get(port, '/hang')
  await new Promise((r) => setTimeout(r, 50))
  await worker.terminate()
  t.is(await inFlight, 'error ECONNRESET')
  // The port is free again: a server here can take it.
  const again = new Worker(fixture, { workerData: { module: MODULE, port, reusePort: false } })
  t.is(await new Promise((resolve) => again.once('message', resolve)), 'listening')
  t.is(await get(port, '/'), `thread ${again.threadId}`)
  await again.terminate()
})
