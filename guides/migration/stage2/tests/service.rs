//! The service's black-box tests (shared by every stage), against this
//! stage's server.

use kv_stage2::server::Config;
use kv_stage2::testing::start;

include!("../../shared/service_tests.rs");
