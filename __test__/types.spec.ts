// ferrohttp's types must be usable where @types/node's http types are expected. The
// assignments below are checked by `tsc --noEmit` (npm run lint); the test checks the same
// objects at run time.
import test from 'ava'
import type * as http from 'node:http'
import type * as ferro from '../index'
import { http as target, listen, close } from './helpers/target'

type FerroServer = ReturnType<typeof ferro.createServer>
type FerroRequest = InstanceType<typeof ferro.IncomingMessage>
type FerroResponse = InstanceType<typeof ferro.ServerResponse>

// Each of these fails to compile if a ferrohttp type stops fitting node's.
export const asNodeServer = (s: FerroServer): http.Server => s
export const asNodeRequest = (r: FerroRequest): http.IncomingMessage => r
export const asNodeResponse = (r: FerroResponse): http.ServerResponse => r
export const listenerFits = (f: typeof ferro.createServer, l: http.RequestListener): FerroServer => f(l)
export const optionsFit = (f: typeof ferro.createServer, o: http.ServerOptions): FerroServer => f(o)

test('objects typed as node:http types behave as them', async (t) => {
  const server = target.createServer((req: http.IncomingMessage, res: http.ServerResponse) => {
    res.setHeader('x-url', req.url ?? '')
    res.end('typed')
  })
  const port = await listen(server)
  const res = await fetch(`http://127.0.0.1:${port}/t`)
  t.is(res.headers.get('x-url'), '/t')
  t.is(await res.text(), 'typed')
  await close(server)
})
