//! `weft-console top` in a real terminal: tmux runs it against an echo
//! server in this process (monitoring on); the test reads the screen with
//! `capture-pane` and drives it with `send-keys`; then the same for
//! `replay` of a recording of that server.
//!
//! Needs tmux. Where it is not installed the test prints why and returns
//! (`.ci/run` installs it where it can).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Runs `tmux -L SOCKET ARGS` with a deadline.
fn tmux(socket: &str, args: &[&str]) -> Output {
    let mut child = Command::new("tmux")
        .args(["-L", socket, "-f", "/dev/null"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tmux starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if child.try_wait().expect("wait works").is_some() {
            return child.wait_with_output().expect("output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("tmux {args:?} did not finish in 20 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The pane's text, once `ok` holds for it (or a failure after 30 s).
fn screen_until(socket: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = tmux(socket, &["capture-pane", "-p", "-t", "top"]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if ok(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "the screen never showed {what}:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Kills the private tmux server even when the test fails.
struct Server(String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = tmux(&self.0, &["kill-server"]);
        // tmux may leave its socket file behind.
        let dir = std::env::var_os("TMUX_TMPDIR").unwrap_or_else(|| "/tmp".into());
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() };
        let _ = std::fs::remove_file(
            std::path::Path::new(&dir)
                .join(format!("tmux-{uid}"))
                .join(&self.0),
        );
    }
}

fn echo_server(addr_tx: mpsc::Sender<SocketAddr>, stop: mpsc::Receiver<()>) {
    weft::Runtime::builder()
        .console(true)
        .build()
        .unwrap()
        .run(|_env| {
            let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let stop = std::sync::Mutex::new(stop);
            weft::fiber::first(
                || {
                    weft::Switch::run(|sw| -> weft::Result<()> {
                        sw.fork_named("accept", || -> weft::Result<()> {
                            loop {
                                let (mut conn, _) = listener.accept()?;
                                sw.fork_named("conn", move || -> weft::Result<()> {
                                    let mut buf = [0u8; 64];
                                    loop {
                                        let n = conn.read(&mut buf)?;
                                        if n == 0 {
                                            return Ok(());
                                        }
                                        conn.write_all(&buf[..n])?;
                                    }
                                });
                            }
                        });
                        Ok(())
                    })
                },
                // Ends the server when the test says so.
                || {
                    weft::blocking(move || {
                        let _ = stop.lock().unwrap().recv();
                    });
                    Ok(())
                },
            )
            .unwrap();
        });
}

#[test]
fn top_in_tmux_shows_the_tree_and_follows_keys() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED top_in_tmux_shows_the_tree_and_follows_keys: tmux is not installed");
        return;
    }
    let (addr_tx, addr_rx) = mpsc::channel();
    let (stop_tx, stop_rx) = mpsc::channel();
    let server = std::thread::spawn(move || echo_server(addr_tx, stop_rx));
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server starts");
    let mut clients: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
    for c in &mut clients {
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        c.write_all(b"ping").unwrap();
        let mut back = [0u8; 4];
        c.read_exact(&mut back).unwrap();
    }

    let socket = format!("weft-console-test-{}", std::process::id());
    let _server = Server(socket.clone());
    let command = format!(
        "{} top {}",
        env!("CARGO_BIN_EXE_weft-console"),
        std::process::id()
    );
    let started = tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-s",
            "top",
            "-x",
            "150",
            "-y",
            "40",
            &command,
        ],
    );
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );

    // The tree: a switch row, the accept loop and one fiber per
    // connection under it, each with what it waits on.
    let screen = screen_until(&socket, "the fiber tree", |s| {
        s.contains("fibers by switch")
            && s.contains("▾ switch")
            && s.contains("accept")
            && s.lines().filter(|l| l.contains(" conn ")).count() == 2
    });
    println!("{screen}");
    let accept_row = screen.lines().find(|l| l.contains(" accept ")).unwrap();
    assert!(accept_row.contains("waiting"), "{accept_row}");
    assert!(
        accept_row.contains("tmux_top.rs:"),
        "blocked in this file: {accept_row}"
    );
    assert!(
        screen.contains("scheduler threads") && screen.contains("RUNQ"),
        "{screen}"
    );
    let pid_line = format!("PID {}", std::process::id());
    assert!(screen.contains(&pid_line), "{screen}");

    // `s`: another order; `/conn` Enter: only the connections.
    tmux(&socket, &["send-keys", "-t", "top", "s"]);
    screen_until(&socket, "the waiting order", |s| {
        s.contains("order: longest waiting")
    });
    tmux(
        &socket,
        &["send-keys", "-t", "top", "/", "c", "o", "n", "n", "Enter"],
    );
    let filtered = screen_until(&socket, "the filter", |s| {
        s.contains("filter: conn") && !s.contains(" accept ")
    });
    let rows = filtered
        .lines()
        .filter(|l| l.contains(" conn ") && (l.contains("socket_recv") || l.contains("readable")))
        .count();
    assert_eq!(rows, 2, "the two connections: {filtered}");

    // `q` quits: the pane's program ends, and so does the session.
    tmux(&socket, &["send-keys", "-t", "top", "q"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while tmux(&socket, &["has-session", "-t", "top"])
        .status
        .success()
    {
        assert!(Instant::now() < deadline, "top did not quit on q");
        std::thread::sleep(Duration::from_millis(50));
    }

    // A recording of the same server, played back: `replay` shows the
    // fibers as they were, `p` pauses it, `q` quits.
    let rec = std::env::temp_dir().join(format!("weft-console-tmux-{}.jsonl", std::process::id()));
    let rec_s = rec.display().to_string();
    let recorder = {
        let (pid, rec_s) = (std::process::id().to_string(), rec_s.clone());
        std::thread::spawn(move || {
            Command::new(env!("CARGO_BIN_EXE_weft-console"))
                .args(["record", &pid, "-o", &rec_s, "--duration", "0.5"])
                .output()
                .expect("record runs")
        })
    };
    for round in 0..10 {
        for c in &mut clients {
            let msg = format!("r{round}");
            c.write_all(msg.as_bytes()).unwrap();
            let mut back = vec![0u8; msg.len()];
            c.read_exact(&mut back).unwrap();
        }
    }
    let recorded = recorder.join().unwrap();
    assert!(
        recorded.status.success(),
        "{}",
        String::from_utf8_lossy(&recorded.stderr)
    );
    let command = format!("{} replay {rec_s}", env!("CARGO_BIN_EXE_weft-console"));
    let started = tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-s",
            "top",
            "-x",
            "150",
            "-y",
            "40",
            &command,
        ],
    );
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let replayed = screen_until(&socket, "the replay", |s| {
        s.contains("[replay ") && s.contains(" accept ") && s.contains(" conn ")
    });
    assert!(replayed.contains(&pid_line), "{replayed}");
    tmux(&socket, &["send-keys", "-t", "top", "p"]);
    screen_until(&socket, "the pause", |s| s.contains("paused"));
    tmux(&socket, &["send-keys", "-t", "top", "q"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while tmux(&socket, &["has-session", "-t", "top"])
        .status
        .success()
    {
        assert!(Instant::now() < deadline, "replay did not quit on q");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::remove_file(&rec).unwrap();

    stop_tx.send(()).unwrap();
    drop(clients);
    server.join().unwrap();
}
