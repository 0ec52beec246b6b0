// The service's own tests, shared by every stage of Part II: each stage's
// `tests/service.rs` imports its `Config` and `testing::start` and then
// includes this file. They talk to the server as a black box, with std's
// blocking sockets from plain threads, so they do not change when the
// server moves from tokio to weft. Every read has a time limit, so a hung
// server fails a test instead of stalling it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

/// A correct server answers in milliseconds; a read that waits this long
/// fails the test.
const LIMIT: Duration = Duration::from_secs(10);

/// A line-protocol connection with a read limit.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        Conn {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    fn send(&mut self, lines: &str) {
        self.writer.write_all(lines.as_bytes()).expect("send");
    }

    fn reply(&mut self) -> String {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .expect("a reply within LIMIT");
        assert!(
            n > 0,
            "the server closed the connection instead of replying"
        );
        line.trim_end_matches('\n').to_string()
    }

    fn call(&mut self, command: &str) -> String {
        self.send(&format!("{command}\n"));
        self.reply()
    }

    /// Reads to end of stream: what the server sent before closing.
    fn rest(mut self) -> String {
        let mut all = String::new();
        self.reader
            .read_to_string(&mut all)
            .expect("the server closed the connection within LIMIT");
        all
    }
}

#[test]
fn get_set_del_incr() {
    let server = start(Config::default()).unwrap();
    let mut c = Conn::open(server.addr());
    assert_eq!(c.call("GET k"), "NIL");
    assert_eq!(c.call("SET k a value with spaces"), "OK");
    assert_eq!(c.call("GET k"), "VALUE a value with spaces");
    assert_eq!(c.call("DEL k"), "DELETED");
    assert_eq!(c.call("DEL k"), "NIL");
    assert_eq!(c.call("INCR n 5"), "INT 5");
    assert_eq!(c.call("incr n -7"), "INT -2");
    assert_eq!(c.call("GET n"), "VALUE -2");
    server.stop().unwrap();
}

#[test]
fn errors_are_replies_and_the_connection_goes_on() {
    let server = start(Config::default()).unwrap();
    let mut c = Conn::open(server.addr());
    assert_eq!(c.call("SET word hello"), "OK");
    assert_eq!(c.call("INCR word"), "ERR the value is not an integer");
    assert_eq!(c.call("FLY away"), "ERR unknown command \"FLY\"");
    assert_eq!(c.call("GET"), "ERR GET needs a key");
    assert_eq!(c.call(""), "ERR empty command");
    assert_eq!(
        c.call(&format!("INCR big {}", i64::MAX)),
        format!("INT {}", i64::MAX)
    );
    assert_eq!(c.call("INCR big"), "ERR the result does not fit in 64 bits");
    assert_eq!(c.call("GET word"), "VALUE hello");
    server.stop().unwrap();
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let server = start(Config::default()).unwrap();
    let mut c = Conn::open(server.addr());
    let batch: String = (0..200).map(|_| "INCR n\nGET n\n").collect();
    c.send(&batch);
    for i in 1..=200 {
        assert_eq!(c.reply(), format!("INT {i}"));
        assert_eq!(c.reply(), format!("VALUE {i}"));
    }
    server.stop().unwrap();
}

#[test]
fn quit_says_bye_and_closes() {
    let server = start(Config::default()).unwrap();
    let mut c = Conn::open(server.addr());
    c.send("PING\nQUIT\nPING\n");
    assert_eq!(c.rest(), "PONG\nBYE\n", "nothing is answered after QUIT");
    server.stop().unwrap();
}

#[test]
fn a_client_closing_its_side_gets_its_replies_first() {
    let server = start(Config::default()).unwrap();
    let mut c = Conn::open(server.addr());
    c.send("SET a 1\nGET a\n");
    c.writer.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(c.rest(), "OK\nVALUE 1\n");
    server.stop().unwrap();
}

#[test]
fn concurrent_increments_are_never_lost() {
    let server = start(Config::default()).unwrap();
    let addr = server.addr();
    let clients: Vec<_> = (0..20)
        .map(|_| {
            thread::spawn(move || {
                let mut c = Conn::open(addr);
                for _ in 0..50 {
                    assert!(c.call("INCR hits").starts_with("INT "));
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    assert_eq!(Conn::open(addr).call("GET hits"), "VALUE 1000");
    server.stop().unwrap();
}

#[test]
fn the_connection_limit_holds_the_next_client_until_one_leaves() {
    let server = start(Config { max_connections: 2 }).unwrap();
    let mut a = Conn::open(server.addr());
    let mut b = Conn::open(server.addr());
    assert_eq!(a.call("INCR n"), "INT 1");
    assert_eq!(b.call("INCR n"), "INT 2");
    // The third connection is made (the kernel queues it), but the server
    // does not accept it while two are open: its command waits.
    let mut c = Conn::open(server.addr());
    c.send("INCR n\n");
    c.reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut early = String::new();
    let r = c.reader.read_line(&mut early);
    assert!(
        r.is_err() && early.is_empty(),
        "a third client was served while two were connected: {early:?}"
    );
    c.reader.get_ref().set_read_timeout(Some(LIMIT)).unwrap();
    assert_eq!(a.call("INCR n"), "INT 3");
    drop(a); // frees a place
    assert_eq!(c.reply(), "INT 4");
    server.stop().unwrap();
}

#[test]
fn shutdown_closes_every_connection_and_refuses_new_ones() {
    let server = start(Config::default()).unwrap();
    let addr = server.addr();
    let idle = Conn::open(addr);
    let mut busy = Conn::open(addr);
    assert_eq!(busy.call("SET k v"), "OK");
    server.stop().unwrap(); // returns once every connection is closed
    assert_eq!(idle.rest(), "", "the idle connection was closed");
    assert_eq!(busy.rest(), "", "the busy connection was closed");
    assert!(TcpStream::connect(addr).is_err(), "the listener is closed");
}
