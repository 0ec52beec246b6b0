//! `weft::io::{stdin, stdout, stderr}`: each test re-runs this test binary
//! as a child process (spawned with `weft::process`) whose stdio are pipes
//! or files, and talks to it. The child's protocol lines start with `@@`
//! (libtest prints its own lines on stdout too).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

use weft::process::{Child, ChildStdout, Command, Stdio};

const CHILD_ENV: &str = "WEFT_STDIO_CHILD";

/// True in the child run of `test`.
fn is_child(test: &str) -> bool {
    std::env::var(CHILD_ENV).as_deref() == Ok(test)
}

/// This test binary, running only `test`, as a child process.
fn child_command(test: &str) -> Command {
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new(exe);
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test)
        .kill_on_drop(true);
    cmd
}

/// The next protocol line (without `@@` and the newline); `None` at the
/// end of the output. Suspends only this fiber.
fn next_msg(out: &mut BufReader<ChildStdout>) -> Option<String> {
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            return None;
        }
        if let Some((_, msg)) = line.split_once("@@") {
            return Some(msg.trim_end().to_string());
        }
    }
}

/// `next_msg`, failing the test (rather than hanging it) if the child says
/// nothing for 60 s: a child whose thread is blocked never answers.
fn expect_msg(out: &mut BufReader<ChildStdout>, want: &str) {
    let got = weft::time::timeout(Duration::from_secs(60), || next_msg(out))
        .unwrap_or_else(|_| panic!("the child did not say {want:?} (is its thread blocked?)"));
    assert_eq!(got.as_deref(), Some(want));
}

fn finish(mut child: Child) {
    let status = child.wait().unwrap();
    assert!(status.success(), "the child run failed: {status:?}");
}

/// Child: echoes stdin lines (read with `BufRead::lines`) to stdout, and
/// says `ready` from another fiber while the reader waits for input.
fn echo_lines_program() {
    weft::run(|_env| {
        weft::Switch::run(|sw| {
            sw.fork(|| {
                let mut out = weft::io::stdout();
                for line in weft::io::stdin().lines() {
                    writeln!(out, "@@echo {}", line.unwrap()).unwrap();
                }
                writeln!(out, "@@eof").unwrap();
            });
            // The reader ran first and is blocked reading stdin; this only
            // runs if that suspended the fiber and not the thread.
            writeln!(weft::io::stdout(), "@@ready").unwrap();
            Ok(())
        })
        .unwrap();
        // The descriptor's open file description is shared with the
        // parent: weft must not have made it non-blocking.
        // SAFETY: F_GETFL only reads the descriptor's flags.
        let flags = unsafe { libc::fcntl(0, libc::F_GETFL) };
        writeln!(
            weft::io::stdout(),
            "@@nonblock={}",
            flags & libc::O_NONBLOCK != 0
        )
        .unwrap();
    });
}

#[test]
fn stdin_lines_suspend_the_fiber_not_the_thread() {
    const NAME: &str = "stdin_lines_suspend_the_fiber_not_the_thread";
    if is_child(NAME) {
        return echo_lines_program();
    }
    weft::run(|_env| {
        let mut child = child_command(NAME)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        // Nothing has been written yet: the child's reader is blocked.
        expect_msg(&mut out, "ready");
        for word in ["hello", "fibers", "and pipes"] {
            writeln!(input, "{word}").unwrap();
            expect_msg(&mut out, &format!("echo {word}"));
        }
        // Half a line, then the rest in a second write.
        input.write_all(b"spl").unwrap();
        weft::time::sleep(Duration::from_millis(20));
        input.write_all(b"it\n").unwrap();
        expect_msg(&mut out, "echo split");
        drop(input);
        expect_msg(&mut out, "eof");
        expect_msg(&mut out, "nonblock=false");
        finish(child);
    });
}

#[test]
fn stdin_from_a_file_and_from_dev_null() {
    const NAME: &str = "stdin_from_a_file_and_from_dev_null";
    if is_child(NAME) {
        return echo_lines_program();
    }
    let path = std::env::temp_dir().join(format!("weft-stdio-{}", std::process::id()));
    let text: String = (0..2000).map(|i| format!("line {i}\n")).collect();
    std::fs::write(&path, &text).unwrap();
    weft::run(|_env| {
        let file = std::fs::File::open(&path).unwrap();
        let mut child = child_command(NAME)
            .stdin(file)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut echoed = Vec::new();
        loop {
            match next_msg(&mut out).as_deref() {
                Some("ready") => {}
                Some("eof") => break,
                Some(m) => echoed.push(m.strip_prefix("echo ").unwrap().to_string()),
                None => panic!("the child ended early"),
            }
        }
        let want: Vec<String> = (0..2000).map(|i| format!("line {i}")).collect();
        assert_eq!(echoed, want);
        finish(child);

        let mut child = child_command(NAME)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut msgs = Vec::new();
        while let Some(m) = next_msg(&mut out) {
            msgs.push(m);
        }
        msgs.retain(|m| m != "ready");
        assert_eq!(msgs, ["eof", "nonblock=false"]);
        finish(child);
    });
    let _ = std::fs::remove_file(&path);
}

/// Child: one fiber writes 1 MiB to stderr, which the parent does not read
/// yet; another then reports on stdout. Only possible if the full stderr
/// pipe suspends the writing fiber, not the thread.
fn flood_program() {
    weft::run(|_env| {
        weft::Switch::run(|sw| {
            sw.fork(|| {
                let chunk = vec![b'y'; 10_000];
                let mut err = weft::io::stderr();
                let mut left = 1 << 20;
                while left > 0 {
                    let n = left.min(chunk.len());
                    err.write_all(&chunk[..n]).unwrap();
                    left -= n;
                }
            });
            writeln!(weft::io::stdout(), "@@writer-blocked").unwrap();
            Ok(())
        })
        .unwrap();
        writeln!(weft::io::stdout(), "@@done").unwrap();
    });
}

#[test]
fn writing_to_a_full_stdout_or_stderr_suspends_the_fiber() {
    const NAME: &str = "writing_to_a_full_stdout_or_stderr_suspends_the_fiber";
    if is_child(NAME) {
        return flood_program();
    }
    weft::run(|_env| {
        let mut child = child_command(NAME)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut err = child.stderr.take().unwrap();
        expect_msg(&mut out, "writer-blocked");
        let mut flood = Vec::new();
        err.read_to_end(&mut flood).unwrap();
        assert_eq!(flood.len(), 1 << 20);
        assert!(flood.iter().all(|&b| b == b'y'));
        expect_msg(&mut out, "done");
        finish(child);
    });
}

/// Child: copies stdin to stdout with `std::io::copy` (8 KiB reads).
fn copy_program() {
    weft::run(|_env| {
        let mut out = weft::io::stdout();
        writeln!(out, "@@start").unwrap();
        std::io::copy(&mut weft::io::stdin(), &mut out).unwrap();
    });
}

#[test]
fn stdin_to_stdout_copy_of_two_mib() {
    const NAME: &str = "stdin_to_stdout_copy_of_two_mib";
    if is_child(NAME) {
        return copy_program();
    }
    weft::run(|_env| {
        let mut child = child_command(NAME)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        expect_msg(&mut out, "start");
        let data: Vec<u8> = (0..2u32 << 20).map(|i| b'a' + (i % 26) as u8).collect();
        let got = weft::Switch::run(|sw| {
            let data = &data;
            sw.fork(move || {
                input.write_all(data).unwrap();
            });
            let mut got = Vec::new();
            out.read_to_end(&mut got).unwrap();
            Ok(got)
        })
        .unwrap();
        // libtest's own lines follow the copied bytes.
        assert!(got.len() >= data.len());
        assert!(got[..data.len()] == data[..], "the copy differs");
        finish(child);
    });
}

/// A new pseudo-terminal: (master, slave), echo off on the slave.
fn pty() -> (std::os::fd::OwnedFd, std::fs::File) {
    use std::os::fd::FromRawFd;
    // SAFETY: the standard posix_openpt sequence; ptsname_r fills a local
    // buffer; every descriptor returned is wrapped in an owner at once.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(m >= 0, "posix_openpt");
        let master = std::os::fd::OwnedFd::from_raw_fd(m);
        assert_eq!(libc::grantpt(m), 0);
        assert_eq!(libc::unlockpt(m), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(m, name.as_mut_ptr(), name.len()), 0);
        let path = std::ffi::CStr::from_ptr(name.as_ptr()).to_str().unwrap();
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(path)
            .unwrap();
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(slave.as_raw_fd(), &mut t), 0);
        t.c_lflag &= !libc::ECHO;
        assert_eq!(libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t), 0);
        (master, slave)
    }
}

/// Terminals refuse `RWF_NOWAIT`, so this covers the other path: readiness,
/// then a read bounded by `FIONREAD` and writes bounded by `PIPE_BUF`.
#[test]
fn stdin_and_stdout_on_terminals() {
    const NAME: &str = "stdin_and_stdout_on_terminals";
    if is_child(NAME) {
        return echo_lines_program();
    }
    weft::run(|_env| {
        let (in_master, in_slave) = pty();
        let (out_master, out_slave) = pty();
        let child = child_command(NAME)
            .stdin(in_slave)
            .stdout(out_slave)
            .spawn()
            .unwrap();
        let mut typing = std::fs::File::from(in_master);
        // The terminal's output, read from its master side on a fiber.
        let screen = std::process::ChildStdout::from(out_master);
        let mut out = BufReader::new(ChildStdout::from_std(screen).unwrap());
        expect_msg(&mut out, "ready");
        for word in ["typed", "at a terminal"] {
            typing.write_all(format!("{word}\n").as_bytes()).unwrap();
            expect_msg(&mut out, &format!("echo {word}"));
        }
        typing.write_all(&[4]).unwrap(); // ^D at the start of a line: end of file
        expect_msg(&mut out, "eof");
        expect_msg(&mut out, "nonblock=false");
        finish(child);
    });
}

const WRITERS: usize = 40;
const LINES: usize = 25;

/// One line of `lines_program`: fiber `f`'s line `j`, long enough that
/// `writeln!` formats it in several pieces.
fn whole_line(f: usize, j: usize) -> String {
    let letter = (b'a' + (f % 26) as u8) as char;
    format!("@@L{f:03}:{j:03}:{}", letter.to_string().repeat(150 + f))
}

/// Child: many fibers `writeln!` lines to stdout and to stderr at once.
fn lines_program() {
    weft::run(|_env| {
        weft::fiber::all((0..WRITERS).map(|f| {
            move || {
                for j in 0..LINES {
                    let line = whole_line(f, j);
                    let (head, tail) = line.split_at(line.len() / 2);
                    writeln!(weft::io::stdout(), "{head}{tail}").unwrap();
                    writeln!(weft::io::stderr(), "{head}{}", tail).unwrap();
                }
            }
        }));
    });
}

/// Every `@@L` line of `text`, checked against what the child wrote: each
/// line whole, each once.
fn check_whole_lines(what: &str, text: &str) {
    // (libtest's "test NAME ... " may stand before the first one)
    let mut got: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_once("@@L").map(|(_, rest)| format!("@@L{rest}")))
        .collect();
    got.sort_unstable();
    let mut want: Vec<String> = (0..WRITERS)
        .flat_map(|f| (0..LINES).map(move |j| whole_line(f, j)))
        .collect();
    want.sort_unstable();
    let malformed = got.iter().filter(|l| !want.contains(l)).count();
    assert_eq!(malformed, 0, "{what}: {malformed} lines were cut or mixed");
    assert_eq!(got, want, "{what}: every line once");
}

#[test]
fn lines_written_by_many_fibers_stay_whole() {
    const NAME: &str = "lines_written_by_many_fibers_stay_whole";
    if is_child(NAME) {
        return lines_program();
    }
    let dir = std::env::temp_dir();
    let out_path = dir.join(format!("weft-stdio-lines-out-{}", std::process::id()));
    let err_path = dir.join(format!("weft-stdio-lines-err-{}", std::process::id()));
    weft::run(|_env| {
        // Files: their writes go through the blocking pool and suspend the
        // writing fiber, the worst case for a line cut in pieces.
        let child = child_command(NAME)
            .stdout(std::fs::File::create(&out_path).unwrap())
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .unwrap();
        weft::time::timeout(Duration::from_secs(120), || finish(child))
            .expect("the child finished");
    });
    let out = std::fs::read_to_string(&out_path).unwrap();
    let err = std::fs::read_to_string(&err_path).unwrap();
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    check_whole_lines("stdout", &out);
    check_whole_lines("stderr", &err);
}
