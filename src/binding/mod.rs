//! All napi glue. `BindingServer` is the native handle the TS `Server` owns; it turns the core's
//! event batches into one Buffer per threadsafe-function call and takes a JS turn's output in one
//! `submit` call.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use crate::h1::HeadLimits;
use crate::server::{Server, ServerConfig};

/// Called on the JS thread with one batch; takes no value from the IO side because it drains
/// the queue itself when it runs, so everything queued by then rides along.
type BatchFn = ThreadsafeFunction<(), (), Buffer, Status, false>;

#[napi(object)]
pub struct BindingServerOptions {
    pub max_header_size: Option<u32>,
    pub insecure_http_parser: Option<bool>,
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
    pub fn new(on_batch: Function<'_, Buffer, ()>, options: BindingServerOptions) -> Result<Self> {
        let defaults = ServerConfig::default();
        let config = ServerConfig {
            head_limits: HeadLimits {
                max_head_bytes: options
                    .max_header_size
                    .map_or(defaults.head_limits.max_head_bytes, |v| v as usize),
                lenient: options.insecure_http_parser.unwrap_or(false),
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
            max_connections: 0,
            keep_alive_timeout: ms(options.keep_alive_timeout, 6_000),
        };
        let tsfn: Arc<Mutex<Option<BatchFn>>> = Arc::new(Mutex::new(None));
        let waker_tsfn = tsfn.clone();
        let server = Arc::new(Server::new(
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
        ));
        // The callback holds the server weakly: the server owns the waker that owns this
        // function, and a strong edge back would keep both alive forever.
        let weak = Arc::downgrade(&server);
        let f = on_batch
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .build_callback(move |_ctx| {
                let wire = weak.upgrade().map(|s| s.take_events().to_wire());
                Ok(Buffer::from(wire.unwrap_or_default()))
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
    ) -> BindingListenResult {
        match self.server.listen(&host, port as u16, backlog, ipv6_only) {
            Ok(addr) => BindingListenResult {
                errno: None,
                message: None,
                address: Some(addr.ip.to_string()),
                family: Some(if addr.ip.is_ipv4() { "IPv4" } else { "IPv6" }.to_string()),
                port: Some(u32::from(addr.port)),
            },
            Err(e) => BindingListenResult {
                errno: Some(e.raw_os_error().unwrap_or(22)),
                message: Some(e.to_string()),
                address: None,
                family: None,
                port: None,
            },
        }
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

    #[napi]
    pub fn stop_accepting(&self) {
        self.server.stop_accepting();
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
        self.tsfn.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}
