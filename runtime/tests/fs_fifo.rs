//! Opening a FIFO waits for the other end, as `open(2)`, std and tokio
//! do: a reader's open returns once a writer has opened it (so the first
//! read does not see end-of-file just because the writer is not there
//! yet), and a writer's open waits for a reader instead of failing with
//! `ENXIO`. (io_uring's `OPENAT` first tries without blocking, which
//! skips that wait.)

mod common;

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;

use common::TempDir;
use weft::Switch;

fn mkfifo(path: &std::path::Path) {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo takes a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

#[test]
fn a_reader_opened_before_the_writer_gets_the_data() {
    let dir = TempDir::new("fifo-r");
    let fifo = dir.path("p");
    mkfifo(&fifo);
    weft::run(|_env| {
        Switch::run(|sw| {
            let got = sw.fork_promise(|| {
                let mut f = weft::fs::File::open(&fifo).unwrap();
                let mut v = Vec::new();
                f.read_to_end(&mut v).unwrap();
                v
            });
            // A round trip through the blocking pool: the scheduler has
            // entered the kernel, so the reader's open was issued, before
            // the writer starts.
            weft::blocking(|| ());
            let path = fifo.clone();
            let writer = std::thread::spawn(move || {
                let mut w = std::fs::OpenOptions::new().write(true).open(path).unwrap();
                w.write_all(b"through the fifo").unwrap();
            });
            let got = got.await_().as_ref().expect("the reader failed").clone();
            // If the reader gave up early, the writer still waits in its
            // open: a reader that does not wait lets it finish.
            let spare = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&fifo)
                .unwrap();
            weft::blocking(move || writer.join().unwrap());
            drop(spare);
            assert_eq!(got, b"through the fifo");
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn a_writer_opened_before_the_reader_waits_for_it() {
    let dir = TempDir::new("fifo-w");
    let fifo = dir.path("p");
    mkfifo(&fifo);
    weft::run(|_env| {
        Switch::run(|sw| {
            sw.fork(|| -> weft::Result<()> {
                let mut f = weft::fs::File::options().write(true).open(&fifo)?;
                f.write_all(b"to the reader")?;
                Ok(())
            });
            weft::blocking(|| ());
            let path = fifo.clone();
            let got = weft::blocking(move || std::fs::read(path).unwrap());
            assert_eq!(got, b"to the reader");
            Ok(())
        })
        .unwrap();
    });
}

/// A writer that comes and goes the moment the FIFO has a reader (it
/// retries a non-blocking open until one is there, writes, closes) while
/// the reader's open is still under way. On io_uring the reader's first
/// open returns early and is redone on the blocking pool, and the writer
/// used to finish in between: the redone open then waited for a second
/// writer forever. Repeated, since the window is a thread hop wide.
#[test]
fn a_writer_that_comes_and_goes_during_the_readers_open_is_not_missed() {
    let dir = TempDir::new("fifo-race");
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let fifos: Vec<_> = (0..50)
        .map(|i| {
            let fifo = dir.path(&format!("p{i}"));
            mkfifo(&fifo);
            fifo
        })
        .collect();
    let runner = std::thread::spawn(move || {
        weft::run(|_env| {
            for (i, fifo) in fifos.iter().enumerate() {
                let path = fifo.clone();
                let writer = std::thread::spawn(move || loop {
                    match std::fs::OpenOptions::new()
                        .write(true)
                        .custom_flags(libc::O_NONBLOCK)
                        .open(&path)
                    {
                        Ok(mut w) => {
                            w.write_all(b"quick").unwrap();
                            return;
                        }
                        // ENXIO: no reader yet.
                        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => std::thread::yield_now(),
                        Err(e) => panic!("writer open: {e}"),
                    }
                });
                let mut f = weft::fs::File::open(fifo).unwrap();
                let mut v = Vec::new();
                f.read_to_end(&mut v).unwrap();
                assert_eq!(v, b"quick", "round {i}");
                weft::blocking(move || writer.join().unwrap());
            }
        });
        let _ = done_tx.send(());
    });
    done_rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("every reader's open returned");
    runner.join().unwrap();
}

/// A FIFO writer dropped as the last thing a `block_on` does is closed
/// when `block_on` returns: the reader sees end-of-file while the runtime
/// sits idle (on io_uring the close used to wait in the submission queue
/// until the runtime ran again or was dropped).
#[test]
fn a_file_dropped_at_the_end_of_block_on_is_closed_while_the_runtime_idles() {
    let dir = TempDir::new("fifo-close");
    let fifo = dir.path("p");
    mkfifo(&fifo);
    let (tx, rx) = std::sync::mpsc::channel();
    let path = fifo.clone();
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let r = std::fs::File::open(&path).and_then(|mut f| f.read_to_end(&mut v));
        let _ = tx.send(r.map(|_| v));
    });
    let rt = weft::Runtime::new().unwrap();
    rt.block_on(|| {
        let mut f = weft::fs::File::options().write(true).open(&fifo).unwrap();
        f.write_all(b"last words").unwrap();
        // dropped here, as block_on's last action
    });
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the reader saw end-of-file while the runtime idled");
    assert_eq!(got.unwrap(), b"last words");
    drop(rt);
    reader.join().unwrap();
}
