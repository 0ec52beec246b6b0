#[weft::main]
fn start() {}

fn main() {}
