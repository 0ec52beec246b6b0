//! Directory listings: [`ReadDir`] and [`DirEntry`].

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::{FileType, Metadata};
use std::io;
use std::path::PathBuf;

/// The entries of a directory, from [`read_dir`](super::read_dir) or
/// [`Dir::read_dir`](super::Dir::read_dir).
///
/// The listing is read whole on the blocking pool, each entry with its
/// metadata (one `stat` per entry, of a symlink itself), so iterating it
/// and asking an entry for its type or metadata never blocks. Items are
/// `io::Result` so code written for `std::fs::ReadDir` works unchanged;
/// they are always `Ok`. Entries removed while the listing was read are
/// left out; the order is the file system's.
///
/// ```
/// weft::run(|_env| {
///     let dir = std::env::temp_dir().join(format!("weft-doc-readdir-{}", std::process::id()));
///     weft::fs::create_dir_all(dir.join("sub")).unwrap();
///     weft::fs::write(dir.join("file"), b"").unwrap();
///     let mut names: Vec<_> = weft::fs::read_dir(&dir)
///         .unwrap()
///         .map(|e| e.unwrap().file_name().into_string().unwrap())
///         .collect();
///     names.sort();
///     assert_eq!(names, ["file", "sub"]);
///     weft::fs::remove_dir_all(&dir).unwrap();
/// });
/// ```
pub struct ReadDir {
    entries: std::vec::IntoIter<DirEntry>,
}

impl ReadDir {
    pub(crate) fn new(entries: Vec<DirEntry>) -> ReadDir {
        ReadDir {
            entries: entries.into_iter(),
        }
    }
}

impl Iterator for ReadDir {
    type Item = io::Result<DirEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        self.entries.next().map(Ok)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for ReadDir {}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir")
            .field("remaining", &self.entries.len())
            .finish()
    }
}

/// One entry of a [`ReadDir`]: its name, its path, and its metadata as
/// read with the listing (not following a symlink, like
/// `std::fs::DirEntry::metadata`).
///
/// ```
/// weft::run(|_env| {
///     let dir = std::env::temp_dir().join(format!("weft-doc-direntry-{}", std::process::id()));
///     weft::fs::create_dir_all(&dir).unwrap();
///     weft::fs::write(dir.join("a.txt"), b"abc").unwrap();
///     let entry = weft::fs::read_dir(&dir).unwrap().next().unwrap().unwrap();
///     assert_eq!(entry.file_name(), "a.txt");
///     assert_eq!(entry.path(), dir.join("a.txt"));
///     assert!(entry.file_type().unwrap().is_file());
///     assert_eq!(entry.metadata().unwrap().len(), 3);
///     weft::fs::remove_dir_all(&dir).unwrap();
/// });
/// ```
#[derive(Clone)]
pub struct DirEntry {
    path: PathBuf,
    name: OsString,
    metadata: Metadata,
}

impl DirEntry {
    pub(crate) fn new(path: PathBuf, name: OsString, metadata: Metadata) -> DirEntry {
        DirEntry {
            path,
            name,
            metadata,
        }
    }

    /// The listed directory's path joined with the entry's name (relative
    /// to the `Dir` for [`Dir::read_dir`](super::Dir::read_dir)).
    ///
    /// ```
    /// weft::run(|env| {
    ///     let cwd = env.cwd().unwrap();
    ///     if let Some(e) = cwd.read_dir(".").unwrap().next() {
    ///         assert!(e.unwrap().path().starts_with("."));
    ///     }
    /// });
    /// ```
    pub fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// The entry's name, without any leading path.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     for e in weft::fs::read_dir("/").unwrap() {
    ///         assert!(!e.unwrap().file_name().is_empty());
    ///     }
    /// });
    /// ```
    pub fn file_name(&self) -> OsString {
        self.name.clone()
    }

    /// The entry's name, borrowed.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let has_etc = weft::fs::read_dir("/").unwrap().any(|e| e.unwrap().name() == "etc");
    ///     assert!(has_etc);
    /// });
    /// ```
    pub fn name(&self) -> &OsStr {
        &self.name
    }

    /// The entry's metadata (of a symlink itself, not its target). Never
    /// fails: it was read with the listing.
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let dirs = weft::fs::read_dir("/").unwrap().filter(|e| e.as_ref().unwrap().metadata().unwrap().is_dir()).count();
    ///     assert!(dirs > 0);
    /// });
    /// ```
    pub fn metadata(&self) -> io::Result<Metadata> {
        Ok(self.metadata.clone())
    }

    /// The entry's file type (a symlink is reported as a symlink).
    ///
    /// ```
    /// weft::run(|_env| {
    ///     let dir = std::env::temp_dir().join(format!("weft-doc-filetype-{}", std::process::id()));
    ///     weft::fs::create_dir_all(&dir).unwrap();
    ///     weft::fs::symlink("nowhere", dir.join("link")).unwrap();
    ///     let e = weft::fs::read_dir(&dir).unwrap().next().unwrap().unwrap();
    ///     assert!(e.file_type().unwrap().is_symlink());
    ///     weft::fs::remove_dir_all(&dir).unwrap();
    /// });
    /// ```
    pub fn file_type(&self) -> io::Result<FileType> {
        Ok(self.metadata.file_type())
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.path).finish()
    }
}
