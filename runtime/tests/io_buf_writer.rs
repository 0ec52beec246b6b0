//! weft::io::BufWriter over a TCP stream: writes wait in the buffer until
//! flushed, reads pass through to the stream, and unflushed data is
//! dropped with the writer (tokio's meaning).

use std::io::{BufRead, Read, Write};

use weft::io::BufWriter;
use weft::net::{TcpListener, TcpStream};

fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    (c, s)
}

#[test]
fn writes_reach_the_peer_on_flush_and_reads_pass_through() {
    weft::run(|_env| {
        let (c, mut s) = pair();
        let mut w = BufWriter::new(c);
        w.write_all(b"*1\r\n").unwrap();
        w.write_all(b"$4\r\nPING\r\n").unwrap();
        assert_eq!(w.buffer(), b"*1\r\n$4\r\nPING\r\n");
        w.flush().unwrap();
        assert!(w.buffer().is_empty());
        let mut got = [0; 14];
        s.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"*1\r\n$4\r\nPING\r\n");

        s.write_all(b"+PONG\r\n").unwrap();
        let mut reply = [0; 7];
        w.read_exact(&mut reply).unwrap();
        assert_eq!(&reply, b"+PONG\r\n");
    });
}

#[test]
fn a_write_larger_than_the_buffer_goes_through() {
    weft::run(|_env| {
        let (c, mut s) = pair();
        let big: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let expect = big.clone();
        weft::fiber::both(
            move || {
                let mut w = BufWriter::with_capacity(1024, c);
                w.write_all(&big).unwrap();
                w.flush().unwrap();
            },
            || {
                let mut got = Vec::new();
                s.read_to_end(&mut got).unwrap();
                assert_eq!(got, expect);
            },
        );
    });
}

#[test]
fn unflushed_data_is_dropped_with_the_writer() {
    weft::run(|_env| {
        let (c, mut s) = pair();
        let mut w = BufWriter::new(c);
        w.write_all(b"sent").unwrap();
        w.flush().unwrap();
        w.write_all(b"never sent").unwrap();
        drop(w);
        let mut got = Vec::new();
        s.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"sent");
    });
}

#[test]
fn buffered_reads_pass_through_and_seek_flushes_first() {
    use std::io::{Cursor, Seek, SeekFrom};

    let mut w = BufWriter::new(Cursor::new(b"line one\nline two\n".to_vec()));
    let mut line = String::new();
    w.read_line(&mut line).unwrap();
    assert_eq!(line, "line one\n");
    w.write_all(b"LINE").unwrap();
    assert_eq!(w.get_ref().get_ref(), b"line one\nline two\n");
    w.seek(SeekFrom::Start(0)).unwrap();
    assert_eq!(w.get_ref().get_ref(), b"line one\nLINE two\n");
}
