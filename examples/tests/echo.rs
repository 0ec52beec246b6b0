//! The `echo` binary, started as a child process: it says where it
//! listens and how to talk to it, echoes for many concurrent clients, and
//! keeps serving after clients reset their connections mid-read and
//! mid-write, and on SIGINT closes every connection and exits cleanly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use weft::net::TcpStream;
use weft::process::{Command, Stdio};
use weft::Switch;

/// One client: `rounds` messages of growing size, each read back whole.
fn talk(addr: SocketAddr, client: usize, rounds: usize) -> weft::Result<()> {
    let mut conn = TcpStream::connect(addr)?;
    for round in 0..rounds {
        let msg: Vec<u8> = (0..(round * 97 + client) % 5000 + 1)
            .map(|i| (i + client) as u8)
            .collect();
        conn.write_all(&msg)?;
        let mut back = vec![0; msg.len()];
        conn.read_exact(&mut back)?;
        assert!(back == msg, "client {client} round {round}: wrong echo");
    }
    Ok(())
}

#[test]
fn echo_binary_serves_concurrent_clients_and_survives_resets() {
    weft::run(|_env| {
        let mut server = Command::new(env!("CARGO_BIN_EXE_echo"))
            .arg("127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut out = BufReader::new(server.stdout.take().unwrap());
        let (mut first, mut second) = (String::new(), String::new());
        let read = weft::time::timeout(Duration::from_secs(60), || {
            out.read_line(&mut first).unwrap();
            out.read_line(&mut second).unwrap();
        });
        assert!(read.is_ok(), "the server printed nothing");
        let addr: SocketAddr = first
            .trim()
            .strip_prefix("echo server listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .parse()
            .unwrap();
        assert!(
            second.contains(&format!("nc 127.0.0.1 {}", addr.port())),
            "{second:?}"
        );

        // A client resets while the server waits to read from it...
        let rude = TcpStream::connect(addr).unwrap();
        rude.set_linger(Some(Duration::ZERO)).unwrap();
        drop(rude);
        // ...and one while the server is writing to it (it never reads).
        let flood = TcpStream::connect(addr).unwrap();
        flood.set_buffer_sizes(Some(4096), None).unwrap();
        let chunk = vec![b'x'; 64 * 1024];
        // Keep sending for a while: the echo backs up into our tiny receive
        // buffer, so the server's fiber ends up blocked writing to us.
        let _ = weft::time::timeout(Duration::from_millis(200), || loop {
            (&flood).write_all(&chunk).unwrap();
        });
        flood.set_linger(Some(Duration::ZERO)).unwrap();
        drop(flood);

        // Twenty clients at once, each in its own fiber.
        Switch::run(|sw| {
            for client in 0..20 {
                sw.fork(move || talk(addr, client, 30));
            }
            Ok(())
        })
        .unwrap();

        // The server is still up.
        talk(addr, 99, 3).unwrap();
        assert!(server.try_wait().unwrap().is_none(), "the server exited");

        // Ctrl-C with a client connected: the server closes the connection
        // (its fiber is cancelled) and exits with success.
        let mut idle = TcpStream::connect(addr).unwrap();
        talk(addr, 100, 1).unwrap();
        let pid = server.id().unwrap().to_string();
        let sent = Command::new("sh")
            .args(["-c", "kill -INT \"$1\"", "sh", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        let mut rest = Vec::new();
        let closed = weft::time::timeout(Duration::from_secs(60), || idle.read_to_end(&mut rest));
        assert_eq!(closed.expect("the connection stayed open").unwrap(), 0);
        let status = server.wait().unwrap();
        assert!(status.success(), "{status:?}");
        let mut last = String::new();
        out.read_line(&mut last).unwrap();
        assert_eq!(last.trim(), "echo: interrupted; every connection is closed");
    });
}
