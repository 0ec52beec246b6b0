//! An in-process TCP echo load (64 connections, 16-byte messages) for
//! counting system calls per echoed message on each backend:
//!
//! `WEFT_BACKEND=uring perf stat -e raw_syscalls:sys_enter target/release/echo_load 2000`
//!
//! Prints the number of messages echoed (both directions count once).

use std::io::{Read, Write};

fn main() {
    let msgs: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    const CONNECTIONS: usize = 64;
    weft::run(|_env| {
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        weft::Switch::run(|sw| {
            sw.fork(|| {
                for _ in 0..CONNECTIONS {
                    let (mut c, _) = listener.accept().unwrap();
                    sw.fork(move || {
                        let mut buf = [0u8; 16];
                        for _ in 0..msgs {
                            c.read_exact(&mut buf).unwrap();
                            c.write_all(&buf).unwrap();
                        }
                    });
                }
            });
            for _ in 0..CONNECTIONS {
                sw.fork(move || {
                    let mut c = weft::net::TcpStream::connect(addr).unwrap();
                    let mut buf = [0u8; 16];
                    for _ in 0..msgs {
                        c.write_all(&[7u8; 16]).unwrap();
                        c.read_exact(&mut buf).unwrap();
                    }
                });
            }
            Ok(())
        })
        .unwrap();
    });
    println!("{}", CONNECTIONS * msgs);
}
