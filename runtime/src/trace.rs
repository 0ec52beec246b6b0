//! Observability: [`dump`] of every fiber, and the SIGQUIT trigger.
//!
//! Every blocking call records its caller's location (`#[track_caller]`)
//! and the scheduler time it blocked at, so a dump says where each fiber
//! waits and for how long, like a goroutine dump.

use std::io;
use std::sync::{Arc, Mutex, Once, Weak};
use std::time::Duration;

use crate::fiber::scheduler::{self, Remote, RemoteWork, Scheduler};

static SCHEDULERS: Mutex<Vec<Weak<Remote>>> = Mutex::new(Vec::new());

/// Keeps a scheduler listed for SIGQUIT dumps while it runs.
pub(crate) struct Registered {
    remote: Arc<Remote>,
}

pub(crate) fn register(s: &Scheduler) -> Registered {
    let mut all = SCHEDULERS.lock().unwrap_or_else(|p| p.into_inner());
    all.retain(|w| w.strong_count() > 0);
    all.push(Arc::downgrade(&s.remote));
    Registered {
        remote: s.remote.clone(),
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut all = SCHEDULERS.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|w| w.upgrade().is_some_and(|r| !Arc::ptr_eq(&r, &self.remote)));
    }
}

/// A listing of every fiber of this thread's runtime: id, name, state,
/// where it blocked (file:line:col) and for how long.
///
/// ```
/// weft::run(|_env| {
///     let text = weft::dump();
///     assert!(text.contains("\"main\": running"));
/// });
/// ```
pub fn dump() -> String {
    scheduler::with(|s| s.dump()).unwrap_or_else(|| "weft: no runtime on this thread\n".to_string())
}

static SIGQUIT_INSTALLED: Once = Once::new();

/// Installs a SIGQUIT handler that makes a background thread print the dump
/// of every running scheduler to stderr. It goes through
/// `signal-hook-registry`, like [`crate::signal`], so it and a user's
/// `signal(SignalKind::quit())` listener both see the signal.
pub(crate) fn install_sigquit_dump() -> io::Result<()> {
    let mut result = Ok(());
    SIGQUIT_INSTALLED.call_once(|| result = install());
    result
}

fn install() -> io::Result<()> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fds into the array we own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let [read_fd, write_fd] = fds;
    std::thread::Builder::new()
        .name("weft-sigquit".into())
        .spawn(move || dump_thread(read_fd))?;
    let on_sigquit = move || {
        // SAFETY: write(2) is async-signal-safe; the write end is never
        // closed (the handler stays for the life of the process).
        unsafe { libc::write(write_fd, [1u8].as_ptr().cast(), 1) };
    };
    // SAFETY: the handler only calls write(2), which is async-signal-safe.
    unsafe { signal_hook_registry::register(libc::SIGQUIT, on_sigquit) }?;
    Ok(())
}

fn dump_thread(read_fd: libc::c_int) {
    let mut byte = 0u8;
    loop {
        // SAFETY: reading one byte into a local buffer.
        let n = unsafe { libc::read(read_fd, (&mut byte as *mut u8).cast(), 1) };
        if n <= 0 {
            if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        let remotes: Vec<Arc<Remote>> = SCHEDULERS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        let (tx, rx) = std::sync::mpsc::channel();
        for r in &remotes {
            let tx = tx.clone();
            r.push(RemoteWork::Run(Box::new(move || {
                let _ = tx.send(crate::dump());
            })));
        }
        drop(tx);
        let mut text = String::from("=== weft fiber dump (SIGQUIT) ===\n");
        for _ in &remotes {
            match rx.recv_timeout(Duration::from_secs(1)) {
                Ok(d) => text.push_str(&d),
                Err(_) => {
                    text.push_str("(a scheduler did not answer within 1s: a fiber may be hogging its thread)\n");
                    break;
                }
            }
        }
        eprint!("{text}");
    }
}

/// A fiber that kept its scheduler thread busy without suspending, as
/// reported by the watchdog ([`crate::Builder::watchdog`]).
///
/// ```
/// let s = weft::Stall { fiber: 7, at_least: std::time::Duration::from_millis(100) };
/// assert!(s.to_string().contains("fiber #7"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stall {
    /// The id of the fiber that is running (see `weft::fiber::id`).
    pub fiber: u64,
    /// It has been running at least this long without suspending.
    pub at_least: Duration,
}

impl std::fmt::Display for Stall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "fiber #{} has run for at least {:?} without suspending: it blocks its thread \
             and every fiber on it (std::thread::sleep, a blocking lock or syscall, block_on, \
             blocking_recv, or a long computation? use weft::blocking or yield_now)",
            self.fiber, self.at_least
        )
    }
}

/// What the watchdog calls for each stall.
pub(crate) type StallHook = Arc<dyn Fn(&Stall) + Send + Sync>;

/// Stops a watchdog thread when dropped.
pub(crate) struct Watchdog {
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Starts a thread that samples `remote` every `threshold` and reports a
/// fiber that was running at two consecutive samples of the same resume.
pub(crate) fn start_watchdog(
    remote: Arc<Remote>,
    threshold: Duration,
    hook: StallHook,
) -> io::Result<Watchdog> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    std::thread::Builder::new()
        .name("weft-watchdog".into())
        .spawn(move || {
            let mut last = (u64::MAX, 0u64);
            let mut reported = u64::MAX;
            while !stopped.load(Ordering::Relaxed) {
                std::thread::sleep(threshold);
                let now = (
                    remote.resumes.load(Ordering::Relaxed),
                    remote.running.load(Ordering::Relaxed),
                );
                if now.1 != 0 && now == last && reported != now.0 {
                    reported = now.0;
                    hook(&Stall {
                        fiber: now.1,
                        at_least: threshold,
                    });
                }
                last = now;
            }
        })?;
    Ok(Watchdog { stop })
}
