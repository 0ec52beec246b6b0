//! Observability: [`dump`] of every fiber, and the SIGQUIT trigger.
//!
//! Every blocking call records its caller's location (`#[track_caller]`)
//! and the scheduler time it blocked at, so a dump says where each fiber
//! waits and for how long, like a goroutine dump.

use std::io;
use std::sync::{Arc, Mutex, Once, Weak};
use std::time::Duration;

use crate::backend_api::scheduler::{self, Remote, RemoteWork, Scheduler};

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
/// use std::time::Duration;
/// let s = weft::Stall { fiber: 7, blocked_for: Duration::from_millis(180), ongoing: false };
/// assert!(s.to_string().contains("fiber #7 blocked its thread for 180ms"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stall {
    /// The id of the fiber that ran (see `weft::fiber::id`).
    pub fiber: u64,
    /// How long it ran without suspending, measured by the watchdog's
    /// samples (to within an eighth of the threshold): the whole stall
    /// once it is over, or so far while `ongoing`.
    pub blocked_for: Duration,
    /// The fiber still runs: a stall that lasts (ten thresholds, and at
    /// least a second) is reported while it goes on, and once more when
    /// it ends.
    pub ongoing: bool,
}

impl std::fmt::Display for Stall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (verb, tail) = if self.ongoing {
            ("has blocked", " so far, and still does")
        } else {
            ("blocked", "")
        };
        write!(
            f,
            "fiber #{} {verb} its thread for {:?}{tail} without suspending, and every fiber \
             on it with it (std::thread::sleep, a blocking lock or syscall, block_on, \
             blocking_recv, or a long computation? use weft::blocking or yield_now)",
            self.fiber, self.blocked_for
        )
    }
}

/// What the watchdog calls for each stall.
pub(crate) type StallHook = Arc<dyn Fn(&Stall) + Send + Sync>;

/// The default report: a `tracing` warning where a global subscriber is
/// installed, else a line on stderr (so a stall is never silent).
pub(crate) fn report_stall(stall: &Stall) {
    if tracing::dispatcher::has_been_set() {
        tracing::warn!("weft watchdog: {stall}");
    } else {
        eprintln!("weft watchdog: {stall}");
    }
}

/// Stops the watchdog thread when dropped, after its last report (a
/// stall that ended as the runtime did is still reported).
pub(crate) struct Watchdog {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// One resume of one fiber, as the watchdog follows it.
struct Watched {
    /// `(resumes, running fiber)` when sampled; the fiber is 0 while the
    /// scheduler runs on its own stack.
    resume: (u64, u64),
    /// When this resume was first seen.
    since: std::time::Instant,
    told_ongoing: bool,
}

/// Starts a thread that samples `remote` every eighth of `threshold`, and
/// reports a resume of a fiber that ran for `threshold` or longer: when it
/// ends, with its length (to within a sample), and once while it goes on
/// if it lasts ten thresholds (at least a second).
pub(crate) fn start_watchdog(
    remote: Arc<Remote>,
    threshold: Duration,
    hook: StallHook,
) -> io::Result<Watchdog> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let period = (threshold / 8).max(Duration::from_millis(1));
    let long = (threshold * 10).max(Duration::from_secs(1));
    // The scheduler attached first (when monitoring): so does its watchdog.
    let console = crate::console::enabled();
    let thread = std::thread::Builder::new()
        .name("weft-watchdog".into())
        .spawn(move || {
            let scheduler_id = remote.id;
            let console = crate::console::watchdog_attach(scheduler_id, console);
            let hook = move |s: &Stall| {
                crate::console::stall(s.fiber, scheduler_id, s.blocked_for, s.ongoing);
                hook(s)
            };
            let sample = || {
                (
                    remote.resumes.load(Ordering::Relaxed),
                    remote.running.load(Ordering::Relaxed),
                )
            };
            let mut w = Watched {
                resume: sample(),
                since: Instant::now(),
                told_ongoing: false,
            };
            loop {
                let last_round = stopped.load(Ordering::Relaxed);
                if !last_round {
                    std::thread::park_timeout(period);
                }
                let now = sample();
                let at = Instant::now();
                let ran = at - w.since;
                let (_, fiber) = w.resume;
                if now != w.resume || last_round {
                    // That resume has ended (between the last sample and
                    // this one; when stopping, the runtime has returned).
                    if fiber != 0 && ran >= threshold {
                        hook(&Stall {
                            fiber,
                            blocked_for: ran,
                            ongoing: false,
                        });
                    }
                    if last_round {
                        if console {
                            crate::console::thread_detach();
                        }
                        return;
                    }
                    w = Watched {
                        resume: now,
                        since: at,
                        told_ongoing: false,
                    };
                } else if fiber != 0 && !w.told_ongoing && ran >= long {
                    w.told_ongoing = true;
                    hook(&Stall {
                        fiber,
                        blocked_for: ran,
                        ongoing: true,
                    });
                }
            }
        })?;
    Ok(Watchdog {
        stop,
        thread: Some(thread),
    })
}
