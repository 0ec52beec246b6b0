//! `weft::process`: spawning, exit codes, pipes (to the parent and between
//! children), kill, cancellation of fibers blocked in `wait` and in pipe
//! reads, many children on one thread, and background reaping. Every test
//! runs on the backend `WEFT_BACKEND` selects; run the file with both.

mod common;

use std::cell::{Cell, RefCell};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use common::{mock_run, run_in_child};
use weft::process::{Command, SpawnError, Stdio};
use weft::{time, Switch};

struct Flag<'a>(&'a Cell<bool>);

impl Drop for Flag<'_> {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// Whether process `pid` exists (`kill(pid, 0)`; a zombie still exists).
fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

/// Waits (suspending the fiber) until `pid` is gone: reaped and removed.
/// Fails after 30 s, which means it was never reaped.
fn assert_gone_eventually(pid: u32) {
    for _ in 0..3000 {
        if !alive(pid) {
            return;
        }
        time::sleep(Duration::from_millis(10));
    }
    panic!("process {pid} still exists (a zombie nobody reaped?)");
}

/// This process's open descriptors, pidfds apart from the rest.
#[derive(Debug, PartialEq, Eq)]
struct Descriptors {
    pidfds: usize,
    others: usize,
}

fn descriptors() -> Descriptors {
    let dir = std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd");
    let mut counted = Descriptors {
        pidfds: 0,
        others: 0,
    };
    let own = std::path::PathBuf::from(format!("/proc/{}/fd", std::process::id()));
    for entry in dir.flatten() {
        match std::fs::read_link(entry.path()) {
            Ok(target) if target.as_os_str() == "anon_inode:[pidfd]" => counted.pidfds += 1,
            // The listing's own directory handle.
            Ok(target) if target == own => {}
            // Anything else, even one closed while it was listed.
            _ => counted.others += 1,
        }
    }
    counted
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'))
        })
        .unwrap_or(false)
}

#[test]
fn exit_codes_and_signals() {
    weft::run(|_env| {
        for code in [0, 1, 2, 42, 255] {
            let status = Command::new("sh")
                .args(["-c", &format!("exit {code}")])
                .status()
                .unwrap();
            assert_eq!(status.code(), Some(code));
            assert_eq!(status.success(), code == 0);
        }
        let mut child = Command::new("sh")
            .args(["-c", "kill -TERM $$"])
            .spawn()
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        // Waiting again returns the same status: the pid is not reaped twice.
        assert_eq!(child.wait().unwrap(), status);
        assert_eq!(child.try_wait().unwrap(), Some(status));
        assert_eq!(child.id(), None);
    });
}

#[test]
fn a_missing_program_is_not_found_and_named() {
    weft::run(|_env| {
        let err = Command::new("weft-test-no-such-program")
            .arg("x")
            .spawn()
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        assert!(
            err.to_string().contains("weft-test-no-such-program"),
            "{err}"
        );
        let detail = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<SpawnError>())
            .unwrap();
        assert_eq!(detail.os_error().raw_os_error(), Some(libc::ENOENT));
        // Not executable: PermissionDenied, also named.
        let err = Command::new("/etc/passwd").output().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("/etc/passwd"), "{err}");
    });
}

#[test]
fn output_collects_a_mib_of_stdout_and_of_stderr_without_deadlock() {
    weft::run(|_env| {
        // The child fills stdout and stderr alternately, 64 KiB at a time:
        // reading one pipe to its end before the other would deadlock.
        let script = "i=0; while [ $i -lt 16 ]; do \
                      head -c 65536 /dev/zero | tr '\\0' o; \
                      head -c 65536 /dev/zero | tr '\\0' e >&2; \
                      i=$((i+1)); done";
        let out = Command::new("sh").args(["-c", script]).output().unwrap();
        assert!(out.status.success(), "{:?}", out.status);
        assert_eq!(out.stdout.len(), 1 << 20);
        assert_eq!(out.stderr.len(), 1 << 20);
        assert!(out.stdout.iter().all(|&b| b == b'o'));
        assert!(out.stderr.iter().all(|&b| b == b'e'));
    });
}

#[test]
fn write_stdin_and_read_stdout_through_cat_concurrently() {
    weft::run(|_env| {
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        // 2 MiB is far more than both pipes hold: the writer must wait for
        // the reader, and neither may block the thread.
        let data: Vec<u8> = (0..2u32 << 20).map(|i| (i % 251) as u8).collect();
        let echoed = Switch::run(|sw| {
            let data = &data;
            sw.fork(move || {
                stdin.write_all(data).unwrap();
                // Dropping stdin closes the pipe: cat sees end-of-file.
            });
            let mut v = Vec::new();
            stdout.read_to_end(&mut v).unwrap();
            Ok(v)
        })
        .unwrap();
        assert!(echoed == data, "cat echoed {} bytes", echoed.len());
        assert!(child.wait().unwrap().success());
    });
}

#[test]
fn line_protocol_with_bufreader_and_bufwriter() {
    weft::run(|_env| {
        let mut child = Command::new("sh")
            .args(["-c", "while read x; do echo \"got $x\"; done"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = std::io::BufWriter::new(child.stdin.take().unwrap());
        let mut output = BufReader::new(child.stdout.take().unwrap());
        for word in ["one", "two", "three"] {
            writeln!(input, "{word}").unwrap();
            input.flush().unwrap();
            let mut line = String::new();
            output.read_line(&mut line).unwrap();
            assert_eq!(line, format!("got {word}\n"));
        }
        drop(input);
        assert!(child.wait().unwrap().success());
    });
}

#[test]
fn one_childs_stdout_feeds_anothers_stdin() {
    weft::run(|_env| {
        let mut seq = Command::new("seq")
            .args(["1", "20000"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let pipe: Stdio = seq.stdout.take().unwrap().try_into().unwrap();
        let out = Command::new("wc").arg("-l").stdin(pipe).output().unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "20000");
        assert!(seq.wait().unwrap().success());

        // The same, with a fiber in the middle copying between two pipes.
        let mut producer = Command::new("seq")
            .args(["1", "5000"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut consumer = Command::new("tail")
            .arg("-n1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut from = producer.stdout.take().unwrap();
        let mut to = consumer.stdin.take().unwrap();
        std::io::copy(&mut from, &mut to).unwrap();
        drop(to);
        let out = consumer.wait_with_output().unwrap();
        assert_eq!(out.stdout, b"5000\n");
        assert!(producer.wait().unwrap().success());
    });
}

#[test]
fn kill_sends_sigkill_and_reaps() {
    weft::run(|_env| {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id().unwrap();
        assert!(child.try_wait().unwrap().is_none());
        child.kill().unwrap();
        assert!(!alive(pid), "killed child {pid} was not reaped");
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
        // Killing an exited child is not an error.
        child.kill().unwrap();
        child.start_kill().unwrap();
    });
}

#[test]
fn cancelling_a_fiber_in_wait_kills_and_reaps_the_child_before_unwinding() {
    mock_run(|_env| {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id().unwrap();
        let unwound = Cell::new(false);
        let r = time::timeout(Duration::from_secs(60), || {
            let _flag = Flag(&unwound);
            child.wait()
        });
        assert!(r.is_err());
        assert!(unwound.get());
        // Already reaped when the timeout returned: no such process.
        assert!(!alive(pid), "child {pid} survived the cancellation");
        assert_eq!(child.id(), None);
        assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    });
}

#[test]
fn status_and_output_are_cancelled_the_same_way() {
    weft::run(|_env| {
        for use_output in [true, false] {
            let pid_file =
                std::env::temp_dir().join(format!("weft-proc-{}-{use_output}", std::process::id()));
            let _ = std::fs::remove_file(&pid_file);
            let script = format!(
                "echo $$ > {0}.tmp; mv {0}.tmp {0}; exec sleep 30",
                pid_file.display()
            );
            // `first` cancels the command's fiber once the child is known
            // to be running (it wrote its pid).
            let pid = weft::fiber::first(
                || {
                    let mut cmd = Command::new("sh");
                    cmd.args(["-c", &script]);
                    if use_output {
                        let _ = cmd.output();
                    } else {
                        let _ = cmd.status();
                    }
                    None
                },
                || loop {
                    if let Ok(s) = std::fs::read_to_string(&pid_file) {
                        return Some(s.trim().parse::<u32>().unwrap());
                    }
                    time::sleep(Duration::from_millis(5));
                },
            )
            .expect("the command cannot finish by itself");
            assert!(!alive(pid), "the child {pid} survived the cancellation");
            let _ = std::fs::remove_file(&pid_file);
        }
    });
}

#[test]
fn kill_on_cancel_false_leaves_the_child_running() {
    mock_run(|_env| {
        let mut child = Command::new("sleep")
            .arg("30")
            .kill_on_cancel(false)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        let r = time::timeout(Duration::from_secs(60), || child.wait());
        assert!(r.is_err());
        assert!(alive(pid));
        assert!(child.try_wait().unwrap().is_none(), "it is still running");
        child.kill().unwrap();
        assert!(!alive(pid));
    });
}

#[test]
fn cancelling_a_fiber_reading_a_childs_stdout_unwinds_it() {
    mock_run(|_env| {
        let mut child = Command::new("sleep")
            .arg("30")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let unwound = Cell::new(false);
        let r = time::timeout(Duration::from_secs(60), || {
            let _flag = Flag(&unwound);
            stdout.read(&mut [0u8; 64])
        });
        assert!(r.is_err() && unwound.get());
        // The pipe still works after the cancelled read.
        drop(stdout);
        child.kill().unwrap();
    });
}

#[test]
fn cancelling_a_fiber_writing_a_childs_stdin_unwinds_it() {
    mock_run(|_env| {
        let mut child = Command::new("sleep")
            .arg("30")
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let unwound = Cell::new(false);
        // sleep never reads: the pipe fills and the writer waits.
        let r = time::timeout(Duration::from_secs(60), || {
            let _flag = Flag(&unwound);
            stdin.write_all(&vec![0u8; 1 << 20])
        });
        assert!(r.is_err() && unwound.get());
        child.kill().unwrap();
        // The child is gone, so the reader end is closed: EPIPE, no SIGPIPE.
        let err = stdin.write_all(b"x").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    });
}

/// Pipes and pidfds are closed once their children are done (in a child
/// process, so the descriptor count is exact).
#[test]
fn no_descriptor_is_left_open() {
    if !run_in_child("no_descriptor_is_left_open") {
        return;
    }
    weft::run(|_env| {
        // Warm up (the blocking pool, the reaper's eventfd) before counting.
        let warm = Command::new("sleep").arg("0.05").spawn().unwrap();
        let warm_pid = warm.id().unwrap();
        drop(warm);
        assert_gone_eventually(warm_pid);
        // The reaper closes an orphan's pidfd just after reaping it, so the
        // warm-up child's pidfd may still be open here: pidfds are counted
        // apart, and must all be gone at the end.
        let before = descriptors();
        Switch::run(|sw| {
            for i in 0..20 {
                sw.fork(move || {
                    let mut c = Command::new("cat")
                        .stdin(Stdio::piped())
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped())
                        .spawn()
                        .unwrap();
                    c.stdin.take().unwrap().write_all(b"data").unwrap();
                    if i % 2 == 0 {
                        let out = c.wait_with_output().unwrap();
                        assert_eq!(out.stdout, b"data");
                    } else {
                        let pid = c.id().unwrap();
                        drop(c); // to the background reaper (its pipes close now)
                        assert_gone_eventually(pid);
                    }
                });
            }
            Ok(())
        })
        .unwrap();
        // Give the reaper thread a moment before calling a pidfd a leak.
        let settled = Descriptors {
            pidfds: 0,
            others: before.others,
        };
        for _ in 0..3000 {
            if descriptors() == settled {
                break;
            }
            time::sleep(Duration::from_millis(10));
        }
        assert_eq!(descriptors(), settled, "descriptors leaked");
    });
}

#[test]
fn a_hundred_children_waited_by_fibers_on_one_thread() {
    weft::run(|_env| {
        let codes = RefCell::new(vec![None; 100]);
        Switch::run(|sw| {
            for i in 0..100usize {
                let codes = &codes;
                sw.fork(move || {
                    let code = i % 7;
                    let mut child = Command::new("sh")
                        .args(["-c", &format!("sleep 0.0{}; exit {code}", i % 5)])
                        .spawn()
                        .unwrap();
                    let status = child.wait().unwrap();
                    codes.borrow_mut()[i] = status.code();
                });
            }
            Ok(())
        })
        .unwrap();
        let codes = codes.into_inner();
        for (i, c) in codes.iter().enumerate() {
            assert_eq!(*c, Some((i % 7) as i32), "child {i}");
        }
    });
}

#[test]
fn waiting_for_a_child_does_not_block_the_thread() {
    weft::run(|_env| {
        let log = RefCell::new(Vec::new());
        let exited = Cell::new(false);
        Switch::run(|sw| {
            sw.fork(|| {
                let mut child = Command::new("sleep").arg("1").spawn().unwrap();
                child.wait().unwrap();
                exited.set(true);
                log.borrow_mut().push("exited");
            });
            // The child fiber ran first and is now blocked in wait. If that
            // blocked the thread, nothing below would run before it returned.
            sw.fork(|| {
                while !exited.get() {
                    log.borrow_mut().push("tick");
                    time::sleep(Duration::from_millis(20));
                }
            });
            Ok(())
        })
        .unwrap();
        let log = log.into_inner();
        assert_eq!(log.first(), Some(&"tick"), "{log:?}");
        assert_eq!(log.last(), Some(&"exited"), "{log:?}");
        assert!(log.iter().filter(|e| **e == "tick").count() >= 2, "{log:?}");
    });
}

#[test]
fn dropped_children_are_reaped_in_the_background() {
    weft::run(|_env| {
        // Exits by itself after the handle is gone.
        let child = Command::new("sleep").arg("0.2").spawn().unwrap();
        let a = child.id().unwrap();
        drop(child);
        // Killed on drop.
        let child = Command::new("sleep")
            .arg("30")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let b = child.id().unwrap();
        drop(child);
        // Already exited (a zombie) when dropped: the drop itself reaps it.
        let child = Command::new("true").spawn().unwrap();
        let c = child.id().unwrap();
        while !is_zombie(c) {
            time::sleep(Duration::from_millis(5));
        }
        drop(child);
        assert!(!alive(c), "the drop did not reap the exited child");
        for pid in [a, b] {
            assert_gone_eventually(pid);
        }
    });
}

#[test]
fn env_and_current_dir_reach_the_child() {
    weft::run(|_env| {
        let out = Command::new("sh")
            .args(["-c", "echo \"$A-$B-[$C]\"; pwd"])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .envs([("A", "1"), ("B", "2")])
            .env("C", "3")
            .env_remove("C")
            .current_dir("/")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "1-2-[]\n/\n");
    });
}

/// The same behaviour with the blocking-pool fallback for kernels without
/// pidfd (forced with `WEFT_PROCESS_WAIT=thread`, in a child process so the
/// setting does not leak into the other tests).
#[test]
fn the_thread_fallback_waits_and_cancels_the_same_way() {
    if !run_in_child("the_thread_fallback_waits_and_cancels_the_same_way") {
        return;
    }
    // SAFETY: this child process runs only this test, on one thread, and
    // nothing has read the environment concurrently yet.
    std::env::set_var("WEFT_PROCESS_WAIT", "thread");
    weft::run(|_env| {
        let s = Command::new("sh").args(["-c", "exit 5"]).status().unwrap();
        assert_eq!(s.code(), Some(5));
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id().unwrap();
        let r = time::timeout(Duration::from_millis(50), || child.wait());
        assert!(r.is_err());
        assert!(!alive(pid));
        // Ordering: the waiting fiber does not block the thread.
        let ticks = Cell::new(0);
        let exited = Cell::new(false);
        Switch::run(|sw| {
            sw.fork(|| {
                Command::new("sleep").arg("0.3").status().unwrap();
                assert!(ticks.get() >= 1);
                exited.set(true);
            });
            sw.fork(|| {
                while !exited.get() {
                    ticks.set(ticks.get() + 1);
                    time::sleep(Duration::from_millis(20));
                }
            });
            Ok(())
        })
        .unwrap();
        let dropped = Command::new("sleep").arg("0.1").spawn().unwrap();
        let pid = dropped.id().unwrap();
        drop(dropped);
        assert_gone_eventually(pid);
    });
}
