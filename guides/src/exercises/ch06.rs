//! Chapter 6: [`filter_through`], a child process fed and drained by two
//! fibers, and [`line_counts`], reading files through a `Dir` capability.
//!
//! This is your file: every exercise function below starts as `todo!()`.
//! Write its body to meet the contract in its documentation, then check
//! it with `cargo test -p weft-guide --test ch06` (or let
//! `cargo run -p weft-guide --bin exercises -- next` pick the exercise).
//! The reference answer is in `guides/solutions/ch06.rs`: try first.

// Until you write the bodies, their parameters are unused: the allow keeps
// the build quiet. Delete it when you are done; your answer should not need it.
#![allow(unused_variables, unused_mut)]

use std::collections::BTreeMap;
use std::io;

use weft::fs::Dir;

// You will probably want: weft::fiber (`try_both`, `map_concurrent`), weft::process::{Command, Stdio}, std::io::{Read, Write}.

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
    // TODO: start the child with piped stdin/stdout, write and read in two fibers, then check its status.
    // Stuck? `cargo run -p weft-guide --bin exercises -- hint filter_through`
    todo!()
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
    // TODO: list the `.txt` entries of `dir`, read a few at a time, count their lines.
    // Stuck? `cargo run -p weft-guide --bin exercises -- hint line_counts`
    todo!()
}
