/**
 * Module-level exports that must match node:http.
 */
import test from 'ava'
import * as util from 'node:util'
import { http, nodeHttp } from './helpers/target'

// @types/node declares `value: string`, but node accepts (and validates) any value at runtime.
type ValidateValue = (name: string, value: unknown) => void
const validateHeaderValue = http.validateHeaderValue as ValidateValue
const nodeValidateHeaderValue = nodeHttp.validateHeaderValue as ValidateValue

test('STATUS_CODES equals node:http STATUS_CODES', (t) => {
  t.deepEqual({ ...http.STATUS_CODES }, { ...nodeHttp.STATUS_CODES })
  t.is(http.STATUS_CODES[200], 'OK')
  t.is(http.STATUS_CODES[404], 'Not Found')
  t.is(http.STATUS_CODES[418], "I'm a Teapot")
  t.is(http.STATUS_CODES[425], 'Too Early')
  t.is(http.STATUS_CODES[599], undefined)
})

test('METHODS equals node:http METHODS (sorted)', (t) => {
  t.deepEqual([...http.METHODS], [...nodeHttp.METHODS])
  t.deepEqual([...http.METHODS], [...http.METHODS].sort())
  for (const m of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'CONNECT', 'TRACE']) {
    t.true(http.METHODS.includes(m), m)
  }
})

test('maxHeaderSize matches node', (t) => {
  t.is(http.maxHeaderSize, nodeHttp.maxHeaderSize)
})

test('server-side classes and factories are exported', (t) => {
  t.is(typeof http.createServer, 'function')
  t.is(typeof http.Server, 'function')
  t.is(typeof http.IncomingMessage, 'function')
  t.is(typeof http.ServerResponse, 'function')
  t.is(typeof http.validateHeaderName, 'function')
  t.is(typeof http.validateHeaderValue, 'function')
})

test('validateHeaderName accepts tokens and throws ERR_INVALID_HTTP_TOKEN otherwise', (t) => {
  for (const ok of ['Content-Type', 'x-custom', "!#$%&'*+-.^_`|~", 'A1']) {
    t.notThrows(() => http.validateHeaderName(ok), ok)
  }
  for (const bad of ['bad name', 'bad:name', '', 'é', 'a\r\n', '(x)', 'a"b']) {
    const err = t.throws(() => http.validateHeaderName(bad), {
      instanceOf: TypeError,
      code: 'ERR_INVALID_HTTP_TOKEN',
    })
    t.is(err?.message, `Header name must be a valid HTTP token ["${bad}"]`)
  }
})

test('validateHeaderValue: ERR_HTTP_INVALID_HEADER_VALUE for undefined, ERR_INVALID_CHAR for bad characters', (t) => {
  for (const ok of ['v', '', 'a b\tc', 'caf\u00e9', 'x'.repeat(1000)]) {
    t.notThrows(() => validateHeaderValue('x-h', ok), JSON.stringify(ok))
  }
  t.notThrows(() => validateHeaderValue('x-h', 5))
  t.notThrows(() => validateHeaderValue('x-h', ['a', 'b']))

  const undef = t.throws(() => validateHeaderValue('x-h', undefined), {
    instanceOf: TypeError,
    code: 'ERR_HTTP_INVALID_HEADER_VALUE',
  })
  t.is(undef?.message, 'Invalid value "undefined" for header "x-h"')

  for (const bad of ['a\nb', 'a\rb', 'a\u0000b', 'a\u007fb', '\u0100']) {
    const err = t.throws(() => validateHeaderValue('x-h', bad), {
      instanceOf: TypeError,
      code: 'ERR_INVALID_CHAR',
    })
    t.is(err?.message, 'Invalid character in header content ["x-h"]')
  }
})

test('the module exports the same validator behaviour as node:http for a batch of inputs', (t) => {
  const outcome = (f: () => void): string => {
    try {
      f()
      return 'ok'
    } catch (e) {
      return (e as Error & { code?: string }).code ?? 'no-code'
    }
  }
  const names = ['a', 'A-b', 'a b', '', '\t', 'x\u00ff', '~']
  const values: unknown[] = ['a', '', ' ', '\t', '\u00ff', '\u0100', '\n', 0, null, undefined, ['x', '\n']]
  for (const n of names) {
    t.is(outcome(() => http.validateHeaderName(n)), outcome(() => nodeHttp.validateHeaderName(n)), JSON.stringify(n))
  }
  for (const v of values) {
    t.is(
      outcome(() => validateHeaderValue('x', v)),
      outcome(() => nodeValidateHeaderValue('x', v)),
      JSON.stringify(v),
    )
  }
})

test('instanceof: a server is an http.Server, as libraries that take one check with their own node:http', (t) => {
  const server = http.createServer()
  t.true(server instanceof nodeHttp.Server)
  t.true(server instanceof http.Server)
  class Sub extends http.IncomingMessage {}
  t.true(new Sub(null as never) instanceof Sub)
  t.true(new Sub(null as never) instanceof http.IncomingMessage)
  t.true(new Sub(null as never) instanceof nodeHttp.IncomingMessage)
})

test("instanceof: node:http's own messages (a client's response) are instances of the exported classes, as of node:http's", async (t) => {
  const nodeReq = new nodeHttp.IncomingMessage(null as never)
  t.true(nodeReq instanceof http.IncomingMessage)
  t.true(new nodeHttp.ServerResponse(nodeReq) instanceof http.ServerResponse)
  t.false(nodeReq instanceof http.ServerResponse)
  t.false({} instanceof http.IncomingMessage)
  t.false((null as unknown) instanceof http.IncomingMessage)
  // A subclass keeps the ordinary test: its own instances only.
  class Sub extends http.IncomingMessage {}
  t.false(nodeReq instanceof Sub)
  t.true(new Sub(null as never) instanceof Sub)
  // A response of node:http's client, from a server of the module under test.
  const server = http.createServer((_req, res) => res.end('ok'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const { port } = server.address() as { port: number }
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      nodeHttp.get({ host: '127.0.0.1', port, agent: false }, resolve).on('error', reject)
    })
    res.resume()
    t.true(res instanceof http.IncomingMessage)
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
})

test("IncomingMessage and ServerResponse can be called on an object that inherits from them, as node:http's functions (light-my-request does)", (t) => {
  function Req(this: object, socket: unknown) {
    ;(http.IncomingMessage as unknown as (this: object, s: unknown) => void).call(this, socket)
  }
  util.inherits(Req, http.IncomingMessage)
  function Res(this: object, req: unknown) {
    ;(http.ServerResponse as unknown as (this: object, r: unknown) => void).call(this, req)
  }
  util.inherits(Res, http.ServerResponse)
  const req = new (Req as unknown as new (s: unknown) => import('node:http').IncomingMessage)(null)
  const res = new (Res as unknown as new (r: unknown) => import('node:http').ServerResponse)(req)
  t.true(req instanceof http.IncomingMessage)
  t.true(res instanceof http.ServerResponse)
  t.deepEqual(req.headers, {})
  t.is(res.statusCode, 200)
  res.setHeader('X-A', '1')
  t.deepEqual(res.getHeaders(), { 'x-a': '1' })
  t.is(res.req, req)
})

test("the exported Server, IncomingMessage and ServerResponse have node:http's length and source text (feature tests read them)", (t) => {
  for (const name of ['Server', 'IncomingMessage', 'ServerResponse'] as const) {
    t.is(http[name].length, nodeHttp[name].length, name)
    t.is(String(http[name]), String(nodeHttp[name]), name)
    t.is(http[name].toString(), nodeHttp[name].toString(), name)
  }
})
