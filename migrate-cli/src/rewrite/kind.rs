//! What a value is known to hold: the one kind type shared by the analysis
//! (struct fields, what functions return) and the rewrite (locals).

/// What a local, a struct field or a returned value holds, as far as the
/// rules need to know. The analysis finds the kinds a type names
/// ([`Held::of_type`]) for struct fields and return types across files;
/// the rewrite also learns kinds from a body (`let d = sleep(..)`: a
/// deadline). `None` where a kind is an `Option<Held>`: anything else, or
/// unknown (two fields of one name holding different kinds).
///
/// ```
/// use weft_migrate::rewrite::Held;
/// let ty: syn::Type = syn::parse_str("tokio::sync::oneshot::Receiver<u8>").unwrap();
/// assert_eq!(Held::of_type(&ty), Some(Held::OneshotRx));
/// let ty: syn::Type = syn::parse_str("Vec<JoinHandle<()>>").unwrap();
/// assert_eq!(Held::of_field_type(&ty), Some(Held::HandleVec));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Held {
    /// A tokio join handle (`JoinHandle<T>`).
    JoinHandle,
    /// A vector of join handles (`Vec<JoinHandle<T>>`, or a vector that
    /// spawned handles are pushed on).
    HandleVec,
    /// A `JoinSet` (becomes a `weft::TaskSet`).
    TaskSet,
    /// A `FuturesUnordered`.
    Unordered,
    /// The receiver of a `oneshot` channel.
    OneshotRx,
    /// An owned write half (`OwnedWriteHalf`, from `into_split()`; owned, so
    /// it can be dropped).
    WriteHalf,
    /// A tokio `Runtime` (or a reference to one).
    Runtime,
    /// `let d = tokio::time::sleep(..)`: a deadline, becomes an instant.
    Deadline,
    /// A deadline that is also reset (its binding must be `mut`).
    DeadlineReset,
    /// Bound from a call of a function this run made direct: already the
    /// value (computed at the `let`, not at the `.await`).
    Ready,
    /// An `impl Future` parameter that became `impl FnOnce() -> T`:
    /// awaiting it is calling it.
    FutureFn,
}

impl Held {
    /// What a type names, for the kinds a type can tell: a join handle, a
    /// oneshot receiver, an owned write half, a runtime (also behind a
    /// reference).
    ///
    /// ```
    /// use weft_migrate::rewrite::Held;
    /// let ty: syn::Type = syn::parse_str("&tokio::runtime::Runtime").unwrap();
    /// assert_eq!(Held::of_type(&ty), Some(Held::Runtime));
    /// let ty: syn::Type = syn::parse_str("&JoinHandle<()>").unwrap();
    /// assert_eq!(Held::of_type(&ty), None);
    /// ```
    pub fn of_type(ty: &syn::Type) -> Option<Held> {
        match ty {
            syn::Type::Path(p) => {
                let segs: Vec<String> = super::path_idents(&p.path);
                match segs.last().map(String::as_str) {
                    Some("JoinHandle") => Some(Held::JoinHandle),
                    Some("OwnedWriteHalf") => Some(Held::WriteHalf),
                    Some("Runtime") => Some(Held::Runtime),
                    Some("Receiver") if segs.len() >= 2 && segs[segs.len() - 2] == "oneshot" => {
                        Some(Held::OneshotRx)
                    }
                    _ => None,
                }
            }
            syn::Type::Paren(p) => Held::of_type(&p.elem),
            syn::Type::Reference(r) if Held::of_type(&r.elem) == Some(Held::Runtime) => {
                Some(Held::Runtime)
            }
            _ => None,
        }
    }

    /// What a struct field of type `ty` holds: [`Held::of_type`], or
    /// [`Held::HandleVec`] for a vector of join handles.
    ///
    /// ```
    /// use weft_migrate::rewrite::Held;
    /// let ty: syn::Type = syn::parse_str("Vec<u8>").unwrap();
    /// assert_eq!(Held::of_field_type(&ty), None);
    /// ```
    pub fn of_field_type(ty: &syn::Type) -> Option<Held> {
        if is_vec_of_handles(ty) {
            Some(Held::HandleVec)
        } else {
            Held::of_type(ty)
        }
    }

    /// The kind a local bound to a value of kind `self` is tracked with
    /// (`None`: not tracked): join handles, owned write halves, and oneshot
    /// receivers where the run maps `oneshot` (`oneshot_mapped`).
    pub(super) fn as_local(self, oneshot_mapped: bool) -> Option<Held> {
        match self {
            Held::JoinHandle | Held::WriteHalf => Some(self),
            Held::OneshotRx if oneshot_mapped => Some(self),
            _ => None,
        }
    }
}

/// `Vec<JoinHandle<T>>` (any path to either).
pub(crate) fn is_vec_of_handles(ty: &syn::Type) -> bool {
    let syn::Type::Path(p) = ty else { return false };
    let Some(last) = p.path.segments.last() else {
        return false;
    };
    if last.ident != "Vec" {
        return false;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return false;
    };
    args.args.iter().any(
        |a| matches!(a, syn::GenericArgument::Type(t) if Held::of_type(t) == Some(Held::JoinHandle)),
    )
}

/// What a call of the spawn family (and of the constructors whose values
/// the rules track) makes: the call rules' kind of a call expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Maker {
    /// `tokio::spawn`, `tokio::task::spawn`, `spawn_local`: a join handle.
    Spawn,
    /// `tokio::task::spawn_blocking`: a join handle.
    SpawnBlocking,
    /// `tokio::sync::oneshot::channel()`: a sender and a receiver.
    Oneshot,
    /// `JoinSet::new()`.
    JoinSet,
    /// `FuturesUnordered::new()`.
    Unordered,
}
