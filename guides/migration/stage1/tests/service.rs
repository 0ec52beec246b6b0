//! The service's black-box tests (shared by every stage), against this
//! stage's server: stage 0's code, run by weft through weft-compat.

use kv_stage1::testing::start;
use kv_stage1::Config;

include!("../../shared/service_tests.rs");
