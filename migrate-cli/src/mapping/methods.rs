//! The one table of method names: for each method (and the few functions
//! matched by the last segment of their path) the rules know by name, what
//! it is. Every rule that decides by a method's name asks here: the
//! rewrite (is an awaited call direct after the migration, is it a future
//! combinator, is a converted name also a common std method), the compiler
//! loop (which mapped type alone has it), `select!` (does the wait start
//! when it is made) and the cleanup of imports (which extension trait it
//! keeps in use).
//!
//! ```
//! use weft_migrate::mapping::methods::{self, Combinator};
//! assert!(methods::is_direct("lock") && methods::is_std_name("lock"));
//! assert_eq!(methods::combinator("and_then"), Some(Combinator::FutureClosure));
//! assert_eq!(methods::owners("notified"), ["tokio::sync::Notify"]);
//! ```

/// What one method name is.
///
/// ```
/// let m = weft_migrate::mapping::methods::get("tick").unwrap();
/// assert!(m.direct && m.starts_a_wait);
/// assert_eq!(m.owners, ["tokio::time::Interval"]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Method {
    /// The method's name.
    pub name: &'static str,
    /// An awaited call of it, on a tokio type the run maps (or a std I/O
    /// trait those map to), is a direct call after the migration.
    pub direct: bool,
    /// The mapped tokio types that alone have it among those the run
    /// rewrites: when the compiler loop keeps such a type as it was, an
    /// awaited call of the method stays a future, and an error saying a
    /// call of it "is not a future" in code that stays async blames the
    /// type's mapping.
    pub owners: &'static [&'static str],
    /// A future combinator that `weft::chain!` (or sequential code, on a
    /// direct call) replaces, and what its argument is.
    pub combinator: Option<Combinator>,
    /// The futures extension trait it is a method of: a call of it keeps
    /// an import of that trait in use.
    pub ext_trait: Option<ExtTrait>,
    /// A name common std types have too (`map.get(k)`, `tx.send(v)`): a
    /// call of it is not taken for a call of a function of the run that
    /// has the same name unless it is awaited.
    pub std_name: bool,
    /// A wait that must start when it is made, not later: a timer (its
    /// deadline must not move) or an edge-triggered wait that only sees
    /// what happens while it is registered (`ctrl_c`, `notified`). Matched
    /// on methods and on the last segment of a called path (`sleep(..)`).
    pub starts_a_wait: bool,
}

/// What the argument of a future combinator is.
///
/// ```
/// use weft_migrate::mapping::methods::{combinator, Combinator};
/// assert_eq!(combinator("map_err"), Some(Combinator::ValueClosure));
/// assert_eq!(combinator("fuse"), Some(Combinator::NoArgument));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combinator {
    /// A closure that returns a future (`then`, `and_then`, `or_else`).
    FutureClosure,
    /// A closure (or function) that returns a value (`map`, `map_err`, ...).
    ValueClosure,
    /// No argument (`boxed`, `fuse`, `err_into`, ...).
    NoArgument,
}

/// A futures extension trait whose methods the table lists.
///
/// ```
/// use weft_migrate::mapping::methods::ExtTrait;
/// assert_eq!(ExtTrait::from_name("TryFutureExt"), Some(ExtTrait::TryFutureExt));
/// assert_eq!(ExtTrait::from_name("StreamExt"), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtTrait {
    /// `futures::FutureExt`.
    FutureExt,
    /// `futures::TryFutureExt`.
    TryFutureExt,
}

impl ExtTrait {
    /// The trait named `name` (its last path segment).
    ///
    /// ```
    /// use weft_migrate::mapping::methods::ExtTrait;
    /// assert_eq!(ExtTrait::from_name("FutureExt"), Some(ExtTrait::FutureExt));
    /// ```
    pub fn from_name(name: &str) -> Option<ExtTrait> {
        match name {
            "FutureExt" => Some(ExtTrait::FutureExt),
            "TryFutureExt" => Some(ExtTrait::TryFutureExt),
            _ => None,
        }
    }

    /// The names of the trait's methods.
    ///
    /// ```
    /// use weft_migrate::mapping::methods::ExtTrait;
    /// assert!(ExtTrait::FutureExt.methods().any(|m| m == "now_or_never"));
    /// ```
    pub fn methods(self) -> impl Iterator<Item = &'static str> {
        METHODS
            .iter()
            .filter(move |m| m.ext_trait == Some(self))
            .map(|m| m.name)
    }
}

const fn m(name: &'static str) -> Method {
    Method {
        name,
        direct: false,
        owners: &[],
        combinator: None,
        ext_trait: None,
        std_name: false,
        starts_a_wait: false,
    }
}

impl Method {
    const fn direct(mut self) -> Method {
        self.direct = true;
        self
    }

    const fn owned_by(mut self, owners: &'static [&'static str]) -> Method {
        self.owners = owners;
        self
    }

    const fn combinator(mut self, c: Combinator) -> Method {
        self.combinator = Some(c);
        self
    }

    const fn of_trait(mut self, t: ExtTrait) -> Method {
        self.ext_trait = Some(t);
        self
    }

    const fn std_name(mut self) -> Method {
        self.std_name = true;
        self
    }

    const fn starts_a_wait(mut self) -> Method {
        self.starts_a_wait = true;
        self
    }
}

/// Owners of more than one method.
const CANCELLATION_TOKEN: &[&str] = &["tokio_util::sync::CancellationToken"];
const WATCH_RECEIVER: &[&str] = &["tokio::sync::watch::Receiver"];

/// The table, one entry per name, sorted by name (looked up by binary
/// search: the rewrite asks for every method call it meets).
const METHODS: &[Method] = &[
    m("accept").direct(),
    m("acquire").direct(),
    m("acquire_many").direct(),
    m("acquire_many_owned").direct(),
    m("acquire_owned").direct(),
    m("and_then")
        .combinator(Combinator::FutureClosure)
        .of_trait(ExtTrait::TryFutureExt),
    m("boxed")
        .combinator(Combinator::NoArgument)
        .of_trait(ExtTrait::FutureExt),
    m("boxed_local")
        .combinator(Combinator::NoArgument)
        .of_trait(ExtTrait::FutureExt),
    m("call").std_name(),
    m("cancelled").direct().owned_by(CANCELLATION_TOKEN),
    m("cancelled_owned").direct().owned_by(CANCELLATION_TOKEN),
    m("catch_unwind").of_trait(ExtTrait::FutureExt),
    m("changed").direct().owned_by(WATCH_RECEIVER),
    m("clear").std_name(),
    m("clone").std_name(),
    m("closed").direct(),
    m("connect").direct(),
    m("contains").std_name(),
    m("ctrl_c").starts_a_wait(),
    m("default").std_name(),
    m("err_into")
        .combinator(Combinator::NoArgument)
        .of_trait(ExtTrait::TryFutureExt),
    m("extend").std_name(),
    m("file_type").direct(),
    m("flatten").of_trait(ExtTrait::FutureExt),
    m("flush").direct(),
    m("from").std_name(),
    m("fuse")
        .combinator(Combinator::NoArgument)
        .of_trait(ExtTrait::FutureExt),
    m("get").std_name(),
    m("get_mut").std_name(),
    m("insert").std_name(),
    m("inspect")
        .combinator(Combinator::ValueClosure)
        .of_trait(ExtTrait::FutureExt),
    m("inspect_err")
        .combinator(Combinator::ValueClosure)
        .of_trait(ExtTrait::TryFutureExt),
    m("inspect_ok")
        .combinator(Combinator::ValueClosure)
        .of_trait(ExtTrait::TryFutureExt),
    m("into").std_name(),
    m("into_future").of_trait(ExtTrait::TryFutureExt),
    m("into_iter").std_name(),
    m("into_std").direct(),
    m("into_stream").of_trait(ExtTrait::FutureExt),
    m("iter").std_name(),
    m("join_all").direct(),
    m("join_next").direct().owned_by(&["tokio::task::JoinSet"]),
    m("kill").direct(),
    m("left_future").of_trait(ExtTrait::FutureExt),
    m("len").std_name(),
    m("lock").direct().std_name(),
    m("lock_owned").direct(),
    m("map")
        .combinator(Combinator::ValueClosure)
        .of_trait(ExtTrait::FutureExt)
        .std_name(),
    m("map_err")
        .combinator(Combinator::ValueClosure)
        .of_trait(ExtTrait::TryFutureExt),
    m("map_ok")
        .combinator(Combinator::ValueClosure)
        .of_trait(ExtTrait::TryFutureExt),
    m("map_ok_or_else").of_trait(ExtTrait::TryFutureExt),
    m("metadata").direct(),
    m("never_error").of_trait(ExtTrait::FutureExt),
    m("new").std_name(),
    m("next").std_name(),
    m("next_entry").direct(),
    m("next_line").direct(),
    m("notified")
        .direct()
        .owned_by(&["tokio::sync::Notify"])
        .starts_a_wait(),
    m("now_or_never").of_trait(ExtTrait::FutureExt),
    m("ok_into")
        .combinator(Combinator::NoArgument)
        .of_trait(ExtTrait::TryFutureExt),
    m("open").direct(),
    m("or_else")
        .combinator(Combinator::FutureClosure)
        .of_trait(ExtTrait::TryFutureExt),
    m("output").direct(),
    m("peek").direct(),
    m("poll_unpin").of_trait(ExtTrait::FutureExt),
    m("pop").std_name(),
    m("push").std_name(),
    m("read").direct().std_name(),
    m("read_exact").direct(),
    m("read_line").direct(),
    m("read_owned").direct(),
    m("read_to_end").direct(),
    m("read_to_string").direct(),
    m("read_until").direct(),
    m("recv").direct().std_name(),
    m("recv_from").direct(),
    m("recv_many").direct(),
    m("remote_handle").of_trait(ExtTrait::FutureExt),
    m("remove").std_name(),
    m("reserve").direct(),
    m("right_future").of_trait(ExtTrait::FutureExt),
    m("run").std_name(),
    m("run_until_cancelled").owned_by(CANCELLATION_TOKEN),
    m("run_until_cancelled_owned").owned_by(CANCELLATION_TOKEN),
    m("seek").direct(),
    m("send").direct().std_name(),
    m("send_timeout").direct(),
    m("send_to").direct(),
    m("set").std_name(),
    m("set_len").direct(),
    m("set_permissions").direct(),
    m("shared").of_trait(ExtTrait::FutureExt),
    m("shutdown").direct(),
    m("sleep").starts_a_wait(),
    m("sleep_until").starts_a_wait(),
    m("status").direct(),
    m("sync_all").direct(),
    m("sync_data").direct(),
    m("take").std_name(),
    m("then")
        .combinator(Combinator::FutureClosure)
        .of_trait(ExtTrait::FutureExt),
    m("tick")
        .direct()
        .owned_by(&["tokio::time::Interval"])
        .starts_a_wait(),
    m("timeout").starts_a_wait(),
    m("timeout_at").starts_a_wait(),
    m("try_clone").direct(),
    m("try_flatten").of_trait(ExtTrait::TryFutureExt),
    m("try_poll_unpin").of_trait(ExtTrait::TryFutureExt),
    m("unit_error").of_trait(ExtTrait::FutureExt),
    m("unwrap_or_else")
        .combinator(Combinator::ValueClosure)
        .of_trait(ExtTrait::TryFutureExt),
    m("wait").direct(),
    m("wait_for").direct().owned_by(WATCH_RECEIVER),
    m("wait_with_output").direct(),
    m("write").direct().std_name(),
    m("write_all").direct(),
    m("write_owned").direct(),
];

/// The entry of method `name`.
///
/// ```
/// assert!(weft_migrate::mapping::methods::get("no_such_method").is_none());
/// ```
pub fn get(name: &str) -> Option<&'static Method> {
    METHODS
        .binary_search_by(|m| m.name.cmp(name))
        .ok()
        .map(|i| &METHODS[i])
}

/// Whether an awaited call of `name` on a mapped tokio type is direct
/// after the migration ([`Method::direct`](Method#structfield.direct)).
///
/// ```
/// assert!(weft_migrate::mapping::methods::is_direct("recv"));
/// assert!(!weft_migrate::mapping::methods::is_direct("map"));
/// ```
pub fn is_direct(name: &str) -> bool {
    get(name).is_some_and(|m| m.direct)
}

/// The mapped tokio types that alone have method `name` ([`Method::owners`](Method#structfield.owners)).
///
/// ```
/// assert!(weft_migrate::mapping::methods::owners("lock").is_empty());
/// ```
pub fn owners(name: &str) -> &'static [&'static str] {
    get(name).map_or(&[], |m| m.owners)
}

/// What future combinator `name` is, if it is one ([`Method::combinator`](Method#structfield.combinator)).
///
/// ```
/// assert!(weft_migrate::mapping::methods::combinator("lock").is_none());
/// ```
pub fn combinator(name: &str) -> Option<Combinator> {
    get(name).and_then(|m| m.combinator)
}

/// Whether common std types have a method `name` too ([`Method::std_name`](Method#structfield.std_name)).
///
/// ```
/// assert!(weft_migrate::mapping::methods::is_std_name("get"));
/// ```
pub fn is_std_name(name: &str) -> bool {
    get(name).is_some_and(|m| m.std_name)
}

/// Whether a call named `name` is a wait that must start when it is made
/// ([`Method::starts_a_wait`](Method#structfield.starts_a_wait)).
///
/// ```
/// assert!(weft_migrate::mapping::methods::starts_a_wait("sleep"));
/// ```
pub fn starts_a_wait(name: &str) -> bool {
    get(name).is_some_and(|m| m.starts_a_wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_with_one_entry_per_name() {
        for w in METHODS.windows(2) {
            assert!(w[0].name < w[1].name, "{} then {}", w[0].name, w[1].name);
        }
        for m in METHODS {
            assert_eq!(get(m.name), Some(m));
        }
    }

    #[test]
    fn every_entry_says_something() {
        for m in METHODS {
            assert!(
                m.direct
                    || !m.owners.is_empty()
                    || m.combinator.is_some()
                    || m.ext_trait.is_some()
                    || m.std_name
                    || m.starts_a_wait,
                "{}",
                m.name
            );
        }
    }
}
