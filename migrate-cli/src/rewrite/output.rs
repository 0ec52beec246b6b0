//! What the rewrite of one file produces as it goes: the edits, the
//! result's notes and counters, and what it already did.

use std::collections::HashSet;

use proc_macro2::Span;

use super::{FileRewrite, Note};
use crate::edit::Edits;

/// The output state of one file's rewrite: written by every rule, read
/// back only to avoid doing a thing twice.
#[derive(Default)]
pub(super) struct Output {
    /// Byte-range edits of the original text.
    pub(super) edits: Edits,
    /// Notes, conversion counts and bridges (its `output` is filled at
    /// the end, from `edits`).
    pub(super) result: FileRewrite,
    /// Start offsets of statements deleted whole (not visited).
    pub(super) deleted_stmts: HashSet<usize>,
    /// tokio paths already reported as having no counterpart.
    pub(super) unmapped_noted: HashSet<String>,
}

impl Output {
    /// Records a note at `span`.
    pub(super) fn note(&mut self, span: Span, message: impl Into<String>) {
        let at = span.start();
        self.result.notes.push(Note {
            line: at.line,
            column: at.column + 1,
            message: message.into(),
        });
    }

    /// Counts one conversion of `kind`.
    pub(super) fn count(&mut self, kind: &str) {
        *self.result.conversions.entry(kind.to_string()).or_insert(0) += 1;
    }

    /// Counts a call left awaiting a future through weft-compat, with a
    /// note saying why.
    pub(super) fn bridged(&mut self, span: Span, why: &str) {
        self.result.bridged += 1;
        self.note(span, format!("bridged: {why}"));
    }
}
