// What Node keeps in _http_common.js: the method table, the parser error shape, and access to
// node:http's internal fields that our objects must carry for Node's own methods to work on them.
import * as http from 'node:http';
// Named, not `import * as`: the namespace import's __importStar reads every property descriptor
// of node:util, and on Node 22 that loads the modules behind its lazy properties (parseArgs,
// diff, setTraceSigInt -> worker_threads...): about 1 MiB of RSS for nothing.
import { getSystemErrorMap } from 'node:util';
import { PARSE_ERRORS, CODE_REQUEST_TIMEOUT } from './native';

/** node:http's `METHODS`. */
export const METHODS: string[] = http.METHODS.slice().sort();

/**
 * node:http keeps some state under module-private symbols (kNeedDrain on OutgoingMessage,
 * kHeadersCount on IncomingMessage...). Node's prototype methods read them, so our objects must
 * carry the same keys: find each symbol on a throwaway instance by its description.
 */
export function findSymbol(obj: object, description: string): symbol {
  return optionalSymbol(obj, description) ?? Symbol(description);
}
/** The module-private symbol with this description, if this Node line has it. */
export function optionalSymbol(obj: object, description: string): symbol | null {
  return Object.getOwnPropertySymbols(obj).find((s) => s.description === description) ?? null;
}
/**
 * node:http's IncomingMessage and ServerResponse are functions: `http.ServerResponse.call(this,
 * req)` initializes an object that inherits from it (the util.inherits idiom; light-my-request,
 * behind fastify.inject, does this). Ours are classes, which cannot be called: the exported
 * name is the class behind a Proxy that, called on an object, runs Node's constructor on it,
 * and called on nothing constructs. `new`, `extends` and statics reach the class itself.
 *
 * `x instanceof` the exported name is Node's own test (ours extend Node's classes), so node:http's
 * messages (a client's response) are instances too, as they are of `http.IncomingMessage`. The
 * Proxy answers `Symbol.hasInstance` only for itself, never by defining it: a defined
 * `Symbol.hasInstance` costs V8's instanceof fast path process-wide. Subclasses keep the
 * ordinary test. `length` and `toString()` are Node's too.
 */
export function callableClass<C extends new (...args: never[]) => object>(cls: C, nodeConstructor: (...args: unknown[]) => unknown): C {
  const nodeHasInstance = (x: unknown): boolean => x instanceof (nodeConstructor as unknown as new () => object);
  // A Proxy's own source text is "[native code]"; feature tests read Node's (the function a
  // call runs), as they would from node:http.
  const nodeSource = (): string => Function.prototype.toString.call(nodeConstructor);
  const proxy: C = new Proxy(cls, {
    get(target, key, receiver: unknown) {
      if (receiver === proxy) {
        if (key === Symbol.hasInstance) return nodeHasInstance;
        if (key === 'toString') return nodeSource;
        if (key === 'length') return nodeConstructor.length;
      }
      return Reflect.get(target, key, receiver) as unknown;
    },
    apply(target, thisArg: unknown, args: unknown[]) {
      if (thisArg !== null && (typeof thisArg === 'object' || typeof thisArg === 'function')) {
        nodeConstructor.apply(thisArg, args);
        return undefined;
      }
      return new (target as unknown as new (...a: unknown[]) => object)(...args);
    },
  });
  return proxy;
}

const probeReq = new http.IncomingMessage(null as never);
export const probeRes = new http.ServerResponse(probeReq);
export const kNeedDrain = findSymbol(probeRes, 'kNeedDrain');
export const kUniqueHeaders = findSymbol(new http.Server({ uniqueHeaders: ['x'] }), 'kUniqueHeaders');

/**
 * Encodings that write one byte per UTF-16 unit (the low byte: Node's 'ascii' writes as
 * 'latin1' does), so a string's byte length is its length.
 */
export function isOneBytePerUnit(encoding: BufferEncoding | null | undefined): boolean {
  return encoding === 'latin1' || encoding === 'binary' || encoding === 'ascii';
}

export function isUtf8(encoding: BufferEncoding | null | undefined): boolean {
  return encoding === 'utf8' || encoding === 'utf-8';
}

/**
 * Node's isLenient(): --insecure-http-parser (argv or NODE_OPTIONS), the default of a server
 * without the option; Node's own function, so its one-time warning is Node's.
 */
export function defaultInsecureHTTPParser(): boolean {
  try {
    const common = require('_http_common') as { isLenient?: () => boolean };
    if (typeof common.isLenient === 'function') return common.isLenient();
  } catch {
    // gone from this Node: read the flag ourselves
  }
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return flags.includes('--insecure-http-parser');
}

/**
 * Node's HTTPParser.kOnTimeout: the parser slot a server fills with its onParserTimeout and
 * freeParser empties (applications and Node's tests read it).
 */
export const kOnTimeout: number = (() => {
  try {
    const common = require('_http_common') as { HTTPParser?: { kOnTimeout?: number } };
    return (common.HTTPParser?.kOnTimeout ?? 6) | 0;
  } catch {
    return 6;
  }
})();

/** Node's parseUniqueHeadersOption, by way of a (never listening) node:http Server. */
export function parseUniqueHeaders(option: unknown): Set<string> | null {
  if (option == null) return null;
  const probe = new http.Server({ uniqueHeaders: option as string[] }) as unknown as Record<symbol, Set<string> | null>;
  return probe[kUniqueHeaders] ?? null;
}

export interface ParseErrorShape extends Error {
  code: string;
  reason?: string;
  bytesParsed?: number;
  rawPacket?: Buffer;
}

/** The error Node's parser raises, with `code`, `reason`, `bytesParsed` and `rawPacket`. */
export function parseError(index: number, rawPacket: Buffer, bytesParsed: number): ParseErrorShape {
  if (index === CODE_REQUEST_TIMEOUT) {
    const err = new Error('Request timeout') as ParseErrorShape;
    err.code = 'ERR_HTTP_REQUEST_TIMEOUT';
    return err;
  }
  const [code, reason] = PARSE_ERRORS[index] ?? ['HPE_INTERNAL', 'Internal error'];
  // An error found at end of input comes from parser.finish(), whose message has no reason.
  const atEof = code === 'HPE_INVALID_EOF_STATE';
  const err = new Error(atEof ? 'Parse Error' : `Parse Error: ${reason}`) as ParseErrorShape;
  err.code = code;
  err.reason = reason;
  // parser.finish() parses no bytes, and Node has no packet to show for it.
  err.bytesParsed = atEof ? 0 : bytesParsed;
  if (!atEof) err.rawPacket = rawPacket;
  return err;
}

/**
 * A libuv-style system error as net reports it: `listen EADDRINUSE: address already in use
 * :::80` (with the description), or `read ECONNRESET` (Node's errnoException, without).
 */
export function systemError(errno: number, syscall: string, address?: string, port?: number, withDescription = true): NodeJS.ErrnoException {
  const uvErrno = errno > 0 ? -errno : errno;
  let code = 'UNKNOWN';
  let desc = 'unknown error';
  try {
    const entry = getSystemErrorMap().get(uvErrno);
    if (entry) [code, desc] = entry;
  } catch {
    // getSystemErrorMap is present on every supported Node; the fallback keeps errors printable.
  }
  let message = withDescription ? `${syscall} ${code}: ${desc}` : `${syscall} ${code}`;
  if (address !== undefined) message += port !== undefined && port > 0 ? ` ${address}:${port}` : ` ${address}`;
  const err = new Error(message) as NodeJS.ErrnoException & { address?: string; port?: number };
  err.errno = uvErrno;
  err.code = code;
  err.syscall = syscall;
  if (address !== undefined) err.address = address;
  if (port !== undefined && port > 0) err.port = port;
  return err;
}

/** Whether the running Node is `major.minor.patch` or later. */
export function nodeAtLeast(major: number, minor = 0, patch = 0): boolean {
  const [m, n, p] = process.versions.node.split('.').map(Number);
  return m > major || (m === major && (n > minor || (n === minor && p >= patch)));
}

/** Node's ERR_STREAM_DESTROYED. */
export function streamDestroyedError(method: string): Error {
  const err = new Error(`Cannot call ${method} after a stream was destroyed`) as NodeJS.ErrnoException;
  err.code = 'ERR_STREAM_DESTROYED';
  return err;
}

/** Node's runNextTicks: what the close of a top-level MakeCallback scope runs. */
export const runNextTicks = (process as unknown as { _tickCallback: () => void })._tickCallback;
