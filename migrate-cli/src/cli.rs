//! The command line: `weft-migrate rewrite [PATH...]`.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

/// Rewrites a tokio crate into a weft crate.
///
/// ```
/// use clap::Parser;
/// let cli = weft_migrate::cli::Cli::try_parse_from(["weft-migrate", "rewrite", "--check", "src"]).unwrap();
/// let weft_migrate::cli::Command::Rewrite(a) = cli.command;
/// assert!(a.check);
/// ```
#[derive(Debug, Parser)]
#[command(
    name = "weft-migrate",
    version,
    about = "Rewrites a tokio crate into a weft crate (direct style), bridging what it cannot convert",
    long_about = None
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
///
/// ```
/// use clap::Parser;
/// let cli = weft_migrate::cli::Cli::try_parse_from(["weft-migrate", "rewrite"]).unwrap();
/// assert!(matches!(cli.command, weft_migrate::cli::Command::Rewrite(_)));
/// ```
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Rewrite files in place (default: src/, tests/, examples/, benches/
    /// of the crate in the current directory) and edit the Cargo.toml of
    /// the crate that holds them.
    Rewrite(RewriteArgs),
}

/// Output format of the report.
///
/// ```
/// use clap::Parser;
/// let cli = weft_migrate::cli::Cli::try_parse_from(["weft-migrate", "rewrite", "--format", "json"]).unwrap();
/// let weft_migrate::cli::Command::Rewrite(a) = cli.command;
/// assert_eq!(a.format, weft_migrate::cli::Format::Json);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `file:line:col: message` lines and a summary.
    Text,
    /// One JSON document.
    Json,
}

/// `rewrite`'s arguments.
///
/// ```
/// use clap::Parser;
/// let cli = weft_migrate::cli::Cli::try_parse_from(["weft-migrate", "rewrite", "--only", "f", "--only", "src/a.rs"]).unwrap();
/// let weft_migrate::cli::Command::Rewrite(a) = cli.command;
/// assert_eq!(a.only, ["f", "src/a.rs"]);
/// ```
#[derive(Debug, clap::Args)]
pub struct RewriteArgs {
    /// Files or directories to rewrite.
    pub paths: Vec<PathBuf>,
    /// Change nothing; exit 1 if anything would change.
    #[arg(long, conflicts_with = "diff")]
    pub check: bool,
    /// Print a unified diff instead of writing.
    #[arg(long)]
    pub diff: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Rewrite even when git reports uncommitted changes.
    #[arg(long)]
    pub allow_dirty: bool,
    /// Convert only these files/directories or functions (repeatable);
    /// calls across the boundary are bridged.
    #[arg(long = "only", value_name = "PATH_OR_FN")]
    pub only: Vec<String>,
    /// Mapping table and dependency settings (default: weft-migrate.toml
    /// in the crate directory, if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The crate directory (holds Cargo.toml); default: the nearest
    /// directory with a Cargo.toml that holds the paths given (or the
    /// current directory).
    #[arg(long, value_name = "DIR")]
    pub manifest_dir: Option<PathBuf>,
    /// Do not edit Cargo.toml.
    #[arg(long)]
    pub no_manifest: bool,
    /// Depend on weft by path (overrides the config).
    #[arg(long, value_name = "DIR")]
    pub weft_path: Option<String>,
    /// Depend on weft-compat by path (overrides the config).
    #[arg(long, value_name = "DIR")]
    pub compat_path: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', default_value_t = 0)]
    pub jobs: usize,
    /// Do not check the result with cargo (syntactic rewrite only).
    #[arg(long)]
    pub no_check: bool,
    /// Also run the crate's tests before and after and name any test that
    /// passed before and fails after.
    #[arg(long, conflicts_with = "no_check")]
    pub verify_tests: bool,
    /// Target directory of the checks (default: target/weft-migrate of
    /// the crate's workspace).
    #[arg(long, value_name = "DIR")]
    pub check_target_dir: Option<PathBuf>,
    /// Run cargo with --offline during the checks.
    #[arg(long)]
    pub offline: bool,
}

/// Runs the command line; returns the process exit code. Errors that stop
/// the run are printed and give 2.
///
/// ```
/// let code = weft_migrate::cli::main_with(["weft-migrate", "rewrite", "--check", "/nonexistent/x"]);
/// assert_eq!(code, 2);
/// ```
pub fn main_with<I, S>(args: I) -> i32
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let Command::Rewrite(mut a) = cli.command;
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    // Paths are given relative to where the tool runs, not to the crate.
    for p in &mut a.paths {
        if p.is_relative() {
            *p = cwd.join(&*p);
        }
    }
    let root = match a.manifest_dir.clone() {
        Some(dir) => dir,
        None => match crate_dir_of(&a.paths, &cwd) {
            Ok(dir) => dir,
            Err(e) => {
                eprintln!("weft-migrate: {e}");
                return 2;
            }
        },
    };
    if a.manifest_dir.is_none() && !root.join("Cargo.toml").is_file() && !a.no_manifest {
        eprintln!(
            "weft-migrate: {}: not inside a crate (no Cargo.toml here or above); \
             run it in a crate's directory, or pass --manifest-dir DIR or --no-manifest",
            root.display()
        );
        return 2;
    }
    let config = a
        .config
        .clone()
        .or_else(|| Some(root.join("weft-migrate.toml")).filter(|p| p.exists()));
    let mut table = match config {
        Some(p) => match crate::mapping::Table::from_file(&p) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("weft-migrate: {e}");
                return 2;
            }
        },
        None => crate::mapping::Table::builtin(),
    };
    if a.weft_path.is_some() {
        table.dependencies.weft_path = a.weft_path.clone();
    }
    if a.compat_path.is_some() {
        table.dependencies.compat_path = a.compat_path.clone();
    }
    let has_manifest = root.join("Cargo.toml").is_file();
    let opts = crate::RunOptions {
        root,
        paths: a.paths.clone(),
        mode: if a.check {
            crate::Mode::Check
        } else if a.diff {
            crate::Mode::Diff
        } else {
            crate::Mode::Write
        },
        allow_dirty: a.allow_dirty,
        only: a.only.clone(),
        table,
        manifest: !a.no_manifest,
        jobs: a.jobs,
        // Checking needs a crate cargo can build.
        check: (!a.no_check && has_manifest).then(|| crate::check::CheckOptions {
            target_dir: a.check_target_dir.clone(),
            offline: a.offline,
            verify_tests: a.verify_tests,
            ..crate::check::CheckOptions::default()
        }),
    };
    match crate::run(&opts) {
        Err(e) => {
            eprintln!("weft-migrate: {e}");
            2
        }
        Ok(out) => {
            if opts.mode == crate::Mode::Diff {
                print!("{}", out.diff);
            }
            match a.format {
                Format::Json => println!("{}", out.report.to_json()),
                Format::Text => eprint!("{}", out.report.to_text()),
            }
            out.report.exit_code(a.check)
        }
    }
}

/// The crate whose manifest a run edits: the nearest directory at or above
/// the paths (or `cwd` when none is given) that has a `Cargo.toml`, as
/// cargo finds it. Paths in different crates are an error, so a run never
/// edits one crate's manifest for another's sources.
///
/// ```
/// let d = std::env::temp_dir().join(format!("wm-crate-dir-doc-{}", std::process::id()));
/// std::fs::create_dir_all(d.join("src/net")).unwrap();
/// std::fs::write(d.join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
/// let found = weft_migrate::cli::crate_dir_of(&[d.join("src/net")], std::path::Path::new("/")).unwrap();
/// assert_eq!(found, d);
/// ```
pub fn crate_dir_of(paths: &[PathBuf], cwd: &Path) -> Result<PathBuf, String> {
    let nearest = |start: &Path| {
        let start = if start.is_file() {
            start.parent().unwrap_or(start)
        } else {
            start
        };
        start
            .ancestors()
            .find(|d| d.join("Cargo.toml").is_file())
            .map(Path::to_path_buf)
    };
    if paths.is_empty() {
        return Ok(nearest(cwd).unwrap_or_else(|| cwd.to_path_buf()));
    }
    let mut found: Option<(PathBuf, &PathBuf)> = None;
    for p in paths {
        // A missing path is reported by the run itself.
        let Some(dir) = nearest(p) else {
            if p.exists() {
                return Err(format!(
                    "{}: not inside a crate (no Cargo.toml above it); pass --manifest-dir or --no-manifest",
                    p.display()
                ));
            }
            continue;
        };
        match &found {
            None => found = Some((dir, p)),
            Some((first, first_path)) if *first != dir => {
                return Err(format!(
                    "{} and {} belong to different crates ({} and {}); run once per crate",
                    first_path.display(),
                    p.display(),
                    first.display(),
                    dir.display()
                ));
            }
            Some(_) => {}
        }
    }
    Ok(found.map_or_else(|| cwd.to_path_buf(), |(dir, _)| dir))
}
