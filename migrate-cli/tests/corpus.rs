//! A sample of real code no one here wrote (the local cargo registry's
//! sources; this workspace's own sources when there is no registry): the
//! rewriter never panics, every output parses, a second pass is a no-op.
//! The full run is `cargo run --release -p weft-migrate --example corpus`.

use std::path::PathBuf;

#[test]
fn sampled_registry_sources() {
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cargo")
        });
    let mut files = weft_migrate::corpus::rust_files(&home.join("registry/src"));
    if files.len() < 300 {
        let ws = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        files.extend(weft_migrate::corpus::rust_files(&ws.join("runtime")));
        files.extend(weft_migrate::corpus::rust_files(&ws.join("compat")));
    }
    // Files that use tokio first (where the rewriter has work), then an
    // even spread over the rest, 300 in all.
    let (mut tokio, rest): (Vec<_>, Vec<_>) = files.into_iter().partition(|p| {
        std::fs::read_to_string(p).is_ok_and(|t| t.contains("tokio::") && t.contains(".await"))
    });
    tokio.truncate(150);
    let step = (rest.len() / 150).max(1);
    let sample: Vec<PathBuf> = tokio
        .into_iter()
        .chain(rest.into_iter().step_by(step).take(150))
        .collect();
    let s = weft_migrate::corpus::check(&sample, 0);
    let failures: Vec<String> = s
        .failures
        .iter()
        .map(|f| format!("{}: {}", f.path.display(), f.what))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        s.files >= sample.len() * 9 / 10,
        "{} of {} files parsed",
        s.files,
        sample.len()
    );
    assert!(
        s.changed > 0,
        "the sample has tokio code the rewriter changes"
    );
}
