//! What the rewrite of one file reads and never changes.

use std::collections::HashSet;
use std::ops::Range;

use proc_macro2::Span;
use syn::spanned::Spanned;

use super::{Analysis, Options, Selection};
use crate::mapping::Table;

/// The fixed inputs of one file's rewrite: its text and name, the
/// mapping table, the crate's analysis, the selection and the options,
/// and facts about the file decided before the visit.
pub(super) struct Input<'a> {
    /// The original text (every byte range refers to it).
    pub(super) src: &'a str,
    /// The file's name, as notes and `--only` name it.
    pub(super) file: &'a str,
    pub(super) table: &'a Table,
    pub(super) an: &'a Analysis,
    pub(super) sel: &'a Selection,
    pub(super) opts: &'a Options,
    /// Whether the selection takes the whole file.
    pub(super) file_selected: bool,
    /// Whether the text names tokio at all (tokio's method rules apply).
    pub(super) uses_tokio: bool,
    /// Runtimes kept as values (a struct field, a local moved somewhere)
    /// that are only driven with `block_on`: their names, when the file's
    /// runtimes all become `weft::Runtime` (`None`: they stay tokio's).
    pub(super) kept_runtimes: Option<HashSet<String>>,
}

impl<'a> Input<'a> {
    /// The byte range of a syntax node, clamped to the text.
    pub(super) fn r(&self, s: &impl Spanned) -> Range<usize> {
        self.rs(s.span())
    }

    /// The byte range of a span, clamped to the text.
    pub(super) fn rs(&self, s: Span) -> Range<usize> {
        let r = s.byte_range();
        r.start.min(self.src.len())..r.end.min(self.src.len())
    }

    /// The original text of a range.
    pub(super) fn text(&self, r: Range<usize>) -> &'a str {
        &self.src[r]
    }

    /// The first byte at or after `at` that is not whitespace.
    pub(super) fn skip_ws(&self, at: usize) -> usize {
        let rest = &self.src[at..];
        at + (rest.len() - rest.trim_start().len())
    }
}
