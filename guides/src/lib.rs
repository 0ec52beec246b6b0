#![doc = include_str!("../README.md")]
//!
//! # In this crate
//!
//! - One module per chapter (`ch01_first_fibers`, ...): the chapter's text
//!   as its documentation, so `cargo test -p weft-guide --doc` compiles
//!   and runs every example in it.
//! - [`exercises`]: the exercise functions, with reference answers.
#![warn(missing_docs)]

pub mod exercises;

#[doc = include_str!("../tutorial/01-first-fibers.md")]
pub mod ch01_first_fibers {}

#[doc = include_str!("../tutorial/02-cancellation-and-errors.md")]
pub mod ch02_cancellation_and_errors {}

#[doc = include_str!("../tutorial/03-sharing-and-talking.md")]
pub mod ch03_sharing_and_talking {}

#[doc = include_str!("../tutorial/04-time.md")]
pub mod ch04_time {}

#[doc = include_str!("../tutorial/05-network.md")]
pub mod ch05_network {}

#[doc = include_str!("../tutorial/06-files-and-processes.md")]
pub mod ch06_files_and_processes {}

#[doc = include_str!("../tutorial/07-many-cores.md")]
pub mod ch07_many_cores {}

#[doc = include_str!("../tutorial/08-coming-from-tokio.md")]
pub mod ch08_coming_from_tokio {}

#[doc = include_str!("../tutorial/09-part2-the-service.md")]
pub mod ch09_part2_the_service {}

#[doc = include_str!("../tutorial/10-stage1-inside-weft.md")]
pub mod ch10_stage1_inside_weft {}

#[doc = include_str!("../tutorial/11-stage2-weft-migrate.md")]
pub mod ch11_stage2_weft_migrate {}

#[doc = include_str!("../tutorial/12-stage3-direct-and-many-cores.md")]
pub mod ch12_stage3_direct_and_many_cores {}

#[doc = include_str!("../tutorial/13-seeing-what-your-fibers-do.md")]
pub mod ch13_seeing_what_your_fibers_do {}
