#[weft::test(threads = 4)]
fn t() {}

fn main() {}
