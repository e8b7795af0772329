//! [`Builder`] and the one inner spawn every spawn path goes through
//! (`spawn`, `spawn_local`, `spawn_later`, scoped and unchecked spawns).

use super::*;

/// Greenlet factory; mirrors [`std::thread::Builder`].
#[derive(Debug, Default)]
pub struct Builder {
    pub(super) name: Option<String>,
    pub(super) stack_size: Option<usize>,
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
    #[track_caller]
    pub fn spawn<F, T>(mut self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let name = self.take_name();
        self.name = name.map(String::from);
        match workers::place() {
            Some(target) => Ok(self.spawn_remote(target, f)),
            None => self.spawn_static(f),
        }
    }

    /// Hands a new greenlet to another hub of the runtime. A failure to get
    /// its stack there is reported by its `join`.
    #[track_caller]
    fn spawn_remote<F, T>(mut self, target: Arc<HubHandle>, f: F) -> JoinHandle<T>
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
        let task = Arc::new(Task::new(
            target.clone(),
            PENDING,
            name,
            Some(Location::caller()),
        ));
        target.push_spawn(Spawn {
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
    #[track_caller]
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
    #[track_caller]
    pub unsafe fn spawn_unchecked<F, T>(mut self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        // SAFETY: the caller promises that everything `f` and `T` borrow
        // outlives the greenlet (this fn's contract).
        let (packet, task) = unsafe { self.spawn_here(None, f)? };
        // SAFETY: the packet's lifetime parameter only marks borrows, which
        // the same contract covers.
        let packet: Arc<Packet<'static, T>> = unsafe { std::mem::transmute(packet) };
        Ok(JoinHandle {
            packet,
            thread: Thread { task },
        })
    }

    /// Spawns a scoped greenlet; mirrors
    /// [`std::thread::Builder::spawn_scoped`].
    #[track_caller]
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
        // SAFETY: `scope` does not return before every greenlet spawned in
        // it has finished and dropped its packet (`ScopeData::running`
        // reaches zero only then, and that wait cannot be interrupted), so
        // nothing borrowed for 'scope is used after 'scope ends. If the
        // spawn fails, the packet (with the unrun closure) is dropped here
        // and gives the scope its count back.
        let (packet, task) = unsafe { self.spawn_here(Some(scope.data.clone()), f)? };
        Ok(ScopedJoinHandle {
            packet,
            thread: Thread { task },
        })
    }

    #[track_caller]
    fn spawn_static<F, T>(mut self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + 'static,
        T: 'static,
    {
        // SAFETY: `f` and `T` are 'static: they borrow nothing.
        let (packet, task) = unsafe { self.spawn_here(None, f)? };
        Ok(JoinHandle {
            packet,
            thread: Thread { task },
        })
    }

    /// The one spawn on this thread's hub that every path but
    /// [`spawn_remote`](Self::spawn_remote) goes through: a packet (in
    /// `scope`, if any), the greenlet's body, and the hub's spawn.
    ///
    /// # Safety
    ///
    /// Everything `f` and `T` borrow must outlive the greenlet: `'scope`
    /// is erased to `'static` for the hub, which knows no lifetimes.
    #[track_caller]
    unsafe fn spawn_here<'scope, F, T>(
        &mut self,
        scope: Option<Arc<ScopeData>>,
        f: F,
    ) -> io::Result<(Arc<Packet<'scope, T>>, Arc<Task>)>
    where
        F: FnOnce() -> T + 'scope,
        T: 'scope,
    {
        crate::runtime::start_from_env();
        let packet = new_packet(scope);
        let main: Box<dyn Start + 'scope> = Box::new(GreenletMain {
            f,
            packet: packet.clone(),
        });
        // SAFETY: this fn's contract: what `f` and `T` borrow outlives the
        // greenlet.
        let main: Box<dyn Start + 'static> = unsafe { std::mem::transmute(main) };
        let task =
            context::hub().spawn(self.take_name(), self.stack_size, main, Location::caller())?;
        Ok((packet, task))
    }
}

pub(super) fn new_packet<'scope, T>(scope: Option<Arc<ScopeData>>) -> Arc<Packet<'scope, T>> {
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
pub(super) fn run_links(links: Vec<Box<dyn FnOnce() + Send>>) {
    for f in links {
        run_link(f);
    }
}

pub(super) fn run_link(f: impl FnOnce()) {
    let _ = catch_unwind(f);
}

/// The body of a greenlet: run `f`, catching its panic, and hand the result
/// to the packet.
pub(super) struct GreenletMain<'scope, F, T> {
    pub(super) f: F,
    pub(super) packet: Arc<Packet<'scope, T>>,
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
            wait::check_interrupt();
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
#[track_caller]
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
#[track_caller]
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
#[track_caller]
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
