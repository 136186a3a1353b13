/**
 * Express-style prototype swap. Express 5 does, for every request:
 *
 *   Object.setPrototypeOf(req, app.request)   // app.request -> express request -> require('node:http').IncomingMessage.prototype
 *   Object.setPrototypeOf(res, app.response)  // app.response -> express response -> require('node:http').ServerResponse.prototype
 *
 * i.e. after the swap every method on req/res is *node's own* implementation running on the
 * objects this module created. The client must still get exactly what node sends.
 */
import test from 'ava'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { nodeHttp, startServer, close, rawExchange, RawConnection, normalize, END_CALLBACKS_BEFORE_FINISH } from './helpers/target'

const KA = 'Date: <DATE>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n'

interface ExpressishRequest extends IncomingMessage {
  header(name: string): string | string[] | undefined
  readonly path: string
}
interface ExpressishResponse extends ServerResponse {
  status(code: number): this
  send(body: string): this
}

/** Build Express-like prototype chains on top of node's own prototypes. */
function makeProtos() {
  const requestBase = Object.create(nodeHttp.IncomingMessage.prototype, {
    header: {
      value(this: IncomingMessage, name: string) {
        return this.headers[name.toLowerCase()]
      },
      configurable: true,
      writable: true,
    },
    path: {
      get(this: IncomingMessage) {
        return (this.url ?? '').split('?')[0]
      },
      configurable: true,
    },
  }) as object
  const responseBase = Object.create(nodeHttp.ServerResponse.prototype, {
    status: {
      value(this: ServerResponse, code: number) {
        this.statusCode = code
        return this
      },
      configurable: true,
      writable: true,
    },
    send: {
      value(this: ServerResponse, body: string) {
        if (!this.getHeader('Content-Type')) this.setHeader('Content-Type', 'text/html; charset=utf-8')
        this.setHeader('Content-Length', Buffer.byteLength(body))
        this.end(body)
        return this
      },
      configurable: true,
      writable: true,
    },
  }) as object
  // app.request / app.response are one more level down, exactly like Express
  return { appRequest: Object.create(requestBase) as object, appResponse: Object.create(responseBase) as object }
}

/** Wrap a handler so the swap happens first, like express' app.handle(). */
function expressish(handler: (req: ExpressishRequest, res: ExpressishResponse) => void) {
  const { appRequest, appResponse } = makeProtos()
  return (req: IncomingMessage, res: ServerResponse) => {
    Object.setPrototypeOf(req, appRequest)
    Object.setPrototypeOf(res, appResponse)
    handler(req as ExpressishRequest, res as ExpressishResponse)
  }
}

test('plain swap (Object.create of node prototypes): setHeader / statusCode / end(x); req.headers, req.url', async (t) => {
  const seen: unknown[] = []
  const { server, port } = await startServer((req, res) => {
    Object.setPrototypeOf(req, Object.create(nodeHttp.IncomingMessage.prototype))
    Object.setPrototypeOf(res, Object.create(nodeHttp.ServerResponse.prototype))
    seen.push({
      url: req.url,
      method: req.method,
      headers: { ...req.headers },
      rawHeaders: req.rawHeaders,
      httpVersion: req.httpVersion,
      reqIsNode: req instanceof nodeHttp.IncomingMessage,
      resIsNode: res instanceof nodeHttp.ServerResponse,
    })
    res.setHeader('X-Powered-By', 'Express')
    res.statusCode = 201
    res.end('x')
  })
  try {
    const r = await rawExchange(port, 'GET /users/7?sort=asc HTTP/1.1\r\nHost: example\r\nAccept: text/plain\r\nX-Dup: a\r\nX-Dup: b\r\n\r\n', {
      responses: 1,
    })
    t.is(normalize(r.data), `HTTP/1.1 201 Created\r\nX-Powered-By: Express\r\n${KA}Content-Length: 1\r\n\r\nx`)
    t.deepEqual(seen, [
      {
        url: '/users/7?sort=asc',
        method: 'GET',
        headers: { host: 'example', accept: 'text/plain', 'x-dup': 'a, b' },
        rawHeaders: ['Host', 'example', 'Accept', 'text/plain', 'X-Dup', 'a', 'X-Dup', 'b'],
        httpVersion: '1.1',
        reqIsNode: true,
        resIsNode: true,
      },
    ])
  } finally {
    await close(server)
  }
})

test('express-like chain: req.header(), req.path, res.status().send()', async (t) => {
  const { server, port } = await startServer(
    expressish((req, res) => {
      res.status(202).send(`<p>${req.path} ${String(req.header('X-Name'))}</p>`)
    }),
  )
  try {
    const r = await rawExchange(port, 'GET /hello?x=1 HTTP/1.1\r\nHost: h\r\nX-Name: world\r\n\r\n', { responses: 1 })
    t.is(
      normalize(r.data),
      'HTTP/1.1 202 Accepted\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 19\r\n' +
        `${KA}\r\n<p>/hello world</p>`,
    )
  } finally {
    await close(server)
  }
})

test('after the swap: streamed write() + end() is chunked exactly like node', async (t) => {
  const { server, port } = await startServer(
    expressish((req, res) => {
      res.setHeader('Content-Type', 'text/plain')
      res.write('first,')
      setImmediate(() => {
        res.write('second,')
        res.end('third')
      })
    }),
  )
  try {
    const r = await rawExchange(port, 'GET /stream HTTP/1.1\r\nHost: h\r\n\r\n', { responses: 1 })
    t.is(
      normalize(r.data),
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${KA}Transfer-Encoding: chunked\r\n\r\n` +
        '6\r\nfirst,\r\n7\r\nsecond,\r\n5\r\nthird\r\n0\r\n\r\n',
    )
  } finally {
    await close(server)
  }
})

test("after the swap: request body read via 'data'/'end' (Content-Length and chunked)", async (t) => {
  const { server, port } = await startServer(
    expressish((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        res.setHeader('Content-Type', 'application/json')
        res.end(JSON.stringify({ method: req.method, url: req.url, body, complete: req.complete }))
      })
    }),
  )
  const conn = new RawConnection(port)
  try {
    await conn.write('POST /cl HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world')
    await conn.write('PUT /ch HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n')
    const [a, b] = (await conn.readResponses(2)).map(normalize)
    const expectJson = (o: object) => {
      const s = JSON.stringify(o)
      return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n${KA}Content-Length: ${s.length}\r\n\r\n${s}`
    }
    t.is(a, expectJson({ method: 'POST', url: '/cl', body: 'hello world', complete: true }))
    t.is(b, expectJson({ method: 'PUT', url: '/ch', body: 'hello world', complete: true }))
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('after the swap: body read with pipe() into a collecting writable, big body', async (t) => {
  const { Writable } = await import('node:stream')
  const { createHash, randomBytes } = await import('node:crypto')
  const { server, port } = await startServer(
    expressish((req, res) => {
      const h = createHash('sha256')
      let n = 0
      req.pipe(
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            n += chunk.length
            h.update(chunk)
            cb()
          },
          final(cb) {
            res.end(`${n} ${h.digest('hex')}`)
            cb()
          },
        }),
      )
    }),
  )
  try {
    const body = randomBytes(1024 * 1024)
    const head = `POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n`
    const r = await rawExchange(port, Buffer.concat([Buffer.from(head), body]), { responses: 1 })
    const expectedBody = `${body.length} ${createHash('sha256').update(body).digest('hex')}`
    t.is(normalize(r.data), `HTTP/1.1 200 OK\r\n${KA}Content-Length: ${expectedBody.length}\r\n\r\n${expectedBody}`)
  } finally {
    await close(server)
  }
})

test('after the swap: writeHead with headers, HEAD and 304 framing, Connection: close', async (t) => {
  const { server, port } = await startServer(
    expressish((req, res) => {
      if (req.url === '/304') {
        res.writeHead(304, { ETag: '"v1"' })
        res.end()
        return
      }
      if (req.url === '/close') {
        res.setHeader('Connection', 'close')
        res.end('bye')
        return
      }
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '5' })
      res.end('hello')
    }),
  )
  try {
    const r = await rawExchange(
      port,
      'HEAD /h HTTP/1.1\r\nHost: h\r\n\r\nGET /304 HTTP/1.1\r\nHost: h\r\n\r\nGET /g HTTP/1.1\r\nHost: h\r\n\r\nGET /close HTTP/1.1\r\nHost: h\r\n\r\n',
      { methods: ['HEAD', 'GET', 'GET', 'GET'] },
    )
    t.true(r.closedByServer)
    t.is(
      normalize(r.data),
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n${KA}\r\n` +
        `HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n${KA}\r\n` +
        `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n${KA}\r\nhello` +
        'HTTP/1.1 200 OK\r\nConnection: close\r\nDate: <DATE>\r\nContent-Length: 3\r\n\r\nbye',
    )
  } finally {
    await close(server)
  }
})

test("after the swap: 'finish' and 'close' events, headersSent, writableEnded", async (t) => {
  const log: unknown[] = []
  let done!: () => void
  const finished = new Promise<void>((r) => (done = r))
  const { server, port } = await startServer(
    expressish((req, res) => {
      res.on('finish', () => log.push(['finish', res.writableEnded, res.writableFinished]))
      res.on('close', () => {
        log.push(['close'])
        done()
      })
      log.push(['before', res.headersSent, res.writableEnded])
      res.end('ok', () => log.push(['end cb']))
      log.push(['after', res.headersSent, res.writableEnded])
    }),
  )
  try {
    const r = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n', { responses: 1 })
    t.is(normalize(r.data), `HTTP/1.1 200 OK\r\n${KA}Content-Length: 2\r\n\r\nok`)
    await finished
    const endAndFinish = END_CALLBACKS_BEFORE_FINISH ? [['end cb'], ['finish', true, true]] : [['finish', true, true], ['end cb']]
    t.deepEqual(log, [['before', false, false], ['after', true, true], ...endAndFinish, ['close']])
  } finally {
    await close(server)
  }
})

test('after the swap, through node http client and keep-alive reuse', async (t) => {
  const { server, port } = await startServer(
    expressish((req, res) => {
      res.status(200).send(`hi ${req.path}`)
    }),
  )
  const agent = new nodeHttp.Agent({ keepAlive: true, maxSockets: 1 })
  try {
    for (const p of ['/a', '/b', '/c']) {
      const { status, body, ct } = await new Promise<{ status?: number; body: string; ct?: string }>((resolve, reject) => {
        nodeHttp
          .get({ host: '127.0.0.1', port, path: p, agent }, (res) => {
            let body = ''
            res.setEncoding('utf8')
            res.on('data', (d: string) => (body += d))
            res.on('end', () => resolve({ status: res.statusCode, body, ct: res.headers['content-type'] }))
          })
          .on('error', reject)
      })
      t.is(status, 200)
      t.is(body, `hi ${p}`)
      t.is(ct, 'text/html; charset=utf-8')
    }
  } finally {
    agent.destroy()
    await close(server)
  }
})
