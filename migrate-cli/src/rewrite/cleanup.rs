//! After the rewrite: imports the rewrite made unused (`join_all` once the
//! call became `weft::fiber::all`, `Future` once no signature names it)
//! are removed, so the migrated crate builds without new warnings and
//! without dependencies nothing needs.
//!
//! Only a name that the input used (outside use items) and the output no
//! longer uses goes; imports the user already had unused stay as they were.
//! Traits imported for their methods are matched by their method names.

use std::collections::HashMap;

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;

use super::use_tree::{flatten, UseLeaf};
use crate::edit::Edits;
use crate::mapping::methods::ExtTrait;

/// Counts the identifiers among `wanted` that can name an import: not
/// those after `::` (`weft_compat::stream::from_fiber` does not use an
/// imported `stream`). Only the wanted names are counted: a file has
/// thousands of identifiers and a few imports, and comparing in place
/// allocates nothing.
fn count(ts: TokenStream, wanted: &[String], counts: &mut [usize]) {
    let mut colons = 0;
    for t in ts {
        let is_colon = matches!(&t, TokenTree::Punct(p) if p.as_char() == ':');
        match t {
            TokenTree::Ident(i) if colons < 2 => {
                if let Some(k) = wanted.iter().position(|w| i == w) {
                    counts[k] += 1;
                }
            }
            TokenTree::Group(g) => count(g.stream(), wanted, counts),
            _ => {}
        }
        colons = if is_colon { colons + 1 } else { 0 };
    }
}

/// Counts of the `wanted` identifiers in a file outside its top-level use
/// items (a name that does not occur has no entry).
fn idents(f: &syn::File, wanted: &[String]) -> HashMap<String, usize> {
    let mut counts = vec![0; wanted.len()];
    for a in &f.attrs {
        count(a.to_token_stream(), wanted, &mut counts);
    }
    for item in &f.items {
        if !matches!(item, syn::Item::Use(_)) {
            count(item.to_token_stream(), wanted, &mut counts);
        }
    }
    wanted
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(w, n)| (w.clone(), n))
        .collect()
}

/// The names whether an import is used depends on: the local names of the
/// file's top-level use items, and the methods of the extension traits
/// among them (a trait imported for its methods is used by their names).
fn import_names(f: &syn::File) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for item in &f.items {
        let syn::Item::Use(u) = item else { continue };
        for name in flatten(&u.tree).iter().filter_map(UseLeaf::local) {
            if let Some(t) = ExtTrait::from_name(&name) {
                names.extend(t.methods().map(str::to_string));
            }
            names.push(name);
        }
    }
    names.sort();
    names.dedup();
    names
}

/// Imports of an item the file already imports under another name, that
/// nothing names: `(path, local name)`. tokio's `AsyncRead` and
/// `AsyncReadExt` both become `std::io::Read`; one import of a trait gives
/// its methods, the second would be an unused import. Of several imports of
/// one path, those named in the file stay (or the first, if none is).
fn duplicate_imports(
    after: &syn::File,
    ids: &HashMap<String, usize>,
) -> std::collections::HashSet<(String, String)> {
    let mut by_path: HashMap<String, Vec<String>> = HashMap::new();
    for item in &after.items {
        let syn::Item::Use(u) = item else { continue };
        for l in flatten(&u.tree) {
            if let Some(name) = l.local().filter(|n| n != "_") {
                by_path.entry(l.path.join("::")).or_default().push(name);
            }
        }
    }
    let mut drop = std::collections::HashSet::new();
    for (path, names) in by_path {
        if names.len() < 2 {
            continue;
        }
        let named: Vec<&String> = names.iter().filter(|n| ids.contains_key(*n)).collect();
        let keep: Vec<&String> = if named.is_empty() {
            vec![&names[0]]
        } else {
            named
        };
        for n in &names {
            if !keep.contains(&n) {
                drop.insert((path.clone(), n.clone()));
            }
        }
    }
    drop
}

/// Removes from `output` the imports that `input` used and `output` no
/// longer uses. Returns `output` unchanged when nothing goes, and an error
/// when `output` does not parse: the text returned has been parsed, so the
/// caller need not parse it again to know it is valid.
pub(crate) fn remove_unused_imports(
    input: &syn::File,
    output: &str,
) -> Result<String, super::RewriteError> {
    let after = super::parse(output).map_err(|e| super::RewriteError::Output(e.to_string()))?;
    let names = import_names(&after);
    let after_ids = idents(&after, &names);
    let used = |ids: &HashMap<String, usize>, name: &str| -> bool {
        if ids.get(name).is_some_and(|n| *n > 0) {
            return true;
        }
        ExtTrait::from_name(name).is_some_and(|t| t.methods().any(|m| ids.contains_key(m)))
    };
    let twins = duplicate_imports(&after, &after_ids);
    // Only an import the output does not use may go: the input is counted
    // only when there is one.
    let unused_after = after.items.iter().any(|item| {
        let syn::Item::Use(u) = item else {
            return false;
        };
        flatten(&u.tree)
            .iter()
            .filter_map(UseLeaf::local)
            .any(|name| name != "_" && !used(&after_ids, &name))
    });
    if !unused_after && twins.is_empty() {
        return Ok(output.to_string());
    }
    let before_ids = if unused_after {
        idents(input, &names)
    } else {
        HashMap::new()
    };
    let mut edits = Edits::default();
    let mut replaced: Vec<String> = Vec::new();
    for item in &after.items {
        let syn::Item::Use(u) = item else { continue };
        let all = flatten(&u.tree);
        let (keep, drop): (Vec<&UseLeaf>, Vec<&UseLeaf>) =
            all.iter().partition(|l| match l.local() {
                None => true,
                Some(name) if name == "_" => true,
                Some(name) if twins.contains(&(l.path.join("::"), name.clone())) => false,
                Some(name) => used(&after_ids, &name) || !used(&before_ids, &name),
            });
        if drop.is_empty() {
            continue;
        }
        let r = u.use_token.span.byte_range();
        let start = match &u.vis {
            syn::Visibility::Inherited => r.start,
            v => syn::spanned::Spanned::span(v).byte_range().start,
        };
        let end = u.semi_token.span.byte_range().end;
        if keep.is_empty() && u.attrs.is_empty() {
            // The whole item goes, with its line.
            let ls = output[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_end = output[end..]
                .find('\n')
                .map_or(output.len(), |i| end + i + 1);
            if output[ls..start].trim().is_empty() && output[end..line_end].trim().is_empty() {
                edits.delete(ls..line_end);
            } else {
                edits.delete(start..end);
            }
            continue;
        }
        if keep.is_empty() {
            continue;
        }
        let vis = output[start..r.start].to_string();
        let text = if keep.len() == 1 {
            format!("{vis}use {};", keep[0].text())
        } else {
            // The longest common module prefix, then a group.
            let mut common = keep[0].path.clone();
            for l in &keep[1..] {
                let n = common
                    .iter()
                    .zip(&l.path)
                    .take_while(|(a, b)| a == b)
                    .count();
                common.truncate(n);
            }
            // A leaf that is not `self` must keep a segment of its own.
            while !common.is_empty()
                && keep.iter().any(|l| {
                    (l.path.len() < common.len())
                        || (l.path.len() == common.len() && !l.glob && !l.is_self)
                })
            {
                common.pop();
            }
            let items: Vec<String> = keep
                .iter()
                .map(|l| {
                    let rest = UseLeaf {
                        path: l.path[common.len()..].to_vec(),
                        alias: l.alias.clone(),
                        glob: l.glob,
                        is_self: l.is_self,
                    };
                    if rest.path.is_empty() && !rest.glob {
                        match &rest.alias {
                            Some(a) => format!("self as {a}"),
                            None => "self".to_string(),
                        }
                    } else {
                        rest.text()
                    }
                })
                .collect();
            if common.is_empty() {
                format!("{vis}use {{{}}};", items.join(", "))
            } else {
                format!("{vis}use {}::{{{}}};", common.join("::"), items.join(", "))
            }
        };
        replaced.push(text.clone());
        edits.replace(start..end, text);
    }
    if edits.is_empty() {
        return Ok(output.to_string());
    }
    // The edits delete whole use items (with their lines) or replace one
    // with a use item built here: each new item is checked to parse on its
    // own, so the file keeps parsing without a second parse of all of it
    // (which cost as much as the rest of the cleanup).
    if !replaced
        .iter()
        .all(|t| syn::parse_str::<syn::ItemUse>(t).is_ok())
    {
        return Ok(output.to_string());
    }
    Ok(edits.apply(output).unwrap_or_else(|_| output.to_string()))
}

#[cfg(test)]
mod tests {
    use super::remove_unused_imports;

    fn cleaned(input: &str, output: &str) -> String {
        let ast = crate::rewrite::parse(input).unwrap();
        remove_unused_imports(&ast, output).unwrap()
    }

    #[test]
    fn an_import_the_rewrite_made_unused_goes_and_others_stay() {
        let input = "use a::{f, g, h};\nfn x() { f(); g(); }\n";
        // `f` was used and is no more: it goes. `g` is still used; `h` was
        // unused before: both stay.
        let output = "use a::{f, g, h};\nfn x() { weft::f(); g(); }\n";
        assert_eq!(
            cleaned(input, output),
            "use a::{g, h};\nfn x() { weft::f(); g(); }\n"
        );
    }

    #[test]
    fn nothing_goes_when_every_import_is_still_used() {
        let input = "use a::f;\nfn x() { f(); }\n";
        let output = "use a::f;\nfn x() { f(); f(); }\n";
        assert_eq!(cleaned(input, output), output);
    }

    #[test]
    fn an_extension_trait_is_used_by_its_methods() {
        let input = "use futures::FutureExt;\nfn x() { y().boxed(); z(); }\n";
        let kept = "use futures::FutureExt;\nfn x() { y().boxed(); }\n";
        assert_eq!(cleaned(input, kept), kept);
        let gone = "use futures::FutureExt;\nfn x() { y(); }\n";
        assert_eq!(cleaned(input, gone), "fn x() { y(); }\n");
    }

    #[test]
    fn a_second_import_of_one_path_goes_even_when_nothing_else_does() {
        let input = "use tokio::io::{AsyncRead, AsyncReadExt};\nfn x<R: AsyncRead>(r: R) {}\n";
        let output = "use std::io::{Read as AsyncRead, Read as AsyncReadExt};\nfn x<R: AsyncRead>(r: R) {}\n";
        assert_eq!(
            cleaned(input, output),
            "use std::io::Read as AsyncRead;\nfn x<R: AsyncRead>(r: R) {}\n"
        );
    }

    #[test]
    fn a_name_after_a_path_separator_does_not_use_an_import() {
        let input = "use a::stream;\nfn x() { stream(); }\n";
        let output = "use a::stream;\nfn x() { weft_compat::stream::from_fiber(); }\n";
        assert_eq!(
            cleaned(input, output),
            "fn x() { weft_compat::stream::from_fiber(); }\n"
        );
    }
}
