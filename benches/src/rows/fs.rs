//! File rows: sequential 64 KiB reads of a 256 MiB file and 100,000
//! random 4 KiB reads of a cached file, weft (each backend) vs tokio::fs,
//! with std::fs as the near-limit baseline; and random 4 KiB reads of
//! the same file out of the page cache, 16 readers at once.

use std::io::{Read, SeekFrom};
use std::os::unix::fs::FileExt;

use std::time::Duration;

use crate::harness::{interleaved_medians, median_ns, timed, Row, Scale};

fn make_file(bytes: usize) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("weft-bench-{}-{bytes}.dat", std::process::id()));
    if std::fs::metadata(&path).map(|m| m.len() as usize).ok() != Some(bytes) {
        let chunk: Vec<u8> = (0..1 << 20).map(|i| (i * 31 % 251) as u8).collect();
        let mut f = std::fs::File::create(&path).unwrap();
        for _ in 0..bytes >> 20 {
            std::io::Write::write_all(&mut f, &chunk).unwrap();
        }
    }
    // Read it once so it is in the page cache for every side.
    let _ = std::fs::read(&path).unwrap();
    path
}

fn offsets(n: usize, file_len: usize) -> Vec<u64> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    (0..n)
        .map(|_| rng.random_range(0..(file_len / 4096)) as u64 * 4096)
        .collect()
}

/// The weft backends that can start here, with their row labels.
fn available_backends() -> impl Iterator<Item = (weft::BackendKind, &'static str)> {
    [
        (weft::BackendKind::Posix, "posix"),
        (weft::BackendKind::Uring, "uring"),
    ]
    .into_iter()
    .filter(|(backend, _)| weft_runtime(*backend).is_some())
}

fn weft_runtime(backend: weft::BackendKind) -> Option<weft::Runtime> {
    weft::Runtime::builder().backend(backend).build().ok()
}

pub fn file_read(s: Scale) -> Vec<Row> {
    let len = if s.factor < 1.0 { 32 << 20 } else { 256 << 20 };
    let path = make_file(len);
    let samples = s.samples.min(5);
    let mut rows = Vec::new();

    // Sequential: the whole file in 64 KiB reads; per read.
    let chunks = len / 65536;
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tokio_seq = median_ns(samples, chunks, || {
        tokio_rt.block_on(async {
            use tokio::io::AsyncReadExt;
            let t = std::time::Instant::now();
            let mut f = tokio::fs::File::open(&path).await.unwrap();
            let mut buf = vec![0u8; 65536];
            while f.read(&mut buf).await.unwrap() > 0 {}
            t.elapsed()
        })
    });
    let std_seq = median_ns(samples, chunks, || {
        timed(|| {
            let mut f = std::fs::File::open(&path).unwrap();
            let mut buf = vec![0u8; 65536];
            while f.read(&mut buf).unwrap() > 0 {}
        })
    });
    rows.push(Row {
        name: "file_read_seq_64k_std".into(),
        weft: std_seq,
        tokio: tokio_seq,
        unit: "ns/read",
    });
    for (backend, label) in [
        (weft::BackendKind::Posix, "posix"),
        (weft::BackendKind::Uring, "uring"),
    ] {
        let Some(rt) = weft_runtime(backend) else {
            continue;
        };
        let ns = rt.run(|_env| {
            median_ns(samples, chunks, || {
                timed(|| {
                    let mut f = weft::fs::File::open(&path).unwrap();
                    let mut buf = vec![0u8; 65536];
                    while f.read(&mut buf).unwrap() > 0 {}
                })
            })
        });
        rows.push(Row {
            name: format!("file_read_seq_64k_{label}"),
            weft: ns,
            tokio: tokio_seq,
            unit: "ns/read",
        });
    }

    // Random: 100,000 reads of 4 KiB at random aligned offsets, every
    // side in alternation so machine drift hits them alike.
    let n = s.ops(100_000);
    let offs = offsets(n, len);
    let offs = &offs[..];
    let path = path.as_path();
    let mut on_tokio = || {
        tokio_rt.block_on(async {
            use tokio::io::{AsyncReadExt, AsyncSeekExt};
            let t = std::time::Instant::now();
            let mut f = tokio::fs::File::open(path).await.unwrap();
            let mut buf = vec![0u8; 4096];
            for &o in offs {
                f.seek(SeekFrom::Start(o)).await.unwrap();
                f.read_exact(&mut buf).await.unwrap();
            }
            t.elapsed()
        })
    };
    let mut on_std = || {
        timed(|| {
            let f = std::fs::File::open(path).unwrap();
            let mut buf = vec![0u8; 4096];
            for &o in offs {
                f.read_exact_at(&mut buf, o).unwrap();
            }
        })
    };
    let mut labels = vec!["std".to_string()];
    let mut weft_sides: Vec<Box<dyn FnMut() -> Duration + '_>> = Vec::new();
    for (backend, label) in available_backends() {
        for (readers, suffix) in [(1, ""), (CONCURRENT_READERS, "_16f")] {
            weft_sides.push(Box::new(move || {
                weft_read_batch(backend, path, offs, readers, false)
            }));
            labels.push(format!("{label}{suffix}"));
        }
    }
    let mut sides: Vec<&mut dyn FnMut() -> Duration> = vec![&mut on_tokio, &mut on_std];
    sides.extend(
        weft_sides
            .iter_mut()
            .map(|b| &mut **b as &mut dyn FnMut() -> Duration),
    );
    let medians = interleaved_medians(samples, n, &mut sides);
    let tokio_rand = medians[0];
    for (label, ns) in labels.iter().zip(&medians[1..]) {
        rows.push(Row {
            name: format!("file_read_rand_4k_{label}"),
            weft: *ns,
            tokio: tokio_rand,
            unit: "ns/read",
        });
    }
    let _ = std::fs::remove_file(path);
    rows
}

/// Drops `path`'s pages from the page cache, so the next reads of it go
/// to the disk.
fn drop_from_cache(path: &std::path::Path) {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(path).unwrap();
    // SAFETY: advice on a descriptor we hold open; no memory is passed.
    let r = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(r, 0, "posix_fadvise(DONTNEED) failed: {r}");
}

/// Tells the kernel reads of `fd` are random, so no side gets pages
/// read ahead for it by an earlier read.
fn no_readahead(fd: std::os::fd::RawFd) {
    // SAFETY: advice on a descriptor the caller holds open.
    let r = unsafe { libc::posix_fadvise(fd, 0, 0, libc::POSIX_FADV_RANDOM) };
    assert_eq!(r, 0, "posix_fadvise(RANDOM) failed: {r}");
}

/// Splits `offs` into `parts` nearly equal slices, one per reader.
fn shares(offs: &[u64], parts: usize) -> std::slice::Chunks<'_, u64> {
    offs.chunks(offs.len().div_ceil(parts))
}

const CONCURRENT_READERS: usize = 16;

/// One random-read batch on weft: `readers` fibers in a fresh runtime on
/// `backend` read their share of `offs` through one handle; with `cold`,
/// from a file just dropped from the page cache (no read-ahead).
fn weft_read_batch(
    backend: weft::BackendKind,
    path: &std::path::Path,
    offs: &[u64],
    readers: usize,
    cold: bool,
) -> Duration {
    use std::os::fd::AsRawFd;
    let rt = weft_runtime(backend).expect("backend checked before the rounds");
    rt.run(|_env| {
        let f = weft::fs::File::open(path).unwrap();
        if cold {
            no_readahead(f.as_raw_fd());
            drop_from_cache(path);
        }
        let f = &f;
        timed(|| {
            weft::fiber::all(shares(offs, readers).map(|part| {
                move || {
                    let mut buf = vec![0u8; 4096];
                    for &o in part {
                        f.read_exact_at(&mut buf, o).unwrap();
                    }
                }
            }));
        })
    })
}

/// The same on tokio::fs: `CONCURRENT_READERS` tasks, each with its own handle.
fn tokio_cold_batch(
    rt: &tokio::runtime::Runtime,
    path: &std::path::Path,
    offs: &[u64],
) -> Duration {
    use std::os::fd::AsRawFd;
    rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let mut files = Vec::new();
        for _ in 0..CONCURRENT_READERS {
            let f = tokio::fs::File::open(path).await.unwrap();
            no_readahead(f.as_raw_fd());
            files.push(f);
        }
        drop_from_cache(path);
        let t = std::time::Instant::now();
        let tasks: Vec<_> = shares(offs, CONCURRENT_READERS)
            .zip(files)
            .map(|(part, mut f)| {
                let part = part.to_vec();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    for o in part {
                        f.seek(SeekFrom::Start(o)).await.unwrap();
                        f.read_exact(&mut buf).await.unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        t.elapsed()
    })
}

/// The sequential baseline: one thread, plain `pread`s.
fn std_cold_batch(path: &std::path::Path, offs: &[u64]) -> Duration {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(path).unwrap();
    no_readahead(f.as_raw_fd());
    drop_from_cache(path);
    timed(|| {
        let mut buf = vec![0u8; 4096];
        for &o in offs {
            f.read_exact_at(&mut buf, o).unwrap();
        }
    })
}

/// Random 4 KiB reads of a file that is not in the page cache (dropped
/// before every batch), `CONCURRENT_READERS` at once: weft's fibers on each
/// backend vs as many tokio::fs tasks, with single-threaded std as the
/// baseline row. Sides alternate round by round.
pub fn file_read_cold(s: Scale) -> Vec<Row> {
    let len = if s.factor < 1.0 { 32 << 20 } else { 256 << 20 };
    let path = make_file(len);
    let n = s.ops(4096);
    let offs = offsets(n, len);
    let samples = s.samples.min(5);
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let uring = weft_runtime(weft::BackendKind::Uring).is_some();
    let mut on_tokio = || tokio_cold_batch(&tokio_rt, &path, &offs);
    let mut on_std = || std_cold_batch(&path, &offs);
    let mut on_posix = || {
        weft_read_batch(
            weft::BackendKind::Posix,
            &path,
            &offs,
            CONCURRENT_READERS,
            true,
        )
    };
    let mut on_uring = || {
        weft_read_batch(
            weft::BackendKind::Uring,
            &path,
            &offs,
            CONCURRENT_READERS,
            true,
        )
    };
    let mut sides: Vec<&mut dyn FnMut() -> Duration> =
        vec![&mut on_tokio, &mut on_std, &mut on_posix];
    if uring {
        sides.push(&mut on_uring);
    }
    let medians = interleaved_medians(samples, n, &mut sides);
    let tokio_ns = medians[0];
    let _ = std::fs::remove_file(&path);
    ["std_1t", "posix_16f", "uring_16f"]
        .iter()
        .zip(&medians[1..])
        .map(|(label, ns)| Row {
            name: format!("file_read_cold_4k_{label}"),
            weft: *ns,
            tokio: tokio_ns,
            unit: "ns/read",
        })
        .collect()
}

/// Reads `conn` to its end; returns the byte count.
fn drain(mut conn: impl Read) -> usize {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0;
    loop {
        match conn.read(&mut buf).unwrap() {
            0 => return total,
            n => total += n,
        }
    }
}

/// One batch on weft: a fresh runtime on `backend` sends the whole cached
/// file to a loopback TCP connection that a second fiber drains, with
/// `TcpStream::send_file` (`zero_copy`) or a plain read/write loop.
fn weft_file_to_socket(
    backend: weft::BackendKind,
    path: &std::path::Path,
    len: usize,
    zero_copy: bool,
) -> Duration {
    let rt = weft_runtime(backend).expect("backend checked before the rounds");
    rt.run(|_env| {
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = weft::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let mut file = weft::fs::File::open(path).unwrap();
        timed(|| {
            weft::Switch::run(|sw| {
                sw.fork(|| assert_eq!(drain(&client), len));
                if zero_copy {
                    assert_eq!(server.send_file(&file, 0, len as u64).unwrap(), len as u64);
                } else {
                    std::io::copy(&mut file, &mut &server).unwrap();
                }
                server.shutdown(std::net::Shutdown::Write).unwrap();
                Ok(())
            })
            .unwrap();
        })
    })
}

/// The same on tokio: `tokio::io::copy` from `tokio::fs::File`.
fn tokio_file_to_socket(
    rt: &tokio::runtime::Runtime,
    path: &std::path::Path,
    len: usize,
) -> Duration {
    rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let mut file = tokio::fs::File::open(path).await.unwrap();
        let t = std::time::Instant::now();
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 1 << 20];
            let mut total = 0;
            loop {
                match client.read(&mut buf).await.unwrap() {
                    0 => return total,
                    n => total += n,
                }
            }
        });
        tokio::io::copy(&mut file, &mut server).await.unwrap();
        server.shutdown().await.unwrap();
        assert_eq!(reader.await.unwrap(), len);
        t.elapsed()
    })
}

/// A cached file sent whole to a loopback TCP connection: weft's
/// `send_file` (splice on io_uring, sendfile on posix) and weft's plain
/// read/write loop, vs `tokio::io::copy`; per MiB sent.
pub fn file_to_socket(s: Scale) -> Vec<Row> {
    let len = if s.factor < 1.0 { 16 << 20 } else { 64 << 20 };
    let path = make_file(len);
    let path = path.as_path();
    let samples = s.samples.min(7);
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut labels = Vec::new();
    let mut weft_sides: Vec<Box<dyn FnMut() -> Duration + '_>> = Vec::new();
    for (backend, label) in available_backends() {
        for (zero_copy, how) in [(true, "send_file"), (false, "read_write")] {
            weft_sides.push(Box::new(move || {
                weft_file_to_socket(backend, path, len, zero_copy)
            }));
            labels.push(format!("file_to_socket_{how}_{label}"));
        }
    }
    let mut on_tokio = || tokio_file_to_socket(&tokio_rt, path, len);
    let mut sides: Vec<&mut dyn FnMut() -> Duration> = vec![&mut on_tokio];
    sides.extend(
        weft_sides
            .iter_mut()
            .map(|b| &mut **b as &mut dyn FnMut() -> Duration),
    );
    let medians = interleaved_medians(samples, len >> 20, &mut sides);
    let _ = std::fs::remove_file(path);
    labels
        .into_iter()
        .zip(&medians[1..])
        .map(|(name, ns)| Row {
            name,
            weft: *ns,
            tokio: medians[0],
            unit: "ns/MiB",
        })
        .collect()
}
