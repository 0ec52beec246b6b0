//! Examples in doc comments are doctests: code of the crate that calls its
//! API. Once the API is direct, an example that awaits it no longer
//! builds, so the Rust code blocks of `///` and `//!` comments are
//! rewritten like a file of the crate (same analysis, same table), and put
//! back line by line with their comment prefix. Lines hidden with `# `
//! stay hidden where the example keeps its line count; an example whose
//! rewrite adds or removes lines around hidden ones is left as it was
//! (and reported).

use super::{parse, rewrite_file, Analysis, FileRewrite, Note, Options, Selection};
use crate::mapping::Table;

/// One code line of an example: its byte range in the file's text (the
/// whole line, without its newline), the comment prefix to keep (`///`
/// and the indentation before it, plus one space if there was one), and
/// the code with any `# ` hiding marker removed.
struct CodeLine {
    start: usize,
    end: usize,
    prefix: String,
    hidden: bool,
    code: String,
}

/// Rewrites the Rust examples in the doc comments of `text` (the file's
/// rewritten text); their notes and counts are added to `out`.
pub(super) fn rewrite_examples(
    file: &str,
    text: &str,
    an: &Analysis,
    table: &Table,
    sel: &Selection,
    opts: &Options,
    out: &mut FileRewrite,
) -> String {
    let mut result = String::with_capacity(text.len());
    let mut copied = 0;
    for (index, (_, lines)) in examples(text).into_iter().enumerate() {
        if !sel.doc_example(file, index) {
            continue;
        }
        let (Some(first), Some(last)) = (lines.first(), lines.last()) else {
            continue;
        };
        let code: String = lines.iter().map(|l| format!("{}\n", l.code)).collect();
        if !code.contains("tokio") && !code.contains(".await") {
            continue;
        }
        let line_no = text[..first.start].matches('\n').count() + 1;
        let Ok(ast) = parse(&code) else { continue };
        // Kept async: the example's own functions are not selected (their
        // file is kept), so only its calls of functions made direct change.
        let kept_async;
        let example_sel = if sel.doc_example_async(file, index) {
            kept_async = sel.clone().without([], [file.to_string()]);
            &kept_async
        } else {
            sel
        };
        let Ok(rw) = rewrite_file(file, &code, &ast, an, table, example_sel, opts) else {
            continue;
        };
        if rw.output == code {
            continue;
        }
        let new_lines: Vec<&str> = rw.output.lines().collect();
        let any_hidden = lines.iter().any(|l| l.hidden);
        if any_hidden && new_lines.len() != lines.len() {
            out.notes.push(Note {
                line: line_no,
                column: 1,
                message: "doc example left as it was: its rewrite changes the lines around \
                          `# ` hidden ones"
                    .into(),
            });
            continue;
        }
        let mut block = String::new();
        for (i, l) in new_lines.iter().enumerate() {
            let src = lines.get(i).unwrap_or(last);
            let hidden = any_hidden && src.hidden;
            let prefix = if l.is_empty() && !hidden {
                src.prefix.trim_end()
            } else {
                src.prefix.as_str()
            };
            let mark = match (hidden, l.is_empty()) {
                (true, true) => "#",
                (true, false) => "# ",
                (false, _) => "",
            };
            if i > 0 {
                block.push('\n');
            }
            block.push_str(&format!("{prefix}{mark}{l}"));
        }
        result.push_str(&text[copied..first.start]);
        result.push_str(&block);
        copied = last.end;
        for n in rw.notes {
            out.notes.push(Note {
                line: line_no + n.line - 1,
                column: n.column,
                message: format!("(doc example) {}", n.message),
            });
        }
        for (k, v) in rw.conversions {
            *out.conversions.entry(k).or_insert(0) += v;
        }
        out.bridged += rw.bridged;
    }
    result.push_str(&text[copied..]);
    result
}

/// The line (1-based) of the opening fence of each Rust example of
/// `text`, in order: what rustdoc names a doctest by (`src/lib.rs - f
/// (line 12)`). The n-th is the example `Selection::doc_example` counts
/// as n.
///
/// ```
/// let t = "/// ```\n/// f();\n/// ```\nfn f() {}\n//! ```text\n//! x\n//! ```\n";
/// assert_eq!(weft_migrate::rewrite::doc_example_lines(t), [1]);
/// ```
pub fn doc_example_lines(text: &str) -> Vec<usize> {
    examples(text).into_iter().map(|(l, _)| l).collect()
}

/// The code of every Rust example of `text`'s doc comments (doctests are
/// code of the crate: what they name, the manifest must provide).
///
/// ```
/// let t = "/// ```\n/// # use tokio as _;\n/// f();\n/// ```\nfn f() {}\n";
/// assert_eq!(weft_migrate::rewrite::doc_examples_code(t), "use tokio as _;\nf();\n");
/// ```
pub fn doc_examples_code(text: &str) -> String {
    let mut out = String::new();
    for (_, lines) in examples(text) {
        for l in lines {
            out.push_str(&l.code);
            out.push('\n');
        }
    }
    out
}

/// The Rust examples of `text`'s doc comments: the line of each opening
/// fence and its code lines.
fn examples(text: &str) -> Vec<(usize, Vec<CodeLine>)> {
    let mut blocks: Vec<(usize, Vec<CodeLine>)> = Vec::new();
    let mut current: Option<(usize, Vec<CodeLine>)> = None;
    let mut at = 0;
    let mut line_no = 0;
    for line in text.split_inclusive('\n') {
        let start = at;
        at += line.len();
        line_no += 1;
        let body = line.trim_end_matches(['\n', '\r']);
        let end = start + body.len();
        let trimmed = body.trim_start();
        let indent = &body[..body.len() - trimmed.len()];
        let Some(rest) = trimmed
            .strip_prefix("///")
            .filter(|r| !r.starts_with('/'))
            .or_else(|| trimmed.strip_prefix("//!"))
        else {
            // Not a doc comment line: an open example ends unclosed.
            current = None;
            continue;
        };
        let marker = &trimmed[..3];
        let (space, content) = match rest.strip_prefix(' ') {
            Some(c) => (" ", c),
            None => ("", rest),
        };
        let fence = content.trim_start();
        if let Some(info) = fence.strip_prefix("```") {
            match current.take() {
                Some(block) => blocks.push(block),
                None if is_rust(info) => current = Some((line_no, Vec::new())),
                None => {}
            }
            continue;
        }
        if let Some((_, lines)) = current.as_mut() {
            let (hidden, code) = match content.strip_prefix("# ") {
                Some(c) => (true, c),
                None if content == "#" => (true, ""),
                None => (false, content),
            };
            lines.push(CodeLine {
                start,
                end,
                prefix: format!("{indent}{marker}{space}"),
                hidden,
                code: code.to_string(),
            });
        }
    }
    blocks
}

/// Whether a fence's info string marks Rust code that rustdoc compiles.
fn is_rust(info: &str) -> bool {
    info.split([',', ' ', '\t'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .all(|t| {
            matches!(
                t,
                "rust" | "no_run" | "should_panic" | "test_harness" | "allow_fail"
            ) || t.starts_with("edition")
        })
}
