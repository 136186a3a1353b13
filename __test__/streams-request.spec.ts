/**
 * Request bodies as streams: 'data'/'end', async iteration, pause()/resume(), pipe(), setEncoding,
 * backpressure towards the client when JS does not read, trailers and req.complete, the events of a
 * request whose client goes away mid-body, and byte-exactness under many random TCP splittings.
 *
 * Expected values are what node:http 20 does (run with FERRO_TEST_TARGET=node to check).
 */
import test from 'ava'
import { createHash, randomBytes } from 'node:crypto'
import { Readable, Writable } from 'node:stream'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Agent, request as undiciRequest } from 'undici'
import { nodeHttp, startServer, close, RawConnection, normalize, sleep } from './helpers/target'
import {
  KiB,
  MiB,
  sha256,
  prng,
  seededBytes,
  deferred,
  within,
  turns,
  waitQuiescent,
  chunkedEncode,
  chunkedDecode,
  splitHead,
  cutAt,
  randomPieces,
  writeAsync,
  connect,
  errShape,
} from './helpers/streams'

interface HashReply {
  len: number
  sha: string
  [k: string]: unknown
}

/** POST `body` with node's http client in `piece`-sized writes; resolves the parsed JSON reply. */
function clientPost(port: number, body: Buffer, headers: Record<string, string> = {}, piece = 64 * KiB): Promise<HashReply> {
  return new Promise((resolve, reject) => {
    const req = nodeHttp.request({ host: '127.0.0.1', port, method: 'POST', path: '/', agent: false, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as HashReply)
        } catch (e) {
          reject(e)
        }
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    for (let i = 0; i < body.length; i += piece) req.write(body.subarray(i, i + piece))
    req.end()
  })
}

function replyJson(res: ServerResponse, obj: unknown): void {
  res.setHeader('Content-Type', 'application/json')
  res.end(JSON.stringify(obj))
}

// ---------------------------------------------------------------------------------------------
// Consumption styles
// ---------------------------------------------------------------------------------------------

for (const mode of ['content-length', 'chunked'] as const) {
  test(`'data'/'end' (${mode}): Buffer chunks, nothing after 'end', 1 MiB byte-exact`, async (t) => {
    const { server, port } = await startServer((req, res) => {
      const h = createHash('sha256')
      let len = 0
      let dataEvents = 0
      let dataAfterEnd = 0
      let allBuffers = true
      let ended = false
      req.on('data', (c: Buffer) => {
        if (ended) dataAfterEnd++
        if (!Buffer.isBuffer(c)) allBuffers = false
        dataEvents++
        len += c.length
        h.update(c)
      })
      req.on('end', () => {
        ended = true
        const snapshot = { complete: req.complete, readableEnded: req.readableEnded }
        setImmediate(() =>
          replyJson(res, { len, sha: h.digest('hex'), allBuffers, dataAfterEnd, gotData: dataEvents > 0, ...snapshot }),
        )
      })
    })
    try {
      const body = randomBytes(MiB)
      const headers: Record<string, string> = mode === 'content-length' ? { 'Content-Length': String(body.length) } : {}
      const r = await clientPost(port, body, headers, 10_000)
      t.deepEqual(r, { len: body.length, sha: sha256(body), allBuffers: true, dataAfterEnd: 0, gotData: true, complete: true, readableEnded: true })
    } finally {
      await close(server)
    }
  })
}

test('async iteration (for await) over the request, via undici (Content-Length and chunked)', async (t) => {
  const { server, port } = await startServer(async (req, res) => {
    const h = createHash('sha256')
    let len = 0
    let allBuffers = true
    for await (const chunk of req) {
      if (!Buffer.isBuffer(chunk)) allBuffers = false
      len += (chunk as Buffer).length
      h.update(chunk as Buffer)
    }
    replyJson(res, { len, sha: h.digest('hex'), allBuffers, complete: req.complete, te: req.headers['transfer-encoding'] ?? null })
  })
  const dispatcher = new Agent()
  try {
    const body = randomBytes(3 * MiB + 17)
    const a = await undiciRequest(`http://127.0.0.1:${port}/`, { method: 'POST', body, dispatcher })
    t.deepEqual(await a.body.json(), { len: body.length, sha: sha256(body), allBuffers: true, complete: true, te: null })

    async function* pieces(): AsyncGenerator<Buffer> {
      for (let i = 0; i < body.length; i += 100_000) {
        yield body.subarray(i, i + 100_000)
        await new Promise((r) => setImmediate(r))
      }
    }
    const b = await undiciRequest(`http://127.0.0.1:${port}/`, { method: 'POST', body: Readable.from(pieces()), dispatcher })
    t.deepEqual(await b.body.json(), { len: body.length, sha: sha256(body), allBuffers: true, complete: true, te: 'chunked' })
  } finally {
    await dispatcher.close()
    await close(server)
  }
})

test('breaking out of for await mid-body destroys the request, not the connection: the response still goes out, as in node', async (t) => {
  const log: unknown[] = []
  const { server, port } = await startServer(async (req, res) => {
    const socket = req.socket
    req.on('aborted', () => log.push('req aborted'))
    req.on('error', (e) => log.push(['req error', errShape(e)]))
    req.on('close', () => log.push('req close'))
    res.on('close', () => log.push(['res close', res.writableFinished]))
    for await (const chunk of req) {
      log.push(['chunk', (chunk as Buffer).length])
      break
    }
    log.push(['after loop', { destroyed: req.destroyed, complete: req.complete, socketDestroyed: socket.destroyed, reqSocketNull: req.socket === null }])
    await sleep(20)
    log.push(['later', { socketDestroyed: socket.destroyed, resDestroyed: res.destroyed }])
    res.end('late')
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789')
    const [reply] = await conn.readResponses(1)
    await turns(3)
    t.is(normalize(reply), 'HTTP/1.1 200 OK\r\nDate: <DATE>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 4\r\n\r\nlate')
    t.deepEqual(log, [
      ['chunk', 10],
      'req aborted',
      ['after loop', { destroyed: true, complete: false, socketDestroyed: false, reqSocketNull: true }],
      ['req error', { name: 'AbortError', code: 'ABORT_ERR', message: 'The operation was aborted' }],
      'req close',
      ['later', { socketDestroyed: false, resDestroyed: false }],
      ['res close', true],
    ])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('pause() before any read: no data while paused, everything after resume()', async (t) => {
  const bodySent = deferred()
  const { server, port } = await startServer((req, res) => {
    req.pause()
    let paused = true
    let dataWhilePaused = 0
    const h = createHash('sha256')
    let len = 0
    // attaching 'data' after an explicit pause() must not start the flow
    req.on('data', (c: Buffer) => {
      if (paused) dataWhilePaused++
      len += c.length
      h.update(c)
    })
    const isPausedBefore = req.isPaused()
    req.on('end', () => replyJson(res, { len, sha: h.digest('hex'), dataWhilePaused, isPausedBefore, isPausedAfter: req.isPaused() }))
    // resume only once the client has handed the whole body to the kernel, plus slack
    void bodySent.promise
      .then(() => sleep(50))
      .then(() => {
        paused = false
        req.resume()
      })
  })
  const conn = new RawConnection(port)
  try {
    const body = randomBytes(200 * KiB)
    await conn.write(Buffer.concat([Buffer.from(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${body.length}\r\n\r\n`), body]))
    bodySent.resolve()
    const [reply] = await conn.readResponses(1)
    t.deepEqual(JSON.parse(splitHead(reply).body), {
      len: body.length,
      sha: sha256(body),
      dataWhilePaused: 0,
      isPausedBefore: true,
      isPausedAfter: false,
    })
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("a body that arrives with its head: a 'data' listener added in 'request' gets it before the message ends, so pausing there and answering does not dump the request (node drains ticks after each body chunk)", async (t) => {
  const seen = deferred<{ complete: boolean; ended: boolean; dumped: boolean; rest: string }>()
  const { server, port } = await startServer((req, res) => {
    req.once('data', (c: Buffer) => {
      const complete = req.complete
      const ended = req.readableEnded
      req.pause()
      res.end('ok')
      res.on('finish', () => {
        const dumped = (req as IncomingMessage & { _dumped: boolean })._dumped
        let rest = c.toString('latin1')
        req.on('data', (d: Buffer) => (rest += d.toString('latin1')))
        req.on('end', () => seen.resolve({ complete, ended, dumped, rest }))
        req.resume()
      })
    })
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd')
    await conn.readResponses(1)
    t.deepEqual(await seen.promise, { complete: false, ended: false, dumped: false, rest: 'abcd' })
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('pause() inside every "data" and resume() on a later turn: no data while paused, body intact', async (t) => {
  const { server, port } = await startServer((req, res) => {
    let paused = false
    let dataWhilePaused = 0
    let pauses = 0
    const h = createHash('sha256')
    let len = 0
    req.on('data', (c: Buffer) => {
      if (paused) dataWhilePaused++
      len += c.length
      h.update(c)
      req.pause()
      paused = true
      pauses++
      setTimeout(() => {
        paused = false
        req.resume()
      }, 1)
    })
    req.on('end', () => replyJson(res, { len, sha: h.digest('hex'), dataWhilePaused, paused: pauses > 1 }))
  })
  try {
    const body = randomBytes(2 * MiB)
    const r = await clientPost(port, body, {}, 32 * KiB)
    t.deepEqual(r, { len: body.length, sha: sha256(body), dataWhilePaused: 0, paused: true })
  } finally {
    await close(server)
  }
})

test('req.pipe(slow Writable): backpressure through pipe, body byte-exact, req ends before the sink finishes', async (t) => {
  const { server, port } = await startServer((req, res) => {
    const h = createHash('sha256')
    let len = 0
    const order: string[] = []
    let maxBuffered = 0
    const sink = new Writable({
      highWaterMark: 4 * KiB,
      write(chunk: Buffer, _enc, cb) {
        len += chunk.length
        h.update(chunk)
        maxBuffered = Math.max(maxBuffered, req.readableLength)
        setImmediate(cb)
      },
    })
    req.on('end', () => order.push('req end'))
    sink.on('pipe', () => order.push('pipe'))
    sink.on('finish', () => {
      order.push('sink finish')
      replyJson(res, { len, sha: h.digest('hex'), order, boundedBuffer: maxBuffered <= 4 * MiB })
    })
    req.pipe(sink)
  })
  try {
    const body = randomBytes(4 * MiB)
    const r = await clientPost(port, body, { 'Content-Length': String(body.length) })
    t.deepEqual(r, { len: body.length, sha: sha256(body), order: ['pipe', 'req end', 'sink finish'], boundedBuffer: true })
  } finally {
    await close(server)
  }
})

for (const mode of ['content-length', 'chunked'] as const) {
  test(`setEncoding('utf8') (${mode}): multi-byte characters split across TCP writes${mode === 'chunked' ? ' and chunk frames' : ''} stay intact`, async (t) => {
    const { server, port } = await startServer((req, res) => {
      req.setEncoding('utf8')
      const types = new Set<string>()
      let s = ''
      req.on('data', (c: unknown) => {
        types.add(typeof c)
        s += c as string
      })
      req.on('end', () => replyJson(res, { text: s, types: [...types], replacement: s.includes('\ufffd') }))
    })
    const conn = new RawConnection(port)
    try {
      const text = 'aé€😀z'.repeat(40) + '𝄞'.repeat(10) + 'ü'
      const bytes = Buffer.from(text, 'utf8')
      let head: string
      let payload: Buffer
      if (mode === 'chunked') {
        head = 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n'
        // frame sizes 1, 2, 3 and 5 bytes cut nearly every character apart
        payload = Buffer.concat([Buffer.from(head), chunkedEncode(bytes, [1, 2, 3, 5, 1, 1])])
      } else {
        head = `POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${bytes.length}\r\n\r\n`
        payload = Buffer.concat([Buffer.from(head), bytes])
      }
      // TCP writes cut inside é (2 bytes), € (3 bytes), 😀 (4 bytes, at 1|3, 2|2 and 3|1)
      const h = head.length
      const inBody = mode === 'chunked' ? [7, 19, 33, 48, 64, 80, 97, 111] : [2, 4, 7, 9, 11, 22, 23, 24, 25, 26]
      const pieces = cutAt(payload, [h, ...inBody.map((x) => h + x)])
      for (const p of pieces) {
        await conn.write(p)
        await sleep(5)
      }
      const [reply] = await conn.readResponses(1)
      t.deepEqual(JSON.parse(Buffer.from(splitHead(reply).body, 'latin1').toString('utf8')), { text, types: ['string'], replacement: false })
    } finally {
      conn.destroy()
      await close(server)
    }
  })
}

// ---------------------------------------------------------------------------------------------
// Backpressure towards the client
// ---------------------------------------------------------------------------------------------

/**
 * Upload 64 MiB from a raw socket into a request that is not being read. The client pumps 256 KiB
 * writes (waiting for 'drain' when write() returns false) and counts the bytes whose write callback
 * fired, i.e. the bytes the kernel accepted. If the server kept reading into memory, all 64 MiB would
 * be accepted; when it stops reading, the kernel buffers fill and the client stalls well short of it.
 * Then the handler resumes and the whole body must arrive byte-exact.
 */
async function pausedUpload(t: import('ava').ExecutionContext, variant: 'unread' | 'paused'): Promise<void> {
  const total = 64 * MiB
  const body = randomBytes(total)
  const gate = deferred()
  const seen = deferred<IncomingMessage>()
  const { server, port } = await startServer((req, res) => {
    const h = createHash('sha256')
    let len = 0
    const onChunk = (c: Buffer): void => {
      len += c.length
      h.update(c)
    }
    req.on('end', () => replyJson(res, { len, sha: h.digest('hex') }))
    if (variant === 'unread') {
      // no 'data' listener until the gate opens: the request is never read meanwhile
      void gate.promise.then(() => req.on('data', onChunk))
    } else {
      req.on('data', onChunk)
      req.once('data', () => req.pause())
      void gate.promise.then(() => req.resume())
    }
    seen.resolve(req)
  })
  const conn = new RawConnection(port)
  try {
    await conn.ready()
    const sock = conn.socket
    let flushed = 0
    let drains = 0
    let waitingDrain = false
    sock.on('drain', () => drains++)
    await writeAsync(sock, `POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: ${total}\r\n\r\n`)
    const piece = 256 * KiB
    const pump = (async () => {
      for (let off = 0; off < total; off += piece) {
        const p = body.subarray(off, off + piece)
        const ok = sock.write(p, (err) => {
          if (!err) flushed += p.length
        })
        if (!ok) {
          waitingDrain = true
          await new Promise<void>((r) => sock.once('drain', () => r()))
          waitingDrain = false
        }
      }
    })()
    pump.catch(() => {})
    await within(seen.promise, 10_000, "the 'request' event")
    await waitQuiescent(() => flushed, () => flushed >= total, { intervalMs: 100, quietPolls: 5 })
    const stalled = { flushed, waitingDrain, pending: sock.writableLength, drainsSoFar: drains }
    t.log(`client stalled after the kernel accepted ${(flushed / MiB).toFixed(1)} MiB of ${total / MiB} MiB`)
    t.true(flushed < total, `the server kept reading: the kernel accepted all ${flushed} bytes while the request was paused`)
    t.true(flushed <= 48 * MiB, `accepted ${flushed} bytes while paused (kernel buffers alone cannot hold that much)`)
    t.true(stalled.waitingDrain, "the client is waiting for a 'drain' that has not come")
    t.true(stalled.pending > 0, 'the client still holds unsent bytes')
    // the same picture a moment later: still stuck, no 'drain'
    await sleep(200)
    t.is(flushed, stalled.flushed)
    t.is(drains, stalled.drainsSoFar)

    gate.resolve()
    await within(pump, 60_000, 'the upload to finish after resume()')
    const [reply] = await conn.readResponses(1, [], 60_000)
    t.true(reply.startsWith('HTTP/1.1 200 OK\r\n'), reply.slice(0, 100))
    t.deepEqual(JSON.parse(splitHead(reply).body), { len: total, sha: sha256(body) })
  } finally {
    conn.destroy()
    await close(server)
  }
}

test.serial('a request nobody reads stops the server reading that socket; reading later delivers all 64 MiB byte-exact', async (t) => {
  await pausedUpload(t, 'unread')
})

test.serial('req.pause() after the first chunk stops the server reading; resume() delivers all 64 MiB byte-exact', async (t) => {
  await pausedUpload(t, 'paused')
})

// ---------------------------------------------------------------------------------------------
// Trailers and req.complete
// ---------------------------------------------------------------------------------------------

test('chunked trailers land in req.trailers / req.rawTrailers at end; req.complete false before end, true after', async (t) => {
  const log: unknown[] = []
  const firstData = deferred()
  const { server, port } = await startServer((req, res) => {
    const snap = (at: string): void => {
      log.push({ at, complete: req.complete, trailers: { ...req.trailers }, rawTrailers: [...req.rawTrailers] })
    }
    snap('request')
    let body = ''
    req.on('data', (c: Buffer) => {
      body += c.toString('latin1')
      if (!firstData.settled) {
        snap('first data')
        firstData.resolve()
      }
    })
    req.on('end', () => {
      snap('end')
      replyJson(res, { body })
    })
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum, X-Multi\r\n\r\n5\r\nhello\r\n')
    // the rest of the body (and the trailers) only after the server saw the first chunk
    await within(firstData.promise, 10_000, 'the first chunk')
    await conn.write('6\r\n world\r\n0\r\nX-Sum: abc\r\nx-multi: 1\r\nX-Multi: 2\r\nX-Empty:\r\n\r\n')
    const [reply] = await conn.readResponses(1)
    t.deepEqual(JSON.parse(splitHead(reply).body), { body: 'hello world' })
    t.deepEqual(log, [
      { at: 'request', complete: false, trailers: {}, rawTrailers: [] },
      { at: 'first data', complete: false, trailers: {}, rawTrailers: [] },
      {
        at: 'end',
        complete: true,
        trailers: { 'x-sum': 'abc', 'x-multi': '1, 2', 'x-empty': '' },
        rawTrailers: ['X-Sum', 'abc', 'x-multi', '1', 'X-Multi', '2', 'X-Empty', ''],
      },
    ])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('trailers sent by node\'s http client (req.addTrailers) reach req.trailers', async (t) => {
  const { server, port } = await startServer((req, res) => {
    const before = req.complete
    req.resume()
    req.on('end', () => replyJson(res, { before, after: req.complete, trailers: req.trailers, rawTrailers: req.rawTrailers }))
  })
  try {
    const reply = await new Promise<unknown>((resolve, reject) => {
      const req = nodeHttp.request(
        { host: '127.0.0.1', port, method: 'POST', agent: false, headers: { Trailer: 'Content-MD5' } },
        (res) => {
          let s = ''
          res.setEncoding('utf8')
          res.on('data', (c: string) => (s += c))
          res.on('end', () => resolve(JSON.parse(s)))
        },
      )
      req.on('error', reject)
      req.write('some body')
      req.addTrailers({ 'Content-MD5': '7895bf4b8828b55ceaf47747b4bca667' })
      req.end()
    })
    t.deepEqual(reply, {
      before: false,
      after: true,
      trailers: { 'content-md5': '7895bf4b8828b55ceaf47747b4bca667' },
      rawTrailers: ['Content-MD5', '7895bf4b8828b55ceaf47747b4bca667'],
    })
  } finally {
    await close(server)
  }
})

test('req.complete for a body-less GET: false in the request handler, true at end', async (t) => {
  const { server, port } = await startServer((req, res) => {
    const atRequest = req.complete
    req.resume()
    req.on('end', () => replyJson(res, { atRequest, atEnd: req.complete }))
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('GET / HTTP/1.1\r\nHost: h\r\n\r\n')
    const [reply] = await conn.readResponses(1)
    t.deepEqual(JSON.parse(splitHead(reply).body), { atRequest: false, atEnd: true })
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("a request read to its end, then data put back with unshift() before 'end': read again, then 'end' and 'close', as in node", async (t) => {
  const { server, port } = await startServer((req, res) => {
    const events: string[] = []
    let unshifted = false
    req.on('readable', () => {
      let chunk: Buffer | null
      while ((chunk = req.read() as Buffer | null) !== null) events.push(`read ${chunk.toString()}`)
      if (!unshifted && req.complete && !req.readableEnded) {
        // Read to the end ('end' is now due): put data back before it is emitted.
        unshifted = true
        req.unshift(Buffer.from('again'))
        events.push('unshift')
        // read(n) of exactly what is left does not queue 'end' itself; the read() after it does.
        setImmediate(() => {
          events.push(`later ${String(req.read(5))}`)
          events.push(`later ${String(req.read())}`)
        })
      } else {
        events.push(`readable ended=${req.readableEnded}`)
      }
    })
    req.on('end', () => events.push('end'))
    req.on('close', () => {
      events.push('close')
      replyJson(res, events)
    })
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello')
    const [reply] = await conn.readResponses(1)
    t.deepEqual(JSON.parse(splitHead(reply).body), ['read hello', 'readable ended=false', 'unshift', 'later again', 'later null', 'end', 'close'])
  } finally {
    conn.destroy()
    await close(server)
  }
})

test("GET requests nobody reads: 'end' then 'close' on each, once, in order with the response's 'finish' and 'close'", async (t) => {
  const log: string[] = []
  const { server, port } = await startServer((req, res) => {
    const id = req.url ?? ''
    for (const e of ['end', 'close'] as const) req.on(e, () => log.push(`${id} req ${e} ended=${req.readableEnded}`))
    for (const e of ['finish', 'close'] as const) res.on(e, () => log.push(`${id} res ${e}`))
    res.end('ok')
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n')
    await conn.readResponses(2)
    await sleep(50)
    const expected = (id: string) => [`${id} res finish`, `${id} res close`, `${id} req end ended=true`, `${id} req close ended=true`]
    t.deepEqual(
      log.filter((l) => l.startsWith('/a')),
      expected('/a'),
    )
    t.deepEqual(
      log.filter((l) => l.startsWith('/b')),
      expected('/b'),
    )
  } finally {
    conn.destroy()
    await close(server)
  }
})

// ---------------------------------------------------------------------------------------------
// Client goes away mid-body
// ---------------------------------------------------------------------------------------------

type Leave = 'destroy' | 'resetAndDestroy' | 'end'

/**
 * The client sends the head and 5 of 1000 body bytes, waits for the server's first 'data', then leaves.
 * Everything the request and the response emit is recorded in order.
 */
async function leaveMidBody(leave: Leave, clientErrorListener = false): Promise<{ events: unknown[]; received: string }> {
  const events: unknown[] = []
  const firstData = deferred()
  const reqClosed = deferred()
  const { server, port } = await startServer((req, res) => {
    const flags = (): Record<string, unknown> => ({
      complete: req.complete,
      aborted: req.aborted,
      destroyed: req.destroyed,
      readableEnded: req.readableEnded,
    })
    req.on('data', (c: Buffer) => {
      events.push(['req data', c.length])
      firstData.resolve()
    })
    req.on('aborted', () => events.push(['req aborted', flags()]))
    req.on('end', () => events.push(['req end', flags()]))
    req.on('error', (e) => events.push(['req error', errShape(e), flags()]))
    req.on('close', () => {
      events.push(['req close', flags()])
      reqClosed.resolve()
    })
    res.on('close', () => events.push(['res close', { writableFinished: res.writableFinished, writableEnded: res.writableEnded, destroyed: res.destroyed }]))
    res.on('finish', () => events.push(['res finish']))
    res.on('error', (e) => events.push(['res error', errShape(e)]))
  })
  if (clientErrorListener) {
    server.on('clientError', (err: Error & { code?: string }, socket: import('node:net').Socket) => {
      events.push(['clientError', errShape(err)])
      socket.destroy()
    })
  }
  try {
    const sock = await connect(port)
    let received = ''
    sock.on('data', (d: Buffer) => (received += d.toString('latin1')))
    sock.on('error', () => {})
    const closed = new Promise<void>((r) => sock.once('close', () => r()))
    await writeAsync(sock, 'POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\nhello')
    await within(firstData.promise, 10_000, "the server's first 'data'")
    if (leave === 'destroy') sock.destroy()
    else if (leave === 'resetAndDestroy') sock.resetAndDestroy()
    else sock.end()
    await within(reqClosed.promise, 10_000, "req 'close'")
    await within(closed, 10_000, 'the client socket to close')
    // let anything still queued (nextTicks, immediates, late events) surface
    await turns(5)
    await sleep(50)
    await turns(5)
    return { events, received: normalize(received) }
  } finally {
    await close(server)
  }
}

const abortedFlags = { complete: false, aborted: true, destroyed: true, readableEnded: false }
const abortedEvents = [
  ['req data', 5],
  ['req aborted', abortedFlags],
  // node: abortIncoming destroys the request ('aborted' synchronously), then the response's
  // 'close' (onServerResponseClose on the socket's 'close'), then the request's 'error' and 'close' ticks
  ['res close', { writableFinished: false, writableEnded: false, destroyed: true }],
  ['req error', { name: 'Error', code: 'ECONNRESET', message: 'aborted' }, abortedFlags],
  ['req close', abortedFlags],
]

test("client destroy() mid-body: req 'aborted', res 'close', req 'error' (ECONNRESET 'aborted'), req 'close', in node's order", async (t) => {
  const { events, received } = await leaveMidBody('destroy')
  t.deepEqual(events, abortedEvents)
  t.is(received, '')
})

test("client RST (resetAndDestroy) mid-body: req 'aborted', res 'close', req 'error' (ECONNRESET 'aborted'), req 'close', in node's order", async (t) => {
  const { events, received } = await leaveMidBody('resetAndDestroy')
  t.deepEqual(events, abortedEvents)
  t.is(received, '')
})

test("client half-close (end()) mid-body: node answers 400 and the request is aborted the same way", async (t) => {
  const { events, received } = await leaveMidBody('end')
  t.deepEqual(events, abortedEvents)
  t.is(received, 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
})

test("client half-close (end()) mid-body: 'clientError' gets HPE_INVALID_EOF_STATE before the request is aborted", async (t) => {
  const { events, received } = await leaveMidBody('end', true)
  t.deepEqual(events, [
    abortedEvents[0],
    // node's parser.finish() error carries no reason: the message is just 'Parse Error'
    ['clientError', { name: 'Error', code: 'HPE_INVALID_EOF_STATE', message: 'Parse Error' }],
    ...abortedEvents.slice(1),
  ])
  t.is(received, '')
})

// ---------------------------------------------------------------------------------------------
// Byte-exactness under random splittings
// ---------------------------------------------------------------------------------------------

const SPLIT_BODY = seededBytes(1500, 42)
const SPLIT_TRAILERS = 'X-Trailer-One: 1\r\nx-trailer-two: two\r\n'
const SPLIT_REQUESTS = {
  chunked: Buffer.concat([
    Buffer.from('POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n'),
    chunkedEncode(SPLIT_BODY, [1, 2, 10, 255, 3, 500, 64], SPLIT_TRAILERS, true),
  ]),
  'content-length': Buffer.concat([Buffer.from(`POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: ${SPLIT_BODY.length}\r\n\r\n`), SPLIT_BODY]),
}

function echoHandler(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    res.setHeader('X-Raw-Trailers', JSON.stringify(req.rawTrailers))
    res.end(Buffer.concat(chunks))
  })
}

for (const mode of ['chunked', 'content-length'] as const) {
  test(`${mode} request written in 50 random splittings (seeded, with 1-byte pieces): every echo byte-exact`, async (t) => {
    const { server, port } = await startServer(echoHandler)
    try {
      const payload = SPLIT_REQUESTS[mode]
      const expectedTrailers = mode === 'chunked' ? ['X-Trailer-One', '1', 'x-trailer-two', 'two'] : []
      for (let seed = 1; seed <= 50; seed++) {
        const pieces = randomPieces(payload, prng(seed * 7919), 200)
        const conn = new RawConnection(port)
        try {
          await conn.ready()
          for (const p of pieces) {
            await writeAsync(conn.socket, p)
            await sleep(1)
          }
          const [reply] = await conn.readResponses(1)
          const { head, body } = splitHead(reply)
          const ok =
            body === SPLIT_BODY.toString('latin1') &&
            head.includes(`\r\nX-Raw-Trailers: ${JSON.stringify(expectedTrailers)}\r\n`) &&
            head.startsWith('HTTP/1.1 200 OK\r\n')
          if (!ok) {
            t.fail(
              `seed ${seed} (${pieces.length} pieces: ${pieces.map((p) => p.length).join(',')}): ` +
                `head ${JSON.stringify(head)}, body ${body.length} bytes, sha ${sha256(Buffer.from(body, 'latin1'))}`,
            )
            return
          }
        } finally {
          conn.destroy()
        }
      }
      t.pass()
    } finally {
      await close(server)
    }
  })
}

test("a body unread when the response finished is dumped; at its 'end' socket.parser lets go of the request", async (t) => {
  const seen = deferred<{ atEnd: boolean; afterEnd: boolean; complete: boolean }>()
  const { server, port } = await startServer((req, res) => {
    req.on('end', () => {
      const parser = (req.socket as unknown as { parser: { incoming: unknown } }).parser
      const atEnd = parser.incoming === req
      process.nextTick(() => seen.resolve({ atEnd, afterEnd: parser.incoming === null, complete: req.complete }))
    })
    res.end('hello world')
  })
  const conn = new RawConnection(port)
  try {
    await conn.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world')
    const [r] = await conn.readResponses(1)
    t.true(r.endsWith('\r\n\r\nhello world'))
    t.deepEqual(await within(seen.promise, 10_000, "req 'end'"), { atEnd: true, afterEnd: true, complete: true })
  } finally {
    conn.destroy()
    await close(server)
  }
})

test('the split helpers themselves: randomPieces covers the payload and includes 1-byte pieces; chunked round-trips', (t) => {
  const payload = SPLIT_REQUESTS.chunked
  let oneByte = 0
  for (let seed = 1; seed <= 50; seed++) {
    const pieces = randomPieces(payload, prng(seed * 7919), 200)
    t.is(Buffer.concat(pieces).toString('latin1'), payload.toString('latin1'))
    if (pieces.some((p) => p.length === 1)) oneByte++
  }
  t.is(oneByte, 50)
  const body = chunkedEncode(SPLIT_BODY, [1, 2, 10, 255, 3, 500, 64], SPLIT_TRAILERS, true).toString('latin1')
  t.deepEqual(chunkedDecode(body), { body: SPLIT_BODY.toString('latin1'), trailers: `${SPLIT_TRAILERS}\r\n` })
})

test("a paused request with a large body stops the parsing: not complete, and a request pipelined after it comes once the body was read, as node's parser stopped after that read", async (t) => {
  const BODY = 300_000
  const log: string[] = []
  const done = deferred()
  const { server, port } = await startServer((req, res) => {
    log.push(`request ${req.url}`)
    if (req.url === '/second') {
      res.end('second')
      done.resolve()
      return
    }
    req.pause()
    // Two turns of the loop for whatever was read to arrive.
    setImmediate(() =>
      setImmediate(() => {
        log.push(`paused: complete ${req.complete}, buffered under the body ${req.readableLength < BODY}`)
        let got = 0
        req.on('data', (c: Buffer) => (got += c.length))
        req.on('end', () => {
          log.push(`end ${got}`)
          res.end('first')
        })
        req.resume()
      }),
    )
  })
  try {
    const conn = new RawConnection(port)
    await conn.write(
      Buffer.concat([
        Buffer.from(`POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: ${BODY}\r\n\r\n`),
        Buffer.alloc(BODY, 'a'),
        Buffer.from('GET /second HTTP/1.1\r\nHost: x\r\n\r\n'),
      ]),
    )
    await within(done.promise, 10_000, 'the second request')
    await conn.readResponses(2)
    // The second request is parsed in the read that ends the body, before the body's 'end' tick.
    t.deepEqual(log, ['request /first', 'paused: complete false, buffered under the body true', 'request /second', `end ${BODY}`])
    conn.destroy()
  } finally {
    await close(server)
  }
})

test("a paused request whose body passes its high-water mark inside a read: node's parser still parses the rest of that read, so the request completes and bytes after its Connection: close are llhttp's error", async (t) => {
  // 70 000 bytes in chunks of 40 000: the first 64 KiB read stays under a 64 KiB mark (the
  // default from Node 22), the second passes it and also holds the message's end.
  const BODY = 70_000
  const log: string[] = []
  const errored = deferred()
  let first: { req: IncomingMessage; res: ServerResponse } | undefined
  const { server, port } = await startServer(
    (req, res) => {
      log.push(`request ${req.url}`)
      req.pause()
      first = { req, res }
    },
    { highWaterMark: 64 * KiB },
  )
  server.on('clientError', (err: NodeJS.ErrnoException) => {
    log.push(`clientError ${err.code}: complete ${first?.req.complete}, buffered ${first?.req.readableLength}`)
    errored.resolve()
  })
  try {
    const conn = new RawConnection(port)
    await conn.write(
      Buffer.concat([
        Buffer.from('POST /first HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n'),
        chunkedEncode(Buffer.alloc(BODY, 'a'), [40_000, BODY - 40_000]),
        Buffer.from('GET /second HTTP/1.1\r\nHost: x\r\n\r\n'),
      ]),
    )
    await within(errored.promise, 10_000, "the pipelined request's error")
    first?.res.end('done')
    await conn.waitClose()
    t.deepEqual(log, ['request /first', `clientError HPE_CLOSED_CONNECTION: complete true, buffered ${BODY}`])
    t.regex(conn.data, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\ndone$/)
  } finally {
    await close(server)
  }
})

test("req.destroy() in the handler: the rest of that read is still parsed, as node's parser does (the request completes, a request pipelined in the same packet gets 'request')", async (t) => {
  const log: string[] = []
  const done = deferred()
  const { server, port } = await startServer((req, res) => {
    log.push(`request ${req.url} destroyed ${req.socket.destroyed}`)
    if (req.url === '/first') {
      req.destroy()
      setImmediate(() => {
        log.push(`first: complete ${req.complete}`)
        done.resolve()
      })
    } else {
      res.end('second')
    }
  })
  try {
    const conn = new RawConnection(port)
    await conn.write('POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /second HTTP/1.1\r\nHost: x\r\n\r\n')
    await within(done.promise, 10_000, "the first request's check")
    await conn.waitClose()
    t.deepEqual(log, ['request /first destroyed false', 'request /second destroyed true', 'first: complete true'])
    t.is(conn.data, '')
  } finally {
    await close(server)
  }
})

test('req.destroy() in the handler with request bytes left unread: the client gets a reset (ECONNRESET), as from node; with the whole request read, an orderly close', async (t) => {
  const { server, port } = await startServer((req) => {
    req.destroy()
  })
  const outcome = (size: number) =>
    new Promise<string>((resolve) => {
      const conn = new RawConnection(port)
      conn.socket.on('error', (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`))
      conn.socket.on('end', () => resolve('end'))
      void conn.write(Buffer.concat([Buffer.from(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`), Buffer.alloc(size, 'a')]))
    })
  try {
    // Several reads' worth: node's parser sees the first only.
    t.is(await within(outcome(300_000), 10_000, 'the large request'), 'error ECONNRESET')
    t.is(await within(outcome(5), 10_000, 'the small request'), 'end')
  } finally {
    await close(server)
  }
})

test("a body that arrives with its head in one packet comes as one 'data', as node's one 64 KiB read gives it", async (t) => {
  const { server, port } = await startServer((req, res) => {
    const pieces: number[] = []
    req.on('data', (c: Buffer) => pieces.push(c.length))
    req.on('end', () => res.end(pieces.join(',')))
  })
  try {
    for (const size of [10_000, 30_000]) {
      const conn = new RawConnection(port)
      await conn.write(Buffer.concat([Buffer.from(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`), Buffer.alloc(size, 'a')]))
      const [response] = await conn.readResponses(1)
      t.is(response.slice(response.indexOf('\r\n\r\n') + 4), String(size), `${size} bytes`)
      conn.destroy()
    }
  } finally {
    await close(server)
  }
})

test('a request destroyed while its client is idle mid-body: everything sent was read, so the client gets an orderly close (FIN), as from node', async (t) => {
  for (const when of ['data', 'later'] as const) {
    const { server, port } = await startServer((req) => {
      req.once('data', () => {
        if (when === 'data') req.destroy()
        else setImmediate(() => setImmediate(() => req.destroy()))
      })
    })
    try {
      const got = deferred<string>()
      const conn = new RawConnection(port)
      conn.socket.on('error', (e: NodeJS.ErrnoException) => got.resolve(`error ${e.code}`))
      conn.socket.on('end', () => got.resolve('end'))
      // 10 of the 100 bytes announced, then nothing more.
      await conn.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789')
      t.is(await within(got.promise, 10_000, `the connection to close (${when})`), 'end', when)
      conn.destroy()
    } finally {
      await close(server)
    }
  }
})

test('a paused request destroyed when its body starts flowing again: the rest was never read, so the client gets a reset, as from node', async (t) => {
  const got = deferred<string>()
  const { server, port } = await startServer((req) => {
    req.pause()
    setImmediate(() =>
      setImmediate(() => {
        req.once('data', () => req.destroy())
        req.resume()
      }),
    )
  })
  try {
    const conn = new RawConnection(port)
    conn.socket.on('error', (e: NodeJS.ErrnoException) => got.resolve(`error ${e.code}`))
    conn.socket.on('end', () => got.resolve('end'))
    await conn.write(Buffer.concat([Buffer.from('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n'), Buffer.alloc(300_000, 'a')]))
    t.is(await within(got.promise, 10_000, 'the connection to close'), 'error ECONNRESET')
  } finally {
    await close(server)
  }
})
