//! Scoped greenlets: [`scope`], [`Scope`], [`ScopedJoinHandle`].

use super::*;

pub(super) struct ScopeData {
    pub(super) running: AtomicUsize,
    pub(super) a_greenlet_panicked: AtomicBool,
    pub(super) main: Arc<Task>,
}

impl ScopeData {
    pub(super) fn increment(&self) {
        self.running.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn decrement(&self) {
        if self.running.fetch_sub(1, Ordering::Release) == 1 {
            self.main.unpark();
        }
    }
}

/// A scope to spawn scoped greenlets in; mirrors [`std::thread::Scope`].
pub struct Scope<'scope, 'env: 'scope> {
    pub(super) data: Arc<ScopeData>,
    pub(super) scope: PhantomData<&'scope mut &'scope ()>,
    pub(super) env: PhantomData<&'env mut &'env ()>,
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
    pub(super) packet: Arc<Packet<'scope, T>>,
    pub(super) thread: Thread,
}

impl<T> ScopedJoinHandle<'_, T> {
    /// Waits for the greenlet and returns its result (see
    /// [`JoinHandle::join`], including its panic on a self-join).
    pub fn join(self) -> Result<T> {
        self.packet.join(&self.thread)
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
    #[track_caller]
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
            main: wait::current(),
        }),
        scope: PhantomData,
        env: PhantomData,
    };
    let result = catch_unwind(|| f(&scope));
    while scope.data.running.load(Ordering::Acquire) != 0 {
        wait::park_uninterruptible();
    }
    match result {
        Err(e) => resume_unwind(e),
        Ok(_) if scope.data.a_greenlet_panicked.load(Ordering::Relaxed) => {
            panic!("a scoped thread panicked")
        }
        Ok(r) => r,
    }
}
