//! Drives the JS thread's local IO runtime (`server::local`) from Node's own event loop: a libuv
//! poll watcher on the runtime's epoll descriptor and a timer for its sleeps. Both are unref'd:
//! what keeps the process alive is each server's threadsafe function, exactly as with the IO
//! thread. Events still reach JS through that function (called here, on the JS thread), so
//! handle scopes, async context and uncaught exceptions work the same in both modes.
//!
//! libuv's symbols are exported by the node binary, which is how addons use them; only the
//! handle sizes are asked of libuv, never assumed.

use std::cell::RefCell;
use std::ffi::c_void;
use std::os::raw::c_int;

use napi::Env;
use tokio::time::Instant;

use crate::server::local::{self, LocalRuntime};
use crate::server::queue;

type UvHandle = *mut c_void;

// libuv's uv_handle_type and uv_poll_event values (stable across libuv 1.x).
const UV_POLL: c_int = 8;
const UV_TIMER: c_int = 13;
const UV_READABLE: c_int = 1;

extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    fn uv_poll_init(event_loop: *mut c_void, handle: UvHandle, fd: c_int) -> c_int;
    fn uv_poll_start(
        handle: UvHandle,
        events: c_int,
        cb: unsafe extern "C" fn(UvHandle, c_int, c_int),
    ) -> c_int;
    fn uv_timer_init(event_loop: *mut c_void, handle: UvHandle) -> c_int;
    fn uv_timer_start(
        handle: UvHandle,
        cb: unsafe extern "C" fn(UvHandle),
        timeout: u64,
        repeat: u64,
    ) -> c_int;
    fn uv_timer_stop(handle: UvHandle) -> c_int;
    fn uv_unref(handle: UvHandle);
    fn uv_close(handle: UvHandle, cb: Option<unsafe extern "C" fn(UvHandle)>);
}

struct Driver {
    local: &'static LocalRuntime,
    poll: UvHandle,
    timer: UvHandle,
    /// The deadline the timer is armed for: it is re-armed only when that changes.
    armed: Option<Instant>,
}

thread_local! {
    static DRIVER: RefCell<Option<Driver>> = const { RefCell::new(None) };
}

/// Zeroed, 8-byte aligned memory for a libuv handle of `kind`, owned by libuv from here on
/// (never freed: one poll and one timer per JS thread).
fn alloc_handle(kind: c_int) -> UvHandle {
    // SAFETY: uv_handle_size only reads its argument.
    let size = unsafe { uv_handle_size(kind) };
    let words = vec![0u64; size.div_ceil(8).max(1)];
    Box::leak(words.into_boxed_slice()).as_mut_ptr().cast()
}

/// Whether servers created on this JS thread run their IO here (the local runtime, its watchers
/// started on first use); false when they should use the IO thread (not wanted, or not
/// possible here).
pub fn use_local_runtime(env: &Env) -> bool {
    if DRIVER.with(|d| d.borrow().is_some()) {
        return true;
    }
    if !local::inline_wanted() {
        return false;
    }
    start_driver(env).is_some()
}

fn start_driver(env: &Env) -> Option<()> {
    let local = LocalRuntime::current()?;
    let mut event_loop = std::ptr::null_mut();
    // SAFETY: `env` is the calling thread's live environment; the handles are fresh, zeroed,
    // large enough (uv_handle_size) and never moved; the callbacks match libuv's signatures.
    unsafe {
        if napi::sys::napi_get_uv_event_loop(env.raw(), &mut event_loop)
            != napi::sys::Status::napi_ok
            || event_loop.is_null()
        {
            return None;
        }
        let loop_ptr = event_loop.cast::<c_void>();
        let poll = alloc_handle(UV_POLL);
        if uv_poll_init(loop_ptr, poll, local.fd()) != 0 {
            return None;
        }
        let timer = alloc_handle(UV_TIMER);
        if uv_timer_init(loop_ptr, timer) != 0 {
            uv_close(poll, None);
            return None;
        }
        uv_unref(poll);
        uv_unref(timer);
        if uv_poll_start(poll, UV_READABLE, on_poll) != 0 {
            uv_close(poll, None);
            uv_close(timer, None);
            return None;
        }
        DRIVER.with(|d| {
            *d.borrow_mut() = Some(Driver {
                local,
                poll,
                timer,
                armed: None,
            })
        });
        napi::sys::napi_add_env_cleanup_hook(env.raw(), Some(on_env_cleanup), std::ptr::null_mut());
    }
    Some(())
}

unsafe extern "C" fn on_poll(_handle: UvHandle, _status: c_int, _events: c_int) {
    step();
}

unsafe extern "C" fn on_timer(_handle: UvHandle) {
    DRIVER.with(|d| {
        if let Some(d) = d.borrow_mut().as_mut() {
            d.armed = None;
        }
    });
    step();
}

/// Closes the watchers before the environment's loop is torn down (a worker thread ending).
unsafe extern "C" fn on_env_cleanup(_arg: *mut c_void) {
    if let Some(d) = DRIVER.with(|d| d.borrow_mut().take()) {
        // SAFETY: both handles were initialised on this loop and are closed once.
        unsafe {
            uv_close(d.poll, None);
            uv_close(d.timer, None);
        }
    }
}

/// Runs the local runtime, then delivers what it queued and re-arms the timer.
fn step() {
    let Some(local) = DRIVER.with(|d| d.borrow().as_ref().map(|d| d.local)) else {
        return;
    };
    local.step();
    after_run();
}

/// After anything ran the local runtime on this thread: wakes JS for the events it queued
/// (through the servers' threadsafe functions) and points the timer at the next deadline.
pub fn after_run() {
    queue::wake_deferred();
    DRIVER.with(|d| {
        let mut d = d.borrow_mut();
        let Some(d) = d.as_mut() else {
            return;
        };
        let next = d.local.next_deadline();
        if next == d.armed {
            return;
        }
        // SAFETY: the timer handle is initialised, open, and used on its loop's thread.
        unsafe {
            match next {
                Some(at) => {
                    uv_timer_start(d.timer, on_timer, local::timeout_ms(at), 0);
                }
                None => {
                    uv_timer_stop(d.timer);
                }
            }
        }
        d.armed = next;
    });
}
