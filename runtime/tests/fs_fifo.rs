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
