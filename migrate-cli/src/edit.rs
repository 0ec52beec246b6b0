//! Text edits on the original source, by byte range.
//!
//! Rewrites never reprint a syntax tree: they record replacements of byte
//! ranges of the original text, so everything outside an edit (comments,
//! blank lines, formatting) is kept byte for byte. Edits must not overlap;
//! insertions at the same offset keep the order in which they were made.

use std::ops::Range;

/// One replacement of `range` of the original text by `text`.
///
/// ```
/// let mut e = weft_migrate::edit::Edits::default();
/// e.insert(0, "x");
/// assert_eq!(e.len(), 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// Bytes of the original text replaced (empty for an insertion).
    pub range: Range<usize>,
    /// What replaces them.
    pub text: String,
    seq: usize,
}

/// Two edits touch the same bytes.
///
/// ```
/// let mut e = weft_migrate::edit::Edits::default();
/// e.replace(0..2, "a");
/// e.replace(1..3, "b");
/// let o = e.apply("abcd").unwrap_err();
/// assert_eq!(o.second, 1..3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("overlapping edits at bytes {first:?} and {second:?}")]
pub struct Overlap {
    /// The edit applied first.
    pub first: Range<usize>,
    /// The edit that overlaps it.
    pub second: Range<usize>,
}

/// A set of edits to one text.
///
/// ```
/// use weft_migrate::edit::Edits;
/// let mut e = Edits::default();
/// e.replace(0..5, "hi");
/// e.insert(11, "!");
/// assert_eq!(e.apply("hello world").unwrap(), "hi world!");
/// ```
#[derive(Clone, Debug, Default)]
pub struct Edits {
    list: Vec<Edit>,
    next: usize,
}

impl Edits {
    /// Replaces `range` by `text`.
    ///
    /// ```
    /// let mut e = weft_migrate::edit::Edits::default();
    /// e.replace(1..2, "X");
    /// assert_eq!(e.apply("abc").unwrap(), "aXc");
    /// ```
    pub fn replace(&mut self, range: Range<usize>, text: impl Into<String>) {
        let text = text.into();
        self.list.push(Edit {
            range,
            text,
            seq: self.next,
        });
        self.next += 1;
    }

    /// Inserts `text` at byte `at`.
    ///
    /// ```
    /// let mut e = weft_migrate::edit::Edits::default();
    /// e.insert(0, "a");
    /// e.insert(0, "b");
    /// assert_eq!(e.apply("c").unwrap(), "abc");
    /// ```
    pub fn insert(&mut self, at: usize, text: impl Into<String>) {
        self.replace(at..at, text);
    }

    /// Deletes `range`.
    ///
    /// ```
    /// let mut e = weft_migrate::edit::Edits::default();
    /// e.delete(0..2);
    /// assert_eq!(e.apply("abc").unwrap(), "c");
    /// ```
    pub fn delete(&mut self, range: Range<usize>) {
        self.replace(range, String::new());
    }

    /// Whether no edit was made.
    ///
    /// ```
    /// assert!(weft_migrate::edit::Edits::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many edits were made.
    ///
    /// ```
    /// assert_eq!(weft_migrate::edit::Edits::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether an edit already replaces bytes inside `range`.
    ///
    /// ```
    /// let mut e = weft_migrate::edit::Edits::default();
    /// e.replace(2..4, "x");
    /// assert!(e.touches(&(3..9)));
    /// assert!(!e.touches(&(4..9)));
    /// ```
    pub fn touches(&self, range: &Range<usize>) -> bool {
        self.list
            .iter()
            .any(|e| e.range.start < range.end && range.start < e.range.end)
    }

    /// Removes the edits inside `range` and returns `src[range]` with them
    /// applied: the text of a sub-expression as rewritten so far, for a
    /// rewrite that moves it.
    ///
    /// ```
    /// let mut e = weft_migrate::edit::Edits::default();
    /// e.replace(1..2, "B");
    /// assert_eq!(e.take_rendered("abcd", 0..3).unwrap(), "aBc");
    /// assert!(e.is_empty());
    /// ```
    pub fn take_rendered(&mut self, src: &str, range: Range<usize>) -> Result<String, Overlap> {
        let (inside, outside): (Vec<Edit>, Vec<Edit>) = std::mem::take(&mut self.list)
            .into_iter()
            .partition(|e| e.range.start >= range.start && e.range.end <= range.end);
        self.list = outside;
        let sub = Edits {
            list: inside
                .into_iter()
                .map(|mut e| {
                    e.range = e.range.start - range.start..e.range.end - range.start;
                    e
                })
                .collect(),
            next: 0,
        };
        sub.apply(&src[range])
    }

    /// [`Edits::take_rendered`], leaving insertions at either end of
    /// `range` in place: they belong to an expression around it (a
    /// closure's head, a bridge's parentheses), for a rewrite that moves
    /// a sub-expression out from under them.
    ///
    /// ```
    /// let mut e = weft_migrate::edit::Edits::default();
    /// e.insert(0, "f(");
    /// e.replace(1..2, "B");
    /// e.insert(3, ")");
    /// assert_eq!(e.take_rendered_within("abc", 0..3).unwrap(), "aBc");
    /// assert_eq!(e.len(), 2);
    /// ```
    pub fn take_rendered_within(
        &mut self,
        src: &str,
        range: Range<usize>,
    ) -> Result<String, Overlap> {
        let (ends, rest): (Vec<Edit>, Vec<Edit>) =
            std::mem::take(&mut self.list).into_iter().partition(|e| {
                e.range.is_empty() && (e.range.start == range.start || e.range.start == range.end)
            });
        self.list = rest;
        let out = self.take_rendered(src, range);
        self.list.extend(ends);
        out
    }

    /// Applies the edits to `src`.
    ///
    /// ```
    /// let mut e = weft_migrate::edit::Edits::default();
    /// e.replace(0..3, "x");
    /// e.replace(2..4, "y");
    /// assert!(e.apply("abcd").is_err());
    /// ```
    pub fn apply(mut self, src: &str) -> Result<String, Overlap> {
        // Insertions sort before a replacement starting at the same byte;
        // equal kinds keep their order of creation.
        self.list.sort_by_key(|e| {
            (
                e.range.start,
                e.range.end > e.range.start,
                e.range.end,
                e.seq,
            )
        });
        let mut out = String::with_capacity(src.len() + 64);
        let mut at = 0;
        let mut prev: Option<Range<usize>> = None;
        for e in &self.list {
            if e.range.start < at || e.range.end > src.len() {
                return Err(Overlap {
                    first: prev.unwrap_or(0..0),
                    second: e.range.clone(),
                });
            }
            out.push_str(&src[at..e.range.start]);
            out.push_str(&e.text);
            at = e.range.end;
            prev = Some(e.range.clone());
        }
        out.push_str(&src[at..]);
        Ok(out)
    }
}

/// `out` with the line endings of `src`: where every line of `src` ends
/// with `\r\n`, each line the rewrite generated or joined (ending with a
/// lone `\n`) gets `\r\n` too, so a CRLF file stays CRLF throughout. Any
/// other `src` (LF, mixed, one line) leaves `out` as it is.
///
/// ```
/// use weft_migrate::edit::keep_crlf;
/// assert_eq!(keep_crlf("a\r\nb\r\n", "a\r\nx\ny\r\n".into()), "a\r\nx\r\ny\r\n");
/// assert_eq!(keep_crlf("a\nb\r\n", "a\nx\n".into()), "a\nx\n");
/// ```
pub fn keep_crlf(src: &str, out: String) -> String {
    let lf = src.matches('\n').count();
    if lf == 0 || src.matches("\r\n").count() != lf {
        return out;
    }
    if out.matches("\r\n").count() == out.matches('\n').count() {
        return out;
    }
    let mut s = String::with_capacity(out.len() + out.len() / 16);
    let mut prev = '\0';
    for c in out.chars() {
        if c == '\n' && prev != '\r' {
            s.push('\r');
        }
        s.push(c);
        prev = c;
    }
    s
}
