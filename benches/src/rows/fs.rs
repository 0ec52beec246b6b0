//! File rows: sequential 64 KiB reads of a 256 MiB file and 100,000
//! random 4 KiB reads of a cached file, weft (each backend) vs tokio::fs,
//! with std::fs as the near-limit baseline.

use std::io::{Read, SeekFrom};
use std::os::unix::fs::FileExt;

use crate::harness::{median_ns, timed, Row, Scale};

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

    // Random: 100,000 reads of 4 KiB at random aligned offsets.
    let n = s.ops(100_000);
    let offs = offsets(n, len);
    let tokio_rand = median_ns(samples, n, || {
        tokio_rt.block_on(async {
            use tokio::io::{AsyncReadExt, AsyncSeekExt};
            let t = std::time::Instant::now();
            let mut f = tokio::fs::File::open(&path).await.unwrap();
            let mut buf = vec![0u8; 4096];
            for &o in &offs {
                f.seek(SeekFrom::Start(o)).await.unwrap();
                f.read_exact(&mut buf).await.unwrap();
            }
            t.elapsed()
        })
    });
    let std_rand = median_ns(samples, n, || {
        timed(|| {
            let f = std::fs::File::open(&path).unwrap();
            let mut buf = vec![0u8; 4096];
            for &o in &offs {
                f.read_exact_at(&mut buf, o).unwrap();
            }
        })
    });
    rows.push(Row {
        name: "file_read_rand_4k_std".into(),
        weft: std_rand,
        tokio: tokio_rand,
        unit: "ns/read",
    });
    for (backend, label) in [
        (weft::BackendKind::Posix, "posix"),
        (weft::BackendKind::Uring, "uring"),
    ] {
        let Some(rt) = weft_runtime(backend) else {
            continue;
        };
        let (one, sixteen) = rt.run(|_env| {
            let f = weft::fs::File::open(&path).unwrap();
            let one = median_ns(samples, n, || {
                timed(|| {
                    let mut buf = vec![0u8; 4096];
                    for &o in &offs {
                        f.read_exact_at(&mut buf, o).unwrap();
                    }
                })
            });
            // 16 fibers reading at once (their reads can be batched).
            let sixteen = median_ns(samples, n, || {
                timed(|| {
                    let f = &f;
                    weft::fiber::all(offs.chunks(n.div_ceil(16)).map(|part| {
                        move || {
                            let mut buf = vec![0u8; 4096];
                            for &o in part {
                                f.read_exact_at(&mut buf, o).unwrap();
                            }
                        }
                    }));
                })
            });
            (one, sixteen)
        });
        rows.push(Row {
            name: format!("file_read_rand_4k_{label}"),
            weft: one,
            tokio: tokio_rand,
            unit: "ns/read",
        });
        rows.push(Row {
            name: format!("file_read_rand_4k_{label}_16f"),
            weft: sixteen,
            tokio: tokio_rand,
            unit: "ns/read",
        });
    }
    let _ = std::fs::remove_file(&path);
    rows
}
