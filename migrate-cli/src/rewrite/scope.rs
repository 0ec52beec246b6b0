//! Where the visitor is: the region, the locals, and what the enclosing
//! function, impl block and statement say.

use std::collections::{HashMap, HashSet};

use super::imports::ImportScope;
use super::{Held, Rw};

/// What the visitor may do where it is (see the module doc of
/// [`super`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Region {
    /// Ordinary code outside converted functions: only paths change.
    Sync,
    /// The body of a function this run converts.
    Direct,
    /// Code that stays async: only calls of converted functions are
    /// adapted.
    Async,
}

/// The scope state of one file's rewrite: it changes as the visit enters
/// and leaves functions, impl blocks, blocks and statements.
pub(super) struct Scope {
    /// What the code being visited may become.
    pub(super) region: Region,
    /// Whether paths are rewritten here (the selection takes this code).
    pub(super) paths_on: bool,
    /// What the locals in scope hold, by name.
    pub(super) locals: HashMap<String, Held>,
    /// Whether the async methods of the enclosing impl block may become
    /// direct (an inherent impl, or an impl of one of the crate's traits).
    pub(super) impl_convertible: bool,
    /// The type an enclosing impl block is for (`impl S` / `impl T for S`).
    pub(super) impl_self: Option<String>,
    /// In a method: whether its `self` is a reference, and whether it can
    /// be borrowed mutably (`&mut self`, `mut self`).
    pub(super) self_mut: Option<(bool, bool)>,
    /// Inside an `async_stream::stream!` (`Some(false)`) or `try_stream!`
    /// (`Some(true)`) body being rewritten: `yield` sends.
    pub(super) stream_yield: Option<bool>,
    /// The statement being visited is a macro that needs a `;` once
    /// rewritten (it is not the block's last).
    pub(super) stmt_needs_semi: bool,
    /// Locals holding a tokio runtime used only for `block_on` (their
    /// `let` is gone).
    pub(super) runtimes: HashSet<String>,
    /// Arguments (by byte range) that become closures, and whether their
    /// parameter names its output (see `mark_future_args`).
    pub(super) future_args: HashMap<(usize, usize), bool>,
    /// The enclosing function's parameters that are borrowed (`&T`,
    /// `&self`): a future that captures one cannot be handed to a fiber,
    /// which must own what it runs.
    pub(super) borrowed_params: HashSet<String>,
}

impl Scope {
    /// The scope at the top of a file: synchronous code, paths rewritten
    /// when the selection takes the file.
    pub(super) fn new(paths_on: bool) -> Scope {
        Scope {
            region: Region::Sync,
            paths_on,
            locals: HashMap::new(),
            impl_convertible: true,
            impl_self: None,
            self_mut: None,
            stream_yield: None,
            stmt_needs_semi: false,
            runtimes: HashSet::new(),
            future_args: HashMap::new(),
            borrowed_params: HashSet::new(),
        }
    }
}

/// Saved visitor state around a function.
pub(super) struct Saved {
    region: Region,
    self_mut: Option<(bool, bool)>,
    paths_on: bool,
    locals: HashMap<String, Held>,
    borrowed_params: HashSet<String>,
    imports: ImportScope,
}

impl Rw<'_> {
    /// Saves what a function changes (its locals start empty).
    pub(super) fn save(&mut self) -> Saved {
        Saved {
            region: self.scope.region,
            self_mut: self.scope.self_mut,
            paths_on: self.scope.paths_on,
            locals: std::mem::take(&mut self.scope.locals),
            borrowed_params: std::mem::take(&mut self.scope.borrowed_params),
            imports: self.imports.save_scope(),
        }
    }

    /// Puts back what [`Rw::save`] saved.
    pub(super) fn restore(&mut self, s: Saved) {
        self.scope.region = s.region;
        self.scope.self_mut = s.self_mut;
        self.scope.paths_on = s.paths_on;
        self.scope.locals = s.locals;
        self.scope.borrowed_params = s.borrowed_params;
        self.imports.restore_scope(s.imports);
    }

    /// Runs `f` with the region set to `region` (paths rewritten unless the
    /// region stays async).
    pub(super) fn within(&mut self, region: Region, f: impl FnOnce(&mut Self)) {
        let (r, p) = (self.scope.region, self.scope.paths_on);
        self.scope.region = region;
        if region == Region::Async {
            self.scope.paths_on = false;
        }
        f(self);
        self.scope.region = r;
        self.scope.paths_on = p;
    }
}
