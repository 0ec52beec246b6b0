async fn n() -> u32 {
    1
}

fn main() {
    weft::run(|_env| {
        let _ = weft::chain!(n().map());
    });
}
