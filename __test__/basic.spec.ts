import test from 'ava'
import { Agent, request } from 'undici'
import { http, nodeHttp, startServer, close, listen } from './helpers/target'
import type { IncomingMessage } from 'node:http'

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = ''
    res.setEncoding('utf8')
    res.on('data', (d: string) => (body += d))
    res.on('end', () => resolve(body))
    res.on('error', reject)
  })
}

test('createServer returns an http.Server of the module under test', async (t) => {
  const server = http.createServer()
  t.true(server instanceof http.Server)
  t.is(typeof server.listen, 'function')
  t.is(server.listening, false)
  t.is(server.address(), null)
})

test('hello world through node http.get', async (t) => {
  const { server, port } = await startServer((req, res) => {
    res.end('hello world')
  })
  try {
    const { status, headers, body } = await new Promise<{
      status: number | undefined
      headers: import('node:http').IncomingHttpHeaders
      body: string
    }>((resolve, reject) => {
      nodeHttp
        .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
          readAll(res).then((body) => resolve({ status: res.statusCode, headers: res.headers, body }), reject)
        })
        .on('error', reject)
    })
    t.is(status, 200)
    t.is(body, 'hello world')
    t.is(headers['content-length'], '11')
    // agent:false makes node's client send `Connection: close`
    t.is(headers.connection, 'close')
    t.is(headers['transfer-encoding'], undefined)
    t.regex(headers.date ?? '', /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/)
  } finally {
    await close(server)
  }
})

test('hello world through undici request()', async (t) => {
  const { server, port } = await startServer((req, res) => {
    res.setHeader('Content-Type', 'text/plain; charset=utf-8')
    res.end('hello world')
  })
  const dispatcher = new Agent()
  try {
    const res = await request(`http://127.0.0.1:${port}/hello?x=1`, { dispatcher })
    t.is(res.statusCode, 200)
    t.is(res.headers['content-type'], 'text/plain; charset=utf-8')
    t.is(res.headers['content-length'], '11')
    t.is(res.headers.connection, 'keep-alive')
    t.is(res.headers['keep-alive'], 'timeout=5')
    t.is(await res.body.text(), 'hello world')
  } finally {
    await dispatcher.close()
    await close(server)
  }
})

test('undici: several sequential requests reuse one keep-alive connection', async (t) => {
  const ports: number[] = []
  const { server, port } = await startServer((req, res) => {
    ports.push(req.socket.remotePort ?? -1)
    res.end(req.url)
  })
  const dispatcher = new Agent({ connections: 1 })
  try {
    for (const p of ['/a', '/b', '/c']) {
      const res = await request(`http://127.0.0.1:${port}${p}`, { dispatcher })
      t.is(await res.body.text(), p)
    }
    t.is(ports.length, 3)
    t.is(new Set(ports).size, 1)
  } finally {
    await dispatcher.close()
    await close(server)
  }
})

test("node http client keep-alive agent reuses the socket; 'request' event listener", async (t) => {
  const server = http.createServer()
  const seen: Array<[string | undefined, number | undefined]> = []
  server.on('request', (req: IncomingMessage, res: import('node:http').ServerResponse) => {
    seen.push([req.url, req.socket.remotePort])
    res.end(`you asked for ${req.url}`)
  })
  const port = await listen(server)
  const agent = new nodeHttp.Agent({ keepAlive: true, maxSockets: 1 })
  try {
    for (const p of ['/one', '/two']) {
      const body = await new Promise<string>((resolve, reject) => {
        nodeHttp.get({ host: '127.0.0.1', port, path: p, agent }, (res) => readAll(res).then(resolve, reject)).on('error', reject)
      })
      t.is(body, `you asked for ${p}`)
    }
    t.is(seen.length, 2)
    t.is(seen[0][0], '/one')
    t.is(seen[1][0], '/two')
    t.is(seen[0][1], seen[1][1])
  } finally {
    agent.destroy()
    await close(server)
  }
})

test('POST with a JSON body through undici; handler echoes parsed JSON', async (t) => {
  const { server, port } = await startServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const obj = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>
      res.statusCode = 201
      res.setHeader('Content-Type', 'application/json')
      res.end(JSON.stringify({ got: obj, method: req.method }))
    })
  })
  const dispatcher = new Agent()
  try {
    const res = await request(`http://127.0.0.1:${port}/items`, {
      dispatcher,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1, b: 'ü' }),
    })
    t.is(res.statusCode, 201)
    t.is(res.headers['content-type'], 'application/json')
    t.deepEqual(await res.body.json(), { got: { a: 1, b: 'ü' }, method: 'POST' })
  } finally {
    await dispatcher.close()
    await close(server)
  }
})
