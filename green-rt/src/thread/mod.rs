//! Green threads ("greenlets"): a mirror of [`std::thread`].
//!
//! **Implements** green, with std's signatures and semantics: [`spawn`],
//! [`Builder`] (`name`, `stack_size`, `spawn`, `spawn_scoped`),
//! [`JoinHandle`] (`join`, `is_finished`, `thread`), [`Thread`]
//! (`id`, `name`, `unpark`), [`ThreadId`], [`current`], [`sleep`],
//! [`yield_now`], [`park`], [`park_timeout`], [`scope`] with [`Scope`] and
//! [`ScopedJoinHandle`], [`LocalKey`] and [`AccessError`] (greenlet-local
//! storage, made by [`thread_local!`](crate::thread_local)), [`panicking`]
//! (per greenlet: std's answer is per OS thread, shared by its greenlets).
//!
//! **Adds** (gevent's names): [`spawn_local`] (no `Send` bound; the
//! greenlet stays on this hub), [`spawn_later`], [`JoinHandle::kill`] with
//! its payload [`GreenletExit`] and [`is_greenlet_exit`].
//!
//! **Re-exports** from std unchanged: [`available_parallelism`],
//! [`Result`].
//!
//! A greenlet runs on the hub of the OS thread that spawned it (or, with
//! several hubs, [`runtime::Builder::workers`], on the hub `spawn` placed
//! it on) and never moves. It runs while other greenlets wait: each green
//! blocking call (`sleep`, `join`, a socket read, a lock) switches to the
//! next ready one.
//! A panic in a greenlet is reported as std reports a thread's and returned
//! by `join`; the other greenlets carry on.

use std::any::Any;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::num::NonZeroU64;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

pub use std::thread::{Result, available_parallelism};

use crate::hub::{self, Remote, RemoteSpawn, Start};
pub use crate::local::{AccessError, LocalKey};
use crate::runtime;
use crate::sync::spin::SpinLock;
pub use crate::task::GreenletExit;
use crate::task::{self, PENDING, Task};

/// A handle to a greenlet (or to an OS thread's root context); mirrors
/// [`std::thread::Thread`].
#[derive(Clone)]
pub struct Thread {
    task: Arc<Task>,
}

impl Thread {
    /// The greenlet's unique identifier.
    pub fn id(&self) -> ThreadId {
        ThreadId(NonZeroU64::new(self.task.id).expect("ids start at 1"))
    }

    /// The greenlet's name, if it was given one. The root context of an OS
    /// thread has that thread's name (`"main"` for the main thread).
    pub fn name(&self) -> Option<&str> {
        self.task.name.as_deref()
    }

    /// Wakes the greenlet if it is in [`park`], or makes its next `park`
    /// return at once. Callable from any thread.
    pub fn unpark(&self) {
        self.task.unpark();
    }
}

impl fmt::Debug for Thread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thread")
            .field("id", &self.id())
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

/// A unique identifier of a greenlet; mirrors [`std::thread::ThreadId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThreadId(NonZeroU64);

impl ThreadId {
    /// The identifier as a number (std's unstable `as_u64`).
    pub fn as_u64(&self) -> NonZeroU64 {
        self.0
    }
}

/// The running greenlet (or the OS thread's root context).
pub fn current() -> Thread {
    Thread {
        task: task::current(),
    }
}

/// Whether the current greenlet (or root context) is unwinding because of a
/// panic, a kill or a timeout; mirrors [`std::thread::panicking`].
///
/// std keeps one panic count per OS thread, which every greenlet on it
/// shares: while greenlet A is parked in a destructor during its unwind,
/// `std::thread::panicking()` is `true` in greenlet B as well. This
/// function answers for the caller alone (green's `Mutex` poisons with it).
/// It recognises the unwinds that start in green's panic hook or at a green
/// blocking point (kill, timeout); a panic that bypasses green's hook (a
/// hook installed after the runtime started, or `resume_unwind`) is
/// attributed by elimination: to the caller if no other greenlet on its hub
/// is known to be unwinding.
#[inline]
pub fn panicking() -> bool {
    if !std::thread::panicking() {
        return false;
    }
    match hub::try_hub() {
        Some(hub) => task::is_unwinding(hub, hub.current_task()),
        None => true,
    }
}

/// `catch_unwind` that records, for [`panicking`], that the current waiter
/// stopped unwinding when it catches a payload.
pub(crate) fn catch_unwind<R>(f: impl FnOnce() -> R) -> Result<R> {
    let r = panic::catch_unwind(AssertUnwindSafe(f));
    if r.is_err()
        && let Some(hub) = hub::try_hub()
    {
        task::end_unwind(hub, hub.current_task());
    }
    r
}

/// `resume_unwind` that records, for [`panicking`], that the current waiter
/// unwinds (no hook runs for it).
pub(crate) fn resume_unwind(payload: Box<dyn Any + Send>) -> ! {
    if let Some(hub) = hub::try_hub() {
        task::begin_unwind(hub, hub.current_task());
    }
    panic::resume_unwind(payload)
}

/// Panics as std's `join` does on a thread's own handle (EDEADLK) if
/// `task` is the caller.
fn check_self_join(task: &Arc<Task>) {
    if let Some(hub) = hub::try_hub()
        && Arc::ptr_eq(hub.current_task(), task)
    {
        panic!(
            "failed to join thread: {}",
            io::Error::from_raw_os_error(libc::EDEADLK)
        );
    }
}

/// Puts the current greenlet to sleep for at least `dur`, running others
/// meanwhile. `sleep(Duration::ZERO)` yields, as gevent's `sleep(0)` does.
pub fn sleep(dur: Duration) {
    if dur.is_zero() {
        yield_now();
        return;
    }
    match Instant::now().checked_add(dur) {
        Some(deadline) => sleep_until(deadline),
        None => loop {
            task::park();
        },
    }
}

/// Puts the current greenlet to sleep until `deadline`.
pub fn sleep_until(deadline: Instant) {
    while Instant::now() < deadline {
        task::park_until(deadline);
    }
}

/// Sleeps for `ms` milliseconds; std's deprecated `sleep_ms`.
#[deprecated(note = "replaced by `green::thread::sleep`, as in std")]
pub fn sleep_ms(ms: u32) {
    sleep(Duration::from_millis(ms.into()));
}

/// Parks for at most `ms` milliseconds; std's deprecated
/// `park_timeout_ms`.
#[deprecated(note = "replaced by `green::thread::park_timeout`, as in std")]
pub fn park_timeout_ms(ms: u32) {
    park_timeout(Duration::from_millis(ms.into()));
}

/// Lets every other ready greenlet run once before the current one
/// continues.
#[inline]
pub fn yield_now() {
    // A kill that arrived before is seen on the way out as well.
    hub::hub().yield_now();
    task::check_interrupt();
}

/// Blocks the current greenlet until its [`Thread::unpark`] is called (or
/// spuriously, as with std).
#[inline]
pub fn park() {
    task::park();
}

/// As [`park`], for at most `dur`.
pub fn park_timeout(dur: Duration) {
    match Instant::now().checked_add(dur) {
        Some(deadline) => task::park_until(deadline),
        None => task::park(),
    }
}

/// Whether `payload` (from [`JoinHandle::join`]'s `Err`) says the greenlet
/// was killed rather than panicked.
pub fn is_greenlet_exit(payload: &(dyn Any + Send)) -> bool {
    payload.is::<GreenletExit>()
}

struct Packet<'scope, T> {
    state: Mutex<PacketState<T>>,
    done: AtomicBool,
    scope: Option<Arc<ScopeData>>,
    _marker: PhantomData<Option<&'scope ScopeData>>,
}

struct PacketState<T> {
    result: Option<Result<T>>,
    joiner: Option<Joiner>,
    /// Callbacks of [`JoinHandle::link`], run when the greenlet finishes.
    links: Vec<Box<dyn FnOnce() + Send>>,
}

/// Who is told when a greenlet finishes.
enum Joiner {
    /// A waiter in `join`.
    Task(Arc<Task>),
    /// A [`FinishLog`] watching many greenlets, with this one's index.
    Log(Arc<FinishLog>, usize),
}

impl Joiner {
    fn notify(self) {
        match self {
            Joiner::Task(t) => t.unpark(),
            Joiner::Log(log, i) => log.push(i),
        }
    }
}

/// Where greenlets watched together (`pool::joinall`) record that they
/// finished, so the watcher visits each once instead of scanning them all
/// at every wake-up.
#[derive(Debug)]
pub(crate) struct FinishLog {
    finished: SpinLock<Vec<usize>>,
    watcher: Arc<Task>,
}

impl FinishLog {
    /// A log whose pushes wake the current waiter.
    pub(crate) fn new() -> Arc<FinishLog> {
        Arc::new(FinishLog {
            finished: SpinLock::new(Vec::new()),
            watcher: task::current(),
        })
    }

    fn push(&self, i: usize) {
        self.finished.lock().push(i);
        self.watcher.unpark();
    }

    /// Moves the indices recorded since the last call into `out`.
    pub(crate) fn drain_into(&self, out: &mut Vec<usize>) {
        out.append(&mut self.finished.lock());
    }
}

impl<T> Packet<'_, T> {
    fn complete(&self, result: Result<T>) {
        let (joiner, links) = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            s.result = Some(result);
            (s.joiner.take(), std::mem::take(&mut s.links))
        };
        self.done.store(true, Ordering::Release);
        if let Some(j) = joiner {
            j.notify();
        }
        run_links(links);
    }

    fn join(&self) -> Result<T> {
        loop {
            {
                let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(r) = s.result.take() {
                    return r;
                }
                s.joiner = Some(Joiner::Task(task::current()));
            }
            task::park();
        }
    }
}

impl<T> Drop for Packet<'_, T> {
    fn drop(&mut self) {
        if let Some(scope) = &self.scope {
            let unhandled_panic = matches!(
                self.state
                    .get_mut()
                    .unwrap_or_else(|e| e.into_inner())
                    .result,
                Some(Err(_))
            );
            // Drop the result (it may borrow from the scope) before telling
            // the scope this greenlet is done with it.
            *self.state.get_mut().unwrap_or_else(|e| e.into_inner()) = PacketState {
                result: None,
                joiner: None,
                links: Vec::new(),
            };
            if unhandled_panic {
                scope.a_greenlet_panicked.store(true, Ordering::Relaxed);
            }
            scope.decrement();
        }
    }
}

/// An owned permission to join a greenlet; mirrors
/// [`std::thread::JoinHandle`]. Dropping it detaches the greenlet.
pub struct JoinHandle<T> {
    packet: Arc<Packet<'static, T>>,
    thread: Thread,
}

impl<T> JoinHandle<T> {
    /// Waits for the greenlet to finish, running others meanwhile, and
    /// returns its result, or `Err` with the panic payload (a
    /// [`GreenletExit`] if it was killed).
    ///
    /// # Panics
    ///
    /// As std's, when a greenlet joins its own handle: "failed to join
    /// thread: Resource deadlock avoided (os error 35)".
    pub fn join(self) -> Result<T> {
        check_self_join(&self.thread.task);
        self.packet.join()
    }

    /// Whether the greenlet has finished running its closure.
    pub fn is_finished(&self) -> bool {
        self.packet.done.load(Ordering::Acquire)
    }

    /// The greenlet's handle.
    pub fn thread(&self) -> &Thread {
        &self.thread
    }

    /// Kills the greenlet (gevent's `Greenlet.kill(block=False)`): it
    /// unwinds from its current or next blocking call, running its
    /// destructors, and `join` returns `Err` holding [`GreenletExit`]. A
    /// greenlet that has not started yet never runs. Killing a finished
    /// greenlet does nothing.
    pub fn kill(&self) {
        if !self.is_finished() {
            self.thread.task.interrupt(Box::new(GreenletExit));
        }
    }

    /// Calls `f` once the greenlet has finished, however it ended: returned,
    /// panicked or killed (gevent's `Greenlet.link`). `f` runs on the
    /// finishing greenlet, after its result is ready for `join`; if the
    /// greenlet has finished already, `f` runs at once, on the caller.
    /// Several callbacks run in the order they were linked. A callback
    /// that panics is reported like any greenlet panic and does not stop
    /// the others.
    ///
    /// ```
    /// # green_rt::runtime::Builder::new().run(|| {
    /// use green_rt::sync::mpsc;
    /// let (tx, rx) = mpsc::channel();
    /// let h = green_rt::thread::spawn(|| 6 * 7);
    /// h.link(move || tx.send("done").unwrap());
    /// assert_eq!(rx.recv().unwrap(), "done");
    /// assert_eq!(h.join().unwrap(), 42);
    /// # });
    /// ```
    pub fn link<F: FnOnce() + Send + 'static>(&self, f: F) {
        {
            let mut s = self.packet.state.lock().unwrap_or_else(|e| e.into_inner());
            if s.result.is_none() && !self.packet.done.load(Ordering::Acquire) {
                s.links.push(Box::new(f));
                return;
            }
        }
        run_link(f);
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("thread", &self.thread)
            .finish_non_exhaustive()
    }
}

/// Greenlet factory; mirrors [`std::thread::Builder`].
#[derive(Debug, Default)]
pub struct Builder {
    name: Option<String>,
    stack_size: Option<usize>,
}

impl Builder {
    /// A builder with no name and the default stack size.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the greenlet (shown in panic and stack overflow messages).
    ///
    /// As with std, a name containing a nul byte makes the spawn panic.
    pub fn name(mut self, name: String) -> Builder {
        self.name = Some(name);
        self
    }

    /// The name for the new greenlet; panics, with std's message, on an
    /// interior nul byte (std cannot pass such a name to the OS).
    fn take_name(&mut self) -> Option<Box<str>> {
        let name = self.name.take()?;
        if name.contains('\0') {
            let _ = std::ffi::CString::new(name.as_bytes())
                .expect("thread name may not contain interior null bytes");
        }
        Some(name.into_boxed_str())
    }

    /// The greenlet's usable stack size in bytes (rounded up to whole pages,
    /// at least 16 KiB). The default is 256 KiB, or what
    /// [`runtime::Builder::stack_size`](crate::runtime::Builder::stack_size)
    /// set. Stacks of the default size are pooled.
    pub fn stack_size(mut self, size: usize) -> Builder {
        self.stack_size = Some(size);
        self
    }

    /// Spawns a greenlet on the current thread's hub (with several hubs, on
    /// the next one in turn).
    ///
    /// # Errors
    ///
    /// When no stack can be mapped: the error names the limit that ran out
    /// (`vm.max_map_count` or memory) and how to raise it.
    pub fn spawn<F, T>(mut self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let name = self.take_name();
        self.name = name.map(String::from);
        match runtime::place() {
            Some(target) => Ok(self.spawn_remote(target, f)),
            None => self.spawn_static(f),
        }
    }

    /// Hands a new greenlet to another hub of the runtime. A failure to get
    /// its stack there is reported by its `join`.
    fn spawn_remote<F, T>(mut self, target: Arc<Remote>, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let packet = new_packet(None);
        let start = Box::new(GreenletMain {
            f,
            packet: packet.clone(),
        });
        let name = self.take_name();
        let task = Arc::new(Task::new(target.clone(), PENDING, name));
        target.push_spawn(RemoteSpawn {
            task: task.clone(),
            start,
            stack_size: self.stack_size,
        });
        JoinHandle {
            packet,
            thread: Thread { task },
        }
    }

    /// As [`spawn`](Self::spawn), without `Send`: the greenlet stays on this
    /// hub (see [`spawn_local`]).
    pub fn spawn_local<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        self.spawn_static(f)
    }

    /// Spawns a greenlet without the `'static` bounds; mirrors
    /// [`std::thread::Builder::spawn_unchecked`].
    ///
    /// # Safety
    ///
    /// As std's: the caller must make sure the greenlet finishes (is
    /// joined) before anything `f` or its result borrows is dropped.
    pub unsafe fn spawn_unchecked<F, T>(mut self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        let packet: Arc<Packet<'_, T>> = new_packet(None);
        let main: Box<dyn Start + '_> = Box::new(GreenletMain {
            f,
            packet: packet.clone(),
        });
        // SAFETY: the caller promises that everything `f` and `T` borrow
        // outlives the greenlet (this fn's contract).
        let main: Box<dyn Start + 'static> = unsafe { std::mem::transmute(main) };
        // SAFETY: the packet's lifetime parameter only marks borrows, which
        // the same contract covers.
        let packet: Arc<Packet<'static, T>> = unsafe { std::mem::transmute(packet) };
        let task = hub::hub().spawn(self.take_name(), self.stack_size, main)?;
        Ok(JoinHandle {
            packet,
            thread: Thread { task },
        })
    }

    /// Spawns a scoped greenlet; mirrors
    /// [`std::thread::Builder::spawn_scoped`].
    pub fn spawn_scoped<'scope, 'env, F, T>(
        mut self,
        scope: &'scope Scope<'scope, 'env>,
        f: F,
    ) -> io::Result<ScopedJoinHandle<'scope, T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        scope.data.increment();
        let packet = new_packet(Some(scope.data.clone()));
        let main: Box<dyn Start + 'scope> = Box::new(GreenletMain {
            f,
            packet: packet.clone(),
        });
        // SAFETY: `scope` does not return before every greenlet spawned in
        // it has finished and dropped its packet (`ScopeData::running`
        // reaches zero only then, and that wait cannot be interrupted), so
        // nothing borrowed for 'scope is used after 'scope ends.
        let main: Box<dyn Start + 'static> = unsafe { std::mem::transmute(main) };
        match hub::hub().spawn(self.take_name(), self.stack_size, main) {
            Ok(task) => Ok(ScopedJoinHandle {
                packet,
                thread: Thread { task },
            }),
            Err(e) => {
                // The packet was not handed to a greenlet: dropping it (with
                // the unrun closure) gives the scope its count back.
                drop(packet);
                Err(e)
            }
        }
    }

    fn spawn_static<F, T>(mut self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        let packet = new_packet(None);
        let main = Box::new(GreenletMain {
            f,
            packet: packet.clone(),
        });
        let task = hub::hub().spawn(self.take_name(), self.stack_size, main)?;
        Ok(JoinHandle {
            packet,
            thread: Thread { task },
        })
    }
}

fn new_packet<'scope, T>(scope: Option<Arc<ScopeData>>) -> Arc<Packet<'scope, T>> {
    Arc::new(Packet {
        state: Mutex::new(PacketState {
            result: None,
            joiner: None,
            links: Vec::new(),
        }),
        done: AtomicBool::new(false),
        scope,
        _marker: PhantomData,
    })
}

/// Runs `link` callbacks; a panicking one is reported (by the panic hook)
/// and does not stop the others.
fn run_links(links: Vec<Box<dyn FnOnce() + Send>>) {
    for f in links {
        run_link(f);
    }
}

fn run_link(f: impl FnOnce()) {
    let _ = catch_unwind(f);
}

/// The body of a greenlet: run `f`, catching its panic, and hand the result
/// to the packet.
struct GreenletMain<'scope, F, T> {
    f: F,
    packet: Arc<Packet<'scope, T>>,
}

impl<'scope, F, T> Start for GreenletMain<'scope, F, T>
where
    F: FnOnce() -> T + 'scope,
    T: 'scope,
{
    fn run(self: Box<Self>) {
        let GreenletMain { f, packet } = *self;
        let result = catch_unwind(|| {
            // Killed before it started: never run `f`.
            task::check_interrupt();
            f()
        });
        packet.complete(result);
    }

    fn fail(self: Box<Self>, err: io::Error) {
        let msg = format!("failed to spawn thread: {err}");
        eprintln!("green: a greenlet could not start: {msg}");
        self.packet.complete(Err(Box::new(msg)));
    }
}

/// Spawns a greenlet on the current thread's hub (with several hubs, on
/// the next one in turn); mirrors
/// [`std::thread::spawn`].
///
/// # Panics
///
/// As std's, when the greenlet cannot be created (no stack could be
/// mapped): the message names the limit and how to raise it. Use
/// [`Builder::spawn`] to get the error instead.
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new().spawn(f).expect("failed to spawn thread")
}

/// Spawns a greenlet that need not be `Send`: it stays on the current
/// thread's hub, whereas with several hubs ([`workers`]) [`spawn`] may
/// place a greenlet on another.
///
/// [`workers`]: crate::runtime::Builder::workers
pub fn spawn_local<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + 'static,
    T: 'static,
{
    Builder::new()
        .spawn_local(f)
        .expect("failed to spawn thread")
}

/// Spawns a greenlet that starts after `delay` (gevent's `spawn_later`).
/// Killing it before then cancels it.
pub fn spawn_later<F, T>(delay: Duration, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn(move || {
        sleep(delay);
        f()
    })
}

struct ScopeData {
    running: AtomicUsize,
    a_greenlet_panicked: AtomicBool,
    main: Arc<Task>,
}

impl ScopeData {
    fn increment(&self) {
        self.running.fetch_add(1, Ordering::Relaxed);
    }

    fn decrement(&self) {
        if self.running.fetch_sub(1, Ordering::Release) == 1 {
            self.main.unpark();
        }
    }
}

/// A scope to spawn scoped greenlets in; mirrors [`std::thread::Scope`].
pub struct Scope<'scope, 'env: 'scope> {
    data: Arc<ScopeData>,
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("running", &self.data.running.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// An owned permission to join a scoped greenlet; mirrors
/// [`std::thread::ScopedJoinHandle`].
pub struct ScopedJoinHandle<'scope, T> {
    packet: Arc<Packet<'scope, T>>,
    thread: Thread,
}

impl<T> ScopedJoinHandle<'_, T> {
    /// Waits for the greenlet and returns its result (see
    /// [`JoinHandle::join`], including its panic on a self-join).
    pub fn join(self) -> Result<T> {
        check_self_join(&self.thread.task);
        self.packet.join()
    }

    /// Whether the greenlet has finished running its closure.
    pub fn is_finished(&self) -> bool {
        self.packet.done.load(Ordering::Acquire)
    }

    /// The greenlet's handle.
    pub fn thread(&self) -> &Thread {
        &self.thread
    }
}

impl<T> fmt::Debug for ScopedJoinHandle<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedJoinHandle")
            .field("thread", &self.thread)
            .finish_non_exhaustive()
    }
}

impl<'scope> Scope<'scope, '_> {
    /// Spawns a greenlet that may borrow from outside the scope; mirrors
    /// [`std::thread::Scope::spawn`].
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        Builder::new()
            .spawn_scoped(self, f)
            .expect("failed to spawn thread")
    }
}

/// Creates a scope for spawning scoped greenlets; mirrors
/// [`std::thread::scope`]. Every greenlet spawned in it is joined before it
/// returns.
///
/// # Panics
///
/// If `f` panics, or if a greenlet spawned in the scope panicked and was not
/// joined, once all of them finished.
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let scope = Scope {
        data: Arc::new(ScopeData {
            running: AtomicUsize::new(0),
            a_greenlet_panicked: AtomicBool::new(false),
            main: task::current(),
        }),
        scope: PhantomData,
        env: PhantomData,
    };
    let result = catch_unwind(|| f(&scope));
    while scope.data.running.load(Ordering::Acquire) != 0 {
        task::park_uninterruptible();
    }
    match result {
        Err(e) => resume_unwind(e),
        Ok(_) if scope.data.a_greenlet_panicked.load(Ordering::Relaxed) => {
            panic!("a scoped thread panicked")
        }
        Ok(r) => r,
    }
}

/// Reports greenlet panics as std reports thread panics, naming the
/// greenlet; panics elsewhere go to the hook that was installed before.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let hub = hub::try_hub();
            if let Some(hub) = hub {
                // The running waiter starts to unwind (for `panicking`).
                task::begin_unwind(hub, hub.current_task());
            }
            if info.payload().is::<GreenletExit>() {
                return;
            }
            let Some(hub) = hub else {
                return previous(info);
            };
            if hub.in_root() {
                // std's hook state is per OS thread: a greenlet that ran
                // while this hook waited and panicked would abort the
                // process, so a wait in the hook blocks the thread instead.
                let outer = hub.in_hook.replace(true);
                previous(info);
                hub.in_hook.set(outer);
                return;
            }
            let task = hub.current_task();
            let name = task.name.as_deref().unwrap_or("<unnamed>");
            let msg = info.payload_as_str().unwrap_or("Box<dyn Any>");
            let location = info.location().map(|l| l.to_string()).unwrap_or_default();
            let backtrace = std::backtrace::Backtrace::capture();
            let mut out = format!("\nthread '{name}' ({}) panicked at {location}:\n{msg}\n", task.id);
            if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
                out.push_str(&format!("stack backtrace:\n{backtrace}\n"));
            } else {
                static NOTE: AtomicBool = AtomicBool::new(true);
                if NOTE.swap(false, Ordering::Relaxed) {
                    out.push_str(
                        "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
                    );
                }
            }
            eprint!("{out}");
        }));
    });
}

// Crate-private hooks for the toolkit (green::pool's Group/Pool, joinall).
impl<T> JoinHandle<T> {
    /// The greenlet's task (to kill it from a `Group`).
    pub(crate) fn task(&self) -> &Arc<Task> {
        &self.thread.task
    }

    /// Records the greenlet's `index` in `log` when it finishes, unless it
    /// has finished already; returns whether it has. Replaces an earlier
    /// registration (one watcher at a time, as `join`).
    pub(crate) fn watch(&self, log: &Arc<FinishLog>, index: usize) -> bool {
        let mut s = self.packet.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.result.is_some() {
            return true;
        }
        s.joiner = Some(Joiner::Log(log.clone(), index));
        false
    }
}
