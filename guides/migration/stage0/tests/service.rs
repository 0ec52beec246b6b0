//! The service's black-box tests (shared by every stage), against this
//! stage's server.

use kv_stage0::server::Config;
use kv_stage0::testing::start;

include!("../../shared/service_tests.rs");
