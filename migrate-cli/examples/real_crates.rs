//! The corpus of real crates: fetches each crate of
//! `migrate-cli/corpus/crates.toml` with cargo (pinned versions; needs
//! the registry), migrates a copy with the compiler in the loop, runs its
//! tests before and after, and prints the table that
//! `migrate-cli/README.md` records. Not part of `cargo test`.
//!
//! `cargo run --release -p weft-migrate --example real_crates -- [--work DIR] [--only NAME]...`

use std::path::PathBuf;

fn main() {
    let ws = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf();
    let mut work = std::env::temp_dir().join("weft-migrate-corpus");
    let mut only: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--work" => work = args.next().map(PathBuf::from).unwrap_or(work),
            "--only" => only.extend(args.next()),
            other => {
                eprintln!(
                    "unknown argument {other}; usage: real_crates [--work DIR] [--only NAME]..."
                );
                std::process::exit(2);
            }
        }
    }
    let list_path = ws.join("migrate-cli/corpus/crates.toml");
    let text = std::fs::read_to_string(&list_path).expect("crates.toml");
    let mut list: weft_migrate::real_crates::List =
        toml_edit::de::from_str(&text).expect("crates.toml parses");
    if !only.is_empty() {
        list.krate.retain(|c| only.contains(&c.name));
    }
    let dirs = match weft_migrate::real_crates::fetch(&list, &work) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("real_crates: {e}");
            std::process::exit(2);
        }
    };
    let target = work.join("target");
    let mut rows = Vec::new();
    let mut worse = Vec::new();
    for (d, entry) in dirs.iter().zip(&list.krate) {
        eprintln!("real_crates: {}", d.display());
        let row =
            weft_migrate::real_crates::run_one(d, &ws.join("runtime"), &ws.join("compat"), &target);
        eprintln!(
            "{}",
            weft_migrate::real_crates::table(std::slice::from_ref(&row))
        );
        for r in &row.regressed {
            eprintln!("  passed before, fails after: {r}");
        }
        if !row.note.is_empty() {
            eprintln!("  note: {}", row.note);
        }
        if let Some(e) = &entry.expect {
            worse.extend(
                e.worse(&row)
                    .into_iter()
                    .map(|w| format!("{}: {w}", row.krate)),
            );
        }
        rows.push(row);
    }
    print!("{}", weft_migrate::real_crates::table(&rows));
    println!("\n{}", weft_migrate::real_crates::speed_summary(&rows));
    for r in &rows {
        for t in &r.regressed {
            println!("- {}: passed before, fails after: {t}", r.krate);
        }
        if !r.note.is_empty() {
            println!("- {}: {}", r.krate, r.note);
        }
    }
    for w in &worse {
        println!("- worse than expected: {w}");
    }
    let all_build = rows.iter().all(|r| r.builds || !r.built_before);
    std::process::exit(if all_build && worse.is_empty() { 0 } else { 1 });
}
