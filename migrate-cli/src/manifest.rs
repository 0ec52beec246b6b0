//! `Cargo.toml` edits with `toml_edit`, which keeps the file's formatting
//! and comments: add weft (and weft-compat while bridged calls remain),
//! drop tokio, futures and async-trait once nothing names them.

use toml_edit::{DocumentMut, InlineTable, Item, Value};

use crate::mapping::Dependencies;

/// What the migrated sources need.
///
/// ```
/// let n = weft_migrate::manifest::Needs { weft: true, ..Default::default() };
/// assert!(!n.tokio);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// Some source names `weft`.
    pub weft: bool,
    /// Some source names `weft_compat`.
    pub compat: bool,
    /// Some source still names `tokio`.
    pub tokio: bool,
    /// Some source still names `futures`.
    pub futures: bool,
    /// Some source still names `async_trait`.
    pub async_trait: bool,
}

/// Why a manifest was left as it was.
///
/// ```
/// use weft_migrate::manifest::{edit_manifest, ManifestError};
/// let e = edit_manifest("[x", Default::default(), &Default::default()).unwrap_err();
/// assert!(matches!(e, ManifestError::Parse(_)));
/// let e = edit_manifest("[workspace]\nmembers = [\"a\"]\n", Default::default(), &Default::default()).unwrap_err();
/// assert!(matches!(e, ManifestError::NoPackage));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// It is not valid TOML.
    #[error("Cargo.toml does not parse: {0}")]
    Parse(String),
    /// It has no `[package]`: a workspace's root manifest, which cannot
    /// take dependencies.
    #[error(
        "Cargo.toml has no [package] (a workspace's root manifest?): run weft-migrate on a member crate"
    )]
    NoPackage,
}

/// Whether Rust source `text` names crate `name`: an identifier token
/// equal to it (comments and strings do not count).
///
/// ```
/// assert!(weft_migrate::manifest::names_crate("use tokio::sync::Mutex;", "tokio"));
/// assert!(!weft_migrate::manifest::names_crate("let my_tokio = 1; // tokio;", "tokio"));
/// ```
pub fn names_crate(text: &str, name: &str) -> bool {
    fn walk(ts: proc_macro2::TokenStream, name: &str) -> bool {
        ts.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == name,
            proc_macro2::TokenTree::Group(g) => walk(g.stream(), name),
            _ => false,
        })
    }
    if !text.contains(name) {
        return false;
    }
    let found = match text.parse::<proc_macro2::TokenStream>() {
        Ok(ts) => walk(ts, name),
        Err(_) => true,
    };
    proc_macro2::extra::invalidate_current_thread_spans();
    found
}

impl Needs {
    /// Adds what one source file needs, its doc examples (doctests)
    /// included.
    ///
    /// ```
    /// let mut n = weft_migrate::manifest::Needs::default();
    /// n.add("fn f() { weft::time::sleep(d); weft_compat::await_future(x); }");
    /// assert!(n.weft && n.compat && !n.tokio);
    /// n.add("/// ```\n/// tokio::spawn(async {});\n/// ```\nfn g() {}\n");
    /// assert!(n.tokio);
    /// ```
    pub fn add(&mut self, text: &str) {
        let examples = crate::rewrite::doc_examples_code(text);
        if !examples.is_empty() {
            self.add_code(&examples);
        }
        self.add_code(text);
    }

    fn add_code(&mut self, text: &str) {
        self.weft |= names_crate(text, "weft");
        self.compat |= names_crate(text, "weft_compat");
        self.tokio |= names_crate(text, "tokio");
        self.futures |= names_crate(text, "futures");
        self.async_trait |= names_crate(text, "async_trait");
    }
}

fn dep_value(path: Option<&str>, version: &str) -> Item {
    match path {
        Some(p) => {
            let mut t = InlineTable::new();
            t.insert("path", Value::from(p));
            Item::Value(Value::InlineTable(t))
        }
        None => Item::Value(Value::from(version)),
    }
}

/// Edits a manifest's text for what the sources need. Returns the new
/// text (equal to the input when nothing changes).
///
/// ```
/// use weft_migrate::manifest::{edit_manifest, Needs};
/// let toml = "[package]\nname = \"x\"\n\n[dependencies]\ntokio = { version = \"1\", features = [\"full\"] } # rt\nserde = \"1\"\n";
/// let needs = Needs { weft: true, ..Needs::default() };
/// let out = edit_manifest(toml, needs, &Default::default()).unwrap();
/// assert!(out.contains(&format!("weft = \"{}\"", env!("CARGO_PKG_VERSION"))));
/// assert!(!out.contains("tokio"));
/// assert!(out.contains("serde = \"1\""));
/// ```
pub fn edit_manifest(
    text: &str,
    needs: Needs,
    deps: &Dependencies,
) -> Result<String, ManifestError> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| ManifestError::Parse(e.to_string()))?;
    if doc.get("package").is_none() {
        return Err(ManifestError::NoPackage);
    }
    // weft, weft-compat and weft-migrate are released together: the version
    // of this weft-migrate is the weft its rewrites target.
    let version = deps
        .version
        .clone()
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string());
    let has = |doc: &DocumentMut, name: &str| {
        ["dependencies", "dev-dependencies"].iter().any(|t| {
            doc.get(t)
                .and_then(Item::as_table_like)
                .is_some_and(|t| t.contains_key(name))
        })
    };
    let mut add = Vec::new();
    if needs.weft && !has(&doc, "weft") {
        add.push(("weft", dep_value(deps.weft_path.as_deref(), &version)));
    }
    if needs.compat && !has(&doc, "weft-compat") {
        add.push((
            "weft-compat",
            dep_value(deps.compat_path.as_deref(), &version),
        ));
    }
    if !add.is_empty() {
        if doc.get("dependencies").is_none() {
            doc.insert("dependencies", Item::Table(toml_edit::Table::new()));
        }
        if let Some(t) = doc
            .get_mut("dependencies")
            .and_then(Item::as_table_like_mut)
        {
            for (name, item) in add {
                t.insert(name, item);
            }
        }
    }
    if needs.compat && needs.tokio {
        raise_tokio(&mut doc);
    }
    let mut drop = Vec::new();
    if !needs.tokio {
        drop.push("tokio");
    }
    if !needs.futures {
        drop.extend(["futures", "futures-util"]);
    }
    if !needs.async_trait {
        drop.push("async-trait");
    }
    // A dependency a feature names stays.
    let features = doc
        .get("features")
        .map(|f| f.to_string())
        .unwrap_or_default();
    drop.retain(|name| !features.contains(name));
    for table in ["dependencies", "dev-dependencies"] {
        if let Some(t) = doc.get_mut(table).and_then(Item::as_table_like_mut) {
            for name in &drop {
                t.remove(name);
            }
        }
    }
    Ok(doc.to_string())
}

/// Whether the crate of `manifest` is of edition 2015 or 2018 (also when
/// `package.edition` is absent: cargo's default is 2015). `false` when the
/// manifest cannot be read or names a later edition, or the workspace's.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("weft-ed-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let p = dir.join("Cargo.toml");
/// std::fs::write(&p, "[package]\nname = \"x\"\nedition = \"2018\"\n").unwrap();
/// assert!(weft_migrate::manifest::edition_before_2021(&p));
/// std::fs::write(&p, "[package]\nname = \"x\"\nedition = \"2021\"\n").unwrap();
/// assert!(!weft_migrate::manifest::edition_before_2021(&p));
/// std::fs::write(&p, "[package]\nname = \"x\"\n").unwrap();
/// assert!(weft_migrate::manifest::edition_before_2021(&p));
/// ```
pub fn edition_before_2021(manifest: &std::path::Path) -> bool {
    let Ok(text) = std::fs::read_to_string(manifest) else {
        return false;
    };
    let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else {
        return false;
    };
    let Some(package) = doc.get("package") else {
        return false;
    };
    match package.get("edition") {
        None => true,
        Some(e) => matches!(e.as_str(), Some("2015" | "2018")),
    }
}

/// The oldest tokio weft-compat builds with (the workspace's requirement:
/// it calls `AsyncFd::register`).
const COMPAT_MIN_TOKIO: &str = "1.53.3";

/// A tokio requirement kept next to weft-compat that admits versions
/// older than weft-compat needs (`"1"`, `"1.32"`, `"^1.20.1"`) is raised
/// to [`COMPAT_MIN_TOKIO`]: with the lock holding an old tokio, cargo
/// would otherwise refuse to resolve the two. Other forms (`=`, `<`,
/// ranges) are left to the user.
///
/// ```
/// use weft_migrate::manifest::{edit_manifest, Needs};
/// let toml = "[package]\nname = \"x\"\n\n[dependencies]\ntokio = { version = \"1\", features = [\"full\"] }\n\n[dev-dependencies]\ntokio = \"1.60\"\n";
/// let needs = Needs { weft: true, compat: true, tokio: true, ..Needs::default() };
/// let out = edit_manifest(toml, needs, &Default::default()).unwrap();
/// assert!(out.contains("tokio = { version = \"1.53.3\", features = [\"full\"] }"));
/// assert!(out.contains("tokio = \"1.60\""));
/// ```
fn raise_tokio(doc: &mut DocumentMut) {
    let min: Vec<u64> = COMPAT_MIN_TOKIO
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect();
    let too_old = |req: &str| {
        let req = req.trim().trim_start_matches('^');
        let parts: Option<Vec<u64>> = req.split('.').map(|p| p.parse().ok()).collect();
        match parts {
            Some(p) if !p.is_empty() && p.len() <= 3 => {
                let mut v = p.clone();
                v.resize(3, 0);
                v[0] == min[0] && v < min
            }
            _ => false,
        }
    };
    for table in ["dependencies", "dev-dependencies"] {
        let Some(t) = doc.get_mut(table).and_then(Item::as_table_like_mut) else {
            continue;
        };
        let Some(item) = t.get_mut("tokio") else {
            continue;
        };
        if item.as_str().is_some_and(too_old) {
            let decor = item.as_value().map(|v| v.decor().clone());
            let mut v = Value::from(COMPAT_MIN_TOKIO);
            if let Some(d) = decor {
                *v.decor_mut() = d;
            }
            *item = Item::Value(v);
            continue;
        }
        if let Some(Value::InlineTable(it)) = item.as_value_mut() {
            if let Some(v) = it.get_mut("version") {
                if v.as_str().is_some_and(too_old) {
                    let decor = v.decor().clone();
                    *v = Value::from(COMPAT_MIN_TOKIO);
                    *v.decor_mut() = decor;
                }
            }
        } else if let Some(tt) = item.as_table_like_mut() {
            if let Some(v) = tt.get_mut("version") {
                if v.as_str().is_some_and(too_old) {
                    *v = Item::Value(Value::from(COMPAT_MIN_TOKIO));
                }
            }
        }
    }
}
