#[weft::direct]
fn already_sync() -> u32 {
    1
}

fn main() {}
