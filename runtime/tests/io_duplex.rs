//! In-memory duplex streams and io::split: full-duplex transfers through
//! small buffers, end of file and broken pipe when an end goes, half-close,
//! cancellation of a blocked read without losing bytes, and ends used from
//! two runtime threads.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

use weft::io::{duplex, split};

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn both_directions_at_once_through_small_buffers() {
    weft::run(|_env| {
        let (a, b) = duplex(7);
        let (to_b, to_a) = (pattern(100_000, 1), pattern(80_000, 2));
        let (ra, wa) = split(a);
        let (rb, wb) = split(b);
        let results = weft::fiber::all([
            Box::new(|| {
                let mut w = wa;
                w.write_all(&to_b).unwrap();
                Vec::new()
            }) as Box<dyn FnOnce() -> Vec<u8> + '_>,
            Box::new(|| {
                let mut w = wb;
                w.write_all(&to_a).unwrap();
                Vec::new()
            }),
            Box::new(|| {
                let mut r = rb;
                let mut v = vec![0; to_b.len()];
                r.read_exact(&mut v).unwrap();
                v
            }),
            Box::new(|| {
                let mut r = ra;
                let mut v = vec![0; to_a.len()];
                r.read_exact(&mut v).unwrap();
                v
            }),
        ]);
        assert!(results[2] == to_b, "a -> b bytes differ");
        assert!(results[3] == to_a, "b -> a bytes differ");
    });
}

#[test]
fn a_dropped_end_is_end_of_file_after_its_data_and_a_broken_pipe() {
    weft::run(|_env| {
        let (mut a, mut b) = duplex(64);
        a.write_all(b"last words").unwrap();
        drop(a);
        let mut got = String::new();
        b.read_to_string(&mut got).unwrap();
        assert_eq!(got, "last words");
        let e = b.write(b"anyone?").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BrokenPipe);

        // A writer waiting for room wakes with the error when the reader goes.
        let (mut c, d) = duplex(4);
        let (r, ()) = weft::fiber::both(
            || c.write_all(b"more than four bytes"),
            || {
                weft::fiber::yield_now();
                drop(d);
            },
        );
        assert_eq!(r.unwrap_err().kind(), ErrorKind::BrokenPipe);
    });
}

#[test]
fn half_close_lets_the_other_side_answer() {
    weft::run(|_env| {
        let (client, server) = duplex(16);
        let (reply, ()) = weft::fiber::both(
            || {
                (&client).write_all(b"ping\n").unwrap();
                client.shutdown(Shutdown::Write).unwrap();
                assert_eq!(
                    (&client).write(b"x").unwrap_err().kind(),
                    ErrorKind::BrokenPipe
                );
                let mut reply = String::new();
                (&client).read_to_string(&mut reply).unwrap();
                reply
            },
            || {
                let mut lines = Vec::new();
                for line in BufReader::new(&server).lines() {
                    lines.push(line.unwrap());
                }
                (&server)
                    .write_all(format!("got {lines:?}").as_bytes())
                    .unwrap();
                drop(server);
            },
        );
        assert_eq!(reply, "got [\"ping\"]");
    });
}

#[test]
fn a_cancelled_read_loses_no_bytes() {
    weft::run(|_env| {
        let (mut a, mut b) = duplex(32);
        let mut buf = [0u8; 8];
        assert!(weft::time::timeout(Duration::from_millis(10), || b.read(&mut buf)).is_err());
        a.write_all(b"after").unwrap();
        let n = b.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"after");
    });
}

#[test]
fn ends_on_two_runtime_threads() {
    let (a, b) = duplex(1024);
    let far = std::thread::spawn(move || {
        weft::run(|_env| {
            let mut a = a;
            let mut sum = 0u64;
            let mut buf = [0u8; 4096];
            loop {
                let n = a.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                sum += buf[..n].iter().map(|&x| x as u64).sum::<u64>();
            }
            a.write_all(&sum.to_le_bytes()).unwrap();
        })
    });
    let data = pattern(1 << 20, 3);
    let expected: u64 = data.iter().map(|&x| x as u64).sum();
    weft::run(|_env| {
        let mut b = b;
        b.write_all(&data).unwrap();
        b.shutdown(Shutdown::Write).unwrap();
        let mut sum = [0u8; 8];
        b.read_exact(&mut sum).unwrap();
        assert_eq!(u64::from_le_bytes(sum), expected);
    });
    far.join().unwrap();
}

#[test]
fn split_halves_reunite_only_with_their_pair() {
    let (a, b) = duplex(8);
    let (ra, wa) = split(a);
    let (rb, wb) = split(b);
    assert!(ra.is_pair_of(&wa) && !ra.is_pair_of(&wb) && wb.is_pair_of(&rb));
    let _a = ra.unsplit(wa);
    let wrong = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rb.unsplit(split(duplex(1).0).1)
    }));
    assert!(wrong.is_err());
    drop(wb);
}
