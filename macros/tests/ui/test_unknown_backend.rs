#[weft::test(backend = "epoll")]
fn t() {}

fn main() {}
