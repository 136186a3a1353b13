// ferrohttp: the server side of node:http, with the connection in Rust. Change
// `require('node:http')` to `require('ferrohttp')` for createServer and friends; the client side
// (request, get, Agent) is re-exported from node:http unchanged.
import * as http from 'node:http';
import { Server as ServerClass, adoptServer, type ServerOptions } from './lib/server';
import { IncomingMessage as IncomingMessageClass, PublicIncomingMessage } from './lib/incoming';
import { ServerResponse as ServerResponseClass, PublicServerResponse } from './lib/outgoing';
import { METHODS } from './lib/common';

type RequestListener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/**
 * node:http's `Server` may be called without `new` (`http.Server(listener)`); a class cannot,
 * so the export is the class behind a Proxy that constructs on call. `instanceof` and
 * `extends` see the class itself. Called on an object that inherits from it
 * (`http.Server.call(this, ...)`), it initializes that object, as Node's function does.
 */
const nodeServerSource = (): string => Function.prototype.toString.call(http.Server);
export const Server = new Proxy(ServerClass, {
  // A Proxy's own source text is "[native code]"; feature tests read node:http's.
  get(target, key, receiver: unknown) {
    if (key === 'toString' && receiver === Server) return nodeServerSource;
    return Reflect.get(target, key, receiver) as unknown;
  },
  apply(target, thisArg: unknown, args: ConstructorParameters<typeof ServerClass>) {
    if (thisArg instanceof target) {
      adoptServer(thisArg, args);
      return undefined;
    }
    return new target(...args);
  },
}) as typeof ServerClass & ((...args: ConstructorParameters<typeof ServerClass>) => ServerClass);
export type Server = ServerClass;

export function createServer(requestListener?: RequestListener): ServerClass;
export function createServer(options: ServerOptions, requestListener?: RequestListener): ServerClass;
export function createServer(options?: ServerOptions | RequestListener, requestListener?: RequestListener): ServerClass {
  // As node:http's: `createServer(undefined, listener)` keeps the listener (Fastify calls it so).
  return new ServerClass(options as ServerOptions, requestListener);
}

export const STATUS_CODES = http.STATUS_CODES;
export const validateHeaderName = http.validateHeaderName;
export const validateHeaderValue = http.validateHeaderValue;
export const maxHeaderSize = http.maxHeaderSize;
// Client side: node:http's own.
export const request = http.request;
export const get = http.get;
export const Agent = http.Agent;
export const ClientRequest = http.ClientRequest;
export const OutgoingMessage = http.OutgoingMessage;
export const globalAgent = http.globalAgent;

export const IncomingMessage = PublicIncomingMessage;
export type IncomingMessage = IncomingMessageClass;
export const ServerResponse = PublicServerResponse;
export type ServerResponse<Request extends http.IncomingMessage = http.IncomingMessage> = ServerResponseClass<Request>;
export { METHODS };
export type { ServerOptions };
