//! The exercises, one module per chapter.
//!
//! Built normally, each module is the learner's *starter*
//! (`src/exercises/chNN.rs`): the contract and signature of every exercise,
//! with a `todo!()` body. Built with `--features solutions`, each module is
//! the *reference answer* (`guides/solutions/chNN.rs`) instead; the tests in
//! `tests/chNN.rs` are the same either way. `cargo test --workspace` turns the
//! feature on (through the `weft-guide-solutions` member), so CI tests the
//! answers, while `cargo test -p weft-guide --test chNN` tests your file.
//! `cargo run -p weft-guide --bin exercises -- verify` checks that every
//! exercise's tests fail on its starter and pass on its answer.

#[cfg(not(feature = "solutions"))]
pub mod ch01;
#[cfg(feature = "solutions")]
#[path = "../../solutions/ch01.rs"]
pub mod ch01;

#[cfg(not(feature = "solutions"))]
pub mod ch02;
#[cfg(feature = "solutions")]
#[path = "../../solutions/ch02.rs"]
pub mod ch02;

#[cfg(not(feature = "solutions"))]
pub mod ch03;
#[cfg(feature = "solutions")]
#[path = "../../solutions/ch03.rs"]
pub mod ch03;

#[cfg(not(feature = "solutions"))]
pub mod ch04;
#[cfg(feature = "solutions")]
#[path = "../../solutions/ch04.rs"]
pub mod ch04;

#[cfg(not(feature = "solutions"))]
pub mod ch05;
#[cfg(feature = "solutions")]
#[path = "../../solutions/ch05.rs"]
pub mod ch05;

#[cfg(not(feature = "solutions"))]
pub mod ch06;
#[cfg(feature = "solutions")]
#[path = "../../solutions/ch06.rs"]
pub mod ch06;

#[cfg(not(feature = "solutions"))]
pub mod ch07;
#[cfg(feature = "solutions")]
#[path = "../../solutions/ch07.rs"]
pub mod ch07;

#[cfg(not(feature = "solutions"))]
pub mod ch08;
#[cfg(feature = "solutions")]
#[path = "../../solutions/ch08.rs"]
pub mod ch08;

#[cfg(not(feature = "solutions"))]
pub mod ch11;
#[cfg(feature = "solutions")]
#[path = "../../solutions/ch11.rs"]
pub mod ch11;
