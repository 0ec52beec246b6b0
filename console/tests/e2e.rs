//! End to end: an echo server running in this process with monitoring on,
//! looked at by the weft-console binary (another process): `snapshot`
//! lists the accept loop and one fiber per connection, blocked in this
//! file; `record` + `export` give one Perfetto slice per fiber run.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::run_cli;
use serde_json::Value;

static STOP: AtomicBool = AtomicBool::new(false);

/// Copies what the client sends back to it until it hangs up.
fn echo(mut conn: weft::net::TcpStream) -> weft::Result<()> {
    let mut buf = [0u8; 1024];
    loop {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        conn.write_all(&buf[..n])?;
    }
}

/// Runs the echo server (accept loop and connection fibers in one switch)
/// with monitoring on; sends its address, then `()` when it has ended.
fn serve(addr_tx: mpsc::Sender<SocketAddr>, done: mpsc::Sender<()>) {
    weft::Runtime::builder()
        .console(true)
        .build()
        .unwrap()
        .run(|_env| {
            let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            weft::Switch::run(|sw| {
                sw.fork_named("accept", || -> weft::Result<()> {
                    loop {
                        let (conn, _) = listener.accept()?;
                        if STOP.load(Ordering::Relaxed) {
                            return Ok(());
                        }
                        sw.fork_named("conn", move || echo(conn));
                    }
                });
                Ok(())
            })
            .unwrap();
        });
    let _ = done.send(());
}

fn round_trip(c: &mut TcpStream, msg: &[u8]) {
    c.write_all(msg).unwrap();
    let mut back = vec![0; msg.len()];
    c.read_exact(&mut back).unwrap();
    assert_eq!(back, msg);
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "weft-console failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

#[test]
fn snapshot_record_and_export_an_echo_server() {
    let (addr_tx, addr_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let server = std::thread::spawn(move || serve(addr_tx, done_tx));
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server starts");
    let mut clients: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(addr).unwrap()).collect();
    for c in &mut clients {
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        round_trip(c, b"hello\n");
    }
    let pid = std::process::id().to_string();
    let this_file = file!();

    // snapshot: the accept loop and one fiber per connection, each waiting
    // in this file. A client may see its echo before the fiber is back in
    // its read (the OS can pause the server thread in between), so look
    // again until every fiber of interest waits.
    let deadline = Instant::now() + Duration::from_secs(30);
    let snap = loop {
        let snap = json_of(&run_cli(&["snapshot", &pid, "--format", "json"]));
        let settled = snap["fibers"].as_array().is_some_and(|fs| {
            fs.iter()
                .filter(|f| f["name"] == "accept" || f["name"] == "conn")
                .all(|f| f["state"] == "waiting")
        });
        if settled || Instant::now() > deadline {
            break snap;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let fibers = snap["fibers"].as_array().expect("a fiber list");
    let named = |n: &str| -> Vec<&Value> { fibers.iter().filter(|f| f["name"] == n).collect() };
    let accept = named("accept");
    assert_eq!(accept.len(), 1, "one accept loop: {snap:#}");
    let conns = named("conn");
    assert_eq!(
        conns.len(),
        clients.len(),
        "one fiber per connection: {snap:#}"
    );
    for f in accept.iter().chain(&conns) {
        assert_eq!(f["state"], "waiting", "{f:#}");
        let at = f["blocked_at"].as_str().expect("blocked_at");
        assert!(
            at.starts_with(&format!("{this_file}:")),
            "blocked in this file: {at}"
        );
        assert!(f["blocked_for_ms"].as_f64().is_some_and(|ms| ms >= 0.0));
        assert!(f["id"].as_u64().is_some_and(|id| id > 0));
        assert!(f["switch"].is_string());
    }
    // What they wait on: the io_uring op in flight, or (posix backend)
    // the socket's readiness.
    let posix = std::env::var("WEFT_BACKEND").as_deref() == Ok("posix");
    let on = |f: &Value| f["waiting_on"].as_str().unwrap_or("null").to_string();
    if posix {
        assert_eq!(on(accept[0]), "readable", "{snap:#}");
        assert!(conns.iter().all(|c| on(c) == "readable"), "{snap:#}");
    } else {
        assert_eq!(on(accept[0]), "accept", "{snap:#}");
        assert!(conns.iter().all(|c| on(c) == "socket_recv"), "{snap:#}");
    }
    let accept_at = accept[0]["blocked_at"].as_str().unwrap();
    assert!(
        conns.iter().all(|c| c["blocked_at"] != accept_at),
        "connections wait on their reads"
    );
    assert!(
        conns.iter().all(|c| c["switch"] == accept[0]["switch"]),
        "one switch"
    );
    let text = run_cli(&["snapshot", &pid]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("accept") && text.contains(this_file),
        "{text}"
    );

    // record, while the clients talk, then export.
    let dir = std::env::temp_dir();
    let rec = dir.join(format!("weft-console-e2e-{pid}.jsonl"));
    let trace = dir.join(format!("weft-console-e2e-{pid}.json"));
    let (rec_s, trace_s) = (rec.display().to_string(), trace.display().to_string());
    let recorder = {
        let (pid, rec_s) = (pid.clone(), rec_s.clone());
        std::thread::spawn(move || run_cli(&["record", &pid, "-o", &rec_s, "--duration", "1.5"]))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&rec).is_ok_and(|s| s.contains("\"header\"")) {
        assert!(Instant::now() < deadline, "the recording never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    for round in 0..20 {
        for c in &mut clients {
            round_trip(c, format!("round {round}\n").as_bytes());
        }
    }
    let recorded = recorder.join().unwrap();
    assert!(
        recorded.status.success(),
        "{}",
        String::from_utf8_lossy(&recorded.stderr)
    );
    let exported = run_cli(&["export", &rec_s, "--format", "perfetto", "-o", &trace_s]);
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let trace_json: Value = serde_json::from_str(&std::fs::read_to_string(&trace).unwrap())
        .expect("the export is valid JSON");
    let slices: Vec<&Value> = trace_json["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "X" && e["cat"] == "fiber")
        .collect();
    let batch_slices = trace_json["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "X" && e["cat"] == "batch")
        .count();

    // One slice per recorded run: every `run` of the recording is
    // followed, on its thread, by that fiber's `suspended`/`yielded`/
    // `exited`, except a run still going when the recording stopped; and
    // one per batch (runs a thread batched have no events of their own).
    let lines: Vec<Value> = BufReader::new(std::fs::File::open(&rec).unwrap())
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    let end = lines.last().unwrap();
    assert_eq!(end["type"], "end");
    assert_eq!(
        end["lost"], 0,
        "a 1.5 s recording of a few echoes loses nothing"
    );
    let events: Vec<&Value> = lines.iter().filter(|l| l["type"] == "event").collect();
    let runs = events.iter().filter(|e| e["kind"] == "run").count();
    // Other events (wake-ups, I/O ops) come within a run; the next
    // run-or-stop event of its thread is the run's end.
    let mut open = std::collections::HashMap::new();
    let mut ended_runs = 0;
    for e in &events {
        match e["kind"].as_str().unwrap() {
            "run" => {
                open.insert(e["thread"].as_u64(), e["fiber"].as_u64());
            }
            "suspended" | "yielded" | "exited"
                if open.get(&e["thread"].as_u64()) == Some(&e["fiber"].as_u64()) =>
            {
                open.remove(&e["thread"].as_u64());
                ended_runs += 1;
            }
            _ => {}
        }
    }
    assert!(
        runs >= 60,
        "each of 60 echoes ran a connection fiber: {runs} runs"
    );
    assert!(runs - ended_runs <= 1, "at most one run open at the end");
    assert_eq!(slices.len(), ended_runs, "one slice per recorded fiber run");
    let batches = events.iter().filter(|e| e["kind"] == "batch").count();
    assert_eq!(batch_slices, batches, "one slice per batch of short runs");
    for conn in &conns {
        let label = format!("conn (fiber {})", conn["id"]);
        let n = slices
            .iter()
            .filter(|s| s["name"] == label.as_str())
            .count();
        assert!(n >= 20, "{label} ran once per round at least: {n} slices");
    }
    assert!(slices
        .iter()
        .all(|s| s["dur"].as_f64().is_some_and(|d| d >= 0.0)));
    let text = run_cli(&["export", &rec_s, "--format", "text"]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert_eq!(
        text.lines().filter(|l| l.starts_with("thread ")).count(),
        1,
        "one lane for the server's thread: {text}"
    );
    assert!(
        text.contains("(conn)"),
        "the connections in the legend: {text}"
    );
    std::fs::remove_file(&rec).unwrap();
    std::fs::remove_file(&trace).unwrap();

    // Stop the server: the flag, one connection to wake the accept loop,
    // and the clients hang up.
    STOP.store(true, Ordering::Relaxed);
    drop(TcpStream::connect(addr).unwrap());
    drop(clients);
    done_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the server ends");
    server.join().unwrap();
    let out = run_cli(&["snapshot", &pid]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "monitoring ended with the runtime"
    );
}
