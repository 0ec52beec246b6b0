//! Unix signals on fibers: a listener sees signals raised after it, from
//! this process or another, several arrivals coalesce, every listener of a
//! signal gets it, waiting is a cancellation point, dropped listeners
//! leave no descriptor behind, and uncatchable signals are an error.
//!
//! Signals are process-wide and tests run on parallel threads, so each
//! test listens for a signal of its own; the ones that change SIGINT or
//! count descriptors run in a child process.

mod common;

use std::cell::Cell;
use std::io::ErrorKind;
use std::time::Duration;

use common::{fd_count, run_in_child};
use weft::signal::unix::{signal, SignalKind};

fn raise(signum: libc::c_int) {
    // SAFETY: raise only sends a signal to this process.
    assert_eq!(unsafe { libc::raise(signum) }, 0);
}

#[test]
fn arrivals_before_a_recv_coalesce_and_the_next_recv_waits() {
    weft::run(|_env| {
        let mut usr1 = signal(SignalKind::user_defined1()).unwrap();
        for _ in 0..5 {
            raise(libc::SIGUSR1);
        }
        assert_eq!(usr1.recv(), Some(()));
        // All five were taken by that one recv: the next one waits.
        assert!(weft::time::timeout(Duration::from_millis(50), || usr1.recv()).is_err());
        raise(libc::SIGUSR1);
        assert_eq!(usr1.recv(), Some(()));
    });
}

#[test]
fn every_listener_of_a_signal_gets_it() {
    weft::run(|_env| {
        let mut a = signal(SignalKind::user_defined2()).unwrap();
        let mut b = signal(SignalKind::user_defined2()).unwrap();
        let (ra, (rb, ())) = weft::fiber::both(
            || a.recv(),
            || weft::fiber::both(|| b.recv(), || raise(libc::SIGUSR2)),
        );
        assert_eq!((ra, rb), (Some(()), Some(())));
    });
}

#[test]
fn a_signal_sent_by_another_process_wakes_the_waiting_fiber() {
    weft::run(|_env| {
        let mut winch = signal(SignalKind::window_change()).unwrap();
        let pid = std::process::id().to_string();
        let (got, status) = weft::fiber::both(
            || winch.recv(),
            || {
                // The shell's own `kill`: no procps needed.
                weft::process::Command::new("sh")
                    .args(["-c", "kill -WINCH \"$1\"", "sh", &pid])
                    .status()
                    .unwrap()
            },
        );
        assert!(status.success());
        assert_eq!(got, Some(()));
    });
}

#[test]
fn ctrl_c_returns_on_sigint_and_a_cancelled_wait_unwinds() {
    if !run_in_child("ctrl_c_returns_on_sigint_and_a_cancelled_wait_unwinds") {
        return;
    }
    struct Flag<'a>(&'a Cell<bool>);
    impl Drop for Flag<'_> {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }
    weft::run(|_env| {
        let unwound = Cell::new(false);
        let r = weft::time::timeout(Duration::from_millis(20), || {
            let _flag = Flag(&unwound);
            weft::signal::ctrl_c()
        });
        assert!(r.is_err());
        assert!(unwound.get(), "the cancelled wait ran its destructors");
        let (got, ()) = weft::fiber::both(weft::signal::ctrl_c, || raise(libc::SIGINT));
        got.unwrap();
        // SIGINT's default action stays replaced: this does not end us.
        raise(libc::SIGINT);
    });
}

#[test]
fn dropped_listeners_close_their_pipes() {
    if !run_in_child("dropped_listeners_close_their_pipes") {
        return;
    }
    weft::run(|_env| {
        let before = fd_count();
        for _ in 0..50 {
            let mut s = signal(SignalKind::user_defined1()).unwrap();
            raise(libc::SIGUSR1);
            assert_eq!(s.recv(), Some(()));
        }
        assert_eq!(fd_count(), before, "a listener's pipe stayed open");
    });
}

#[test]
fn uncatchable_or_unknown_signals_are_invalid_input() {
    for signum in [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, 0, -1, 10_000] {
        let e = signal(SignalKind::from_raw(signum)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "signal {signum}: {e}");
    }
}

/// Issue 15, defect 13: a migrated binary once ignored a Ctrl-C while its
/// scheduler slept in the kernel. Every SIGINT here arrives while the
/// scheduler is parked (in `io_uring_enter` or `epoll_wait`), from another
/// thread, in the two ways a terminal's or a supervisor's signal can come:
/// process-directed (the kernel picks a thread that does not block it,
/// often the parked scheduler itself, whose wait is interrupted) and
/// handled on a foreign thread (which must wake the parked scheduler
/// across threads). Each wait is bounded: a lost wake-up fails with the
/// iteration's number instead of hanging.
#[test]
fn every_sigint_from_another_thread_wakes_a_parked_scheduler() {
    if !run_in_child("every_sigint_from_another_thread_wakes_a_parked_scheduler") {
        return;
    }
    /// How a sender thread delivers the signal.
    #[derive(Clone, Copy, Debug)]
    enum Delivery {
        /// `kill(getpid())` from a thread that blocks SIGINT itself.
        ToTheProcess,
        /// `raise` on the sender thread: the handler runs there.
        OnTheSenderThread,
    }
    fn sender(delivery: Delivery) -> std::sync::mpsc::Sender<Duration> {
        let (tx, rx) = std::sync::mpsc::channel::<Duration>();
        std::thread::spawn(move || {
            if let Delivery::ToTheProcess = delivery {
                // SAFETY: a zeroed sigset filled by sigemptyset/sigaddset,
                // applied to this thread only.
                unsafe {
                    let mut set: libc::sigset_t = std::mem::zeroed();
                    libc::sigemptyset(&mut set);
                    libc::sigaddset(&mut set, libc::SIGINT);
                    libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
                }
            }
            for delay in rx {
                std::thread::sleep(delay);
                match delivery {
                    // SAFETY: kill sends a signal to this very process.
                    Delivery::ToTheProcess => unsafe {
                        libc::kill(libc::getpid(), libc::SIGINT);
                    },
                    Delivery::OnTheSenderThread => raise(libc::SIGINT),
                }
            }
        });
        tx
    }
    weft::run(|_env| {
        let mut interrupts = signal(SignalKind::interrupt()).unwrap();
        let senders = [
            (Delivery::ToTheProcess, sender(Delivery::ToTheProcess)),
            (
                Delivery::OnTheSenderThread,
                sender(Delivery::OnTheSenderThread),
            ),
        ];
        for i in 0..400u64 {
            let (delivery, tx) = &senders[(i % 2) as usize];
            // 0 to ~1 ms: from "before the scheduler parks" to "long after".
            tx.send(Duration::from_micros((i * 37) % 1_100)).unwrap();
            let got = weft::time::timeout(Duration::from_secs(10), || interrupts.recv());
            assert_eq!(
                got,
                Ok(Some(())),
                "iteration {i} ({delivery:?}): the SIGINT did not wake the waiting fiber"
            );
        }
    });
}
