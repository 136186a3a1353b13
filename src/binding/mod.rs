//! All napi glue. `BindingServer` is the native handle the TS `Server` owns; it turns the core's
//! event batches into one Buffer per threadsafe-function call and takes a JS turn's output in one
//! `submit` call.

mod uv;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use crate::h1::HeadLimits;
#[cfg(unix)]
use crate::server::FdListener;
use crate::server::{BoundAddress, Server, ServerConfig};

/// Called on the JS thread with one batch; takes no value from the IO side because it drains
/// the queue itself when it runs, so everything queued by then rides along.
type BatchFn = ThreadsafeFunction<(), (), napi::sys::napi_value, Status, false>;

/// Sets the function `requestClosePhase` runs (see `uv::set_close_phase_callback`).
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn set_close_phase_callback(env: Env, callback: Function<'_, (), ()>) -> bool {
    uv::set_close_phase_callback(&env, callback.value().value)
}

/// Runs the close-phase function in this loop iteration's close phase, after its setImmediate
/// callbacks; false when it cannot (then JS falls back to setImmediate).
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn request_close_phase(env: Env) -> bool {
    uv::request_close_phase(&env)
}

/// `[code, reason]` of every parse error, indexed as the ERROR event sends them: the table
/// lives in Rust only (`h1::error::ALL`).
// Called from JS only; a test build of the crate sees no caller.
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn parse_errors() -> Vec<Vec<String>> {
    crate::h1::error::ALL
        .iter()
        .map(|e| vec![e.code().to_string(), e.reason().to_string()])
        .collect()
}

/// llhttp's method names, indexed as the HEAD event sends them (`h1::parse::METHODS`).
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn methods() -> Vec<String> {
    crate::h1::parse::METHODS
        .iter()
        .map(|m| m.to_string())
        .collect()
}

/// Whether an llhttp version string ("9.3.1") is 9.4 or later.
/// Whether the running Node's llhttp (`process.versions.llhttp`) is at least `min`.
fn llhttp_at_least(version: Option<&str>, min: (u32, u32, u32)) -> bool {
    let Some(version) = version else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next()) >= min
}

#[napi(object)]
pub struct BindingServerOptions {
    /// The running Node's llhttp version (`process.versions.llhttp`), whose grammar heads follow.
    pub llhttp_version: Option<String>,
    /// Milliseconds; 0 disables.
    pub headers_timeout: Option<u32>,
    /// Milliseconds; 0 disables.
    pub request_timeout: Option<u32>,
    pub high_water_mark: Option<u32>,
    pub no_delay: Option<bool>,
    pub keep_alive: Option<bool>,
    pub keep_alive_initial_delay: Option<u32>,
    pub max_pipelined: Option<u32>,
    /// Milliseconds (Node's keepAliveTimeout plus its 1 s grace); 0 disables.
    pub keep_alive_timeout: Option<u32>,
}

#[napi(object)]
pub struct BindingListenResult {
    /// Set when binding failed: the positive OS errno (JS turns it into Node's error shape).
    pub errno: Option<i32>,
    pub message: Option<String>,
    pub address: Option<String>,
    pub family: Option<String>,
    pub port: Option<u32>,
    /// The listening socket's descriptor (`server._handle.fd`); -1 where there is none.
    pub fd: Option<i32>,
}

#[napi]
pub struct BindingServer {
    server: Arc<Server>,
    tsfn: Arc<Mutex<Option<BatchFn>>>,
}

fn ms(v: Option<u32>, default: u64) -> Option<Duration> {
    let v = v.map_or(default, u64::from);
    (v > 0).then(|| Duration::from_millis(v))
}

#[napi]
impl BindingServer {
    #[napi(constructor)]
    pub fn new(
        env: Env,
        on_batch: Function<'_, Buffer, ()>,
        options: BindingServerOptions,
    ) -> Result<Self> {
        let defaults = ServerConfig::default();
        let config = ServerConfig {
            // The rest is JS's, through `set_parser_limits` before the first connection.
            head_limits: HeadLimits {
                tab_is_ows: llhttp_at_least(options.llhttp_version.as_deref(), (9, 4, 0)),
                empty_te_refused: llhttp_at_least(options.llhttp_version.as_deref(), (9, 4, 3)),
                ..defaults.head_limits
            },
            max_pipelined: options
                .max_pipelined
                .unwrap_or(defaults.max_pipelined)
                .max(1),
            headers_timeout: ms(options.headers_timeout, 60_000),
            request_timeout: ms(options.request_timeout, 300_000),
            high_water_mark: options
                .high_water_mark
                .map_or(defaults.high_water_mark, |v| v as usize),
            no_delay: options.no_delay.unwrap_or(true),
            keep_alive: options.keep_alive.unwrap_or(false).then(|| {
                Duration::from_millis(u64::from(options.keep_alive_initial_delay.unwrap_or(0)))
            }),
            keep_alive_timeout: ms(options.keep_alive_timeout, 6_000),
        };
        let tsfn: Arc<Mutex<Option<BatchFn>>> = Arc::new(Mutex::new(None));
        let waker_tsfn = tsfn.clone();
        let local = uv::use_local_runtime(&env);
        let server = Arc::new(Server::with_runtime(
            config,
            Box::new(move || {
                if let Some(f) = waker_tsfn
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .as_ref()
                {
                    f.call((), ThreadsafeFunctionCallMode::NonBlocking);
                }
            }),
            local,
        ));
        if local {
            uv::register(&env, &server, on_batch.value().value);
        }
        // The callback holds the server weakly: the server owns the waker that owns this
        // function, and a strong edge back would keep both alive forever.
        let weak = Arc::downgrade(&server);
        let f = on_batch
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .build_callback(move |ctx| {
                // Written straight into a V8-owned Buffer, not handed over as an external one:
                // V8 counts its size, so garbage collection keeps pace with a fast upload.
                let Some(server) = weak.upgrade() else {
                    return Ok(BufferSlice::copy_from(&ctx.env, [])?.value().value);
                };
                server.with_events(|batch| new_wire_buffer(&ctx.env, batch))
            })?;
        *tsfn.lock().unwrap_or_else(|e| e.into_inner()) = Some(f);
        Ok(Self { server, tsfn })
    }

    /// Binds and starts accepting. Errors come back as data, not exceptions, so JS can build
    /// Node's error (code, errno, syscall, address, port) and emit it like Node does.
    #[napi]
    pub fn listen(
        &self,
        host: String,
        port: u32,
        backlog: i32,
        ipv6_only: bool,
        reuse_port: bool,
    ) -> BindingListenResult {
        let bound = self
            .server
            .listen(&host, port as u16, backlog, ipv6_only, reuse_port);
        uv::after_run();
        listen_result(bound.map(tcp_listen_fields))
    }

    /// Listens on a copy of an existing socket's descriptor (`listen({ fd })`, `listen(handle)`,
    /// a cluster primary's shared socket). A Unix domain socket comes back without an address.
    #[napi]
    pub fn listen_fd(&self, fd: i32, backlog: i32) -> BindingListenResult {
        #[cfg(unix)]
        let result = self.server.listen_fd(fd, backlog).map(|l| match l {
            FdListener::Tcp(addr) => tcp_listen_fields(addr),
            FdListener::Unix(fd) => (String::new(), None, None, fd),
        });
        #[cfg(not(unix))]
        let result: std::io::Result<(String, Option<&'static str>, Option<u32>, i32)> = {
            let _ = (fd, backlog);
            Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
        };
        uv::after_run();
        let mut r = listen_result(result);
        if r.family.is_none() {
            r.address = None;
        }
        r
    }

    /// Serves a connection accepted elsewhere (a cluster primary's round-robin), from a copy of
    /// its descriptor. Returns the errno when the descriptor is not a usable stream socket.
    #[napi]
    pub fn adopt(&self, fd: i32) -> Option<i32> {
        #[cfg(unix)]
        let result = self.server.adopt_fd(fd);
        #[cfg(not(unix))]
        let result: std::io::Result<()> = {
            let _ = fd;
            Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
        };
        uv::after_run();
        result.err().map(|e| e.raw_os_error().unwrap_or(22))
    }

    /// A JS turn's output: `count` words of `ops` (four per op), string data in `arena`, large
    /// Buffers in `bufs`. Returns the connections now over their high-water mark, if any.
    #[napi]
    pub fn submit(
        &self,
        ops: &[u32],
        count: u32,
        arena: &[u8],
        bufs: Option<Vec<BufferSlice<'_>>>,
    ) -> Option<Vec<u32>> {
        let count = (count as usize).min(ops.len());
        let slices: Vec<&[u8]> = bufs
            .as_ref()
            .map(|b| b.iter().map(|s| &s[..]).collect())
            .unwrap_or_default();
        let over = self.server.submit(&ops[..count], arena, &slices);
        (!over.is_empty()).then_some(over)
    }

    /// Binds a Unix domain socket (`listen(path)`); errors come back as data, as in `listen`.
    #[napi]
    pub fn listen_path(&self, path: String, backlog: i32) -> BindingListenResult {
        #[cfg(unix)]
        let result = self.server.listen_unix(&path, backlog);
        uv::after_run();
        #[cfg(not(unix))]
        let result: std::io::Result<i32> =
            Err(std::io::Error::from(std::io::ErrorKind::Unsupported));
        listen_result(result.map(|fd| (path, None, None, fd)))
    }

    /// `socket.bytesRead` while the connection is open; `null` once it closed.
    #[napi]
    pub fn bytes_read(&self, id: u32) -> Option<f64> {
        self.server.bytes_read(id).map(|n| n as f64)
    }

    /// `server.maxConnections` as a whole number of connections; `undefined`: no limit.
    #[napi]
    pub fn set_max_connections(&self, limit: Option<u32>) {
        self.server.set_max_connections(limit);
    }

    /// The parser's settings for connections accepted from now on: maxHeaderSize, lenient
    /// (insecureHTTPParser), relaxed header values, and header lines a message may have
    /// (Node's `maxHeaderPairs / 2` where the running Node limits them; 0: no limit).
    #[napi]
    pub fn set_parser_limits(
        &self,
        max_header_size: u32,
        lenient: bool,
        relaxed_header_values: bool,
        max_headers: u32,
    ) {
        self.server.set_parser_limits(
            max_header_size as usize,
            lenient,
            relaxed_header_values,
            max_headers as usize,
        );
    }

    #[napi]
    pub fn stop_accepting(&self) {
        self.server.stop_accepting();
        uv::after_run();
    }

    #[napi]
    pub fn connection_count(&self) -> u32 {
        self.server.connection_count() as u32
    }

    /// Lets the process exit while this server is listening (`server.unref()`).
    #[napi]
    pub fn unref(&self, env: Env) -> Result<()> {
        if let Some(f) = self.tsfn.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            // `unref` is deprecated in favour of dropping clones, but a server that is unref'd
            // must still deliver events, so the function has to stay.
            #[allow(deprecated)]
            f.unref(&env)?;
        }
        Ok(())
    }

    #[napi(js_name = "ref")]
    pub fn refer(&self, env: Env) -> Result<()> {
        if let Some(f) = self.tsfn.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            #[allow(deprecated)]
            f.refer(&env)?;
        }
        Ok(())
    }

    /// Drops the threadsafe function once the server is closed and has no connections left, so
    /// it no longer holds the event loop open.
    #[napi]
    pub fn release(&self) {
        self.server.stop_accepting();
        uv::after_run();
        uv::unregister(self.server.queue_key());
        self.tsfn.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

impl Drop for BindingServer {
    /// A handle collected without `release`, or the environment torn down (a worker thread
    /// terminated): its finalizer runs on the JS thread. No JS can reach its connections now.
    fn drop(&mut self) {
        uv::unregister(self.server.queue_key());
        self.server.stop_accepting();
        self.server.destroy_all();
    }
}

/// A bind's outcome as data: the address on success, the OS errno on failure.
fn tcp_listen_fields(addr: BoundAddress) -> (String, Option<&'static str>, Option<u32>, i32) {
    let family = if addr.ip.is_ipv4() { "IPv4" } else { "IPv6" };
    (
        addr.ip.to_string(),
        Some(family),
        Some(u32::from(addr.port)),
        addr.fd,
    )
}

fn listen_result(
    r: std::io::Result<(String, Option<&'static str>, Option<u32>, i32)>,
) -> BindingListenResult {
    match r {
        Ok((address, family, port, fd)) => BindingListenResult {
            errno: None,
            message: None,
            address: Some(address),
            family: family.map(str::to_string),
            port,
            fd: Some(fd),
        },
        Err(e) => BindingListenResult {
            errno: Some(e.raw_os_error().unwrap_or(22)),
            message: Some(e.to_string()),
            address: None,
            family: None,
            port: None,
            fd: None,
        },
    }
}

/// A Node Buffer holding `batch` in its wire layout, filled in place.
fn new_wire_buffer(env: &Env, batch: &crate::server::EventBatch) -> Result<napi::sys::napi_value> {
    let len = batch.wire_len();
    let mut data = std::ptr::null_mut();
    let mut value = std::ptr::null_mut();
    // SAFETY: napi_create_buffer returns `len` writable bytes at `data`, owned by the Buffer,
    // which is alive for this callback; they are fully written before JS sees them.
    unsafe {
        let status = napi::sys::napi_create_buffer(env.raw(), len, &mut data, &mut value);
        if status != napi::sys::Status::napi_ok {
            return Err(Error::new(
                Status::GenericFailure,
                "cannot allocate a batch buffer",
            ));
        }
        if len > 0 {
            batch.write_wire(std::slice::from_raw_parts_mut(data.cast::<u8>(), len));
        }
    }
    Ok(value)
}
