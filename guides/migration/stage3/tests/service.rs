//! The service's black-box tests (shared by every stage), against this
//! stage's server, on one core and on two.

mod one_core {
    use kv_stage3::server::Config;
    use kv_stage3::testing::start;

    include!("../../shared/service_tests.rs");
}

mod two_cores {
    use kv_stage3::server::Config;
    use kv_stage3::testing::Running;

    fn start(config: Config) -> std::io::Result<Running> {
        kv_stage3::testing::start_on_cores(config, 2)
    }

    include!("../../shared/service_tests.rs");
}
