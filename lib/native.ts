// The native binding and the constants of the batch format (src/server/queue.rs and
// src/server/mod.rs define them; keep both in step).
import type * as Binding from '../binding';

// Compiled to dist/lib/native.js; the napi-generated loader sits at the package root.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const binding: typeof Binding = require('../../binding.js');
export type BindingServer = Binding.BindingServer;

export const EV_CONNECTION = 1;
export const EV_HEAD = 2;
export const EV_BODY = 3;
export const EV_END = 4;
export const EV_EOF = 5;
export const EV_DRAIN = 6;
export const EV_ERROR = 7;
export const EV_TIMEOUT = 8;
export const EV_CLOSE = 9;
export const EV_DROP = 10;
export const EV_DATA = 11;
export const EV_UPGRADE_HEAD = 12;
export const EV_READ_END = 13;
export const EV_EARLY_DATA = 14;
export const EV_EOF_END = 15;

export const HEAD_KEEP_ALIVE = 1;
export const HEAD_UPGRADE = 2;
export const HEAD_HAS_BODY = 4;
export const HEAD_HAS_HOST = 16;
export const HEAD_HAS_EXPECT = 32;

export const CODE_REQUEST_TIMEOUT = 100;

export const OP_WRITE = 1;
export const OP_WRITE_BUF = 2;
export const OP_END = 3;
export const OP_DESTROY = 4;
export const OP_PAUSE = 5;
export const OP_RESUME = 6;
export const OP_RESPONSE_DONE = 7;
export const OP_SET_TIMEOUT = 8;
export const OP_NO_DELAY = 9;
export const OP_KEEP_ALIVE = 10;
export const OP_CLOSE_IF_IDLE = 11;
export const OP_UPGRADE = 12;
export const OP_TAP = 13;
export const OP_RAW_CREDIT = 14;
export const OP_INJECT = 15;
export const OP_BATCH_SEEN = 16;
/** src/server/mod.rs RAW_WINDOW: how far Rust reads a taken-over connection ahead of credit. */
export const RAW_WINDOW = 128 * 1024;

// `[code, reason]` by the index an ERROR event carries (src/h1/error.rs owns the table).
export const PARSE_ERRORS: ReadonlyArray<readonly string[]> = binding.parseErrors();
// llhttp's method names (HTTP, PRI and RTSP ones) by the index a HEAD event carries.
export const NATIVE_METHODS: readonly string[] = binding.methods();
