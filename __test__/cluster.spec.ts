/**
 * node:cluster: a worker's server listens through its primary (net.js's listenInCluster), under
 * both scheduling policies. Each case runs fixtures/cluster-server.js as the primary, which forks
 * the workers and reports what it saw.
 */
import test from 'ava'
import { spawn } from 'node:child_process'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { targetName } from './helpers/target'

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
