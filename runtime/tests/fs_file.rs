//! Files on fibers: read/write/seek, positional I/O, metadata, listings,
//! renames and removals, partial writes, a reader following a file another
//! fiber appends to, errors that name their path, and cancellation of
//! reads in flight.

use std::cell::Cell;
use std::io::{ErrorKind, IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use weft::fs::{self, File, OpenOptions, PathError};
use weft::Switch;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "weft-fs-file-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Asks the kernel to drop the file's (clean) pages from the page cache, so
/// the next reads must go to the device.
fn drop_from_page_cache(f: &File) {
    // SAFETY: advice on an open descriptor; no memory is passed.
    let rc = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(rc, 0);
}

fn path_error(e: &std::io::Error) -> &PathError {
    e.get_ref()
        .and_then(|i| i.downcast_ref::<PathError>())
        .unwrap_or_else(|| panic!("expected a PathError inside {e:?}"))
}

#[test]
fn write_read_and_metadata_round_trip() {
    let t = TempDir::new("roundtrip");
    weft::run(|_env| {
        let p = t.join("data.bin");
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        fs::write(&p, &data).unwrap();
        assert_eq!(fs::read(&p).unwrap(), data);
        let m = fs::metadata(&p).unwrap();
        assert!(m.is_file());
        assert_eq!(m.len(), data.len() as u64);

        fs::write(t.join("text"), "héllo").unwrap();
        assert_eq!(fs::read_to_string(t.join("text")).unwrap(), "héllo");
        fs::write(t.join("bad"), [0xff, 0xfe]).unwrap();
        let e = fs::read_to_string(t.join("bad")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidData);

        let f = File::open(&p).unwrap();
        let fm = f.metadata().unwrap();
        assert_eq!(fm.len(), m.len());
        assert_eq!(
            std::os::unix::fs::MetadataExt::ino(&fm),
            std::os::unix::fs::MetadataExt::ino(&m)
        );
    });
}

#[test]
fn read_write_seek_on_file_and_shared_ref() {
    let t = TempDir::new("seek");
    weft::run(|_env| {
        let p = t.join("f");
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&p)
            .unwrap();
        f.write_all(b"0123456789").unwrap();
        assert_eq!(f.stream_position().unwrap(), 10);
        assert_eq!(f.seek(SeekFrom::Start(2)).unwrap(), 2);
        let mut b = [0u8; 3];
        f.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"234");
        assert_eq!(f.seek(SeekFrom::Current(2)).unwrap(), 7);
        f.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"789");
        assert_eq!(f.read(&mut b).unwrap(), 0, "end of file");
        assert_eq!(f.seek(SeekFrom::End(-4)).unwrap(), 6);
        assert!(f.seek(SeekFrom::Current(-100)).is_err());

        // Through &File: the same kernel position.
        let r = &f;
        (&*r).seek(SeekFrom::Start(0)).unwrap();
        (&*r).write_all(b"ab").unwrap();
        let mut rest = String::new();
        (&*r).read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "23456789");
        assert_eq!(fs::read(&p).unwrap(), b"ab23456789");

        // Vectored.
        (&f).seek(SeekFrom::Start(0)).unwrap();
        let (mut x, mut y) = ([0u8; 4], [0u8; 6]);
        let n = (&f)
            .read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)])
            .unwrap();
        assert_eq!(n, 10);
        assert_eq!((&x, &y), (b"ab23", b"456789"));
        (&f).seek(SeekFrom::End(0)).unwrap();
        let n = (&f)
            .write_vectored(&[IoSlice::new(b"X"), IoSlice::new(b"YZ")])
            .unwrap();
        assert_eq!(n, 3);
        assert_eq!(fs::read(&p).unwrap(), b"ab23456789XYZ");
    });
}

#[test]
fn positional_io_leaves_the_position_alone() {
    let t = TempDir::new("positional");
    weft::run(|_env| {
        let p = t.join("f");
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&p)
            .unwrap();
        f.write_all_at(b"hello world", 0).unwrap();
        assert_eq!(f.write_at(b"W", 6).unwrap(), 1);
        assert_eq!((&f).stream_position().unwrap(), 0);
        let mut b = [0u8; 5];
        assert_eq!(f.read_at(&mut b, 6).unwrap(), 5);
        assert_eq!(&b, b"World");
        f.read_exact_at(&mut b, 0).unwrap();
        assert_eq!(&b, b"hello");
        assert_eq!(f.read_at(&mut b, 100).unwrap(), 0);
        assert_eq!(
            f.read_exact_at(&mut b, 8).unwrap_err().kind(),
            ErrorKind::UnexpectedEof
        );
        assert_eq!((&f).stream_position().unwrap(), 0);
        // Writing past the end leaves a hole of zeros.
        f.write_all_at(b"!", 20).unwrap();
        assert_eq!(f.metadata().unwrap().len(), 21);
        let mut all = Vec::new();
        (&f).read_to_end(&mut all).unwrap();
        assert_eq!(&all[11..20], &[0u8; 9]);
        // std's FileExt works on it too.
        let mut c = [0u8; 1];
        std::os::unix::fs::FileExt::read_exact_at(&f, &mut c, 20).unwrap();
        assert_eq!(&c, b"!");
    });
}

/// Data pushed out of the page cache must be read through the pool (the
/// `RWF_NOWAIT` attempt reports it would block) and still be right.
#[test]
fn uncached_reads_go_through_the_pool_and_return_the_data() {
    let t = TempDir::new("uncached");
    weft::run(|_env| {
        let p = t.join("big");
        let data: Vec<u8> = (0..4u32 << 20)
            .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
            .collect();
        let f = File::create(&p).unwrap();
        (&f).write_all(&data).unwrap();
        f.sync_all().unwrap();
        let r = File::open(&p).unwrap();
        drop_from_page_cache(&r);
        let mut back = Vec::new();
        (&r).read_to_end(&mut back).unwrap();
        assert!(back == data, "contents differ after an uncached read");
        // Positional reads of uncached data, concurrently from many fibers.
        drop_from_page_cache(&r);
        let chunks = weft::fiber::map_concurrent(8, 0..64u64, |i| {
            let mut b = vec![0u8; 64 * 1024];
            r.read_exact_at(&mut b, i * 64 * 1024).unwrap();
            b
        });
        assert!(chunks.concat() == data);
    });
}

#[test]
fn read_dir_lists_names_types_and_metadata() {
    let t = TempDir::new("readdir");
    weft::run(|_env| {
        fs::create_dir(t.join("sub")).unwrap();
        fs::write(t.join("file"), "12345").unwrap();
        fs::symlink("file", t.join("link")).unwrap();
        fs::symlink("missing", t.join("dangling")).unwrap();
        let mut entries: Vec<_> = fs::read_dir(&t.0).unwrap().map(|e| e.unwrap()).collect();
        entries.sort_by_key(|e| e.file_name());
        let names: Vec<_> = entries
            .iter()
            .map(|e| e.file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["dangling", "file", "link", "sub"]);
        assert!(entries[0].file_type().unwrap().is_symlink());
        assert!(entries[1].file_type().unwrap().is_file());
        assert_eq!(entries[1].metadata().unwrap().len(), 5);
        assert_eq!(entries[1].path(), t.join("file"));
        assert!(entries[2].file_type().unwrap().is_symlink());
        assert!(entries[3].file_type().unwrap().is_dir());
        assert_eq!(fs::read_dir(t.join("sub")).unwrap().count(), 0);
        let e = fs::read_dir(t.join("file")).unwrap_err();
        assert!(e.to_string().contains("file"), "{e}");
    });
}

#[test]
fn rename_copy_links_and_removal() {
    let t = TempDir::new("mutate");
    let outside = TempDir::new("mutate-outside");
    weft::run(|_env| {
        fs::write(t.join("a"), "A").unwrap();
        fs::rename(t.join("a"), t.join("b")).unwrap();
        assert!(!fs::exists(t.join("a")).unwrap());
        assert_eq!(fs::read_to_string(t.join("b")).unwrap(), "A");

        fs::set_permissions(t.join("b"), fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(fs::copy(t.join("b"), t.join("c")).unwrap(), 1);
        assert_eq!(
            fs::metadata(t.join("c")).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert!(fs::copy(&t.0, t.join("d")).is_err(), "copying a directory");

        fs::hard_link(t.join("b"), t.join("h")).unwrap();
        assert_eq!(
            std::os::unix::fs::MetadataExt::nlink(&fs::metadata(t.join("b")).unwrap()),
            2
        );
        fs::symlink("b", t.join("s")).unwrap();
        assert_eq!(fs::read_link(t.join("s")).unwrap(), Path::new("b"));
        assert_eq!(
            fs::canonicalize(t.join("s")).unwrap(),
            fs::canonicalize(t.join("b")).unwrap()
        );
        fs::remove_file(t.join("s")).unwrap();
        assert!(
            fs::exists(t.join("b")).unwrap(),
            "removing a symlink keeps its target"
        );

        fs::create_dir_all(t.join("tree/x/y")).unwrap();
        fs::create_dir_all(t.join("tree/x/y")).unwrap();
        fs::write(t.join("tree/x/y/f"), "f").unwrap();
        let e = fs::remove_dir(t.join("tree")).unwrap_err();
        assert!(e.to_string().contains("tree"), "{e}");
        // A symlink inside the tree to a directory outside: remove_dir_all
        // removes the link, never what it points to.
        fs::write(outside.join("keep"), "keep").unwrap();
        fs::symlink(&outside.0, t.join("tree/x/out")).unwrap();
        fs::remove_dir_all(t.join("tree")).unwrap();
        assert!(!fs::exists(t.join("tree")).unwrap());
        assert_eq!(fs::read_to_string(outside.join("keep")).unwrap(), "keep");

        fs::create_dir(t.join("empty")).unwrap();
        fs::remove_dir(t.join("empty")).unwrap();
        assert!(!fs::try_exists(t.join("empty")).unwrap());
    });
}

#[test]
fn errors_name_the_operation_and_path() {
    let t = TempDir::new("errors");
    weft::run(|_env| {
        let missing = t.join("missing.txt");
        for (op, e) in [
            ("read", fs::read(&missing).unwrap_err()),
            ("open", File::open(&missing).map(drop).unwrap_err()),
            ("metadata", fs::metadata(&missing).map(drop).unwrap_err()),
            ("remove_file", fs::remove_file(&missing).unwrap_err()),
            ("read_dir", fs::read_dir(&missing).map(drop).unwrap_err()),
        ] {
            assert_eq!(e.kind(), ErrorKind::NotFound, "{op}");
            assert!(e.to_string().contains("missing.txt"), "{op}: {e}");
            let pe = path_error(&e);
            assert_eq!(pe.operation(), op);
            assert_eq!(pe.path(), missing);
            assert_eq!(pe.io_error().raw_os_error(), Some(libc::ENOENT));
        }
        let e = fs::rename(&missing, t.join("to")).unwrap_err();
        assert_eq!(path_error(&e).destination(), Some(t.join("to").as_path()));

        fs::write(t.join("there"), "").unwrap();
        let e = File::create_new(t.join("there")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert!(e.to_string().contains("there"));
        assert_eq!(
            fs::create_dir(&t.0).unwrap_err().kind(),
            ErrorKind::AlreadyExists
        );

        let e = fs::read("bad\0path").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = OpenOptions::new()
            .read(true)
            .create(true)
            .open(t.join("x"))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = OpenOptions::new().open(t.join("there")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        // Opening a directory for writing.
        let e = OpenOptions::new().write(true).open(&t.0).unwrap_err();
        assert_eq!(path_error(&e).io_error().raw_os_error(), Some(libc::EISDIR));
    });
}

/// A reader with its own handle follows a file while another fiber
/// appends to it: each read returns what is there (0 at the current end),
/// and in the end it has read exactly what was written.
#[test]
fn reader_follows_a_file_another_fiber_appends_to() {
    let t = TempDir::new("follow");
    weft::run(|_env| {
        let p = t.join("log");
        let writer = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&p)
            .unwrap();
        let reader = File::open(&p).unwrap();
        let done = Cell::new(false);
        let mut expected = Vec::new();
        for i in 0..300u32 {
            expected.extend_from_slice(
                format!("record {i:04} {}\n", "x".repeat((i % 17) as usize)).as_bytes(),
            );
        }
        let mut got = Vec::new();
        let mut eofs_midway = 0;
        Switch::run(|sw| {
            sw.fork(|| {
                let mut buf = [0u8; 100];
                loop {
                    let n = (&reader).read(&mut buf).unwrap();
                    if n == 0 {
                        if done.get() && got.len() == expected.len() {
                            break;
                        }
                        assert!(!done.get() || got.len() < expected.len());
                        if !done.get() {
                            eofs_midway += 1;
                        }
                        weft::fiber::yield_now();
                        continue;
                    }
                    got.extend_from_slice(&buf[..n]);
                    assert!(got.len() <= expected.len());
                    assert_eq!(
                        got[..],
                        expected[..got.len()],
                        "read bytes that were never written"
                    );
                }
            });
            sw.fork(|| {
                let mut rest = &expected[..];
                let mut i = 0;
                while !rest.is_empty() {
                    // Uneven chunks, so reads see records cut in half.
                    let n = rest.len().min(7 + (i * 13) % 61);
                    (&writer).write_all(&rest[..n]).unwrap();
                    rest = &rest[n..];
                    i += 1;
                    weft::fiber::yield_now();
                }
                done.set(true);
            });
            Ok(())
        })
        .unwrap();
        assert_eq!(got, expected);
        assert!(
            eofs_midway > 0,
            "the reader never caught up with the writer"
        );
    });
}

/// Fibers sharing one `&File` read it at the file position, with the data
/// not cached (so on io_uring the reads are in flight together, in the
/// kernel's workers): every chunk is read exactly once, as with
/// `read(2)`'s position lock.
#[test]
fn fibers_sharing_the_position_never_read_a_chunk_twice() {
    let t = TempDir::new("shared-pos");
    let p = t.join("chunks");
    const CHUNKS: u32 = 512;
    let data: Vec<u8> = (0..CHUNKS)
        .flat_map(|i| i.to_le_bytes().repeat(1024))
        .collect();
    std::fs::write(&p, &data).unwrap();
    // Clean pages only can be dropped from the cache.
    std::fs::File::open(&p).unwrap().sync_all().unwrap();
    weft::run(|_env| {
        let f = File::open(&p).unwrap();
        drop_from_page_cache(&f);
        let seen = std::cell::RefCell::new(vec![0u32; CHUNKS as usize]);
        Switch::run(|sw| {
            for _ in 0..8 {
                sw.fork(|| {
                    let mut buf = vec![0u8; 4096];
                    loop {
                        match (&f).read(&mut buf).unwrap() {
                            0 => break,
                            // Chunks are 4 KiB and so is every read: each
                            // read returns one whole chunk.
                            4096 => {
                                let id = u32::from_le_bytes(buf[..4].try_into().unwrap());
                                assert!(buf.chunks(4).all(|w| w == id.to_le_bytes()));
                                seen.borrow_mut()[id as usize] += 1;
                            }
                            n => panic!("a short read of {n} bytes inside the file"),
                        }
                    }
                });
            }
            Ok(())
        })
        .unwrap();
        assert!(seen.borrow().iter().all(|n| *n == 1), "{:?}", seen.borrow());
    });
}

/// Dropped files are closed (on io_uring by a queued `CLOSE`, which goes
/// out with the next submission): no descriptor is left behind.
#[test]
fn dropped_files_are_closed() {
    let t = TempDir::new("close");
    let p = t.join("f");
    std::fs::write(&p, b"x").unwrap();
    weft::run(|_env| {
        let count = || std::fs::read_dir("/proc/self/fd").unwrap().count();
        let before = count();
        for _ in 0..300 {
            let f = File::open(&p).unwrap();
            assert_eq!(f.metadata().unwrap().len(), 1);
        }
        // Let the scheduler enter the kernel once.
        weft::time::sleep(std::time::Duration::from_millis(1));
        let after = count();
        // Other tests of this binary may open a few meanwhile; a leak
        // would be hundreds.
        assert!(
            after <= before + 16,
            "descriptors leaked: {before} -> {after}"
        );
    });
}

/// Positional reads and writes on one file from fibers on two threads.
#[test]
fn one_file_used_from_two_threads() {
    let t = TempDir::new("threads");
    let p = t.join("shared");
    std::fs::write(&p, vec![0u8; 2 * 4096]).unwrap();
    let file = std::sync::Arc::new(weft::run(|_env| {
        OpenOptions::new().read(true).write(true).open(&p).unwrap()
    }));
    let handles: Vec<_> = (0..2u8)
        .map(|k| {
            let file = file.clone();
            std::thread::spawn(move || {
                weft::run(|_env| {
                    let base = u64::from(k) * 4096;
                    let data = vec![k + 1; 4096];
                    for i in 0..64u64 {
                        file.write_all_at(&data[..64], base + i * 64).unwrap();
                    }
                    let mut back = vec![0u8; 4096];
                    file.read_exact_at(&mut back, base).unwrap();
                    assert_eq!(back, data);
                });
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let all = std::fs::read(&p).unwrap();
    assert!(all[..4096].iter().all(|b| *b == 1));
    assert!(all[4096..].iter().all(|b| *b == 2));
}

#[test]
fn std_conversions_keep_the_position_and_set_len_sync_work() {
    let t = TempDir::new("std");
    weft::run(|_env| {
        let p = t.join("f");
        std::fs::write(&p, "abcdef").unwrap();
        let mut s = std::fs::File::open(&p).unwrap();
        s.seek(SeekFrom::Start(2)).unwrap();
        let mut f = File::from_std(s);
        let mut b = [0u8; 2];
        f.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"cd");
        let mut s = f.into_std();
        let mut rest = String::new();
        s.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "ef");

        let f = OpenOptions::new().write(true).open(&p).unwrap();
        f.set_len(3).unwrap();
        f.sync_data().unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"abc");
        f.set_len(5).unwrap();
        f.sync_all().unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"abc\0\0");
        let g = f.try_clone().unwrap();
        (&g).seek(SeekFrom::Start(1)).unwrap();
        assert_eq!(
            (&f).stream_position().unwrap(),
            1,
            "clones share the position"
        );
    });
}

/// Fibers cancelled while their reads of uncached data are in flight on
/// the pool: each waits for its read to land in its (stack) buffer, then
/// unwinds, running its destructors; nothing else is disturbed.
#[test]
fn cancelled_fibers_reads_complete_safely() {
    let t = TempDir::new("cancel");
    weft::run(|_env| {
        let p = t.join("big");
        let data = vec![0x5au8; 8 << 20];
        fs::write(&p, &data).unwrap();
        let f = File::open(&p).unwrap();
        f.sync_all().unwrap();
        let unwound = Cell::new(0);
        struct Count<'a>(&'a Cell<i32>);
        impl Drop for Count<'_> {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
            }
        }
        for round in 0..20u64 {
            drop_from_page_cache(&f);
            let r = Switch::run(|sw| {
                for k in 0..4u64 {
                    let (f, unwound) = (&f, &unwound);
                    sw.fork(move || -> () {
                        let _c = Count(unwound);
                        let mut buf = [0u8; 32 * 1024];
                        let mut off = (round * 4 + k) * 4096 % (8 << 20);
                        loop {
                            let n = f.read_at(&mut buf, off).unwrap();
                            assert!(buf[..n].iter().all(|b| *b == 0x5a));
                            off = (off + n as u64) % (8 << 20);
                        }
                    });
                }
                weft::fiber::yield_now();
                sw.fail(weft::Error::msg("stop reading"));
                Ok(())
            });
            assert_eq!(r.unwrap_err().to_string(), "stop reading");
        }
        assert_eq!(unwound.get(), 80);
        // The file and the runtime are fine afterwards.
        assert_eq!(fs::read(&p).unwrap().len(), data.len());
    });
}

/// A write cut short by the file-size limit returns the count written (a
/// partial write), and the next write fails with EFBIG. Runs in a child
/// process, since the limit applies to the whole process.
#[test]
fn partial_writes_are_reported() {
    const CHILD: &str = "WEFT_FS_PARTIAL_WRITE_CHILD";
    if let Ok(dir) = std::env::var(CHILD) {
        // SAFETY: ignoring SIGXFSZ makes over-limit writes fail with
        // EFBIG instead of killing the process; setrlimit takes a valid
        // struct.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: 10_000,
                rlim_max: libc::RLIM_INFINITY,
            };
            assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
        }
        weft::run(|_env| {
            let p = Path::new(&dir).join("limited");
            let mut f = File::create(&p).unwrap();
            assert_eq!(f.write(&[7u8; 16_384]).unwrap(), 10_000);
            let e = f.write(&[7u8; 10]).unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EFBIG));
            assert_eq!(f.write_at(&[1u8; 100], 9_990).unwrap(), 10);
            let e = f.write_all_at(&[1u8; 100], 9_990).unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EFBIG));
            assert_eq!(f.metadata().unwrap().len(), 10_000);
        });
        return;
    }
    let t = TempDir::new("partial");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "partial_writes_are_reported", "--test-threads=1"])
        .env(CHILD, &t.0)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
    assert_eq!(std::fs::metadata(t.join("limited")).unwrap().len(), 10_000);
}
