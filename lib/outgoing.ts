// ServerResponse (Node's _http_outgoing.js / _http_server.js). Node's own class stores headers,
// builds the head exactly as node:http does (_storeHeader: status line, Date, Connection,
// Keep-Alive, Content-Length or chunked) and writes through `res.socket`, which is our
// connection: its writes are batched per JS turn into one native call. Only end() has a fast
// path of its own (below); Express-style prototype swaps get Node's end(), equally correct.
import * as http from 'node:http';
import { callableClass, findSymbol, isOneBytePerUnit, isUtf8, optionalSymbol, probeRes, streamDestroyedError } from './common';
import { Socket } from './socket';

const kCorked = findSymbol(probeRes, 'corked');
const kErrored = findSymbol(probeRes, 'errored');
// Node 24 keeps end()'s callbacks itself, runs them before 'finish' (with an error when the
// data could not be flushed) and sets writableFinished in its onFinish; Node 20 and 22 add
// the callback as a 'finish' listener and derive writableFinished. null on those lines.
const kEndCallbacks = optionalSymbol(probeRes, 'kEndCallbacks');
const kWritableFinished = optionalSymbol(probeRes, 'kWritableFinished');
const kFlushError = optionalSymbol(probeRes, 'kFlushError');

type WriteCallback = (error?: Error | null) => void;

/** The OutgoingMessage fields end() reads and sets (not in @types/node). */
interface OutgoingFields {
  _header: string | null;
  _headerSent: boolean;
  _hasBody: boolean;
  _contentLength: number | null;
  _trailer: string;
  chunkedEncoding: boolean;
  strictContentLength: boolean;
  outputData: unknown[];
  finished: boolean;
  destroyed: boolean;
  _implicitHeader(): void;
  _finish(): void;
}

export class ServerResponse<Request extends http.IncomingMessage = http.IncomingMessage> extends http.ServerResponse<Request> {
  /**
   * Node's OutgoingMessage#end, for the common case on one of our connections: the head, the
   * body with its framing and the last chunk go to the socket as one write (one string when
   * they are all one byte per unit) instead of Node's five, or into outputData as one entry
   * for a pipelined response still waiting for the socket. Bytes, events and their order are
   * Node's; everything else (cork held, strict Content-Length, no-body statuses, other
   * encodings, a foreign socket) is Node's own end().
   */
  override end(chunk?: unknown, encoding?: BufferEncoding | WriteCallback | null, callback?: WriteCallback): this {
    if (typeof chunk === 'function') {
      callback = chunk as WriteCallback;
      chunk = null;
      encoding = null;
    } else if (typeof encoding === 'function') {
      callback = encoding;
      encoding = null;
    }
    const enc = encoding as BufferEncoding | null | undefined;
    const self = this as unknown as OutgoingFields & Record<symbol, number>;
    const socket = this.socket;
    const isString = typeof chunk === 'string';
    // Written now to our connection, or (a pipelined response waiting for its turn, no socket
    // yet) queued in outputData as Node's _writeRaw would, for assignSocket to flush.
    const direct = socket instanceof Socket && socket._acceptsFastWrite(this) && self.outputData.length === 0;
    if (
      self.finished ||
      self.destroyed ||
      // Corked while waiting for the socket, or (Node 22+) uncorked more often than corked:
      // Node holds chunks of its own, flushed by its end().
      self[kCorked] !== 0 ||
      self.strictContentLength ||
      !(direct || socket == null) ||
      !(chunk == null || (isString && (enc == null || isUtf8(enc) || isOneBytePerUnit(enc))) || chunk instanceof Uint8Array) ||
      // An unknown encoding throws from the socket's write() in the middle of Node's end(),
      // leaving the state it leaves (callback not added, socket corked).
      (enc != null && !Buffer.isEncoding(enc))
    ) {
      return super.end(chunk as string, enc as BufferEncoding, callback);
    }
    const body = chunk as string | Uint8Array | null | undefined;
    // Node's end() tests `if (chunk)`: an empty string is no chunk, and an empty buffer, though
    // written, adds no bytes and (chunked) no chunk of its own.
    const hasChunk = isString ? (body as string).length > 0 : body != null && (body as Uint8Array).byteLength > 0;
    let len = 0;
    if (hasChunk) {
      len = isString ? (isOneBytePerUnit(enc) ? (body as string).length : Buffer.byteLength(body as string, 'utf8')) : (body as Uint8Array).byteLength;
      if (!self._header) {
        self._contentLength = len;
        implicitHeaderAsEnd(this, socket);
      }
    } else if (!self._header) {
      self._contentLength = 0;
      implicitHeaderAsEnd(this, socket);
    }
    // No body allowed (HEAD, 204, 304), or a head sent already with nothing left to frame:
    // Node's own paths for those (warnings, errors, the deferred finish).
    if (!self._hasBody || (self._headerSent && !self.chunkedEncoding && !hasChunk) || self._header === null) {
      return super.end(chunk as string, enc as BufferEncoding, callback);
    }
    if (typeof callback === 'function') {
      if (kEndCallbacks) ((self as unknown as Record<symbol, WriteCallback[] | null>)[kEndCallbacks] ??= []).push(callback);
      else this.once('finish', callback);
    }
    const out = direct ? (socket as Socket) : null;
    const head = self._headerSent ? '' : self._header;
    self._headerSent = true;
    const finish = (err?: Error | null): void => onFinish(this, err);
    // A utf8 string whose byte length equals its length is ASCII: latin1 bytes are the same,
    // so head, framing and body can be one latin1 string.
    const oneString = isString && (isOneBytePerUnit(enc) || len === (body as string).length);
    if (self.chunkedEncoding) {
      const last = '0\r\n' + self._trailer + '\r\n';
      if (!hasChunk) {
        sendRaw(this, out, head + last, 'latin1', finish);
      } else if (oneString) {
        sendRaw(this, out, head + len.toString(16) + '\r\n' + (body as string) + '\r\n' + last, 'latin1', finish);
      } else {
        sendRaw(this, out, head + len.toString(16) + '\r\n', 'latin1', null);
        sendRaw(this, out, body as string, (enc ?? 'utf8') as BufferEncoding, null);
        sendRaw(this, out, '\r\n' + last, 'latin1', finish);
      }
    } else if (!hasChunk) {
      sendRaw(this, out, head, 'latin1', finish);
    } else if (isString && (enc == null || enc === 'utf8') && head !== '' && Buffer.byteLength(head, 'utf8') !== head.length) {
      // Node's _send prepends the head to a utf8 (or unnamed) string and writes both as utf8,
      // so a head's bytes 0x80-0xff (latin1 in a header value) go out as two bytes each.
      sendRaw(this, out, head + (body as string), 'utf8', finish);
    } else if (oneString) {
      sendRaw(this, out, head + (body as string), 'latin1', finish);
    } else {
      if (head !== '') sendRaw(this, out, head, 'latin1', null);
      sendRaw(this, out, body as string, (enc ?? 'utf8') as BufferEncoding, finish);
    }
    self[kCorked] = 0;
    self.finished = true;
    if (direct && (socket as Socket)._httpMessage === this) self._finish();
    return this;
  }
}

/** The exported ServerResponse: callable as node:http's is (see callableClass). */
export const PublicServerResponse = callableClass(ServerResponse, http.ServerResponse as unknown as (...args: unknown[]) => unknown);

/**
 * The head, as end() makes it. Node's end() corks the socket first and uncorks at its end: a
 * head that throws (Trailer without chunked encoding...) leaves the socket corked, holding what
 * is written after it, and so does this.
 */
function implicitHeaderAsEnd(res: http.ServerResponse, socket: unknown): void {
  try {
    (res as unknown as OutgoingFields)._implicitHeader();
  } catch (err) {
    if (socket instanceof Socket) socket.cork();
    throw err;
  }
}

/** Node's _writeRaw for end()'s two cases: a write to the connection, or outputData. */
function sendRaw(res: http.ServerResponse, socket: Socket | null, data: string | Uint8Array, encoding: BufferEncoding, cb: WriteCallback | null): void {
  if (socket) {
    socket.write(data, encoding, cb ?? undefined);
    return;
  }
  const r = res as unknown as OutgoingFields & { outputSize: number; _onPendingData(delta: number): void };
  r.outputData.push({ data, encoding, callback: cb });
  r.outputSize += data.length;
  r._onPendingData(data.length);
}

/** Node's onFinish: 'finish' once the last write completed, unless the socket failed. */
function onFinish(res: http.ServerResponse, err?: Error | null): void {
  const socket = res.socket as (Socket & { errored?: Error | null }) | null;
  if (kEndCallbacks === null || kWritableFinished === null || kFlushError === null) {
    if (socket && socket._hadError) return;
    res.emit('finish');
    return;
  }
  const state = res as unknown as Record<symbol, unknown>;
  if (err || state[kErrored] || socket?.errored || socket?._hadError) {
    const failure = err ?? (state[kErrored] as Error | null) ?? socket?.errored ?? streamDestroyedError('end');
    state[kFlushError] = failure;
    flushEndCallbacks(state, kEndCallbacks, failure);
    return;
  }
  state[kWritableFinished] = true;
  flushEndCallbacks(state, kEndCallbacks, null);
  res.emit('finish');
}

function flushEndCallbacks(state: Record<symbol, unknown>, key: symbol, err: Error | null): void {
  const callbacks = state[key] as WriteCallback[] | null;
  if (!callbacks) return;
  state[key] = null;
  for (const cb of callbacks) cb(err);
}
