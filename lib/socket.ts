// The connection as JS sees it: one net.Socket-like Duplex per Rust connection, and the Outbox
// that collects a JS turn's output for all of a server's connections into one native call.
import * as net from 'node:net';
import * as os from 'node:os';
import { Readable } from 'node:stream';
import { binding, type BindingServer } from './native';
import {
  OP_DESTROY,
  OP_END,
  OP_CLOSE_IF_IDLE,
  OP_KEEP_ALIVE,
  OP_NO_DELAY,
  OP_PAUSE,
  OP_INJECT,
  OP_BATCH_SEEN,
  OP_RAW_CREDIT,
  RAW_WINDOW,
  OP_RESUME,
  OP_SET_TIMEOUT,
  OP_WRITE,
  OP_WRITE_BUF,
} from './native';
import { isOneBytePerUnit, isUtf8, nodeAtLeast, runNextTicks, streamDestroyedError, systemError } from './common';

/**
 * Node 22.9 on (nodejs/node#54032): a write still pending when its socket is destroyed completes
 * with libuv's `write ECANCELED`, which also becomes the stream's `errored`; before, without error.
 */
const DESTROY_CANCELS_WRITES = nodeAtLeast(22, 9);

const ARENA_SIZE = 64 * 1024;
/**
 * The arena grows up to this before a turn's output is flushed early: a turn answering 64
 * pipelines of 16 needs ~100 KiB, and an early flush splits each connection's bytes into two
 * writes.
 */
const ARENA_MAX = 1024 * 1024;
/** Strings and Buffers at least this big travel by reference instead of through the arena. */
const LARGE = 16 * 1024;
/** Longest string that joins a turn's rope (the ASCII test scans it). */
const ROPE_MAX = 4096;
/**
 * A rope this long is copied at once: flattening a rope of thousands of pieces (a turn of
 * pipelined responses) costs more per byte than a few shorter ones.
 */
const ROPE_SETTLE = 16 * 1024;
/** Longest Buffer appended to the rope as text rather than copied into the arena. */
const SMALL_BYTES = 8;
// The control characters are the point: any byte below 0x80.
// oxlint-disable-next-line no-control-regex
const ASCII_ONLY = /^[\x00-\x7f]*$/;

/** The CRLF Buffer Node's chunked framing writes, as text. */
const CRLF = '\r\n';

function bytesAsLatin1(b: Uint8Array, len: number): string {
  if (len === 2 && b[0] === 13 && b[1] === 10) return CRLF;
  let s = '';
  for (let k = 0; k < len; k++) s += String.fromCharCode(b[k]);
  return s;
}

/**
 * A turn's output for one native server: ops (four u32 words each), small payloads copied into
 * a reusable arena, large Buffers by reference. Flushed once per turn from a microtask, which
 * runs after the nextTick queue, so responses finished by 'finish' handlers ride along too.
 */
export class Outbox {
  private ops = new Uint32Array(1024);
  private count = 0;
  private arena = Buffer.allocUnsafe(ARENA_SIZE);
  private arenaLen = 0;
  /**
   * Strings of one byte per unit (latin1, or ASCII in utf8) queued this turn, in order; they
   * belong at `ropeStart` in the arena and end at `arenaLen`.
   */
  private rope = '';
  private ropeStart = 0;
  private bufs: Buffer[] = [];
  private scheduled = false;
  /** Sockets written this turn; their per-turn byte counts reset at flush. */
  private touched: Socket[] = [];
  readonly sockets = new Map<number, Socket>();
  /** Tapped connections destroyed by JS, until their next DATA or CLOSE event. */
  readonly tappedGone = new Map<number, Socket>();

  constructor(
    readonly native: BindingServer,
    /** A socket was destroyed (the server may now close). */
    readonly onSocketGone: () => void,
  ) {}

  /** `_final` callbacks of this turn's ends, run together in the loop's next check phase. */
  private shutdowns: WriteCallback[] = [];

  /** A net.Socket's shutdown completes in a later callback of the loop (see Socket#_final). */
  shutdownLater(cb: WriteCallback): void {
    if (this.shutdowns.push(cb) === 1) setImmediate(this.completeShutdowns);
  }

  private readonly completeShutdowns = (): void => {
    const done = this.shutdowns;
    this.shutdowns = [];
    for (const cb of done) cb(null);
  };

  /** The native server holds the event loop open (its threadsafe function is ref'd). */
  loopHeld = true;
  /** Its listening handle holds the loop (listening, not unref'd): set by the Server. */
  listenerHold = false;
  /** Connections that hold the loop, as their libuv handles would (`Socket#_holdsLoop`). */
  private holders = 0;

  /** A connection started or stopped holding the loop. */
  _holdChanged(delta: number): void {
    this.holders += delta;
    this.updateHold();
  }

  /** libuv's rule: the loop stays alive while any handle of this native server is active. */
  updateHold(): void {
    const hold = this.listenerHold || this.holders > 0;
    if (hold === this.loopHeld) return;
    this.loopHeld = hold;
    if (hold) this.native.ref();
    else this.native.unref();
  }

  op(op: number, id: number, a = 0, b = 0): void {
    if (this.count + 4 > this.ops.length) {
      const bigger = new Uint32Array(this.ops.length * 2);
      bigger.set(this.ops);
      this.ops = bigger;
    }
    const o = this.ops;
    const c = this.count;
    o[c] = op;
    o[c + 1] = id;
    o[c + 2] = a;
    o[c + 3] = b;
    this.count = c + 4;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flush);
    }
  }

  /** Queues bytes for connection `id`; returns how many. */
  write(id: number, chunk: string | Uint8Array, encoding: BufferEncoding): number {
    if (typeof chunk === 'string') {
      const n = chunk.length;
      if (n < ROPE_MAX && (isOneBytePerUnit(encoding) || (isUtf8(encoding) && ASCII_ONLY.test(chunk)))) {
        // One byte per UTF-16 unit: the string joins the turn's rope, copied at flush.
        if (this.arenaLen + n > this.arena.length) this.makeRoom(n);
        if (this.rope === '') this.ropeStart = this.arenaLen;
        this.rope += chunk;
        this.arenaWrite(id, n);
        if (this.rope.length >= ROPE_SETTLE) this.settleRope();
        return n;
      }
      // Worst case bytes per UTF-16 unit: utf8 3, utf16le 2, the rest 1 or less.
      const worst = n * (encoding === 'utf16le' || encoding === 'ucs2' || encoding === 'utf-16le' ? 2 : 3);
      if (worst >= LARGE) {
        const buf = Buffer.from(chunk, encoding);
        this.writeLarge(id, buf);
        return buf.length;
      }
      if (this.arenaLen + worst > this.arena.length) this.makeRoom(worst);
      // Bytes put in the arena directly end the rope: it must stay one contiguous run.
      this.settleRope();
      const written = writeString(this.arena, chunk, this.arenaLen, encoding);
      this.arenaWrite(id, written);
      return written;
    }
    const len = chunk.byteLength;
    if (len >= LARGE) {
      this.writeLarge(id, chunk);
      return len;
    }
    if (this.arenaLen + len > this.arena.length) this.makeRoom(len);
    if (this.rope !== '' && len <= SMALL_BYTES) {
      // Node's framing writes CRLFs and the like as tiny Buffers between its strings: as latin1
      // text they keep the rope whole.
      this.rope += bytesAsLatin1(chunk, len);
    } else {
      // Bytes put in the arena directly end the rope: it must stay one contiguous run.
      this.settleRope();
      this.arena.set(chunk, this.arenaLen);
    }
    this.arenaWrite(id, len);
    return len;
  }

  /**
   * Copies the rope into the arena at the offset its ops recorded: one native string write
   * per turn instead of one per string (each costs a call into C++).
   */
  private settleRope(): void {
    if (this.rope === '') return;
    (this.arena as EncodingWriters).latin1Write(this.rope, this.ropeStart, this.rope.length);
    this.rope = '';
  }

  /**
   * Records `n` bytes just put at the end of the arena for `id`. A response is several writes
   * (head, chunk size, data, CRLF...): the ones that follow each other become one op.
   */
  private arenaWrite(id: number, n: number): void {
    const c = this.count;
    const o = this.ops;
    if (c >= 4 && o[c - 4] === OP_WRITE && o[c - 3] === id && o[c - 2] + o[c - 1] === this.arenaLen) {
      o[c - 1] += n;
    } else {
      this.op(OP_WRITE, id, this.arenaLen, n);
    }
    this.arenaLen += n;
  }

  /** Grows the arena for `n` more bytes, or flushes the turn so far once it is at its cap. */
  private makeRoom(n: number): void {
    if (this.arena.length >= ARENA_MAX) {
      this.flush();
      return;
    }
    let size = this.arena.length * 2;
    while (size < this.arenaLen + n) size *= 2;
    const bigger = Buffer.allocUnsafe(Math.min(size, ARENA_MAX));
    this.settleRope();
    this.arena.copy(bigger, 0, 0, this.arenaLen);
    this.arena = bigger;
    if (this.arenaLen + n > bigger.length) this.flush();
  }

  /**
   * Bytes the application put into connection `id`'s readable side (`socket.push`): Node's
   * parser takes them as if read, so they go to Rust's (OP_INJECT), in pieces the arena holds.
   */
  inject(id: number, chunk: Uint8Array): void {
    for (let off = 0; off < chunk.byteLength; off += LARGE) {
      const piece = chunk.subarray(off, Math.min(chunk.byteLength, off + LARGE));
      if (this.arenaLen + piece.byteLength > this.arena.length) this.makeRoom(piece.byteLength);
      this.settleRope();
      this.arena.set(piece, this.arenaLen);
      this.op(OP_INJECT, id, this.arenaLen, piece.byteLength);
      this.arenaLen += piece.byteLength;
    }
  }

  private writeLarge(id: number, chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.op(OP_WRITE_BUF, id, this.bufs.length, 0);
    this.bufs.push(buf);
  }

  /**
   * Input of a destroyed connection that JS will never parse: in Node it stays unread in the
   * kernel, whose close() then answers with a reset, so the connection closes with RST after
   * its queued output (OP_DESTROY 2).
   */
  unreadInput(id: number): void {
    if (this.destroysDeferred.has(id)) {
      this.destroysDeferred.set(id, 2);
    } else if (this.lastUnread !== id) {
      // Destroyed in an earlier batch: its FIN may be out already.
      this.lastUnread = id;
      this.op(OP_DESTROY, id, 2);
    }
  }

  private lastUnread = 0;

  /**
   * Set while a batch is dispatched: a destroy() then waits for the batch's end, which tells
   * whether input the parser would not reach was left (`unreadInput`).
   */
  dispatching = false;
  /** Connections destroyed during this batch, in order, and their OP_DESTROY argument. */
  private readonly destroysDeferred = new Map<number, number>();

  destroyNow(id: number, how: number): void {
    if (this.dispatching && how === 0) this.destroysDeferred.set(id, 0);
    else this.op(OP_DESTROY, id, how);
  }

  /** The batch being dispatched announced connections (see `endDispatch`). */
  connectionsAnnounced = false;

  /**
   * The batch was dispatched: the destroys it saw go to Rust, and if it announced connections,
   * word that their 'connection' listeners ran, after the taps they made (and their ticks'):
   * Rust stops handing their reads over as EARLY_DATA.
   */
  endDispatch(): void {
    this.dispatching = false;
    if (this.connectionsAnnounced) {
      this.connectionsAnnounced = false;
      this.op(OP_BATCH_SEEN, 0);
    }
    if (this.destroysDeferred.size === 0) return;
    for (const [id, how] of this.destroysDeferred) this.op(OP_DESTROY, id, how);
    this.destroysDeferred.clear();
  }

  bytesRead(id: number): number | null {
    return this.native.bytesRead(id);
  }

  markTouched(socket: Socket): void {
    this.touched.push(socket);
  }

  /**
   * Submits the turn's output so far, from within the turn (a write reached the high-water
   * mark): what completes with it completes on a later tick, not inside the caller.
   */
  flushNow(): void {
    this.midTurn = true;
    try {
      this.flush();
    } finally {
      this.midTurn = false;
    }
  }

  private midTurn = false;

  readonly flush = (): void => {
    this.scheduled = false;
    if (this.count === 0) return;
    this.settleRope();
    const over = this.native.submit(this.ops, this.count, this.arena, this.bufs.length > 0 ? this.bufs : undefined);
    this.count = 0;
    this.arenaLen = 0;
    if (this.bufs.length > 0) this.bufs = [];
    if (over) {
      for (const id of over) {
        const s = this.sockets.get(id);
        if (s) {
          s._overHighWaterMark = true;
          s._syncHold();
        }
      }
    }
    const touched = this.touched;
    if (touched.length > 0) {
      this.touched = [];
      for (const s of touched) s._afterFlush(this.midTurn);
    }
  };
}

/** An event held back by a socket whose reading stopped (Server#dispatch replays it). */
export interface HeldEvent {
  meta: Uint32Array;
  text: string;
  buf: Buffer;
  bodyStart: number;
}

/** Sockets destroyed and not yet closed, each followed by whether with an error. */
let closing: Array<Socket | boolean> = [];
let closePhaseSet = false;

/**
 * A net.Socket emits 'close' from its handle's close callback: in libuv's close phase, after
 * the setImmediate callbacks of the loop iteration. The native side runs `emitCloses` there;
 * where it cannot, the next check phase comes closest.
 */
function emitCloseLater(socket: Socket, hadError: boolean): void {
  if (closing.push(socket, hadError) > 2) return;
  if (!closePhaseSet) closePhaseSet = binding.setClosePhaseCallback(emitCloses);
  if (!closePhaseSet || !binding.requestClosePhase()) setImmediate(emitCloses);
}

function emitCloses(): void {
  const now = closing;
  closing = [];
  for (let i = 0; i < now.length; i += 2) {
    // Each handle's close callback is a callback scope of its own in Node: its ticks run
    // before the next socket's 'close'.
    if (i > 0) runNextTicks();
    try {
      (now[i] as Socket).emit('close', now[i + 1] as boolean);
    } catch (err) {
      // A throwing 'close' listener surfaces as Node's would, without costing the others.
      process.nextTick(() => {
        throw err;
      });
    }
  }
}

/** Buffer's per-encoding writers (Node internals, as used by Buffer#write itself). */
type EncodingWriters = Buffer & {
  utf8Write(s: string, offset: number, length: number): number;
  latin1Write(s: string, offset: number, length: number): number;
};

/**
 * `buf.write(s, offset, encoding)` for a turn's strings: the common encodings go straight to
 * Buffer's own writer, skipping Buffer#write's argument handling on every response.
 */
function writeString(buf: Buffer, s: string, offset: number, encoding: BufferEncoding): number {
  switch (encoding) {
    case 'utf8':
    case 'utf-8':
      return (buf as EncodingWriters).utf8Write(s, offset, buf.length - offset);
    case 'latin1':
    case 'binary':
      return (buf as EncodingWriters).latin1Write(s, offset, buf.length - offset);
    default:
      return buf.write(s, offset, encoding);
  }
}

type WriteCallback = (error?: Error | null) => void;

/** The Writable state fields this file reads and keeps in step. */
interface WritableStateFields {
  ending: boolean;
  destroyed: boolean;
  errored: Error | null;
  needDrain: boolean;
  corked: number;
  highWaterMark: number;
}

/**
 * One connection. A net.Socket (without a libuv handle: every stream hook is ours) so
 * `instanceof net.Socket` holds and Node's own OutgoingMessage/IncomingMessage methods (which Express
 * runs on our objects) can drive it exactly like a net.Socket: write/cork/uncork/end/destroy,
 * pause/resume for body flow control, setTimeout, and the address fields.
 */
export class Socket extends net.Socket {
  server: unknown = null;
  _httpMessage: unknown = null;
  /** Set by the HTTP layer when it stopped reading (Node's `socket._paused`). */
  _paused = false;
  parser: unknown = null;
  /** The application took the connection over (upgrade, CONNECT). */
  _upgraded = false;
  /** Rust hands this connection's bytes to JS as they are read (see OP_TAP). */
  _tapped = false;
  /**
   * Counts of this socket's input events dispatched: in all (`_inputEvents`), when it was tapped,
   * and before the latest read JS got as EARLY_DATA (a read Rust made before JS ran the
   * 'connection' listeners): that read is the application's 'data' only if the tap came first.
   */
  _inputEvents = 0;
  _tapEvents = 0;
  _readStartEvents = 0;
  _hadError = false;
  /** Bytes handed to the Outbox (net.Socket's `_bytesDispatched`); see `bytesWritten`. */
  _bytesDispatched = 0;
  /** Final `bytesRead`: the count at destroy(), or the CLOSE event's. */
  private finalBytesRead: number | undefined = undefined;
  _family: number;
  _remotePort: number;
  _localPort: number;
  /** Rust reported this connection's unwritten output at or above the high-water mark. */
  _overHighWaterMark = false;
  private turnBytes = 0;
  private heldCallbacks: WriteCallback[] = [];
  /** Callbacks of writes cork() holds: run after uncork() has sent them, as Writable's are. */
  private corkedCallbacks: WriteCallback[] | null = null;
  /** Writes made while corked: chunk, encoding, chunk, encoding... */
  private corkedChunks: Array<string | Uint8Array | BufferEncoding> | null = null;
  /** Their length as Writable counts it (strings by length): part of `writableLength`. */
  private corkedLength = 0;
  /** Rust was told to stop reading (OP_PAUSE): the libuv handle's readStop(). */
  private readStopped = false;
  /** Bytes of a taken-over connection pushed but not credited back to Rust (OP_RAW_CREDIT). */
  private rawUncredited = 0;
  private finalSent = false;
  /** The end()'s shutdown completed (see `_final`). */
  private shutdownDone = false;
  /** resetAndDestroy() is closing this connection. */
  private resetting = false;
  /** The connection is gone on the Rust side; nothing more may be sent. */
  _nativeClosed = false;
  /** The peer's EOF arrived: like a libuv handle after it, reading no longer holds the loop. */
  _eofReceived = false;
  private loopUnrefed = false;
  /** Counted in the Outbox's holders (see `_syncHold`). */
  private countedHold = false;
  private addresses: string;
  private timeoutMs: number | undefined = undefined;

  constructor(
    readonly _id: number,
    readonly outbox: Outbox,
    addresses: string,
    remotePort: number,
    localPort: number,
    family: number,
    highWaterMark: number,
  ) {
    // No options object: net.Socket clones its options with object spread and then adds fields,
    // and on Node 20 a non-empty clone gets a fresh hidden class every time, turning every
    // property access of the constructor megamorphic (5.4 us per socket against 1 us, measured
    // with `new net.Socket({ allowHalfOpen: true })` vs `new net.Socket()`). The two options
    // are set afterwards, where the constructor would have put them.
    super();
    this.allowHalfOpen = true;
    const streams = this as unknown as { _readableState: { highWaterMark: number }; _writableState: { highWaterMark: number } };
    streams._readableState.highWaterMark = highWaterMark;
    streams._writableState.highWaterMark = highWaterMark;
    this.addresses = addresses;
    // net.Socket defines these as prototype getters over its handle; ours are plain values.
    // Family 0: a Unix-socket connection, which has no addresses in Node either. Plain fields
    // behind prototype getters (below): per-instance defineProperty would make every socket a
    // slow dictionary-mode object.
    this._family = family;
    this._remotePort = remotePort;
    this._localPort = localPort;
    // The socket's own readable side only carries data after an upgrade; keep it flowing so its
    // 'end' is emitted when the peer ends, as a server socket consumed by node:http would.
    Readable.prototype.resume.call(this);
  }

  /** `"<remote ip> <local ip>"` from the CONNECTION event, split on first use. */
  _addressPart(local: boolean): string | undefined {
    if (this.addresses === '') return undefined;
    const sp = this.addresses.indexOf(' ');
    if (sp < 0) return local ? '' : this.addresses;
    return local ? this.addresses.slice(sp + 1) : this.addresses.slice(0, sp);
  }

  _timeoutMs(): number | undefined {
    return this.timeoutMs;
  }

  /** `socket.timeout` for a timeout Rust already applies (the keep-alive's stand-in and after). */
  _mirrorTimeout(ms: number): void {
    this.timeoutMs = ms;
  }

  override address(): net.AddressInfo | Record<string, never> {
    const address = this._addressPart(true);
    if (address === undefined) return {};
    return { address, family: this.localFamily ?? 'IPv4', port: this._localPort };
  }

  /**
   * The hot path of every response (ours and Node's own `_writeRaw`). Bytes go straight to the
   * turn's Outbox, which already coalesces a turn's writes into one native call, so there is
   * nothing for Writable's buffering, corking and afterWrite ticks to add. Node's semantics kept:
   * the callback runs asynchronously, `false` above the high-water mark, 'drain' after it.
   * Unusual cases (after end, destroyed, non-byte chunks) go through Writable for its errors.
   */
  override write(chunk: unknown, encoding?: BufferEncoding | WriteCallback | null, cb?: WriteCallback): boolean {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = null;
    }
    const ws = this.ws();
    if (
      ws.ending ||
      ws.destroyed ||
      ws.errored ||
      this._nativeClosed ||
      !(typeof chunk === 'string' || chunk instanceof Uint8Array) ||
      // Writable throws ERR_UNKNOWN_ENCODING for any chunk: its own error, from its own write().
      (encoding != null && encoding !== 'utf8' && encoding !== 'latin1' && (encoding as string) !== 'buffer' && !Buffer.isEncoding(encoding))
    ) {
      return super.write(chunk as string, encoding as BufferEncoding, cb as WriteCallback);
    }
    const enc = (encoding || 'utf8') as BufferEncoding;
    if ((chunk as string | Uint8Array).length === 0) {
      // end()'s final empty write: nothing to send, only the callback to run.
    } else if (ws.corked > 0) {
      // Held until the last uncork(), as Writable would, even across turns (within a turn the
      // Outbox coalesces anyway). Counted now, for the return value.
      // Counted as Writable counts a net.Socket's chunks: strings by length, not bytes.
      (this.corkedChunks ??= []).push(chunk as string | Uint8Array, enc);
      const n = typeof chunk === 'string' ? chunk.length : (chunk as Uint8Array).byteLength;
      this.corkedLength += n;
      this.account(n);
    } else {
      this.account(this.queue(chunk as string | Buffer, enc));
    }
    const over = this.backedUp();
    if (over && !this._overHighWaterMark && ws.corked === 0) return this.writeThrough(cb);
    if (cb) {
      // Past the high-water mark (unwritten in Rust) the callback waits for DRAIN. Writable's
      // afterWrite calls back with null.
      if (ws.corked > 0) (this.corkedCallbacks ??= []).push(cb);
      else if (over) this.heldCallbacks.push(cb);
      else process.nextTick(cb, null);
    }
    if (over) {
      ws.needDrain = true;
      return false;
    }
    return true;
  }

  /**
   * This turn's writes reached the high-water mark: libuv would have tried them at once, so the
   * turn's output goes to Rust now. If the kernel took it (Rust holds less than the mark), the
   * write completes on the next tick as Writable's afterWriteTick and write() returns true, as a
   * net.Socket's whose write completed synchronously; otherwise false, and it completes at
   * DRAIN.
   */
  private writeThrough(cb: WriteCallback | undefined): boolean {
    this.outbox.flushNow();
    if (this._overHighWaterMark) {
      this.ws().needDrain = true;
      if (cb) this.heldCallbacks.push(cb);
      return false;
    }
    process.nextTick(afterWriteThrough, this, cb);
    return true;
  }

  /** Writable's afterWrite for a write that went through at once (see writeThrough). */
  _afterWriteThrough(cb: WriteCallback | undefined): void {
    const ws = this.ws();
    if (ws.needDrain && !ws.ending && !this.destroyed && !this.backedUp()) {
      ws.needDrain = false;
      this.emit('drain');
    }
    if (cb) cb(null);
  }

  /**
   * Whether `res` may write here now the way Node's _writeRaw would write directly: it is this
   * connection's current response, and nothing (cork, end, destroy) holds writes back.
   */
  _acceptsFastWrite(res: unknown): boolean {
    return this._httpMessage === res && !this._nativeClosed && this.ws().corked === 0 && this.writable;
  }

  /** Writable's internal state (not in @types/node). */
  private ws(): WritableStateFields {
    return (this as unknown as { _writableState: WritableStateFields })._writableState;
  }

  /**
   * Writable's uncork() (as its cork(), not overridden) keeps the count and, in Node 20.20, a
   * kCorked bit that end() reads to uncork fully: bypassing them left writes corked for good.
   */
  override uncork(): void {
    const ws = this.ws();
    super.uncork();
    if (ws.corked === 0 && this.corkedChunks) {
      const held = this.corkedChunks;
      this.corkedChunks = null;
      this.corkedLength = 0;
      for (let k = 0; k < held.length; k += 2) this.queue(held[k] as string | Uint8Array, held[k + 1] as BufferEncoding);
    }
    if (ws.corked > 0) return;
    const cbs = this.corkedCallbacks;
    this.corkedCallbacks = null;
    if (this.backedUp() && !this._overHighWaterMark) {
      // As in write(): libuv would write the batch at once (writeThrough).
      this.outbox.flushNow();
    }
    if (!cbs) return;
    if (this._overHighWaterMark) {
      this.heldCallbacks.push(...cbs);
    } else {
      // Writable's afterWrite: the batch's callbacks in one later tick.
      process.nextTick(runCallbacks, cbs);
    }
  }

  override _write(chunk: string | Buffer, encoding: BufferEncoding, cb: WriteCallback): void {
    this.account(this.queue(chunk, encoding));
    this.settle(cb);
  }

  override _writev(chunks: Array<{ chunk: string | Buffer; encoding: BufferEncoding }>, cb: WriteCallback): void {
    for (const { chunk, encoding } of chunks) this.account(this.queue(chunk, encoding));
    this.settle(cb);
  }

  /** Hands bytes to the Outbox; returns how many. */
  private queue(chunk: string | Uint8Array, encoding: BufferEncoding): number {
    if (this._nativeClosed) return 0;
    const n = this.outbox.write(this._id, chunk, encoding);
    this._bytesDispatched += n;
    return n;
  }

  /** Counts bytes toward this turn's volume (backpressure is judged on it until the flush). */
  private account(n: number): void {
    if (this.turnBytes === 0 && n > 0) this.outbox.markTouched(this);
    this.turnBytes += n;
  }

  /** Rust holds the high-water mark unwritten, or this turn's writes reached it. */
  private backedUp(): boolean {
    return this._overHighWaterMark || this.turnBytes >= this.ws().highWaterMark;
  }

  /** Completes a write now unless the connection is backed up; then at DRAIN. */
  private settle(cb: WriteCallback): void {
    if (this.backedUp()) {
      this.heldCallbacks.push(cb);
    } else {
      cb();
    }
  }

  /** After a flush: callbacks held only for this turn's volume are released if Rust took it. */
  _afterFlush(midTurn: boolean): void {
    this.turnBytes = 0;
    if (this._overHighWaterMark) return;
    if (midTurn) process.nextTick(releaseCallbacksOf, this);
    else this.releaseCallbacks();
  }

  /** Rust wrote everything it held for this connection. */
  _onNativeDrain(): void {
    this._overHighWaterMark = false;
    this._syncHold();
    this.releaseCallbacks();
  }

  releaseCallbacks(): void {
    if (this.heldCallbacks.length > 0) {
      const cbs = this.heldCallbacks;
      this.heldCallbacks = [];
      for (const cb of cbs) cb(null);
    }
    const ws = this.ws();
    // A Writable emits 'drain' only with nothing buffered: writes still corked keep it for
    // after their uncork (a socket left corked, by an end() that threw, never drains).
    if (ws.needDrain && !this._overHighWaterMark && this.corkedChunks === null) {
      ws.needDrain = false;
      this.emit('drain');
    }
  }

  /**
   * What a net.Socket would report as buffered: what waits for uncork(), plus 0 after writes
   * the kernel took at once (ours reach it by the end of the turn), or at least the high-water
   * mark once this turn's writes reached it or while the connection is backed up.
   */
  _pendingBytes(): number {
    const hwm = this.writableHighWaterMark;
    // Rust holds at least the high-water mark unwritten. A turn's writes past it (write()
    // returned false) count as held only on a taken-over connection, whose protocol (ws's
    // bufferedAmount) waits on them; on HTTP ones they count as written, as a net.Socket's
    // bytes the kernel takes at once do (res.writableFinished is true right after end()).
    if (this._overHighWaterMark || (this._upgraded && this.turnBytes >= hwm)) return Math.max(this.turnBytes, hwm, this.corkedLength);
    return this.corkedLength;
  }

  /** net.Socket's `bytesWritten`: bytes dispatched plus, in bytes, writes held by cork(). */
  _bytesWritten(): number {
    let n = this._bytesDispatched;
    const held = this.corkedChunks;
    if (held) {
      for (let k = 0; k < held.length; k += 2) {
        const c = held[k] as string | Uint8Array;
        n += typeof c === 'string' ? Buffer.byteLength(c, held[k + 1] as BufferEncoding) : c.byteLength;
      }
    }
    return n;
  }

  override _final(cb: WriteCallback): void {
    this.finalSent = true;
    // Half-open, as a net.Socket with allowHalfOpen: writing ends, reading goes on until the
    // peer's FIN or destroy(); after destroySoon(), only until the shutdown (see there).
    if (!this._nativeClosed) this.outbox.op(OP_END, this._id, this.destroyAtFinish ? 2 : 0);
    this._syncHold();
    // net.Socket's shutdown completes in a later callback of the loop, never within the
    // current one: the parser goes on with the read ('finish', and destroySoon()'s destroy,
    // come after it). Then, like a libuv handle with no request pending, the ended socket no
    // longer holds the loop by writing (an unread upgraded one lets the process exit).
    this.outbox.shutdownLater((err) => {
      this.shutdownDone = true;
      this._syncHold();
      cb(err);
    });
  }

  /**
   * The peer's FIN. In Node the EOF is a later libuv callback than the data before it, run once
   * that data's ticks (a request's 'end', the response it triggers) ran. A microtask runs after
   * them and still before the other sockets' callbacks of this loop iteration, which a
   * setImmediate would let in first (a proxied response seen before the client left). Then
   * push(null) and read(0), as net.Socket's onStreamRead: a paused socket with nothing buffered
   * still emits 'end'.
   */
  _onNativeEof(): void {
    this._eofReceived = true;
    this._syncHold();
    queueMicrotask(() => this.readEof());
  }

  private readEof(): void {
    // libuv completes a shutdown asked for with nothing left to write in its pending phase,
    // before the poll that reads the FIN: destroySoon() destroys the socket, and it never
    // emits 'end' (nor does the parser report a message cut short).
    if (this.finalSent && !this.shutdownDone) {
      setImmediate(() => this.readEof());
      return;
    }
    if (this.destroyed) return;
    this.push(null);
    this.read(0);
  }

  override _read(): void {
    // net.Socket's tryReadStart: after an upgrade the Readable's buffer drives reading; over
    // HTTP, pause() and resume() do (below).
    if (this.rawUncredited > 0) this.creditRaw();
  }

  /**
   * A taken-over connection's bytes (DATA). Rust reads at most RAW_WINDOW ahead of what is
   * credited back; bytes are credited once the buffer is below its high-water mark, so reading
   * stops when nobody reads, as net.Socket's does when push() returns false.
   */
  _onRawData(chunk: Buffer): void {
    this.rawUncredited += chunk.length;
    if (this.push(chunk) && this.rawUncredited > 0) this.creditRaw();
    else this._syncHold();
  }

  private creditRaw(): void {
    if (!this._nativeClosed) this.outbox.op(OP_RAW_CREDIT, this._id, this.rawUncredited);
    this.rawUncredited = 0;
    this._syncHold();
  }

  override _destroy(err: Error | null, cb: (error: Error | null) => void): void {
    // After end() Rust closes once everything is written; otherwise close now.
    if (!this._nativeClosed) {
      if (this.resetting) this.outbox.op(OP_DESTROY, this._id, 1);
      else if (err || !this.finalSent) this.outbox.destroyNow(this._id, this._held !== null && this._held.length > 0 ? 2 : 0);
      else this.outbox.op(OP_END, this._id, 1);
    }
    if (this._tapped && !this._upgraded && !this._nativeClosed) this.outbox.tappedGone.set(this._id, this);
    // net.Socket keeps its handle's bytesRead when it lets go of the handle.
    if (!this._nativeClosed) this.finalBytesRead ??= this.outbox.bytesRead(this._id) ?? undefined;
    this._nativeClosed = true;
    this._syncHold();
    this.outbox.sockets.delete(this._id);
    // Unread, as a net.Socket's unread bytes are when it closes.
    this._held = null;
    this.heldReplay = null;
    // Writable drops what it buffers (here: what cork() holds) when destroyed, failing those
    // writes' callbacks on a later tick (errorBuffer).
    this.corkedChunks = null;
    this.corkedLength = 0;
    const corkedCbs = this.corkedCallbacks;
    this.corkedCallbacks = null;
    if (corkedCbs) process.nextTick(runCallbacks, corkedCbs, err ?? streamDestroyedError('write'));
    const held = this.heldCallbacks;
    this.heldCallbacks = [];
    // A net.Socket's pending writes complete when it is destroyed: canceled (Node 22.9 on), or
    // without error.
    for (const h of held) h(DESTROY_CANCELS_WRITES ? this.writeCanceled() : null);
    cb(err);
    // As net.Socket's _destroy: the server learns first (its 'close' may precede this socket's).
    this.outbox.onSocketGone();
    // net.Socket turns off the stream's own 'close' and emits it itself, with `hadError`, from
    // its handle's close callback: libuv's close phase, after this iteration's setImmediate
    // callbacks (the check phase), which the loop's next check phase comes closest to.
    emitCloseLater(this, err != null);
  }

  /**
   * libuv's error for a write its handle's close canceled. Writable's onwrite makes the first
   * one the stream's `errored`; callbacks held here directly (the write() fast path) skip it.
   */
  private writeCanceled(): Error {
    const err = systemError(os.constants.errno.ECANCELED, 'write', undefined, undefined, false);
    const ws = this.ws();
    const rs = (this as unknown as { _readableState: { errored: Error | null } })._readableState;
    ws.errored ??= err;
    rs.errored ??= err;
    return err;
  }

  /** net.Socket's: close with a reset (RST), dropping unwritten output. */
  override resetAndDestroy(): this {
    if (this._nativeClosed || this.destroyed) {
      // Node's, once the handle is gone.
      const err = new Error('Socket is closed') as Error & { code: string };
      err.code = 'ERR_SOCKET_CLOSED';
      this.destroy(err);
      return this;
    }
    this.resetting = true;
    this.destroy();
    return this;
  }

  /**
   * After an upgrade the application drives this socket as a raw net.Socket, and some read
   * Writable's own count: ws's `bufferedAmount` is `_writableState.length`. From then on that
   * count includes what writableLength reports (bytes the connection holds unwritten), except
   * while ending, when Writable waits for it to be 0 before 'finish'.
   */
  _countPendingInWritableLength(): void {
    const state = this.ws() as WritableStateFields & { length: number };
    let own = state.length;
    const pending = (): number => (state.ending ? 0 : this._pendingBytes());
    Object.defineProperty(state, 'length', {
      configurable: true,
      enumerable: true,
      get: () => own + pending(),
      set: (n: number) => {
        own = n - pending();
      },
    });
  }

  /** destroySoon() was called: the socket is destroyed once its shutdown completes. */
  private destroyAtFinish = false;

  /**
   * Node's net.Socket#destroySoon: end, then destroy once the writable side finished. libuv
   * completes the shutdown and Node destroys before the loop's next poll, so nothing that
   * arrives after the shutdown is read: Rust is told to stop reading there.
   */
  override destroySoon(): void {
    if (!this.destroyAtFinish) {
      this.destroyAtFinish = true;
      if (this.finalSent && !this._nativeClosed) this.outbox.op(OP_END, this._id, 2);
    }
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /**
   * Events Rust read past the read in which reading stopped (see Server#dispatch, READ_END),
   * in order; null when not holding.
   */
  _held: HeldEvent[] | null = null;
  private heldReplay: (() => void) | null = null;

  _readingStopped(): boolean {
    return this.readStopped && !this._upgraded;
  }

  /** Holds what follows until reading starts again, then has `replay` run in a later callback. */
  _holdReads(replay: () => void): void {
    this._held = [];
    this.heldReplay = replay;
  }

  /** Rust stops reading this connection (libuv's readStop). */
  _readStop(): void {
    if (!this.readStopped && !this._nativeClosed) {
      this.readStopped = true;
      this.outbox.op(OP_PAUSE, this._id);
      this._syncHold();
    }
  }

  /** Rust reads this connection again (libuv's readStart). */
  _readStart(): void {
    if (this.readStopped && !this._nativeClosed) {
      this.readStopped = false;
      this.outbox.op(OP_RESUME, this._id);
      this._syncHold();
    }
    const replay = this.heldReplay;
    if (replay !== null && this._held !== null) {
      this.heldReplay = null;
      setImmediate(replay);
    }
  }

  /**
   * While HTTP owns the connection, pausing stops the reading (Node's onSocketPause /
   * onSocketResume listeners). After an upgrade they are gone, as in Node: pause() only stops
   * the flow; reading goes on into the buffer up to the high-water mark (so the peer's FIN is
   * still seen) and `_read()` starts it again.
   */
  override pause(): this {
    if (!this._upgraded) this._readStop();
    return super.pause();
  }

  override resume(): this {
    if (!this._upgraded) this._readStart();
    return super.resume();
  }

  override setTimeout(ms: number, callback?: () => void): this {
    this.timeoutMs = ms;
    if (!this._nativeClosed) this.outbox.op(OP_SET_TIMEOUT, this._id, Math.max(0, Math.min(ms, 0xffffffff)) >>> 0);
    if (callback) {
      if (ms === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    return this;
  }

  override setNoDelay(noDelay = true): this {
    if (!this._nativeClosed) this.outbox.op(OP_NO_DELAY, this._id, noDelay ? 1 : 0);
    return this;
  }

  override setKeepAlive(enable = false, initialDelay = 0): this {
    if (!this._nativeClosed) this.outbox.op(OP_KEEP_ALIVE, this._id, enable ? 1 : 0, initialDelay >>> 0);
    return this;
  }

  override ref(): this {
    this.loopUnrefed = false;
    this._syncHold();
    return this;
  }

  override unref(): this {
    this.loopUnrefed = true;
    this._syncHold();
    return this;
  }

  /**
   * Whether this connection keeps the process alive, as its libuv handle would: while reading
   * (not paused, no EOF yet), ending (until its shutdown completed), or with writes pending;
   * never once unref'd.
   */
  _holdsLoop(): boolean {
    return (
      !this._nativeClosed && !this.loopUnrefed && ((!this._eofReceived && !this.readStopped && this.rawUncredited < RAW_WINDOW) || (this.finalSent && !this.shutdownDone) || this._overHighWaterMark)
    );
  }

  /** Brings the Outbox's count of loop-holding connections in line with `_holdsLoop()`. */
  _syncHold(): void {
    const hold = this._holdsLoop();
    if (hold === this.countedHold) return;
    this.countedHold = hold;
    this.outbox._holdChanged(hold ? 1 : -1);
  }

  /** Node's net.Socket internal, called by the HTTP server on parser activity. */
  _unrefTimer(): void {}

  _bytesRead(): number {
    return this.finalBytesRead ?? this.outbox.bytesRead(this._id) ?? 0;
  }

  /** Closes the connection unless a request is being received or answered (Rust decides). */
  _closeIfIdle(): void {
    if (!this._nativeClosed) this.outbox.op(OP_CLOSE_IF_IDLE, this._id);
  }

  /** Rust closed the connection; `errno` 0 is an orderly close. */
  _onNativeClose(errno: number, bytesRead: number): void {
    // Destroyed by JS first: the count it had then is final, as a net.Socket's handle's.
    this.finalBytesRead ??= bytesRead;
    this._nativeClosed = true;
    this._syncHold();
    if (this.destroyed) return;
    if (errno !== 0) {
      this._hadError = true;
      this.destroy(systemError(errno, 'read', undefined, undefined, false));
    } else {
      this.push(null);
      this.destroy();
    }
  }
}

// net.Socket reads these from its libuv handle; ours come from the CONNECTION event.
Object.defineProperties(Socket.prototype, {
  remotePort: {
    get(this: Socket) {
      return this._family === 0 ? undefined : this._remotePort;
    },
  },
  localPort: {
    get(this: Socket) {
      return this._family === 0 ? undefined : this._localPort;
    },
  },
  remoteFamily: {
    get(this: Socket) {
      return this._family === 0 ? undefined : this._family === 6 ? 'IPv6' : 'IPv4';
    },
  },
  remoteAddress: {
    get(this: Socket) {
      return this._addressPart(false);
    },
  },
  localAddress: {
    get(this: Socket) {
      return this._addressPart(true);
    },
  },
  localFamily: {
    get(this: Socket) {
      const a = this._addressPart(true);
      return a === undefined ? undefined : a.includes(':') ? 'IPv6' : 'IPv4';
    },
  },
  readyState: {
    get(this: Socket) {
      if (this.readable && this.writable) return 'open';
      if (this.readable) return 'readOnly';
      if (this.writable) return 'writeOnly';
      return 'closed';
    },
  },
  pending: { get: () => false },
  bytesRead: {
    get(this: Socket) {
      return this._bytesRead();
    },
  },
  bytesWritten: {
    get(this: Socket) {
      return this._bytesWritten();
    },
  },
  timeout: {
    get(this: Socket) {
      return this._timeoutMs();
    },
  },
  bufferSize: {
    get(this: Socket) {
      return this._pendingBytes();
    },
  },
  // Writable's own count stays 0: bytes never wait in its buffer (see write()).
  writableLength: {
    get(this: Socket) {
      return this._pendingBytes();
    },
  },
});

/** Runs write callbacks in order, with `err` (null: written). */
function releaseCallbacksOf(socket: Socket): void {
  if (!socket._overHighWaterMark) socket.releaseCallbacks();
}

function afterWriteThrough(socket: Socket, cb: WriteCallback | undefined): void {
  socket._afterWriteThrough(cb);
}

function runCallbacks(cbs: WriteCallback[], err: Error | null = null): void {
  for (const cb of cbs) cb(err);
}
