//! One connection: read, parse heads, decode bodies, queue events for JS; write what JS submits,
//! in the order it was submitted; enforce the pipelining bound, timeouts and backpressure.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::Interest;
use tokio::sync::futures::Notified;
use tokio::time::Instant;

use super::queue::*;
use super::stream::ConnStream;
use super::{ConnShared, ServerInner, RAW_WINDOW};
use crate::h1::llhttp::should_keep_alive;
use crate::h1::{
    parse_request_head, BodyDecoder, BodyKind, Decoded, Fold, HeadLimits, ParseError, RequestHead,
};

/// What ended a connection's wait.
enum Woken {
    Commands,
    Timer,
    /// The socket is readable (false: the runtime is shutting down).
    Readable(bool),
    Writable,
    /// JS took a batch: the body budget may have room.
    Budget,
}

/// Where the read side stands.
enum Reading {
    /// Waiting for (the rest of) a request head.
    Head,
    /// Inside a request body.
    Body(BodyDecoder),
    /// No more requests on this connection (EOF, or bytes after a lenient closing request).
    Stopped,
    /// After a parse error: like llhttp in its error state, every later read is the same
    /// error again (Node's `bytesParsed` of it too), and an EOF is still seen.
    Failed { code: u32, parsed: u32 },
    /// After a request that does not keep the connection alive (llhttp's `closed` state):
    /// nothing more is read; CR and LF already received are skipped, anything else is
    /// HPE_CLOSED_CONNECTION.
    Closed,
    /// After an Upgrade/CONNECT request: nothing is read until JS says whether it took the
    /// connection over (`OP_UPGRADE` 1: `Raw`) or declined it (0: HTTP goes on).
    AwaitUpgrade,
    /// The connection belongs to JS: bytes are forwarded as DATA events, unparsed.
    Raw,
    /// An upgrade JS declined: like llhttp paused on an upgrade, nothing more is parsed; bytes
    /// are read (to see the peer's EOF) and dropped.
    Discard,
}

/// Smallest free space a read is given once a connection has filled a read (a body, a burst
/// of pipelined requests); the buffer grows by this much when short. Node reads 64 KiB at a
/// time too: a 64 KiB body in one read, not four.
const READ_CHUNK: usize = 64 * 1024;
/// Free space for reads until then: most connections only ever send small requests, and a
/// 64 KiB buffer per connection costs an allocation outside malloc's fast bins on every
/// connect and the memory of every idle keep-alive connection.
const SMALL_READ_CHUNK: usize = 4 * 1024;
/// A drained read buffer larger than this is given back, so idle keep-alive sockets stay small.
const READ_BUF_KEEP: usize = 2 * READ_CHUNK;
/// Raw packet bytes attached to a client error (Node's `err.rawPacket`).
const RAW_PACKET_MAX: usize = 64 * 1024;

struct Conn {
    id: u32,
    inner: Arc<ServerInner>,
    shared: Arc<ConnShared>,
    rbuf: Vec<u8>,
    rpos: usize,
    /// A read filled the buffer: reads get `READ_CHUNK` from now on.
    big_reads: bool,
    /// Where the latest packet starts in `rbuf`: Node's `err.rawPacket`, and what its
    /// `bytesParsed` counts from. Node reads up to 64 KiB at once; reads here start smaller, so
    /// reads that follow one that filled its room continue its packet up to that size.
    packet_start: usize,
    /// The latest read filled the room it was given (more was waiting).
    read_filled: bool,
    wbuf: Vec<u8>,
    wpos: usize,
    reading: Reading,
    /// The parser's settings as they were when this connection came (Node reads them then).
    head_limits: HeadLimits,
    head: RequestHead,
    keep_alive: bool,
    dispatched: u32,
    responses_done: u32,
    js_paused: bool,
    /// Body bytes put into the batch `shared.body_batch` names, bounded by `CONN_BODY_SHARE`.
    body_in_batch: usize,
    /// Parsing stopped inside a read at a batch's body bound: the read's events go on in a
    /// later batch, so this is no read's end for JS.
    read_cut: bool,
    /// Bytes a taken-over connection may still forward before JS credits some back.
    raw_window: usize,
    eof: bool,
    end_requested: bool,
    /// Writing is shut down (end() done); reading goes on unless `close_requested`.
    write_shut: bool,
    /// JS destroys the socket when the shutdown completes (destroySoon()). libuv completes a
    /// shutdown, and Node destroys, before its next poll: what arrives after it (most often
    /// the client's FIN) is never read, and reading it here would cost a read and an event.
    no_read_after_shutdown: bool,
    close_requested: bool,
    want_drain: bool,
    /// Socket idle timeout set from JS (`socket.setTimeout`), and when it last saw activity.
    idle_timeout: Option<Duration>,
    idle_fired: bool,
    /// The keep-alive timeout stands in for the idle timeout until the next request head,
    /// which sets the idle timeout to this (ms, 0 none).
    idle_after_keep_alive: Option<u32>,
    last_activity: Instant,
    /// Deadlines for the request being received (headersTimeout, requestTimeout). A message
    /// starts at its first byte, or for the first one at connect, as in Node.
    head_deadline: Option<Instant>,
    request_deadline: Option<Instant>,
    message_active: bool,
    /// Node's keep-alive timeout. Checked lazily: the timer is moved at most once per period,
    /// not on every request, and JS need not wake the task when a response finishes.
    keep_alive_timeout: Option<Duration>,
    keep_alive_check: Option<Instant>,
    last_read: Instant,
    last_done: Option<Instant>,
    /// An `UPGRADE_HEAD` went to JS with the bytes past the upgrade request's head.
    upgrade_head_sent: bool,
    /// The body of an upgrade request, read only if JS declines the upgrade.
    upgrade_body: Option<BodyDecoder>,
    /// Bytes at the end of `rbuf` read since the last `DATA` of a tapped connection.
    tap_unsent: usize,
    /// The batch that announced the connection. Until JS has dispatched it, JS may still tap
    /// the connection in a 'connection' listener, which in Node runs before any read: reads
    /// until then go to JS as `EARLY_DATA`, kept if it did.
    announced_in: Option<u64>,
    /// Bytes the application pushed into the socket (OP_INJECT), parsed as a read of their own.
    injected: Vec<u8>,
    /// This task's waker, kept in the Outbox for `submit` to wake.
    waker: Waker,
}

/// Announces an accepted connection (`EV_CONNECTION`), from the accept loop: 'connection'
/// events come in the order the connections were accepted, whichever task runs first. Returns
/// the generation of the batch the event went into.
pub(super) fn announce(
    inner: &ServerInner,
    id: u32,
    stream: &ConnStream,
    peer: Option<SocketAddr>,
    listen_addr: Option<SocketAddr>,
) -> u64 {
    // A listener bound to one address gives every connection that local address; only a
    // wildcard bind needs the getsockname call.
    let local = match listen_addr {
        Some(a) if !a.ip().is_unspecified() => Some(a),
        _ => stream.sock().local_addr().ok().and_then(|a| a.as_socket()),
    };
    let mut q = inner.queue.lock();
    push_connection(q.batch(), EV_CONNECTION, id, peer, local);
    q.generation()
}

/// Serves a connection announced in batch `announced_in` until it closes.
pub(super) async fn run(
    inner: Arc<ServerInner>,
    id: u32,
    shared: Arc<ConnShared>,
    announced_in: u64,
) {
    let config = &inner.config;
    let stream = &shared.stream;
    stream.set_nodelay(config.no_delay);
    if let Some(delay) = config.keep_alive {
        set_keep_alive(stream, true, delay);
    }
    let head_limits = *inner.head_limits.lock().unwrap_or_else(|e| e.into_inner());
    let mut conn = Conn {
        id,
        inner: inner.clone(),
        shared: shared.clone(),
        rbuf: Vec::new(),
        rpos: 0,
        big_reads: false,
        packet_start: 0,
        read_filled: false,
        wbuf: Vec::new(),
        wpos: 0,
        reading: Reading::Head,
        head_limits,
        head: RequestHead::default(),
        keep_alive: true,
        dispatched: 0,
        responses_done: 0,
        js_paused: false,
        body_in_batch: 0,
        read_cut: false,
        raw_window: 0,
        eof: false,
        end_requested: false,
        write_shut: false,
        close_requested: false,
        no_read_after_shutdown: false,
        want_drain: false,
        idle_timeout: None,
        idle_fired: false,
        idle_after_keep_alive: None,
        last_activity: Instant::now(),
        head_deadline: config.headers_timeout.map(|t| Instant::now() + t),
        request_deadline: config.request_timeout.map(|t| Instant::now() + t),
        message_active: true,
        keep_alive_timeout: config.keep_alive_timeout,
        keep_alive_check: config.keep_alive_timeout.map(|t| Instant::now() + t),
        last_read: Instant::now(),
        last_done: None,
        upgrade_head_sent: false,
        upgrade_body: None,
        tap_unsent: 0,
        announced_in: Some(announced_in),
        injected: Vec::new(),
        waker: std::future::poll_fn(|cx| Poll::Ready(cx.waker().clone())).await,
    };
    let errno = conn.serve(stream).await;
    let read = shared.bytes_read.load(Ordering::Relaxed);
    let mut q = inner.queue.lock();
    q.batch()
        .meta
        .extend_from_slice(&[EV_CLOSE, id, errno, read as u32, (read >> 32) as u32]);
}

/// A connection's timer: tokio's on an IO thread; on a JS thread that runs its IO itself, the
/// local runtime's own (`LocalTimer`, which costs no driver wake when set).
enum ConnTimer {
    Tokio(Pin<Box<tokio::time::Sleep>>),
    Local(super::local::LocalTimer),
}

impl ConnTimer {
    fn new() -> Self {
        if super::local::LocalRuntime::existing().is_some() {
            Self::Local(super::local::LocalTimer::default())
        } else {
            Self::Tokio(Box::pin(tokio::time::sleep(Duration::from_secs(3600))))
        }
    }

    fn reset(&mut self, at: Instant) {
        match self {
            Self::Tokio(sleep) => sleep.as_mut().reset(at),
            Self::Local(timer) => timer.reset(at),
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self {
            Self::Tokio(sleep) => sleep.as_mut().poll(cx),
            Self::Local(timer) => timer.poll(cx),
        }
    }

    fn is_elapsed(&self) -> bool {
        match self {
            Self::Tokio(sleep) => sleep.is_elapsed(),
            Self::Local(timer) => timer.is_elapsed(),
        }
    }
}

/// Unix-socket connections have no addresses (family 0), as in Node.
pub(super) fn push_connection(
    batch: &mut EventBatch,
    kind: u32,
    id: u32,
    peer: Option<SocketAddr>,
    local: Option<SocketAddr>,
) {
    let off = batch.text.len();
    if let (Some(p), Some(l)) = (peer, local) {
        use std::io::Write;
        // Formatted straight into the batch: no String per connection. A Vec takes every write.
        let _ = write!(batch.text, "{} {}", p.ip(), l.ip());
    }
    let len = batch.text.len() - off;
    let family = match peer {
        Some(p) if p.is_ipv4() => 4,
        Some(_) => 6,
        None => 0,
    };
    batch.meta.extend_from_slice(&[
        kind,
        id,
        off as u32,
        len as u32,
        peer.map_or(0, |p| u32::from(p.port())),
        local.map_or(0, |l| u32::from(l.port())),
        family,
    ]);
}

fn set_keep_alive(stream: &ConnStream, on: bool, delay: Duration) {
    if !stream.is_tcp() {
        return;
    }
    let sock = stream.sock();
    let _ = sock.set_keepalive(on);
    if on && !delay.is_zero() {
        let _ = sock.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(delay));
    }
}

/// Reads into the spare capacity of `buf`. A short read means the socket is drained, so the
/// readiness is cleared in the same step (tokio's tick check keeps a newer edge): that saves
/// the `read` that would only return EAGAIN.
fn read_some(stream: &ConnStream, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
    let sock = stream.sock();
    let len = buf.len();
    let spare = buf.spare_capacity_mut();
    let room = spare.len().min(max);
    let spare = &mut spare[..room];
    let mut got = 0;
    let r = stream.try_io(Interest::READABLE, || {
        let n = sock.recv(spare)?;
        got = n;
        if n > 0 && n < room {
            Err(io::ErrorKind::WouldBlock.into())
        } else {
            Ok(n)
        }
    });
    let n = match r {
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock && got > 0 => got,
        Err(e) => return Err(e),
    };
    // SAFETY: `recv` initialised the first `n` bytes of the spare capacity.
    unsafe { buf.set_len(len + n) };
    Ok(n)
}

fn errno_of(e: &io::Error) -> u32 {
    e.raw_os_error().map_or(1, |n| n as u32)
}

impl Conn {
    /// Runs until the connection closes; returns the errno that closed it, 0 for an orderly
    /// close.
    async fn serve(&mut self, stream: &ConnStream) -> u32 {
        let mut timer = ConnTimer::new();
        let mut timer_at: Option<Instant> = None;
        let mut timer_fired = false;
        // The waker the timer holds since its last reset: polling it again would only
        // re-register it (tokio's AtomicWaker clones and drops a waker each time).
        let mut timer_waker: Option<Waker> = None;
        let mut timer_registered = false;
        let queue = self.inner.queue.clone();
        let mut budget = pin!(None::<Notified<'_>>);
        loop {
            if self.take_commands(stream) {
                // Destroyed by JS: what is already queued (a canned error reply, the end of a
                // response) gets one non-blocking attempt, like a net.Socket's last write.
                let _ = self.flush(stream);
                return 0;
            }
            // After the commands: responses JS finished without waking this task count for
            // the keep-alive check.
            if std::mem::take(&mut timer_fired) {
                self.on_timer();
            }
            if let Err(e) = self.flush(stream) {
                return errno_of(&e);
            }
            if self.wpos == self.wbuf.len() {
                if self.end_requested && !self.write_shut {
                    let _ = stream.sock().shutdown(std::net::Shutdown::Write);
                    self.write_shut = true;
                }
                if self.close_requested {
                    return 0;
                }
                if self.want_drain {
                    self.want_drain = false;
                    let mut q = self.inner.queue.lock();
                    q.batch().meta.extend_from_slice(&[EV_DRAIN, self.id]);
                }
            }
            let rpos_before = self.rpos;
            self.process_input();
            let body_unparsed = self.rpos < self.rbuf.len()
                && matches!(&self.reading, Reading::Body(d) if !d.is_done());
            self.shared
                .body_unparsed
                .store(body_unparsed, Ordering::Relaxed);
            self.mark_read_end(rpos_before);
            self.push_tapped();
            if self.take_injected() {
                continue;
            }
            if self.in_flight() >= self.inner.config.max_pipelined {
                // Stopped at the bound: from here on a finished response must wake the task.
                let mut out = self.shared.lock();
                self.responses_done = out.responses_done;
                out.waiting_for_responses = self.in_flight() >= self.inner.config.max_pipelined;
                if !out.waiting_for_responses {
                    // Responses finished meanwhile, without a wake: parse on now.
                    continue;
                }
            }

            // Registered before the check, so a take between the check and the wait still wakes.
            let body_budget_full = matches!(self.reading, Reading::Body(_)) && {
                if budget.is_none() {
                    budget.set(Some(queue.taken.notified()));
                }
                queue.body_full(
                    self.shared.body_batch.load(Ordering::Relaxed),
                    self.body_in_batch,
                )
            };
            if !body_budget_full {
                budget.set(None);
            }
            let max_head = self.head_limits.max_head_bytes;
            let max_buffered = match self.reading {
                // A partial head: llhttp counts only its target, names and values against
                // maxHeaderSize, so colons and line ends ("a:\r\n") make it up to about four
                // times that on the wire.
                Reading::Head => 4 * max_head + SMALL_READ_CHUNK,
                _ => max_head,
            };
            if matches!(self.reading, Reading::Raw) && self.raw_window == 0 {
                // Under the lock JS credits under, so a credit arriving now cannot be missed.
                let mut out = self.shared.lock();
                self.raw_window += std::mem::take(&mut out.raw_credit);
                out.raw_blocked = self.raw_window == 0;
            }
            let shut_for_good = self.write_shut && self.no_read_after_shutdown;
            let want_read = !self.eof
                && !shut_for_good
                && !self.js_paused
                && (self.raw_window > 0 || !matches!(self.reading, Reading::Raw))
                && !body_budget_full
                // Closed still reads, as Node does after a closing request: a FIN is the client
                // leaving (its pending request is aborted), other bytes are llhttp's error.
                && !matches!(self.reading, Reading::Stopped | Reading::AwaitUpgrade)
                && self.in_flight() < self.inner.config.max_pipelined
                && self.rbuf.len() - self.rpos <= max_buffered;
            let want_write = self.wpos < self.wbuf.len();

            // The timer only ever moves earlier here; when it fires, `on_timer` finds what is
            // really due. Deadlines move with every request, the timer need not.
            if let Some(at) = self.next_deadline() {
                if timer_at.is_none_or(|t| at < t) {
                    timer.reset(at);
                    timer_at = Some(at);
                    timer_registered = false;
                }
            }

            end_of_round();
            // In the order of priority: JS's commands first, so a response that ends the
            // connection closes it before a FIN the peer sent meanwhile costs a read and an EOF
            // event (Node destroys on 'finish' without reading); the timer before reads, so a
            // peer that keeps the socket readable cannot starve the request timeouts. Polled by
            // hand: each source keeps our waker in a slot of its own, so a wait costs no waiter
            // list insert and removal per source.
            let woken = std::future::poll_fn(|cx| {
                if self.shared.notified.load(Ordering::Acquire) {
                    return Poll::Ready(Woken::Commands);
                }
                // `take_commands` stored `self.waker` for `submit` to wake; another waker (not
                // with tokio's tasks) is stored here, under the lock `submit` wakes under.
                if !self.waker.will_wake(cx.waker()) {
                    let mut out = self.shared.lock();
                    if self.shared.notified.load(Ordering::Acquire) {
                        return Poll::Ready(Woken::Commands);
                    }
                    self.waker = cx.waker().clone();
                    out.waker = Some(self.waker.clone());
                }
                if timer_at.is_some() {
                    let same_waker = timer_waker
                        .as_ref()
                        .is_some_and(|w| w.will_wake(cx.waker()));
                    if !(timer_registered && same_waker) || timer.is_elapsed() {
                        // Out of coop budget, the poll returns before registering the waker.
                        let registers = tokio::task::coop::has_budget_remaining();
                        if timer.poll(cx).is_ready() {
                            return Poll::Ready(Woken::Timer);
                        }
                        timer_registered = registers;
                        if !same_waker {
                            timer_waker = Some(cx.waker().clone());
                        }
                    }
                }
                if want_read {
                    if let Poll::Ready(r) = stream.poll_read_ready(cx) {
                        return Poll::Ready(Woken::Readable(r.is_ok()));
                    }
                }
                if want_write && stream.poll_write_ready(cx).is_ready() {
                    return Poll::Ready(Woken::Writable);
                }
                if let Some(b) = budget.as_mut().as_pin_mut() {
                    if b.poll(cx).is_ready() {
                        return Poll::Ready(Woken::Budget);
                    }
                }
                Poll::Pending
            })
            .await;
            match woken {
                Woken::Commands | Woken::Writable => {}
                Woken::Timer => {
                    timer_at = None;
                    timer_fired = true;
                }
                Woken::Readable(ok) => {
                    if ok {
                        if let Err(e) = self.read(stream) {
                            return errno_of(&e);
                        }
                    }
                }
                Woken::Budget => budget.set(None),
            }
        }
    }

    fn in_flight(&self) -> u32 {
        self.dispatched.wrapping_sub(self.responses_done)
    }

    /// Picks up what JS submitted. Returns true when JS destroyed the connection.
    fn take_commands(&mut self, stream: &ConnStream) -> bool {
        let shared = self.shared.clone();
        let mut out = shared.lock();
        if self.wpos == self.wbuf.len() && !out.buf.is_empty() {
            self.wbuf.clear();
            self.wpos = 0;
            std::mem::swap(&mut self.wbuf, &mut out.buf);
            out.io_busy = true;
            self.shared
                .unwritten
                .store(self.wbuf.len(), Ordering::Relaxed);
        }
        // Everything a wake announces is taken below; the next wake finds our waker.
        self.shared.notified.store(false, Ordering::Relaxed);
        if out.waker.is_none() {
            out.waker = Some(self.waker.clone());
        }
        self.end_requested |= out.end;
        self.close_requested |= out.close_after_write;
        self.no_read_after_shutdown |= out.no_read_after_shutdown;
        if out.reset {
            // The close that follows sends RST instead of FIN, and drops unwritten output.
            let _ = stream.sock().set_linger(Some(Duration::ZERO));
            self.wbuf.clear();
            self.wpos = 0;
        } else if out.unread_input
            || (out.destroy && shared.holds_unseen_input(self.inner.queue.generation()))
        {
            let _ = stream.sock().set_linger(Some(Duration::ZERO));
        }
        self.js_paused = out.paused;
        if !out.injected.is_empty() {
            self.injected.append(&mut out.injected);
        }
        if out.raw_credit > 0 {
            self.raw_window += std::mem::take(&mut out.raw_credit);
            out.raw_blocked = false;
        }
        self.want_drain |= std::mem::take(&mut out.want_drain);
        self.responses_done = out.responses_done;
        // Under the same lock JS checks it, so a response finishing now cannot be missed.
        out.waiting_for_responses = self.in_flight() >= self.inner.config.max_pipelined;
        if let Some(ms) = out.keep_alive_ms.take() {
            self.keep_alive_timeout = (ms > 0).then(|| Duration::from_millis(u64::from(ms)));
        }
        if out.last_done.is_some() {
            self.last_done = out.last_done;
        }
        // In the order JS made them: `submit` drops a stand-in that a later setTimeout replaced.
        if let Some(ms) = out.set_timeout.take() {
            // Replaces the keep-alive's stand-in too, as a net.Socket's one timer.
            self.idle_after_keep_alive = None;
            self.set_idle_timeout(ms, Instant::now());
        }
        if let Some(ms) = out.idle_after_keep_alive.take() {
            self.idle_after_keep_alive = Some(ms);
        }
        if let Some(on) = out.no_delay.take() {
            stream.set_nodelay(on);
        }
        if let Some((on, delay)) = out.keep_alive.take() {
            set_keep_alive(stream, on, Duration::from_millis(u64::from(delay)));
        }
        if let Some(accepted) = out.upgrade.take() {
            self.on_upgrade_decision(accepted);
        }
        // closeIdleConnections(): idle means the last message completed and no other started.
        let idle_close =
            std::mem::take(&mut out.close_if_idle) && !self.message_active && self.in_flight() == 0;
        out.destroy || idle_close
    }

    /// Writes what it can without waiting.
    fn flush(&mut self, stream: &ConnStream) -> io::Result<()> {
        loop {
            while self.wpos < self.wbuf.len() {
                match stream.try_write(&self.wbuf[self.wpos..]) {
                    Ok(n) => {
                        self.wpos += n;
                        self.touch();
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.shared
                            .unwritten
                            .store(self.wbuf.len() - self.wpos, Ordering::Relaxed);
                        return Ok(());
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            // JS may have queued more while this was writing; if not, JS may write directly
            // again.
            let mut out = self.shared.lock();
            if out.buf.is_empty() {
                out.io_busy = false;
                self.shared.unwritten.store(0, Ordering::Relaxed);
                return Ok(());
            }
            self.wbuf.clear();
            self.wpos = 0;
            std::mem::swap(&mut self.wbuf, &mut out.buf);
            self.shared
                .unwritten
                .store(self.wbuf.len(), Ordering::Relaxed);
        }
    }

    /// Reads what Node's one read would: a read that filled a room smaller than 64 KiB goes on
    /// in the same packet up to that size, so a request parses (and its body comes to 'data')
    /// in the pieces Node's reads give, and what a destroy leaves unread is what Node leaves.
    fn read(&mut self, stream: &ConnStream) -> io::Result<()> {
        loop {
            let before = self.rbuf.len();
            self.read_once(stream)?;
            let more = self.packet_open()
                && self.rbuf.len() > before
                && !self.eof
                && !matches!(self.reading, Reading::Raw);
            if !more {
                return Ok(());
            }
        }
    }

    /// The latest read filled its room short of 64 KiB: the next one continues its packet.
    fn packet_open(&self) -> bool {
        self.read_filled && self.rbuf.len().saturating_sub(self.packet_start) < READ_CHUNK
    }

    /// Input parsed to its end is dropped before more joins it (a large buffer given back).
    fn drop_parsed_input(&mut self) {
        if self.rpos == self.rbuf.len() {
            self.rbuf.clear();
            self.rpos = 0;
            self.packet_start = 0;
            if self.rbuf.capacity() > READ_BUF_KEEP {
                self.rbuf = Vec::new();
            }
        }
    }

    fn read_once(&mut self, stream: &ConnStream) -> io::Result<()> {
        self.drop_parsed_input();
        let chunk = if self.big_reads {
            READ_CHUNK
        } else {
            SMALL_READ_CHUNK
        };
        if self.rbuf.capacity() - self.rbuf.len() < chunk / 4 {
            if self.rpos > 0 {
                self.rbuf.drain(..self.rpos);
                self.packet_start = self.packet_start.saturating_sub(self.rpos);
                self.rpos = 0;
            }
            self.rbuf.reserve(chunk);
        }
        let before = self.rbuf.len();
        // A read that continues a packet takes only what makes it up to Node's 64 KiB.
        let continues = self.packet_open();
        let max = if continues {
            READ_CHUNK - before.saturating_sub(self.packet_start)
        } else {
            READ_CHUNK
        };
        let room = (self.rbuf.capacity() - before).min(max);
        let result = read_some(stream, &mut self.rbuf, room);
        let filled = self.rbuf.len() - before == room;
        if filled {
            self.big_reads = true;
        }
        match result {
            Ok(0) => {
                self.eof = true;
                self.on_eof();
                Ok(())
            }
            Ok(n) => {
                self.touch();
                self.last_read = Instant::now();
                if !continues {
                    self.packet_start = before;
                }
                self.read_filled = filled;
                if self.shared.tap.load(Ordering::Acquire) || self.connection_unseen() {
                    self.tap_unsent += n;
                }
                self.shared
                    .bytes_read
                    .fetch_add(n as u64, Ordering::Relaxed);
                Ok(())
            }
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.kind() == io::ErrorKind::Interrupted =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn touch(&mut self) {
        if self.idle_timeout.is_some() {
            self.last_activity = Instant::now();
            self.idle_fired = false;
        }
    }

    /// `socket.setTimeout(ms)` (0: none), counted from `now`.
    fn set_idle_timeout(&mut self, ms: u32, now: Instant) {
        self.idle_timeout = (ms > 0).then(|| Duration::from_millis(u64::from(ms)));
        self.idle_fired = false;
        self.last_activity = now;
    }

    /// When the idle timeout fires: set, not fired yet, and no keep-alive standing in for it.
    fn idle_deadline(&self) -> Option<Instant> {
        match (
            self.idle_timeout,
            self.idle_fired,
            self.idle_after_keep_alive,
        ) {
            (Some(t), false, None) => Some(self.last_activity + t),
            _ => None,
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let idle = self.idle_deadline();
        [
            idle,
            self.head_deadline,
            self.request_deadline,
            self.keep_alive_check,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn on_timer(&mut self) {
        let now = Instant::now();
        let request_late = self.request_deadline.is_some_and(|d| d <= now);
        let head_late = self.head_deadline.is_some_and(|d| d <= now);
        if request_late || head_late {
            // Reading goes on, as Node's parser does after onRequestTimeout: JS's 'clientError'
            // decides the socket's fate, and a listener that only ends it still sees the peer's
            // FIN or RST (and the rest of the message, should it come).
            self.head_deadline = None;
            self.request_deadline = None;
            self.push_error(CODE_REQUEST_TIMEOUT);
        }
        if self.keep_alive_check.is_some_and(|d| d <= now) {
            self.check_keep_alive(now);
        }
        if self.idle_deadline().is_some_and(|d| d <= now) {
            self.idle_fired = true;
            let mut q = self.inner.queue.lock();
            q.batch().meta.extend_from_slice(&[EV_TIMEOUT, self.id]);
        }
    }

    /// Closes (through JS's 'timeout') a connection idle for the keep-alive timeout since its
    /// last response; otherwise schedules the next check.
    fn check_keep_alive(&mut self, now: Instant) {
        let Some(timeout) = self.keep_alive_timeout else {
            self.keep_alive_check = None;
            return;
        };
        let idle = self.in_flight() == 0
            && match self.reading {
                // Blank lines between requests begin nothing (llhttp skips them).
                Reading::Head => !self.message_active,
                Reading::Discard => true,
                _ => false,
            };
        let since = match self.last_done {
            Some(done) if idle => done.max(self.last_read),
            // Busy, or no response yet (the keep-alive timeout starts after one): look later.
            _ => {
                self.keep_alive_check = Some(now + timeout);
                return;
            }
        };
        if since + timeout <= now {
            self.keep_alive_check = None;
            let mut q = self.inner.queue.lock();
            q.batch().meta.extend_from_slice(&[EV_TIMEOUT, self.id]);
        } else {
            self.keep_alive_check = Some(since + timeout);
        }
    }

    fn on_eof(&mut self) {
        if matches!(&self.reading, Reading::Body(d) if d.ends_at_eof()) {
            // The body that runs to EOF is complete, at the socket's 'end' in JS.
            let mut q = self.inner.queue.lock();
            q.batch().meta.extend_from_slice(&[EV_EOF_END, self.id]);
            drop(q);
            self.after_message();
            return;
        }
        let unfinished = match self.reading {
            Reading::Head => self.rbuf[self.rpos..]
                .iter()
                .any(|b| !b.is_ascii_whitespace()),
            Reading::Body(_) => true,
            Reading::Stopped
            | Reading::Failed { .. }
            | Reading::Closed
            | Reading::AwaitUpgrade
            | Reading::Raw
            | Reading::Discard => false,
        };
        if unfinished {
            // Node's parser.finish() fails on a half-received message: 400, then close.
            self.reading = Reading::Stopped;
            self.push_error(ParseError::InvalidEofState.index());
            return;
        }
        let mut q = self.inner.queue.lock();
        q.batch().meta.extend_from_slice(&[EV_EOF, self.id]);
    }

    fn push_error(&mut self, code: u32) {
        self.push_error_at(code, self.rpos);
    }

    /// An error whose offending byte is at `at` in `rbuf` (Node's `bytesParsed` is its offset
    /// in the packet).
    fn push_error_at(&mut self, code: u32, at: usize) {
        // Node's rawPacket is the chunk of the read in which the error was found.
        let start = self.packet_start.min(self.rbuf.len());
        let raw_end = self.rbuf.len().min(start + RAW_PACKET_MAX);
        let raw = &self.rbuf[start..raw_end];
        let mut q = self.inner.queue.lock();
        let batch = q.batch();
        let off = batch.body.len() as u32;
        batch.body.extend_from_slice(raw);
        let parsed = at.saturating_sub(start) as u32;
        batch
            .meta
            .extend_from_slice(&[EV_ERROR, self.id, code, off, raw.len() as u32, parsed]);
    }

    /// A parse error at `at` in `rbuf`: reported, and the rest of the input consumed by the
    /// failed parser.
    fn fail_at(&mut self, code: u32, at: usize) {
        self.push_error_at(code, at);
        let parsed = at.saturating_sub(self.packet_start.min(self.rbuf.len())) as u32;
        self.reading = Reading::Failed { code, parsed };
        self.rpos = self.rbuf.len();
    }

    /// Parses and decodes everything buffered that may be dispatched now, queueing the events
    /// under one lock of the queue.
    fn process_input(&mut self) {
        if self.rpos == self.rbuf.len()
            || matches!(self.reading, Reading::Stopped | Reading::AwaitUpgrade)
        {
            return;
        }
        let inner = self.inner.clone();
        let mut q = inner.queue.lock();
        let generation = q.generation();
        if self.shared.body_batch.load(Ordering::Relaxed) != generation + 1 {
            self.body_in_batch = 0;
        }
        let batch = q.batch();
        // One clock read for all the requests this pass parses (a pipeline arrives at once).
        let mut now = None;
        loop {
            match &mut self.reading {
                Reading::Stopped | Reading::AwaitUpgrade => return,
                &mut Reading::Failed { code, parsed } => {
                    drop(q);
                    self.push_error_at(code, self.packet_start + parsed as usize);
                    self.rpos = self.rbuf.len();
                    return;
                }
                Reading::Closed => {
                    let rest = &self.rbuf[self.rpos..];
                    let Some(at) = rest.iter().position(|&b| b != b'\r' && b != b'\n') else {
                        self.rpos = self.rbuf.len();
                        return;
                    };
                    if self.head_limits.lenient {
                        self.reading = Reading::Stopped;
                        self.rpos = self.rbuf.len();
                        return;
                    }
                    // llhttp consumes the byte before it reports the error.
                    let at = self.rpos + at + 1;
                    drop(q);
                    self.fail_at(ParseError::ClosedConnection.index(), at);
                    return;
                }
                Reading::Discard => {
                    self.rpos = self.rbuf.len();
                    return;
                }
                Reading::Raw => {
                    let n = self.rbuf.len() - self.rpos;
                    self.raw_window = self.raw_window.saturating_sub(n);
                    batch.push_bytes(EV_DATA, self.id, &self.rbuf[self.rpos..]);
                    self.rpos = self.rbuf.len();
                    return;
                }
                Reading::Head => {
                    // Blank lines before a request are skipped by llhttp, not kept.
                    let rest = &self.rbuf[self.rpos..];
                    self.rpos += rest
                        .iter()
                        .take_while(|&&b| b == b'\r' || b == b'\n')
                        .count();
                    if self.rpos == self.rbuf.len()
                        || self.in_flight() >= inner.config.max_pipelined
                    {
                        return;
                    }
                    let input = &self.rbuf[self.rpos..];
                    match parse_request_head(input, &self.head_limits, &mut self.head) {
                        Ok(false) => {
                            if !self.message_active
                                && input.iter().any(|b| !b.is_ascii_whitespace())
                            {
                                self.start_message(true, *now.get_or_insert_with(Instant::now));
                            }
                            return;
                        }
                        Ok(true) => {
                            push_head(batch, self.id, input, &self.head);
                            if !self.message_active {
                                self.start_message(false, *now.get_or_insert_with(Instant::now));
                            }
                            self.head_deadline = None;
                            if let Some(ms) = self.idle_after_keep_alive.take() {
                                self.set_idle_timeout(ms, *now.get_or_insert_with(Instant::now));
                            }
                            self.dispatched = self.dispatched.wrapping_add(1);
                            self.rpos += self.head.end;
                            self.keep_alive = self.head.keep_alive;
                            if let Some(e) = self.head.late_error {
                                drop(q);
                                self.fail_at(e.index(), self.rpos);
                                return;
                            }
                            let body = match self.head.body.0 {
                                BodyKind::None => None,
                                BodyKind::Length(n) => Some(BodyDecoder::length(n)),
                                BodyKind::UntilEof => Some(BodyDecoder::until_eof()),
                                BodyKind::Chunked => Some(
                                    BodyDecoder::chunked(
                                        self.head_limits.max_head_bytes,
                                        self.head_limits.grammar(),
                                        self.head.flags,
                                    )
                                    .max_trailer_lines(self.head_limits.names_left()),
                                ),
                            };
                            if self.head.upgrade {
                                // What came with the head is the new protocol's first bytes:
                                // 'upgrade' gets them as its `head`.
                                batch.push_bytes(EV_UPGRADE_HEAD, self.id, &self.rbuf[self.rpos..]);
                                self.upgrade_head_sent = true;
                            }
                            match body {
                                None => self.after_message(),
                                Some(decoder) if self.head.upgrade => {
                                    // Node's parserOnIncoming decides: taken over, the body
                                    // was never one (llhttp skips it); declined, it is read
                                    // as this request's.
                                    self.upgrade_body = Some(decoder);
                                    self.reading = Reading::AwaitUpgrade;
                                }
                                Some(decoder) => self.reading = Reading::Body(decoder),
                            }
                        }
                        Err((e, at)) => {
                            let at = self.rpos + at;
                            drop(q);
                            self.fail_at(e.index(), at);
                            return;
                        }
                    }
                }
                Reading::Body(decoder) => {
                    // A Content-Length body ends with its last byte, not with more input.
                    let step = if decoder.is_done() {
                        Ok((0, Decoded::Done))
                    } else if self.rpos == self.rbuf.len() {
                        return;
                    } else if batch.body.len() >= BODY_BUDGET
                        || self.body_in_batch >= CONN_BODY_SHARE
                    {
                        self.read_cut = true;
                        return;
                    } else {
                        decoder.decode(&self.rbuf[self.rpos..])
                    };
                    match step {
                        Ok((n, Decoded::Data { start, end })) => {
                            batch.push_bytes(
                                EV_BODY,
                                self.id,
                                &self.rbuf[self.rpos + start..self.rpos + end],
                            );
                            self.body_in_batch += end - start;
                            self.shared
                                .body_batch
                                .store(generation + 1, Ordering::Relaxed);
                            self.rpos += n;
                        }
                        Ok((n, Decoded::NeedMore)) => {
                            self.rpos += n;
                            return;
                        }
                        Ok((n, Decoded::Done)) => {
                            self.rpos += n;
                            let mut trailers = Vec::new();
                            let mut folds = Vec::new();
                            if let Err((e, at)) = decoder.parse_trailers(&mut trailers, &mut folds)
                            {
                                // The trailer block ended with its blank line, just consumed.
                                // It may have begun in an earlier read, no longer buffered.
                                let block_len =
                                    decoder.trailer_bytes().len() + decoder.trailer_end_len();
                                let block_start = self.rpos.saturating_sub(block_len);
                                drop(q);
                                self.fail_at(e.index(), block_start + at);
                                return;
                            }
                            push_end(batch, self.id, decoder.trailer_bytes(), &trailers, &folds);
                            // A trailer's Connection header counts for what follows, as in llhttp.
                            if let Some(flags) = decoder.trailer_flags() {
                                self.keep_alive = should_keep_alive(
                                    self.head.version_major,
                                    self.head.version_minor,
                                    flags,
                                );
                            }
                            self.after_message();
                        }
                        Err((e, at)) => {
                            let at = self.rpos + at;
                            drop(q);
                            self.fail_at(e.index(), at);
                            return;
                        }
                    }
                }
            }
        }
    }

    /// After a pass over the input that consumed some, reached the end of the read (not a
    /// batch's body bound) and left a request body arriving: `READ_END`, so that JS, whose
    /// reading stopped meanwhile (a request over its high-water mark), holds back what follows
    /// as Node's parser, stopped after that read, would not see it.
    fn mark_read_end(&mut self, rpos_before: usize) {
        if std::mem::take(&mut self.read_cut)
            || self.rpos == rpos_before
            || !matches!(self.reading, Reading::Body(_))
        {
            return;
        }
        let mut q = self.inner.queue.lock();
        q.batch().meta.extend_from_slice(&[EV_READ_END, self.id]);
    }

    /// Bytes the application pushed into the socket: in Node they reach the parser through
    /// the socket's 'data', as a read does, so here they join the input as a packet of their
    /// own (not counted in bytesRead, not sent back as DATA: JS emitted them already). Returns
    /// whether there were any, to parse them before waiting.
    fn take_injected(&mut self) -> bool {
        if self.injected.is_empty() {
            return false;
        }
        if matches!(self.reading, Reading::Raw) {
            // Raw bytes are the application's own stream: nothing parses them.
            self.injected.clear();
            return false;
        }
        self.drop_parsed_input();
        self.packet_start = self.rbuf.len();
        self.read_filled = false;
        self.rbuf.append(&mut self.injected);
        self.touch();
        true
    }

    /// A tapped connection's latest reads, as `DATA` after the events parsed from them: in
    /// Node the parser's 'data' listener runs before the application's.
    fn push_tapped(&mut self) {
        let n = std::mem::take(&mut self.tap_unsent);
        if n == 0 || matches!(self.reading, Reading::Raw) {
            // A connection JS took over gets its bytes as DATA already.
            return;
        }
        let start = self.rbuf.len().saturating_sub(n);
        let kind = if self.shared.tap.load(Ordering::Acquire) {
            EV_DATA
        } else {
            EV_EARLY_DATA
        };
        let mut q = self.inner.queue.lock();
        q.batch().push_bytes(kind, self.id, &self.rbuf[start..]);
    }

    /// JS may not have run the connection's 'connection' listeners yet (see `announced_in`).
    fn connection_unseen(&mut self) -> bool {
        let Some(generation) = self.announced_in else {
            return false;
        };
        if self.inner.queue.dispatched() <= generation {
            return true;
        }
        self.announced_in = None;
        false
    }

    /// A request began arriving: its headersTimeout / requestTimeout run from now.
    fn start_message(&mut self, head_pending: bool, now: Instant) {
        let config = &self.inner.config;
        self.message_active = true;
        self.head_deadline = if head_pending {
            config.headers_timeout.map(|t| now + t)
        } else {
            None
        };
        self.request_deadline = config.request_timeout.map(|t| now + t);
    }

    /// A request was fully received: its timeouts stop.
    fn message_received(&mut self) {
        self.message_active = false;
        self.head_deadline = None;
        self.request_deadline = None;
    }

    /// A request was fully received: read the next one only if the connection stays open.
    fn after_message(&mut self) {
        // An upgrade's body is read only once JS declined it: llhttp pauses after that body as
        // after any upgrade.
        let declined_upgrade = self.head.upgrade && matches!(self.reading, Reading::Body(_));
        self.message_received();
        self.reading = if declined_upgrade {
            Reading::Discard
        } else if self.head.upgrade {
            Reading::AwaitUpgrade
        } else if self.keep_alive || self.head_limits.lenient {
            // Lenient llhttp (insecureHTTPParser) parses on after a closing request too.
            Reading::Head
        } else {
            Reading::Closed
        };
    }

    /// JS's answer to an upgrade request (`OP_UPGRADE`): 1 taken over, 0 declined; 2 hands a
    /// taken-over connection back to HTTP.
    fn on_upgrade_decision(&mut self, decision: u32) {
        let head_sent = std::mem::take(&mut self.upgrade_head_sent);
        self.reading = match (&self.reading, decision) {
            (Reading::AwaitUpgrade, 1) => {
                if head_sent {
                    // JS has them already, as the 'upgrade' event's head.
                    self.rpos = self.rbuf.len();
                }
                if self.upgrade_body.take().is_some() {
                    self.message_received();
                }
                self.raw_window = RAW_WINDOW;
                Reading::Raw
            }
            (Reading::AwaitUpgrade, 0) => match self.upgrade_body.take() {
                Some(decoder) => Reading::Body(decoder),
                None => Reading::Discard,
            },
            // Taken over and handed back in one turn: the last word counts.
            (Reading::AwaitUpgrade | Reading::Raw, 2) => {
                self.upgrade_body = None;
                Reading::Head
            }
            _ => return,
        };
    }
}

fn push_head(batch: &mut EventBatch, id: u32, input: &[u8], head: &RequestHead) {
    let base = batch.text.len() as u32;
    let start = head.start as u32;
    batch.text.extend_from_slice(&input[head.start..head.end]);
    let rebase = |off: u32| off - start + base;
    let mut flags = 0;
    if head.keep_alive {
        flags |= HEAD_KEEP_ALIVE;
    }
    if head.upgrade {
        flags |= HEAD_UPGRADE;
    }
    if head.has_host {
        flags |= HEAD_HAS_HOST;
    }
    if head.has_expect {
        flags |= HEAD_HAS_EXPECT;
    }
    match head.body.0 {
        // A head whose error llhttp reports after it (a request's unknown Transfer-Encoding):
        // the message never completes, so JS must not end the request as bodiless.
        BodyKind::None if head.late_error.is_some() => flags |= HEAD_HAS_BODY,
        BodyKind::None => {}
        BodyKind::Length(_) | BodyKind::UntilEof => flags |= HEAD_HAS_BODY,
        BodyKind::Chunked => flags |= HEAD_HAS_BODY | HEAD_CHUNKED,
    }
    batch.meta.extend_from_slice(&[
        EV_HEAD,
        id,
        flags,
        u32::from(head.method),
        u32::from(head.version_major) << 8 | u32::from(head.version_minor),
        rebase(head.url.0),
        head.url.1,
        head.headers.len() as u32,
    ]);
    for h in &head.headers {
        batch
            .meta
            .extend_from_slice(&[rebase(h[0]), h[1], rebase(h[2]), h[3]]);
    }
    let first_header = batch.meta.len() - 4 * head.headers.len();
    push_folded_values(batch, input, &head.folds, first_header);
}

/// Values continued over obs-fold lines (lenient) are not one span of the input: each is
/// joined after the text copied so far, and its header's value span points there.
fn push_folded_values(batch: &mut EventBatch, input: &[u8], folds: &[Fold], first_header: usize) {
    for fold in folds {
        let off = batch.text.len();
        fold.joined_value(input, &mut batch.text);
        let at = first_header + 4 * fold.header;
        batch.meta[at + 2] = off as u32;
        batch.meta[at + 3] = (batch.text.len() - off) as u32;
    }
}

fn push_end(batch: &mut EventBatch, id: u32, raw: &[u8], trailers: &[[u32; 4]], folds: &[Fold]) {
    let base = batch.text.len() as u32;
    batch.text.extend_from_slice(raw);
    batch
        .meta
        .extend_from_slice(&[EV_END, id, trailers.len() as u32]);
    for t in trailers {
        batch
            .meta
            .extend_from_slice(&[t[0] + base, t[1], t[2] + base, t[3]]);
    }
    let first_trailer = batch.meta.len() - 4 * trailers.len();
    push_folded_values(batch, raw, folds, first_trailer);
}
