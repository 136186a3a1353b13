//! The tokio side: the runtime, the accept loop, the registry of connections, and `submit`,
//! through which the JS thread hands a turn's worth of output to the connections.

mod conn;
pub mod local;
pub mod queue;
mod stream;

use rustc_hash::FxHashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::Waker;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::h1::HeadLimits;
pub use queue::{EventBatch, EventQueue};

/// What a server enforces per connection; JS passes Node's option values.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub head_limits: HeadLimits,
    /// Requests one connection may have dispatched but not yet answered; reading and parsing
    /// pause at this bound (Node pauses the socket when its outgoing side backs up).
    pub max_pipelined: u32,
    /// Node's `headersTimeout`: a started head must complete within it (408 otherwise).
    pub headers_timeout: Option<Duration>,
    /// Node's `requestTimeout`: a request must arrive whole within it (408 otherwise).
    pub request_timeout: Option<Duration>,
    /// Socket write buffer size above which `write()` reports backpressure.
    pub high_water_mark: usize,
    pub no_delay: bool,
    pub keep_alive: Option<Duration>,
    /// Node's `keepAliveTimeout` plus its 1 s grace: an idle keep-alive connection closes
    /// after this (JS sends the current value with each finished response).
    pub keep_alive_timeout: Option<Duration>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            head_limits: HeadLimits::default(),
            max_pipelined: 64,
            headers_timeout: Some(Duration::from_secs(60)),
            request_timeout: Some(Duration::from_secs(300)),
            high_water_mark: 16 * 1024,
            no_delay: true,
            keep_alive: None,
            keep_alive_timeout: Some(Duration::from_millis(6_000)),
        }
    }
}

/// Ops JS submits, four u32 words each: `op, conn id, a, b`.
pub const OP_WRITE: u32 = 1; // a, b: offset and length in the arena
pub const OP_WRITE_BUF: u32 = 2; // a: index into the buffers
/// Flush, then shut down writing; a: 1 close then, 0 read on until EOF (a half-open
/// net.Socket's end()), 2 read nothing after the shutdown: JS destroys the socket when it
/// completes (destroySoon()), before libuv's next poll would read.
pub const OP_END: u32 = 3;
/// Close now, dropping unwritten output; a: 1 with a reset (RST); 2: with bytes read that JS
/// never parsed, as a net.Socket's close() with unread input, which the kernel answers with a
/// reset: what is queued gets its one write first, then RST instead of FIN.
pub const OP_DESTROY: u32 = 4;
pub const OP_PAUSE: u32 = 5; // stop reading (a request body is not being consumed)
pub const OP_RESUME: u32 = 6;
/// One request answered; a: keep-alive timeout ms (0: none); b: 0, or 1 + ms when the keep-alive
/// timeout replaces the socket's idle timeout until the next request, which sets it to ms
/// (Node's resOnFinish / resetSocketTimeout: `socket.setTimeout(server.timeout || 0)`).
pub const OP_RESPONSE_DONE: u32 = 7;
pub const OP_SET_TIMEOUT: u32 = 8; // a: idle ms, 0 disables
pub const OP_NO_DELAY: u32 = 9; // a: 0 or 1
pub const OP_KEEP_ALIVE: u32 = 10; // a: 0 or 1, b: initial delay ms
pub const OP_CLOSE_IF_IDLE: u32 = 11; // close unless a request is being received or answered
pub const OP_UPGRADE: u32 = 12; // a: 1 JS took the connection over (raw bytes), 0 declined,
                                // 2 handed back to HTTP (parse requests again)
pub const OP_TAP: u32 = 13; // every read's bytes go to JS too (DATA), while HTTP parses on
/// a: bytes of a taken-over connection's DATA that left JS's buffer (or found it below its
/// high-water mark): the task may read that much more. See `RAW_WINDOW`.
pub const OP_RAW_CREDIT: u32 = 14;
/// a, b: offset and length in the arena of bytes the application put into the socket's
/// readable side (`socket.push(data)`): Node's parser takes them as if read, so does ours.
pub const OP_INJECT: u32 = 15;
/// JS has dispatched every batch it took, with the ticks they queued: the taps its 'connection'
/// listeners made are in (see `Conn::announced_in`).
pub const OP_BATCH_SEEN: u32 = 16;

/// How far a taken-over connection reads ahead of JS: the DATA bytes not yet credited back.
/// As a net.Socket reads on until its buffer passes the high-water mark, then stops until
/// `_read()`; this window is the read in flight meanwhile (Node's is one 64 KiB read).
pub const RAW_WINDOW: usize = 128 * 1024;

/// State the JS thread writes and the connection task reads.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    /// Bytes for the task to write. Non-empty only while `io_busy`.
    pub buf: Vec<u8>,
    /// The task holds unwritten bytes; until it clears this, JS must not write directly (the
    /// bytes would overtake earlier ones).
    pub io_busy: bool,
    /// The task stopped reading at the pipelining bound and waits for a finished response.
    pub waiting_for_responses: bool,
    pub keep_alive_ms: Option<u32>,
    /// From OP_RESPONSE_DONE's b: the idle timeout waits for the next request, then is this.
    pub idle_after_keep_alive: Option<u32>,
    pub last_done: Option<Instant>,
    pub end: bool,
    /// Close once the output is written (the connection is done both ways).
    pub close_after_write: bool,
    /// JS destroys the socket once its shutdown completes: nothing is read after it.
    pub no_read_after_shutdown: bool,
    pub destroy: bool,
    /// Close with a reset: SO_LINGER 0, so the peer gets RST (`socket.resetAndDestroy()`).
    pub reset: bool,
    /// Destroyed with input JS never parsed (`OP_DESTROY` 2): RST after the queued output.
    pub unread_input: bool,
    pub paused: bool,
    pub want_drain: bool,
    pub responses_done: u32,
    /// `Some(ms)` when JS changed the idle timeout since the task last looked.
    pub set_timeout: Option<u32>,
    pub no_delay: Option<bool>,
    pub keep_alive: Option<(bool, u32)>,
    pub close_if_idle: bool,
    pub upgrade: Option<u32>,
    /// OP_RAW_CREDIT's bytes, until the task takes them.
    pub raw_credit: usize,
    /// OP_INJECT's bytes, until the task takes them as its next read.
    pub injected: Vec<u8>,
    /// The task stopped reading a taken-over connection for want of credit: a credit wakes it.
    pub raw_blocked: bool,
    /// Already in the list of connections the current `submit` writes after its ops.
    pub in_submit: bool,
    /// The current `submit` changed what the task waits for: wake it after the writes.
    pub wake_after_submit: bool,
    /// The task's waker, stored when it takes the commands; a wake takes it.
    pub waker: Option<Waker>,
}

pub(crate) struct ConnShared {
    pub id: u32,
    pub stream: stream::ConnStream,
    pub out: Mutex<Outbox>,
    /// Set with the Outbox locked by a wake, cleared when the task takes the commands; read
    /// without the lock by the waiting task.
    pub notified: AtomicBool,
    /// Bytes the task holds but has not yet written to the socket.
    pub unwritten: AtomicUsize,
    /// Bytes read from the socket so far (`socket.bytesRead`).
    pub bytes_read: std::sync::atomic::AtomicU64,
    /// JS listens to the socket's data (`OP_TAP`): each read's bytes also go to JS as `DATA`.
    pub tap: AtomicBool,
    /// Request body bytes the task has read but put in no batch yet (set after each parse).
    pub body_unparsed: AtomicBool,
    /// 1 + the generation of the latest batch this connection put body bytes into; 0: none.
    pub body_batch: std::sync::atomic::AtomicU64,
}

impl ConnShared {
    /// Input JS has not seen: request body in a batch JS has not taken (`generation` is the
    /// batch being filled), or read by the task and in no batch yet, or still in the kernel.
    /// Node's socket reads only as its parser goes, so there all of it would be unread in the
    /// kernel when the socket closes, and the peer gets RST. A FIN first (shutdown on the JS
    /// thread, before the task closes) would tell the peer the wrong thing. With nothing
    /// unread, as when the peer went quiet mid-body, the close is a FIN, as Node's.
    pub fn holds_unseen_input(&self, generation: u64) -> bool {
        self.body_unparsed.load(Ordering::Relaxed)
            || self.body_batch.load(Ordering::Relaxed) == generation + 1
            || self.stream.has_unread_input()
    }

    /// Tells the task to look at its commands (`out` is this connection's locked Outbox); the
    /// waker is to be woken once the lock is dropped.
    #[must_use]
    fn notify(&self, out: &mut Outbox) -> Option<Waker> {
        self.notified.store(true, Ordering::Release);
        out.waker.take()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Outbox> {
        self.out.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(crate) struct ServerInner {
    pub config: ServerConfig,
    pub queue: Arc<EventQueue>,
    /// Ids are ours (sequential), so a fast non-keyed hash is safe.
    conns: Mutex<FxHashMap<u32, Arc<ConnShared>>>,
    next_id: AtomicU32,
    pub connections: AtomicUsize,
    /// 1 + the most connections open at once (Node's `server.maxConnections`, where 0 drops
    /// every connection); 0: no limit. Settable at any time.
    pub max_connections: AtomicU32,
    /// The parser's settings for connections accepted from now on: Node reads maxHeaderSize,
    /// insecureHTTPParser (httpValidation) and maxHeadersCount as each connection comes.
    pub head_limits: Mutex<HeadLimits>,
    stop_accepting: Notify,
    closed: AtomicBool,
    /// Accept loops still holding their listener. `stop_accepting` waits for this to reach 0,
    /// so a connect right after `close()` is refused, as with Node, not whenever the accept
    /// task next runs.
    listeners_open: Mutex<usize>,
    listeners_closed: std::sync::Condvar,
}

pub struct Server {
    inner: Arc<ServerInner>,
    /// This server's IO runs on the JS thread that created it (see `local`), not the IO thread.
    local: bool,
}

impl ServerInner {
    /// An accept loop returned, dropping its listener (the port is free again).
    fn listener_closed(&self) {
        let mut open = self
            .listeners_open
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *open = open.saturating_sub(1);
        self.listeners_closed.notify_all();
    }
}

/// The address a server is bound to, and its listening socket's descriptor (-1 where there is
/// none to show: Node's `server._handle.fd` is -1 on Windows).
#[derive(Debug, Clone)]
pub struct BoundAddress {
    pub ip: IpAddr,
    pub port: u16,
    pub fd: i32,
}

/// What a descriptor given to `listen_fd` turned out to be.
#[derive(Debug, Clone)]
pub enum FdListener {
    Tcp(BoundAddress),
    /// A Unix domain socket, and the duplicate's descriptor.
    Unix(i32),
}

/// A duplicate (close-on-exec) of a stream socket's descriptor.
#[cfg(unix)]
fn dup_stream_socket(fd: i32) -> io::Result<socket2::Socket> {
    use std::os::fd::BorrowedFd;
    let einval = || io::Error::from_raw_os_error(libc::EINVAL);
    if fd < 0 {
        return Err(einval());
    }
    // SAFETY: the descriptor is only borrowed for the two calls below; a closed or non-socket
    // descriptor makes them fail (EBADF, ENOTSOCK), it is never used past this scope.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let sock = socket2::SockRef::from(&borrowed);
    // Closed, not a socket, not a stream: Node finds no handle type for it, and says EINVAL.
    if !matches!(sock.r#type(), Ok(t) if t == socket2::Type::STREAM) {
        return Err(einval());
    }
    sock.try_clone()
}

#[cfg(unix)]
fn raw_fd<T: std::os::fd::AsRawFd>(socket: &T) -> i32 {
    socket.as_raw_fd()
}

#[cfg(not(unix))]
fn raw_fd<T>(_socket: &T) -> i32 {
    -1
}

/// The IO runtime shared by the servers that do not run their IO on the JS thread.
///
/// One IO thread (the default) is a current-thread scheduler on a thread of its own: its run
/// queue is first in, first out, so connections are served in the order they were accepted and
/// became readable, as libuv serves them. A multi-thread scheduler puts the task woken last in
/// a LIFO slot that runs first: of four clients connecting at once, the fourth's 'connection'
/// and 'request' then came first (`3,0,1,2`) in about a third of the tries, where node:http
/// keeps the order. More threads (`FERROHTTP_IO_THREADS`) take the multi-thread scheduler.
fn runtime(io_threads: usize) -> &'static Handle {
    static RT: OnceLock<Handle> = OnceLock::new();
    RT.get_or_init(|| {
        // No runtime means no server at all; there is nothing to fall back to.
        const NO_RUNTIME: &str = "ferrohttp: cannot start the IO runtime";
        if io_threads <= 1 {
            let rt = tokio::runtime::Builder::new_current_thread()
                .on_thread_park(queue::wake_deferred)
                .enable_all()
                .build()
                .expect(NO_RUNTIME);
            let handle = rt.handle().clone();
            std::thread::Builder::new()
                .name("ferrohttp-io".into())
                .spawn(move || {
                    queue::defer_wakes_on_this_thread();
                    batch_scheduling();
                    // Runs the spawned tasks for the life of the process.
                    rt.block_on(std::future::pending::<()>());
                })
                .expect(NO_RUNTIME);
            return handle;
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(io_threads)
            .thread_name("ferrohttp-io")
            .on_thread_start(|| {
                queue::defer_wakes_on_this_thread();
                batch_scheduling();
            })
            .on_thread_park(queue::wake_deferred)
            .enable_all()
            .build()
            .expect(NO_RUNTIME);
        let handle = rt.handle().clone();
        // Lives as long as the process, as the thread above does.
        std::mem::forget(rt);
        handle
    })
}

/// Asks the kernel not to preempt the JS thread when an IO thread wakes (SCHED_BATCH: no wakeup
/// preemption). With both on one core, the IO thread then runs when JS has finished its turn
/// and takes everything that arrived meanwhile in one round, instead of interrupting JS for
/// each packet. `FERROHTTP_IO_SCHED=normal` keeps the default policy.
fn batch_scheduling() {
    #[cfg(target_os = "linux")]
    if std::env::var("FERROHTTP_IO_SCHED").as_deref() != Ok("normal") {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: plain syscall on the calling thread (pid 0) with a valid parameter block;
        // failure only leaves the default policy.
        unsafe {
            libc::sched_setscheduler(0, libc::SCHED_BATCH, &param);
        }
    }
}

/// IO threads: `FERROHTTP_IO_THREADS`, else 1. One thread measured best when the server has one
/// core (the JS thread shares it); raise it when the process has cores to spare.
pub fn default_io_threads() -> usize {
    std::env::var("FERROHTTP_IO_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1)
}

impl Server {
    /// A server whose IO runs on the shared IO thread(s).
    pub fn new(config: ServerConfig, waker: Box<dyn Fn() + Send + Sync>) -> Self {
        Self::with_runtime(config, waker, false)
    }

    /// A server whose IO runs in this thread's local runtime (stepped by the caller's event
    /// loop) when `local` is set and the thread has one; else on the IO thread(s).
    pub fn with_runtime(
        config: ServerConfig,
        waker: Box<dyn Fn() + Send + Sync>,
        local: bool,
    ) -> Self {
        let local = local && local::LocalRuntime::existing().is_some();
        Self {
            local,
            inner: Arc::new(ServerInner {
                head_limits: Mutex::new(config.head_limits),
                config,
                queue: EventQueue::new(waker),
                conns: Mutex::new(FxHashMap::default()),
                next_id: AtomicU32::new(1),
                connections: AtomicUsize::new(0),
                max_connections: AtomicU32::new(0),
                stop_accepting: Notify::new(),
                closed: AtomicBool::new(false),
                listeners_open: Mutex::new(0),
                listeners_closed: std::sync::Condvar::new(),
            }),
        }
    }

    /// Binds synchronously (so errors such as EADDRINUSE come back to the caller at once) and
    /// starts accepting on the IO runtime. `reuse_port`: SO_REUSEPORT, so that servers of other
    /// threads or processes may bind the same port and the kernel spreads connections over them.
    pub fn listen(
        &self,
        host: &str,
        port: u16,
        backlog: i32,
        ipv6_only: bool,
        reuse_port: bool,
    ) -> io::Result<BoundAddress> {
        let listener = bind(host, port, backlog, ipv6_only, reuse_port)?;
        let local = listener.local_addr()?;
        let fd = raw_fd(&listener);
        self.accept_tcp(listener);
        Ok(BoundAddress {
            ip: local.ip(),
            port: local.port(),
            fd,
        })
    }

    /// Starts the accept loop of a bound, listening, non-blocking TCP socket.
    fn accept_tcp(&self, listener: std::net::TcpListener) {
        self.listener_opened();
        let inner = self.inner.clone();
        self.spawn_io(async move {
            // The std listener is turned into a tokio one inside the runtime it belongs to.
            match stream::Listener::tcp(listener) {
                Ok(l) => accept_loop(inner.clone(), l).await,
                Err(_) => inner.closed.store(true, Ordering::SeqCst),
            }
            inner.listener_closed();
        });
    }

    #[cfg(unix)]
    fn accept_unix(&self, listener: std::os::unix::net::UnixListener) {
        self.listener_opened();
        let inner = self.inner.clone();
        self.spawn_io(async move {
            match tokio::net::UnixListener::from_std(listener) {
                Ok(l) => accept_loop(inner.clone(), stream::Listener::Unix(l)).await,
                Err(_) => inner.closed.store(true, Ordering::SeqCst),
            }
            inner.listener_closed();
        });
    }

    /// Listens on a socket someone else made (Node's `listen({ fd })`, `listen(handle)`, or the
    /// socket a cluster primary shares with its workers). The descriptor is duplicated: its
    /// owner keeps and closes its own.
    #[cfg(unix)]
    pub fn listen_fd(&self, fd: i32, backlog: i32) -> io::Result<FdListener> {
        let socket = dup_stream_socket(fd)?;
        socket.listen(backlog)?;
        socket.set_nonblocking(true)?;
        let addr = socket.local_addr()?;
        let fd = raw_fd(&socket);
        match addr.as_socket() {
            Some(local) => {
                self.accept_tcp(socket.into());
                Ok(FdListener::Tcp(BoundAddress {
                    ip: local.ip(),
                    port: local.port(),
                    fd,
                }))
            }
            None => {
                self.accept_unix(socket.into());
                Ok(FdListener::Unix(fd))
            }
        }
    }

    /// Serves a connection accepted elsewhere: a cluster primary's round-robin accepts, and hands
    /// each connection to a worker as a libuv handle. The descriptor is duplicated; the caller
    /// closes its own.
    #[cfg(unix)]
    pub fn adopt_fd(&self, fd: i32) -> io::Result<()> {
        let socket = dup_stream_socket(fd)?;
        socket.set_nonblocking(true)?;
        let local = socket.local_addr()?;
        // A peer gone already has no address; the connection still gets served (its read ends).
        let peer = socket.peer_addr().ok().and_then(|a| a.as_socket());
        let inner = self.inner.clone();
        self.spawn_io(async move {
            let stream = match local.as_socket() {
                Some(_) => {
                    tokio::net::TcpStream::from_std(socket.into()).map(stream::ConnStream::Tcp)
                }
                None => {
                    tokio::net::UnixStream::from_std(socket.into()).map(stream::ConnStream::Unix)
                }
            };
            if let Ok(stream) = stream {
                start_connection(&inner, stream, peer, local.as_socket());
            }
        });
        Ok(())
    }

    /// The local runtime this server's IO runs in, if it is local (on the thread that made it).
    fn local_runtime(&self) -> Option<&'static local::LocalRuntime> {
        self.local.then(local::LocalRuntime::existing).flatten()
    }

    /// Starts a task on this server's runtime; a local one is stepped at once, so the socket is
    /// registered before the caller returns to its event loop.
    fn spawn_io<F>(&self, fut: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        match self.local_runtime() {
            Some(l) => {
                local::spawn(fut);
                l.step();
            }
            None => {
                runtime(default_io_threads()).spawn(fut);
            }
        }
    }

    fn listener_opened(&self) {
        *self
            .inner
            .listeners_open
            .lock()
            .unwrap_or_else(|e| e.into_inner()) += 1;
    }

    /// Binds a Unix domain socket at `path` (Node's `listen(path)`) and starts accepting;
    /// returns the listening socket's descriptor.
    #[cfg(unix)]
    pub fn listen_unix(&self, path: &str, backlog: i32) -> io::Result<i32> {
        use socket2::{Domain, SockAddr, Socket, Type};
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        socket.bind(&SockAddr::unix(path)?)?;
        socket.listen(backlog)?;
        socket.set_nonblocking(true)?;
        let fd = raw_fd(&socket);
        self.accept_unix(socket.into());
        Ok(fd)
    }

    /// Closes every connection, as libuv closes a dead environment's handles: what JS never
    /// answered gets no answer. For a server whose JS side is gone (a worker thread terminated,
    /// its handle collected); in the IO thread's runtime nothing else would end them.
    pub fn destroy_all(&self) {
        let conns: Vec<Arc<ConnShared>> = self
            .inner
            .conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for conn in conns {
            let waker = {
                let mut out = conn.lock();
                out.destroy = true;
                conn.notify(&mut out)
            };
            if let Some(w) = waker {
                w.wake();
            }
        }
    }

    /// Stops accepting; open connections are left to JS (close idle ones, finish the rest).
    pub fn stop_accepting(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.inner.stop_accepting.notify_waiters();
        self.inner.stop_accepting.notify_one();
        if let Some(local) = self.local_runtime() {
            // The accept loops run on this thread: run them until they let go.
            let inner = &self.inner;
            local.run_until(|| {
                *inner
                    .listeners_open
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    == 0
            });
            return;
        }
        // The IO thread drops the listeners within microseconds; the bound only guards against
        // a runtime that cannot run (never expected).
        let open = self
            .inner
            .listeners_open
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let _ =
            self.inner
                .listeners_closed
                .wait_timeout_while(open, Duration::from_millis(500), |n| *n > 0);
    }

    pub fn take_events(&self) -> EventBatch {
        self.inner.queue.take()
    }

    /// The key of this server's event queue (`EventQueue::key`).
    pub fn queue_key(&self) -> usize {
        self.inner.queue.key()
    }

    /// Takes the queued events and lets `f` read them in place.
    pub fn with_events<R>(&self, f: impl FnOnce(&EventBatch) -> R) -> R {
        self.inner.queue.take_with(f)
    }

    /// `socket.bytesRead` of an open connection (`None` once it closed: the CLOSE event has
    /// the final count).
    pub fn bytes_read(&self, id: u32) -> Option<u64> {
        let conns = self.inner.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.get(&id).map(|c| c.bytes_read.load(Ordering::Relaxed))
    }

    /// Over `limit` connections open, new ones are closed at once (`None`: no limit).
    pub fn set_max_connections(&self, limit: Option<u32>) {
        let stored = limit.map_or(0, |n| n.saturating_add(1));
        self.inner.max_connections.store(stored, Ordering::Relaxed);
    }

    /// The parser's settings for connections accepted from now on (the grammar's llhttp
    /// version stays the server's): maxHeaderSize, lenient and relaxed values, and header lines
    /// (0: no limit).
    pub fn set_parser_limits(
        &self,
        max_head_bytes: usize,
        lenient: bool,
        relaxed_values: bool,
        max_headers: usize,
    ) {
        let mut limits = self
            .inner
            .head_limits
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *limits = HeadLimits {
            max_head_bytes,
            lenient,
            relaxed_values,
            max_headers,
            ..*limits
        };
    }

    pub fn connection_count(&self) -> usize {
        self.inner.connections.load(Ordering::SeqCst)
    }

    /// Applies a JS turn's ops. A connection's bytes are written right here, on the JS thread,
    /// when its task holds nothing unwritten: the common response costs one `write` and no
    /// cross-thread wake. What the socket does not take goes to the task. Returns the ids of
    /// connections whose unwritten output is now at or above the high-water mark: their
    /// `write()` must report backpressure until `DRAIN`.
    pub fn submit(&self, ops: &[u32], arena: &[u8], bufs: &[&[u8]]) -> Vec<u32> {
        let mut over = Vec::new();
        let conns = self.inner.conns.lock().unwrap_or_else(|e| e.into_inner());
        let hwm = self.inner.config.high_water_mark;
        // Ops first, writes after: the responses of pipelined requests finish one after another
        // ('finish' assigns the socket to the next), so one connection's ops interleave with
        // other connections'. Writing once per connection per turn keeps a pipeline to one
        // `write`.
        let mut touched: Vec<&Arc<ConnShared>> = Vec::new();
        // One clock read per submit: the responses of a turn finish together.
        let mut now = None;
        let mut batches_seen = false;
        let mut i = 0;
        while i + 4 <= ops.len() {
            if ops[i] == OP_BATCH_SEEN {
                // Taken once this turn's taps are all in, below.
                batches_seen = true;
                i += 4;
                continue;
            }
            let id = ops[i + 1];
            let Some(conn) = conns.get(&id) else {
                // Closed already: its output has nowhere to go.
                i += 4;
                continue;
            };
            let mut out = conn.lock();
            let mut wake = false;
            // All consecutive ops for one connection under one lock.
            while i + 4 <= ops.len() && ops[i + 1] == id {
                let (op, a, b) = (ops[i], ops[i + 2], ops[i + 3]);
                match op {
                    OP_WRITE => {
                        let (start, end) = (a as usize, a as usize + b as usize);
                        if let Some(bytes) = arena.get(start..end) {
                            out.buf.extend_from_slice(bytes);
                        }
                    }
                    OP_WRITE_BUF => {
                        if let Some(bytes) = bufs.get(a as usize) {
                            if bytes.len() >= DIRECT_WRITE_MIN && !out.io_busy && !out.destroy {
                                write_direct(conn, &mut out, bytes);
                            } else {
                                out.buf.extend_from_slice(bytes);
                            }
                        }
                    }
                    OP_END => {
                        out.end = true;
                        out.close_after_write |= a == 1;
                        out.no_read_after_shutdown |= a == 2;
                    }
                    OP_DESTROY => {
                        out.destroy = true;
                        out.reset |= a == 1;
                        out.unread_input |= a == 2;
                    }
                    OP_PAUSE => out.paused = true,
                    OP_RESUME => out.paused = false,
                    OP_RESPONSE_DONE => {
                        out.responses_done = out.responses_done.wrapping_add(1);
                        out.keep_alive_ms = Some(a);
                        if b > 0 {
                            out.idle_after_keep_alive = Some(b - 1);
                        }
                        out.last_done = Some(*now.get_or_insert_with(Instant::now));
                    }
                    OP_SET_TIMEOUT => {
                        // A later setTimeout replaces an earlier keep-alive stand-in.
                        out.set_timeout = Some(a);
                        out.idle_after_keep_alive = None;
                    }
                    OP_NO_DELAY => out.no_delay = Some(a != 0),
                    OP_KEEP_ALIVE => out.keep_alive = Some((a != 0, b)),
                    OP_CLOSE_IF_IDLE => out.close_if_idle = true,
                    OP_UPGRADE => out.upgrade = Some(a),
                    // At once, not when the task next takes commands: the peer may answer
                    // this turn's writes (sent below) before that.
                    OP_TAP => conn.tap.store(true, Ordering::Release),
                    OP_RAW_CREDIT => out.raw_credit += a as usize,
                    OP_INJECT => {
                        let (start, end) = (a as usize, a as usize + b as usize);
                        if let Some(bytes) = arena.get(start..end) {
                            out.injected.extend_from_slice(bytes);
                        }
                    }
                    _ => {}
                }
                // Everything but writes, finished responses and credit changes what the task
                // waits for; the other two matter only to a task stopped for them.
                wake |= match op {
                    OP_WRITE | OP_WRITE_BUF => false,
                    OP_RESPONSE_DONE => out.waiting_for_responses,
                    OP_RAW_CREDIT => out.raw_blocked,
                    _ => true,
                };
                i += 4;
            }
            out.wake_after_submit |= wake;
            if !out.in_submit {
                out.in_submit = true;
                touched.push(conn);
            }
        }
        for conn in touched {
            let mut out = conn.lock();
            out.in_submit = false;
            let mut wake = std::mem::take(&mut out.wake_after_submit);
            if out.destroy && !out.reset && !out.io_busy {
                // Node's destroy() closes at once: what is queued gets its one attempt and
                // the FIN goes now, before a later packet of the peer finds the socket still
                // open (unread bytes at the task's close would turn the FIN into a reset).
                if !out.buf.is_empty() {
                    let _ = conn.stream.try_write(&out.buf);
                    out.buf.clear();
                }
                if out.unread_input || conn.holds_unseen_input(self.inner.queue.generation()) {
                    let _ = conn.stream.sock().set_linger(Some(Duration::ZERO));
                } else {
                    let _ = conn.stream.sock().shutdown(std::net::Shutdown::Write);
                }
            }
            if !out.buf.is_empty() && !out.io_busy && !out.destroy {
                match conn.stream.try_write(&out.buf) {
                    Ok(n) if n == out.buf.len() => out.buf.clear(),
                    Ok(n) => {
                        out.buf.drain(..n);
                    }
                    // Would block, or an error the task will meet and report.
                    Err(_) => {}
                }
                if !out.buf.is_empty() {
                    out.io_busy = true;
                    wake = true;
                }
            }
            if !out.buf.is_empty() && out.buf.len() + conn.unwritten.load(Ordering::Relaxed) >= hwm
            {
                out.want_drain = true;
                over.push(conn.id);
            }
            let waker = if wake { conn.notify(&mut out) } else { None };
            drop(out);
            if let Some(w) = waker {
                w.wake();
            }
        }
        if batches_seen {
            self.inner.queue.batches_seen();
        }
        over
    }
}

/// A Buffer this large is written to the socket from JS's memory when nothing is waiting
/// before it, instead of being copied into the connection's output first.
const DIRECT_WRITE_MIN: usize = 16 * 1024;

/// Writes what this turn queued for `conn` so far and then `bytes`, in one vectored write;
/// only what the socket does not take is kept (copied). The task holds nothing unwritten
/// (`!io_busy`), so the order of the connection's bytes is kept.
fn write_direct(conn: &ConnShared, out: &mut Outbox, bytes: &[u8]) {
    let queued = out.buf.len();
    let written = loop {
        let slices = [io::IoSlice::new(&out.buf), io::IoSlice::new(bytes)];
        match conn.stream.try_write_vectored(&slices) {
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // Would block, or an error the task will meet and report.
            Err(_) => break 0,
        }
    };
    if written >= queued {
        out.buf.clear();
        out.buf.extend_from_slice(&bytes[written - queued..]);
    } else {
        out.buf.drain(..written);
        out.buf.extend_from_slice(bytes);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_accepting();
    }
}

fn bind(
    host: &str,
    port: u16,
    backlog: i32,
    ipv6_only: bool,
    reuse_port: bool,
) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let ip: IpAddr = if host.is_empty() {
        IpAddr::from([0u16; 8])
    } else {
        host.parse().map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "host must be an IP address")
        })?
    };
    let addr = SocketAddr::new(ip, port);
    let make = |addr: SocketAddr| -> io::Result<Socket> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        if addr.is_ipv6() {
            // Node binds `::` dual-stack unless ipv6Only is asked for.
            socket.set_only_v6(ipv6_only)?;
        }
        #[cfg(unix)]
        socket.set_reuse_address(true)?;
        if reuse_port {
            set_reuse_port(&socket)?;
        }
        socket.bind(&addr.into())?;
        socket.listen(backlog)?;
        socket.set_nonblocking(true)?;
        Ok(socket)
    };
    let socket = match make(addr) {
        // No IPv6 on this host: Node falls back to 0.0.0.0 for the default host.
        Err(e) if host.is_empty() && e.raw_os_error() == Some(libc_eafnosupport()) => {
            make(SocketAddr::new(IpAddr::from([0u8; 4]), port))?
        }
        r => r?,
    };
    Ok(socket.into())
}

/// SO_REUSEPORT where it spreads connections over the sockets bound to a port, as libuv's
/// UV_TCP_REUSEPORT; elsewhere ENOTSUP, as libuv answers there.
fn set_reuse_port(socket: &socket2::Socket) -> io::Result<()> {
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "dragonfly"
    ))]
    return socket.set_reuse_port(true);
    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "dragonfly"
    )))]
    {
        let _ = socket;
        #[cfg(unix)]
        return Err(io::Error::from_raw_os_error(libc::ENOTSUP));
        #[cfg(not(unix))]
        return Err(io::Error::from(io::ErrorKind::Unsupported));
    }
}

const fn libc_eafnosupport() -> i32 {
    97
}

async fn accept_loop(inner: Arc<ServerInner>, listener: stream::Listener) {
    let local = listener.local_addr();
    loop {
        if inner.closed.load(Ordering::SeqCst) {
            return;
        }
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = inner.stop_accepting.notified() => return,
        };
        match accepted {
            Ok((stream, peer)) => start_connection(&inner, stream, peer, local),
            Err(e) => {
                // EMFILE and friends: back off instead of spinning; the listener stays up.
                if !is_transient_accept_error(&e) {
                    let until = Instant::now() + Duration::from_millis(50);
                    local::note_deadline(until);
                    tokio::time::sleep_until(until).await;
                }
            }
        }
    }
}

/// Registers an accepted connection and starts its task (or drops it over maxConnections).
fn start_connection(
    inner: &Arc<ServerInner>,
    stream: stream::ConnStream,
    peer: Option<SocketAddr>,
    listen_addr: Option<SocketAddr>,
) {
    let max = inner.max_connections.load(Ordering::Relaxed);
    if max > 0 && inner.connections.load(Ordering::SeqCst) >= (max - 1) as usize {
        // Over maxConnections Node closes the new socket at once and emits 'drop'.
        let local =
            listen_addr.or_else(|| stream.sock().local_addr().ok().and_then(|a| a.as_socket()));
        drop(stream);
        let mut q = inner.queue.lock();
        conn::push_connection(q.batch(), queue::EV_DROP, 0, peer, local);
        return;
    }
    let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
    let announced_in = conn::announce(inner, id, &stream, peer, listen_addr);
    let shared = Arc::new(ConnShared {
        id,
        stream,
        out: Mutex::new(Outbox::default()),
        notified: AtomicBool::new(false),
        unwritten: AtomicUsize::new(0),
        bytes_read: std::sync::atomic::AtomicU64::new(0),
        tap: AtomicBool::new(false),
        body_unparsed: AtomicBool::new(false),
        body_batch: std::sync::atomic::AtomicU64::new(0),
    });
    inner
        .conns
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, shared.clone());
    inner.connections.fetch_add(1, Ordering::SeqCst);
    let mut registered = Registered {
        inner: inner.clone(),
        id,
        closed: false,
    };
    local::spawn(async move {
        conn::run(registered.inner.clone(), id, shared, announced_in).await;
        registered.close_reported();
    });
}

/// A connection's place in its server, given up when its task ends. A task that ends without
/// its CLOSE event (a panic, which tokio contains, or a runtime dropping it) reports one, so
/// the JS socket does not wait forever and the descriptor is released.
struct Registered {
    inner: Arc<ServerInner>,
    id: u32,
    /// `conn::run` returned: it reported the close itself.
    closed: bool,
}

impl Registered {
    fn close_reported(&mut self) {
        self.closed = true;
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if !self.closed {
            let mut q = self.inner.queue.lock();
            q.batch()
                .meta
                .extend_from_slice(&[queue::EV_CLOSE, self.id, libc::EIO as u32, 0, 0]);
        }
        self.inner
            .conns
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
        self.inner.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

fn is_transient_accept_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

#[cfg(test)]
mod hostile;
#[cfg(test)]
mod tests;
