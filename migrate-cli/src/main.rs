//! `weft-migrate`: see the library's `cli` module.

fn main() -> anyhow::Result<()> {
    let code = weft_migrate::cli::main_with(std::env::args_os());
    std::process::exit(code)
}
