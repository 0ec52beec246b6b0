//! The layering rule of weft-core, enforced: the core knows nothing of
//! the OS's I/O. Its dependencies (as `Cargo.lock` resolves them, the
//! same set `cargo tree -p weft-core -e normal` prints) reach no I/O
//! crate and not `weft`, and no line of its code (comments aside; the
//! rustdoc examples run inside `weft::run`) names `weft`, a backend
//! crate or a backend module. Unit tests of the core use the core alone.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Crates the core must never depend on, directly or not.
const FORBIDDEN_CRATES: &[&str] = &[
    "weft",
    "io-uring",
    "polling",
    "socket2",
    "signal-hook-registry",
    "mio",
    "tokio",
];

/// Names no line of the core's code may contain.
const FORBIDDEN_NAMES: &[&str] = &[
    "weft::",
    "io_uring",
    "polling::",
    "socket2",
    "signal_hook",
    "crate::backend::",
    "crate::net",
    "crate::fs",
    "crate::process",
    "crate::signal",
    "crate::io::",
    "crate::runtime",
];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The dependency names of `[dependencies]` and of every
/// `[target.'...'.dependencies]` table of a manifest (not dev-dependencies).
fn direct_dependencies(manifest: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut in_deps = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line == "[dependencies]"
                || (line.starts_with("[target.") && line.ends_with(".dependencies]"));
            continue;
        }
        if in_deps && !line.is_empty() && !line.starts_with('#') {
            if let Some((name, _)) = line.split_once('=') {
                names.insert(name.trim().to_string());
            }
        }
    }
    names
}

/// Each package of a lock file with the names of its dependencies.
fn lock_graph(lock: &str) -> HashMap<String, Vec<String>> {
    let mut graph: HashMap<String, Vec<String>> = HashMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let mut name = None;
        let mut deps = Vec::new();
        let mut in_list = false;
        for line in block.lines().map(str::trim) {
            if let Some(n) = line.strip_prefix("name = ") {
                name = Some(n.trim_matches('"').to_string());
            } else if line == "dependencies = [" {
                in_list = true;
            } else if in_list && line == "]" {
                in_list = false;
            } else if in_list {
                // "name" or "name version" when several versions exist.
                let dep = line.trim_matches(|c| c == '"' || c == ',');
                deps.push(dep.split(' ').next().unwrap_or(dep).to_string());
            }
        }
        if let Some(n) = name {
            graph.entry(n).or_default().extend(deps);
        }
    }
    graph
}

fn closure(graph: &HashMap<String, Vec<String>>, roots: &BTreeSet<String>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = roots.iter().cloned().collect();
    while let Some(n) = todo.pop() {
        if seen.insert(n.clone()) {
            todo.extend(graph.get(&n).into_iter().flatten().cloned());
        }
    }
    seen
}

/// A line's code: without its comment and without the text of its string
/// literals (messages may tell users to call `weft::run`).
fn code_of(line: &str) -> String {
    let mut code = String::new();
    let mut in_string = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_string => {
                chars.next();
            }
            '"' => {
                in_string = !in_string;
                code.push(c);
            }
            '/' if !in_string && chars.peek() == Some(&'/') => break,
            _ if in_string => {}
            _ => code.push(c),
        }
    }
    code
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("core/src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_core_depends_on_no_io_crate_and_not_on_weft() {
    let manifest = std::fs::read_to_string(manifest_dir().join("Cargo.toml")).unwrap();
    let lock = std::fs::read_to_string(manifest_dir().join("../Cargo.lock")).unwrap();
    let direct = direct_dependencies(&manifest);
    assert!(
        direct.contains("corosensei"),
        "the manifest was not read: {direct:?}"
    );
    let graph = lock_graph(&lock);
    let all = closure(&graph, &direct);
    assert!(
        all.contains("tracing-core"),
        "the lock file was not read: {all:?}"
    );
    let bad: Vec<_> = FORBIDDEN_CRATES
        .iter()
        .filter(|c| all.contains(**c))
        .collect();
    assert!(
        bad.is_empty(),
        "weft-core depends on {bad:?} (all: {all:?})"
    );
}

#[test]
fn no_line_of_the_core_names_weft_or_a_backend() {
    let mut files = Vec::new();
    rust_files(&manifest_dir().join("src"), &mut files);
    assert!(files.len() > 20, "core/src was not read: {files:?}");
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = code_of(line);
            for name in FORBIDDEN_NAMES {
                if code.contains(name) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "forbidden names:\n{}", found.join("\n"));
}

#[test]
fn the_checks_find_what_they_look_for() {
    let manifest = "[dependencies]\nlibc = \"0.2\"\n[dev-dependencies]\nweft = {}\n";
    let lock = "[[package]]\nname = \"libc\"\n\n[[package]]\nname = \"x\"\ndependencies = [\n \"polling\",\n]\n";
    let direct = direct_dependencies(manifest);
    assert_eq!(direct, BTreeSet::from(["libc".to_string()]));
    assert_eq!(
        code_of(r#"x("weft::run // \" y"); // weft::z"#),
        r#"x(""); "#
    );
    assert_eq!(code_of("use weft::fiber; // a"), "use weft::fiber; ");
    let graph = lock_graph(lock);
    let roots = BTreeSet::from(["x".to_string()]);
    assert!(closure(&graph, &roots).contains("polling"));
}
