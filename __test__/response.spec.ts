/**
 * ServerResponse (the `res` object): status, header API, writeHead forms, write/end, state flags,
 * events, error codes. Wire bytes are compared exactly (Date normalised) against what node:http 20 sends.
 */
import test from 'ava'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { http, nodeHttp, startServer, close, rawExchange, normalize, END_CALLBACKS_BEFORE_FINISH } from './helpers/target'

/** Parts of ServerResponse that exist at runtime but are missing from @types/node 20. */
type Res = ServerResponse & { _header: string | null; getRawHeaderNames(): string[] }

type Handler = (req: IncomingMessage, res: Res, log: (v: unknown) => void) => void

/**
 * Serve exactly one raw request with `handler`; returns the normalised wire response and whatever the
 * handler logged. Errors thrown synchronously by the handler fail the test.
 */
async function serveOne(
  handler: Handler,
  request = 'GET / HTTP/1.1\r\nHost: h\r\n\r\n',
  opts: { untilClose?: boolean; methods?: string[] } = {},
): Promise<{ wire: string; log: unknown[]; closedByServer: boolean }> {
  const log: unknown[] = []
  let handlerError: unknown
  const { server, port } = await startServer((req, res) => {
    try {
      handler(req, res as Res, (v) => log.push(v))
    } catch (e) {
      handlerError = e
      if (!res.writableEnded) res.end()
    }
  })
  try {
    const r = await rawExchange(port, request, {
      responses: opts.untilClose ? undefined : 1,
      methods: opts.methods,
    })
    if (handlerError) throw handlerError
    return { wire: normalize(r.data), log, closedByServer: r.closedByServer }
  } finally {
    await close(server)
  }
}

const KA = 'Date: <DATE>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n'

test('initial state of a response', async (t) => {
  const { wire, log } = await serveOne((req, res, log) => {
    log({
      statusCode: res.statusCode,
      statusMessage: res.statusMessage,
      headersSent: res.headersSent,
      header: res._header,
      writableEnded: res.writableEnded,
      writableFinished: res.writableFinished,
      finished: res.finished,
      headers: { ...res.getHeaders() },
      headersProto: Object.getPrototypeOf(res.getHeaders()),
      names: res.getHeaderNames(),
      rawNames: res.getRawHeaderNames(),
      sendDate: res.sendDate,
      chunkedEncoding: res.chunkedEncoding,
      shouldKeepAlive: res.shouldKeepAlive,
      req: res.req === req,
      socket: res.socket === req.socket,
    })
    res.end()
  })
  t.deepEqual(log, [
    {
      statusCode: 200,
      statusMessage: undefined,
      headersSent: false,
      header: null,
      writableEnded: false,
      writableFinished: false,
      finished: false,
      headers: {},
      headersProto: null,
      names: [],
      rawNames: [],
      sendDate: true,
      chunkedEncoding: false,
      shouldKeepAlive: true,
      req: true,
      socket: true,
    },
  ])
  t.is(wire, `HTTP/1.1 200 OK\r\n${KA}Content-Length: 0\r\n\r\n`)
})

test('setHeader / getHeader / getHeaders / getHeaderNames / getRawHeaderNames / hasHeader / removeHeader / appendHeader', async (t) => {
  const { wire, log } = await serveOne((req, res, log) => {
    const ret = res.setHeader('X-Foo', 'bar')
    log(ret === res)
    res.setHeader('Set-Cookie', ['a=1', 'b=2'])
    res.appendHeader('X-Foo', 'baz')
    res.appendHeader('x-new', '1')
    res.appendHeader('Set-Cookie', 'c=3')
    res.setHeader('X-Num', 5)
    res.setHeader('Content-Type', 'text/plain')
    log({
      headers: { ...res.getHeaders() },
      proto: Object.getPrototypeOf(res.getHeaders()),
      names: res.getHeaderNames(),
      rawNames: res.getRawHeaderNames(),
      foo: res.getHeader('x-FOO'),
      num: res.getHeader('x-num'),
      missing: res.getHeader('x-missing'),
      has: [res.hasHeader('X-FOO'), res.hasHeader('x-new'), res.hasHeader('nope')],
    })
    res.removeHeader('X-NEW')
    res.removeHeader('not-there')
    log({ has: res.hasHeader('x-new'), names: res.getHeaderNames() })
    res.end('hi')
  })
  t.deepEqual(log, [
    true,
    {
      headers: {
        'x-foo': ['bar', 'baz'],
        'set-cookie': ['a=1', 'b=2', 'c=3'],
        'x-new': '1',
        'x-num': 5,
        'content-type': 'text/plain',
      },
      proto: null,
      names: ['x-foo', 'set-cookie', 'x-new', 'x-num', 'content-type'],
      rawNames: ['X-Foo', 'Set-Cookie', 'x-new', 'X-Num', 'Content-Type'],
      foo: ['bar', 'baz'],
      num: 5,
      missing: undefined,
      has: [true, true, false],
    },
    { has: false, names: ['x-foo', 'set-cookie', 'x-num', 'content-type'] },
  ])
  t.is(
    wire,
    'HTTP/1.1 200 OK\r\nX-Foo: bar\r\nX-Foo: baz\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nSet-Cookie: c=3\r\n' +
      `X-Num: 5\r\nContent-Type: text/plain\r\n${KA}Content-Length: 2\r\n\r\nhi`,
  )
})

test('setHeader twice replaces (last wins, last casing)', async (t) => {
  const { wire } = await serveOne((req, res) => {
    res.setHeader('x-thing', '1')
    res.setHeader('X-Thing', '2')
    res.end()
  })
  t.is(wire, `HTTP/1.1 200 OK\r\nX-Thing: 2\r\n${KA}Content-Length: 0\r\n\r\n`)
})

test('statusCode and statusMessage properties', async (t) => {
  const a = await serveOne((req, res) => {
    res.statusCode = 404
    res.statusMessage = 'Nope'
    res.end()
  })
  t.is(a.wire, `HTTP/1.1 404 Nope\r\n${KA}Content-Length: 0\r\n\r\n`)
  const b = await serveOne((req, res, log) => {
    res.statusCode = 500
    res.end()
    log(res.statusMessage)
  })
  t.is(b.wire, `HTTP/1.1 500 Internal Server Error\r\n${KA}Content-Length: 0\r\n\r\n`)
  t.deepEqual(b.log, ['Internal Server Error'])
})

test('writeHead(code) stores the header immediately, so a later end(data) is chunked', async (t) => {
  const { wire, log } = await serveOne((req, res, log) => {
    const ret = res.writeHead(200)
    log([ret === res, res.headersSent, res.statusMessage])
    res.end('ok')
  })
  t.deepEqual(log, [[true, true, 'OK']])
  t.is(wire, `HTTP/1.1 200 OK\r\n${KA}Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n`)
})

test('writeHead(code, message)', async (t) => {
  const { wire, log } = await serveOne((req, res, log) => {
    res.writeHead(200, 'Custom Msg')
    log(res.statusMessage)
    res.end()
  })
  t.deepEqual(log, ['Custom Msg'])
  t.is(wire, `HTTP/1.1 200 Custom Msg\r\n${KA}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`)
})

test('writeHead(code, message, headersObject)', async (t) => {
  const { wire } = await serveOne((req, res) => {
    res.writeHead(201, 'Yay', { 'X-A': '1', 'content-type': 'text/plain' })
    res.end('ok')
  })
  t.is(
    wire,
    `HTTP/1.1 201 Yay\r\nX-A: 1\r\ncontent-type: text/plain\r\n${KA}Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n`,
  )
})

test('writeHead(code, headersObject) with Content-Length is not chunked; header order kept', async (t) => {
  const { wire } = await serveOne((req, res) => {
    res.writeHead(200, { 'Content-Length': '2', 'X-Z': 'z', 'X-A': ['1', '2'] })
    res.end('ok')
  })
  t.is(wire, `HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Z: z\r\nX-A: 1\r\nX-A: 2\r\n${KA}\r\nok`)
})

test('writeHead headers object without prior setHeader is not visible through getHeader', async (t) => {
  const { wire, log } = await serveOne((req, res, log) => {
    res.writeHead(200, { 'X-A': '1' })
    log([res.getHeader('x-a'), { ...res.getHeaders() }, res.hasHeader('x-a')])
    res.end('ok')
  })
  t.deepEqual(log, [[undefined, {}, false]])
  t.is(wire, `HTTP/1.1 200 OK\r\nX-A: 1\r\n${KA}Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n`)
})

test('writeHead headers object merges over setHeader (writeHead wins, its casing is used)', async (t) => {
  const { wire, log } = await serveOne((req, res, log) => {
    res.setHeader('X-A', '1')
    res.setHeader('X-Keep', 'k')
    res.writeHead(200, { 'x-a': '2', 'X-B': '3' })
    log({ ...res.getHeaders() })
    res.end('ok')
  })
  t.deepEqual(log, [{ 'x-a': '2', 'x-keep': 'k', 'x-b': '3' }])
  t.is(
    wire,
    `HTTP/1.1 200 OK\r\nx-a: 2\r\nX-Keep: k\r\nX-B: 3\r\n${KA}Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n`,
  )
})

test('writeHead(code, flatArray) keeps duplicates and order', async (t) => {
  const { wire } = await serveOne((req, res) => {
    res.writeHead(200, ['X-A', '1', 'X-A', '2', 'Set-Cookie', 'a', 'Set-Cookie', 'b'])
    res.end('ok')
  })
  t.is(
    wire,
    'HTTP/1.1 200 OK\r\nX-A: 1\r\nX-A: 2\r\nSet-Cookie: a\r\nSet-Cookie: b\r\n' +
      `${KA}Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n`,
  )
})

test('unknown status code gets the reason "unknown"', async (t) => {
  const { wire } = await serveOne((req, res) => {
    res.writeHead(599)
    res.end()
  })
  t.is(wire, `HTTP/1.1 599 unknown\r\n${KA}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`)
})

test('write + end(data, encoding, cb): headersSent, _header, writableEnded/Finished, events order', async (t) => {
  const { wire, log } = await serveOne((req, res, log) => {
    res.on('finish', () => log(['finish', res.writableEnded, res.writableFinished]))
    res.on('close', () => log(['close']))
    res.setHeader('Content-Type', 'text/plain')
    log(['before', res.headersSent, res._header, res.writableEnded, res.writableFinished])
    const w = res.write('abc')
    log(['write', w, res.headersSent, res._header, res.writableEnded, res.writableFinished])
    const ret = res.end('6869', 'hex', () => log(['end cb', res.writableFinished]))
    log(['after end', ret === res, res.writableEnded])
  })
  const header =
    `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n${KA}Transfer-Encoding: chunked\r\n\r\n`
  // _header carries a real date; normalise it for comparison
  const normalised = log.map((e) =>
    Array.isArray(e) ? e.map((v: unknown) => (typeof v === 'string' ? normalize(v) : v)) : e,
  )
  t.deepEqual(normalised, [
    ['before', false, null, false, false],
    ['write', true, true, header, false, false],
    ['after end', true, true],
    ...(END_CALLBACKS_BEFORE_FINISH ? [['end cb', true], ['finish', true, true]] : [['finish', true, true], ['end cb', true]]),
    ['close'],
  ])
  t.is(wire, `${header}3\r\nabc\r\n2\r\nhi\r\n0\r\n\r\n`)
})

test('end(data) alone sends Content-Length; Buffer and latin1 bodies are byte-exact', async (t) => {
  const a = await serveOne((req, res) => res.end(Buffer.from([0x00, 0xff, 0x80, 0x41])))
  t.is(a.wire, `HTTP/1.1 200 OK\r\n${KA}Content-Length: 4\r\n\r\n\x00\xff\x80A`)
  const b = await serveOne((req, res) => res.end('héllo')) // utf8 by default: 6 bytes
  t.is(b.wire, `HTTP/1.1 200 OK\r\n${KA}Content-Length: 6\r\n\r\nh\xc3\xa9llo`)
  const c = await serveOne((req, res) => res.end('h\xe9', 'latin1'))
  t.is(c.wire, `HTTP/1.1 200 OK\r\n${KA}Content-Length: 2\r\n\r\nh\xe9`)
})

test('explicit Content-Length with write()+end() is not chunked', async (t) => {
  const { wire } = await serveOne((req, res) => {
    res.setHeader('Content-Length', '5')
    res.write('he')
    res.end('llo')
  })
  t.is(wire, `HTTP/1.1 200 OK\r\nContent-Length: 5\r\n${KA}\r\nhello`)
})

test('explicit Transfer-Encoding: chunked header', async (t) => {
  const { wire } = await serveOne((req, res) => {
    res.setHeader('Transfer-Encoding', 'chunked')
    res.end('x')
  })
  t.is(wire, `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n${KA}\r\n1\r\nx\r\n0\r\n\r\n`)
})

test('write("") then end() is chunked with only the last chunk', async (t) => {
  const { wire } = await serveOne((req, res) => {
    res.write('')
    res.end()
  })
  t.is(wire, `HTTP/1.1 200 OK\r\n${KA}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`)
})

test('flushHeaders() sends headers early; the body is then chunked', async (t) => {
  const { wire, log } = await serveOne((req, res, log) => {
    res.flushHeaders()
    log(res.headersSent)
    res.end('ok')
  })
  t.deepEqual(log, [true])
  t.is(wire, `HTTP/1.1 200 OK\r\n${KA}Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n`)
})

test('sendDate = false omits Date', async (t) => {
  const { wire } = await serveOne((req, res) => {
    res.sendDate = false
    res.end('ok')
  })
  t.is(wire, 'HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok')
})

test('setHeader("Connection", "close") closes the connection after the response', async (t) => {
  const { wire, closedByServer } = await serveOne(
    (req, res) => {
      res.setHeader('Connection', 'close')
      res.end('x')
    },
    undefined,
    { untilClose: true },
  )
  t.true(closedByServer)
  t.is(wire, 'HTTP/1.1 200 OK\r\nConnection: close\r\nDate: <DATE>\r\nContent-Length: 1\r\n\r\nx')
})

test('header API errors carry node error codes', async (t) => {
  const { log } = await serveOne((req, res, log) => {
    const grab = (f: () => void) => {
      try {
        f()
        log('no throw')
      } catch (e) {
        const err = e as Error & { code?: string }
        log([err.name, err.code, err.message])
      }
    }
    grab(() => res.writeHead(99))
    grab(() => res.setHeader('bad name', 'x'))
    grab(() => res.setHeader('x', 'a\nb'))
    grab(() => res.setHeader('x', undefined as unknown as string))
    grab(() => res.appendHeader('bad name', 'x'))
    res.end('x')
    grab(() => res.setHeader('y', '1'))
    grab(() => res.removeHeader('y'))
    grab(() => res.appendHeader('y', '1'))
  })
  t.deepEqual(log, [
    ['RangeError', 'ERR_HTTP_INVALID_STATUS_CODE', 'Invalid status code: 99'],
    ['TypeError', 'ERR_INVALID_HTTP_TOKEN', 'Header name must be a valid HTTP token ["bad name"]'],
    ['TypeError', 'ERR_INVALID_CHAR', 'Invalid character in header content ["x"]'],
    ['TypeError', 'ERR_HTTP_INVALID_HEADER_VALUE', 'Invalid value "undefined" for header "x"'],
    ['TypeError', 'ERR_INVALID_HTTP_TOKEN', 'Header name must be a valid HTTP token ["bad name"]'],
    ['Error', 'ERR_HTTP_HEADERS_SENT', 'Cannot set headers after they are sent to the client'],
    ['Error', 'ERR_HTTP_HEADERS_SENT', 'Cannot remove headers after they are sent to the client'],
    ['Error', 'ERR_HTTP_HEADERS_SENT', 'Cannot append headers after they are sent to the client'],
  ])
})

test('write after end reports ERR_STREAM_WRITE_AFTER_END to the callback, then the error event', async (t) => {
  let done!: () => void
  const finished = new Promise<void>((r) => (done = r))
  let seen = 0
  const { wire, log } = await serveOne((req, res, log) => {
    res.end('ok')
    res.on('error', (e: Error & { code?: string }) => {
      log(['error event', e.code])
      if (++seen === 2) done()
    })
    res.write('more', (e?: Error | null) => {
      log(['cb', (e as (Error & { code?: string }) | undefined)?.code])
      if (++seen === 2) done()
    })
  })
  await finished
  t.deepEqual(log, [
    ['cb', 'ERR_STREAM_WRITE_AFTER_END'],
    ['error event', 'ERR_STREAM_WRITE_AFTER_END'],
  ])
  t.is(wire, `HTTP/1.1 200 OK\r\n${KA}Content-Length: 2\r\n\r\nok`)
})

test('res is an instance of node:http ServerResponse and OutgoingMessage', async (t) => {
  const { log } = await serveOne((req, res, log) => {
    log([
      res instanceof nodeHttp.ServerResponse,
      res instanceof nodeHttp.OutgoingMessage,
      res instanceof http.ServerResponse,
      typeof res.pipe,
      typeof res.cork,
    ])
    res.end()
  })
  t.deepEqual(log, [[true, true, true, 'function', 'function']])
})

test('piping a readable into res', async (t) => {
  const { Readable } = await import('node:stream')
  const { wire } = await serveOne((req, res) => {
    Readable.from(['a', 'bb', 'ccc']).pipe(res)
  })
  t.is(wire, `HTTP/1.1 200 OK\r\n${KA}Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n2\r\nbb\r\n3\r\nccc\r\n0\r\n\r\n`)
})
