//! The reference answers to the weft guide's exercises (`chNN.rs` in this
//! directory), re-exported.
//!
//! This crate's only job is its dependency on `weft-guide` with the
//! `solutions` feature: cargo unifies features over the packages it builds,
//! so `cargo test --workspace` (and clippy over the workspace) compiles
//! weft-guide with the answers and its tests check them. A learner's
//! `cargo test -p weft-guide --test chNN` builds weft-guide alone, without
//! the feature, and tests their starter in `guides/src/exercises/`.
//!
//! ```
//! use weft_guide_solutions::ch01::gather;
//! let lens = weft::run(|_env| gather(["a", "bc"].map(|w| move || w.len())));
//! assert_eq!(lens, [1, 2]);
//! ```

pub use weft_guide::exercises::*;
