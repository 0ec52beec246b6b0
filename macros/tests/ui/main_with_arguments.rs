#[weft::main]
fn main(port: u16, verbose: bool) {
    let _ = (port, verbose);
}
