//! `send_file`: a file's bytes to a stream socket without a user-space
//! copy (io_uring splice or posix sendfile; the suite runs on both
//! backends). Exact bytes for ranges larger than the socket buffers,
//! the end of the file, a reset peer, and cancellation mid-transfer.

mod common;

use std::io::{ErrorKind, Read};
use std::time::Duration;

use common::{fd_count, TempDir};

use weft::net::{TcpListener, TcpStream, UnixStream};
use weft::Switch;

/// A file of `len` bytes whose content depends on the offset.
fn patterned_file(dir: &TempDir, len: usize) -> (std::path::PathBuf, Vec<u8>) {
    let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    let path = dir.path("data");
    std::fs::write(&path, &data).unwrap();
    (path, data)
}

fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

#[test]
fn sends_exactly_the_range_through_small_socket_buffers() {
    let dir = TempDir::new("sendfile-range");
    let (path, data) = patterned_file(&dir, 3 << 20);
    weft::run(|_env| {
        let file = weft::fs::File::open(&path).unwrap();
        let (client, server) = tcp_pair();
        // Small buffers: the sender waits for the reader many times.
        server.set_buffer_sizes(None, Some(16 * 1024)).unwrap();
        client.set_buffer_sizes(Some(16 * 1024), None).unwrap();
        let (offset, len) = (1000u64, 2_500_000u64);
        let mut got = Vec::new();
        Switch::run(|sw| {
            sw.fork(|| {
                assert_eq!(server.send_file(&file, offset, len).unwrap(), len);
                server.shutdown(std::net::Shutdown::Write).unwrap();
            });
            (&client).read_to_end(&mut got).unwrap();
            Ok(())
        })
        .unwrap();
        assert_eq!(got.len() as u64, len);
        assert!(got == data[offset as usize..(offset + len) as usize]);
    });
}

#[test]
fn stops_at_the_end_of_the_file_and_leaves_the_position_alone() {
    let dir = TempDir::new("sendfile-eof");
    let (path, data) = patterned_file(&dir, 200_000);
    weft::run(|_env| {
        let mut file = weft::fs::File::open(&path).unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        let mut got = Vec::new();
        Switch::run(|sw| {
            sw.fork(|| {
                assert_eq!(a.send_file(&file, 150_000, 1 << 30).unwrap(), 50_000);
                assert_eq!(a.send_file(&file, 200_000, 10).unwrap(), 0);
                a.shutdown(std::net::Shutdown::Write).unwrap();
            });
            (&b).read_to_end(&mut got).unwrap();
            Ok(())
        })
        .unwrap();
        assert!(got == data[150_000..]);
        let mut first = [0u8; 4];
        file.read_exact(&mut first).unwrap();
        assert_eq!(first, data[..4], "the file position did not move");
    });
}

#[test]
fn a_peer_that_goes_away_is_an_error_not_a_hang() {
    let dir = TempDir::new("sendfile-reset");
    let (path, _) = patterned_file(&dir, 8 << 20);
    weft::run(|_env| {
        let file = weft::fs::File::open(&path).unwrap();
        let (client, server) = tcp_pair();
        Switch::run(|sw| {
            sw.fork(|| {
                weft::time::sleep(Duration::from_millis(20));
                drop(client);
            });
            let err = server.send_file(&file, 0, 8 << 20).unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
                ),
                "unexpected error: {err}"
            );
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn a_range_beyond_the_largest_offset_is_invalid_input() {
    let dir = TempDir::new("sendfile-range-err");
    let (path, _) = patterned_file(&dir, 10);
    weft::run(|_env| {
        let file = weft::fs::File::open(&path).unwrap();
        let (a, _b) = UnixStream::pair().unwrap();
        let err = a.send_file(&file, u64::MAX - 1, 10).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    });
}

/// Transfers cancelled at random points (while the socket is full or the
/// splice is in flight): each leaves the connection usable for the bytes
/// it did send, closes its pipe, and the runtime stays sound.
#[test]
fn cancelled_transfers_leave_no_descriptors_and_a_prefix_sent() {
    // Alone in a child process, so other tests' descriptors do not count.
    if !common::run_in_child("cancelled_transfers_leave_no_descriptors_and_a_prefix_sent") {
        return;
    }
    let dir = TempDir::new("sendfile-cancel");
    let (path, data) = patterned_file(&dir, 1 << 20);
    weft::run(|_env| {
        let file = weft::fs::File::open(&path).unwrap();
        let before = fd_count();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..300u64 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let (client, server) = tcp_pair();
            server.set_buffer_sizes(None, Some(32 * 1024)).unwrap();
            let wait = Duration::from_micros(seed % 400);
            let offset = i * 1000;
            let _ = weft::time::timeout(wait, || server.send_file(&file, offset, 1 << 20));
            drop(server);
            // Whatever arrived is a prefix of the range.
            let mut got = Vec::new();
            (&client).read_to_end(&mut got).unwrap();
            let start = offset as usize;
            assert!(got.len() <= data.len() - start);
            assert!(
                got == data[start..start + got.len()],
                "iteration {i}: wrong bytes"
            );
        }
        let after = fd_count();
        assert!(
            after <= before + 4,
            "descriptors leaked: {before} -> {after}"
        );
    });
}
