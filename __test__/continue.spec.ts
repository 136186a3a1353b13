/**
 * Expect: 100-continue and other expectations, writeContinue(), writeProcessing() (102) and
 * writeEarlyHints() (103): events and exact wire bytes, as node:http 20 produces them.
 */
import test from 'ava'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { nodeHttp, startServer, close, RawConnection, normalize } from './helpers/target'
import { deferred, within } from './helpers/streams'

const KA = 'Date: <DATE>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n'
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n'

/** Read the whole body, answer `got <body>`. */
function echoBody(req: IncomingMessage, res: ServerResponse): void {
  let s = ''
  req.setEncoding('latin1')
  req.on('data', (c: string) => (s += c))
  req.on('end', () => res.end(`got ${s}`))
}

test('Expect: 100-continue without a checkContinue listener: automatic 100 Continue, then the final response', async (t) => {
  const events: string[] = []
  const { server, port } = await startServer((req, res) => {
    events.push(`request ${req.headers.expect}`)
    echoBody(req, res)
  })
  server.on('checkExpectation', () => events.push('checkExpectation'))
  const conn = new RawConnection(port)
  try {
    await conn.write('POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n')
    // the body is only sent after the interim response: this hangs if there is no automatic 100
    await conn.waitUntil((d) => d.includes('\r\n\r\n'))
    t.is(conn.data, CONTINUE)
    await conn.write('abc')
    await conn.readResponses(1)
    t.is(normalize(conn.data), `${CONTINUE}HTTP/1.1 200 OK\r\n${KA}Content-Length: 7\r\n\r\ngot abc`)
    t.deepEqual(events, ['request 100-continue'])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('Expect: 100-continue with the body sent right away (no waiting): the 100 is still sent, then the response', async (t) => {
  const { server, port } = await startServer(echoBody)
  const conn = new RawConnection(port)
  try {
    await conn.write('POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nxyz')
    await conn.readResponses(1)
    t.is(normalize(conn.data), `${CONTINUE}HTTP/1.1 200 OK\r\n${KA}Content-Length: 7\r\n\r\ngot xyz`)
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('pipelined: the 100 Continue of a second request waits behind the first response', async (t) => {
  const release = deferred()
  const { server, port } = await startServer((req, res) => {
    if (req.url === '/slow') {
      req.resume()
      void release.promise.then(() => res.end('first'))
      return
    }
    echoBody(req, res)
  })
  const conn = new RawConnection(port)
  try {
    await conn.write(
      'GET /slow HTTP/1.1\r\nHost: h\r\n\r\n' + 'POST /second HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok',
    )
    // let the second request be dispatched while the first is still unanswered
    await new Promise((r) => setTimeout(r, 50))
    release.resolve()
    await conn.readResponses(2)
    t.is(
      normalize(conn.data),
      `HTTP/1.1 200 OK\r\n${KA}Content-Length: 5\r\n\r\nfirst` + `${CONTINUE}HTTP/1.1 200 OK\r\n${KA}Content-Length: 6\r\n\r\ngot ok`,
    )
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('Expect: 100-continue is matched case-insensitively inside a list', async (t) => {
  const { server, port } = await startServer(echoBody)
  const conn = new RawConnection(port)
  try {
    await conn.write('POST / HTTP/1.1\r\nHost: h\r\nExpect: foo, 100-Continue\r\nContent-Length: 2\r\n\r\n')
    await conn.waitUntil((d) => d.includes('\r\n\r\n'))
    t.is(conn.data, CONTINUE)
    await conn.write('hi')
    await conn.readResponses(1)
    t.is(normalize(conn.data), `${CONTINUE}HTTP/1.1 200 OK\r\n${KA}Content-Length: 6\r\n\r\ngot hi`)
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("'checkContinue' listener: no automatic 100, no 'request'; the listener decides (final status without 100 closes)", async (t) => {
  const events: string[] = []
  const { server, port } = await startServer(() => events.push('request'))
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    events.push(`checkContinue ${req.method} ${req.url} ${req.headers.expect}`)
    res.writeHead(401, { 'Content-Type': 'text/plain' })
    res.end('no')
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('POST /upload HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n')
    await conn.readResponses(1)
    // node drops keep-alive: the client might still send the body it was holding back
    t.is(
      normalize(conn.data),
      // (writeHead() fixes the head before end() knows the length: chunked)
      'HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nDate: <DATE>\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nno\r\n0\r\n\r\n',
    )
    await conn.waitClose()
    t.deepEqual(events, ['checkContinue POST /upload 100-continue'])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("'checkContinue' listener calling res.writeContinue(): 100 only then; the body follows and the response keeps alive", async (t) => {
  const events: string[] = []
  const { server, port } = await startServer(() => events.push('request'))
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    events.push('checkContinue')
    res.writeContinue()
    echoBody(req, res)
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n')
    await conn.waitUntil((d) => d.includes('\r\n\r\n'))
    t.is(conn.data, CONTINUE)
    await conn.write('body')
    await conn.readResponses(1)
    t.is(normalize(conn.data), `${CONTINUE}HTTP/1.1 200 OK\r\n${KA}Content-Length: 8\r\n\r\ngot body`)
    t.deepEqual(events, ['checkContinue'])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("'checkContinue' listener that answers later: the only bytes on the wire are its final response", async (t) => {
  const seen = deferred()
  const gate = deferred()
  const { server, port } = await startServer(() => {})
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    seen.resolve()
    void gate.promise.then(() => {
      res.writeHead(200, { 'Content-Length': '0' })
      res.end()
    })
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n')
    await within(seen.promise, 10_000, "'checkContinue'")
    gate.resolve()
    await conn.readResponses(1)
    t.is(normalize(conn.data), 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nDate: <DATE>\r\nConnection: close\r\n\r\n')
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('res.writeContinue() without Expect: the interim response is sent anyway, exact bytes', async (t) => {
  const { server, port } = await startServer((req, res) => {
    res.writeContinue()
    res.end('ok')
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n')
    await conn.readResponses(1)
    t.is(normalize(conn.data), `${CONTINUE}HTTP/1.1 200 OK\r\n${KA}Content-Length: 2\r\n\r\nok`)
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('Expect with another value and no checkExpectation listener: 417, exact bytes, no request event', async (t) => {
  const events: string[] = []
  const { server, port } = await startServer(() => events.push('request'))
  server.on('checkContinue', () => events.push('checkContinue'))
  const conn = new RawConnection(port)
  try {
    await conn.write('POST / HTTP/1.1\r\nHost: h\r\nExpect: something-else\r\nContent-Length: 0\r\n\r\n')
    await conn.readResponses(1)
    // node answers with writeHead(417) + end(): a chunked, empty body
    const expectationFailed = `HTTP/1.1 417 Expectation Failed\r\n${KA}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`
    t.is(normalize(conn.data), expectationFailed)
    // the connection stays usable
    await conn.write('GET / HTTP/1.1\r\nHost: h\r\nExpect: nope\r\n\r\n')
    const [second] = await conn.readResponses(1)
    t.is(normalize(second), expectationFailed)
    t.deepEqual(events, [])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("Expect with another value: 'checkExpectation' when listened (and no 'request')", async (t) => {
  const events: string[] = []
  const { server, port } = await startServer(() => events.push('request'))
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    events.push(`checkExpectation ${req.headers.expect}`)
    res.writeHead(200, { 'Content-Type': 'text/plain' })
    res.end('accepted')
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('POST / HTTP/1.1\r\nHost: h\r\nExpect: x-custom=1\r\nContent-Length: 0\r\n\r\n')
    await conn.readResponses(1)
    t.is(normalize(conn.data), `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${KA}Transfer-Encoding: chunked\r\n\r\n8\r\naccepted\r\n0\r\n\r\n`)
    t.deepEqual(events, ['checkExpectation x-custom=1'])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('Expect on an HTTP/1.0 request is ignored: plain request event, no 100, no 417', async (t) => {
  const events: string[] = []
  const { server, port } = await startServer((req, res) => {
    events.push(`request ${req.headers.expect}`)
    echoBody(req, res)
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab')
    await conn.waitClose()
    t.is(normalize(conn.data), 'HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: close\r\n\r\ngot ab')
    t.deepEqual(events, ['request 100-continue'])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('res.writeProcessing(): 102 Processing, exact bytes, before the final response', async (t) => {
  const { server, port } = await startServer((req, res) => {
    res.writeProcessing()
    setImmediate(() => res.end('done'))
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n')
    await conn.readResponses(1)
    t.is(normalize(conn.data), `HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 200 OK\r\n${KA}Content-Length: 4\r\n\r\ndone`)
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('res.writeEarlyHints({ link }): 103 Early Hints with Link, exact bytes', async (t) => {
  const { server, port } = await startServer((req, res) => {
    res.writeEarlyHints({ link: '</styles.css>; rel=preload; as=style' })
    res.end('page')
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n')
    await conn.readResponses(1)
    t.is(
      normalize(conn.data),
      'HTTP/1.1 103 Early Hints\r\nLink: </styles.css>; rel=preload; as=style\r\n\r\n' +
        `HTTP/1.1 200 OK\r\n${KA}Content-Length: 4\r\n\r\npage`,
    )
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('res.writeEarlyHints() with several links, an extra header and a callback: exact bytes', async (t) => {
  const log: string[] = []
  const { server, port } = await startServer((req, res) => {
    res.writeEarlyHints(
      {
        link: ['</a.css>; rel=preload; as=style', '</b.js>; rel=preload; as=script'],
        'x-trace-id': 'id-1',
      },
      () => log.push('hints cb'),
    )
    setImmediate(() => {
      log.push('end')
      res.end()
    })
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n')
    await conn.readResponses(1)
    t.is(
      normalize(conn.data),
      'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload; as=style, </b.js>; rel=preload; as=script\r\nx-trace-id: id-1\r\n\r\n' +
        `HTTP/1.1 200 OK\r\n${KA}Content-Length: 0\r\n\r\n`,
    )
    t.deepEqual(log, ['hints cb', 'end'])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("node's http client sees 'continue' and 'information' events (100, 102, 103) before the response", async (t) => {
  const { server, port } = await startServer((req, res) => {
    res.writeProcessing()
    res.writeEarlyHints({ link: '</x.css>; rel=preload' })
    echoBody(req, res)
  })
  try {
    const events = await new Promise<unknown[]>((resolve, reject) => {
      const out: unknown[] = []
      const req = nodeHttp.request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        agent: false,
        headers: { Expect: '100-continue', 'Content-Length': '4' },
      })
      req.on('continue', () => {
        out.push('continue')
        req.end('data')
      })
      req.on('information', (info: { statusCode: number; headers: Record<string, unknown> }) =>
        out.push(['information', info.statusCode, info.headers.link ?? null]),
      )
      req.on('response', (res) => {
        let s = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (s += c))
        res.on('end', () => {
          out.push(['response', res.statusCode, s])
          resolve(out)
        })
      })
      req.on('error', reject)
    })
    t.deepEqual(events, [
      'continue',
      ['information', 100, null],
      ['information', 102, null],
      ['information', 103, '</x.css>; rel=preload'],
      ['response', 200, 'got data'],
    ])
  } finally {
    await close(server)
  }
})
