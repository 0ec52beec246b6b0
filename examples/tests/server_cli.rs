//! The `echo` and `chat` binaries as a user meets them: `--help`, a bad
//! address, an address already in use, and Ctrl-C with a goodbye.

use std::io::BufRead;
use std::io::BufReader;
use std::process::Output;
use std::time::Duration;

use weft::process::{Command, Stdio};

const SERVERS: [(&str, &str); 2] = [
    ("echo", env!("CARGO_BIN_EXE_echo")),
    ("chat", env!("CARGO_BIN_EXE_chat")),
];

/// Runs `bin` with `args` to its end (failing the test after 60 s).
fn run(bin: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(bin);
    cmd.args(args).kill_on_drop(true);
    weft::time::timeout(Duration::from_secs(60), || cmd.output())
        .expect("the program ended")
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_prints_the_usage_and_succeeds() {
    weft::run(|_env| {
        for (name, bin) in SERVERS {
            for flag in ["--help", "-h"] {
                let out = run(bin, &[flag]);
                assert!(out.status.success(), "{name} {flag}: {:?}", out.status);
                let stdout = text(&out.stdout);
                assert!(
                    stdout.starts_with(&format!("usage: {name} [HOST:PORT]")),
                    "{name} {flag}: {stdout}"
                );
            }
        }
    });
}

#[test]
fn a_bad_address_or_option_is_a_usage_error() {
    weft::run(|_env| {
        for (name, bin) in SERVERS {
            for (arg, says) in [
                ("127.0.0.1:99999", "expected host:port"),
                ("127.0.0.1", "expected host:port"),
                ("--frobnicate", "unknown option --frobnicate"),
            ] {
                let out = run(bin, &[arg]);
                assert_eq!(out.status.code(), Some(2), "{name} {arg}");
                let stderr = text(&out.stderr);
                assert!(stderr.contains(says), "{name} {arg}: {stderr}");
                assert!(stderr.contains("usage:"), "{name} {arg}: {stderr}");
            }
        }
    });
}

#[test]
fn an_address_in_use_is_named() {
    weft::run(|_env| {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        for (name, bin) in SERVERS {
            let out = run(bin, &[&addr]);
            assert_eq!(out.status.code(), Some(1), "{name}");
            let stderr = text(&out.stderr);
            assert!(
                stderr.contains(&format!("cannot listen on {addr}")),
                "{name}: {stderr}"
            );
            assert!(
                stderr.contains("Address already in use"),
                "{name}: {stderr}"
            );
        }
    });
}

#[test]
fn chat_says_goodbye_on_ctrl_c() {
    weft::run(|_env| {
        let mut server = Command::new(env!("CARGO_BIN_EXE_chat"))
            .arg("127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut out = BufReader::new(server.stdout.take().unwrap());
        let mut first = String::new();
        weft::time::timeout(Duration::from_secs(60), || out.read_line(&mut first))
            .expect("the server printed nothing")
            .unwrap();
        let addr = first
            .trim()
            .strip_prefix("chat server listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_string();
        // A client in the room when Ctrl-C comes: its connection is closed.
        let mut client = BufReader::new(weft::net::TcpStream::connect(addr.as_str()).unwrap());
        let mut welcome = String::new();
        client.read_line(&mut welcome).unwrap();
        assert!(welcome.starts_with("* welcome"), "{welcome}");
        let pid = server.id().unwrap().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(sent.success());
        let mut rest = String::new();
        let closed = weft::time::timeout(Duration::from_secs(60), || {
            std::io::Read::read_to_string(&mut client, &mut rest)
        });
        assert!(closed.expect("the connection stayed open").is_ok());
        let status = weft::time::timeout(Duration::from_secs(60), || server.wait())
            .expect("the server exited")
            .unwrap();
        assert!(status.success(), "{status:?}");
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap() == 0 {
                break;
            }
            lines.push(line.trim_end().to_string());
        }
        assert_eq!(
            lines.last().map(String::as_str),
            Some("chat: interrupted; every connection is closed"),
            "{lines:?}"
        );
    });
}
