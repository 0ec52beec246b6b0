//! Checks for exercise 6: `filter_through` (real child processes) and
//! `line_counts` (a temporary directory).

use std::io::ErrorKind;
use std::os::unix::fs::symlink;
use std::time::Duration;

use weft::time;
use weft_guide::exercises::ch06::{filter_through, line_counts};

/// A correct answer pipes these inputs in well under a second; a wrong one
/// (write everything, then read) deadlocks once the pipes fill, and this
/// bound turns the deadlock into a failure within seconds.
const LIMIT: Duration = Duration::from_secs(5);

mod filter_through {
    use super::*;

    /// Bytes that are not all the same, so a reordering would show.
    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[weft::test]
    fn small_input_through_a_filter() {
        assert_eq!(
            filter_through("tr", &["a-z", "A-Z"], b"abc\nxyz\n").unwrap(),
            b"ABC\nXYZ\n"
        );
        assert_eq!(
            filter_through("wc", &["-l"], b"1\n2\n3\n")
                .unwrap()
                .trim_ascii(),
            b"3"
        );
    }

    #[weft::test]
    fn empty_input_and_output() {
        assert_eq!(filter_through("cat", &[], b"").unwrap(), b"");
        assert_eq!(filter_through("true", &[], b"ignored").unwrap(), b"");
    }

    #[weft::test]
    fn large_input_through_cat_does_not_deadlock() {
        // 1 MiB: far more than a pipe holds (64 KiB), in both directions at once.
        let input = pattern(1 << 20);
        let out = time::timeout(LIMIT, || filter_through("cat", &[], &input))
            .expect("finished: writing all the input before reading deadlocks with `cat`")
            .unwrap();
        assert!(out == input, "cat returned its input unchanged");
    }

    #[weft::test]
    fn large_output_from_small_input() {
        let out = time::timeout(LIMIT, || {
            filter_through("head", &["-c", "3000000", "/dev/zero"], b"")
        })
        .expect("finished")
        .unwrap();
        assert_eq!(out.len(), 3_000_000);
    }

    #[weft::test]
    fn a_program_that_stops_reading_early_is_fine() {
        let input = pattern(4 << 20);
        let out = time::timeout(LIMIT, || filter_through("head", &["-c", "10"], &input))
            .expect("finished")
            .unwrap();
        assert_eq!(out, &input[..10]);
    }

    #[weft::test]
    fn a_failing_program_is_an_error() {
        let e = filter_through("sh", &["-c", "echo partial; exit 3"], b"").unwrap_err();
        assert!(
            e.to_string().contains('3'),
            "the error names the status: {e}"
        );
        assert!(filter_through("false", &[], b"x").is_err());
    }

    #[weft::test]
    fn a_missing_program_is_not_found() {
        let e = filter_through("weft-guide-no-such-program", &[], b"").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }

    #[weft::test]
    fn a_hanging_program_can_be_timed_out() {
        let r = time::timeout(Duration::from_millis(50), || {
            filter_through("sleep", &["30"], b"")
        });
        assert!(r.is_err(), "the timeout cancelled the call");
    }
}

mod line_counts {
    use super::*;

    /// A temporary directory and a `Dir` capability on it.
    fn with_dir(f: impl FnOnce(&std::path::Path, &weft::fs::Dir)) {
        let tmp = tempfile::tempdir().unwrap();
        weft::run(|env| {
            let dir = env.fs().open_dir(tmp.path()).unwrap();
            f(tmp.path(), &dir);
        });
    }

    #[test]
    fn counts_lines_of_txt_files_only() {
        with_dir(|path, dir| {
            dir.write("three.txt", "a\nb\nc\n").unwrap();
            dir.write("unterminated.txt", "a\nb").unwrap();
            dir.write("blank-lines.txt", "\n\n").unwrap();
            dir.write("crlf.txt", "a\r\nb\r\n").unwrap();
            dir.write("empty.txt", "").unwrap();
            dir.write("binary.txt", b"\xff\n\xfe").unwrap();
            dir.write("notes.md", "x\ny\n").unwrap();
            dir.write("txt", "no dot\n").unwrap();
            dir.create_dir("folder.txt").unwrap();
            dir.create_dir("sub").unwrap();
            dir.write("sub/deeper.txt", "x\n").unwrap();
            symlink("three.txt", path.join("link.txt")).unwrap();
            symlink("sub", path.join("dirlink.txt")).unwrap();

            let counts = line_counts(dir).unwrap();
            let got: Vec<(&str, usize)> = counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            assert_eq!(
                got,
                [
                    ("binary.txt", 2),
                    ("blank-lines.txt", 2),
                    ("crlf.txt", 2),
                    ("empty.txt", 0),
                    ("link.txt", 3),
                    ("three.txt", 3),
                    ("unterminated.txt", 2),
                ]
            );
        });
    }

    #[test]
    fn many_files() {
        with_dir(|_, dir| {
            for i in 0..60 {
                dir.write(format!("f{i:02}.txt"), "line\n".repeat(i))
                    .unwrap();
            }
            let counts = line_counts(dir).unwrap();
            assert_eq!(counts.len(), 60);
            for i in 0..60 {
                assert_eq!(counts[&format!("f{i:02}.txt")], i);
            }
        });
    }

    #[test]
    fn an_empty_directory() {
        with_dir(|_, dir| assert!(line_counts(dir).unwrap().is_empty()));
    }

    #[test]
    fn a_symlink_leading_outside_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "s\ne\nc\n").unwrap();
        with_dir(|path, dir| {
            dir.write("ok.txt", "fine\n").unwrap();
            symlink(outside.path().join("secret.txt"), path.join("leak.txt")).unwrap();
            let e = line_counts(dir).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        });
    }

    #[test]
    fn a_relative_symlink_climbing_out_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(outside.path().join("inner")).unwrap();
        std::fs::write(outside.path().join("secret.txt"), "s\n").unwrap();
        let tmp = outside.path().join("inner");
        weft::run(|env| {
            let dir = env.fs().open_dir(&tmp).unwrap();
            symlink("../secret.txt", tmp.join("up.txt")).unwrap();
            let e = line_counts(&dir).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        });
    }
}
