//! Starts a runtime on the backend chosen by `WEFT_BACKEND` and prints its
//! name; exits non-zero if it cannot start. CI uses it to decide whether
//! the io_uring test pass can run on this machine.

fn main() {
    match weft::Runtime::builder().build() {
        Ok(rt) => {
            println!("{:?}", rt.backend());
            rt.run(|_env| weft::fiber::yield_now());
        }
        Err(e) => {
            eprintln!("backend-probe: {e}");
            std::process::exit(1);
        }
    }
}
