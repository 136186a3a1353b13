/**
 * Request bodies: Content-Length and chunked, tiny and 10 MiB, raw and through node's http client.
 * Byte-exactness is checked with sha256 of random data.
 */
import test from 'ava'
import { createHash, randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { nodeHttp, startServer, close, rawRequest, rawExchange, RawConnection, normalize, splitResponses } from './helpers/target'

const MiB = 1024 * 1024
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/** Handler: hash the body, answer `<length> <sha256>` plus trailers / encoding info as JSON. */
function hashingHandler(req: IncomingMessage, res: ServerResponse): void {
  const h = createHash('sha256')
  let len = 0
  let allBuffers = true
  req.on('data', (c: Buffer) => {
    if (!Buffer.isBuffer(c)) allBuffers = false
    len += c.length
    h.update(c)
  })
  req.on('end', () => {
    res.setHeader('Content-Type', 'application/json')
    res.end(
      JSON.stringify({
        len,
        sha: h.digest('hex'),
        allBuffers,
        complete: req.complete,
        te: req.headers['transfer-encoding'] ?? null,
        cl: req.headers['content-length'] ?? null,
        trailers: req.trailers,
        rawTrailers: req.rawTrailers,
      }),
    )
  })
}

interface HashReply {
  len: number
  sha: string
  allBuffers: boolean
  complete: boolean
  te: string | null
  cl: string | null
  trailers: Record<string, string>
  rawTrailers: string[]
}

function bodyOf(response: string): string {
  return response.slice(response.indexOf('\r\n\r\n') + 4)
}

/** Encode `body` as chunked, with varied chunk sizes, some upper-case hex and some chunk extensions. */
function chunkedEncode(body: Buffer, trailers = ''): Buffer {
  const sizes = [1, 7, 4096, 65536, 100_000, 3, 1_000_003]
  const parts: Buffer[] = []
  let pos = 0
  let i = 0
  while (pos < body.length) {
    const size = Math.min(sizes[i % sizes.length], body.length - pos)
    const hex = i % 3 === 0 ? size.toString(16).toUpperCase() : size.toString(16)
    const ext = i % 4 === 1 ? ';name=value' : ''
    parts.push(Buffer.from(`${hex}${ext}\r\n`, 'latin1'), body.subarray(pos, pos + size), Buffer.from('\r\n'))
    pos += size
    i++
  }
  parts.push(Buffer.from(`0\r\n${trailers}\r\n`, 'latin1'))
  return Buffer.concat(parts)
}

async function rawPost(port: number, head: string, body: Buffer, splitAt?: number[] | number): Promise<HashReply> {
  const payload = Buffer.concat([Buffer.from(head, 'latin1'), body])
  const reply = await rawRequest(port, payload, { responses: 1, splitAt })
  assertOk(reply)
  return JSON.parse(bodyOf(reply)) as HashReply
}

function assertOk(reply: string): void {
  if (!reply.startsWith('HTTP/1.1 200 OK\r\n')) throw new Error(`unexpected reply ${JSON.stringify(reply.slice(0, 200))}`)
}

const cases: Array<[string, number]> = [
  ['empty', 0],
  ['1 byte', 1],
  ['10 MiB', 10 * MiB],
]

for (const [name, size] of cases) {
  test(`raw Content-Length body: ${name}`, async (t) => {
    const { server, port } = await startServer(hashingHandler)
    try {
      const body = randomBytes(size)
      const r = await rawPost(port, `POST /cl HTTP/1.1\r\nHost: h\r\nContent-Length: ${size}\r\n\r\n`, body)
      t.is(r.len, size)
      t.is(r.sha, sha256(body))
      t.true(r.allBuffers)
      t.true(r.complete)
      t.is(r.cl, String(size))
      t.is(r.te, null)
    } finally {
      await close(server)
    }
  })

  test(`raw chunked body: ${name}`, async (t) => {
    const { server, port } = await startServer(hashingHandler)
    try {
      const body = randomBytes(size)
      const r = await rawPost(
        port,
        'POST /chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n',
        chunkedEncode(body),
      )
      t.is(r.len, size)
      t.is(r.sha, sha256(body))
      t.true(r.allBuffers)
      t.is(r.te, 'chunked')
      t.is(r.cl, null)
      t.deepEqual(r.trailers, {})
      t.deepEqual(r.rawTrailers, [])
    } finally {
      await close(server)
    }
  })

  test(`http.request body with Content-Length: ${name}`, async (t) => {
    const { server, port } = await startServer(hashingHandler)
    try {
      const body = randomBytes(size)
      const text = await clientPost(port, body, { 'Content-Length': String(size) })
      const r = JSON.parse(text) as HashReply
      t.is(r.len, size)
      t.is(r.sha, sha256(body))
      t.is(r.cl, String(size))
    } finally {
      await close(server)
    }
  })

  test(`http.request chunked body (no Content-Length): ${name}`, async (t) => {
    const { server, port } = await startServer(hashingHandler)
    try {
      const body = randomBytes(size)
      const text = await clientPost(port, body, {}, 64 * 1024)
      const r = JSON.parse(text) as HashReply
      t.is(r.len, size)
      t.is(r.sha, sha256(body))
      // node's client sends `Content-Length: 0` for a POST ended without any write
      t.is(r.te, size === 0 ? null : 'chunked')
    } finally {
      await close(server)
    }
  })
}

/** POST `body` with node's client, writing it in pieces of `piece` bytes; resolves the response text. */
function clientPost(port: number, body: Buffer, headers: Record<string, string>, piece = body.length || 1): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = nodeHttp.request(
      { host: '127.0.0.1', port, method: 'POST', path: '/client', agent: false, headers },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    for (let i = 0; i < body.length; i += piece) req.write(body.subarray(i, i + piece))
    req.end()
  })
}

test('chunked body with trailers: req.trailers and req.rawTrailers', async (t) => {
  const { server, port } = await startServer(hashingHandler)
  try {
    const body = Buffer.from('hello trailers')
    const r = await rawPost(
      port,
      'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum, X-Other\r\n\r\n',
      chunkedEncode(body, 'X-Checksum: abc\r\nx-other: 1\r\n'),
    )
    t.is(r.len, body.length)
    t.is(r.sha, sha256(body))
    t.deepEqual(r.trailers, { 'x-checksum': 'abc', 'x-other': '1' })
    t.deepEqual(r.rawTrailers, ['X-Checksum', 'abc', 'x-other', '1'])
  } finally {
    await close(server)
  }
})

test('body split across many writes at awkward places (inside chunk-size lines and CRLFs)', async (t) => {
  const { server, port } = await startServer(hashingHandler)
  try {
    const body = randomBytes(5000)
    const head = 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n'
    const encoded = chunkedEncode(body)
    const cuts = [5, head.length - 1, head.length + 1, head.length + 2, head.length + 4, head.length + 20, head.length + 2000]
    const payload = Buffer.concat([Buffer.from(head, 'latin1'), encoded])
    cuts.push(payload.length - 3, payload.length - 1)
    const reply = await rawRequest(port, payload, { responses: 1, splitAt: cuts, pauseMs: 10 })
    const r = JSON.parse(bodyOf(reply)) as HashReply
    t.is(r.len, body.length)
    t.is(r.sha, sha256(body))
  } finally {
    await close(server)
  }
})

test('Content-Length body split across writes', async (t) => {
  const { server, port } = await startServer(hashingHandler)
  try {
    const body = randomBytes(300_000)
    const head = `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n`
    const reply = await rawRequest(port, Buffer.concat([Buffer.from(head), body]), { responses: 1, splitAt: 7, pauseMs: 10 })
    const r = JSON.parse(bodyOf(reply)) as HashReply
    t.is(r.len, body.length)
    t.is(r.sha, sha256(body))
  } finally {
    await close(server)
  }
})

test('req.setEncoding("utf8") yields strings and keeps multi-byte characters split across packets intact', async (t) => {
  const got: unknown[] = []
  const { server, port } = await startServer((req, res) => {
    req.setEncoding('utf8')
    let s = ''
    req.on('data', (c: unknown) => {
      got.push(typeof c)
      s += c as string
    })
    req.on('end', () => res.end(s))
  })
  try {
    const text = 'aé€😀z'
    const bytes = Buffer.from(text, 'utf8')
    const head = `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${bytes.length}\r\n\r\n`
    const payload = Buffer.concat([Buffer.from(head), bytes])
    // cut inside é, inside €, inside 😀
    const cuts = [head.length + 2, head.length + 5, head.length + 8]
    const reply = await rawRequest(port, payload, { responses: 1, splitAt: cuts, pauseMs: 20 })
    t.is(Buffer.from(bodyOf(reply), 'latin1').toString('utf8'), text)
    t.true(got.length >= 1)
    t.true(got.every((x) => x === 'string'))
  } finally {
    await close(server)
  }
})

test('echo: 10 MiB streamed back with req.pipe(res) through node http client', async (t) => {
  const { server, port } = await startServer((req, res) => {
    res.setHeader('Content-Type', 'application/octet-stream')
    req.pipe(res)
  })
  try {
    const body = randomBytes(10 * MiB)
    const { sha, len, te } = await new Promise<{ sha: string; len: number; te: string | undefined }>((resolve, reject) => {
      const req = nodeHttp.request(
        { host: '127.0.0.1', port, method: 'PUT', path: '/echo', agent: false, headers: { 'Content-Length': String(body.length) } },
        (res) => {
          const h = createHash('sha256')
          let len = 0
          res.on('data', (c: Buffer) => {
            len += c.length
            h.update(c)
          })
          res.on('end', () => resolve({ sha: h.digest('hex'), len, te: res.headers['transfer-encoding'] }))
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(body)
    })
    t.is(len, body.length)
    t.is(sha, sha256(body))
    t.is(te, 'chunked')
  } finally {
    await close(server)
  }
})

test('an unread request body is discarded and the keep-alive connection keeps working', async (t) => {
  const urls: string[] = []
  const { server, port } = await startServer((req, res) => {
    urls.push(`${req.method} ${req.url}`)
    res.end(`r${urls.length}`) // never reads the body
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello')
    const [first] = await conn.readResponses(1)
    await conn.write('POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n')
    const [second] = await conn.readResponses(1)
    await conn.write('GET /c HTTP/1.1\r\nHost: h\r\n\r\n')
    const [third] = await conn.readResponses(1)
    const ka = 'Date: <DATE>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n'
    t.is(normalize(first), `HTTP/1.1 200 OK\r\n${ka}Content-Length: 2\r\n\r\nr1`)
    t.is(normalize(second), `HTTP/1.1 200 OK\r\n${ka}Content-Length: 2\r\n\r\nr2`)
    t.is(normalize(third), `HTTP/1.1 200 OK\r\n${ka}Content-Length: 2\r\n\r\nr3`)
    t.deepEqual(urls, ['POST /a', 'POST /b', 'GET /c'])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('Expect: 100-continue gets an automatic "HTTP/1.1 100 Continue" before the final response', async (t) => {
  const { server, port } = await startServer(hashingHandler)
  try {
    const conn = new RawConnection(port)
    try {
      await conn.write('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n')
      // wait until the interim response arrived, then send the body
      await conn.waitUntil((data) => data.includes('\r\n\r\n'))
      t.is(conn.data, 'HTTP/1.1 100 Continue\r\n\r\n')
      await conn.write('abc')
      const [final] = await conn.readResponses(1)
      const r = JSON.parse(bodyOf(final)) as HashReply
      t.is(r.len, 3)
      t.is(r.sha, sha256(Buffer.from('abc')))
      t.true(normalize(conn.data).startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: <DATE>\r\n'))
    } finally {
      conn.destroy()
    }
  } finally {
    await close(server)
  }
})

test('helpers: splitResponses / rawExchange agree on a close-delimited HTTP/1.0 body', async (t) => {
  const { server, port } = await startServer((req, res) => {
    res.write('part1 ')
    res.end('part2')
  })
  try {
    const r = await rawExchange(port, 'GET / HTTP/1.0\r\n\r\n')
    t.true(r.closedByServer)
    t.is(r.responseCount, 1)
    t.deepEqual(splitResponses(normalize(r.data)), ['HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: close\r\n\r\npart1 part2'])
  } finally {
    await close(server)
  }
})
