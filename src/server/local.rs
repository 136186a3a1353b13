//! The IO runtime run on the JS thread itself (`FERROHTTP_IO=inline`, and the default when the
//! process may use one CPU only). With one core, an IO thread beside the JS thread costs a
//! context switch and a cross-thread wake per batch and shares caches badly; here the JS
//! thread's event loop (libuv, in the binding) watches the runtime's epoll descriptor and steps
//! the runtime when it is readable or a deadline is due.
//!
//! The runtime is a tokio current-thread runtime, one per JS thread (worker threads have their
//! own), and its tasks live in a `LocalSet`. `step` runs it without ever blocking: ready tasks,
//! then a zero-timeout poll of the IO driver, then the tasks it woke, repeated until running
//! them queues nothing new (one driver poll in a quiet step). The
//! LocalSet wakes its waker whenever a task is queued outside its own run (by the driver's
//! poll, or by JS between steps); that waker is ours (`SetWaker`), so a step knows when its last
//! poll queued work, and a wake between steps unparks the driver through its eventfd, which
//! makes the epoll descriptor readable and the event loop steps again.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use tokio::runtime::{Handle, Runtime};
use tokio::task::LocalSet;
use tokio::time::Instant;

pub struct LocalRuntime {
    rt: Runtime,
    tasks: LocalSet,
    epoll_fd: i32,
    set_waker: Arc<SetWaker>,
}

/// The waker the LocalSet is polled with: counts its wakes, then wakes the runtime's own, unless
/// wakes are being held (`holding_wakes`: JS is running inside a step's callback, which steps
/// again after it).
#[derive(Default)]
struct SetWaker {
    wakes: AtomicU64,
    inner: Mutex<Option<Waker>>,
    hold: AtomicBool,
    held: AtomicBool,
}

impl SetWaker {
    fn count(&self) -> u64 {
        self.wakes.load(Ordering::Acquire)
    }

    fn forward_to(&self, waker: &Waker) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if !inner.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *inner = Some(waker.clone());
        }
    }

    fn wake_runtime(&self) {
        if let Some(w) = self
            .inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            w.wake_by_ref();
        }
    }
}

impl Wake for SetWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::AcqRel);
        if self.hold.load(Ordering::Acquire) {
            self.held.store(true, Ordering::Release);
            return;
        }
        self.wake_runtime();
    }
}

thread_local! {
    static LOCAL: RefCell<Option<&'static LocalRuntime>> = const { RefCell::new(None) };
    /// Deadlines of sleeps in the local runtime (connection timers, accept back-off). Entries
    /// are never removed early: a stale one only costs a step that finds nothing due.
    static DEADLINES: RefCell<BinaryHeap<Reverse<Instant>>> = const { RefCell::new(BinaryHeap::new()) };
    /// The local runtime's connection timers (`LocalTimer`), earliest first.
    static TIMERS: RefCell<BinaryHeap<Reverse<TimerEntry>>> = const { RefCell::new(BinaryHeap::new()) };
}

/// A connection timer of the local runtime. tokio's timer would do, but registering a sleep
/// earlier than the driver's next wake unparks the driver (an eventfd write), and the local
/// driver is only ever polled with a zero timeout: the write buys nothing but one more
/// event-loop wake, about once every few connections under load. These timers are kept in a
/// heap of their own, fired at the start of each step; the event loop's timer is armed for
/// them as for the driver's sleeps (`note_deadline`).
#[derive(Default)]
pub struct LocalTimer {
    slot: Arc<TimerSlot>,
}

#[derive(Default)]
struct TimerSlot {
    /// The deadline, and the waker of a poll that found it not yet due.
    state: Mutex<(Option<Instant>, Option<Waker>)>,
    /// Set when `fire_due_timers` found the deadline due, cleared by `reset`: `is_elapsed`,
    /// asked on every poll of a connection, then costs no clock read and no lock.
    fired: AtomicBool,
}

/// A timer's deadline in the heap; a timer reset since is a stale entry, skipped when due.
struct TimerEntry {
    at: Instant,
    slot: std::sync::Weak<TimerSlot>,
}

impl PartialEq for TimerEntry {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}
impl Eq for TimerEntry {}
impl PartialOrd for TimerEntry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for TimerEntry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.at.cmp(&other.at)
    }
}

impl LocalTimer {
    /// Fires at `at` (replacing the deadline set before).
    pub fn reset(&mut self, at: Instant) {
        let mut state = self.slot.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0 = Some(at);
        self.slot.fired.store(false, Ordering::Relaxed);
        drop(state);
        TIMERS.with(|t| {
            t.borrow_mut().push(Reverse(TimerEntry {
                at,
                slot: Arc::downgrade(&self.slot),
            }))
        });
        note_deadline(at);
    }

    /// Ready once the deadline passed (and until the next `reset`).
    pub fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.slot.state.lock().unwrap_or_else(|e| e.into_inner());
        match state.0 {
            Some(at) if at <= Instant::now() => Poll::Ready(()),
            Some(_) => {
                if !state.1.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    state.1 = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            None => Poll::Pending,
        }
    }

    /// Whether the deadline came (as `Sleep::is_elapsed`: once the timers were fired for it).
    pub fn is_elapsed(&self) -> bool {
        self.slot.fired.load(Ordering::Relaxed)
    }
}

/// Wakes the local timers that are due.
fn fire_due_timers() {
    TIMERS.with(|t| {
        let mut heap = t.borrow_mut();
        if heap.is_empty() {
            return;
        }
        let now = Instant::now();
        while heap.peek().is_some_and(|Reverse(e)| e.at <= now) {
            let Some(Reverse(entry)) = heap.pop() else {
                break;
            };
            let Some(slot) = entry.slot.upgrade() else {
                continue;
            };
            let waker = {
                let mut state = slot.state.lock().unwrap_or_else(|e| e.into_inner());
                if state.0 != Some(entry.at) {
                    continue;
                }
                slot.fired.store(true, Ordering::Relaxed);
                state.1.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        }
    });
}

/// Passes of one step before it returns to the event loop, so a flood cannot starve JS.
const MAX_PASSES: usize = 64;

/// Records that a sleep in the local runtime ends at `at`, so the event loop wakes then.
/// Ignored on threads without a local runtime.
pub fn note_deadline(at: Instant) {
    if LOCAL.with(|l| l.borrow().is_some()) {
        DEADLINES.with(|d| d.borrow_mut().push(Reverse(at)));
    }
}

/// The CPUs this process may run on (its affinity mask), where the OS says.
pub fn allowed_cpus() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_getaffinity fills it for the
        // calling thread (pid 0).
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
                return Some(libc::CPU_COUNT(&set) as usize);
            }
        }
    }
    None
}

/// Whether servers on this thread run their IO inline: `FERROHTTP_IO=inline|thread`, else inline
/// when the process may use a single CPU.
pub fn inline_wanted() -> bool {
    match std::env::var("FERROHTTP_IO").as_deref() {
        Ok("inline") => true,
        Ok("thread") => false,
        _ => allowed_cpus() == Some(1),
    }
}

/// Spawns a server task: into the local runtime on a thread that has one (the caller is inside
/// a step, or will be stepped soon), else onto the current tokio runtime.
pub fn spawn<F>(fut: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    match LocalRuntime::existing() {
        Some(local) => {
            local.tasks.spawn_local(fut);
        }
        None => {
            tokio::spawn(fut);
        }
    }
}

impl LocalRuntime {
    /// This thread's local runtime if it has one.
    pub fn existing() -> Option<&'static LocalRuntime> {
        LOCAL.with(|l| *l.borrow())
    }

    /// This thread's local runtime, created on first use. `None` where the runtime's epoll
    /// descriptor cannot be found (not Linux, or an ambiguous descriptor table): the caller
    /// falls back to the IO thread.
    pub fn current() -> Option<&'static LocalRuntime> {
        if let Some(l) = Self::existing() {
            return Some(l);
        }
        let local = Self::build()?;
        // One per JS thread for the life of the process: the event loop's watcher refers to it.
        let local: &'static LocalRuntime = Box::leak(Box::new(local));
        LOCAL.with(|l| *l.borrow_mut() = Some(local));
        super::queue::deliver_after_steps_on_this_thread();
        Some(local)
    }

    #[cfg(target_os = "linux")]
    fn build() -> Option<LocalRuntime> {
        // tokio does not expose its driver's descriptor: it is the epoll instance that appears
        // while the runtime is built (on this thread, synchronously). The driver holds it twice
        // (its registry is a dup), so the new descriptors must all watch the same set.
        let before = epoll_fds();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        let new: Vec<i32> = epoll_fds()
            .into_iter()
            .filter(|fd| !before.contains(fd))
            .collect();
        let first = *new.first()?;
        let watched = epoll_watch_list(first)?;
        if new.len() > 2
            || new
                .iter()
                .any(|&fd| epoll_watch_list(fd).as_ref() != Some(&watched))
        {
            return None;
        }
        Some(LocalRuntime {
            rt,
            tasks: LocalSet::new(),
            epoll_fd: first,
            set_waker: Arc::default(),
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn build() -> Option<LocalRuntime> {
        None
    }

    /// The descriptor that is readable when the runtime has IO (or a remote wake) to handle.
    pub fn fd(&self) -> i32 {
        self.epoll_fd
    }

    /// Runs what is ready without blocking.
    pub fn step(&self) {
        self.run_until(|| true);
    }

    /// Runs `f` (JS, called from the event loop right after a step) with the LocalSet's wakes
    /// held instead of unparking the driver, and says whether any came: the caller steps again
    /// at once, which saves the eventfd write and the event-loop iteration a wake costs (a
    /// finished response's `end`, a body's budget freed by JS taking a batch). A caller that
    /// will not step again calls `wake_driver`.
    pub fn holding_wakes(&self, f: impl FnOnce()) -> bool {
        self.set_waker.hold.store(true, Ordering::Release);
        f();
        self.set_waker.hold.store(false, Ordering::Release);
        self.set_waker.held.swap(false, Ordering::AcqRel)
    }

    /// Unparks the driver, so the event loop steps the runtime again (for wakes held by
    /// `holding_wakes` that the caller leaves for later).
    pub fn wake_driver(&self) {
        self.set_waker.wake_runtime();
    }

    /// Runs passes until one leaves no task queued and `done` holds (at most `MAX_PASSES`; what
    /// is left then has woken the driver, so the event loop steps again).
    /// Used by `stop_accepting`, which must see the listeners dropped before it returns.
    /// Called from inside the runtime (re-entered), it does nothing.
    ///
    /// A pass is one poll of the LocalSet (its queued tasks run) followed by one zero-timeout
    /// poll of the IO driver (a yield makes the scheduler poll it instead of parking). The step
    /// ends after a LocalSet poll that queued nothing new, once the driver has been polled: the
    /// tasks woken by that driver poll have run, and the epoll descriptor tells the event loop
    /// about anything that became ready since. One driver poll per quiet step, not two.
    pub fn run_until(&self, done: impl Fn() -> bool) {
        if Handle::try_current().is_ok() {
            return;
        }
        fire_due_timers();
        let set_waker = &self.set_waker;
        let mut run = pin!(self.tasks.run_until(std::future::pending::<()>()));
        let waker = Waker::from(set_waker.clone());
        let mut yielding: Option<Pin<Box<dyn Future<Output = ()>>>> = None;
        let mut driver_polled = false;
        let mut passes = 0;
        self.rt.block_on(std::future::poll_fn(|cx| {
            set_waker.forward_to(cx.waker());
            if let Some(y) = yielding.as_mut() {
                if y.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                yielding = None;
            }
            let before = set_waker.count();
            // The inner future never completes: this poll runs the LocalSet's queued tasks.
            let _ = run.as_mut().poll(&mut Context::from_waker(&waker));
            let quiet = driver_polled && set_waker.count() == before;
            passes += 1;
            if (quiet && done()) || passes >= MAX_PASSES {
                return Poll::Ready(());
            }
            // Another pass: yield, so the scheduler polls the driver (zero timeout) first.
            driver_polled = true;
            let mut y: Pin<Box<dyn Future<Output = ()>>> = Box::pin(tokio::task::yield_now());
            if y.as_mut().poll(cx).is_pending() {
                yielding = Some(y);
            }
            Poll::Pending
        }));
    }

    /// The earliest pending sleep's end, dropping the ones long past; `None` when nothing is
    /// pending.
    pub fn next_deadline(&self) -> Option<Instant> {
        let now = Instant::now();
        DEADLINES.with(|d| {
            let mut d = d.borrow_mut();
            // Kept a little past due: the driver fires a sleep on its next 1 ms tick.
            while d
                .peek()
                .is_some_and(|Reverse(at)| *at + Duration::from_millis(2) <= now)
            {
                d.pop();
            }
            d.peek().map(|Reverse(at)| *at)
        })
    }
}

/// Milliseconds from now until `at`, rounded up, plus the driver's 1 ms tick.
pub fn timeout_ms(at: Instant) -> u64 {
    let left = at.saturating_duration_since(Instant::now());
    left.as_millis() as u64 + 1
}

#[cfg(target_os = "linux")]
fn epoll_fds() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let e = e.ok()?;
        let fd: i32 = e.file_name().to_str()?.parse().ok()?;
        let target = std::fs::read_link(e.path()).ok()?;
        (target.to_str()? == "anon_inode:[eventpoll]").then_some(fd)
    })
    .collect()
}

/// The descriptors an epoll instance watches (`tfd:` lines of its fdinfo), to tell one instance
/// held twice from two instances.
#[cfg(target_os = "linux")]
fn epoll_watch_list(fd: i32) -> Option<Vec<String>> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).ok()?;
    Some(
        info.lines()
            .filter(|l| l.starts_with("tfd:"))
            .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
            .collect(),
    )
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn finds_the_runtime_epoll_descriptor() {
        let local = LocalRuntime::build().expect("the driver's epoll descriptor");
        assert!(epoll_fds().contains(&local.fd()));
        // Its watch list is the driver's (at least the waker's eventfd).
        assert!(!epoll_watch_list(local.fd()).unwrap_or_default().is_empty());
    }

    #[derive(Default)]
    struct CountingWaker(std::sync::atomic::AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn local_timers_wake_when_due_and_not_when_reset_later() {
        let counter = Arc::new(CountingWaker::default());
        let waker = Waker::from(counter.clone());
        let mut cx = Context::from_waker(&waker);
        let mut timer = LocalTimer::default();
        assert!(timer.poll(&mut cx).is_pending(), "never set: pending");
        let start = Instant::now();
        timer.reset(start + Duration::from_millis(20));
        assert!(timer.poll(&mut cx).is_pending());
        fire_due_timers();
        assert_eq!(counter.0.load(Ordering::SeqCst), 0, "not due yet");
        // Moved later: the first deadline's heap entry is stale and wakes nobody.
        timer.reset(start + Duration::from_millis(60));
        std::thread::sleep(Duration::from_millis(30));
        fire_due_timers();
        assert_eq!(
            counter.0.load(Ordering::SeqCst),
            0,
            "reset later: the old deadline is stale"
        );
        assert!(!timer.is_elapsed());
        std::thread::sleep(Duration::from_millis(40));
        fire_due_timers();
        assert_eq!(counter.0.load(Ordering::SeqCst), 1, "due: woken once");
        assert!(timer.is_elapsed());
        assert!(timer.poll(&mut cx).is_ready());
        // Re-armed after firing: fires again.
        timer.reset(Instant::now() + Duration::from_millis(5));
        assert!(timer.poll(&mut cx).is_pending());
        std::thread::sleep(Duration::from_millis(10));
        fire_due_timers();
        assert_eq!(counter.0.load(Ordering::SeqCst), 2);
        assert!(timer.poll(&mut cx).is_ready());
    }
}
