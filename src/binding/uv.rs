//! Drives the JS thread's local IO runtime (`server::local`) from Node's own event loop: a libuv
//! poll watcher on the runtime's epoll descriptor and a timer for its sleeps. Both are unref'd:
//! what keeps the process alive is each server's threadsafe function, exactly as with the IO
//! thread. After a step, the events it queued are handed to each server's JS callback right
//! here with `napi_make_callback` (handle scope, async context, ticks and microtasks after it,
//! uncaught exceptions as Node reports them), not through the threadsafe function, whose
//! wake would cost an eventfd write, a loop iteration and a read per batch.
//!
//! libuv's symbols are exported by the node binary, which is how addons use them; only the
//! handle sizes are asked of libuv, never assumed.

use std::cell::RefCell;
use std::ffi::c_void;
use std::os::raw::c_int;
use std::sync::{Arc, Weak};

use napi::sys;
use napi::Env;
use tokio::time::Instant;

use crate::server::local::{self, LocalRuntime};
use crate::server::queue::{self, EventQueue};
use crate::server::Server;

type UvHandle = *mut c_void;

// libuv's uv_handle_type and uv_poll_event values (stable across libuv 1.x).
const UV_POLL: c_int = 8;
const UV_TIMER: c_int = 13;
const UV_IDLE: c_int = 6;
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
    fn uv_idle_init(event_loop: *mut c_void, handle: UvHandle) -> c_int;
    fn uv_close(handle: UvHandle, cb: Option<unsafe extern "C" fn(UvHandle)>);
}

struct Driver {
    env: sys::napi_env,
    local: &'static LocalRuntime,
    poll: UvHandle,
    timer: UvHandle,
    /// The deadline the timer is armed for: it is re-armed only when that changes.
    armed: Option<Instant>,
}

/// A server served on this thread: where its batches go.
struct Target {
    queue_key: usize,
    server: Weak<Server>,
    /// The JS batch callback (a strong reference while the server is registered).
    on_batch: sys::napi_ref,
    async_context: sys::napi_async_context,
}

thread_local! {
    static DRIVER: RefCell<Option<Driver>> = const { RefCell::new(None) };
    static TARGETS: RefCell<Vec<Target>> = const { RefCell::new(Vec::new()) };
}

/// Zeroed, 8-byte aligned memory for a libuv handle of `kind`, owned by libuv from here on
/// (never freed: one poll and one timer per JS thread).
fn alloc_handle(kind: c_int) -> UvHandle {
    let words = vec![0u64; handle_words(kind)];
    Box::leak(words.into_boxed_slice()).as_mut_ptr().cast()
}

fn handle_words(kind: c_int) -> usize {
    // SAFETY: uv_handle_size only reads its argument.
    let size = unsafe { uv_handle_size(kind) };
    size.div_ceil(8).max(1)
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
                env: env.raw(),
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
    // The environment frees its references and async contexts itself.
    TARGETS.with(|t| t.borrow_mut().clear());
    if let Some(d) = DRIVER.with(|d| d.borrow_mut().take()) {
        // SAFETY: both handles were initialised on this loop and are closed once.
        unsafe {
            uv_close(d.poll, None);
            uv_close(d.timer, None);
        }
    }
}

/// Steps and deliveries made by one libuv callback at most, so a handler that keeps waking
/// its connections (pause/resume) still lets the event loop run its other work.
const MAX_ROUNDS: usize = 4;

/// Runs the local runtime, then delivers what it queued and re-arms the timer. What JS woke
/// while it ran (ended responses, freed body budget) is run by another step right here.
fn step() {
    let Some((env, local)) = DRIVER.with(|d| d.borrow().as_ref().map(|d| (d.env, d.local))) else {
        return;
    };
    for round in 1..=MAX_ROUNDS {
        local.step();
        // Called from libuv with no JS on the stack: JS may be entered here.
        let woke = local.holding_wakes(|| queue::wake_deferred_with(|q| deliver(env, q)));
        if !woke {
            break;
        }
        if round == MAX_ROUNDS {
            local.wake_driver();
        }
    }
    after_run();
}

/// A strong reference to the JS function `value` and an async context named `label` to call it
/// in with `call_back`; None (nothing left allocated) if napi refuses either.
fn callback_ref(
    env: sys::napi_env,
    value: sys::napi_value,
    label: &str,
) -> Option<(sys::napi_ref, sys::napi_async_context)> {
    let mut reference = std::ptr::null_mut();
    let mut name = std::ptr::null_mut();
    let mut async_context = std::ptr::null_mut();
    // SAFETY: `env` is this thread's live environment and `value` a value of the current call;
    // the out-pointers are valid.
    let ok = unsafe {
        sys::napi_create_reference(env, value, 1, &mut reference) == sys::Status::napi_ok
            && sys::napi_create_string_utf8(
                env,
                label.as_ptr().cast(),
                label.len() as isize,
                &mut name,
            ) == sys::Status::napi_ok
            && sys::napi_async_init(env, std::ptr::null_mut(), name, &mut async_context)
                == sys::Status::napi_ok
    };
    if ok {
        return Some((reference, async_context));
    }
    // SAFETY: as above; a reference made before the failure is released.
    unsafe {
        if !reference.is_null() {
            sys::napi_delete_reference(env, reference);
        }
    }
    None
}

/// Calls `func` with `argv` from a libuv callback, as Node calls back into JS: in `async_context`,
/// with the tick and microtask queues run after it; an exception escaping it is Node's
/// 'uncaughtException'. False when the function cannot be reached.
///
/// # Safety
/// On the environment's own thread, inside an open handle scope, with no JS running.
unsafe fn call_back(
    env: sys::napi_env,
    func: sys::napi_ref,
    async_context: sys::napi_async_context,
    argv: &[sys::napi_value],
) -> bool {
    let mut value = std::ptr::null_mut();
    let mut recv = std::ptr::null_mut();
    // SAFETY: per this function's contract.
    unsafe {
        if sys::napi_get_reference_value(env, func, &mut value) != sys::Status::napi_ok
            || value.is_null()
            // napi_make_callback wants an object as `this` (our callbacks are arrow functions).
            || sys::napi_get_global(env, &mut recv) != sys::Status::napi_ok
        {
            return false;
        }
        let mut result = std::ptr::null_mut();
        let status = sys::napi_make_callback(
            env,
            async_context,
            recv,
            value,
            argv.len(),
            argv.as_ptr(),
            &mut result,
        );
        if status == sys::Status::napi_pending_exception {
            let mut err = std::ptr::null_mut();
            if sys::napi_get_and_clear_last_exception(env, &mut err) == sys::Status::napi_ok {
                sys::napi_fatal_exception(env, err);
            }
        }
    }
    true
}

/// Registers a server whose IO runs on this thread, so its batches can be delivered by `step`.
/// Without it (or if anything here fails) the threadsafe function delivers them.
pub fn register(env: &Env, server: &Arc<Server>, on_batch: sys::napi_value) {
    let Some((on_batch_ref, async_context)) = callback_ref(env.raw(), on_batch, "ferrohttp:batch")
    else {
        return;
    };
    TARGETS.with(|t| {
        t.borrow_mut().push(Target {
            queue_key: server.queue_key(),
            server: Arc::downgrade(server),
            on_batch: on_batch_ref,
            async_context,
        })
    });
}

/// Forgets a server (closed, or its handle collected) and frees what `register` made.
pub fn unregister(queue_key: usize) {
    let Some(target) = TARGETS.with(|t| {
        let mut t = t.borrow_mut();
        let at = t.iter().position(|x| x.queue_key == queue_key)?;
        Some(t.swap_remove(at))
    }) else {
        return;
    };
    let Some(env) = DRIVER.with(|d| d.borrow().as_ref().map(|d| d.env)) else {
        return;
    };
    // SAFETY: both were created on this environment by `register` and are freed once.
    unsafe {
        sys::napi_delete_reference(env, target.on_batch);
        sys::napi_async_destroy(env, target.async_context);
    }
}

/// Hands `queue`'s batch to its server's JS callback. False when this thread does not serve
/// that queue (or the callback cannot be reached): the queue's waker is used instead.
fn deliver(env: sys::napi_env, queue: &EventQueue) -> bool {
    let key = queue.key();
    let Some((server, on_batch, async_context)) = TARGETS.with(|t| {
        t.borrow()
            .iter()
            .find(|x| x.queue_key == key)
            .map(|x| (x.server.clone(), x.on_batch, x.async_context))
    }) else {
        return false;
    };
    let Some(server) = server.upgrade() else {
        return false;
    };
    // SAFETY: called from a libuv callback on the environment's own thread with no JS running;
    // every value lives in the handle scope opened here.
    unsafe {
        let mut scope = std::ptr::null_mut();
        if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
            return false;
        }
        let wrapped = Env::from_raw(env);
        // Taking the batch clears the queue's wake flag, whatever happens next.
        let delivered = match server.with_events(|batch| super::new_wire_buffer(&wrapped, batch)) {
            Ok(buf) => call_back(env, on_batch, async_context, &[buf]),
            Err(_) => true,
        };
        sys::napi_close_handle_scope(env, scope);
        delivered
    }
}

/// After anything ran the local runtime on this thread: makes sure JS gets the events it
/// queued, and points the timer at the next deadline.
pub fn after_run() {
    match DRIVER.with(|d| d.borrow().as_ref().map(|d| d.local)) {
        // Run from JS (listen, close): the events go to JS from the next step, where the event
        // loop finds the runtime's descriptor among the other sockets' as Node finds each
        // socket's. A threadsafe-function call would deliver them after all of those (a
        // client's EOF read here seen after another socket's later data).
        Some(local) if queue::has_deferred() => local.wake_driver(),
        _ => queue::wake_deferred(),
    }
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

/// The JS function run in libuv's close phase (`request_close_phase`), per JS thread.
struct ClosePhase {
    env: sys::napi_env,
    callback: sys::napi_ref,
    async_context: sys::napi_async_context,
}

thread_local! {
    static CLOSE_PHASE: RefCell<Option<ClosePhase>> = const { RefCell::new(None) };
}

/// Sets the function `request_close_phase` runs. A net.Socket emits 'close' from its handle's
/// close callback, after the loop iteration's setImmediate callbacks: this is how ours do too.
pub fn set_close_phase_callback(env: &Env, callback: sys::napi_value) -> bool {
    let env = env.raw();
    let Some((callback_ref, async_context)) = callback_ref(env, callback, "ferrohttp:close") else {
        return false;
    };
    let first = CLOSE_PHASE.with(|c| {
        c.borrow_mut()
            .replace(ClosePhase {
                env,
                callback: callback_ref,
                async_context,
            })
            .is_none()
    });
    if first {
        // SAFETY: registered once per thread; the hook only clears this thread's state.
        unsafe {
            sys::napi_add_env_cleanup_hook(env, Some(on_close_phase_cleanup), std::ptr::null_mut());
        }
    }
    true
}

unsafe extern "C" fn on_close_phase_cleanup(_arg: *mut c_void) {
    // The environment frees its references and async contexts itself.
    CLOSE_PHASE.with(|c| c.borrow_mut().take());
}

/// Runs the close-phase function once, in this loop iteration's close phase: a handle is made
/// and closed at once, and its close callback calls the function. False when it cannot be.
pub fn request_close_phase(env: &Env) -> bool {
    if CLOSE_PHASE.with(|c| c.borrow().is_none()) {
        return false;
    }
    let mut event_loop = std::ptr::null_mut();
    // SAFETY: `env` is the calling thread's live environment; the handle is fresh, zeroed, large
    // enough and never moved; libuv gives it back to `on_handle_closed`, which frees it.
    unsafe {
        if sys::napi_get_uv_event_loop(env.raw(), &mut event_loop) != sys::Status::napi_ok
            || event_loop.is_null()
        {
            return false;
        }
        let idle = alloc_handle(UV_IDLE);
        if uv_idle_init(event_loop.cast(), idle) != 0 {
            free_handle(idle, UV_IDLE);
            return false;
        }
        uv_close(idle, Some(on_handle_closed));
    }
    true
}

/// Frees what `alloc_handle(kind)` gave.
///
/// # Safety
/// `handle` came from `alloc_handle(kind)` and libuv no longer uses it.
unsafe fn free_handle(handle: UvHandle, kind: c_int) {
    let words = handle_words(kind);
    // SAFETY: the slice was leaked by alloc_handle with this very length.
    drop(unsafe {
        Box::from_raw(std::ptr::slice_from_raw_parts_mut(
            handle.cast::<u64>(),
            words,
        ))
    });
}

unsafe extern "C" fn on_handle_closed(handle: UvHandle) {
    // SAFETY: libuv is done with the handle once its close callback runs.
    unsafe { free_handle(handle, UV_IDLE) };
    let Some((env, callback, async_context)) = CLOSE_PHASE.with(|c| {
        c.borrow()
            .as_ref()
            .map(|c| (c.env, c.callback, c.async_context))
    }) else {
        return;
    };
    // SAFETY: called from a libuv callback on the environment's own thread with no JS running;
    // every value lives in the handle scope opened here.
    unsafe {
        let mut scope = std::ptr::null_mut();
        if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
            return;
        }
        call_back(env, callback, async_context, &[]);
        sys::napi_close_handle_scope(env, scope);
    }
}
