//! The `Dir` sandbox: a table of escape attempts (each refused with a clear
//! error, and nothing outside read, created, changed or removed), the same
//! kinds of operation inside the sandbox (all working), and races where a
//! directory is swapped for a symlink to the outside while fibers open,
//! write and delete through it. Every table runs on both resolvers.

use std::ffi::CString;
use std::io::{ErrorKind, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use weft::fs::{Dir, EscapeError, EscapeReason, PathError, Resolver};

const RESOLVERS: [Resolver; 2] = [Resolver::Auto, Resolver::Userspace];

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "weft-fs-sandbox-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `base/outside` (with `secret.txt` = "OUTSIDE") next to `base/sandbox`:
///
/// ```text
/// sandbox/inside.txt          "inside"
/// sandbox/a/b/c.txt           "abc"
/// sandbox/a/c                 "a-c"
/// sandbox/a/b/up_in        -> ../../inside.txt
/// sandbox/a/b/deep_up      -> ../../../outside
/// sandbox/link_in          -> a/b/c.txt
/// sandbox/link_dir_in      -> a/b
/// sandbox/link_dot         -> .
/// sandbox/chain1 -> chain2 -> a/b/../../inside.txt
/// sandbox/link_root        -> /
/// sandbox/link_parent      -> ..
/// sandbox/link_abs_secret  -> <base>/outside/secret.txt
/// sandbox/link_rel_secret  -> ../outside/secret.txt
/// sandbox/chain_out1 -> chain_out2 -> a/../../outside/secret.txt
/// sandbox/loop1 -> loop2 -> loop1
/// ```
struct Fixture {
    _tmp: TempDir,
    base: PathBuf,
    sandbox: PathBuf,
    outside: PathBuf,
}

fn fixture(tag: &str) -> Fixture {
    let tmp = TempDir::new(tag);
    let base = tmp.0.clone();
    let sandbox = base.join("sandbox");
    let outside = base.join("outside");
    std::fs::create_dir_all(outside.join("dir")).unwrap();
    std::fs::write(outside.join("secret.txt"), "OUTSIDE").unwrap();
    std::fs::create_dir_all(sandbox.join("a/b")).unwrap();
    std::fs::write(sandbox.join("inside.txt"), "inside").unwrap();
    std::fs::write(sandbox.join("a/b/c.txt"), "abc").unwrap();
    std::fs::write(sandbox.join("a/c"), "a-c").unwrap();
    let links: [(&str, String); 15] = [
        ("a/b/up_in", "../../inside.txt".into()),
        ("a/b/deep_up", "../../../outside".into()),
        ("link_in", "a/b/c.txt".into()),
        ("link_dir_in", "a/b".into()),
        ("link_dot", ".".into()),
        ("chain1", "chain2".into()),
        ("chain2", "a/b/../../inside.txt".into()),
        ("link_root", "/".into()),
        ("link_parent", "..".into()),
        (
            "link_abs_secret",
            outside.join("secret.txt").to_str().unwrap().into(),
        ),
        ("link_rel_secret", "../outside/secret.txt".into()),
        ("chain_out1", "chain_out2".into()),
        ("chain_out2", "a/../../outside/secret.txt".into()),
        ("loop1", "loop2".into()),
        ("loop2", "loop1".into()),
    ];
    for (link, target) in links {
        std::os::unix::fs::symlink(target, sandbox.join(link)).unwrap();
    }
    Fixture {
        _tmp: tmp,
        base,
        sandbox,
        outside,
    }
}

impl Fixture {
    fn dir(&self, resolver: Resolver) -> Dir {
        Dir::open_ambient(&self.sandbox)
            .unwrap()
            .with_resolver(resolver)
    }

    /// The outside directory is exactly as the fixture made it.
    fn assert_outside_untouched(&self) {
        let mut names: Vec<_> = std::fs::read_dir(&self.outside)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["dir", "secret.txt"],
            "something was created or removed outside"
        );
        assert_eq!(
            std::fs::read_dir(self.outside.join("dir")).unwrap().count(),
            0
        );
        assert_eq!(
            std::fs::read_to_string(self.outside.join("secret.txt")).unwrap(),
            "OUTSIDE"
        );
    }
}

#[derive(Debug)]
enum Why {
    Parent,
    Absolute,
    Symlink(&'static str, String),
}

/// Asserts `r` is a refusal: PermissionDenied with an EscapeError for
/// `path` and the expected reason, and a message naming the path.
#[track_caller]
fn assert_refused<T: std::fmt::Debug>(r: std::io::Result<T>, path: &str, why: &Why, what: &str) {
    let e = match r {
        Ok(v) => panic!("{what} {path:?}: expected a refusal, got Ok({v:?})"),
        Err(e) => e,
    };
    assert_eq!(
        e.kind(),
        ErrorKind::PermissionDenied,
        "{what} {path:?}: {e}"
    );
    let esc = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<EscapeError>())
        .unwrap_or_else(|| panic!("{what} {path:?}: not an EscapeError: {e:?}"));
    assert_eq!(esc.path(), Path::new(path), "{what}");
    let msg = e.to_string();
    assert!(
        msg.contains(path) && msg.contains("escapes"),
        "{what}: unclear message {msg:?}"
    );
    match (why, esc.reason()) {
        (Why::Parent, EscapeReason::ParentDir) | (Why::Absolute, EscapeReason::AbsolutePath) => {}
        (Why::Symlink(link, target), EscapeReason::Symlink { link: l, target: t }) => {
            assert_eq!(l, Path::new(link), "{what} {path:?}");
            assert_eq!(t, Path::new(target), "{what} {path:?}");
        }
        (want, got) => panic!("{what} {path:?}: expected {want:?}, got {got:?}"),
    }
}

fn escape_table(fx: &Fixture) -> Vec<(String, Why)> {
    let secret_abs = fx.outside.join("secret.txt").to_str().unwrap().to_string();
    vec![
        ("../outside/secret.txt".into(), Why::Parent),
        ("a/../../outside/secret.txt".into(), Why::Parent),
        ("a/b/../../../outside/secret.txt".into(), Why::Parent),
        ("..".into(), Why::Parent),
        ("link_dot/../outside/secret.txt".into(), Why::Parent),
        ("/etc/passwd".into(), Why::Absolute),
        (secret_abs.clone(), Why::Absolute),
        (
            "link_root/etc/passwd".into(),
            Why::Symlink("link_root", "/".into()),
        ),
        ("link_root".into(), Why::Symlink("link_root", "/".into())),
        (
            "link_parent/outside/secret.txt".into(),
            Why::Symlink("link_parent", "..".into()),
        ),
        (
            "link_abs_secret".into(),
            Why::Symlink("link_abs_secret", secret_abs),
        ),
        (
            "link_rel_secret".into(),
            Why::Symlink("link_rel_secret", "../outside/secret.txt".into()),
        ),
        (
            "chain_out1".into(),
            Why::Symlink("chain_out2", "a/../../outside/secret.txt".into()),
        ),
        (
            "a/b/deep_up/secret.txt".into(),
            Why::Symlink("deep_up", "../../../outside".into()),
        ),
    ]
}

#[test]
fn escape_attempts_are_refused_on_both_resolvers() {
    let fx = fixture("escape");
    weft::run(|_env| {
        for resolver in RESOLVERS {
            let dir = fx.dir(resolver);
            for (path, why) in escape_table(&fx) {
                let p = path.as_str();
                let what = format!("{resolver:?}");
                assert_refused(dir.read(p), p, &why, &format!("{what} read"));
                assert_refused(
                    dir.read_to_string(p),
                    p,
                    &why,
                    &format!("{what} read_to_string"),
                );
                assert_refused(dir.open(p), p, &why, &format!("{what} open"));
                assert_refused(dir.metadata(p), p, &why, &format!("{what} metadata"));
                assert_refused(dir.try_exists(p), p, &why, &format!("{what} try_exists"));
                assert_refused(
                    dir.read_dir(p).map(|r| r.count()),
                    p,
                    &why,
                    &format!("{what} read_dir"),
                );
                assert_refused(dir.open_dir(p), p, &why, &format!("{what} open_dir"));
                // Writing through the path must not reach the file outside.
                assert_refused(dir.write(p, "pwned"), p, &why, &format!("{what} write"));
                assert_refused(dir.create(p), p, &why, &format!("{what} create"));
                assert_refused(
                    dir.copy("inside.txt", &dir, p),
                    p,
                    &why,
                    &format!("{what} copy into"),
                );
                assert_refused(
                    dir.copy(p, &dir, "stolen"),
                    p,
                    &why,
                    &format!("{what} copy out of"),
                );
            }
            assert!(!dir.try_exists("stolen").unwrap());
            fx.assert_outside_untouched();
        }
    });
}

/// Operations on entries whose parent lies outside: creating, linking,
/// renaming (in and out), removing. All refused; nothing outside changes.
#[test]
fn entry_operations_outside_are_refused_on_both_resolvers() {
    let fx = fixture("entries");
    let secret_abs = fx.outside.join("secret.txt").to_str().unwrap().to_string();
    let new_abs = fx.outside.join("new").to_str().unwrap().to_string();
    weft::run(|_env| {
        for resolver in RESOLVERS {
            let dir = fx.dir(resolver);
            let targets: [(&str, Why); 5] = [
                ("../outside/new", Why::Parent),
                ("a/../../outside/new", Why::Parent),
                (
                    "link_parent/outside/new",
                    Why::Symlink("link_parent", "..".into()),
                ),
                (
                    "a/b/deep_up/new",
                    Why::Symlink("deep_up", "../../../outside".into()),
                ),
                (new_abs.as_str(), Why::Absolute),
            ];
            for (p, why) in &targets {
                let what = format!("{resolver:?}");
                assert_refused(dir.create_dir(p), p, why, &format!("{what} create_dir"));
                assert_refused(
                    dir.create_dir_all(p),
                    p,
                    why,
                    &format!("{what} create_dir_all"),
                );
                assert_refused(
                    dir.symlink("inside.txt", p),
                    p,
                    why,
                    &format!("{what} symlink"),
                );
                assert_refused(
                    dir.hard_link("inside.txt", &dir, p),
                    p,
                    why,
                    &format!("{what} hard_link"),
                );
                assert_refused(
                    dir.rename("inside.txt", &dir, p),
                    p,
                    why,
                    &format!("{what} rename into"),
                );
                assert_refused(dir.remove_file(p), p, why, &format!("{what} remove_file"));
                assert_refused(dir.remove_dir(p), p, why, &format!("{what} remove_dir"));
                assert_refused(
                    dir.remove_dir_all(p),
                    p,
                    why,
                    &format!("{what} remove_dir_all"),
                );
                assert_refused(dir.read_link(p), p, why, &format!("{what} read_link"));
                assert_refused(
                    dir.symlink_metadata(p),
                    p,
                    why,
                    &format!("{what} symlink_metadata"),
                );
            }
            let secrets: [(&str, Why); 4] = [
                ("../outside/secret.txt", Why::Parent),
                (
                    "link_parent/outside/secret.txt",
                    Why::Symlink("link_parent", "..".into()),
                ),
                (
                    "a/b/deep_up/secret.txt",
                    Why::Symlink("deep_up", "../../../outside".into()),
                ),
                (secret_abs.as_str(), Why::Absolute),
            ];
            for (p, why) in &secrets {
                let what = format!("{resolver:?}");
                assert_refused(
                    dir.rename(p, &dir, "stolen"),
                    p,
                    why,
                    &format!("{what} rename out"),
                );
                assert_refused(
                    dir.hard_link(p, &dir, "stolen"),
                    p,
                    why,
                    &format!("{what} hard_link out"),
                );
                assert_refused(dir.remove_file(p), p, why, &format!("{what} remove_file"));
            }
            let p = "link_parent/outside";
            let why = Why::Symlink("link_parent", "..".into());
            assert_refused(
                dir.remove_dir_all(p),
                p,
                &why,
                "remove_dir_all of an outside dir",
            );
            // A symlink pointing out may be created (it is just text), but
            // creating a file through it is refused.
            dir.symlink("../outside/created", "dangling_out").unwrap();
            let why = Why::Symlink("dangling_out", "../outside/created".into());
            assert_refused(
                dir.write("dangling_out", "x"),
                "dangling_out",
                &why,
                "write via dangling link",
            );
            dir.remove_file("dangling_out").unwrap();
            assert!(dir.try_exists("inside.txt").unwrap());
            assert!(!dir.try_exists("stolen").unwrap());
            fx.assert_outside_untouched();
        }
    });
}

#[test]
fn nul_bytes_and_final_dots_are_invalid_input() {
    let fx = fixture("invalid");
    weft::run(|_env| {
        for resolver in RESOLVERS {
            let dir = fx.dir(resolver);
            for e in [
                dir.read("inside\0.txt").unwrap_err(),
                dir.open("a/\0").map(drop).unwrap_err(),
                dir.remove_file("a\0b").unwrap_err(),
                dir.create_dir("x\0").unwrap_err(),
                dir.symlink("tar\0get", "l").unwrap_err(),
                dir.rename("inside.txt", &dir, "to\0").unwrap_err(),
            ] {
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "{resolver:?}: {e}");
                assert!(e.to_string().contains("NUL"), "{e}");
            }
            // Entry operations need a final name; `.`/`..` are not one.
            for p in ["a/..", "a/b/.", ".", "link_dir_in/.."] {
                for e in [
                    dir.remove_dir(p).unwrap_err(),
                    dir.remove_file(p).unwrap_err(),
                    dir.create_dir(p).unwrap_err(),
                    dir.rename(p, &dir, "elsewhere").unwrap_err(),
                ] {
                    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{p}: {e}");
                    assert!(e.to_string().contains(p), "{e}");
                }
            }
            // ... unless they also climb out: then that is what is said.
            for p in ["..", "a/../..", "link_dot/.."] {
                assert_refused(dir.remove_dir(p), p, &Why::Parent, "remove_dir");
                assert_refused(dir.remove_dir_all(p), p, &Why::Parent, "remove_dir_all");
            }
            let p = "link_parent/.";
            let why = Why::Symlink("link_parent", "..".into());
            assert_refused(dir.remove_dir_all(p), p, &why, "remove_dir_all");
            assert!(dir.metadata("a/b").unwrap().is_dir(), "nothing was removed");
        }
    });
}

#[test]
fn symlink_loops_fail_with_eloop_not_a_hang() {
    let fx = fixture("loop");
    weft::run(|_env| {
        for resolver in RESOLVERS {
            let dir = fx.dir(resolver);
            let e = dir.read("loop1").unwrap_err();
            let pe = e
                .get_ref()
                .and_then(|i| i.downcast_ref::<PathError>())
                .unwrap_or_else(|| panic!("{resolver:?}: {e:?}"));
            assert_eq!(
                pe.io_error().raw_os_error(),
                Some(libc::ELOOP),
                "{resolver:?}"
            );
            assert!(e.to_string().contains("loop1"));
        }
    });
}

#[test]
fn paths_that_stay_inside_work_on_both_resolvers() {
    let fx = fixture("inside");
    weft::run(|_env| {
        for resolver in RESOLVERS {
            let dir = fx.dir(resolver);
            let table = [
                ("inside.txt", "inside"),
                ("./inside.txt", "inside"),
                ("a/b/c.txt", "abc"),
                ("a//b///c.txt", "abc"),
                ("a/b/../c", "a-c"),
                ("a/b/../../inside.txt", "inside"),
                ("a/./b/./../c", "a-c"),
                ("link_in", "abc"),
                ("link_dir_in/c.txt", "abc"),
                ("link_dir_in/../c", "a-c"),
                ("chain1", "inside"),
                ("a/b/up_in", "inside"),
                ("link_dot/inside.txt", "inside"),
                ("link_dot/a/../inside.txt", "inside"),
                ("link_dir_in/up_in", "inside"),
            ];
            for (p, want) in table {
                assert_eq!(dir.read_to_string(p).unwrap(), want, "{resolver:?} {p}");
                let mut s = String::new();
                dir.open(p).unwrap().read_to_string(&mut s).unwrap();
                assert_eq!(s, want, "{resolver:?} open {p}");
                assert!(dir.metadata(p).unwrap().is_file(), "{resolver:?} {p}");
                assert!(dir.try_exists(p).unwrap());
            }
            assert!(dir.metadata(".").unwrap().is_dir());
            assert!(dir.metadata("a/b/..").unwrap().is_dir());
            assert!(dir.metadata("link_dir_in").unwrap().is_dir());
            assert!(!dir.try_exists("a/nope").unwrap());
            assert_eq!(dir.read("a/nope").unwrap_err().kind(), ErrorKind::NotFound);
            // The escaping links themselves live inside: they can be looked
            // at and read as text, just not followed.
            assert!(dir
                .symlink_metadata("link_root")
                .unwrap()
                .file_type()
                .is_symlink());
            assert_eq!(dir.read_link("link_root").unwrap(), Path::new("/"));
            assert_eq!(
                dir.read_link("a/b/deep_up").unwrap(),
                Path::new("../../../outside")
            );
            let mut names: Vec<_> = dir
                .read_dir("link_dir_in")
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            assert_eq!(names, ["c.txt", "deep_up", "up_in"]);
            let entry = dir
                .read_dir("a")
                .unwrap()
                .find(|e| e.as_ref().unwrap().name() == "c")
                .unwrap()
                .unwrap();
            assert_eq!(entry.path(), Path::new("a/c"));
            assert!(entry.file_type().unwrap().is_file());

            // Narrowing: a sub-Dir cannot climb back into its parent.
            let a = dir.open_dir("a").unwrap();
            assert_eq!(a.read_to_string("b/c.txt").unwrap(), "abc");
            assert_eq!(a.read_to_string("b/../c").unwrap(), "a-c");
            assert_eq!(a.resolver(), resolver);
            assert_refused(
                a.read("../inside.txt"),
                "../inside.txt",
                &Why::Parent,
                "narrowed",
            );
            // up_in climbs two levels: fine from the sandbox, out from `a`.
            assert_refused(
                a.read("b/up_in"),
                "b/up_in",
                &Why::Symlink("up_in", "../../inside.txt".into()),
                "narrowed",
            );
            let b = dir.open_dir("link_dir_in").unwrap();
            assert_eq!(b.read_to_string("c.txt").unwrap(), "abc");
            assert_refused(b.read("../c"), "../c", &Why::Parent, "narrowed via link");
        }
        fx.assert_outside_untouched();
    });
}

#[test]
fn mutations_inside_work_on_both_resolvers() {
    for resolver in RESOLVERS {
        let fx = fixture("mutate");
        weft::run(|_env| {
            let dir = fx.dir(resolver);
            dir.create_dir("new").unwrap();
            assert_eq!(
                dir.create_dir("new").unwrap_err().kind(),
                ErrorKind::AlreadyExists
            );
            dir.create_dir_all("x/y/../z").unwrap();
            assert!(dir.metadata("x/y").unwrap().is_dir());
            assert!(dir.metadata("x/z").unwrap().is_dir());
            dir.create_dir_all("link_dir_in/made/deeper").unwrap();
            assert!(fx.sandbox.join("a/b/made/deeper").is_dir());

            dir.write("x/z/f", "1").unwrap();
            dir.rename("x/z/f", &dir, "x/y/g").unwrap();
            assert_eq!(dir.read_to_string("x/y/g").unwrap(), "1");
            let sub = dir.open_dir("x").unwrap();
            dir.rename("x/y/g", &sub, "moved").unwrap();
            assert_eq!(sub.read_to_string("moved").unwrap(), "1");
            sub.rename("moved", &dir, "back").unwrap();
            assert_eq!(dir.read_to_string("back").unwrap(), "1");

            dir.symlink("back", "ln").unwrap();
            assert_eq!(dir.read_to_string("ln").unwrap(), "1");
            dir.hard_link("inside.txt", &sub, "hl").unwrap();
            assert_eq!(dir.read_to_string("x/hl").unwrap(), "inside");
            assert_eq!(dir.copy("inside.txt", &sub, "copied").unwrap(), 6);
            assert_eq!(sub.read_to_string("copied").unwrap(), "inside");

            // Writing through symlinks that stay inside lands inside.
            dir.write("link_dir_in/new.txt", "via dir link").unwrap();
            assert_eq!(
                std::fs::read_to_string(fx.sandbox.join("a/b/new.txt")).unwrap(),
                "via dir link"
            );
            dir.symlink("a/b/created_via_link", "dangling_in").unwrap();
            dir.write("dangling_in", "z").unwrap();
            assert_eq!(
                std::fs::read_to_string(fx.sandbox.join("a/b/created_via_link")).unwrap(),
                "z"
            );

            // Removing acts on the entry itself, never a link's target.
            dir.remove_file("ln").unwrap();
            assert_eq!(dir.read_to_string("back").unwrap(), "1");
            dir.remove_file("link_root").unwrap();
            assert_eq!(
                dir.symlink_metadata("link_root").unwrap_err().kind(),
                ErrorKind::NotFound
            );
            dir.remove_dir_all("link_parent").unwrap(); // the link, not `..`
            assert!(fx.base.join("sandbox").is_dir());
            dir.remove_dir_all("a/b/deep_up").unwrap();
            dir.remove_dir("new").unwrap();
            assert_ne!(dir.remove_dir("x").unwrap_err().kind(), ErrorKind::NotFound);
            dir.remove_dir_all("x").unwrap();
            assert!(!dir.try_exists("x").unwrap());
            dir.remove_file("back").unwrap();
            fx.assert_outside_untouched();
        });
    }
}

#[test]
fn cwd_and_fs_capabilities() {
    weft::run(|env| {
        // `cargo test` runs in the package directory, inside the workspace.
        let cwd = env.cwd().unwrap();
        assert!(cwd.is_sandboxed());
        assert!(cwd
            .read_to_string("Cargo.toml")
            .unwrap()
            .contains("name = \"weft\""));
        assert!(std::path::Path::new("../Cargo.toml").exists());
        assert_refused(
            cwd.read("../Cargo.toml"),
            "../Cargo.toml",
            &Why::Parent,
            "cwd",
        );
        let abs = std::env::current_dir().unwrap().join("Cargo.toml");
        let abs = abs.to_str().unwrap();
        assert_refused(cwd.read(abs), abs, &Why::Absolute, "cwd");

        let root = env.fs();
        assert!(!root.is_sandboxed());
        assert!(root
            .read_to_string(abs)
            .unwrap()
            .contains("name = \"weft\""));
        assert!(
            root.metadata("../Cargo.toml").unwrap().is_file(),
            "ambient: like std"
        );
        let narrowed = root.open_dir("src").unwrap();
        assert!(narrowed.is_sandboxed());
        assert!(narrowed.metadata("lib.rs").unwrap().is_file());
        assert_refused(
            narrowed.read("../Cargo.toml"),
            "../Cargo.toml",
            &Why::Parent,
            "narrowed fs",
        );
    });
}

/// `WEFT_FS_RESOLVER=userspace` makes new sandboxed `Dir`s use the
/// userspace resolver (read once per process, so checked in a child).
#[test]
fn resolver_env_var_forces_the_userspace_resolver() {
    const CHILD: &str = "WEFT_FS_RESOLVER_CHILD";
    if std::env::var(CHILD).is_ok() {
        weft::run(|env| {
            assert_eq!(env.cwd().unwrap().resolver(), Resolver::Userspace);
            let d = env.fs().open_dir("src").unwrap();
            assert_eq!(d.resolver(), Resolver::Userspace);
            assert_eq!(d.open_dir("fs").unwrap().resolver(), Resolver::Userspace);
            assert_refused(
                d.read("../Cargo.toml"),
                "../Cargo.toml",
                &Why::Parent,
                "child",
            );
        });
        return;
    }
    weft::run(|env| assert_eq!(env.cwd().unwrap().resolver(), Resolver::Auto));
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "resolver_env_var_forces_the_userspace_resolver"])
        .env(CHILD, "1")
        .env("WEFT_FS_RESOLVER", "userspace")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One `Dir` used by fibers on two threads at once.
#[test]
fn a_dir_is_shared_across_threads() {
    let fx = fixture("threads");
    // Opening blocks (on the pool), so it needs a runtime; using the Dir
    // afterwards works from any runtime on any thread.
    let dir = Arc::new(weft::run(|_env| fx.dir(Resolver::Auto)));
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                weft::run(|_env| {
                    for i in 0..50 {
                        let p = format!("t{t}-{i}");
                        dir.write(&p, &p).unwrap();
                        assert_eq!(dir.read_to_string(&p).unwrap(), p);
                        assert_refused(
                            dir.read("../outside/secret.txt"),
                            "../outside/secret.txt",
                            &Why::Parent,
                            "thread",
                        );
                    }
                })
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(
        std::fs::read_dir(&fx.sandbox)
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_str()
                .unwrap()
                .starts_with('t'))
            .count(),
        100
    );
    fx.assert_outside_untouched();
}

/// `renameat2(RENAME_EXCHANGE)`: atomically swaps two names. Fails when
/// one of them is gone (a racing removal).
fn exchange(a: &Path, b: &Path) -> bool {
    let ca = CString::new(a.as_os_str().as_bytes()).unwrap();
    let cb = CString::new(b.as_os_str().as_bytes()).unwrap();
    // SAFETY: both paths are NUL-terminated C strings.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    r == 0
}

/// A thread that keeps swapping each pair of names until stopped.
struct Swapper {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<u64>>,
}

impl Swapper {
    fn start(pairs: Vec<(PathBuf, PathBuf)>) -> Swapper {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !s.load(Ordering::Relaxed) {
                for (a, b) in &pairs {
                    if exchange(a, b) {
                        swaps += 1;
                    }
                }
            }
            swaps
        });
        Swapper {
            stop,
            handle: Some(handle),
        }
    }

    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().unwrap().join().unwrap()
    }
}

impl Drop for Swapper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// While a thread swaps directories and files for symlinks to the outside
/// (absolute and relative), fibers open, read and create through them many
/// times: every call either works inside the sandbox or fails; none ever
/// reads the outside file or creates anything outside. Both outcomes must
/// be seen, so the race really happened.
#[test]
fn symlink_swapped_in_during_the_call_never_escapes() {
    for resolver in RESOLVERS {
        let fx = fixture("race");
        let race = fx.sandbox.join("race");
        std::fs::create_dir_all(race.join("d")).unwrap();
        std::fs::write(race.join("d/secret.txt"), "inside").unwrap();
        std::fs::create_dir_all(race.join("d2")).unwrap();
        std::fs::write(race.join("d2/secret.txt"), "inside").unwrap();
        std::fs::write(race.join("f"), "inside").unwrap();
        std::os::unix::fs::symlink(&fx.outside, race.join("s")).unwrap();
        std::os::unix::fs::symlink("../../outside", race.join("r")).unwrap();
        std::os::unix::fs::symlink("../../outside/secret.txt", race.join("fl")).unwrap();
        let swapper = Swapper::start(vec![
            (race.join("d"), race.join("s")),
            (race.join("d2"), race.join("r")),
            (race.join("f"), race.join("fl")),
        ]);
        let (ok, refused, other) = (Cell3::default(), Cell3::default(), Cell3::default());
        weft::run(|_env| {
            let dir = fx.dir(resolver);
            let targets = ["race/d/secret.txt", "race/d2/secret.txt", "race/f"];
            weft::Switch::run(|sw| {
                for fiber in 0..4usize {
                    let (dir, ok, refused, other) = (&dir, &ok, &refused, &other);
                    sw.fork(move || {
                        for i in 0..20_000usize {
                            let t = (i + fiber) % targets.len();
                            match dir.read_to_string(targets[t]) {
                                Ok(s) => {
                                    assert_eq!(
                                        s, "inside",
                                        "{resolver:?}: read outside through {}",
                                        targets[t]
                                    );
                                    ok.bump(t);
                                }
                                Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                                    refused.bump(t)
                                }
                                Err(_) => other.bump(t),
                            }
                            if i % 8 == 0 {
                                // Creating through a swapped path must stay inside too.
                                let _ = dir.write("race/d/new.txt", "x");
                                let _ = dir.create_dir("race/d2/newdir");
                            }
                            if ok.min() >= 30 && refused.min() >= 30 {
                                break;
                            }
                        }
                    });
                }
                Ok(())
            })
            .unwrap();
        });
        let swaps = swapper.stop();
        eprintln!(
            "{resolver:?}: {swaps} swaps; per target ok {:?}, refused {:?}, other errors {:?}",
            ok.get(),
            refused.get(),
            other.get()
        );
        assert!(
            ok.min() > 0 && refused.min() > 0,
            "{resolver:?}: the race was not exercised"
        );
        fx.assert_outside_untouched();
    }
}

/// While a thread swaps a subdirectory for a symlink to the outside,
/// `remove_dir_all` of the tree never deletes anything outside.
#[test]
fn remove_dir_all_racing_a_symlink_swap_never_deletes_outside() {
    for resolver in RESOLVERS {
        let fx = fixture("race-rm");
        let std_tree = fx.sandbox.join("t");
        std::fs::create_dir_all(fx.outside.join("dir")).unwrap();
        weft::run(|_env| {
            let dir = fx.dir(resolver);
            for round in 0..60 {
                dir.create_dir_all("t/sub/deeper").unwrap();
                for k in 0..5 {
                    dir.write(format!("t/sub/f{k}"), "x").unwrap();
                }
                // `t/link` points at the outside directory; the swapper
                // exchanges it with `t/sub` while the tree is removed.
                std::os::unix::fs::symlink(&fx.outside, std_tree.join("link")).unwrap();
                let swapper = Swapper::start(vec![(std_tree.join("sub"), std_tree.join("link"))]);
                let r = dir.remove_dir_all("t");
                swapper.stop();
                if r.is_err() {
                    // Lost a race with the swapper: finish the job calmly.
                    dir.remove_dir_all("t").unwrap();
                }
                assert!(!dir.try_exists("t").unwrap(), "round {round}");
                fx.assert_outside_untouched();
            }
        });
    }
}

/// Per-target counters shared by the racing fibers (one thread).
#[derive(Default)]
struct Cell3([std::cell::Cell<u32>; 3]);

impl Cell3 {
    fn bump(&self, i: usize) {
        self.0[i].set(self.0[i].get() + 1);
    }
    fn min(&self) -> u32 {
        self.0.iter().map(|c| c.get()).min().unwrap()
    }
    fn get(&self) -> [u32; 3] {
        [self.0[0].get(), self.0[1].get(), self.0[2].get()]
    }
}
