//! The command line shared by the `echo` and `chat` servers: an optional
//! listen address, or `--help`.

use std::fmt;

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Args {
    /// Print the usage and exit.
    Help,
    /// Listen on this address (`host:port`).
    Listen(String),
}

/// A command line that cannot be used, with the reason.
#[derive(Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Reads the arguments after the program name: nothing (listen on
/// `default`), one `host:port`, or `-h`/`--help`.
///
/// ```
/// use weft_examples::cli::{parse_args, Args};
/// let args = |a: &[&str]| parse_args(a.iter().map(|s| s.to_string()), "127.0.0.1:7000");
/// assert_eq!(args(&[]), Ok(Args::Listen("127.0.0.1:7000".into())));
/// assert_eq!(args(&["[::1]:7100"]), Ok(Args::Listen("[::1]:7100".into())));
/// assert_eq!(args(&["--help"]), Ok(Args::Help));
/// let bad = args(&["127.0.0.1:99999"]).unwrap_err();
/// assert!(bad.0.contains("expected host:port"), "{bad}");
/// ```
pub fn parse_args(
    args: impl IntoIterator<Item = String>,
    default: &str,
) -> Result<Args, UsageError> {
    let args: Vec<String> = args.into_iter().collect();
    match args.as_slice() {
        [] => Ok(Args::Listen(default.to_string())),
        [one] if one == "-h" || one == "--help" => Ok(Args::Help),
        [one] if one.starts_with('-') => Err(UsageError(format!("unknown option {one}"))),
        [one] => check_host_port(one).map(|()| Args::Listen(one.clone())),
        [_, extra, ..] => Err(UsageError(format!("unexpected argument {extra}"))),
    }
}

fn check_host_port(addr: &str) -> Result<(), UsageError> {
    let bad = || {
        UsageError(format!(
            "expected host:port (such as 127.0.0.1:7000; a port from 0 to 65535), got {addr:?}"
        ))
    };
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(bad());
    }
    Ok(())
}

/// The usage text of a server `program` whose default address is
/// `default`.
///
/// ```
/// let text = weft_examples::cli::usage("echo", "127.0.0.1:7000", "an echo server");
/// assert!(text.starts_with("usage: echo [HOST:PORT]"));
/// ```
pub fn usage(program: &str, default: &str, what: &str) -> String {
    format!(
        "usage: {program} [HOST:PORT]\n\n{what}.\n\n\
         \x20 HOST:PORT   the address to listen on (default {default}; port 0 picks a free one)\n\
         \x20 -h, --help  print this help\n"
    )
}
