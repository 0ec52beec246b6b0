//! A resource picks its backend when it is created, and keeps working when
//! it is used on a runtime with the other backend (it adopts that one), on
//! another thread, or fails clearly outside any runtime (never a panic).

use std::io::{Read, Write};
use std::time::Duration;

use weft::net::{TcpListener, TcpStream, UnixStream};
use weft::{BackendKind, Runtime};

mod common;

/// A runtime on `kind`, or `None` (said loudly) where io_uring cannot
/// start on this kernel: then there is no second backend to move to.
fn runtime(kind: BackendKind) -> Option<Runtime> {
    match Runtime::builder().backend(kind).build() {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("SKIPPED LOUDLY: the {kind:?} backend cannot start here: {e}");
            None
        }
    }
}

fn both_orders() -> Vec<(BackendKind, BackendKind)> {
    vec![
        (BackendKind::Uring, BackendKind::Posix),
        (BackendKind::Posix, BackendKind::Uring),
    ]
}

/// A connected loopback pair made on `rt`.
fn tcp_pair(rt: &Runtime) -> (TcpStream, TcpStream) {
    rt.block_on(|| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    })
}

/// Echo traffic where each read has to wait for its data (a fiber writes
/// it after a pause), so the wait itself runs on `rt`'s backend.
fn echo_waiting(rt: &Runtime, client: &mut TcpStream, server: &mut TcpStream) {
    rt.block_on(|| {
        weft::Switch::run(|sw| {
            let server = &mut *server;
            sw.fork(move || {
                let mut buf = [0u8; 64];
                for _ in 0..3 {
                    let n = server.read(&mut buf).unwrap();
                    server.write_all(&buf[..n]).unwrap();
                }
            });
            for round in 0..3u8 {
                weft::time::sleep(Duration::from_millis(2));
                client.write_all(&[round; 16]).unwrap();
                let mut got = [0u8; 16];
                client.read_exact(&mut got).unwrap();
                assert_eq!(got, [round; 16]);
            }
            Ok(())
        })
        .unwrap()
    });
}

#[test]
fn a_tcp_stream_made_on_one_backend_works_on_the_other() {
    for (made_on, used_on) in both_orders() {
        let (Some(a), Some(b)) = (runtime(made_on), runtime(used_on)) else {
            return;
        };
        let (mut client, mut server) = tcp_pair(&a);
        echo_waiting(&b, &mut client, &mut server);
        // And back again: the streams adopted `used_on`, and still work
        // where they were made.
        echo_waiting(&a, &mut client, &mut server);
    }
}

#[test]
fn a_stream_moved_to_another_thread_with_the_other_backend_works_there() {
    for (made_on, used_on) in both_orders() {
        let Some(a) = runtime(made_on) else { return };
        let (mut client, mut server) = tcp_pair(&a);
        let moved = std::thread::spawn(move || {
            let Some(b) = runtime(used_on) else { return };
            echo_waiting(&b, &mut client, &mut server);
        });
        moved
            .join()
            .expect("the thread using the moved streams panicked");
    }
}

#[test]
fn a_file_made_on_one_backend_reads_writes_and_closes_on_the_other() {
    let dir = common::TempDir::new("backend-choice-file");
    let path = dir.path("data");
    for (made_on, used_on) in both_orders() {
        let (Some(a), Some(b)) = (runtime(made_on), runtime(used_on)) else {
            return;
        };
        let mut file = a.block_on(|| weft::fs::File::create(&path).unwrap());
        b.block_on(|| {
            file.write_all(b"made on one, used on the other").unwrap();
            file.write_all_at(b"USED", 13).unwrap();
            file.sync_all().unwrap();
            assert_eq!(file.metadata().unwrap().len(), 30);
            drop(file);
            let mut back = String::new();
            let mut reader = weft::fs::File::open(&path).unwrap();
            reader.read_to_string(&mut back).unwrap();
            assert_eq!(back, "made on one, USED on the other");
        });
        let mut reopened = b.block_on(|| weft::fs::File::open(&path).unwrap());
        a.block_on(|| {
            let mut head = [0u8; 4];
            reopened.read_exact(&mut head).unwrap();
            assert_eq!(&head, b"made");
        });
    }
}

/// Outside any runtime, an op that has data completes (a plain system
/// call), and one that would have to wait fails with an error that says
/// why, whichever backend made the resource.
#[test]
fn outside_a_runtime_a_read_that_would_wait_is_a_clear_error() {
    for kind in [BackendKind::Uring, BackendKind::Posix] {
        let Some(rt) = runtime(kind) else { continue };
        let (mut client, mut server) = tcp_pair(&rt);
        let (mut ua, mut ub) = rt.block_on(|| UnixStream::pair().unwrap());
        drop(rt);
        let mut buf = [0u8; 8];
        let err = client.read(&mut buf).unwrap_err();
        assert!(
            err.to_string().contains("runs no weft runtime"),
            "{kind:?}: unexpected error {err}"
        );
        server.write_all(b"ready").unwrap();
        let n = client.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"ready", "{kind:?}");
        let err = ua.read(&mut buf).unwrap_err();
        assert!(
            err.to_string().contains("runs no weft runtime"),
            "{kind:?}: unexpected error {err}"
        );
        ub.write_all(b"unix").unwrap();
        let n = ua.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"unix", "{kind:?}");
    }
}
