//! The io_uring backend: cancellation of in-flight operations under load
//! (the kernel must never write into memory that was freed), and the
//! fallback to posix when io_uring is forbidden.
//!
//! Memory-safety run (documented in ARCHITECTURE.md; covers the socket
//! and the file stress tests below):
//! `cargo test -p weft --test uring --no-run` then
//! `WEFT_BACKEND=uring valgrind --error-exitcode=1 target/debug/deps/uring-<hash> --test-threads=1`

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::time::Duration;

use weft::net::{TcpListener, TcpStream};
use weft::{BackendKind, Runtime, Switch};

fn uring_runtime() -> Option<Runtime> {
    match Runtime::builder().backend(BackendKind::Uring).build() {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("SKIPPED LOUDLY: io_uring cannot start here: {e}");
            None
        }
    }
}

/// Reads and writes on stack buffers, cancelled at random points while
/// the kernel may hold the buffers. Each cancelled fiber's stack is reused
/// by the next fiber, so a late kernel write would corrupt live data: the
/// check below (and valgrind) would see it.
#[test]
fn cancelled_reads_and_writes_never_touch_freed_memory() {
    let Some(rt) = uring_runtime() else { return };
    rt.run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).unwrap();
        let (server, _) = listener.accept().unwrap();
        client.set_buffer_sizes(Some(4096), Some(4096)).unwrap();
        server.set_buffer_sizes(Some(4096), Some(4096)).unwrap();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let cancels_before = weft::__private::uring_cancels_submitted();
        for i in 0..3000u64 {
            let wait = Duration::from_micros(next() % 200);
            // A third of the time data races the timeout; otherwise none
            // comes and the read is surely in flight when it is cancelled.
            let send_now = next() % 3 == 0;
            Switch::run(|sw| {
                if send_now {
                    sw.fork(|| {
                        let _ = (&server).write(&[i as u8; 64]);
                    });
                }
                // A read into a stack buffer, cancelled by the timeout.
                let _ = weft::time::timeout(wait, || {
                    let mut buf = [0xAAu8; 512];
                    let n = (&client).read(&mut buf).unwrap();
                    // What arrived is what was sent; the rest is untouched.
                    assert!(buf[n..].iter().all(|b| *b == 0xAA));
                    n
                });
                // A heap buffer written into a full socket, cancelled.
                let _ = weft::time::timeout(wait, || {
                    let big = vec![7u8; 256 * 1024];
                    (&client).write(&big).unwrap()
                });
                Ok(())
            })
            .unwrap();
            // Drain what the writes left so later iterations can block again.
            let mut sink = [0u8; 65536];
            while let Ok(Ok(n)) =
                weft::time::timeout(Duration::from_micros(50), || (&server).read(&mut sink))
            {
                if n == 0 {
                    break;
                }
            }
        }
        // At least the reads that no data could satisfy went through the
        // cancel-and-wait path (every iteration without a sender).
        let cancels = weft::__private::uring_cancels_submitted() - cancels_before;
        assert!(cancels >= 1000, "only {cancels} in-flight cancellations");
    });
}

/// File reads and writes on stack buffers, cancelled at random points:
/// regular-file reads at random offsets by several fibers, of data
/// dropped from the page cache before every round (so they are in flight
/// in io_uring's workers when cancelled), and positional writes to
/// another file. (FIFOs do not use io_uring; see `ops/fs.rs`.) Every
/// buffer lives in a fiber's stack frame, and is freed the moment the
/// fiber unwinds; a late kernel write would corrupt the next fiber's
/// stack (the content checks catch it) or be flagged by valgrind.
#[test]
fn cancelled_file_reads_and_writes_never_touch_freed_memory() {
    let Some(rt) = uring_runtime() else { return };
    let dir = std::env::temp_dir().join(format!("weft-uring-file-stress-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data_path = dir.join("data");
    let pattern = |off: u64| (off % 251) as u8;
    let data: Vec<u8> = (0..(1u64 << 20)).map(pattern).collect();
    std::fs::write(&data_path, &data).unwrap();
    // Clean pages only can be dropped from the cache.
    std::fs::File::open(&data_path).unwrap().sync_all().unwrap();
    let scratch_path = dir.join("scratch");
    std::fs::write(&scratch_path, &data).unwrap();
    rt.run(|_env| {
        use weft::fs::{File, OpenOptions};
        // Everything in here is native io_uring (no pool thread), see below.
        let file = File::open(&data_path).unwrap();
        let scratch = OpenOptions::new().write(true).open(&scratch_path).unwrap();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let cancels_before = weft::__private::uring_cancels_submitted();
        for i in 0..2000u64 {
            let wait = Duration::from_micros(next() % 100);
            let offsets: Vec<u64> = (0..4).map(|_| next() % ((1 << 20) - 4096)).collect();
            let (file, scratch) = (&file, &scratch);
            // SAFETY: advice on an open descriptor; no memory is passed.
            let rc =
                unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
            assert_eq!(rc, 0);
            let _ = weft::time::timeout(wait, || {
                Switch::run(|sw| {
                    for &off in &offsets {
                        sw.fork(move || loop {
                            let mut buf = [0xAAu8; 4096];
                            let n = file.read_at(&mut buf, off).unwrap();
                            if n == 0 {
                                break; // never: the offsets are inside the file
                            }
                            for (k, b) in buf[..n].iter().enumerate() {
                                assert_eq!(*b, pattern(off + k as u64), "read at {off}+{k}");
                            }
                            assert!(buf[n..].iter().all(|b| *b == 0xAA));
                        });
                    }
                    sw.fork(move || {
                        // Rewrites bytes with the values they already hold.
                        let off = (i * 4096) % (1 << 20);
                        let buf: [u8; 4096] = std::array::from_fn(|k| pattern(off + k as u64));
                        // Until cancelled (the timeout ends the loop).
                        while scratch.write_all_at(&buf, off).map(|()| true).unwrap() {}
                    });
                    Ok(())
                })
            });
        }
        let cancels = weft::__private::uring_cancels_submitted() - cancels_before;
        assert!(cancels >= 500, "only {cancels} in-flight cancellations");
    });
    // The files are intact. (Checked with std after the runtime: under
    // valgrind, which holds its own lock across `io_uring_enter`, a
    // blocking-pool thread could not run while the scheduler parks.)
    assert_eq!(std::fs::read(&data_path).unwrap(), data);
    assert_eq!(std::fs::read(&scratch_path).unwrap(), data);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cancelled_accepts_and_connects_leave_nothing_behind() {
    let Some(rt) = uring_runtime() else { return };
    rt.run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let fds_before = std::fs::read_dir("/proc/self/fd").unwrap().count();
        for i in 0..2000u64 {
            let wait = Duration::from_micros(i % 100);
            let _ = weft::time::timeout(wait, || listener.accept().map(|(s, _)| s));
            let _ = weft::time::timeout(wait, || TcpStream::connect(addr));
        }
        // Drain connections that completed into the backlog.
        while let Ok(Ok(_)) = weft::time::timeout(Duration::from_millis(5), || listener.accept()) {}
        let fds_after = std::fs::read_dir("/proc/self/fd").unwrap().count();
        // Other tests of this binary may open a few fds meanwhile; a leak here
        // would be hundreds (one per cancelled accept that completed).
        assert!(
            fds_after <= fds_before + 16,
            "fds leaked: {fds_before} -> {fds_after}"
        );
    });
}

/// A TCP receive that drains the socket makes the next one wait for data
/// before trying (`IORING_RECVSEND_POLL_FIRST`); that receive must still
/// get data that was already waiting, data that comes later, and the end
/// of the stream.
#[test]
fn receives_after_a_drained_socket_still_see_every_byte() {
    let Some(rt) = uring_runtime() else { return };
    rt.run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let mut reader = &client;
        let mut buf = [0u8; 64];

        server.write_all(&[1; 40]).unwrap();
        weft::time::sleep(Duration::from_millis(5));
        assert_eq!(reader.read(&mut buf[..10]).unwrap(), 10);
        assert!(
            !weft::__private::tcp_recv_waits_first(&client),
            "30 bytes are still queued: the next receive must try at once"
        );
        assert_eq!(reader.read(&mut buf).unwrap(), 30);
        assert!(weft::__private::tcp_recv_waits_first(&client));

        // Data already queued when a poll-first receive starts.
        server.write_all(b"queued").unwrap();
        weft::time::sleep(Duration::from_millis(5));
        assert_eq!(reader.read(&mut buf).unwrap(), 6);
        assert_eq!(&buf[..6], b"queued");

        // Data that arrives while the receive waits.
        Switch::run(|sw| {
            sw.fork(|| {
                weft::time::sleep(Duration::from_millis(10));
                (&server).write_all(b"later").unwrap();
            });
            assert_eq!(reader.read(&mut buf).unwrap(), 5);
            assert_eq!(&buf[..5], b"later");
            Ok(())
        })
        .unwrap();

        // The end of the stream.
        assert!(weft::__private::tcp_recv_waits_first(&client));
        server.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(reader.read(&mut buf).unwrap(), 0);
        assert!(!weft::__private::tcp_recv_waits_first(&client));
    });
}

/// A child process with io_uring_setup blocked by seccomp: `auto` comes up
/// on posix, and forcing uring is a clear error.
#[test]
fn auto_falls_back_to_posix_when_io_uring_is_forbidden() {
    if std::env::var("WEFT_TEST_SECCOMP_CHILD").is_ok() {
        forbid_io_uring();
        let auto = Runtime::builder().build().unwrap();
        assert_eq!(auto.backend(), BackendKind::Posix);
        auto.run(|_env| weft::time::sleep(Duration::from_millis(1)));
        let forced = Runtime::builder().backend(BackendKind::Uring).build();
        let msg = forced.err().expect("forcing uring must fail").to_string();
        assert!(msg.contains("io_uring"), "{msg}");
        println!("CHILD-OK");
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "auto_falls_back_to_posix_when_io_uring_is_forbidden",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("WEFT_TEST_SECCOMP_CHILD", "1")
        .env_remove("WEFT_BACKEND")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Installs a seccomp filter on this (child) process: io_uring_setup fails
/// with EPERM, everything else is allowed.
fn forbid_io_uring() {
    const SECCOMP_DATA_NR: u32 = 0; // offsetof(struct seccomp_data, nr)
    let filter = [
        libc::sock_filter {
            code: (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16,
            jt: 0,
            jf: 0,
            k: SECCOMP_DATA_NR,
        },
        libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt: 0,
            jf: 1,
            k: libc::SYS_io_uring_setup as u32,
        },
        libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ERRNO | (libc::EPERM as u32 & libc::SECCOMP_RET_DATA),
        },
        libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ALLOW,
        },
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut _,
    };
    // SAFETY: a valid filter program that outlives the prctl call; the
    // kernel copies it.
    unsafe {
        assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        assert_eq!(
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &prog as *const libc::sock_fprog
            ),
            0
        );
    }
}
