//! [`duplex`]: an in-memory, bidirectional byte stream between two fibers
//! (tokio's `io::duplex`), with a bounded buffer in each direction.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::sync::Notify;

/// One direction: bytes written by one end, read by the other.
struct Pipe {
    state: Mutex<PipeState>,
    /// Signalled when bytes arrive or the writer closes.
    readable: Notify,
    /// Signalled when room appears or the reader closes.
    writable: Notify,
}

struct PipeState {
    buf: VecDeque<u8>,
    max: usize,
    /// The writing end shut down or was dropped: reads end after `buf`.
    write_closed: bool,
    /// The reading end was dropped: writes fail with `BrokenPipe`.
    read_closed: bool,
}

impl Pipe {
    fn new(max: usize) -> Arc<Pipe> {
        Arc::new(Pipe {
            state: Mutex::new(PipeState {
                buf: VecDeque::new(),
                max,
                write_closed: false,
                read_closed: false,
            }),
            readable: Notify::new(),
            writable: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, PipeState> {
        // Nothing panics while holding the lock; a poisoned state is whole.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[track_caller]
    fn read(&self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            {
                let mut st = self.lock();
                if !st.buf.is_empty() {
                    let n = out.len().min(st.buf.len());
                    for (dst, src) in out.iter_mut().zip(st.buf.drain(..n)) {
                        *dst = src;
                    }
                    drop(st);
                    self.writable.notify_one();
                    return Ok(n);
                }
                if st.write_closed {
                    return Ok(0);
                }
            }
            // A notify_one between the check and here is kept as a permit,
            // so this cannot miss a wake-up.
            self.readable.notified();
        }
    }

    #[track_caller]
    fn write(&self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        loop {
            {
                let mut st = self.lock();
                if st.read_closed {
                    return Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        "the other end of the duplex stream is gone",
                    ));
                }
                if st.write_closed {
                    return Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        "this end of the duplex stream was shut down for writing",
                    ));
                }
                let room = st.max - st.buf.len();
                if room > 0 {
                    let n = data.len().min(room);
                    st.buf.extend(&data[..n]);
                    drop(st);
                    self.readable.notify_one();
                    return Ok(n);
                }
            }
            self.writable.notified();
        }
    }

    fn close_write(&self) {
        self.lock().write_closed = true;
        // Every reader must see the end, not just one.
        self.readable.notify_waiters();
        self.readable.notify_one();
    }

    fn close_read(&self) {
        self.lock().read_closed = true;
        self.writable.notify_waiters();
        self.writable.notify_one();
    }
}

/// One end of an in-memory stream from [`duplex`]. `Read` suspends the
/// fiber until the other end writes (or is gone: then end of file);
/// `Write` suspends while this direction's buffer is full, and fails with
/// `BrokenPipe` once the other end is gone. Both also work on
/// `&DuplexStream`, so one fiber may read while another writes.
///
/// ```
/// use std::io::{Read, Write};
/// weft::run(|_env| {
///     let (mut client, mut server) = weft::io::duplex(64);
///     client.write_all(b"ping").unwrap();
///     let mut buf = [0u8; 4];
///     server.read_exact(&mut buf).unwrap();
///     assert_eq!(&buf, b"ping");
/// });
/// ```
pub struct DuplexStream {
    incoming: Arc<Pipe>,
    outgoing: Arc<Pipe>,
}

/// A connected pair of in-memory streams, each direction buffering up to
/// `max_buf_size` bytes (tokio's `io::duplex`): handy for testing a
/// protocol without sockets. Dropping one end makes the other read end of
/// file and fail to write.
///
/// ```
/// use std::io::{Read, Write};
/// weft::run(|_env| {
///     let (mut a, mut b) = weft::io::duplex(8);
///     let (sent, got) = weft::fiber::both(
///         // 100 bytes through an 8-byte buffer: the writer waits for room.
///         move || { a.write_all(&[7u8; 100]).unwrap(); },
///         move || { let mut v = Vec::new(); b.read_to_end(&mut v).unwrap(); v },
///     );
///     assert_eq!(sent, ());
///     assert_eq!(got, vec![7u8; 100]);
/// });
/// ```
///
/// # Panics
///
/// If `max_buf_size` is zero (nothing could ever be written).
pub fn duplex(max_buf_size: usize) -> (DuplexStream, DuplexStream) {
    assert!(
        max_buf_size > 0,
        "weft::io::duplex needs a buffer of at least one byte"
    );
    let a_to_b = Pipe::new(max_buf_size);
    let b_to_a = Pipe::new(max_buf_size);
    (
        DuplexStream {
            incoming: b_to_a.clone(),
            outgoing: a_to_b.clone(),
        },
        DuplexStream {
            incoming: a_to_b,
            outgoing: b_to_a,
        },
    )
}

impl DuplexStream {
    /// Shuts down reading, writing or both, like a socket's `shutdown`:
    /// after `Shutdown::Write` the other end reads end of file once it has
    /// read what was written; after `Shutdown::Read` its writes fail.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::net::Shutdown;
    /// weft::run(|_env| {
    ///     let (a, mut b) = weft::io::duplex(16);
    ///     a.shutdown(Shutdown::Write).unwrap();
    ///     let mut rest = Vec::new();
    ///     assert_eq!(b.read_to_end(&mut rest).unwrap(), 0);
    /// });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            self.outgoing.close_write();
        }
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.incoming.close_read();
        }
        Ok(())
    }
}

impl Read for &DuplexStream {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.incoming.read(buf)
    }
}

impl Write for &DuplexStream {
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outgoing.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for DuplexStream {
    #[track_caller]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for DuplexStream {
    #[track_caller]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for DuplexStream {
    fn drop(&mut self) {
        self.outgoing.close_write();
        self.incoming.close_read();
    }
}

impl std::fmt::Debug for DuplexStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuplexStream").finish_non_exhaustive()
    }
}
