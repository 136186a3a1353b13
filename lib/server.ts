// Server (Node's _http_server.js). The wire is Rust's; what Node does per socket in JS --
// the incoming/outgoing queues, resOnFinish, keep-alive timeouts, socketOnError's canned replies --
// is done here, the same way, against our Socket. Function names follow Node's so a reader of
// _http_server.js finds each behaviour where they expect it.
// lib/ stays ASCII, comments included: V8 keeps each module's source text on the heap, and a
// single non-ASCII character stores all of it as UTF-16 (this file's became a 150 KB object).
import { AsyncResource } from 'node:async_hooks';
import * as dns from 'node:dns';
import type { EventEmitter } from 'node:events';
// Named, not `import * as` (see common.ts).
import { unlinkSync } from 'node:fs';
import * as net from 'node:net';
import * as http from 'node:http';
import { inspect } from 'node:util';
import { binding, NATIVE_METHODS, type BindingServer } from './native';
import {
  EV_BODY,
  EV_CLOSE,
  EV_CONNECTION,
  EV_DATA,
  EV_UPGRADE_HEAD,
  EV_READ_END,
  EV_EARLY_DATA,
  EV_DRAIN,
  EV_DROP,
  EV_END,
  EV_EOF,
  EV_EOF_END,
  EV_ERROR,
  EV_HEAD,
  EV_TIMEOUT,
  HEAD_HAS_BODY,
  HEAD_HAS_EXPECT,
  HEAD_HAS_HOST,
  HEAD_KEEP_ALIVE,
  HEAD_UPGRADE,
  OP_RESPONSE_DONE,
  OP_TAP,
  OP_UPGRADE,
} from './native';
import { defaultInsecureHTTPParser, kNeedDrain, kOnTimeout, kUniqueHeaders, nodeAtLeast, optionalSymbol, parseError, parseUniqueHeaders, runNextTicks, systemError, type ParseErrorShape } from './common';
import { Outbox, Socket, type HeldEvent } from './socket';
import { addServerAbortSignal, checkBindError, cluster, exceptionWithHostPort, handleOwnerSymbol, isTcpWrap, pipeChmod, UV_TCP_IPV6ONLY, UV_TCP_REUSEPORT, type ListenHandle } from './listen';
import { IncomingMessage } from './incoming';
import { ServerResponse } from './outgoing';

// Node answers these before closing a connection it cannot parse (socketOnError).
const badRequestResponse = Buffer.from(`HTTP/1.1 400 ${http.STATUS_CODES[400]}\r\nConnection: close\r\n\r\n`, 'ascii');
const requestTimeoutResponse = Buffer.from(`HTTP/1.1 408 ${http.STATUS_CODES[408]}\r\nConnection: close\r\n\r\n`, 'ascii');
const requestHeaderFieldsTooLargeResponse = Buffer.from(
  `HTTP/1.1 431 ${http.STATUS_CODES[431]}\r\nConnection: close\r\n\r\n`,
  'ascii',
);
const requestChunkExtensionsTooLargeResponse = Buffer.from(
  `HTTP/1.1 413 ${http.STATUS_CODES[413]}\r\nConnection: close\r\n\r\n`,
  'ascii',
);

const HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER = 1000;
/**
 * Server options later Node lines added (22: keepAliveTimeoutBuffer, shouldUpgradeCallback),
 * taken when the running Node's own server has them, so a server behaves as node:http's there.
 */
const probeServer = new http.Server() as http.Server & Record<string, unknown>;
const HAS_KEEP_ALIVE_TIMEOUT_BUFFER = 'keepAliveTimeoutBuffer' in probeServer;
const HAS_SHOULD_UPGRADE_CALLBACK = typeof probeServer.shouldUpgradeCallback === 'function';
/** Node 24: `httpValidation` ('strict' / 'relaxed' / 'insecure'), which of llhttp's lenient flags. */
const HAS_HTTP_VALIDATION = 'httpValidation' in probeServer;
const HTTP_VALIDATION_MODES = ['strict', 'relaxed', 'insecure'] as const;
type HttpValidation = (typeof HTTP_VALIDATION_MODES)[number];
/**
 * Node 24: `optimizeEmptyRequests`, a request without Content-Length or Transfer-Encoding ended
 * and dumped before 'request' (IncomingMessage#_dumpAndCloseReadable).
 */
const HAS_OPTIMIZE_EMPTY_REQUESTS = typeof (http.IncomingMessage.prototype as unknown as Record<string, unknown>)._dumpAndCloseReadable === 'function';
const kOptimizeEmptyRequests = Symbol('OptimizeEmptyRequestsOption');
/**
 * Node 24's req.signal listens for the socket's 'close' until the response finishes; its
 * resOnFinish detaches it (the method is on IncomingMessage.prototype under this symbol).
 */
const kDetachAbortSignal = optionalSymbol(http.IncomingMessage.prototype, 'kDetachAbortSignal');
/** Node 24's socketOnClose also destroys the responses still queued behind the current one. */
const ABORTS_QUEUED_RESPONSES = nodeAtLeast(24);
/** From Node 21 (nodejs/node#48276) `maxConnections = 0` drops every connection; before, no limit. */
const ZERO_MAX_CONNECTIONS_DROPS = nodeAtLeast(21);
/**
 * Node's symbol for the server's connection-checking timer (exported by `_http_server`), so code
 * that reads Node's server there reads ours.
 */
const kConnectionsCheckingInterval: unique symbol = (require('node:_http_server') as { kConnectionsCheckingInterval: symbol })
  .kConnectionsCheckingInterval as never;
/** The HEAD event's version word (major << 8 | minor) for HTTP/1.1. */
const HTTP_1_1 = 0x101;
const continueExpression = /(?:^|\W)100-continue(?:$|\W)/i;

type RequestListener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface ServerOptions extends http.ServerOptions {
  /** Requests one connection may have in flight before reading pauses. */
  maxPipelinedRequests?: number;
  /** Node 22+: added to keepAliveTimeout for the socket's own idle timeout (default 1000 ms). */
  keepAliveTimeoutBuffer?: number;
  /** Node 22+: whether a request with `Upgrade` is an upgrade (default: an 'upgrade' listener). */
  shouldUpgradeCallback?: (this: http.Server, req: http.IncomingMessage) => boolean;
}

/** Fields of Node's objects that @types/node does not declare. */
type Req = http.IncomingMessage & { joinDuplicateHeaders: boolean; upgrade: boolean; _addHeaderLines(h: string[], n: number): void };
type Res = http.ServerResponse & {
  [kConn]?: Socket;
  [kState]?: ConnParser;
  _last: boolean;
  maxRequestsOnConnectionReached: boolean;
  _keepAliveTimeout: number;
  _maxRequestsPerSocket: number;
  _onPendingData: (delta: number) => void;
  _expect_continue: boolean;
};
/** node:http server events of the private server that serves foreign streams: this server's. */
const FORWARDED_EVENTS: ReadonlySet<string | symbol> = new Set([
  'request',
  'checkContinue',
  'checkExpectation',
  'upgrade',
  'connect',
  'clientError',
  'dropRequest',
  'timeout',
]);

/** OP_UPGRADE's value when a socket taken over by the application is handed back to HTTP. */
const UPGRADE_BACK_TO_HTTP = 2;

/** The connection a response belongs to (Node binds it into per-response closures). */
const kConn = Symbol('ferrohttp.connection');
/** Its connection's HTTP state, kept past an upgrade (which clears socket.parser), as in Node. */
const kState = Symbol('ferrohttp.state');
type Latin1Buffer = Buffer & { latin1Slice(start: number, end: number): string };

/** Per-connection HTTP state: Node keeps it in `state` and `socket.parser`. */
class ConnParser {
  [slot: number]: unknown;
  incoming: http.IncomingMessage | null = null;
  incomingQueue: http.IncomingMessage[] = [];
  outgoing: http.ServerResponse[] = [];
  outgoingData = 0;
  requestsCount = 0;
  /** Node's state.keepAliveTimeoutSet: the idle timeout is the keep-alive's until a request. */
  keepAliveTimeoutSet = false;
  /** The idle timeout Rust restores at the next request (sent with OP_RESPONSE_DONE). */
  restoreTimeout = 0;

  /** The socket listeners an upgrade removes (Node: state.onEnd, state.onClose, state.onDrain). */
  onEnd: () => void = noop;
  onClose: () => void = noop;
  onDrain: () => void = noop;

  /** The parse error Rust found at the peer's FIN (a message cut short): Node's parser.finish() finds it. */
  eofError: ParseErrorShape | null = null;

  /**
   * Node's parser.maxHeaderPairs: header (and trailer) entries kept per message, taken from
   * server.maxHeadersCount when the connection comes (`<< 1`), else 2000; 0 or less, no limit.
   */
  maxHeaderPairs = MAX_HEADER_PAIRS;

  /** The request whose body the peer's end completes (EV_EOF_END), completed by finish(). */
  completeAtFinish: (() => void) | null = null;

  /**
   * Node's HTTPParser#finish, called at the socket's 'end': completes a body that runs to the
   * peer's end, or returns the error of a message cut short.
   */
  finish(): ParseErrorShape | undefined {
    const complete = this.completeAtFinish;
    this.completeAtFinish = null;
    complete?.();
    return this.eofError ?? undefined;
  }

  // Node's HTTPParser methods that freeParser calls when the socket closes or is upgraded;
  // applications (and Node's tests) hook them. Nothing to release here.
  free(): void {}

  close(): void {}
}

/** Node's freeParser for the server's socket: the socket no longer has a parser. */
function freeParser(socket: Socket): void {
  const parser = socket.parser as ConnParser | null;
  if (parser) {
    parser[kOnTimeout] = null;
    parser.free();
  }
  socket.parser = null;
}

/** Node's onParserTimeout, in the parser's kOnTimeout slot. */
function onParserTimeout(server: Server, socket: Socket): void {
  if (!server.emit('timeout', socket)) socket.destroy();
}

/** Node's ERR_INVALID_ARG_TYPE for one expected type ("property" for a dotted name). */
function invalidArgType(name: string, type: string, value: unknown): TypeError {
  const what = name.includes('.') ? 'property' : 'argument';
  const err = new TypeError(`The "${name}" ${what} must be of type ${type}. Received ${describe(value)}`) as TypeError & { code: string };
  err.code = 'ERR_INVALID_ARG_TYPE';
  return err;
}

/** Node's ERR_OUT_OF_RANGE, which shows integers beyond 2 ** 32 with `_` separators. */
function outOfRange(name: string, range: string, value: number): RangeError {
  const received = Number.isInteger(value) && Math.abs(value) > 2 ** 32 ? String(value).replace(/\B(?=(\d{3})+$)/g, '_') : inspect(value);
  const err = new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${received}`) as RangeError & { code: string };
  err.code = 'ERR_OUT_OF_RANGE';
  return err;
}

/** Node's validateInteger(value, name, min), with its messages. */
function validateInteger(value: unknown, name: string, min = 0): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > Number.MAX_SAFE_INTEGER) throw outOfRange(name, `>= ${min} && <= ${Number.MAX_SAFE_INTEGER}`, value);
}

function validateBoolean(value: unknown, name: string): void {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'boolean', value);
}

/** Node's ERR_INVALID_ARG_VALUE. */
function invalidArgValue(name: string, value: unknown, reason: string): TypeError {
  let shown = inspect(value);
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
  const err = new TypeError(`The ${name.includes('.') ? 'property' : 'argument'} '${name}' ${reason}. Received ${shown}`) as TypeError & { code: string };
  err.code = 'ERR_INVALID_ARG_VALUE';
  return err;
}

/**
 * The checks of Node's http.Server constructor that come before net.Server's (storeHTTPOptions),
 * in its order, for the options of the running Node line; the options net.Server gets.
 */
function checkServerOptions(o: ServerOptions & Record<string, unknown>): net.ServerOpts {
  if (o.maxHeaderSize !== undefined) validateInteger(o.maxHeaderSize, 'maxHeaderSize');
  if (HAS_OPTIMIZE_EMPTY_REQUESTS && o.optimizeEmptyRequests !== undefined) validateBoolean(o.optimizeEmptyRequests, 'options.optimizeEmptyRequests');
  if (o.insecureHTTPParser !== undefined) validateBoolean(o.insecureHTTPParser, 'options.insecureHTTPParser');
  if (HAS_HTTP_VALIDATION && o.httpValidation !== undefined) {
    if (!HTTP_VALIDATION_MODES.includes(o.httpValidation as never)) {
      throw invalidArgValue('options.httpValidation', o.httpValidation, `must be one of: ${HTTP_VALIDATION_MODES.map((m) => `'${m}'`).join(', ')}`);
    }
    if (o.insecureHTTPParser !== undefined) {
      throw invalidArgValue('options.httpValidation', o.httpValidation, 'cannot be used together with options.insecureHTTPParser');
    }
  }
  if (o.requestTimeout !== undefined) validateInteger(o.requestTimeout, 'requestTimeout');
  const requestTimeout = o.requestTimeout ?? 300_000;
  if (o.headersTimeout !== undefined) validateInteger(o.headersTimeout, 'headersTimeout');
  const headersTimeout = o.headersTimeout ?? Math.min(60_000, requestTimeout);
  if (requestTimeout > 0 && headersTimeout > 0 && headersTimeout > requestTimeout) {
    throw outOfRange('headersTimeout', '<= requestTimeout', headersTimeout);
  }
  if (o.keepAliveTimeout !== undefined) validateInteger(o.keepAliveTimeout, 'keepAliveTimeout');
  if (HAS_KEEP_ALIVE_TIMEOUT_BUFFER && o.keepAliveTimeoutBuffer !== undefined) validateInteger(o.keepAliveTimeoutBuffer, 'keepAliveTimeoutBuffer');
  if (o.connectionsCheckingInterval !== undefined) validateInteger(o.connectionsCheckingInterval, 'connectionsCheckingInterval');
  for (const name of ['requireHostHeader', 'joinDuplicateHeaders', 'rejectNonStandardBodyWrites'] as const) {
    if (o[name] !== undefined) validateBoolean(o[name], `options.${name}`);
  }
  if (HAS_SHOULD_UPGRADE_CALLBACK && o.shouldUpgradeCallback !== undefined && typeof o.shouldUpgradeCallback !== 'function') {
    throw invalidArgType('options.shouldUpgradeCallback', 'function', o.shouldUpgradeCallback);
  }
  // net.Server checks keepAliveInitialDelay and highWaterMark, and keeps these four.
  return {
    allowHalfOpen: true,
    noDelay: o.noDelay ?? true,
    keepAlive: o.keepAlive,
    keepAliveInitialDelay: o.keepAliveInitialDelay,
    highWaterMark: o.highWaterMark,
  } as net.ServerOpts;
}

/** Node's determineSpecificType: how its ERR_INVALID_ARG_TYPE messages show the value. */
function describe(value: unknown): string {
  if (value == null) return String(value);
  switch (typeof value) {
    case 'bigint':
      return `type bigint (${value}n)`;
    case 'string': {
      const s = value.length > 28 ? `${value.slice(0, 25)}...` : value;
      return s.includes("'") ? `type string (${JSON.stringify(s)})` : `type string ('${s}')`;
    }
    case 'function':
      return `function ${value.name}`;
    case 'object':
      if (value.constructor?.name) return `an instance of ${value.constructor.name}`;
      return inspect(value, { depth: -1 });
    default:
      return `type ${typeof value} (${inspect(value, { colors: false })})`;
  }
}

/** net's toNumber: a number >= 0, or false. */
function toNumber(x: unknown): number | false {
  const n = Number(x);
  return n >= 0 ? n : false;
}

/** net's isPipeName: a string that is not a number. */
function isPipeName(s: unknown): s is string {
  return typeof s === 'string' && toNumber(s) === false;
}

/**
 * Node's handle[owner_symbol] = server: node:cluster reaches a worker's server through it (its
 * maxConnections check, and the servers disconnect() closes).
 */
function setHandleOwner(handle: ListenHandle, server: Server): void {
  const owner = handleOwnerSymbol();
  if (owner) handle[owner] = server;
}

/** What listenInCluster passes on: net.js's arguments of the same name. */
interface ClusterListen {
  address: string | null;
  port: number | null;
  addressType: number | null;
  backlog?: number | false;
  fd?: number;
  exclusive?: boolean;
  /** libuv TCP flags (UV_TCP_IPV6ONLY, UV_TCP_REUSEPORT), where net.js passes them. */
  flags?: number;
  extra?: Record<string, unknown>;
}

/** The backlog listen() asked for, else net.js's 511 (the kernel rounds 511 + 1 up to 512). */
function backlogOf(q: ClusterListen): number {
  return typeof q.backlog === 'number' && q.backlog > 0 ? q.backlog : 511;
}

/** Node's validatePort (zero allowed): the port as an integer, or ERR_SOCKET_BAD_PORT. */
function validatePort(port: unknown, name: string): number {
  if (
    (typeof port !== 'number' && typeof port !== 'string') ||
    (typeof port === 'string' && port.trim().length === 0) ||
    +port !== +port >>> 0 ||
    +port > 0xffff
  ) {
    const err = new RangeError(`${name} should be >= 0 and < 65536. Received ${describe(port)}.`) as RangeError & { code: string };
    err.code = 'ERR_SOCKET_BAD_PORT';
    throw err;
  }
  return (port as number) | 0;
}

/** The object the Server being constructed initializes instead of a new one (see adoptServer). */
let adoptee: object | null = null;

/**
 * net.Server, except that a construction started by adoptServer() initializes that object: a
 * derived constructor may return another object, and the subclass's fields and constructor
 * body then apply to it.
 */
class AdoptingNetServer extends net.Server {
  constructor(options: net.ServerOpts) {
    const target = adoptee;
    adoptee = null;
    if (target !== null) {
      (net.Server as unknown as (this: object, o: net.ServerOpts) => void).call(target, options);
      return target as AdoptingNetServer;
    }
    super(options);
  }
}

/**
 * Node's `http.Server.call(this, ...)` on an object that inherits from Server (the pre-class
 * inheritance idiom): initializes `self` as a Server, as Node's function constructor does.
 */
export function adoptServer(self: Server, args: unknown[]): void {
  adoptee = self;
  try {
    new (Server as new (...a: unknown[]) => Server)(...args);
  } finally {
    adoptee = null;
  }
}

export class Server extends AdoptingNetServer {
  timeout = 0;
  /** Node's data property, here an own accessor (see PARSER_SETTINGS). */
  declare maxHeadersCount: number | null;
  maxRequestsPerSocket = 0;
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  /** Node 22+ only (undefined on Node 20, as there). */
  declare keepAliveTimeoutBuffer?: number;
  /** Node 22+ only (undefined on Node 20, as there). */
  declare shouldUpgradeCallback?: (this: http.Server, req: http.IncomingMessage) => boolean;
  requireHostHeader: boolean;
  joinDuplicateHeaders: boolean | undefined;
  rejectNonStandardBodyWrites: boolean;
  /** Own accessors, as maxHeadersCount (see PARSER_SETTINGS). */
  declare insecureHTTPParser: boolean | undefined;
  declare maxHeaderSize: number | undefined;
  /** Node 24 only (absent before, as there): which of llhttp's lenient flags the parser takes. */
  declare httpValidation?: HttpValidation;
  declare [kOptimizeEmptyRequests]?: boolean;
  httpAllowHalfOpen = false;
  listening = false;
  // Set by net.Server's constructor from the options checkServerOptions passes on.
  declare highWaterMark: number;
  declare readonly noDelay: boolean;
  declare readonly keepAlive: boolean;
  declare readonly keepAliveInitialDelay: number;
  readonly maxPipelinedRequests: number;
  connectionsCheckingInterval: number;
  /**
   * Node checks headersTimeout / requestTimeout of all connections on this interval; Rust times
   * each connection itself, so ours only marks the span from 'listening' to close(), as Node's
   * does (`_destroyed`).
   */
  declare [kConnectionsCheckingInterval]?: NodeJS.Timeout;
  readonly IncomingMessageClass: typeof http.IncomingMessage;
  readonly ServerResponseClass: typeof http.ServerResponse;

  /** Node's server[kUniqueHeaders]: response headers sent once, values joined with '; '. */
  private readonly uniqueHeaders: Set<string> | null;
  /** The listening native server and its Outbox; null once closed. */
  private native: BindingServer | null = null;
  private outbox: Outbox | null = null;
  /**
   * The Outboxes of every native server still listening or serving connections: like net.Server,
   * a closed server may listen again before its connections are gone.
   */
  private readonly outboxes = new Set<Outbox>();
  private boundAddress: net.AddressInfo | string | null = null;
  /**
   * net.Server's listening handle: set while listening, null otherwise. Code outside Node reads
   * it (supertest closes a server only `if (server._handle)`; others take `_handle.fd`).
   */
  _handle: ServerHandle | null = null;
  /**
   * A libuv handle this server listens through that someone else made: what a cluster worker's
   * primary handed over, or a TCP handle given to listen(). Closed with the server, as Node's.
   */
  private foreignHandle: ListenHandle | null = null;
  private maxConnectionsValue: number | undefined = undefined;
  /** The values behind the PARSER_SETTINGS accessors. */
  private readonly parserSettings: Record<string, unknown> = { maxHeadersCount: null };
  private closing = false;
  /** Bumped by close(): a listen still resolving its host is cancelled (Node's _listeningId). */
  private listeningId = 0;
  private unrefed = false;

  constructor(requestListener?: RequestListener);
  constructor(options: ServerOptions, requestListener?: RequestListener);
  constructor(options?: ServerOptions | RequestListener, requestListener?: RequestListener) {
    if (typeof options === 'function') {
      requestListener = options;
      options = {};
    } else if (options == null) {
      options = {};
    } else if (typeof options !== 'object' || Array.isArray(options)) {
      // Node's validateObject: arrays are refused too.
      throw invalidArgType('options', 'object', options);
    }
    const o = options as ServerOptions & Record<string, unknown>;
    // net.Server's constructor also sets up EventEmitter (captureRejections follows
    // events.captureRejections unless the options say otherwise).
    super(checkServerOptions(o));
    for (const name of PARSER_SETTINGS) {
      Object.defineProperty(this, name, {
        get: () => this.parserSettings[name],
        set: (v: unknown) => {
          this.parserSettings[name] = v;
          for (const outbox of this.outboxes) this.applyParserLimits(outbox.native);
        },
        enumerable: true,
        configurable: true,
      });
    }
    this.IncomingMessageClass = o.IncomingMessage ?? IncomingMessage;
    this.ServerResponseClass = (o.ServerResponse as typeof http.ServerResponse | undefined) ?? ServerResponse;
    this.maxHeaderSize = o.maxHeaderSize;
    if (HAS_OPTIMIZE_EMPTY_REQUESTS) this[kOptimizeEmptyRequests] = (o.optimizeEmptyRequests as boolean | undefined) || false;
    this.insecureHTTPParser = o.insecureHTTPParser;
    if (HAS_HTTP_VALIDATION) this.httpValidation = o.httpValidation as HttpValidation | undefined;
    this.requestTimeout = o.requestTimeout ?? 300_000;
    this.headersTimeout = o.headersTimeout ?? Math.min(60_000, this.requestTimeout);
    this.keepAliveTimeout = o.keepAliveTimeout ?? 5_000;
    if (HAS_KEEP_ALIVE_TIMEOUT_BUFFER) this.keepAliveTimeoutBuffer = o.keepAliveTimeoutBuffer ?? HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER;
    if (HAS_SHOULD_UPGRADE_CALLBACK) this.shouldUpgradeCallback = o.shouldUpgradeCallback ?? defaultShouldUpgrade;
    this.requireHostHeader = o.requireHostHeader ?? true;
    this.joinDuplicateHeaders = o.joinDuplicateHeaders;
    this.rejectNonStandardBodyWrites = o.rejectNonStandardBodyWrites ?? false;
    this.maxPipelinedRequests = o.maxPipelinedRequests ?? 64;
    this.connectionsCheckingInterval = o.connectionsCheckingInterval ?? 30_000;
    this.uniqueHeaders = parseUniqueHeaders(o.uniqueHeaders);
    if (requestListener) this.on('request', requestListener);
    this.on('listening', setupConnectionsTracking);
    this.on('connection', this.connectionListener);
  }

  /**
   * net.Server#listen: its argument rules (normalizeArgs, validatePort), the cluster module's
   * part (listenInCluster), then a native bind.
   */
  override listen(...args: unknown[]): this {
    const last = args[args.length - 1];
    const cb = typeof last === 'function' ? (last as () => void) : null;
    const arg0 = args[0];
    let options: Record<string, unknown>;
    if (typeof arg0 === 'object' && arg0 !== null) {
      options = arg0 as Record<string, unknown>;
    } else if (isPipeName(arg0)) {
      options = { path: arg0 };
    } else {
      options = { port: arg0 };
      if (args.length > 1 && typeof args[1] === 'string') options.host = args[1];
    }
    if (this.native || this._handle) {
      const err = new Error('Listen method has been called more than once without closing.') as Error & { code: string };
      err.code = 'ERR_SERVER_ALREADY_LISTEN';
      throw err;
    }
    if (cb) this.once('listening', cb);
    // (handle, backlog), (path, backlog) or (port, backlog), or (port, host, backlog)
    const backlogFromArgs = toNumber(args.length > 1 && args[1]) || toNumber(args.length > 2 && args[2]);
    // A server or `{ handle }`: listen on its handle.
    options = (options._handle || options.handle || options) as Record<string, unknown>;
    this.listeningId++;
    if (options instanceof ServerHandle) {
      // Another of our servers' handle: its socket, from a copy of the descriptor.
      this.listenOnFd(options.fd, backlogFromArgs || 511, null);
      return this;
    }
    if (isTcpWrap(options)) {
      // net.js: the handle becomes this server's (never through a cluster primary); its
      // connections come here from now on.
      this.listenOnHandle(options, { address: null, port: -1, addressType: -1, backlog: backlogFromArgs });
      return this;
    }
    addServerAbortSignal(this, options.signal);
    if (typeof options.fd === 'number' && options.fd >= 0) {
      this.listenInCluster({ address: null, port: null, addressType: null, backlog: backlogFromArgs, fd: options.fd });
      return this;
    }
    // listen(), listen(null), listen(cb), or options with port undefined / null: any free port.
    // Node writes the 0 into the caller's options.
    if (args.length === 0 || typeof arg0 === 'function' || (options.port === undefined && 'port' in options) || options.port === null) {
      options.port = 0;
    }
    if (typeof options.port === 'number' || typeof options.port === 'string') {
      const port = validatePort(options.port, 'options.port');
      const backlog = (options.backlog as number | undefined) || backlogFromArgs;
      let flags = options.ipv6Only === true ? UV_TCP_IPV6ONLY : 0;
      // Node 22.12's reusePort, taken on every Node line here: servers of several threads or
      // processes share the port, the kernel spreads connections over them.
      if (options.reusePort === true) flags |= UV_TCP_REUSEPORT;
      const exclusive = !!options.exclusive;
      const host = options.host ? String(options.host) : undefined;
      if (host === undefined) {
        // Default addressType 4 is how a cluster primary finds the handle.
        this.listenInCluster({ address: null, port, addressType: 4, backlog, exclusive, flags });
      } else {
        // Like net.Server: resolve the name, bind the first address. An IP literal too: its
        // lookup answers on the next tick, so until then address() is null, as in Node.
        const listeningId = this.listeningId;
        dns.lookup(host, (err, address, family) => {
          // close() meanwhile cancels the listen (Node's _listeningId).
          if (listeningId !== this.listeningId) return;
          if (err) {
            this.emit('error', err);
            return;
          }
          this.listenInCluster({ address, port, addressType: family, backlog, exclusive, flags });
        });
      }
      return this;
    }
    if (options.path && isPipeName(options.path)) {
      const path = options.path;
      if (path[0] === '\0' && (options.readableAll || options.writableAll)) {
        throw invalidArgValue('options', options, 'can not set readableAll or writableAllt to true when path is abstract unix socket');
      }
      const backlog = (options.backlog as number | undefined) || backlogFromArgs;
      const readableAll = options.readableAll === true;
      const writableAll = options.writableAll === true;
      this.listenInCluster({ address: path, port: -1, addressType: -1, backlog, exclusive: !!options.exclusive, extra: { readableAll: options.readableAll, writableAll: options.writableAll } });
      if (this.listening && (readableAll || writableAll)) {
        const errno = pipeChmod(path, readableAll, writableAll);
        if (errno !== 0) {
          this.close();
          throw systemError(errno, 'uv_pipe_chmod', undefined, undefined, false);
        }
      }
      return this;
    }
    throw invalidArgValue('options', options, 'port' in options || 'path' in options ? 'is invalid' : 'must have the property "port" or "path"');
  }

  /**
   * net.js's listenInCluster: a cluster worker's server listens on what its primary hands over
   * (a shared listening socket, or connections one by one); anywhere else, or with `exclusive`,
   * the server binds itself.
   */
  private listenInCluster(q: ClusterListen): void {
    const { address, port, addressType, backlog, fd } = q;
    if (q.exclusive || cluster().isPrimary) {
      this.bindHere(q);
      return;
    }
    const query = { address, port, addressType, fd, flags: q.flags, backlog, ...q.extra };
    const listeningId = this.listeningId;
    cluster()._getServer(this, query, (err, handle) => {
      if (listeningId !== this.listeningId) {
        handle.close();
        return;
      }
      err = checkBindError(err, port, handle);
      if (err) {
        this.emit('error', exceptionWithHostPort(err, 'bind', address, port));
        return;
      }
      this.listenOnClusterHandle(handle, q);
    });
  }

  /** net.js's _listen2 without a handle yet: bind here. */
  private bindHere(q: ClusterListen): void {
    const backlog = backlogOf(q);
    if (typeof q.fd === 'number') {
      this.listenOnFd(q.fd, backlog, null);
    } else if (q.port === -1 && typeof q.address === 'string') {
      this.bindPath(q.address, backlog);
    } else {
      const flags = q.flags ?? 0;
      this.bindNow(q.address ?? '', q.port ?? 0, backlog, (flags & UV_TCP_IPV6ONLY) !== 0, (flags & UV_TCP_REUSEPORT) !== 0);
    }
  }

  /**
   * Listens on a copy of an existing socket (`listen({ fd })`, `listen(handle)`, a cluster
   * primary's shared socket); `foreignHandle`, if any, is closed with the server.
   */
  private listenOnFd(fd: number, backlog: number, foreignHandle: ListenHandle | null, pipeName: string | null = null): void {
    const outbox = this.createNative();
    const result = outbox.native.listenFd(fd, backlog);
    // A Unix socket has no address to read back: address() is the path listen() was given.
    const address = result.address == null ? pipeName : { address: result.address, family: result.family ?? 'IPv6', port: result.port ?? 0 };
    this.afterBind(outbox, result, null, 0, address, foreignHandle);
  }

  /**
   * What a cluster worker's server gets from its primary: under SCHED_NONE the listening socket
   * itself, accepted from here as any other; under round-robin (the default but on Windows) a
   * stand-in handle through which the primary passes each connection it accepted.
   */
  private listenOnClusterHandle(handle: ListenHandle, q: ClusterListen): void {
    if (typeof handle.fd === 'number') {
      setHandleOwner(handle, this);
      if (handle.fd < 0) {
        handle.close();
        this.emit('error', systemError(-22, 'listen', q.address ?? undefined, q.port ?? undefined));
        return;
      }
      this.listenOnFd(handle.fd, backlogOf(q), handle, q.port === -1 ? q.address : null);
      return;
    }
    this.listenOnHandle(handle, q);
  }

  /**
   * Takes over a handle that accepts connections itself (a round-robin cluster stand-in, or a
   * net.Server's TCP handle): each connection it accepts is served from a copy of its descriptor.
   */
  private listenOnHandle(handle: ListenHandle, q: ClusterListen): void {
    setHandleOwner(handle, this);
    const outbox = this.createNative();
    handle.onconnection = (err, clientHandle) => this.onHandleConnection(outbox, err, clientHandle);
    const err = handle.listen?.(backlogOf(q)) ?? 0;
    if (err) {
      this.afterBind(outbox, { errno: err }, q.address, q.port ?? 0, null, handle);
      return;
    }
    let address: net.AddressInfo | string | null = null;
    if (handle.getsockname) {
      const out: Record<string, unknown> = {};
      handle.getsockname(out);
      if (typeof out.port === 'number') address = { address: String(out.address), family: String(out.family), port: out.port };
    } else if (q.port === -1 && typeof q.address === 'string') {
      address = q.address;
    }
    this.afterBind(outbox, { fd: typeof handle.fd === 'number' ? handle.fd : -1 }, null, 0, address, handle);
  }

  /** A connection a handle accepted (see listenOnHandle): served from a copy of its descriptor. */
  private onHandleConnection(outbox: Outbox, err: number, clientHandle: ListenHandle): void {
    if (err) {
      this.emit('error', systemError(err, 'accept', undefined, undefined, false));
      return;
    }
    const fd = clientHandle.fd;
    const errno = outbox === this.outbox && typeof fd === 'number' ? outbox.native.adopt(fd) : null;
    clientHandle.close();
    if (errno !== null && errno !== undefined) this.emit('error', systemError(errno, 'accept', undefined, undefined, false));
  }

  private bindPath(path: string, backlog: number): void {
    const outbox = this.createNative();
    const result = outbox.native.listenPath(path, backlog);
    this.afterBind(outbox, result, path, 0, path);
  }

  /** A native server and its Outbox, not yet listening. */
  private createNative(): Outbox {
    let outbox: Outbox | null = null;
    // Handlers run in the async context listen() was called in, as they do under net.Server's
    // handle in Node. The native callback scopes carry async_hooks' ids but not Node 24's
    // AsyncContextFrame, which AsyncLocalStorage follows there; an AsyncResource carries both.
    const listenContext = new AsyncResource('FERROHTTP_SERVER');
    const native = new binding.BindingServer((buf: Buffer) => listenContext.runInAsyncScope(this.onBatch, this, outbox, buf), {
      llhttpVersion: process.versions.llhttp,
      headersTimeout: this.headersTimeout,
      requestTimeout: this.requestTimeout,
      highWaterMark: this.highWaterMark,
      noDelay: this.noDelay,
      keepAlive: this.keepAlive,
      keepAliveInitialDelay: this.keepAliveInitialDelay * 1000,
      maxPipelined: this.maxPipelinedRequests,
      keepAliveTimeout: keepAliveMs(this),
    });
    native.setMaxConnections(connectionLimit(this.maxConnectionsValue));
    this.applyParserLimits(native);
    // Like net.Server's connection count: kept by the socket, not by a listener an upgrade drops.
    outbox = new Outbox(native, () => this.emitCloseIfDrained());
    this.outboxes.add(outbox);
    return outbox;
  }

  private bindNow(host: string, port: number, backlog: number, ipv6Only: boolean, reusePort: boolean): void {
    const outbox = this.createNative();
    const result = outbox.native.listen(host, port, backlog, ipv6Only, reusePort);
    const address = result.address === undefined ? null : { address: result.address, family: result.family ?? 'IPv6', port: result.port ?? port };
    this.afterBind(outbox, result, host === '' ? '::' : host, port, address);
  }

  private afterBind(
    outbox: Outbox,
    result: { errno?: number | null; fd?: number | null },
    errAddress: string | null,
    errPort: number,
    address: net.AddressInfo | string | null,
    foreignHandle: ListenHandle | null = null,
  ): void {
    const native = outbox.native;
    if (result.errno !== undefined && result.errno !== null) {
      this.outboxes.delete(outbox);
      native.release();
      foreignHandle?.close();
      const err = systemError(result.errno, 'listen', errAddress ?? undefined, errPort);
      process.nextTick(() => this.emit('error', err));
      return;
    }
    this.foreignHandle = foreignHandle;
    this.native = native;
    this.outbox = outbox;
    this.closing = false;
    this.boundAddress = address;
    this.listening = true;
    this._handle = new ServerHandle(this, result.fd ?? -1);
    this._updateLoopHold();
    // Node's emitListeningNT: a server closed in the meantime (no handle) stays silent.
    process.nextTick(() => {
      if (this._handle) this.emit('listening');
    });
  }

  override address(): net.AddressInfo | string | null {
    if (!this.listening || this.boundAddress === null) return null;
    return typeof this.boundAddress === 'string' ? this.boundAddress : { ...this.boundAddress };
  }

  /** The parser settings Node reads as each connection comes, for `native`'s next ones. */
  private applyParserLimits(native: BindingServer): void {
    const { insecureHttpParser, relaxedHeaderValues } = parserLeniency(this);
    native.setParserLimits(maxHeaderSizeOf(this), insecureHttpParser, relaxedHeaderValues, headerLineLimit(maxHeaderPairsOf(this)));
  }

  /** Applies `server.maxConnections` (see the accessor after the class). */
  _setMaxConnections(n: number | undefined): void {
    this.maxConnectionsValue = n;
    this.native?.setMaxConnections(connectionLimit(n));
  }

  _getMaxConnections(): number | undefined {
    return this.maxConnectionsValue;
  }

  override close(callback?: (err?: Error) => void): this {
    this.listeningId++;
    if (typeof callback === 'function') {
      if (!this.listening) {
        this.once('close', () => {
          const err = new Error('Server is not running.') as Error & { code: string };
          err.code = 'ERR_SERVER_NOT_RUNNING';
          callback(err);
        });
      } else {
        this.once('close', callback);
      }
    }
    // Node's httpServerPreClose.
    this.closeIdleConnections();
    clearInterval(this[kConnectionsCheckingInterval]);
    if (this.native) this.native.stopAccepting();
    // libuv removes a pipe's socket file when the server that bound it closes; so do we. A
    // cluster worker's belongs to the primary.
    if (this.listening && typeof this.boundAddress === 'string' && this.foreignHandle === null) {
      try {
        unlinkSync(this.boundAddress);
      } catch {
        // Already gone: nothing to clean up.
      }
    }
    this.listening = false;
    this._handle = null;
    // A cluster worker tells its primary (node:cluster's close() of the handle it gave).
    const foreignHandle = this.foreignHandle;
    this.foreignHandle = null;
    foreignHandle?.close();
    this.native = null;
    this.outbox = null;
    this.closing = true;
    this._updateLoopHold();
    this.emitCloseIfDrained();
    return this;
  }

  override async [Symbol.asyncDispose](): Promise<void> {
    await new Promise<void>((resolve, reject) => this.close((err) => (err ? reject(err) : resolve())));
  }

  closeAllConnections(): void {
    // Destroying removes the entry; a Map iterator tolerates that.
    for (const outbox of this.outboxes) for (const socket of outbox.sockets.values()) socket.destroy();
  }

  /**
   * Node's: closes connections whose last request completed and no other has started. JS knows
   * about responses; whether a request has started arriving (even half a head) only the
   * connection task knows, so the final check is made there.
   */
  closeIdleConnections(): void {
    for (const outbox of this.outboxes) {
      for (const socket of outbox.sockets.values()) {
        const parser = socket.parser as ConnParser | null;
        const msg = socket._httpMessage as http.ServerResponse | null;
        if (msg && !msg.finished) continue;
        if (parser && parser.incomingQueue.length > 0) continue;
        socket._closeIfIdle();
      }
    }
  }

  setTimeout(msecs?: number | ((socket: net.Socket) => void), callback?: (socket: net.Socket) => void): this {
    if (typeof msecs === 'function') {
      callback = msecs;
      msecs = undefined;
    }
    this.timeout = msecs ?? 0;
    if (callback) this.on('timeout', callback);
    return this;
  }

  override getConnections(cb: (err: Error | null, count: number) => void): this {
    process.nextTick(cb, null, this._connectionCount());
    return this;
  }

  /**
   * The native count: a socket JS already closed may still be open in Rust, and it is Rust's
   * count that maxConnections applies to.
   */
  _connectionCount(): number {
    let n = 0;
    for (const outbox of this.outboxes) n += outbox.native.connectionCount();
    return n;
  }

  _hasRef(): boolean {
    return !this.unrefed;
  }

  override ref(): this {
    this.unrefed = false;
    this._updateLoopHold();
    // A round-robin cluster handle holds the loop with a timer of its own.
    this.foreignHandle?.ref?.();
    return this;
  }

  override unref(): this {
    this.unrefed = true;
    this._updateLoopHold();
    this.foreignHandle?.unref?.();
    return this;
  }

  /**
   * libuv's rule for what keeps the process alive, per native server: the listening handle
   * unless unref'd, and the connections that hold it (counted by each Outbox).
   */
  _updateLoopHold(): void {
    for (const outbox of this.outboxes) {
      outbox.listenerHold = outbox === this.outbox && this.listening && !this.unrefed;
      outbox.updateHold();
    }
  }

  /** Node's: a rejected async 'request' listener gets a 500 (headers dropped) or a reset. */
  [Symbol.for('nodejs.rejection')](err: Error, event: string, ...args: unknown[]): void {
    if (event === 'request') {
      const res = args[1] as http.ServerResponse;
      if (!res.headersSent && !res.writableEnded) {
        for (const name of res.getHeaderNames()) res.removeHeader(name);
        res.statusCode = 500;
        res.end(http.STATUS_CODES[500]);
      } else {
        res.destroy();
      }
      return;
    }
    const proto = net.Server.prototype as unknown as Record<symbol, (...a: unknown[]) => void>;
    proto[Symbol.for('nodejs.rejection')].call(this, err, event, ...args);
  }

  /** Releases closed native servers without connections; 'close' once none is left. */
  private emitCloseIfDrained(): void {
    for (const outbox of this.outboxes) {
      if (outbox === this.outbox || outbox.sockets.size > 0) continue;
      this.outboxes.delete(outbox);
      outbox.flush();
      process.nextTick(() => outbox.native.release());
    }
    if (!this.closing || this.outboxes.size > 0) return;
    this.closing = false;
    process.nextTick(() => this.emit('close'));
  }

  /** One batch of events from the IO threads (see src/server/queue.rs for the layout). */
  private onBatch(outbox: Outbox | null, buf: Buffer): void {
    if (!outbox || !this.outboxes.has(outbox) || buf.length < 16) return;
    this.parsingSocket = null;
    const metaCount = buf.readUInt32LE(0);
    const textLen = buf.readUInt32LE(4);
    const meta = new Uint32Array(buf.buffer, buf.byteOffset + 16, metaCount);
    const textStart = 16 + metaCount * 4;
    const bodyStart = textStart + textLen;
    const text = textLen > 0 ? (buf as Latin1Buffer).latin1Slice(textStart, bodyStart) : '';
    const stats = this.batchStats;
    stats.batches++;
    const headsBefore = stats.requests;
    let i = 0;
    outbox.dispatching = true;
    while (i < metaCount) {
      const kind = meta[i];
      if (kind === EV_HEAD) stats.requests++;
      stats.events++;
      const next = i + eventLength(meta, i);
      try {
        this.dispatch(outbox, kind, meta, i, text, buf, bodyStart);
      } catch (err) {
        // A throwing listener must not lose the rest of the batch; it still surfaces as an
        // uncaught exception, as it would from node:http.
        process.nextTick(() => {
          throw err;
        });
      }
      // The events of one read are consecutive: their end is where Node's parser returns.
      const pri = this.priRequestSocket;
      if (pri !== null && (next >= metaCount || meta[next + 1] !== pri._id)) {
        this.priRequestSocket = null;
        // As Node checks it: the request parsed last (lenient llhttp may parse on) is PRI.
        if ((pri.parser as ConnParser | null)?.incoming?.method === 'PRI') pri.destroy();
      }
      i = next;
    }
    outbox.endDispatch();
    const heads = stats.requests - headsBefore;
    stats.sizes[heads === 0 ? 0 : Math.min(31 - Math.clz32(heads) + 1, stats.sizes.length - 1)]++;
 }

  /** The socket of the latest event dispatched (see `dispatch`), within a batch. */
  private parsingSocket: Socket | null = null;

  /** Counters of the boundary: batches, events, requests, and batches by requests per batch. */
  private readonly batchStats = { batches: 0, events: 0, requests: 0, sizes: Array.from({ length: 13 }, () => 0) };

  /** For benchmark/boundary.js: `sizes` keys are requests per batch (power-of-two buckets). */
  _ferroStats(): Record<string, number | Record<string, number>> {
    const { batches, events, requests, sizes } = this.batchStats;
    const bySize: Record<string, number> = {};
    sizes.forEach((n, b) => {
      const key = b === 0 ? '0' : b === sizes.length - 1 ? `${2 ** (b - 1)}+` : b === 1 ? '1' : `${2 ** (b - 1)}-${2 ** b - 1}`;
      bySize[key] = n;
    });
    return { batches, events, requests, requestsPerBatch: bySize };
  }

  private dispatch(outbox: Outbox, kind: number, meta: Uint32Array, i: number, text: string, buf: Buffer, bodyStart: number): void {
    const id = meta[i + 1];
    if (kind === EV_CONNECTION) {
      const off = meta[i + 2];
      const s = new Socket(id, outbox, text.slice(off, off + meta[i + 3]), meta[i + 4], meta[i + 5], meta[i + 6], this.highWaterMark);
      outbox.sockets.set(id, s);
      outbox.connectionsAnnounced = true;
      s._syncHold();
      // The HTTP side attaches through its own 'connection' listener, as in Node.
      this.emit('connection', s);
      return;
    }
    if (kind === EV_DROP) {
      const off = meta[i + 2];
      const addrs = text.slice(off, off + meta[i + 3]);
      const sp = addrs.indexOf(' ');
      const family = meta[i + 6] === 6 ? 'IPv6' : 'IPv4';
      this.emit(
        'drop',
        sp < 0
          ? undefined
          : {
              localAddress: addrs.slice(sp + 1),
              localPort: meta[i + 5],
              localFamily: family,
              remoteAddress: addrs.slice(0, sp),
              remotePort: meta[i + 4],
              remoteFamily: family,
            },
      );
      return;
    }
    let early = false;
    if (kind === EV_EARLY_DATA) {
      // A read Rust made before JS ran this connection's 'connection' listeners, which in Node
      // come before any read: the socket's data if it was tapped before the read's events were
      // dispatched (in 'connection', or during an earlier read's), as Node's listeners then.
      const s = outbox.sockets.get(id) ?? outbox.tappedGone.get(id);
      if (s === undefined) return;
      const tappedBefore = s._tapped && s._tapEvents <= s._readStartEvents;
      s._readStartEvents = s._inputEvents;
      if (!tappedBefore) return;
      kind = EV_DATA;
      early = true;
    }
    let socket = outbox.sockets.get(id);
    // The rest of a read whose socket a handler destroyed: read from the kernel all the same.
    let restOfRead = false;
    if (socket === undefined) {
      // Destroyed by a handler while the events of its read were dispatched: Node's parser
      // still parses the rest of that read (the request completes, a pipelined one gets
      // 'request' on the destroyed socket), even with the parser freed (its llhttp instance
      // runs on to the end of the read).
      const parsing = this.parsingSocket;
      if (parsing !== null && parsing._id === id) {
        if (kind === EV_READ_END) {
          this.parsingSocket = null;
        } else {
          restOfRead = true;
          if (parsing.parser !== null && (kind === EV_HEAD || kind === EV_BODY || kind === EV_END)) socket = parsing;
        }
      }
    } else {
      this.parsingSocket = socket;
    }
    if (socket && kind !== EV_DRAIN && kind !== EV_TIMEOUT && kind !== EV_CLOSE) {
      if (!early) socket._inputEvents++;
      if (socket._held !== null) {
        // Read after the read in which reading stopped: Node's parser has not seen it yet.
        socket._held.push({ meta: meta.slice(i, i + eventLength(meta, i)), text, buf, bodyStart });
        return;
      }
      if (kind === EV_READ_END) {
        // Node's parser stops at the end of the read in which reading was stopped (a request
        // over its high-water mark): what Rust read beyond waits for the socket's resume().
        if (socket._readingStopped()) socket._holdReads(() => this.replayHeld(outbox, socket));
        return;
      }
    }
    if (!socket) {
      if (!restOfRead && (kind === EV_HEAD || kind === EV_BODY || kind === EV_END || kind === EV_UPGRADE_HEAD)) outbox.unreadInput(id);
      if (kind === EV_DATA) {
        // A tapped socket destroyed while its latest read was parsed (a parse error's canned
        // reply): in Node that chunk still reaches the application's 'data' listeners, which
        // run after the parser's in the same emit.
        const gone = outbox.tappedGone.get(id);
        outbox.tappedGone.delete(id);
        const off = bodyStart + meta[i + 2];
        const chunk = Buffer.from(buf.subarray(off, off + meta[i + 3]));
        nativeChunks.add(chunk);
        gone?.emit('data', chunk);
      } else if (kind === EV_CLOSE) {
        outbox.tappedGone.delete(id);
      }
      return;
    }
    switch (kind) {
      case EV_HEAD:
        this.onHead(socket, meta, i, text, buf, bodyStart);
        break;
      case EV_BODY: {
        const off = bodyStart + meta[i + 2];
        parserOnBody(socket, buf.subarray(off, off + meta[i + 3]));
        // Node's parser hands each body chunk over with MakeCallback, which runs the nextTick
        // and microtask queues before parsing goes on: a 'data' listener added in 'request'
        // gets the chunk (and _read runs) before the message's end is pushed.
        runNextTicks();
        break;
      }
      case EV_END: {
        const n = meta[i + 2];
        let trailers: string[] | null = null;
        if (n > 0) {
          trailers = [];
          for (let k = 0; k < n; k++) {
            const q = i + 3 + 4 * k;
            trailers.push(text.slice(meta[q], meta[q] + meta[q + 1]), text.slice(meta[q + 2], meta[q + 2] + meta[q + 3]));
          }
        }
        parserOnMessageComplete(socket, trailers);
        break;
      }
      case EV_DATA: {
        // A connection JS took over (upgrade, CONNECT), or one whose bytes the application
        // listens to (OP_TAP): the socket's data.
        const off = bodyStart + meta[i + 2];
        const chunk = Buffer.from(buf.subarray(off, off + meta[i + 3]));
        if (socket._upgraded) {
          socket._onRawData(chunk);
        } else {
          nativeChunks.add(chunk);
          if (!socket.push(chunk)) socket.pause();
        }
        // A read's 'data' is a libuv callback of its own in Node: its ticks run before the
        // events of the next read (a response ended in a 'data' listener is out first).
        runNextTicks();
        break;
      }
      case EV_EOF:
        socket._onNativeEof();
        break;
      case EV_EOF_END: {
        // A body that runs to the peer's end (lenient): Node's parser completes it in
        // socketOnEnd's parser.finish(), after the socket's 'end'.
        const parser = socket.parser as ConnParser | null;
        if (parser) parser.completeAtFinish = () => parserOnMessageComplete(socket, null);
        socket._onNativeEof();
        break;
      }
      case EV_DRAIN:
        socket._onNativeDrain();
        break;
      case EV_ERROR: {
        const off = bodyStart + meta[i + 3];
        const raw = Buffer.from(buf.subarray(off, off + meta[i + 4]));
        const err = parseError(meta[i + 2], raw, meta[i + 5]);
        const parser = socket.parser as ConnParser | null;
        if (err.code === 'HPE_INVALID_EOF_STATE' && parser) {
          // Found at the peer's FIN: Node's socketOnEnd gets it from parser.finish() when the
          // socket's 'end' comes, which it never does if the socket is destroyed first.
          parser.eofError = err;
          socket._onNativeEof();
        } else {
          socketOnError.call(socket, err);
        }
        break;
      }
      case EV_TIMEOUT:
        socket.emit('timeout');
        break;
      case EV_CLOSE: {
        const errno = meta[i + 2];
        const bytesRead = meta[i + 3] + meta[i + 4] * 2 ** 32;
        setImmediate(() => socket._onNativeClose(errno, bytesRead));
        break;
      }
    }
  }

  /**
   * The socket's reading started again: the events held since it stopped come now, in a later
   * callback of the loop as the next read would, until reading stops again at a read's end.
   */
  private replayHeld(outbox: Outbox, socket: Socket): void {
    const held = socket._held;
    socket._held = null;
    if (held === null) return;
    // As a batch: a destroy() meanwhile learns whether input was left unread.
    outbox.dispatching = true;
    this.parsingSocket = null;
    for (let k = 0; k < held.length; k++) {
      // A dispatch below may have stopped reading again at the end of a read.
      const again = socket._held as HeldEvent[] | null;
      if (again !== null) {
        // The rest waits for the next resume().
        for (let m = k; m < held.length; m++) again.push(held[m]);
        break;
      }
      const h = held[k];
      try {
        this.dispatch(outbox, h.meta[0], h.meta, 0, h.text, h.buf, h.bodyStart);
      } catch (err) {
        process.nextTick(() => {
          throw err;
        });
      }
    }
    outbox.endDispatch();
  }

  /** Node's connectionListenerInternal. */
  /**
   * Node's connectionListener, registered on 'connection' like Node's, so a socket the
   * application emits again (after an upgrade) is taken back into HTTP. Only this package's
   * sockets can be: the parser is in Rust, so a foreign stream cannot be served.
   */
  private readonly connectionListener = (socket: net.Socket): void => {
    if (!(socket instanceof Socket)) {
      this.serveForeignStream(socket);
      return;
    }
    if (socket.parser !== null) return;
    if (socket.server === this && socket._upgraded) {
      socket._upgraded = false;
      socket.outbox.op(OP_UPGRADE, socket._id, UPGRADE_BACK_TO_HTTP);
    }
    this.attachHttp(socket);
  };

  /**
   * A stream that is not one of our connections (a Duplex pair, a TLS socket...) emitted as
   * 'connection': node:http serves HTTP over any stream, and our parser sits behind native
   * sockets, so such a stream is served by a private node:http server configured like this one,
   * whose events are re-emitted here. Only events this server listens to are forwarded, since
   * node:http's behaviour depends on whether there is a listener (checkContinue, clientError...).
   */
  private serveForeignStream(stream: net.Socket): void {
    const delegate = (this.foreignDelegate ??= this.createForeignDelegate());
    delegate.emit('connection', stream);
    // Node's connectionListenerInternal sets it: the server the application emitted it on. Its
    // socketOnTimeout and socketOnError emit 'timeout' and 'clientError' there.
    (stream as net.Socket & { server: unknown }).server = this;
  }

  private foreignDelegate: http.Server | null = null;

  /**
   * A connection whose read brought a PRI request (HTTP/0.9 form; with a version llhttp refuses
   * it): Node's onParserExecuteCommon destroys the socket once that read is parsed, after the
   * request was dispatched, if the parser's current request is that PRI one.
   */
  private priRequestSocket: Socket | null = null;

  /**
   * The private node:http server for foreign streams, configured like this one. Its settings
   * and its server events are this server's, read when node:http looks at them: node:http's
   * behaviour depends on whether there is a listener (checkContinue, clientError...), and a
   * listener may be added after the stream was emitted.
   */
  private createForeignDelegate(): http.Server {
    const delegate = http.createServer({
      ...(HAS_OPTIMIZE_EMPTY_REQUESTS && { optimizeEmptyRequests: this[kOptimizeEmptyRequests] }),
      IncomingMessage: this.IncomingMessageClass,
      ServerResponse: this.ServerResponseClass,
    });
    // Settings node:http reads as it serves a connection or a request: this server's, live.
    const live = [
      'timeout',
      'keepAliveTimeout',
      'headersTimeout',
      'requestTimeout',
      'maxHeadersCount',
      'maxRequestsPerSocket',
      'maxHeaderSize',
      'insecureHTTPParser',
      'httpValidation',
      'requireHostHeader',
      'joinDuplicateHeaders',
    ] as const;
    for (const name of live) {
      Object.defineProperty(delegate, name, {
        get: () => this[name],
        set: (v: unknown) => {
          (this as Record<(typeof live)[number], unknown>)[name] = v;
        },
        configurable: true,
      });
    }
    type Emit = (this: EventEmitter, name: string | symbol, ...args: unknown[]) => boolean;
    type ListenerCount = (this: EventEmitter, name: string | symbol, listener?: (...args: unknown[]) => unknown) => number;
    const emit = delegate.emit as Emit;
    const listenerCount = delegate.listenerCount as ListenerCount;
    (delegate as { emit: Emit }).emit = (name, ...args) => (FORWARDED_EVENTS.has(name) ? (this.emit as Emit).call(this, name, ...args) : emit.call(delegate, name, ...args));
    (delegate as { listenerCount: ListenerCount }).listenerCount = (name, listener) =>
      FORWARDED_EVENTS.has(name) ? (this.listenerCount as ListenerCount).call(this, name, listener) : listenerCount.call(delegate, name, listener);
    return delegate;
  }

  private attachHttp(socket: Socket): void {
    socket.server = this;
    if (this.timeout) socket.setTimeout(this.timeout);
    socket.on('timeout', socketOnTimeout);
    // Bound, as Node's (their names are 'bound socketOnEnd' and so on; called with another
    // `this` they still act on this socket).
    const parser: ConnParser = new ConnParser();
    parser.maxHeaderPairs = maxHeaderPairsOf(this);
    parser.onEnd = this.socketOnEnd.bind(this, socket, parser);
    parser.onClose = socketOnClose.bind(undefined, socket, parser);
    parser.onDrain = socketOnDrain.bind(undefined, socket, parser);
    parser[kOnTimeout] = onParserTimeout.bind(undefined, this, socket);
    socket.parser = parser;
    socket.on('error', socketOnError);
    socket.on('end', parser.onEnd);
    socket.on('close', parser.onClose);
    socket.on('drain', parser.onDrain);
    // Node's socketOnData, the parser's input: here Rust reads and parses, so it passes on only
    // bytes the application puts into the socket (and holds the place of Node's listener).
    socket.on('data', socketOnData);
    socket._paused = false;
    socket.setEncoding = socketSetEncoding;
    // Node's generateSocketListenerWrapper: a 'data' or 'readable' listener of the application
    // gets the connection's bytes as they are read, while HTTP goes on parsing them.
    setListenerMethods(socket, socketOnWrapped, socketAddListenerWrapped, socketPrependListenerWrapped);
  }

  /** Node's socketOnEnd: a message cut short is a client error, else the server ends its side too. */
  private socketOnEnd(socket: Socket, parser: ConnParser): void {
    const ret = parser.finish();
    if (ret) {
      socketOnError.call(socket, ret);
      return;
    }
    if (!this.httpAllowHalfOpen) {
      if (socket.writable) socket.end();
      return;
    }
    if (parser.outgoing.length) {
      (parser.outgoing[parser.outgoing.length - 1] as Res)._last = true;
    } else if (socket._httpMessage) {
      (socket._httpMessage as Res)._last = true;
    } else if (socket.writable) {
      socket.end();
    }
  }

  /** parserOnHeadersComplete + parserOnIncoming. */
  private onHead(socket: Socket, meta: Uint32Array, i: number, text: string, buf: Buffer, bodyStart: number): void {
    const flags = meta[i + 2];
    const version = meta[i + 4];
    const urlOff = meta[i + 5];
    const n = meta[i + 7];
    const req = new this.IncomingMessageClass(socket as unknown as net.Socket) as Req;
    if (version === HTTP_1_1) {
      req.httpVersionMajor = 1;
      req.httpVersionMinor = 1;
      req.httpVersion = '1.1';
    } else {
      // HTTP/1.0, or what else llhttp takes: 0.9 (no version in the request line) and 2.0.
      req.httpVersionMajor = version >> 8;
      req.httpVersionMinor = version & 0xff;
      req.httpVersion = `${req.httpVersionMajor}.${req.httpVersionMinor}`;
    }
    req.joinDuplicateHeaders = this.joinDuplicateHeaders ?? false;
    req.url = text.slice(urlOff, urlOff + meta[i + 6]);
    req.upgrade = (flags & HEAD_UPGRADE) !== 0;
    const raw: string[] = [];
    for (let k = 0, q = i + 8; k < n; k++, q += 4) {
      raw.push(text.slice(meta[q], meta[q] + meta[q + 1]), text.slice(meta[q + 2], meta[q + 2] + meta[q + 3]));
    }
    const parser = socket.parser as ConnParser;
    const maxPairs = parser.maxHeaderPairs;
    const kept = headerEntriesKept(raw.length, maxPairs);
    if (kept < raw.length) raw.length = kept;
    req._addHeaderLines(raw, maxPairs > 0 ? Math.min(raw.length, maxPairs) : raw.length);
    req.method = NATIVE_METHODS[meta[i + 3]];
    parser.incoming = req;
    // An upgrade's first bytes of the new protocol come as the event after its head.
    const j = i + 8 + 4 * n;
    const upgradeHead =
      req.upgrade && j < meta.length && meta[j] === EV_UPGRADE_HEAD && meta[j + 1] === socket._id
        ? Buffer.from(buf.subarray(bodyStart + meta[j + 2], bodyStart + meta[j + 2] + meta[j + 3]))
        : null;
    const upgraded = this.parserOnIncoming(socket, parser, req, flags, upgradeHead);
    if (upgraded) return;
    if (req.method === 'PRI') this.priRequestSocket = socket;
    if ((flags & HEAD_HAS_BODY) === 0) parserOnMessageComplete(socket, null);
  }

  /** Node's parserOnIncoming; returns true when the connection was handed over (upgrade). */
  private parserOnIncoming(socket: Socket, parser: ConnParser, req: Req, flags: number, upgradeHead: Buffer | null): boolean {
    const keepAlive = (flags & HEAD_KEEP_ALIVE) !== 0;
    if (parser.keepAliveTimeoutSet) {
      // Node's resetSocketTimeout. Rust set the value sent at the response; a server.timeout
      // changed since then is sent now.
      parser.keepAliveTimeoutSet = false;
      const timeout = this.timeout || 0;
      if (timeout === parser.restoreTimeout) socket._mirrorTimeout(timeout);
      else socket.setTimeout(timeout);
    }
    if (req.upgrade) {
      req.upgrade =
        req.method === 'CONNECT' ||
        (typeof this.shouldUpgradeCallback === 'function' ? !!this.shouldUpgradeCallback(req) : this.listenerCount('upgrade') > 0);
      // Rust reads nothing more until told who owns the connection now.
      socket.outbox.op(OP_UPGRADE, socket._id, req.upgrade ? 1 : 0);
      if (req.upgrade) {
        // Node's onParserExecuteCommon: the socket leaves HTTP with what was read past the
        // head as `head`; what arrives next is raw data on it (DATA events).
        const eventName = req.method === 'CONNECT' ? 'connect' : 'upgrade';
        socket.removeListener('end', parser.onEnd);
        socket.removeListener('close', parser.onClose);
        socket.removeListener('drain', parser.onDrain);
        socket.removeListener('error', socketOnError);
        socket.removeListener('timeout', socketOnTimeout);
        socket.removeListener('data', socketOnData);
        freeParser(socket);
        socket._upgraded = true;
        socket._countPendingInWritableLength();
        // The connection's bytes now wait in the socket's buffer for a reader (Node sets
        // readableFlowing to null here); reading restarts if HTTP had stopped it for a body.
        (socket as { readableFlowing: boolean | null }).readableFlowing = null;
        socket._readStart();
        if (this.listenerCount(eventName) > 0) {
          this.emit(eventName, req, socket, upgradeHead ?? Buffer.alloc(0));
        } else {
          socket.destroy();
        }
        return true;
      }
    }
    parser.incomingQueue.push(req);
    const ResponseClass = this.ServerResponseClass as unknown as new (req: http.IncomingMessage, options: object) => Res;
    const res = new ResponseClass(req, {
      highWaterMark: socket.writableHighWaterMark,
      rejectNonStandardBodyWrites: this.rejectNonStandardBodyWrites,
    });
    res._keepAliveTimeout = this.keepAliveTimeout;
    res._maxRequestsPerSocket = this.maxRequestsPerSocket;
    res[kConn] = socket;
    res[kState] = parser;
    res._onPendingData = updateOutgoingData;
    res.shouldKeepAlive = keepAlive;
    if (this.uniqueHeaders) (res as unknown as Record<symbol, unknown>)[kUniqueHeaders] = this.uniqueHeaders;
    if (this[kOptimizeEmptyRequests] === true && !hasBodyHeaders(req.headers)) {
      // Node 24: no 'data', 'end' or 'close' for a request that cannot have a body.
      const r = req as Req & { _dumpAndCloseReadable(): void; _read(): void };
      r._dumpAndCloseReadable();
      r._read();
    }
    if (socket._httpMessage) {
      parser.outgoing.push(res);
    } else {
      res.assignSocket(socket as unknown as net.Socket);
    }
    addFinishListener(res);

    let handled = false;
    if (req.httpVersionMajor === 1 && req.httpVersionMinor === 1) {
      // The native flags say whether Host/Expect are present: req.headers is built only if the
      // application reads it.
      if (this.requireHostHeader && (flags & HEAD_HAS_HOST) === 0) {
        res.writeHead(400, ['Connection', 'close']);
        res.end();
        return false;
      }
      const limitSet = typeof this.maxRequestsPerSocket === 'number' && this.maxRequestsPerSocket > 0;
      if (limitSet) {
        parser.requestsCount++;
        res.maxRequestsOnConnectionReached = this.maxRequestsPerSocket <= parser.requestsCount;
      }
      if (limitSet && this.maxRequestsPerSocket < parser.requestsCount) {
        handled = true;
        this.emit('dropRequest', req, socket);
        res.writeHead(503);
        res.end();
      } else if ((flags & HEAD_HAS_EXPECT) !== 0) {
        handled = true;
        if (continueExpression.test(req.headers.expect ?? '')) {
          res._expect_continue = true;
          if (this.listenerCount('checkContinue') > 0) {
            this.emit('checkContinue', req, res);
          } else {
            res.writeContinue();
            this.emit('request', req, res);
          }
        } else if (this.listenerCount('checkExpectation') > 0) {
          this.emit('checkExpectation', req, res);
        } else {
          res.writeHead(417);
          res.end();
        }
      }
    }
    if (!handled) this.emit('request', req, res);
    return false;
  }

  /** Node's resOnFinish: the response is out; start the next one or close. */
  _resOnFinish(req: http.IncomingMessage, res: Res, socket: Socket, parser: ConnParser): void {
    if (kDetachAbortSignal !== null) (req as unknown as Record<symbol, () => void>)[kDetachAbortSignal]();
    const q = parser.incomingQueue;
    if (q.length > 0 && q[0] === req) q.shift();
    const r = req as http.IncomingMessage & { _consuming: boolean; _dump(): void; _readableState: { resumeScheduled: boolean } };
    if (!r._consuming && !r._readableState.resumeScheduled) r._dump();
    res.detachSocket(socket as unknown as net.Socket);
    clearIncoming.call(req);
    process.nextTick(emitCloseNT, res);
    // Rust times the keep-alive itself, so a finished response costs no timer op; the current
    // value rides along. Node's socket.setTimeout(keepAliveTimeout + 1 s) here replaces the
    // socket's idle timeout until the next request sets it to server.timeout again: Rust does
    // both, told with the same op; socket.timeout follows.
    const keepAlive = keepAliveMs(this);
    const idleKeepAlive = !res._last && parser.outgoing.length === 0 && this.keepAliveTimeout > 0;
    if (idleKeepAlive) {
      parser.keepAliveTimeoutSet = true;
      parser.restoreTimeout = Math.min(this.timeout || 0, 0xfffffffe) >>> 0;
      socket._mirrorTimeout(keepAlive);
    }
    if (!socket._nativeClosed) socket.outbox.op(OP_RESPONSE_DONE, socket._id, keepAlive, idleKeepAlive ? parser.restoreTimeout + 1 : 0);
    if (res._last) {
      socket.destroySoon();
    } else if (parser.outgoing.length === 0) {
      // Idle keep-alive: Rust's timer is running (see above).
    } else {
      const m = parser.outgoing.shift();
      if (m) m.assignSocket(socket as unknown as net.Socket);
    }
  }
}

/**
 * `server._handle`: what of libuv's TCP / pipe handle code outside Node uses (its `fd`,
 * `getsockname`, `ref` / `unref` / `hasRef`, `close`), over the native listener.
 */
class ServerHandle {
  constructor(
    private readonly server: Server,
    /** The listening socket's descriptor; -1 where there is none (as on Windows). */
    readonly fd: number,
  ) {}

  /** libuv's getsockname: fills `out` with address, family and port; 0 for success. */
  getsockname(out: Record<string, unknown>): number {
    const address = this.server.address();
    if (address !== null && typeof address === 'object') Object.assign(out, address);
    return 0;
  }

  /** Closing the listening handle closes the server's listening side. */
  close(callback?: () => void): void {
    if (this.server._handle === this) this.server.close();
    if (typeof callback === 'function') process.nextTick(callback);
  }

  ref(): void {
    if (this.server._handle === this) this.server.ref();
  }

  unref(): void {
    if (this.server._handle === this) this.server.unref();
  }

  hasRef(): boolean {
    return this.server._handle === this && this.server._hasRef();
  }
}

/**
 * The socket's idle timeout after a response (Node: socket.setTimeout(keepAliveTimeout + buffer)
 * in resOnFinish), in ms; 0 for none. Node 22 takes only finite values >= 0 of either.
 */
function keepAliveMs(server: Server): number {
  const timeout = server.keepAliveTimeout;
  if (!(timeout > 0)) return 0;
  let buffer = HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER;
  if (HAS_KEEP_ALIVE_TIMEOUT_BUFFER) {
    if (!Number.isFinite(timeout)) return 0;
    const b = server.keepAliveTimeoutBuffer;
    if (typeof b === 'number' && Number.isFinite(b) && b >= 0) buffer = b;
  }
  return Math.min(timeout + buffer, 0xffffffff);
}

/**
 * Node's calculateLenientFlags, read as a connection is served: all of llhttp's lenient flags,
 * only the relaxed header values (Node 24's httpValidation), or none.
 */
function parserLeniency(server: Server): { insecureHttpParser: boolean; relaxedHeaderValues: boolean } {
  switch (server.httpValidation) {
    case 'strict':
      return { insecureHttpParser: false, relaxedHeaderValues: false };
    case 'relaxed':
      return { insecureHttpParser: false, relaxedHeaderValues: true };
    case 'insecure':
      return { insecureHttpParser: true, relaxedHeaderValues: false };
    default:
      return { insecureHttpParser: !!(server.insecureHTTPParser ?? defaultInsecureHTTPParser()), relaxedHeaderValues: false };
  }
}

/**
 * The server's settings Node's connectionListenerInternal gives each connection's parser: own
 * accessors here (Node's are data properties), so a change reaches the native parsers at once,
 * for the connections Rust accepts from then on.
 */
const PARSER_SETTINGS = ['maxHeaderSize', 'insecureHTTPParser', ...(HAS_HTTP_VALIDATION ? ['httpValidation'] : []), 'maxHeadersCount'];

/** The parser's maxHeaderSize: Node's `server.maxHeaderSize || 0`, 0 being the process's. */
function maxHeaderSizeOf(server: Server): number {
  const n = server.maxHeaderSize;
  return typeof n === 'number' && n >= 1 ? Math.min(Math.floor(n), 0xffffffff) : http.maxHeaderSize;
}

/** Node's MAX_HEADER_PAIRS: parser.maxHeaderPairs unless server.maxHeadersCount is a number. */
const MAX_HEADER_PAIRS = 2000;

/** parser.maxHeaderPairs as Node's connectionListenerInternal sets it. */
function maxHeaderPairsOf(server: http.Server): number {
  return typeof server.maxHeadersCount === 'number' ? server.maxHeadersCount << 1 : MAX_HEADER_PAIRS;
}
/**
 * Entries (names and values) of one flush of Node's parser: it hands headers to JS 31 at a time
 * (kMaxHeaderFieldsCount, 32 slots, flushed as the 32nd name starts), and its parserOnHeaders
 * takes a flush whole while fewer than maxHeaderPairs entries are kept.
 */
const FLUSH_ENTRIES = 62;
/**
 * From Node 22.23.2, 24.18.1 and 26.5.1 (CVE-2026-58044) a message over maxHeaderPairs is a
 * parse error (HPE_HEADER_OVERFLOW) and parserOnHeaders keeps no more than maxHeaderPairs.
 */
const HEADER_PAIRS_CAPPED = nodeAtLeast(26, 5, 1) || (!nodeAtLeast(25) && nodeAtLeast(24, 18, 1)) || (!nodeAtLeast(23) && nodeAtLeast(22, 23, 2));

/**
 * The header lines Rust allows a message (and its trailers, counted apart), for a parser's
 * maxHeaderPairs: more than half of it is HPE_HEADER_OVERFLOW where the running Node has the
 * CVE-2026-58044 fix; 0 (no limit) elsewhere, and for 0 or less, as Node.
 */
function headerLineLimit(maxHeaderPairs: number): number {
  return HEADER_PAIRS_CAPPED && maxHeaderPairs > 0 ? maxHeaderPairs >> 1 : 0;
}

/**
 * How many of a message's `n` header (or trailer) entries Node keeps in rawHeaders
 * (rawTrailers), with parser.maxHeaderPairs `max`: before the CVE-2026-58044 fix, whole flushes
 * while under the limit, so a message of more than 31 headers keeps up to 61 entries more than
 * `max`; after it, at most `max`.
 */
function headerEntriesKept(n: number, max: number): number {
  if (max <= 0 || n <= max) return n;
  if (HEADER_PAIRS_CAPPED) return max;
  return n <= FLUSH_ENTRIES ? n : Math.min(n, FLUSH_ENTRIES * Math.ceil(max / FLUSH_ENTRIES));
}

/** Node 24's hasBodyHeaders. */
function hasBodyHeaders(headers: http.IncomingHttpHeaders): boolean {
  return 'content-length' in headers || 'transfer-encoding' in headers;
}

/** Node 22's default shouldUpgradeCallback. */
function defaultShouldUpgrade(this: http.Server): boolean {
  return this.listenerCount('upgrade') > 0;
}

// `server instanceof http.Server` holds, as libraries that take a server check it with their own
// node:http: http.Server.prototype sits between ours and net.Server's. Each of its methods is
// overridden here (close, closeAllConnections, closeIdleConnections, setTimeout, async dispose,
// the rejection handler), so only the chain changes.
Object.setPrototypeOf(Server.prototype, http.Server.prototype);

// net.Server's `maxConnections`: over it new connections are closed at once, with a 'drop'
// event. An accessor, so setting it reaches the native accept loop at any time.
Object.defineProperty(Server.prototype, 'maxConnections', {
  get(this: Server) {
    return this._getMaxConnections();
  },
  set(this: Server, n: number | undefined) {
    this._setMaxConnections(n);
  },
  configurable: true,
});

// net.Server's `_connections`, read by node:cluster's maxConnections check in a worker. net.Server's
// constructor assigns it; the count itself is native.
Object.defineProperty(Server.prototype, '_connections', {
  get(this: Server) {
    return this._connectionCount();
  },
  set() {},
  configurable: true,
});

/** Words in the event record at `i` (layouts in src/server/queue.rs). */
function eventLength(meta: Uint32Array, i: number): number {
  switch (meta[i]) {
    case EV_CONNECTION:
    case EV_DROP:
      return 7;
    case EV_HEAD:
      return 8 + 4 * meta[i + 7];
    case EV_BODY:
    case EV_DATA:
    case EV_EARLY_DATA:
    case EV_UPGRADE_HEAD:
      return 4;
    case EV_END:
      return 3 + 4 * meta[i + 2];
    case EV_ERROR:
      return 6;
    case EV_CLOSE:
      return 5;
    case EV_EOF:
    case EV_EOF_END:
    case EV_DRAIN:
    case EV_TIMEOUT:
    case EV_READ_END:
      return 2;
    default:
      // A layout mismatch with the native side: nothing after it can be trusted.
      throw new Error(`ferrohttp: unknown event ${meta[i]}`);
  }
}

/** res._onPendingData, shared by all responses (Node binds one per response). */
function updateOutgoingData(this: Res, delta: number): void {
  const socket = this[kConn];
  const parser = this[kState];
  if (!socket || !parser) return;
  parser.outgoingData += delta;
  socketOnDrain(socket, parser);
}

/**
 * `res.on('finish', onResponseFinish)` for a fresh response, written into EventEmitter's own
 * listener table: what `on` would store, without its per-call checks. A response whose class
 * already listens to 'finish' or 'newListener' goes through `on`.
 */
function addFinishListener(res: Res): void {
  const events = (res as unknown as { _events?: Record<string, unknown>; _eventsCount: number })._events;
  if (events && events.finish === undefined && events.newListener === undefined) {
    events.finish = onResponseFinish;
    (res as unknown as { _eventsCount: number })._eventsCount++;
  } else {
    res.on('finish', onResponseFinish);
  }
}

/** The 'finish' listener of every response (Node binds one per response). */
function onResponseFinish(this: Res): void {
  const socket = this[kConn];
  const parser = this[kState];
  if (!socket || !parser) return;
  (socket.server as Server)._resOnFinish(this.req, this, socket, parser);
}

/** Node's clearIncoming: the parser lets go of a request once it has ended. */
function clearIncoming(this: http.IncomingMessage): void {
  const parser = (this.socket as Socket | null)?.parser as ConnParser | null | undefined;
  if (parser && parser.incoming === this) {
    if (this.readableEnded) parser.incoming = null;
    else this.on('end', clearIncoming);
  }
}

function emitCloseNT(res: http.ServerResponse & { _closed?: boolean }): void {
  if (!res._closed) {
    res.destroyed = true;
    res._closed = true;
    res.emit('close');
  }
}

/** Node's parserOnBody: push, and stop reading the socket when the request is not consumed. */
function parserOnBody(socket: Socket, chunk: Buffer): void {
  const parser = socket.parser as ConnParser | null;
  const req = parser?.incoming as (http.IncomingMessage & { _dumped: boolean }) | null | undefined;
  if (!req || req._dumped) return;
  if (!req.push(chunk)) socket.pause();
}

/** Node's parserOnMessageComplete. */
function parserOnMessageComplete(socket: Socket, trailers: string[] | null): void {
  const parser = socket.parser as ConnParser | null;
  const req = parser?.incoming;
  if (req) {
    req.complete = true;
    if (trailers) {
      const kept = headerEntriesKept(trailers.length, (parser as ConnParser).maxHeaderPairs);
      if (kept < trailers.length) trailers.length = kept;
      (req as Req)._addHeaderLines(trailers, trailers.length);
    }
    req.push(null);
  }
  if (!socket._paused && socket.readable) socket.resume();
}

/** Node's abortIncoming / abortOutgoing: each message destroyed with ConnResetException('aborted'). */
function abortAll(messages: Array<{ destroy(err: Error): unknown }>): void {
  while (messages.length) {
    const message = messages.shift() as { destroy(err: Error): unknown };
    const err = new Error('aborted') as Error & { code: string };
    err.code = 'ECONNRESET';
    message.destroy(err);
  }
}

/** The HTTP side of a connection's 'close' (the server's count is kept by the socket itself). */
function socketOnClose(socket: Socket, parser: ConnParser): void {
  // Responses keep their state (res[kState]): one whose write completes as the socket is
  // destroyed still finishes.
  if (socket.parser === parser) freeParser(socket);
  // Node's freeParser lets go of the last request too (an application may keep the socket).
  parser.incoming = null;
  abortAll(parser.incomingQueue);
  if (ABORTS_QUEUED_RESPONSES) abortAll(parser.outgoing);
}


function socketOnDrain(socket: Socket, parser: ConnParser): void {
  const needPause = parser.outgoingData > socket.writableHighWaterMark;
  if (socket._paused && !needPause) {
    socket._paused = false;
    socket.resume();
  }
  const msg = socket._httpMessage as (http.ServerResponse & Record<symbol, boolean>) | null;
  if (msg && !msg.finished && msg[kNeedDrain]) {
    msg[kNeedDrain] = false;
    msg.emit('drain');
  }
}

function socketOnTimeout(this: Socket): void {
  const parser = this.parser as ConnParser | null;
  const req = parser?.incoming;
  const reqTimeout = req && !req.complete && req.emit('timeout', this);
  const res = this._httpMessage as http.ServerResponse | null;
  const resTimeout = res && res.emit('timeout', this);
  const serverTimeout = (this.server as Server).emit('timeout', this);
  if (!reqTimeout && !resTimeout && !serverTimeout) this.destroy();
}

/** Chunks Rust read and a tapped socket's 'data' carries: its parser has them already. */
const nativeChunks = new WeakSet<Uint8Array>();

/**
 * Node's socketOnData: the parser's input. Rust parses what it reads itself; what else the
 * socket's 'data' carries (`socket.push(data)`, an emitted 'data') goes to it to be parsed.
 */
function socketOnData(this: Socket, d: Buffer | string): void {
  if (typeof d !== 'string' && nativeChunks.has(d)) return;
  if (this.parser && !this._nativeClosed && !this._upgraded) this.outbox.inject(this._id, typeof d === 'string' ? Buffer.from(d) : d);
}

type AddListener = (this: net.Socket, event: string | symbol, listener: (...args: unknown[]) => void) => net.Socket;

/** Sets a socket's own `on`, `addListener` and `prependListener`, as Node does per socket. */
function setListenerMethods(socket: net.Socket, on: unknown, addListener: unknown, prependListener: unknown): void {
  const s = socket as unknown as Record<'on' | 'addListener' | 'prependListener', unknown>;
  s.on = on;
  s.addListener = addListener;
  s.prependListener = prependListener;
}

/**
 * Node's generateSocketListenerWrapper: while HTTP owns the socket, a 'data' or 'readable'
 * listener "unconsumes" it (Node's parser.unconsume): from then on Rust also hands every read's
 * bytes to JS as the socket's data. Once HTTP let go, net.Socket's own methods come back.
 */
function socketListenerWrapper(name: 'on' | 'addListener' | 'prependListener'): AddListener {
  const original = net.Socket.prototype[name] as AddListener;
  return function socketListenerWrap(this: net.Socket, event, listener) {
    const res = original.call(this, event, listener);
    const socket = this as Socket;
    if (!socket.parser) {
      const proto = net.Socket.prototype;
      setListenerMethods(socket, proto.on, proto.addListener, proto.prependListener);
      return res;
    }
    if ((event === 'data' || event === 'readable') && !socket._tapped) {
      socket._tapped = true;
      socket._tapEvents = socket._inputEvents;
      if (!socket._nativeClosed) socket.outbox.op(OP_TAP, socket._id);
    }
    return res;
  };
}

const socketOnWrapped = socketListenerWrapper('on');
const socketAddListenerWrapped = socketListenerWrapper('addListener');
const socketPrependListenerWrapped = socketListenerWrapper('prependListener');

/** Node's: an HTTP connection's bytes are not text (RFC 7230 section 3). */
function socketSetEncoding(): never {
  const err = new Error('Changing the socket encoding is not allowed per RFC7230 Section 3.') as Error & { code: string };
  err.code = 'ERR_HTTP_SOCKET_ENCODING';
  throw err;
}

function noop(): void {}

/**
 * The most connections open at once that net.Server's test `_connections >= maxConnections`
 * allows (`undefined`: no limit): Node 20 tests only a truthy `maxConnections`, later lines any
 * but null; a negative limit drops every connection on both.
 */
function connectionLimit(n: unknown): number | undefined {
  if (ZERO_MAX_CONNECTIONS_DROPS ? n == null : !n) return undefined;
  const limit = Number(n);
  // `count >= NaN` never holds.
  if (Number.isNaN(limit)) return undefined;
  return limit <= 0 ? 0 : Math.min(Math.ceil(limit), 0xfffffffe);
}

/**
 * Node's 'listening' listener of every http.Server: (re)starts the connection-checking timer.
 * Rust times headersTimeout and requestTimeout itself, so the timer only holds Node's place
 * (code that looks at it, or clears it, finds it as in Node).
 */
function setupConnectionsTracking(this: Server): void {
  clearInterval(this[kConnectionsCheckingInterval]);
  this[kConnectionsCheckingInterval] = setInterval(noop, this.connectionsCheckingInterval).unref();
}

/** Node's socketOnError: 'clientError', or the canned reply and close. */
function socketOnError(this: Socket, e: ParseErrorShape): void {
  this.removeListener('error', socketOnError);
  if (this.listenerCount('error') === 0) this.on('error', noop);
  const server = this.server as Server;
  if (!server.emit('clientError', e, this)) {
    const msg = this._httpMessage as http.ServerResponse & { _headerSent?: boolean };
    if (this.writable && (!msg || !msg._headerSent)) {
      let response: Buffer;
      switch (e.code) {
        case 'HPE_HEADER_OVERFLOW':
          response = requestHeaderFieldsTooLargeResponse;
          break;
        case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
          response = requestChunkExtensionsTooLargeResponse;
          break;
        case 'ERR_HTTP_REQUEST_TIMEOUT':
          response = requestTimeoutResponse;
          break;
        default:
          response = badRequestResponse;
      }
      this.write(response);
    }
    this.destroy(e);
  }
}

