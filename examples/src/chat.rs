//! A line-based chat server on one thread: every line a client sends is
//! broadcast to all the others as `name: line`.
//!
//! - Clients start as `guestN`; `/nick NAME` renames (1 to 32 characters
//!   without spaces, unique), `/quit` leaves. Joins, renames and leaves are
//!   announced as lines starting with `* `. Every line that starts with
//!   `/` is a command: a wrong one (`/nick` without a name, an unknown
//!   `/frobnicate`) is answered to its sender only, never broadcast.
//! - Each connection is a fiber (reading lines) plus a writer fiber that
//!   drains the client's own bounded queue of outgoing lines.
//! - **Slow clients never block the others.** Broadcasting only *tries* to
//!   queue a line (`try_send`). A client whose queue is full while its
//!   writer waits for the client's socket to take more data (the kernel's
//!   buffers toward it are full too: it is not reading) is disconnected:
//!   removed from the room, its socket shut down (which wakes its fibers),
//!   and the others see `* NAME was disconnected (too slow)`. A full queue
//!   whose writer simply has not run yet makes the broadcasting fiber yield
//!   until the writer has drained it or got stuck. No line is dropped
//!   silently: a client either gets every line, in order, or loses its
//!   connection.
//! - Lines longer than [`MAX_LINE`] bytes are split; invalid UTF-8 is
//!   replaced.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::Shutdown;
use std::rc::Rc;

use weft::net::{run_server, ServerOptions, TcpListener, TcpStream};
use weft::sync::mpsc::{self, error::TrySendError};
use weft::Switch;

/// The longest line relayed as one message, in bytes.
///
/// ```
/// assert_eq!(weft_examples::chat::MAX_LINE, 4096);
/// ```
pub const MAX_LINE: usize = 4096;

/// Settings of [`serve`].
///
/// ```
/// let options = weft_examples::chat::ChatOptions { queue: 16 };
/// assert_eq!(weft_examples::chat::ChatOptions::default().queue, 64);
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
pub struct ChatOptions {
    /// Lines queued for one client before it counts as too slow (default 64).
    pub queue: usize,
}

impl Default for ChatOptions {
    fn default() -> Self {
        ChatOptions { queue: 64 }
    }
}

struct Member {
    name: String,
    queue: mpsc::Sender<Rc<str>>,
    stream: Rc<TcpStream>,
    /// Its writer is waiting for the client's socket to take more data.
    stuck: Rc<Cell<bool>>,
}

/// Who is connected. Only touched between blocking calls (one thread, and
/// no borrow is held across a suspension).
#[derive(Default)]
struct Room {
    members: RefCell<HashMap<u64, Member>>,
    next_id: Cell<u64>,
}

impl Room {
    /// Queues `line` for every member except `from`. A full queue whose
    /// writer is waiting for its client's socket means a slow client: it is
    /// disconnected, and that is announced to the others in turn. A full
    /// queue whose writer has simply not run yet gets it to run: this
    /// fiber yields (every runnable fiber runs) and tries again.
    ///
    /// The announcements are broadcast from this loop, one after another,
    /// never from inside the broadcast that disconnected someone: with
    /// thousands of slow clients at once, nesting them would be as deep as
    /// there are slow clients and would overflow the fiber's stack.
    fn broadcast(&self, from: Option<u64>, line: &str) {
        let mut pending = VecDeque::from([(from, line.to_string())]);
        while let Some((from, line)) = pending.pop_front() {
            for name in self.deliver(from, &line) {
                pending.push_back((None, format!("* {name} was disconnected (too slow)")));
            }
        }
    }

    /// Queues one line as `broadcast` describes; returns the names of the
    /// members it disconnected as too slow.
    fn deliver(&self, from: Option<u64>, line: &str) -> Vec<String> {
        let line: Rc<str> = Rc::from(format!("{line}\n"));
        let mut disconnected = Vec::new();
        let mut full = self.offer(from, None, &line);
        while !full.is_empty() {
            let slow: Vec<u64> = {
                let members = self.members.borrow();
                full.iter()
                    .copied()
                    .filter(|id| members.get(id).is_some_and(|m| m.stuck.get()))
                    .collect()
            };
            disconnected.extend(slow.iter().filter_map(|id| self.disconnect(*id)));
            full.retain(|id| !slow.contains(id));
            if full.is_empty() {
                break;
            }
            weft::fiber::yield_now();
            full = self.offer(from, Some(&full), &line);
        }
        disconnected
    }

    /// Removes a slow member: its socket is shut down, which wakes its
    /// reader and writer, and its handler ends. Returns its name if it was
    /// still in the room.
    fn disconnect(&self, id: u64) -> Option<String> {
        let m = self.members.borrow_mut().remove(&id)?;
        let _ = m.stream.shutdown(Shutdown::Both);
        Some(m.name)
    }

    /// Tries to queue `line` for the members in `only` (or all but
    /// `from`); returns those whose queue is full.
    fn offer(&self, from: Option<u64>, only: Option<&[u64]>, line: &Rc<str>) -> Vec<u64> {
        let members = self.members.borrow();
        let mut full = Vec::new();
        for (id, m) in members.iter() {
            if Some(*id) == from || only.is_some_and(|o| !o.contains(id)) {
                continue;
            }
            match m.queue.try_send(line.clone()) {
                Ok(()) | Err(TrySendError::Closed(_)) => {}
                Err(TrySendError::Full(_)) => full.push(*id),
            }
        }
        full
    }

    /// Queues `line` for member `id` only.
    fn tell(&self, id: u64, line: &str) {
        if let Some(m) = self.members.borrow().get(&id) {
            let _ = m.queue.try_send(Rc::from(format!("{line}\n")));
        }
    }

    fn name_of(&self, id: u64) -> Option<String> {
        self.members.borrow().get(&id).map(|m| m.name.clone())
    }

    fn rename(&self, id: u64, new: &str) -> Result<String, &'static str> {
        let valid = !new.is_empty() && new.len() <= 32 && !new.contains(char::is_whitespace);
        if !valid {
            return Err("names are 1 to 32 characters without spaces");
        }
        let mut members = self.members.borrow_mut();
        if members.values().any(|m| m.name == new) {
            return Err("that name is taken");
        }
        let m = members.get_mut(&id).ok_or("you are not in the room")?;
        Ok(std::mem::replace(&mut m.name, new.to_string()))
    }
}

/// A line that starts with `/`.
#[derive(Debug, PartialEq)]
enum Command<'a> {
    Quit,
    Nick(&'a str),
    /// Not a command, or one used wrongly: why, for the sender.
    Invalid(String),
}

impl<'a> Command<'a> {
    const HELP: &'static str = "commands: /nick NAME, /quit";

    fn parse(line: &'a str) -> Command<'a> {
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        match word {
            "/quit" if rest.is_empty() => Command::Quit,
            "/nick" if rest.is_empty() => Command::Invalid("usage: /nick NAME".to_string()),
            "/nick" => Command::Nick(rest),
            "/quit" => Command::Invalid("usage: /quit".to_string()),
            other => Command::Invalid(format!("unknown command {other} ({})", Self::HELP)),
        }
    }
}

/// Removes its member from the room when the connection ends, however it
/// ends (error, cancellation), and announces it if it was still there.
struct Leave<'a> {
    room: &'a Room,
    id: u64,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        let gone = self.room.members.borrow_mut().remove(&self.id);
        if let Some(m) = gone {
            self.room.broadcast(None, &format!("* {} left", m.name));
        }
    }
}

/// Serves chat clients on `listener` until the calling fiber is
/// cancelled. Connection errors (a reset client) end only that client.
///
/// ```
/// use std::io::{BufRead, BufReader};
/// use weft::net::{TcpListener, TcpStream};
///
/// weft::run(|_env| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     weft::Switch::run(|sw| {
///         sw.fork_daemon(|| weft_examples::chat::serve(&listener, Default::default()));
///         let mut client = BufReader::new(TcpStream::connect(addr)?);
///         let mut welcome = String::new();
///         client.read_line(&mut welcome)?;
///         assert!(welcome.starts_with("* welcome, you are guest1"));
///         Ok(())
///     })
///     .unwrap(); // the server (a daemon fiber) is cancelled here
/// });
/// ```
pub fn serve(listener: &TcpListener, options: ChatOptions) -> weft::Result<()> {
    let room = Room::default();
    let server_options = ServerOptions::new().on_error(|e| {
        // A reset or kicked client: worth a line on stderr, nothing more.
        let _ = writeln!(weft::io::stderr(), "chat: a connection ended: {e}");
    });
    run_server(listener, server_options, |stream, _peer| {
        client(&room, Rc::new(stream), options.queue.max(1))
    })
}

fn client(room: &Room, stream: Rc<TcpStream>, queue: usize) -> weft::Result<()> {
    let id = room.next_id.get() + 1;
    room.next_id.set(id);
    let name = format!("guest{id}");
    let (tx, mut rx) = mpsc::channel::<Rc<str>>(queue);
    let stuck = Rc::new(Cell::new(false));
    room.members.borrow_mut().insert(
        id,
        Member {
            name: name.clone(),
            queue: tx,
            stream: stream.clone(),
            stuck: stuck.clone(),
        },
    );
    let _leave = Leave { room, id };
    room.tell(
        id,
        &format!("* welcome, you are {name} (/nick NAME to rename, /quit to leave)"),
    );
    room.broadcast(Some(id), &format!("* {name} joined"));

    Switch::run(|sw| {
        // The writer: this client's queue to its socket. It ends when the
        // queue closes (the member left the room) or the socket fails.
        let out = stream.clone();
        let stuck = stuck.clone();
        sw.fork(move || -> weft::Result<()> {
            while let Some(line) = rx.recv() {
                let mut rest = line.as_bytes();
                match out.try_write(rest) {
                    Ok(n) => rest = &rest[n..],
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) if room.name_of(id).is_none() => return Ok(()), // kicked
                    Err(e) => return Err(e.into()),
                }
                if !rest.is_empty() {
                    // The client's socket is full: we wait for it to read.
                    stuck.set(true);
                    let r = (&*out).write_all(rest);
                    stuck.set(false);
                    if r.is_err() && room.name_of(id).is_none() {
                        // Disconnected as too slow (the socket was shut
                        // down under us): not an error of the connection.
                        return Ok(());
                    }
                    r?;
                }
            }
            Ok(())
        });
        let mut reader = BufReader::new(&*stream);
        let mut raw = Vec::new();
        loop {
            raw.clear();
            let n = (&mut reader)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut raw)?;
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&raw);
            let line = text.trim_end_matches(['\r', '\n']);
            if line.starts_with('/') {
                match Command::parse(line) {
                    Command::Quit => break,
                    Command::Nick(new) => match room.rename(id, new) {
                        Ok(old) => room.broadcast(None, &format!("* {old} is now {new}")),
                        Err(why) => room.tell(id, &format!("* {why}")),
                    },
                    // Told to the sender only, never broadcast.
                    Command::Invalid(why) => room.tell(id, &format!("* {why}")),
                }
                continue;
            }
            let Some(me) = room.name_of(id) else {
                break; // disconnected as too slow
            };
            room.broadcast(Some(id), &format!("{me}: {line}"));
        }
        // Leaving closes this client's queue, so the writer sends what is
        // queued and ends.
        drop(_leave);
        Ok(())
    })
}
