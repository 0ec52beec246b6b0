//! The load client against a real server: every reply is checked, so a
//! small run is a test of the client (and of stage 3).

#[test]
fn a_small_load_runs_and_checks_every_reply() {
    let server = kv_stage3::testing::start(Default::default()).unwrap();
    let m = kv_load::drive(
        server.addr(),
        kv_load::Workload {
            connections: 4,
            requests: 50,
        },
    )
    .unwrap();
    assert_eq!(m.requests, 200);
    assert_eq!(m.latencies_us.len(), 200);
    server.stop().unwrap();
}
