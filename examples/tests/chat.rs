//! The chat server (`weft_examples::chat`) in-process: broadcasts with the
//! sender's name, `/nick`, join and leave notices, many talkers at once,
//! and a client that does not read being disconnected without holding up
//! the others.

use std::cell::{Cell, RefCell};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::Duration;

use weft::net::{TcpListener, TcpStream};
use weft::Switch;
use weft_examples::chat::{serve, ChatOptions};

/// A chat client: lines in through `input`, out through `output` (a second
/// descriptor of the same socket, so one fiber can talk while another
/// listens).
struct Client {
    input: BufReader<TcpStream>,
    output: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let conn = TcpStream::connect(addr).unwrap();
        let dup = conn.as_fd().try_clone_to_owned().unwrap();
        Client {
            input: BufReader::new(conn),
            output: TcpStream::from_std(std::net::TcpStream::from(dup)).unwrap(),
        }
    }

    fn say(&self, line: &str) {
        say(&self.output, line)
    }

    fn next(&mut self) -> Option<String> {
        next(&mut self.input)
    }

    #[track_caller]
    fn expect(&mut self, want: &str) {
        assert_eq!(self.next().as_deref(), Some(want));
    }
}

fn say(mut out: &TcpStream, line: &str) {
    out.write_all(format!("{line}\n").as_bytes()).unwrap();
}

/// The next line, or `None` at end of stream; fails the test if the
/// server says nothing for 60 s.
fn next(input: &mut BufReader<TcpStream>) -> Option<String> {
    weft::time::timeout(Duration::from_secs(60), || {
        let mut line = String::new();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end().to_string()),
        }
    })
    .expect("the chat server went silent")
}

/// Runs `f` with the address of a chat server running in the same switch.
fn with_server(options: ChatOptions, f: impl FnOnce(SocketAddr)) {
    weft::run(|_env| {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        Switch::run(|sw| {
            sw.fork_daemon(|| serve(&listener, options));
            f(addr);
            Ok(())
        })
        .unwrap();
    });
}

const WELCOME: &str = "(/nick NAME to rename, /quit to leave)";

#[test]
fn broadcast_nick_join_and_leave() {
    with_server(ChatOptions::default(), |addr| {
        let mut a = Client::connect(addr);
        a.expect(&format!("* welcome, you are guest1 {WELCOME}"));
        let mut b = Client::connect(addr);
        b.expect(&format!("* welcome, you are guest2 {WELCOME}"));
        a.expect("* guest2 joined");
        let mut c = Client::connect(addr);
        c.expect(&format!("* welcome, you are guest3 {WELCOME}"));
        a.expect("* guest3 joined");
        b.expect("* guest3 joined");

        a.say("/nick alice");
        for x in [&mut a, &mut b, &mut c] {
            x.expect("* guest1 is now alice");
        }
        a.say("hello, all");
        b.expect("alice: hello, all");
        c.expect("alice: hello, all");

        b.say("/nick alice");
        b.expect("* that name is taken");
        b.say("/nick two words");
        b.expect("* names are 1 to 32 characters without spaces");
        // Wrong commands are answered to the sender only.
        b.say("/nick");
        b.expect("* usage: /nick NAME");
        b.say("/frobnicate now");
        b.expect("* unknown command /frobnicate (commands: /nick NAME, /quit)");
        b.say("/quit please");
        b.expect("* usage: /quit");
        b.say("hi alice");
        a.expect("guest2: hi alice"); // a never got its own line back
        c.expect("guest2: hi alice");

        c.say("/quit");
        assert_eq!(c.next(), None);
        a.expect("* guest3 left");
        b.expect("* guest3 left");
        drop(b);
        a.expect("* guest2 left");
    });
}

#[test]
fn five_talkers_at_once_each_hear_everyone_else_in_order() {
    const LINES: usize = 300;
    with_server(ChatOptions::default(), |addr| {
        let mut clients: Vec<Client> = (0..5).map(|_| Client::connect(addr)).collect();
        // Everyone is in the room before anyone talks: the last one's join
        // notice has reached the first four.
        for (i, c) in clients.iter_mut().enumerate() {
            c.expect(&format!("* welcome, you are guest{} {WELCOME}", i + 1));
            for j in i + 2..=5 {
                c.expect(&format!("* guest{j} joined"));
            }
        }
        Switch::run(|sw| {
            for (i, c) in clients.into_iter().enumerate() {
                let me = i + 1;
                sw.fork(move || {
                    let Client { mut input, output } = c;
                    let heard = RefCell::new(vec![0usize; 6]);
                    weft::fiber::both(
                        || {
                            for n in 0..LINES {
                                say(&output, &format!("line {n}"));
                            }
                        },
                        || {
                            for _ in 0..4 * LINES {
                                let line = next(&mut input).expect("connection closed");
                                let (who, text) = line.split_once(": ").unwrap();
                                let from: usize =
                                    who.strip_prefix("guest").unwrap().parse().unwrap();
                                assert_ne!(from, me, "heard its own line");
                                let mut h = heard.borrow_mut();
                                assert_eq!(text, format!("line {}", h[from]), "from {from}");
                                h[from] += 1;
                            }
                        },
                    );
                    let heard = heard.into_inner();
                    for (from, n) in heard.iter().enumerate().skip(1) {
                        assert_eq!(*n, if from == me { 0 } else { LINES });
                    }
                });
            }
            Ok(())
        })
        .unwrap();
    });
}

#[test]
fn a_client_that_never_reads_is_disconnected_and_nobody_waits_for_it() {
    with_server(ChatOptions { queue: 16 }, |addr| {
        let mut observer = Client::connect(addr);
        observer.expect(&format!("* welcome, you are guest1 {WELCOME}"));
        let slow = TcpStream::connect(addr).unwrap();
        slow.set_buffer_sizes(Some(4096), None).unwrap();
        observer.expect("* guest2 joined");
        let talker = Client::connect(addr);
        observer.expect("* guest3 joined");

        let kicked = Cell::new(false);
        let sent = Cell::new(0usize);
        let line = "x".repeat(1000);
        Switch::run(|sw| {
            sw.fork(|| {
                // Talk until the slow client is gone (at most 50 MB).
                while !kicked.get() && sent.get() < 50_000 {
                    talker.say(&format!("{} {line}", sent.get()));
                    sent.set(sent.get() + 1);
                }
                talker.say("done");
            });
            let mut expected = 0;
            loop {
                let got = observer.next().expect("the observer was disconnected");
                if got == "* guest2 was disconnected (too slow)" {
                    assert!(!kicked.get(), "kicked twice");
                    kicked.set(true);
                    continue;
                }
                if got == "guest3: done" {
                    break;
                }
                // Every line arrives, in order, while the slow one lags.
                assert_eq!(got, format!("guest3: {expected} {line}"));
                expected += 1;
            }
            assert!(kicked.get(), "the slow client was never disconnected");
            assert_eq!(expected, sent.get());
            Ok(())
        })
        .unwrap();

        // Its connection is closed for reading: nothing it says arrives.
        let _ = (&slow).write_all(b"still here?\n");
        talker.say("end");
        observer.expect("guest3: end");
    });
}

/// 2,000 clients that never read and one talker who floods the room:
/// the clients all become too slow at about the same moment and are all
/// disconnected, each announced once, and the server keeps serving. (Each
/// disconnect was announced by a broadcast that disconnected the next
/// slow client from inside it, as deep as there were slow clients: this
/// overflowed the fiber's stack.)
#[test]
fn two_thousand_clients_that_never_read_are_all_disconnected() {
    const SLOW: usize = 2000;
    // A short queue: a client is found slow soon after its socket is full.
    let options = ChatOptions { queue: 4 };
    with_server(options, |addr| {
        let mut talker = Client::connect(addr);
        // The talker is never slow: every notice fits in its buffer.
        (talker.input.get_ref())
            .set_buffer_sizes(Some(1 << 20), None)
            .unwrap();
        talker.expect(&format!("* welcome, you are guest1 {WELCOME}"));
        // One connect at a time (a burst would overflow the listen backlog
        // and wait for SYN retries). The join notices they get fit in
        // their receive buffers, so nobody is slow yet.
        let slow: Vec<TcpStream> = (0..SLOW)
            .map(|_| TcpStream::connect(addr).unwrap())
            .collect();
        for _ in 0..SLOW {
            let line = talker.next().expect("the talker was disconnected");
            assert!(line.ends_with(" joined"), "{line}");
        }
        // From now on they can take little more.
        for s in &slow {
            s.set_buffer_sizes(Some(4096), None).unwrap();
        }
        let Client { mut input, output } = talker;
        let kicked = RefCell::new(std::collections::HashSet::new());
        let sent = Cell::new(0usize);
        let big = "x".repeat(4000);
        weft::fiber::both(
            || {
                // Flood until every slow client is gone (bounded).
                while kicked.borrow().len() < SLOW && sent.get() < 50_000 {
                    say(&output, &big);
                    sent.set(sent.get() + 1);
                    weft::fiber::yield_now(); // let the notices be read
                }
            },
            || {
                while kicked.borrow().len() < SLOW {
                    let line = next(&mut input).expect("the talker was disconnected");
                    let name = line
                        .strip_prefix("* ")
                        .and_then(|l| l.strip_suffix(" was disconnected (too slow)"))
                        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
                    assert!(kicked.borrow_mut().insert(name.to_string()), "{name} twice");
                }
            },
        );
        drop(slow);
        // The server still serves: a newcomer joins and is heard.
        let mut late = Client::connect(addr);
        late.expect(&format!("* welcome, you are guest{} {WELCOME}", SLOW + 2));
        late.say("still here");
        let mut input = input;
        loop {
            let line = next(&mut input).expect("the talker was disconnected");
            if line == format!("guest{}: still here", SLOW + 2) {
                break;
            }
        }
    });
}
