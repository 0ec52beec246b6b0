//! The exercises, one module per chapter. Each function is a reference
//! answer: delete its body, write your own, and run
//! `cargo test -p weft-guide --test chNN` to check it.

pub mod ch01;
pub mod ch02;
pub mod ch03;
pub mod ch04;
pub mod ch05;
pub mod ch06;
pub mod ch07;
pub mod ch08;
