/**
 * 'clientError': the parser error shape (code, reason, message, rawPacket, bytesParsed) for
 * malformed input, node's canned replies when nobody listens (400 / 408 / 413 / 431 with
 * Connection: close), a listener writing its own reply, and connection resets.
 * Expected values are node's (FERRO_TEST_TARGET=node proves them).
 */
import test from 'ava'
import * as net from 'node:net'
import type { IncomingMessage, ServerResponse, ServerOptions } from 'node:http'
import { startServer, close, rawExchange, RawConnection, normalize, sleep } from './helpers/target'
import { deferred, within } from './helpers/lifecycle'

const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'
const REQUEST_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n'
const PAYLOAD_TOO_LARGE = 'HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n'
const HEADER_OVERFLOW = 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n'

interface SeenError {
  isError: boolean
  code: string | undefined
  reason: string | undefined
  message: string
  bytesParsed: number | undefined
  rawPacket: string | undefined
  rawPacketIsBuffer: boolean
  socketIsNetSocket: boolean
}

function describeError(err: Error & { code?: string; reason?: string; bytesParsed?: number; rawPacket?: Buffer }, socket: unknown): SeenError {
  return {
    isError: err instanceof Error,
    code: err.code,
    reason: err.reason,
    message: err.message,
    bytesParsed: err.bytesParsed,
    rawPacket: err.rawPacket === undefined ? undefined : Buffer.from(err.rawPacket).toString('latin1'),
    rawPacketIsBuffer: Buffer.isBuffer(err.rawPacket),
    socketIsNetSocket: socket instanceof net.Socket,
  }
}

const consumeAndAnswer = (req: IncomingMessage, res: ServerResponse) => {
  req.on('error', () => {})
  req.resume()
  req.on('end', () => res.end('ok'))
}

/**
 * A server whose clientError listener records the error and destroys the socket.
 * `next()` resolves the first error not yet returned by an earlier `next()`.
 */
async function withRecordingServer(
  fn: (port: number, errors: SeenError[], next: () => Promise<SeenError>) => Promise<void>,
  options: ServerOptions = {},
): Promise<void> {
  const { server, port } = await startServer(consumeAndAnswer, options)
  const errors: SeenError[] = []
  let taken = 0
  let wake: (() => void) | null = null
  server.on('clientError', (err: Error, socket: net.Socket) => {
    errors.push(describeError(err, socket))
    socket.destroy()
    wake?.()
  })
  const next = async (): Promise<SeenError> => {
    const deadline = Date.now() + 10000
    while (errors.length <= taken) {
      if (Date.now() > deadline) throw new Error("timed out waiting for 'clientError'")
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200)
        wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
    return errors[taken++]
  }
  try {
    await fn(port, errors, next)
  } finally {
    await close(server)
  }
}

/** A chunked POST's head (56 bytes): the body cases below follow it. */
const CHUNKED = 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'

// [name, bytes (sent in one write), code, reason, node's bytesParsed]
const cases: Array<[string, string, string, string, number]> = [
  ['unknown method', 'FOO / HTTP/1.1\r\nHost: x\r\n\r\n', 'HPE_INVALID_METHOD', 'Invalid method encountered', 1],
  ['header line without a colon', 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN', 'Invalid header token', 28],
  ['unsupported HTTP version', 'GET / HTTP/9.9\r\nHost: x\r\n\r\n', 'HPE_INVALID_VERSION', 'Invalid HTTP version', 14],
  ['bare LF after the request line', 'GET / HTTP/1.1\nHost: x\n\n', 'HPE_INVALID_VERSION', 'Expected CRLF after version', 15],
  ['not HTTP/ after the target', 'GET / XTTP/1.1\r\n\r\n', 'HPE_INVALID_CONSTANT', 'Expected HTTP/, RTSP/ or ICE/', 6],
  ['control character in the target', 'GET /\u0001 HTTP/1.1\r\nHost: x\r\n\r\n', 'HPE_INVALID_URL', 'Invalid char in url path', 5],
  ['control character in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\u0001b\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN', 'Invalid header value char', 29],
  ['obsolete line folding', 'GET / HTTP/1.1\r\nHost: a\r\n Folded: x\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN', 'Unexpected whitespace after header value', 25],
  ['non-numeric Content-Length', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH', 'Invalid character in Content-Length', 41],
  ['duplicate Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc', 'HPE_UNEXPECTED_CONTENT_LENGTH', 'Duplicate Content-Length', 61],
  [
    'Transfer-Encoding then Content-Length',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
    'HPE_INVALID_CONTENT_LENGTH',
    "Content-Length can't be present with Transfer-Encoding",
    69,
  ],
  [
    'Transfer-Encoding where chunked is not last',
    'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n',
    'HPE_INVALID_TRANSFER_ENCODING',
    'Invalid `Transfer-Encoding` header value',
    53,
  ],
  ['invalid chunk size', 'POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE', 'Invalid character in chunk size', 57],
  ['chunk data not followed by CRLF', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n', 'HPE_STRICT', 'Expected LF after chunk data', 62],
  // llhttp's method trie stops at the first byte no method continues with (F: FLUSH).
  ['method cut short by a non-method byte', 'PROPFIX / HTTP/1.1\r\nHost: x\r\n\r\n', 'HPE_INVALID_METHOD', 'Invalid method encountered', 6],
  ['method not followed by a space', 'GETX / HTTP/1.1\r\nHost: x\r\n\r\n', 'HPE_INVALID_METHOD', 'Expected space after method', 3],
  ['RTSP method with HTTP/', 'DESCRIBE / HTTP/1.1\r\nHost: x\r\n\r\n', 'HPE_INVALID_CONSTANT', 'Invalid method for HTTP/x.x request', 15],
  ['ICE/ without SOURCE', 'GET / ICE/1.0\r\nHost: x\r\n\r\n', 'HPE_INVALID_CONSTANT', 'Expected SOURCE method for ICE/x.x request', 9],
  ['protocol name cut short', 'GET / HTTX/1.1\r\n\r\n', 'HPE_INVALID_CONSTANT', 'Expected HTTP/, RTSP/ or ICE/', 9],
  ['version without a dot', 'GET / HTTP/1\r\nHost: x\r\n\r\n', 'HPE_INVALID_VERSION', 'Expected dot', 12],
  ['version with a letter for major', 'GET / HTTP/x.1\r\nHost: x\r\n\r\n', 'HPE_INVALID_VERSION', 'Invalid major version', 11],
  ['version with a letter for minor', 'GET / HTTP/1.x\r\nHost: x\r\n\r\n', 'HPE_INVALID_VERSION', 'Invalid minor version', 13],
  ['version followed by more digits', 'GET / HTTP/1.11\r\nHost: x\r\n\r\n', 'HPE_INVALID_VERSION', 'Expected CRLF after version', 14],
  ['CR after the version without LF', 'GET / HTTP/1.1\rX\nHost: x\r\n\r\n', 'HPE_STRICT', 'Expected CRLF after version', 15],
  ['target with a tab', 'GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n', 'HPE_INVALID_URL', 'Invalid characters in url', 7],
  ['target that is neither a path nor a URL', 'GET foo HTTP/1.1\r\nHost: x\r\n\r\n', 'HPE_INVALID_URL', 'Invalid characters in url', 8],
  ['URL scheme with a digit', 'GET h2://x/ HTTP/1.1\r\nHost: x\r\n\r\n', 'HPE_INVALID_URL', 'Unexpected char in url schema', 5],
  ['URL with two @', 'GET http://u@@h/ HTTP/1.1\r\nHost: x\r\n\r\n', 'HPE_INVALID_URL', 'Double @ in url', 14],
  ['non-ASCII byte in the target', 'GET /\u00ff HTTP/1.1\r\nHost: x\r\n\r\n', 'HPE_INVALID_URL', 'Invalid char in url path', 5],
  ['space before the colon of a known header', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 0\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN', 'Invalid header field char', 40],
  ['header line starting with a colon', 'GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN', 'Invalid header token', 25],
  ['CR inside a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n', 'HPE_LF_EXPECTED', 'Missing expected LF after header value', 30],
  ['space at the start of the first header line', 'GET / HTTP/1.1\r\n Host: x\r\n\r\n', 'HPE_UNEXPECTED_SPACE', 'Unexpected space after start line', 17],
  ['CR without LF ending the head', 'GET / HTTP/1.1\r\nHost: x\r\n\rX', 'HPE_STRICT', 'Expected LF after headers', 26],
  ['empty Content-Length', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH', 'Empty Content-Length', 43],
  ['Content-Length with two numbers', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH', 'Invalid character in Content-Length', 43],
  ['Content-Length beyond 64 bits', 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH', 'Content-Length overflow', 61],
  ['Content-Length then Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', 'HPE_INVALID_TRANSFER_ENCODING', "Transfer-Encoding can't be present with Content-Length", 63],
  ['a second Transfer-Encoding after chunked', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n', 'HPE_INVALID_TRANSFER_ENCODING', 'Invalid `Transfer-Encoding` header value', 74],
  ['space after the chunk size', `${CHUNKED}3 \r\nabc\r\n0\r\n\r\n`, 'HPE_INVALID_CHUNK_SIZE', 'Invalid character in chunk size', 58],
  ['bare LF after the chunk size', `${CHUNKED}3\nabc\r\n0\r\n\r\n`, 'HPE_CR_EXPECTED', 'Missing expected CR after chunk size', 58],
  ['chunk size beyond 64 bits', `${CHUNKED}fffffffffffffffff\r\n`, 'HPE_INVALID_CHUNK_SIZE', 'Chunk size overflow', 73],
  ['bare LF after chunk data', `${CHUNKED}3\r\nabc\n0\r\n\r\n`, 'HPE_CR_EXPECTED', 'Missing expected CR after chunk data', 63],
  ['space inside a chunk extension name', `${CHUNKED}3;a b\r\nabc\r\n0\r\n\r\n`, 'HPE_STRICT', 'Invalid character in chunk extensions name', 60],
  ['trailer line without a colon', `${CHUNKED}3\r\nabc\r\n0\r\nX y\r\n\r\n`, 'HPE_INVALID_HEADER_TOKEN', 'Invalid header token', 68],
  ['trailer name ended by a bare LF', `${CHUNKED}3\r\nabc\r\n0\r\nT: v\r\na\n`, 'HPE_INVALID_HEADER_TOKEN', 'Invalid header token', 74],
  ['bare LF ending the trailers', `${CHUNKED}3\r\nabc\r\n0\r\n\n`, 'HPE_INVALID_HEADER_TOKEN', 'Invalid header field char', 68],
  ['data after a Connection: close request', 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGARBAGE', 'HPE_CLOSED_CONNECTION', 'Data after `Connection: close`', 47],
  ['data after the body of a Connection: close request', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nabGET / HTTP/1.1\r\n\r\n', 'HPE_CLOSED_CONNECTION', 'Data after `Connection: close`', 69],
  ['data after the body of an HTTP/1.0 request', 'POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nabX', 'HPE_CLOSED_CONNECTION', 'Data after `Connection: close`', 41],
  ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'HPE_PAUSED_H2_UPGRADE', 'Pause on PRI/Upgrade', 24],
]

for (const [name, bytes, code, reason] of cases) {
  test(`clientError (${name}): ${code}, reason, message, rawPacket = the bytes sent`, async (t) => {
    await withRecordingServer(async (port, errors, next) => {
      const r = await rawExchange(port, bytes)
      t.true(r.closedByServer)
      t.is(r.data, '') // the listener destroyed the socket without answering
      const seen = await next()
      t.is(errors.length, 1)
      t.deepEqual(
        { ...seen, bytesParsed: typeof seen.bytesParsed },
        {
          isError: true,
          code,
          reason,
          message: `Parse Error: ${reason}`,
          bytesParsed: 'number',
          rawPacket: bytes,
          rawPacketIsBuffer: true,
          socketIsNetSocket: true,
        },
      )
    })
  })
}

test("clientError: err.bytesParsed is node's (offset of the error in the packet)", async (t) => {
  await withRecordingServer(async (port, _errors, next) => {
    const got: Array<[string, number | undefined]> = []
    for (const [name, bytes] of cases) {
      await rawExchange(port, bytes)
      got.push([name, (await next()).bytesParsed])
    }
    t.deepEqual(
      got,
      cases.map(([name, , , , bytesParsed]) => [name, bytesParsed]),
    )
  })
})

test('clientError: header overflow is HPE_HEADER_OVERFLOW with the packet as rawPacket', async (t) => {
  await withRecordingServer(
    async (port, _errors, next) => {
      const bytes = `GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(2000)}\r\n\r\n`
      await rawExchange(port, bytes)
      const seen = await next()
      t.is(seen.code, 'HPE_HEADER_OVERFLOW')
      t.is(seen.reason, 'Header overflow')
      t.is(seen.message, 'Parse Error: Header overflow')
      t.is(seen.rawPacket, bytes)
      // Node stops after the CR ending the value that reached the limit.
      t.is(seen.bytesParsed, bytes.indexOf('\r\n\r\n') + 1)
    },
    { maxHeaderSize: 1024 },
  )
})

// Node counts the target, names and values, and stops at the end of the one reaching the limit
// (16 KiB by default); heads this big arrive in one packet, as in one 64 KiB read of Node's.
const overflowing: Array<[string, string, number]> = [
  ['a long value', `GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(17000)}\r\n\r\n`, 17033],
  ['a long value with trailing spaces', `GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(17000)}   \r\n\r\n`, 17036],
  ['a long target', `GET /${'a'.repeat(17000)} HTTP/1.1\r\n\r\n`, 17005],
  ['a long header name', `GET / HTTP/1.1\r\nHost: x\r\n${'X'.repeat(17000)}: v\r\n\r\n`, 17026],
]

for (const [name, bytes, bytesParsed] of overflowing) {
  test(`clientError: header overflow by ${name}: node's bytesParsed and the whole packet`, async (t) => {
    await withRecordingServer(async (port, _errors, next) => {
      await rawExchange(port, bytes)
      const seen = await next()
      t.is(seen.code, 'HPE_HEADER_OVERFLOW')
      t.is(seen.bytesParsed, bytesParsed)
      t.is(seen.rawPacket, bytes)
    })
  })
}

test('clientError: rawPacket is only the packet in which the error was found (earlier packets are not repeated)', async (t) => {
  await withRecordingServer(async (port, _errors, next) => {
    const conn = new RawConnection(port)
    try {
      await conn.write('GET / HTTP/1.1\r\nHost: x\r\n')
      await sleep(100)
      await conn.write('Bad Header\r\n\r\n')
      const seen = await next()
      t.is(seen.code, 'HPE_INVALID_HEADER_TOKEN')
      t.is(seen.rawPacket, 'Bad Header\r\n\r\n')
      t.is(seen.bytesParsed, 3)
    } finally {
      conn.destroy()
    }
  })
})

test('clientError: an error in a later request on a keep-alive connection carries only that packet', async (t) => {
  await withRecordingServer(async (port, _errors, next) => {
    const conn = new RawConnection(port)
    try {
      await conn.write('GET /ok HTTP/1.1\r\nHost: x\r\n\r\n')
      t.is((await conn.readResponses(1)).length, 1)
      await conn.write('GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n')
      const seen = await next()
      t.is(seen.code, 'HPE_INVALID_HEADER_TOKEN')
      t.is(seen.rawPacket, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n')
      t.is(seen.bytesParsed, 28)
    } finally {
      conn.destroy()
    }
  })
})

test('clientError: the client ends in the middle of a head -> HPE_INVALID_EOF_STATE, message "Parse Error", no rawPacket', async (t) => {
  await withRecordingServer(async (port, _errors, next) => {
    const conn = new RawConnection(port)
    try {
      await conn.write('GET / HTTP/1.1\r\nHo')
      await sleep(50)
      conn.socket.end()
      const seen = await next()
      t.deepEqual(seen, {
        isError: true,
        code: 'HPE_INVALID_EOF_STATE',
        reason: 'Invalid EOF state',
        message: 'Parse Error',
        bytesParsed: 0,
        rawPacket: undefined,
        rawPacketIsBuffer: false,
        socketIsNetSocket: true,
      })
    } finally {
      conn.destroy()
    }
  })
})

test("clientError: a connection reset by the client reaches 'clientError' as ECONNRESET (syscall read), socket already destroyed", async (t) => {
  const { server, port } = await startServer(consumeAndAnswer)
  const got = deferred<Record<string, unknown>>()
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    got.resolve({ code: err.code, syscall: err.syscall, message: err.message, destroyed: socket.destroyed, writable: socket.writable })
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('GET / HTTP/1.1\r\nHo')
    await sleep(50)
    conn.socket.resetAndDestroy()
    t.deepEqual(await within(got.promise, "'clientError'"), {
      code: 'ECONNRESET',
      syscall: 'read',
      message: 'read ECONNRESET',
      destroyed: true,
      writable: false,
    })
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("clientError listener: the socket is the 'connection' socket", async (t) => {
  const { server, port } = await startServer(consumeAndAnswer)
  let connSocket: unknown = null
  server.on('connection', (s: net.Socket) => (connSocket = s))
  const got = deferred<unknown>()
  server.on('clientError', (_err: Error, socket: net.Socket) => {
    got.resolve(socket)
    socket.destroy()
  })
  try {
    await rawExchange(port, 'FOO / HTTP/1.1\r\n\r\n')
    const s = await within(got.promise, "'clientError'")
    t.not(connSocket, null)
    t.true(s === connSocket)
  } finally {
    await close(server)
  }
})

// ---------------------------------------------------------------------------------------------
// No listener: node's canned replies
// ---------------------------------------------------------------------------------------------

test('no clientError listener: malformed requests get exactly 400 + Connection: close, then close', async (t) => {
  const { server, port } = await startServer(consumeAndAnswer)
  try {
    for (const [, bytes] of cases) {
      const r = await rawExchange(port, bytes)
      t.true(r.closedByServer)
      t.is(r.data, BAD_REQUEST, JSON.stringify(bytes))
    }
  } finally {
    await close(server)
  }
})

test('no clientError listener: a head over maxHeaderSize gets exactly 431', async (t) => {
  const { server, port } = await startServer(consumeAndAnswer, { maxHeaderSize: 1024 })
  try {
    const r = await rawExchange(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(2000)}\r\n\r\n`)
    t.true(r.closedByServer)
    t.is(r.data, HEADER_OVERFLOW)
  } finally {
    await close(server)
  }
})

test('no clientError listener: chunk extensions over 16 KiB get exactly 413; the handler sees the request fail', async (t) => {
  const reqEvents: string[] = []
  const reqClosed = deferred()
  const { server, port } = await startServer((req, res) => {
    reqEvents.push(`request ${req.url}`)
    req.on('error', (e: NodeJS.ErrnoException) => reqEvents.push(`error ${e.code}`))
    req.on('close', () => reqClosed.resolve())
    req.resume()
    req.on('end', () => res.end('should not be sent'))
  })
  try {
    const r = await rawExchange(
      port,
      `POST /ext HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a=${'b'.repeat(17000)}\r\nx\r\n0\r\n\r\n`,
    )
    t.true(r.closedByServer)
    t.is(r.data, PAYLOAD_TOO_LARGE)
    await within(reqClosed.promise, 'req close')
    t.deepEqual(reqEvents, ['request /ext', 'error ECONNRESET'])
  } finally {
    await close(server)
  }
})

test('chunk extensions just under 16 KiB are fine', async (t) => {
  const { server, port } = await startServer((req, res) => {
    let body = ''
    req.setEncoding('latin1')
    req.on('data', (d: string) => (body += d))
    req.on('end', () => res.end(`body ${body}`))
  })
  try {
    const r = await rawExchange(
      port,
      `POST /ext HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a=${'b'.repeat(15000)}\r\nx\r\n0\r\n\r\n`,
      { responses: 1 },
    )
    t.is(normalize(r.data), 'HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 6\r\n\r\nbody x')
  } finally {
    await close(server)
  }
})

test('no clientError listener: a request timeout gets exactly 408', async (t) => {
  const { server, port } = await startServer(consumeAndAnswer, {
    headersTimeout: 300,
    requestTimeout: 600,
    connectionsCheckingInterval: 50,
  } as ServerOptions)
  try {
    const r = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n')
    t.true(r.closedByServer)
    t.is(r.data, REQUEST_TIMEOUT)
  } finally {
    await close(server)
  }
})

test('no clientError listener: after the response headers were sent, a body error closes without a 400', async (t) => {
  const { server, port } = await startServer((req, res) => {
    req.on('error', () => {})
    res.writeHead(200, { 'Content-Type': 'text/plain' })
    res.write('started')
  })
  try {
    const conn = new RawConnection(port)
    try {
      await conn.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n')
      await conn.waitUntil((d) => d.endsWith('7\r\nstarted\r\n'))
      await conn.write('zz\r\n')
      await conn.waitClose()
      t.is(normalize(conn.data), 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: <DATE>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nstarted\r\n')
    } finally {
      conn.destroy()
    }
  } finally {
    await close(server)
  }
})

// ---------------------------------------------------------------------------------------------
// A listener answering itself
// ---------------------------------------------------------------------------------------------

test('clientError listener: socket.end(reply) sends exactly the reply, then the connection closes', async (t) => {
  const { server, port } = await startServer(consumeAndAnswer)
  server.on('clientError', (_err: Error, socket: net.Socket) => {
    socket.end('HTTP/1.1 400 Custom\r\nContent-Length: 6\r\nConnection: close\r\n\r\ncustom')
  })
  try {
    const r = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n')
    t.true(r.closedByServer)
    t.is(r.data, 'HTTP/1.1 400 Custom\r\nContent-Length: 6\r\nConnection: close\r\n\r\ncustom')
  } finally {
    await close(server)
  }
})

test('clientError listener: socket.write(reply) then socket.destroy() still delivers the reply', async (t) => {
  const { server, port } = await startServer(consumeAndAnswer)
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    socket.write(`HTTP/1.1 418 Nope\r\nX-Code: ${err.code}\r\nContent-Length: 0\r\n\r\n`)
    socket.destroy()
  })
  try {
    const r = await rawExchange(port, 'FOO / HTTP/1.1\r\n\r\n')
    t.true(r.closedByServer)
    t.is(r.data, 'HTTP/1.1 418 Nope\r\nX-Code: HPE_INVALID_METHOD\r\nContent-Length: 0\r\n\r\n')
  } finally {
    await close(server)
  }
})

test('clientError listener that leaves the socket open: each later packet is the same error again, and the client ending ends the connection', async (t) => {
  const { server, port } = await startServer(consumeAndAnswer)
  const seen: Array<[string | undefined, string]> = []
  let got = deferred()
  server.on('clientError', (err: Error & { code?: string; rawPacket?: Buffer }) => {
    seen.push([err.code, Buffer.from(err.rawPacket ?? []).toString('latin1')])
    got.resolve()
  })
  const conn = new RawConnection(port)
  try {
    await conn.ready()
    await conn.write('GET / HTTP/1.1\r\nDummy: Header\rContent-Length: 1\r\n\r\n')
    await within(got.promise, 'the first clientError')
    got = deferred()
    await conn.write('more')
    await within(got.promise, 'the second clientError')
    conn.socket.end()
    await conn.waitClose()
    t.deepEqual(seen, [
      ['HPE_LF_EXPECTED', 'GET / HTTP/1.1\r\nDummy: Header\rContent-Length: 1\r\n\r\n'],
      ['HPE_LF_EXPECTED', 'more'],
    ])
    t.is(conn.data, '')
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('clientError listener answering a header overflow and a chunk-extension overflow itself', async (t) => {
  const { server, port } = await startServer(consumeAndAnswer, { maxHeaderSize: 1024 })
  const codes: string[] = []
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    codes.push(err.code ?? '')
    if (socket.writable) socket.end(`HTTP/1.1 400 Bad\r\nX-Code: ${err.code}\r\n\r\n`)
    else socket.destroy()
  })
  try {
    const a = await rawExchange(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(2000)}\r\n\r\n`)
    t.is(a.data, 'HTTP/1.1 400 Bad\r\nX-Code: HPE_HEADER_OVERFLOW\r\n\r\n')
    const b = await rawExchange(port, `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a=${'b'.repeat(17000)}\r\nx\r\n0\r\n\r\n`)
    t.is(b.data, 'HTTP/1.1 400 Bad\r\nX-Code: HPE_CHUNK_EXTENSIONS_OVERFLOW\r\n\r\n')
    t.deepEqual(codes, ['HPE_HEADER_OVERFLOW', 'HPE_CHUNK_EXTENSIONS_OVERFLOW'])
  } finally {
    await close(server)
  }
})

test('other connections keep being served while one gets a clientError', async (t) => {
  const { server, port } = await startServer(consumeAndAnswer)
  server.on('clientError', (_err: Error, socket: net.Socket) => socket.destroy())
  const good = new RawConnection(port)
  try {
    await good.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    t.is((await good.readResponses(1)).length, 1)
    await rawExchange(port, 'FOO / HTTP/1.1\r\n\r\n')
    await good.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    t.deepEqual((await good.readResponses(1)).map(normalize), [
      'HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok',
    ])
  } finally {
    good.destroy()
    await close(server)
  }
})

test('data after the body of a Connection: close request is the error even once the response was sent: nothing after it is a request', async (t) => {
  const requests: string[] = []
  const { server, port } = await startServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.method} ${req.url}`)
    res.end('x')
  })
  const errors: string[] = []
  const gotError = new Promise<void>((resolve) =>
    server.on('clientError', (err: Error & { code?: string }, socket: net.Socket) => {
      errors.push(String(err.code))
      socket.destroy()
      resolve()
    }),
  )
  const r = await rawExchange(port, 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nabGET /b HTTP/1.1\r\nHost: x\r\n\r\n')
  await gotError
  t.true(r.data.startsWith('HTTP/1.1 200 OK\r\n'))
  t.deepEqual(requests, ['POST /a'])
  t.deepEqual(errors, ['HPE_CLOSED_CONNECTION'])
  await close(server)
})

/**
 * A request cut short by the client's FIN, answered at once by the handler. Node finds the
 * error in socketOnEnd (parser.finish() at the socket's 'end'): with `Connection: close` the
 * response's destroySoon() closes the socket before the FIN is read (libuv completes the
 * shutdown first), so there is neither 'end' nor 'clientError'; on a keep-alive connection
 * 'clientError' comes from the server's 'end' listener, before the application's.
 */
async function cutShortAtFin(bytes: string): Promise<string[]> {
  const log: string[] = []
  const closed = deferred()
  const { server, port } = await startServer((req, res) => {
    log.push(`request ${req.url}`)
    res.end('x')
  })
  server.on('connection', (socket: net.Socket) => {
    socket.on('end', () => log.push('socket end'))
    socket.on('close', () => {
      log.push('socket close')
      closed.resolve()
    })
  })
  server.on('clientError', (err: Error & { code?: string; bytesParsed?: number }, socket: net.Socket) => {
    log.push(`clientError ${err.code} bytesParsed=${err.bytesParsed} destroyed=${socket.destroyed}`)
    socket.destroy()
  })
  try {
    const conn = new RawConnection(port)
    await conn.ready()
    conn.socket.end(Buffer.from(bytes, 'latin1'))
    await conn.waitClose(10000)
    await within(closed.promise, "the server's socket 'close'")
    return log
  } finally {
    await close(server)
  }
}

test("a Connection: close request cut short at the FIN and answered at once: no 'end', no 'clientError'", async (t) => {
  t.deepEqual(await cutShortAtFin('POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nab'), ['request /a', 'socket close'])
  t.deepEqual(await cutShortAtFin(`POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r`), [
    'request /b',
    'socket close',
  ])
})

test("a keep-alive request cut short at the FIN: 'clientError' (HPE_INVALID_EOF_STATE, bytesParsed 0) from the socket's 'end', before the application's 'end' listener", async (t) => {
  const expected = (url: string) => [`request ${url}`, 'clientError HPE_INVALID_EOF_STATE bytesParsed=0 destroyed=false', 'socket end', 'socket close']
  t.deepEqual(await cutShortAtFin('POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab'), expected('/c'))
  // A pipelined head cut short: parser.finish() parses no bytes whatever the packet held.
  t.deepEqual(await cutShortAtFin('GET /d HTTP/1.1\r\nHost: x\r\n\r\nGET /e HT'), expected('/d'))
})

test("a request with a Transfer-Encoding other than chunked: 'request', then the error (400); the request is aborted, never ended", async (t) => {
  const log: string[] = []
  const closed = deferred()
  const { server, port } = await startServer((req) => {
    log.push('request')
    req.on('data', () => log.push('data'))
    req.on('end', () => log.push('end'))
    req.on('aborted', () => log.push('aborted'))
    req.on('close', () => {
      log.push('req close')
      closed.resolve()
    })
  })
  try {
    const r = await rawExchange(port, 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunkedchunked\r\n\r\n1\r\nA\r\n0\r\n\r\n')
    t.is(r.data, BAD_REQUEST)
    await within(closed.promise, "the request's 'close'")
    t.deepEqual(log, ['request', 'aborted', 'req close'])
  } finally {
    await close(server)
  }
})
