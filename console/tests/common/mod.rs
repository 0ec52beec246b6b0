//! Running the weft-console binary with a deadline.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `weft-console ARGS`, failing the test if it takes over 60 s.
pub fn run_cli(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft-console"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("weft-console starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().expect("wait works").is_some() {
            return child.wait_with_output().expect("output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("weft-console {args:?} did not finish in 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
