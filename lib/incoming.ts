// IncomingMessage (Node's _http_incoming.js). Node's own class does the work: its lazy
// `headers` getter applies Node's duplicate rules to the flat `rawHeaders` we fill, and its
// `_read`/`_dump`/`_destroy` drive our socket through pause/resume/destroy. Subclassing keeps
// `instanceof http.IncomingMessage` true and survives Express swapping the prototype.
import * as http from 'node:http';
import { Readable } from 'node:stream';
import { callableClass } from './common';

/** The ReadableState fields read() looks at (accessors over Node's bit field). */
interface ReadableFields {
  ended: boolean;
  endEmitted: boolean;
  emittedReadable: boolean;
  length: number;
}

/** An 'end' is scheduled (endReadableNT queued) and nothing has been unshifted since. */
const kEndScheduled = Symbol('ferrohttp.endScheduled');

export class IncomingMessage extends http.IncomingMessage {
  [kEndScheduled] = false;

  /**
   * Readable#read, minus its repeats of a scheduled 'end'. Once a request has ended and its
   * buffer is empty, each read() until 'end' is emitted queues another endReadableNT tick that
   * finds the work done: a request nobody reads gets four (resume_ reads twice, each flow()
   * once). Those repeats are skipped: a read() (or read(0)) of an ended, empty message whose
   * 'end' is already queued does only what read() does besides. Anything else is Readable's.
   */
  override read(n?: number): unknown {
    const state = (this as unknown as { _readableState: ReadableFields })._readableState;
    const endOnly = state.ended && state.length === 0 && !state.endEmitted && (n === undefined || n === 0);
    if (endOnly && this[kEndScheduled]) {
      if (n !== 0) state.emittedReadable = false;
      return null;
    }
    const chunk: unknown = super.read(n);
    // Readable#read of an ended, empty stream always calls endReadable, which queues the tick.
    if (endOnly) this[kEndScheduled] = true;
    return chunk;
  }

  /** Data put back before 'end' may make that tick find the message not yet drained. */
  override unshift(chunk: unknown, encoding?: BufferEncoding): void {
    this[kEndScheduled] = false;
    Readable.prototype.unshift.call(this, chunk, encoding);
  }
}

/** The exported IncomingMessage: callable as node:http's is (see callableClass). */
export const PublicIncomingMessage = callableClass(IncomingMessage, http.IncomingMessage as unknown as (...args: unknown[]) => unknown);
