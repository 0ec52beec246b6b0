//! The load client of Part II: the same workload against every stage of
//! the key-value service, from plain threads with std's blocking sockets
//! (so the client is the same whatever runtime the server uses).
//!
//! `cargo run --release -p kv-load` prints the table of
//! `guides/tutorial/12-stage3-direct-and-many-cores.md`.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

/// The workload.
///
/// ```
/// let w = kv_load::Workload { connections: 4, requests: 100 };
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// Client connections, each on its own thread, all at once.
    pub connections: usize,
    /// Requests per connection, one at a time (send, wait for the reply):
    /// `SET` and `GET` in turn over 100 keys per connection.
    pub requests: usize,
}

/// What one run measured.
///
/// ```
/// let m = kv_load::Measured { requests: 10, elapsed: std::time::Duration::from_secs(1), latencies_us: vec![5; 10] };
/// assert_eq!(m.per_second(), 10.0);
/// ```
#[derive(Clone, Debug)]
pub struct Measured {
    /// Requests answered.
    pub requests: usize,
    /// From the first connection to the last reply.
    pub elapsed: Duration,
    /// Every request's round trip, in microseconds.
    pub latencies_us: Vec<u32>,
}

impl Measured {
    /// Requests per second.
    ///
    /// ```
    /// let m = kv_load::Measured { requests: 50, elapsed: std::time::Duration::from_millis(500), latencies_us: vec![] };
    /// assert_eq!(m.per_second(), 100.0);
    /// ```
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p`-th percentile of the latencies (0 < p <= 100), in µs.
    ///
    /// ```
    /// let m = kv_load::Measured { requests: 4, elapsed: std::time::Duration::from_secs(1), latencies_us: vec![4, 1, 3, 2] };
    /// assert_eq!(m.percentile(50.0), 2);
    /// assert_eq!(m.percentile(100.0), 4);
    /// ```
    pub fn percentile(&self, p: f64) -> u32 {
        let mut sorted = self.latencies_us.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return 0;
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }
}

/// Runs `workload` against the server at `addr` and checks every reply.
///
/// ```no_run
/// let m = kv_load::drive("127.0.0.1:7379".parse().unwrap(), kv_load::Workload { connections: 2, requests: 10 }).unwrap();
/// ```
pub fn drive(addr: SocketAddr, workload: Workload) -> io::Result<Measured> {
    let start = Instant::now();
    let clients: Vec<_> = (0..workload.connections)
        .map(|c| thread::spawn(move || one_connection(addr, c, workload.requests)))
        .collect();
    let mut latencies_us = Vec::with_capacity(workload.connections * workload.requests);
    for client in clients {
        let mine = client
            .join()
            .map_err(|_| io::Error::other("a client thread panicked"))??;
        latencies_us.extend(mine);
    }
    Ok(Measured {
        requests: latencies_us.len(),
        elapsed: start.elapsed(),
        latencies_us,
    })
}

fn one_connection(addr: SocketAddr, c: usize, requests: usize) -> io::Result<Vec<u32>> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut replies = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    let mut latencies = Vec::with_capacity(requests);
    let mut line = String::new();
    for i in 0..requests {
        let key = format!("c{c}k{}", (i / 2) % 100);
        let (request, expected) = if i % 2 == 0 {
            (format!("SET {key} value-{i}\n"), "OK\n".to_string())
        } else {
            (format!("GET {key}\n"), format!("VALUE value-{}\n", i - 1))
        };
        let sent = Instant::now();
        out.write_all(request.as_bytes())?;
        line.clear();
        replies.read_line(&mut line)?;
        latencies.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
        if line != expected {
            return Err(io::Error::other(format!(
                "connection {c}, request {i}: expected {expected:?}, got {line:?}"
            )));
        }
    }
    Ok(latencies)
}
