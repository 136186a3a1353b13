/**
 * IncomingMessage (the `req` object): method, url, version, headers (Node's duplicate rules),
 * headersDistinct, rawHeaders, complete, socket addresses, instanceof.
 */
import test from 'ava'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { http, nodeHttp, startServer, close, RawConnection, rawRequest, normalize } from './helpers/target'

/** Start a server that hands the first request to `inspect` (before the body is read) and answers "ok". */
async function captureOne<T>(
  inspect: (req: IncomingMessage, res: ServerResponse) => T | Promise<T>,
): Promise<{ port: number; result: Promise<T>; server: import('node:http').Server }> {
  let resolveResult!: (v: T) => void
  let rejectResult!: (e: unknown) => void
  const result = new Promise<T>((res, rej) => {
    resolveResult = res
    rejectResult = rej
  })
  const { server, port } = await startServer((req, res) => {
    Promise.resolve()
      .then(() => inspect(req, res))
      .then(resolveResult, rejectResult)
      .finally(() => {
        req.resume()
        if (!res.headersSent) res.end('ok')
      })
  })
  return { port, result, server }
}

const DUPLICATES_REQUEST =
  'GET /path/x?y=1&z=%20 HTTP/1.1\r\n' +
  'Host: first.example\r\n' +
  'host: second.example\r\n' +
  'Cookie: a=1\r\n' +
  'cookie: b=2\r\n' +
  'X-Dup: 1\r\n' +
  'x-dup: 2\r\n' +
  'X-DUP: 3\r\n' +
  'Set-Cookie: s1=v1\r\n' +
  'set-cookie: s2=v2\r\n' +
  'Content-Type: text/a\r\n' +
  'Content-Type: text/b\r\n' +
  'User-Agent: ua1\r\n' +
  'User-Agent: ua2\r\n' +
  'Authorization: Basic one\r\n' +
  'Authorization: Basic two\r\n' +
  'Referer: http://r1/\r\n' +
  'Referer: http://r2/\r\n' +
  'If-Modified-Since: Mon, 01 Jan 2024 00:00:00 GMT\r\n' +
  'If-Modified-Since: Tue, 02 Jan 2024 00:00:00 GMT\r\n' +
  'Accept: text/html\r\n' +
  'Accept: application/json\r\n' +
  'Accept-Encoding: gzip\r\n' +
  'X-Mixed-Case: MiXeD\r\n' +
  '\r\n'

test('req.headers follows node duplicate rules; headersDistinct; rawHeaders keeps case and order', async (t) => {
  const { port, result, server } = await captureOne((req) => ({
    headers: req.headers,
    headerKeys: Object.keys(req.headers),
    headersProtoIsObject: Object.getPrototypeOf(req.headers) === Object.prototype,
    headersDistinct: { ...req.headersDistinct },
    headersDistinctProto: Object.getPrototypeOf(req.headersDistinct),
    rawHeaders: req.rawHeaders,
  }))
  try {
    const reply = await rawRequest(port, DUPLICATES_REQUEST, { responses: 1 })
    t.true(reply.startsWith('HTTP/1.1 200 OK\r\n'))
    const r = await result
    t.deepEqual({ ...r.headers }, {
      host: 'first.example',
      cookie: 'a=1; b=2',
      'x-dup': '1, 2, 3',
      'set-cookie': ['s1=v1', 's2=v2'],
      'content-type': 'text/a',
      'user-agent': 'ua1',
      authorization: 'Basic one',
      referer: 'http://r1/',
      'if-modified-since': 'Mon, 01 Jan 2024 00:00:00 GMT',
      accept: 'text/html, application/json',
      'accept-encoding': 'gzip',
      'x-mixed-case': 'MiXeD',
    })
    t.deepEqual(r.headerKeys, [
      'host',
      'cookie',
      'x-dup',
      'set-cookie',
      'content-type',
      'user-agent',
      'authorization',
      'referer',
      'if-modified-since',
      'accept',
      'accept-encoding',
      'x-mixed-case',
    ])
    t.true(r.headersProtoIsObject)
    t.deepEqual(r.headersDistinct, {
      host: ['first.example', 'second.example'],
      cookie: ['a=1', 'b=2'],
      'x-dup': ['1', '2', '3'],
      'set-cookie': ['s1=v1', 's2=v2'],
      'content-type': ['text/a', 'text/b'],
      'user-agent': ['ua1', 'ua2'],
      authorization: ['Basic one', 'Basic two'],
      referer: ['http://r1/', 'http://r2/'],
      'if-modified-since': ['Mon, 01 Jan 2024 00:00:00 GMT', 'Tue, 02 Jan 2024 00:00:00 GMT'],
      accept: ['text/html', 'application/json'],
      'accept-encoding': ['gzip'],
      'x-mixed-case': ['MiXeD'],
    })
    t.is(r.headersDistinctProto, null) // node: headersDistinct has a null prototype
    t.deepEqual(r.rawHeaders, [
      'Host', 'first.example',
      'host', 'second.example',
      'Cookie', 'a=1',
      'cookie', 'b=2',
      'X-Dup', '1',
      'x-dup', '2',
      'X-DUP', '3',
      'Set-Cookie', 's1=v1',
      'set-cookie', 's2=v2',
      'Content-Type', 'text/a',
      'Content-Type', 'text/b',
      'User-Agent', 'ua1',
      'User-Agent', 'ua2',
      'Authorization', 'Basic one',
      'Authorization', 'Basic two',
      'Referer', 'http://r1/',
      'Referer', 'http://r2/',
      'If-Modified-Since', 'Mon, 01 Jan 2024 00:00:00 GMT',
      'If-Modified-Since', 'Tue, 02 Jan 2024 00:00:00 GMT',
      'Accept', 'text/html',
      'Accept', 'application/json',
      'Accept-Encoding', 'gzip',
      'X-Mixed-Case', 'MiXeD',
    ])
  } finally {
    await close(server)
  }
})

test('every single-value header node drops duplicates of (first wins)', async (t) => {
  // the list from node's lib/_http_incoming.js matchKnownFields()
  const single = [
    'Age', 'Authorization', 'Content-Length', 'Content-Type', 'ETag', 'Expires', 'From', 'Host',
    'If-Modified-Since', 'If-Unmodified-Since', 'Last-Modified', 'Location', 'Max-Forwards',
    'Proxy-Authorization', 'Referer', 'Retry-After', 'Server', 'User-Agent',
  ]
  // Content-Length duplicates are a parse error (400), so it is checked separately below.
  const names = single.filter((n) => n !== 'Content-Length')
  let head = 'GET / HTTP/1.1\r\n'
  for (const n of names) head += `${n}: first-${n}\r\n${n}: second-${n}\r\n`
  head += '\r\n'
  const { port, result, server } = await captureOne((req) => ({ ...req.headers }))
  try {
    await rawRequest(port, head, { responses: 1 })
    const headers = await result
    const expected: Record<string, string> = {}
    for (const n of names) expected[n.toLowerCase()] = `first-${n}`
    t.deepEqual(headers, expected)
  } finally {
    await close(server)
  }
})

test('comma-joined vs special headers: unknown headers and e.g. Accept-Language, Cache-Control, Via join with ", "', async (t) => {
  const { port, result, server } = await captureOne((req) => ({ ...req.headers }))
  try {
    await rawRequest(
      port,
      'GET / HTTP/1.1\r\nHost: h\r\nAccept-Language: en\r\nAccept-Language: de\r\nCache-Control: no-cache\r\n' +
        'Cache-Control: no-store\r\nVia: 1.1 a\r\nVia: 1.1 b\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n' +
        'Cookie: a=1\r\nCookie: b=2\r\nCookie: c=3\r\n\r\n',
      { responses: 1 },
    )
    t.deepEqual(await result, {
      host: 'h',
      'accept-language': 'en, de',
      'cache-control': 'no-cache, no-store',
      via: '1.1 a, 1.1 b',
      'x-forwarded-for': '1.1.1.1, 2.2.2.2',
      cookie: 'a=1; b=2; c=3',
    })
  } finally {
    await close(server)
  }
})

test('header values: surrounding whitespace trimmed, empty value kept, bytes decoded as latin1', async (t) => {
  const { port, result, server } = await captureOne((req) => ({ headers: { ...req.headers }, raw: req.rawHeaders }))
  try {
    const bytes = Buffer.concat([
      Buffer.from('GET / HTTP/1.1\r\nHost: h\r\nX-Spaces:    v  w   \r\nX-Empty:\r\nX-Tab:\tt\t\r\nX-Utf8: caf', 'latin1'),
      Buffer.from([0xc3, 0xa9]),
      Buffer.from('\r\n\r\n', 'latin1'),
    ])
    await rawRequest(port, bytes, { responses: 1 })
    const r = await result
    t.deepEqual(r.headers, {
      host: 'h',
      'x-spaces': 'v  w',
      'x-empty': '',
      'x-tab': 't',
      'x-utf8': 'caf\u00c3\u00a9',
    })
    t.deepEqual(r.raw, ['Host', 'h', 'X-Spaces', 'v  w', 'X-Empty', '', 'X-Tab', 't', 'X-Utf8', 'caf\u00c3\u00a9'])
  } finally {
    await close(server)
  }
})

test('method, url, httpVersion (1.1)', async (t) => {
  const { port, result, server } = await captureOne((req) => ({
    method: req.method,
    url: req.url,
    httpVersion: req.httpVersion,
    major: req.httpVersionMajor,
    minor: req.httpVersionMinor,
  }))
  try {
    await rawRequest(port, 'PATCH /a/b%2Fc?q=1&r=%C3%A9#frag HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n', {
      responses: 1,
    })
    t.deepEqual(await result, {
      method: 'PATCH',
      url: '/a/b%2Fc?q=1&r=%C3%A9#frag',
      httpVersion: '1.1',
      major: 1,
      minor: 1,
    })
  } finally {
    await close(server)
  }
})

test('httpVersion 1.0 and absolute-form / asterisk-form urls are passed through', async (t) => {
  const seen: Array<[string | undefined, string | undefined, string, number, number]> = []
  const { server, port } = await startServer((req, res) => {
    seen.push([req.method, req.url, req.httpVersion, req.httpVersionMajor, req.httpVersionMinor])
    res.end()
  })
  try {
    await rawRequest(port, 'GET /ten HTTP/1.0\r\n\r\n')
    await rawRequest(port, 'GET http://example.com/abs?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n', { responses: 1 })
    await rawRequest(port, 'OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n', { responses: 1 })
    t.deepEqual(seen, [
      ['GET', '/ten', '1.0', 1, 0],
      ['GET', 'http://example.com/abs?x=1', '1.1', 1, 1],
      ['OPTIONS', '*', '1.1', 1, 1],
    ])
  } finally {
    await close(server)
  }
})

test('all common methods are reported verbatim', async (t) => {
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PURGE', 'PROPFIND', 'SEARCH', 'QUERY']
  const seen: string[] = []
  const { server, port } = await startServer((req, res) => {
    seen.push(req.method ?? '')
    res.end()
  })
  const conn = new RawConnection(port)
  try {
    for (const m of methods) {
      await conn.write(`${m} / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n`)
      await conn.readResponses(1, [m])
    }
    t.deepEqual(seen, methods)
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('req.complete flips to true once the body has been fully received', async (t) => {
  const states: Array<[string, boolean]> = []
  let sawRequest!: () => void
  const requestSeen = new Promise<void>((resolve) => (sawRequest = resolve))
  const { server, port } = await startServer((req, res) => {
    states.push(['request', req.complete])
    sawRequest()
    req.on('data', () => {})
    req.on('end', () => {
      states.push(['end', req.complete])
      res.end('ok')
    })
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n')
    await requestSeen // the body is only sent once the handler has seen the request
    await conn.write('body')
    await conn.readResponses(1)
    t.deepEqual(states, [
      ['request', false],
      ['end', true],
    ])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('req.socket addresses and ports; req.connection aliases req.socket', async (t) => {
  const { port, result, server } = await captureOne((req) => ({
    remoteAddress: req.socket.remoteAddress,
    remotePort: req.socket.remotePort,
    remoteFamily: req.socket.remoteFamily,
    localAddress: req.socket.localAddress,
    localPort: req.socket.localPort,
    connectionIsSocket: req.connection === req.socket,
  }))
  const conn = new RawConnection(port)
  try {
    await conn.ready()
    await conn.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n')
    await conn.readResponses(1)
    t.deepEqual(await result, {
      remoteAddress: '127.0.0.1',
      remotePort: conn.socket.localPort,
      remoteFamily: 'IPv4',
      localAddress: '127.0.0.1',
      localPort: port,
      connectionIsSocket: true,
    })
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('req is an instance of node:http IncomingMessage (and of the module export), res of ServerResponse', async (t) => {
  const { port, result, server } = await captureOne((req, res) => ({
    reqNode: req instanceof nodeHttp.IncomingMessage,
    reqTarget: req instanceof http.IncomingMessage,
    resNode: res instanceof nodeHttp.ServerResponse,
    resTarget: res instanceof http.ServerResponse,
    reqReadable: typeof req.on === 'function' && typeof req.pipe === 'function' && typeof req.setEncoding === 'function',
    resReq: res.req === req,
  }))
  try {
    await rawRequest(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n', { responses: 1 })
    t.deepEqual(await result, {
      reqNode: true,
      reqTarget: true,
      resNode: true,
      resTarget: true,
      reqReadable: true,
      resReq: true,
    })
  } finally {
    await close(server)
  }
})

test('requests from node http.request arrive with node client header casing in rawHeaders', async (t) => {
  const { port, result, server } = await captureOne((req) => ({ raw: req.rawHeaders, headers: { ...req.headers } }))
  try {
    await new Promise<void>((resolve, reject) => {
      const r = nodeHttp.request(
        { host: '127.0.0.1', port, path: '/q', method: 'GET', agent: false, headers: { 'X-Custom': 'One', accept: 'a/b' } },
        (res) => {
          res.resume()
          res.on('end', resolve)
        },
      )
      r.on('error', reject)
      r.end()
    })
    const r = await result
    t.deepEqual(r.raw, ['X-Custom', 'One', 'accept', 'a/b', 'Host', `127.0.0.1:${port}`, 'Connection', 'close'])
    t.deepEqual(r.headers, { 'x-custom': 'One', accept: 'a/b', host: `127.0.0.1:${port}`, connection: 'close' })
  } finally {
    await close(server)
  }
})

test('a request answered through a normalised raw exchange (sanity of the helpers)', async (t) => {
  const { server, port } = await startServer((req, res) => res.end('x'))
  try {
    t.is(
      normalize(await rawRequest(port, 'GET / HTTP/1.1\r\nHost: h\r\n\r\n', { responses: 1 })),
      'HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 1\r\n\r\nx',
    )
  } finally {
    await close(server)
  }
})
