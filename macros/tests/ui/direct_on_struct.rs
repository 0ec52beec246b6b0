#[weft::direct]
struct NotAFunction;

fn main() {}
