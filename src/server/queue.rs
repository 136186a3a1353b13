//! The one queue between the IO threads and the JS thread.
//!
//! IO threads append events as flat data. JS is woken (in the binding, one threadsafe-function
//! call) once per round of the IO thread: an append on an IO thread only notes that the queue
//! needs a wake, and the wake happens when that thread runs out of work (`wake_deferred`, from
//! the runtime's park hook) or the batch grows large. JS then takes everything that accumulated
//! in one go. Waking on the first append instead would hand the core to the JS thread after
//! every request (both threads usually share one core) and the batch would stay at one event.

use std::cell::{Cell, RefCell};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::sync::Notify;

/// Event kinds, the first word of each record in `EventBatch::meta`. Layouts (after `kind, id`):
/// - `CONNECTION`: text_off, text_len (`"<remote ip> <local ip>"`), remote_port, local_port,
///   family (4 or 6)
/// - `HEAD`: flags, method (index into `h1::parse::METHODS`), version (major << 8 | minor), url_off, url_len, n, then n × (name_off, name_len,
///   value_off, value_len); offsets into `text`
/// - `BODY`: off, len into `body`
/// - `END`: n, then n trailer quads into `text`
/// - `EOF`: (none) the peer ended its side
/// - `DRAIN`: (none) everything submitted was written to the socket
/// - `ERROR`: code (`ParseError::index`, or `CODE_*` below), raw_off, raw_len into `body`,
///   bytes parsed (where in that packet the error is)
/// - `TIMEOUT`: (none) the socket was idle for its `setTimeout`
/// - `CLOSE`: errno (0 for an orderly close), bytes read (low, high 32 bits)
/// - `DROP`: as `CONNECTION`, with id 0: a connection closed at once for `maxConnections`
/// - `DATA`: off, len into `body`: raw bytes of a connection JS took over (upgrade, CONNECT)
/// - `UPGRADE_HEAD`: off, len into `body`: right after the `HEAD` of an upgrade or CONNECT
/// - `EARLY_DATA`: as `DATA`, a read of a connection JS may have tapped meanwhile
///   request without a body, the bytes read past that head (Node's `head` argument of
///   'upgrade'/'connect'; `len` may be 0)
/// - `EOF_END`: (none) as `EOF`, where the peer's end also completes the request whose body runs
///   to it (lenient llhttp's body_identity_eof): Node's parser completes that message only at
///   the socket's 'end' (socketOnEnd's parser.finish()), not as the bytes are parsed
/// - `READ_END`: (none) the events of one read end here and a request body is still arriving:
///   where Node's parser stops when reading was stopped during that read
pub const EV_CONNECTION: u32 = 1;
pub const EV_HEAD: u32 = 2;
pub const EV_BODY: u32 = 3;
pub const EV_END: u32 = 4;
pub const EV_EOF: u32 = 5;
pub const EV_DRAIN: u32 = 6;
pub const EV_ERROR: u32 = 7;
pub const EV_TIMEOUT: u32 = 8;
pub const EV_CLOSE: u32 = 9;
pub const EV_DROP: u32 = 10;
pub const EV_DATA: u32 = 11;
pub const EV_UPGRADE_HEAD: u32 = 12;
pub const EV_READ_END: u32 = 13;
/// A read's bytes, as `DATA`, for a connection JS may have tapped in a 'connection' listener
/// it had not run when the read happened: JS keeps them only if it did.
pub const EV_EARLY_DATA: u32 = 14;
pub const EV_EOF_END: u32 = 15;

/// `HEAD` flags.
pub const HEAD_KEEP_ALIVE: u32 = 1;
pub const HEAD_UPGRADE: u32 = 2;
pub const HEAD_HAS_BODY: u32 = 4;
pub const HEAD_CHUNKED: u32 = 8;
pub const HEAD_HAS_HOST: u32 = 16;
pub const HEAD_HAS_EXPECT: u32 = 32;

/// `ERROR` codes beyond the parser's: Node's `ERR_HTTP_REQUEST_TIMEOUT` (answered with 408).
pub const CODE_REQUEST_TIMEOUT: u32 = 100;

/// Words in the event record starting at `meta[i]` (the layouts above); 0 for an unknown kind.
pub fn event_len(meta: &[u32], i: usize) -> usize {
    match meta[i] {
        EV_CONNECTION | EV_DROP => 7,
        EV_HEAD => 8 + 4 * meta[i + 7] as usize,
        EV_BODY | EV_DATA | EV_EARLY_DATA | EV_UPGRADE_HEAD => 4,
        EV_END => 3 + 4 * meta[i + 2] as usize,
        EV_CLOSE => 5,
        EV_ERROR => 6,
        EV_EOF | EV_EOF_END | EV_DRAIN | EV_TIMEOUT | EV_READ_END => 2,
        _ => 0,
    }
}

#[derive(Debug, Default)]
pub struct EventBatch {
    pub meta: Vec<u32>,
    /// Request heads and trailers, latin1 (JS decodes the whole region once per batch).
    pub text: Vec<u8>,
    /// Body bytes and raw packets of errors.
    pub body: Vec<u8>,
}

impl EventBatch {
    /// Appends a `BODY`, `DATA` or `UPGRADE_HEAD` record carrying `bytes` for connection `id`.
    pub fn push_bytes(&mut self, kind: u32, id: u32, bytes: &[u8]) {
        let off = self.body.len() as u32;
        self.body.extend_from_slice(bytes);
        self.meta
            .extend_from_slice(&[kind, id, off, bytes.len() as u32]);
    }

    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    /// Bytes of `write_wire`'s output.
    pub fn wire_len(&self) -> usize {
        16 + self.meta.len() * 4 + self.text.len() + self.body.len()
    }

    /// The batch as one buffer: four u32 words (meta count, text length, body length, 0), the
    /// meta words, the text, the body — all little-endian, meta 4-byte aligned. One buffer is
    /// one napi value to create per batch. `out` must be `wire_len()` bytes.
    pub fn write_wire(&self, out: &mut [u8]) {
        let mut pos = 0;
        let mut put = |bytes: &[u8]| {
            out[pos..pos + bytes.len()].copy_from_slice(bytes);
            pos += bytes.len();
        };
        for w in [
            self.meta.len() as u32,
            self.text.len() as u32,
            self.body.len() as u32,
            0,
        ] {
            put(&w.to_le_bytes());
        }
        for w in &self.meta {
            put(&w.to_le_bytes());
        }
        put(&self.text);
        put(&self.body);
    }

    fn clear(&mut self) {
        self.meta.clear();
        self.text.clear();
        self.body.clear();
    }
}

struct Inner {
    batch: EventBatch,
    /// JS was woken and has not taken the batch yet.
    scheduled: bool,
    /// An IO thread holds this queue in its list of wakes to make before it parks.
    deferred: bool,
    /// Batches JS has taken: a connection's share of the batch being filled is counted within
    /// one of these.
    taken: u64,
    /// Batches JS has said it dispatched (`OP_BATCH_SEEN`), their 'connection' listeners run.
    seen: u64,
}

pub struct EventQueue {
    inner: Mutex<Inner>,
    waker: Box<dyn Fn() + Send + Sync>,
    this: Weak<EventQueue>,
    /// Signalled each time JS takes a batch, for connections waiting on `BODY_BUDGET`.
    pub taken: Notify,
}

/// A batch this big wakes JS at once rather than at the end of the IO thread's round.
const EAGER_META_WORDS: usize = 16 * 1024;
const EAGER_BODY_BYTES: usize = 128 * 1024;

thread_local! {
    /// Set on the runtime's IO threads: their appends defer the wake to the park hook.
    static DEFERS_WAKES: Cell<bool> = const { Cell::new(false) };
    /// Set on a JS thread that runs its IO itself (`server::local`): JS cannot run before the
    /// step ends, so waking it early (a big batch, a long round) would only send the batch
    /// through the threadsafe function, a loop iteration later, instead of the direct delivery.
    static DELIVERS_AFTER_STEP: Cell<bool> = const { Cell::new(false) };
    static DEFERRED: RefCell<Vec<Arc<EventQueue>>> = const { RefCell::new(Vec::new()) };
    /// Connection-task rounds since a wake was deferred on this thread.
    static ROUNDS_SINCE_DEFER: Cell<u32> = const { Cell::new(0) };
}

/// A thread that keeps finding work never parks; after this many connection rounds with a
/// wake pending it wakes JS anyway, so one busy connection cannot starve the others' events.
const ROUNDS_BEFORE_FORCED_WAKE: u32 = 64;

/// Called by a connection task before it waits: wakes JS if wakes have been deferred for many
/// rounds without the thread parking.
pub fn end_of_round() {
    if DELIVERS_AFTER_STEP.with(|d| d.get()) {
        return;
    }
    let pending = DEFERRED.with(|d| !d.borrow().is_empty());
    if !pending {
        return;
    }
    let rounds = ROUNDS_SINCE_DEFER.with(|r| {
        let n = r.get() + 1;
        r.set(n);
        n
    });
    if rounds >= ROUNDS_BEFORE_FORCED_WAKE {
        wake_deferred();
    }
}

/// Marks the current thread as an IO thread whose appends wake JS only in `wake_deferred`.
pub fn defer_wakes_on_this_thread() {
    DEFERS_WAKES.with(|d| d.set(true));
}

/// Marks the current thread as a JS thread that steps its own IO and takes the events after
/// each step (`wake_deferred_with`), whatever their size.
pub fn deliver_after_steps_on_this_thread() {
    defer_wakes_on_this_thread();
    DELIVERS_AFTER_STEP.with(|d| d.set(true));
}

/// Whether this thread appended to a queue whose wake it still owes.
pub fn has_deferred() -> bool {
    DEFERRED.with(|d| !d.borrow().is_empty())
}

/// Wakes JS for every queue this thread appended to since it last ran out of work.
pub fn wake_deferred() {
    wake_deferred_with(|_| false);
}

/// `wake_deferred`, offering each queue that needs a wake to `deliver` first: on the JS thread
/// itself the binding hands the batch to JS directly and returns true; false falls back to the
/// queue's waker.
pub fn wake_deferred_with(mut deliver: impl FnMut(&EventQueue) -> bool) {
    ROUNDS_SINCE_DEFER.with(|r| r.set(0));
    let queues = DEFERRED.with(|d| std::mem::take(&mut *d.borrow_mut()));
    for q in queues {
        let wake = {
            let mut g = q.inner.lock().unwrap_or_else(|e| e.into_inner());
            g.deferred = false;
            let wake = !g.scheduled && !g.batch.is_empty();
            g.scheduled |= wake;
            wake
        };
        if wake && !deliver(&q) {
            (q.waker)();
        }
    }
}

/// Body bytes an undrained batch may hold before connections stop reading request bodies:
/// the bound on memory when JS falls behind an upload.
pub const BODY_BUDGET: usize = 1024 * 1024;

/// Body bytes one connection may put into one batch (a read more at most). Every body chunk is
/// a view of its batch's Buffer, which lives until V8 collects it. Measured on one 1 GiB upload
/// (the memory spec's fixture): in 1 MiB batches the server peaked at 94 MB on
/// Node 20 and 102 on Node 22, and took 0.8 s of CPU; in 64 KiB ones, as node:http reads, at
/// 86.5 and 93.7 MB (node:http: 87 and 89.5) in 0.35 s. Small Buffers come from the allocator's
/// free lists and die young; 1 MiB ones are fresh pages each time. Many connections still fill
/// a batch to `BODY_BUDGET` together, so many small bodies keep their large batches.
pub const CONN_BODY_SHARE: usize = 64 * 1024;

pub struct QueueGuard<'a> {
    guard: MutexGuard<'a, Inner>,
    queue: &'a EventQueue,
}

impl QueueGuard<'_> {
    pub fn batch(&mut self) -> &mut EventBatch {
        &mut self.guard.batch
    }

    /// Which batch is being filled (how many JS has taken before it).
    pub fn generation(&self) -> u64 {
        self.guard.taken
    }
}

impl Drop for QueueGuard<'_> {
    fn drop(&mut self) {
        let g = &mut *self.guard;
        if g.scheduled || g.batch.is_empty() {
            return;
        }
        let big = g.batch.meta.len() >= EAGER_META_WORDS || g.batch.body.len() >= EAGER_BODY_BYTES;
        let eager = big && !DELIVERS_AFTER_STEP.with(|d| d.get());
        if eager || !DEFERS_WAKES.with(|d| d.get()) {
            g.scheduled = true;
            (self.queue.waker)();
        } else if !g.deferred {
            g.deferred = true;
            if let Some(q) = self.queue.this.upgrade() {
                DEFERRED.with(|d| d.borrow_mut().push(q));
            }
        }
    }
}

impl EventQueue {
    pub fn new(waker: Box<dyn Fn() + Send + Sync>) -> Arc<Self> {
        Arc::new_cyclic(|this| Self {
            inner: Mutex::new(Inner {
                batch: EventBatch::default(),
                scheduled: false,
                deferred: false,
                taken: 0,
                seen: 0,
            }),
            waker,
            this: this.clone(),
            taken: Notify::new(),
        })
    }

    /// Identifies this queue (its address) for the binding's direct delivery.
    pub fn key(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// Locks the queue for appending; JS is woken when the guard drops, if it needs to be.
    pub fn lock(&self) -> QueueGuard<'_> {
        QueueGuard {
            guard: self.inner.lock().unwrap_or_else(|e| e.into_inner()),
            queue: self,
        }
    }

    /// Takes everything queued (JS thread). The next append wakes JS again.
    pub fn take(&self) -> EventBatch {
        let batch = {
            let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            g.scheduled = false;
            g.taken += 1;
            std::mem::take(&mut g.batch)
        };
        self.taken.notify_waiters();
        batch
    }

    /// Takes everything queued and hands it to `f` (JS thread), then gives the emptied vectors
    /// back for the next batch, so the IO side does not allocate (and the JS thread free) a
    /// batch's worth of memory each time.
    pub fn take_with<R>(&self, f: impl FnOnce(&EventBatch) -> R) -> R {
        let mut batch = self.take();
        let r = f(&batch);
        batch.clear();
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if g.batch.is_empty() && g.batch.body.capacity() < batch.body.capacity() {
            g.batch = batch;
        }
        r
    }

    /// JS has dispatched every batch it took (`OP_BATCH_SEEN`, JS thread).
    pub fn batches_seen(&self) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.seen = g.taken;
    }

    /// How many batches JS has dispatched: those it said so of, and every one before the
    /// latest it took (it takes a batch only once done with the one before).
    pub fn dispatched(&self) -> u64 {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.seen.max(g.taken.saturating_sub(1))
    }

    /// Which batch is being filled (`QueueGuard::generation`), without appending.
    pub fn generation(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).taken
    }

    /// Whether a connection that put `mine` body bytes into the batch `tag` names (1 + its
    /// generation) must wait for JS to take it: the batch is at `BODY_BUDGET`, or that
    /// connection at its share.
    pub fn body_full(&self, tag: u64, mine: usize) -> bool {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.batch.body.len() >= BODY_BUDGET || (g.taken + 1 == tag && mine >= CONN_BODY_SHARE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn wakes_once_per_batch() {
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = wakes.clone();
        let q = EventQueue::new(Box::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        }));
        for i in 0..10 {
            q.lock().batch().meta.extend_from_slice(&[EV_EOF, i]);
        }
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        let b = q.take();
        assert_eq!(b.meta.len(), 20);
        drop(q.lock()); // nothing appended: no wake
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        q.lock().batch().meta.extend_from_slice(&[EV_EOF, 1]);
        assert_eq!(wakes.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn io_threads_wake_when_they_run_out_of_work() {
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = wakes.clone();
        let q = EventQueue::new(Box::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        }));
        let q2 = q.clone();
        let w2 = wakes.clone();
        std::thread::spawn(move || {
            defer_wakes_on_this_thread();
            for i in 0..10 {
                q2.lock().batch().meta.extend_from_slice(&[EV_EOF, i]);
            }
            assert_eq!(w2.load(Ordering::SeqCst), 0);
            wake_deferred();
            assert_eq!(w2.load(Ordering::SeqCst), 1);
            wake_deferred();
            assert_eq!(w2.load(Ordering::SeqCst), 1);
        })
        .join()
        .unwrap();
        assert_eq!(q.take().meta.len(), 20);
    }

    #[test]
    fn wire_layout() {
        let b = EventBatch {
            meta: vec![1, 2],
            text: b"ab".to_vec(),
            body: b"xyz".to_vec(),
        };
        let mut w = vec![0; b.wire_len()];
        b.write_wire(&mut w);
        assert_eq!(&w[0..4], &2u32.to_le_bytes());
        assert_eq!(&w[4..8], &2u32.to_le_bytes());
        assert_eq!(&w[8..12], &3u32.to_le_bytes());
        assert_eq!(&w[24..], b"abxyz");
    }
}
