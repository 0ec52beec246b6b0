//! Chapter 6: [`filter_through`], a child process fed and drained by two
//! fibers, and [`line_counts`], reading files through a `Dir` capability.
//!
//! The reference answer (compiled with `--features solutions`); the
//! learner's starter is `guides/src/exercises/ch06.rs`, with the same contract.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use weft::fiber;
use weft::fs::Dir;
use weft::process::{Command, Stdio};

/// Runs `program` with `args`, writes `input` to its stdin (then closes
/// it), and returns everything it wrote to its stdout.
///
/// Contract:
/// - works for any size of input and output: writing and reading happen
///   at the same time, so a program that answers as it reads (`cat`)
///   cannot deadlock with us;
/// - a program that stops reading early (`head -c 1`) is not an error:
///   the broken pipe on its stdin is ignored;
/// - the child's stderr goes where ours goes;
/// - `Err` if the program cannot be started (`ErrorKind::NotFound` for a
///   missing program) or exits unsuccessfully (the error says its status);
/// - if the caller is cancelled, the child is killed.
///
/// ```
/// use weft_guide::exercises::ch06::filter_through;
///
/// weft::run(|_env| {
///     let out = filter_through("tr", &["a-z", "A-Z"], b"shout\n").unwrap();
///     assert_eq!(out, b"SHOUT\n");
/// });
/// ```
pub fn filter_through(program: &str, args: &[&str], input: &[u8]) -> io::Result<Vec<u8>> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true) // cancelled before `wait`: the child dies with us
        .spawn()?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let mut stdout = child.stdout.take().expect("stdout is piped");
    // Two fibers: one writes, one reads. try_both (rather than both) also
    // cancels the reader if writing fails, and lets a cancellation of the
    // caller unwind through it.
    let wrote_and_read = fiber::try_both(
        move || {
            let r = stdin.write_all(input);
            drop(stdin); // end of input for the child
            match r {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
                r => r,
            }
        },
        move || {
            let mut out = Vec::new();
            stdout.read_to_end(&mut out).map(|_| out)
        },
    );
    let status = child.wait()?;
    let ((), out) = wrote_and_read?;
    if !status.success() {
        return Err(io::Error::other(format!("{program} failed: {status}")));
    }
    Ok(out)
}

/// Counts the lines of every `.txt` file directly in `dir` (not in its
/// subdirectories), keyed by file name.
///
/// Contract:
/// - lines are counted as [`str::lines`] counts them: a last line without
///   `"\n"` counts, an empty file has 0 lines (files need not be UTF-8);
/// - entries whose names end in `.txt` are read, unless they are
///   directories; symlinks are followed, within `dir` only: a symlink that
///   leads outside `dir` makes the call fail with
///   `ErrorKind::PermissionDenied` (the capability refuses it);
/// - any other read error is returned too;
/// - files may be read concurrently (at most a few at once).
///
/// ```
/// use weft_guide::exercises::ch06::line_counts;
///
/// weft::run(|env| {
///     let base = std::env::temp_dir().join(format!("weft-guide-doc-lc-{}", std::process::id()));
///     weft::fs::create_dir_all(&base).unwrap();
///     let dir = env.fs().open_dir(&base).unwrap();
///     dir.write("a.txt", "one\ntwo\n").unwrap();
///     dir.write("b.md", "not counted\n").unwrap();
///     let counts = line_counts(&dir).unwrap();
///     assert_eq!(counts.into_iter().collect::<Vec<_>>(), [("a.txt".to_string(), 2)]);
///     weft::fs::remove_dir_all(&base).unwrap();
/// });
/// ```
pub fn line_counts(dir: &Dir) -> io::Result<BTreeMap<String, usize>> {
    let mut names = Vec::new();
    for entry in dir.read_dir(".")? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue; // not UTF-8, so not "something.txt"
        };
        if name.ends_with(".txt") && !entry.file_type()?.is_dir() {
            names.push(name);
        }
    }
    // A symlink to a directory is only found out when read: skip those.
    let counted = fiber::map_concurrent(4, names, |name| match dir.read(&name) {
        Ok(bytes) => Ok(Some((name, count_lines(&bytes)))),
        Err(e) if e.kind() == io::ErrorKind::IsADirectory => Ok(None),
        Err(e) => Err(e),
    });
    let mut counts = BTreeMap::new();
    for c in counted {
        if let Some((name, n)) = c? {
            counts.insert(name, n);
        }
    }
    Ok(counts)
}

fn count_lines(bytes: &[u8]) -> usize {
    let newlines = bytes.iter().filter(|&&b| b == b'\n').count();
    match bytes.last() {
        Some(&last) if last != b'\n' => newlines + 1,
        _ => newlines,
    }
}
