/**
 * What net.Server#listen does around the bind itself (Node's lib/net.js): the cluster module
 * (a worker's server listens through its primary), `options.signal`, a pipe's permissions, and
 * the shape of the errors.
 */
// Named, not `import * as` (see common.ts): node:fs has lazy properties too (Dir, opendir).
import { chmodSync, statSync } from 'node:fs';
import * as net from 'node:net';
import { inspect } from 'node:util';
import { optionalSymbol, systemError } from './common';
import type { EventEmitter } from 'node:events';
import * as events from 'node:events';

/** libuv's TCP flags, as net.js passes them on to a cluster primary. */
export const UV_TCP_IPV6ONLY = 1;
export const UV_TCP_REUSEPORT = 2;

/** A libuv stream handle as Node's JS sees one: a TCP or Pipe wrap, or cluster's stand-in. */
export interface ListenHandle {
  fd?: number;
  close(cb?: () => void): void;
  listen?(backlog: number): number;
  ref?(): void;
  unref?(): void;
  getsockname?(out: Record<string, unknown>): number;
  onconnection?: (err: number, clientHandle: ListenHandle) => void;
  [key: symbol]: unknown;
}

/** The parts of node:cluster net.js uses. */
interface ClusterInternals {
  isPrimary: boolean;
  _getServer(server: EventEmitter, query: Record<string, unknown>, cb: (err: number, handle: ListenHandle) => void): void;
}

let clusterModule: ClusterInternals | undefined;

/** node:cluster, loaded on first use, as net.js does (it brings child_process along). */
export function cluster(): ClusterInternals {
  clusterModule ??= require('node:cluster') as ClusterInternals;
  return clusterModule;
}

let ownerSymbol: symbol | null | undefined;

/**
 * Node's internal owner_symbol: a listening handle points to its server through it, and
 * node:cluster reads it (a worker's maxConnections check, and the servers disconnect() closes).
 * Userland cannot import it; a net.Socket built on a stand-in handle puts it there.
 */
export function handleOwnerSymbol(): symbol | null {
  if (ownerSymbol === undefined) {
    const probe = {};
    try {
      new net.Socket({ handle: probe, readable: false, writable: false } as net.SocketConstructorOpts);
    } catch {
      // A Node that builds sockets differently: no owner link, cluster still works without.
    }
    ownerSymbol = optionalSymbol(probe, 'owner_symbol');
  }
  return ownerSymbol;
}

/** Whether `value` is a libuv TCP handle (net.js: `options instanceof TCP`). */
export function isTcpWrap(value: unknown): value is ListenHandle {
  return typeof value === 'object' && value !== null && value.constructor?.name === 'TCP' && typeof (value as ListenHandle).fd === 'number';
}

/** Node's ExceptionWithHostPort: `${syscall} ${code} ${address}:${port}`, no description. */
export function exceptionWithHostPort(errno: number, syscall: string, address: string | null, port: number | null): NodeJS.ErrnoException {
  // With a port Node prints the address even when it is null ("bind EADDRINUSE null:8000").
  const shown = port && port > 0 ? String(address) : (address ?? undefined);
  const err = systemError(errno, syscall, shown, port ?? undefined, false) as NodeJS.ErrnoException & { address: string | null };
  err.address = address;
  return err;
}

/**
 * net.js's checkBindError: a primary's bind to a busy port may surface only as a listen on
 * another port, so the port the handle got must be the one asked for.
 */
export function checkBindError(err: number, port: number | null, handle: ListenHandle | null): number {
  if (err === 0 && port !== null && port > 0 && handle?.getsockname) {
    const out: Record<string, unknown> = {};
    err = handle.getsockname(out);
    if (err === 0 && port !== out.port) err = -98; // UV_EADDRINUSE
  }
  return err;
}

/** net.js's addServerAbortSignalOption: an aborted `options.signal` closes the server. */
export function addServerAbortSignal(server: net.Server, signal: unknown): void {
  if (signal === undefined) return;
  if (typeof signal !== 'object' || signal === null || !('aborted' in signal) || !('addEventListener' in signal)) {
    const shown = signal === null ? 'null' : typeof signal === 'object' ? `an instance of ${signal.constructor?.name ?? 'Object'}` : `type ${typeof signal} (${inspect(signal)})`;
    const err = new TypeError(`The "options.signal" property must be an instance of AbortSignal. Received ${shown}`) as TypeError & { code: string };
    err.code = 'ERR_INVALID_ARG_TYPE';
    throw err;
  }
  const abortSignal = signal as AbortSignal;
  const onAborted = (): void => {
    server.close();
  };
  if (abortSignal.aborted) {
    process.nextTick(onAborted);
    return;
  }
  const add = (events as { addAbortListener?: (s: AbortSignal, l: () => void) => { [Symbol.dispose](): void } }).addAbortListener;
  if (typeof add === 'function') {
    const disposable = add(abortSignal, onAborted);
    server.once('close', () => disposable[Symbol.dispose]());
  } else {
    abortSignal.addEventListener('abort', onAborted, { once: true });
    server.once('close', () => abortSignal.removeEventListener('abort', onAborted));
  }
}

/**
 * libuv's uv_pipe_chmod for `readableAll` / `writableAll`: read and/or write for everyone on the
 * socket's file. Returns a negative errno, or 0.
 */
export function pipeChmod(path: string, readableAll: boolean, writableAll: boolean): number {
  let wanted = 0;
  if (readableAll) wanted |= 0o444;
  if (writableAll) wanted |= 0o222;
  if (wanted === 0) return 0;
  try {
    const mode = statSync(path).mode;
    if ((mode & wanted) === wanted) return 0;
    chmodSync(path, (mode | wanted) & 0o7777);
    return 0;
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).errno;
    return typeof errno === 'number' ? errno : -22;
  }
}
