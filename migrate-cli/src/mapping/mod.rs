//! The mapping table: which tokio (and user) paths become which weft paths,
//! and which awaited calls are direct after the migration (by method
//! name: [`methods`], the one table of method names).
//!
//! The built-in table is a list of `(tokio path, weft path, kind)` rows; a
//! path is looked up by its longest prefix in the table, so a `Module` row
//! (`tokio::sync` -> `weft::sync`) covers every item under it that has no
//! row of its own. Users add rows in `weft-migrate.toml`:
//!
//! ```toml
//! # paths of async functions that have a direct replacement
//! [functions]
//! "my_db::query" = "my_db::blocking::query"
//! # names of async functions or methods that are already direct
//! [direct]
//! names = ["fetch_config"]
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Deserialize;

pub mod methods;

/// What a mapped path names, which decides where it may be rewritten.
///
/// ```
/// let t = weft_migrate::mapping::Table::builtin();
/// assert_eq!(t.target(&["tokio", "io", "AsyncReadExt"]).unwrap().1, weft_migrate::mapping::Kind::Trait);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A module: the rest of the path is kept (`tokio::sync::mpsc::channel`).
    Module,
    /// A type or a synchronous function: rewritten wherever it appears.
    Item,
    /// An async function in tokio whose weft counterpart is direct: rewritten
    /// only where its call is awaited, since calling it early would run it
    /// early.
    AsyncFn,
    /// A trait (`AsyncReadExt` -> `std::io::Read`).
    Trait,
}

/// One row of the table.
///
/// ```
/// let t = weft_migrate::mapping::Table::builtin();
/// let (_, m) = t.lookup(&["tokio", "task", "JoinSet"]).unwrap();
/// assert_eq!(m.target, "weft::TaskSet");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The target path, `::`-separated, without a leading `::`.
    pub target: String,
    /// What it names.
    pub kind: Kind,
}

const BUILTIN: &[(&str, &str, Kind)] = &[
    // entry points and tasks
    ("tokio::spawn", "weft::spawn", Kind::Item),
    ("tokio::task::spawn", "weft::spawn", Kind::Item),
    ("tokio::task::spawn_local", "weft::spawn", Kind::Item),
    ("tokio::task::spawn_blocking", "weft::blocking", Kind::Item),
    ("tokio::task::block_in_place", "weft::blocking", Kind::Item),
    (
        "tokio::task::yield_now",
        "weft::fiber::yield_now",
        Kind::AsyncFn,
    ),
    ("tokio::task_local", "weft::task_local", Kind::Item),
    (
        "tokio_util::sync::CancellationToken",
        "weft::sync::CancellationToken",
        Kind::Item,
    ),
    (
        "tokio_util::sync::DropGuard",
        "weft::sync::DropGuard",
        Kind::Item,
    ),
    (
        "tokio_util::sync::DropGuardRef",
        "weft::sync::DropGuardRef",
        Kind::Item,
    ),
    ("tokio::task::JoinSet", "weft::TaskSet", Kind::Item),
    ("tokio::task::JoinHandle", "weft::JoinHandle", Kind::Item),
    ("tokio::task::JoinError", "weft::JoinError", Kind::Item),
    ("tokio::task::AbortHandle", "weft::AbortHandle", Kind::Item),
    ("tokio::task", "weft::task", Kind::Module),
    // time
    ("tokio::time::sleep", "weft::time::sleep", Kind::AsyncFn),
    (
        "tokio::time::sleep_until",
        "weft::time::sleep_until",
        Kind::AsyncFn,
    ),
    ("tokio::time::Duration", "std::time::Duration", Kind::Item),
    (
        "tokio::time::error::Elapsed",
        "weft::time::Elapsed",
        Kind::Item,
    ),
    ("tokio::time", "weft::time", Kind::Module),
    // net
    (
        "tokio::net::TcpListener::bind",
        "weft::net::TcpListener::bind",
        Kind::AsyncFn,
    ),
    (
        "tokio::net::TcpStream::connect",
        "weft::net::TcpStream::connect",
        Kind::AsyncFn,
    ),
    (
        "tokio::net::UdpSocket::bind",
        "weft::net::UdpSocket::bind",
        Kind::AsyncFn,
    ),
    (
        "tokio::net::lookup_host",
        "weft::net::lookup_host",
        Kind::AsyncFn,
    ),
    ("tokio::net", "weft::net", Kind::Module),
    // signals
    (
        "tokio::signal::ctrl_c",
        "weft::signal::ctrl_c",
        Kind::AsyncFn,
    ),
    ("tokio::signal", "weft::signal", Kind::Module),
    // fs
    ("tokio::fs::read", "weft::fs::read", Kind::AsyncFn),
    (
        "tokio::fs::read_to_string",
        "weft::fs::read_to_string",
        Kind::AsyncFn,
    ),
    ("tokio::fs::write", "weft::fs::write", Kind::AsyncFn),
    ("tokio::fs::metadata", "weft::fs::metadata", Kind::AsyncFn),
    ("tokio::fs::read_dir", "weft::fs::read_dir", Kind::AsyncFn),
    (
        "tokio::fs::create_dir",
        "weft::fs::create_dir",
        Kind::AsyncFn,
    ),
    (
        "tokio::fs::create_dir_all",
        "weft::fs::create_dir_all",
        Kind::AsyncFn,
    ),
    (
        "tokio::fs::remove_file",
        "weft::fs::remove_file",
        Kind::AsyncFn,
    ),
    (
        "tokio::fs::remove_dir",
        "weft::fs::remove_dir",
        Kind::AsyncFn,
    ),
    (
        "tokio::fs::remove_dir_all",
        "weft::fs::remove_dir_all",
        Kind::AsyncFn,
    ),
    ("tokio::fs::rename", "weft::fs::rename", Kind::AsyncFn),
    ("tokio::fs::copy", "weft::fs::copy", Kind::AsyncFn),
    (
        "tokio::fs::canonicalize",
        "weft::fs::canonicalize",
        Kind::AsyncFn,
    ),
    (
        "tokio::fs::try_exists",
        "weft::fs::try_exists",
        Kind::AsyncFn,
    ),
    (
        "tokio::fs::File::open",
        "weft::fs::File::open",
        Kind::AsyncFn,
    ),
    (
        "tokio::fs::File::create",
        "weft::fs::File::create",
        Kind::AsyncFn,
    ),
    ("tokio::fs", "weft::fs", Kind::Module),
    // process
    ("tokio::process", "weft::process", Kind::Module),
    // sync (weft's `new` is the const constructor tokio calls `const_new`)
    (
        "tokio::sync::Mutex::const_new",
        "weft::sync::Mutex::new",
        Kind::Item,
    ),
    (
        "tokio::sync::RwLock::const_new",
        "weft::sync::RwLock::new",
        Kind::Item,
    ),
    (
        "tokio::sync::Notify::const_new",
        "weft::sync::Notify::new",
        Kind::Item,
    ),
    (
        "tokio::sync::Semaphore::const_new",
        "weft::sync::Semaphore::new",
        Kind::Item,
    ),
    ("tokio::sync", "weft::sync", Kind::Module),
    // io: tokio's traits become std's, implemented by weft's streams
    ("tokio::io::AsyncReadExt", "std::io::Read", Kind::Trait),
    ("tokio::io::AsyncRead", "std::io::Read", Kind::Trait),
    ("tokio::io::AsyncWriteExt", "std::io::Write", Kind::Trait),
    ("tokio::io::AsyncWrite", "std::io::Write", Kind::Trait),
    (
        "tokio::io::AsyncBufReadExt",
        "std::io::BufRead",
        Kind::Trait,
    ),
    ("tokio::io::AsyncBufRead", "std::io::BufRead", Kind::Trait),
    ("tokio::io::AsyncSeekExt", "std::io::Seek", Kind::Trait),
    ("tokio::io::AsyncSeek", "std::io::Seek", Kind::Trait),
    ("tokio::io::BufReader", "std::io::BufReader", Kind::Item),
    ("tokio::io::BufWriter", "weft::io::BufWriter", Kind::Item),
    ("tokio::io::copy", "std::io::copy", Kind::AsyncFn),
    ("tokio::io::duplex", "weft::io::duplex", Kind::Item),
    (
        "tokio::io::DuplexStream",
        "weft::io::DuplexStream",
        Kind::Item,
    ),
    ("tokio::io::split", "weft::io::split", Kind::Item),
    ("tokio::io::ReadHalf", "weft::io::ReadHalf", Kind::Item),
    ("tokio::io::WriteHalf", "weft::io::WriteHalf", Kind::Item),
    ("tokio::io::copy_buf", "std::io::copy", Kind::AsyncFn),
    // std's standard streams would block the thread and every fiber on it
    ("tokio::io::stdin", "weft::io::stdin", Kind::Item),
    ("tokio::io::stdout", "weft::io::stdout", Kind::Item),
    ("tokio::io::stderr", "weft::io::stderr", Kind::Item),
    ("tokio::io::Stdin", "weft::io::Stdin", Kind::Item),
    ("tokio::io::Stdout", "weft::io::Stdout", Kind::Item),
    ("tokio::io::Stderr", "weft::io::Stderr", Kind::Item),
    ("tokio::io", "std::io", Kind::Module),
    // futures
    (
        "futures::future::join_all",
        "weft::fiber::all",
        Kind::AsyncFn,
    ),
    (
        "futures::future::try_join_all",
        "weft::fiber::all",
        Kind::AsyncFn,
    ),
    (
        "futures::stream::FuturesUnordered",
        "weft::TaskSet",
        Kind::Item,
    ),
    (
        "tokio::net::tcp::ReadHalf",
        "weft::net::tcp::ReadHalf",
        Kind::Item,
    ),
    (
        "tokio::net::tcp::WriteHalf",
        "weft::net::tcp::WriteHalf",
        Kind::Item,
    ),
    (
        "tokio::net::unix::ReadHalf",
        "weft::net::unix::ReadHalf",
        Kind::Item,
    ),
    (
        "tokio::net::unix::WriteHalf",
        "weft::net::unix::WriteHalf",
        Kind::Item,
    ),
    (
        "tokio::net::tcp::OwnedReadHalf",
        "weft::net::OwnedReadHalf",
        Kind::Item,
    ),
    (
        "tokio::net::tcp::OwnedWriteHalf",
        "weft::net::OwnedWriteHalf",
        Kind::Item,
    ),
    (
        "tokio::net::tcp::ReuniteError",
        "weft::net::ReuniteError",
        Kind::Item,
    ),
    (
        "tokio::net::unix::OwnedReadHalf",
        "weft::net::unix::OwnedReadHalf",
        Kind::Item,
    ),
    (
        "tokio::net::unix::OwnedWriteHalf",
        "weft::net::unix::OwnedWriteHalf",
        Kind::Item,
    ),
    (
        "tokio::net::unix::ReuniteError",
        "weft::net::unix::ReuniteError",
        Kind::Item,
    ),
    (
        "tokio::net::unix::UCred",
        "weft::net::unix::UCred",
        Kind::Item,
    ),
    (
        "tokio::net::unix::SocketAddr",
        "std::os::unix::net::SocketAddr",
        Kind::Item,
    ),
];

/// The crates whose paths (in `use` items, paths and macro calls) the
/// built-in table rewrites: tokio, and the tokio_util items weft provides
/// (`CancellationToken`). `futures`, `async_trait` and `async_stream` are
/// handled by their own rules.
///
/// ```
/// assert!(weft_migrate::mapping::rewrites_crate("tokio_util"));
/// assert!(!weft_migrate::mapping::rewrites_crate("futures"));
/// ```
pub fn rewrites_crate(root: &str) -> bool {
    matches!(root, "tokio" | "tokio_util")
}

/// tokio items under a mapped module that have no counterpart there: they
/// are left as they are (and reported).
const UNMAPPED: &[&str] = &[
    "tokio::io::simplex",
    "tokio::io::AsyncFd",
    "tokio::io::unix",
    "tokio::io::bsd",
    "tokio::io::ReadBuf",
    "tokio::io::Interest",
    "tokio::io::Ready",
    "tokio::io::join",
    "tokio::io::Join",
    "tokio::io::copy_bidirectional",
    "tokio::io::copy_bidirectional_with_sizes",
    "tokio::io::BufStream",
    "tokio::io::SimplexStream",
    "tokio::net::tcp",
    "tokio::net::unix",
    "tokio::task::Id",
    "tokio::task::id",
    "tokio::task::try_id",
    "tokio::task::futures",
    "tokio::task::consume_budget",
    "tokio::net::UnixSocket",
    "tokio::time::error",
    "tokio::fs::DirBuilder",
    "tokio::fs::FileTimes",
    "tokio::task::LocalSet",
    "tokio::task::unconstrained",
    "tokio::task::coop",
    "tokio::task::Builder",
    "tokio::time::Sleep",
    "tokio::time::Timeout",
    // a test's leading pause() becomes #[weft::test(mock_clock)]; elsewhere
    // weft's clock cannot be paused or resumed
    "tokio::time::pause",
    "tokio::time::resume",
    // tokio::sync items weft::sync does not have (tokio's own are
    // runtime-independent: kept, they work through the bridge)
    "tokio::sync::SetOnce",
    "tokio::sync::TryLockError",
    "tokio::sync::MappedMutexGuard",
    "tokio::sync::OwnedMappedMutexGuard",
    "tokio::sync::OwnedRwLockMappedWriteGuard",
    "tokio::sync::RwLockMappedWriteGuard",
    "tokio::sync::futures",
    "tokio::sync::mpsc::OwnedPermit",
];

/// Types whose values the run makes with functions beside them: rolling
/// the type back rolls the functions back too (their output must stay the
/// tokio type). Types of a channel module (`oneshot`, `mpsc`, ...) go back
/// with their whole module instead (see [`Table::rollback_unit`]).
/// A listener's `accept` makes streams and a stream meets the listener's
/// (async-bincode's tests hand accepted streams to a poll-based codec):
/// the two go back together.
const MADE_BY: &[(&str, &[&str])] = &[
    (
        "tokio::time::Interval",
        &[
            "tokio::time::interval",
            "tokio::time::interval_at",
            "tokio::time::MissedTickBehavior",
        ],
    ),
    (
        "tokio::net::TcpStream",
        &["tokio::net::TcpListener", "tokio::net::TcpSocket"],
    ),
    ("tokio::net::TcpListener", &["tokio::net::TcpStream"]),
    ("tokio::net::UnixStream", &["tokio::net::UnixListener"]),
    ("tokio::net::UnixListener", &["tokio::net::UnixStream"]),
];

/// The user's part of `weft-migrate.toml`.
///
/// ```
/// let c: weft_migrate::mapping::UserConfig = toml_edit::de::from_str("[direct]\nnames = [\"a\"]\n").unwrap();
/// assert!(c.direct.names.contains("a"));
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Async function paths mapped to direct ones.
    #[serde(default)]
    pub functions: BTreeMap<String, String>,
    /// Names already direct.
    #[serde(default)]
    pub direct: DirectNames,
    /// How to depend on weft and weft-compat.
    #[serde(default)]
    pub dependencies: Dependencies,
}

/// `[direct] names = [..]`.
///
/// ```
/// assert!(weft_migrate::mapping::DirectNames::default().names.is_empty());
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectNames {
    /// Function or method names whose awaited calls are direct.
    #[serde(default)]
    pub names: BTreeSet<String>,
}

/// `[dependencies]`: where weft and weft-compat come from.
///
/// ```
/// let t = weft_migrate::mapping::Table::with_user_toml("[dependencies]\nweft_path = \"../w\"\n", "x").unwrap();
/// assert_eq!(t.dependencies.weft_path.as_deref(), Some("../w"));
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dependencies {
    /// Path of the weft crate (a path dependency) instead of a version.
    pub weft_path: Option<String>,
    /// Path of the weft-compat crate.
    pub compat_path: Option<String>,
    /// Version requirement used when no path is given (default: the version
    /// of this weft-migrate, released with weft).
    pub version: Option<String>,
}

/// An error reading `weft-migrate.toml`.
///
/// ```
/// let e = weft_migrate::mapping::Table::with_user_toml("[nope]", "weft-migrate.toml").unwrap_err();
/// assert!(e.to_string().starts_with("weft-migrate.toml"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid configuration.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

/// The table in use for a run: built-in rows plus the user's.
///
/// ```
/// use weft_migrate::mapping::{Kind, Table};
/// let t = Table::builtin();
/// let m = t.lookup(&["tokio", "sync", "mpsc", "channel"]).unwrap();
/// assert_eq!(m.1.target, "weft::sync");
/// assert_eq!(m.0, 2); // the row covers the first two segments
/// assert_eq!(t.lookup(&["tokio", "time", "sleep"]).unwrap().1.kind, Kind::AsyncFn);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Table {
    rows: BTreeMap<Vec<String>, Mapping>,
    /// Names of functions and methods known to be direct.
    pub direct_names: BTreeSet<String>,
    /// Where the weft crates come from.
    pub dependencies: Dependencies,
    /// tokio paths kept as they are (the compiler loop rolled their
    /// mapping back): looked up as unmapped.
    kept: BTreeSet<String>,
}

impl Table {
    /// The built-in table.
    ///
    /// ```
    /// assert!(weft_migrate::mapping::Table::builtin().lookup(&["tokio", "net", "TcpStream"]).is_some());
    /// ```
    pub fn builtin() -> Table {
        let mut t = Table::default();
        for (from, to, kind) in BUILTIN {
            t.insert(from, to, *kind);
        }
        t
    }

    /// This table with one more row (`from` -> `to`).
    ///
    /// ```
    /// use weft_migrate::mapping::{Kind, Table};
    /// let t = Table::builtin().with_row("tokio::runtime::Runtime", "weft::Runtime", Kind::Item);
    /// assert_eq!(t.target(&["tokio", "runtime", "Runtime"]).unwrap().0, "weft::Runtime");
    /// ```
    pub fn with_row(&self, from: &str, to: &str, kind: Kind) -> Table {
        let mut t = self.clone();
        t.insert(from, to, kind);
        t
    }

    /// This table with the tokio paths `paths` (types, functions,
    /// modules) kept as they are: no row covers them or what is under
    /// them, and the methods only they have ([`methods::Method::owners`]) are no
    /// longer direct. The compiler loop rolls a mapped type back this way,
    /// at its declaration and at every use the run would derive from it.
    ///
    /// ```
    /// use weft_migrate::mapping::Table;
    /// let t = Table::builtin().keeping(["tokio::sync::Notify".to_string()]);
    /// assert!(t.target(&["tokio", "sync", "Notify"]).is_none());
    /// assert!(t.target(&["tokio", "sync", "Notify", "new"]).is_none());
    /// assert!(t.target(&["tokio", "sync", "Mutex"]).is_some());
    /// assert!(!t.direct_method("notified") && t.direct_method("lock"));
    /// ```
    pub fn keeping(&self, paths: impl IntoIterator<Item = String>) -> Table {
        let mut t = self.clone();
        t.kept.extend(paths);
        t
    }

    /// The tokio paths this table keeps as they are.
    ///
    /// ```
    /// use weft_migrate::mapping::Table;
    /// assert!(Table::builtin().kept().is_empty());
    /// ```
    pub fn kept(&self) -> &BTreeSet<String> {
        &self.kept
    }

    /// Whether an awaited call of method `name` (on a tokio type the run
    /// maps) is a direct call after the migration ([`methods::is_direct`]),
    /// and not the method of a type this table keeps.
    ///
    /// ```
    /// assert!(weft_migrate::mapping::Table::builtin().direct_method("notified"));
    /// ```
    pub fn direct_method(&self, name: &str) -> bool {
        methods::is_direct(name) && !self.owner_kept(name)
    }

    /// Whether `name` is the method of a type ([`methods::owners`]) this
    /// table keeps as it is.
    ///
    /// ```
    /// let t = weft_migrate::mapping::Table::builtin();
    /// assert!(!t.owner_kept("tick"));
    /// assert!(t.keeping(["tokio::time::Interval".to_string()]).owner_kept("tick"));
    /// ```
    pub fn owner_kept(&self, name: &str) -> bool {
        methods::owners(name).iter().any(|ty| self.keeps(ty))
    }

    /// Whether this table keeps tokio path `path`: the path itself, or a
    /// module it is in (rolling back `watch::Sender` keeps the whole
    /// `tokio::sync::watch`, and with it the `Receiver`'s methods).
    ///
    /// ```
    /// let t = weft_migrate::mapping::Table::builtin().keeping(["tokio::sync::watch".to_string()]);
    /// assert!(t.keeps("tokio::sync::watch::Receiver"));
    /// assert!(!t.keeps("tokio::sync::watcher"));
    /// assert!(!t.direct_method("wait_for"));
    /// assert!(weft_migrate::mapping::Table::builtin().direct_method("wait_for"));
    /// ```
    pub fn keeps(&self, path: &str) -> bool {
        self.kept.iter().any(|k| {
            path == k || (path.starts_with(k.as_str()) && path[k.len()..].starts_with("::"))
        })
    }

    /// The types ([`methods::owners`]) that own method `name` and that
    /// this table still maps.
    ///
    /// ```
    /// let t = weft_migrate::mapping::Table::builtin();
    /// assert_eq!(t.owners_of("notified"), ["tokio::sync::Notify"]);
    /// assert!(t.owners_of("lock").is_empty());
    /// ```
    pub fn owners_of(&self, name: &str) -> Vec<&'static str> {
        methods::owners(name)
            .iter()
            .filter(|ty| !self.keeps(ty))
            .copied()
            .collect()
    }

    /// What rolling back the mapped tokio path `path` keeps as it is: the
    /// path and the functions that make its values (`MADE_BY`); for a
    /// type of a module that has no row of its own under a module row
    /// (`tokio::sync::oneshot::Receiver`, made by `oneshot::channel()` with
    /// its `Sender`), the whole module.
    ///
    /// ```
    /// let t = weft_migrate::mapping::Table::builtin();
    /// assert_eq!(t.rollback_unit("tokio::sync::oneshot::Receiver"), ["tokio::sync::oneshot"]);
    /// assert_eq!(t.rollback_unit("tokio::sync::mpsc::error::SendError"), ["tokio::sync::mpsc"]);
    /// assert_eq!(t.rollback_unit("tokio::sync::Notify"), ["tokio::sync::Notify"]);
    /// assert!(t.rollback_unit("tokio::time::Interval").contains(&"tokio::time::interval_at".to_string()));
    /// assert!(t.rollback_unit("tokio::net::TcpStream").contains(&"tokio::net::TcpListener".to_string()));
    /// ```
    pub fn rollback_unit(&self, path: &str) -> Vec<String> {
        let segs = split_path(path);
        // The module right under the row that covers the path, when the
        // path is deeper in it (`tokio::sync` covers
        // `tokio::sync::mpsc::error::SendError`: `tokio::sync::mpsc`).
        if let Some((n, _)) = self.lookup(&segs) {
            if segs.len() > n + 1 {
                return vec![segs[..n + 1].join("::")];
            }
        }
        let mut out = vec![path.to_string()];
        for (ty, made_by) in MADE_BY {
            if *ty == path {
                out.extend(made_by.iter().map(|p| p.to_string()));
            }
        }
        out
    }

    /// The tokio async functions whose calls this table rewrites to a call
    /// of `target` (an [`Kind::AsyncFn`] row's target, as rustc prints it,
    /// or its last segments as the code names it: `io::copy`): the way
    /// back from a mapped call the compiler rejects to the call it was.
    /// Rows the table keeps are left out.
    ///
    /// ```
    /// let t = weft_migrate::mapping::Table::builtin();
    /// assert_eq!(t.async_fns_mapped_to("std::io::copy"), ["tokio::io::copy", "tokio::io::copy_buf"]);
    /// assert_eq!(t.async_fns_mapped_to("io::copy").len(), 2);
    /// assert!(t.async_fns_mapped_to("copy").is_empty());
    /// assert!(t.async_fns_mapped_to("std::io::stdin").is_empty());
    /// ```
    pub fn async_fns_mapped_to(&self, target: &str) -> Vec<String> {
        let target = target.trim_start_matches("::");
        if !target.contains("::") {
            return Vec::new();
        }
        let tail = format!("::{target}");
        self.rows
            .iter()
            .filter(|(from, m)| {
                m.kind == Kind::AsyncFn
                    && (m.target == target || m.target.ends_with(&tail))
                    && self.lookup(from).is_some()
            })
            .map(|(from, _)| from.join("::"))
            .collect()
    }

    /// The tokio (or tokio_util) path the table maps to the weft path
    /// `weft` as the compiler prints it (generic arguments cut off): the
    /// way back from a type named in a diagnostic to the row that made
    /// it. An item row's own source wins over a module row's.
    ///
    /// ```
    /// let t = weft_migrate::mapping::Table::builtin();
    /// assert_eq!(t.source_of("weft::sync::Notify").as_deref(), Some("tokio::sync::Notify"));
    /// assert_eq!(t.source_of("weft::sync::CancellationToken").as_deref(), Some("tokio_util::sync::CancellationToken"));
    /// assert_eq!(t.source_of("weft::TaskSet").as_deref(), Some("tokio::task::JoinSet"));
    /// assert_eq!(t.source_of("std::io::Read"), None);
    /// ```
    pub fn source_of(&self, weft: &str) -> Option<String> {
        let weft = weft.split('<').next().unwrap_or(weft).trim();
        if !weft.starts_with("weft::") {
            return None;
        }
        let mut best: Option<(usize, String)> = None;
        for (from, m) in &self.rows {
            if !rewrites_crate(&from[0]) {
                continue;
            }
            let (score, source) = if m.target == weft && m.kind != Kind::Module {
                (usize::MAX, from.join("::"))
            } else if m.kind == Kind::Module && weft.starts_with(&format!("{}::", m.target)) {
                let rest = &weft[m.target.len()..];
                (m.target.len(), format!("{}{rest}", from.join("::")))
            } else {
                continue;
            };
            if best.as_ref().is_none_or(|(b, _)| score > *b) {
                best = Some((score, source));
            }
        }
        best.map(|(_, s)| s)
    }

    fn insert(&mut self, from: &str, to: &str, kind: Kind) {
        let key: Vec<String> = split_path(from);
        self.rows.insert(
            key,
            Mapping {
                target: to.trim_start_matches("::").to_string(),
                kind,
            },
        );
    }

    /// The built-in table plus the user's rows from `weft-migrate.toml` text.
    ///
    /// ```
    /// let t = weft_migrate::mapping::Table::with_user_toml(
    ///     "[functions]\n\"db::query\" = \"db::query_blocking\"\n",
    ///     "weft-migrate.toml",
    /// ).unwrap();
    /// assert_eq!(t.lookup(&["db", "query"]).unwrap().1.target, "db::query_blocking");
    /// ```
    pub fn with_user_toml(text: &str, path: &str) -> Result<Table, ConfigError> {
        let cfg: UserConfig = toml_edit::de::from_str(text).map_err(|e| ConfigError::Invalid {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        let mut t = Table::builtin();
        for (from, to) in &cfg.functions {
            t.insert(from, to, Kind::AsyncFn);
        }
        t.direct_names = cfg.direct.names;
        t.dependencies = cfg.dependencies;
        Ok(t)
    }

    /// Reads `weft-migrate.toml` from `path`.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("wm-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let p = dir.join("weft-migrate.toml");
    /// std::fs::write(&p, "[direct]\nnames = [\"f\"]\n").unwrap();
    /// let t = weft_migrate::mapping::Table::from_file(&p).unwrap();
    /// assert!(t.direct_names.contains("f"));
    /// ```
    pub fn from_file(path: &Path) -> Result<Table, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Table::with_user_toml(&text, &path.display().to_string())
    }

    /// The longest row that is a prefix of `path`: how many segments it
    /// covers, and the row.
    ///
    /// ```
    /// let t = weft_migrate::mapping::Table::builtin();
    /// assert!(t.lookup(&["std", "io"]).is_none());
    /// ```
    pub fn lookup<S: AsRef<str>>(&self, path: &[S]) -> Option<(usize, &Mapping)> {
        // Called for every path the rewriter meets, most of which no row
        // covers (`std::..`, locals): reject those on the first segment,
        // before allocating anything (the syntactic pass's speed, issue 14).
        let first = path.first()?.as_ref();
        let after_first = self.rows.range::<[String], _>((
            std::ops::Bound::Included([first.to_string()].as_slice()),
            std::ops::Bound::Unbounded,
        ));
        if !after_first
            .take(1)
            .any(|(k, _)| k.first().map(String::as_str) == Some(first))
        {
            return None;
        }
        let segs: Vec<String> = path.iter().map(|s| s.as_ref().to_string()).collect();
        // An unmapped prefix wins over a shorter row (`tokio::net` does not
        // cover `tokio::net::unix`), but a longer row wins over it
        // (`tokio::net::tcp::OwnedReadHalf` has a target).
        let unmapped = UNMAPPED
            .iter()
            .copied()
            .chain(self.kept.iter().map(String::as_str))
            .filter_map(|u| covered_segments(u, &segs))
            .max()
            .unwrap_or(0);
        (1..=segs.len())
            .rev()
            .find_map(|n| self.rows.get(&segs[..n]).map(|m| (n, m)))
            .filter(|(n, _)| *n > unmapped)
    }

    /// The full target of `path`: the row's target followed by the segments
    /// the row does not cover.
    ///
    /// ```
    /// let t = weft_migrate::mapping::Table::builtin();
    /// assert_eq!(t.target(&["tokio", "sync", "Mutex", "new"]).unwrap().0, "weft::sync::Mutex::new");
    /// ```
    pub fn target<S: AsRef<str>>(&self, path: &[S]) -> Option<(String, Kind)> {
        let (n, m) = self.lookup(path)?;
        let mut s = m.target.clone();
        for seg in &path[n..] {
            s.push_str("::");
            s.push_str(seg.as_ref());
        }
        // A module row passes its rest through, so the kind of what is
        // named is an item unless a deeper row said otherwise.
        let kind = if m.kind == Kind::Module && n < path.len() {
            Kind::Item
        } else {
            m.kind
        };
        Some((s, kind))
    }
}

/// When the path `u` (written `a::b::c`) is a prefix of `segs`, segment by
/// segment: its number of segments. Compares in place: `lookup` asks this
/// of every unmapped row for every tokio path the rewrite meets.
fn covered_segments(u: &str, segs: &[String]) -> Option<usize> {
    let mut rest = u;
    for (i, seg) in segs.iter().enumerate() {
        rest = rest.strip_prefix(seg.as_str())?;
        if rest.is_empty() {
            return Some(i + 1);
        }
        rest = rest.strip_prefix("::")?;
    }
    None
}

/// Splits `a::b::c` into segments.
fn split_path(p: &str) -> Vec<String> {
    p.trim_start_matches("::")
        .split("::")
        .map(|s| s.trim().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Table;

    fn lookup(t: &Table, path: &str) -> Option<usize> {
        let segs: Vec<&str> = path.split("::").collect();
        t.lookup(&segs).map(|(n, _)| n)
    }

    #[test]
    fn an_unmapped_prefix_covers_whole_segments_only() {
        let t = Table::builtin();
        // `tokio::io::unix` is unmapped: it wins over the `tokio::io` row.
        assert_eq!(lookup(&t, "tokio::io::unix::AsyncFd"), None);
        assert_eq!(lookup(&t, "tokio::io::unix"), None);
        // A segment that only starts like it is not covered by it.
        assert_eq!(lookup(&t, "tokio::io::unixy"), Some(2));
        assert_eq!(lookup(&t, "tokio::io::uni"), Some(2));
    }

    #[test]
    fn a_kept_path_covers_whole_segments_only() {
        let t = Table::builtin();
        let kept = t.keeping(["tokio::sync::Mutex".to_string()]);
        assert!(lookup(&t, "tokio::sync::Mutex").is_some());
        assert_eq!(lookup(&kept, "tokio::sync::Mutex"), None);
        assert_eq!(lookup(&kept, "tokio::sync::Mutex::new"), None);
        assert_eq!(
            lookup(&kept, "tokio::sync::MutexGuard"),
            lookup(&t, "tokio::sync::MutexGuard")
        );
        assert!(lookup(&kept, "tokio::sync::MutexGuard").is_some());
    }
}
