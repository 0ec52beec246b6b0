//! The macros in real use: tests that are themselves `#[weft::test]`s,
//! direct functions calling still-async and direct callees, `chain!` over
//! combinator chains, and equivalence with the original async code on
//! tokio (values, errors and early returns).

use std::time::Duration;

use weft_compat::await_future;

// ---- #[weft::test] ------------------------------------------------------

#[weft::test]
fn a_test_body_runs_in_a_fiber() {
    assert!(weft::fiber::in_fiber());
    weft::time::sleep(Duration::from_millis(1));
}

#[weft::test(mock_clock)]
fn mock_clock_option_makes_time_jump(env: &weft::Env) {
    let t = env.clock().now();
    weft::time::sleep(Duration::from_secs(3600));
    assert_eq!(env.clock().now() - t, Duration::from_secs(3600));
}

#[weft::test]
fn tests_may_return_results() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "12".parse()?;
    assert_eq!(n, 12);
    Ok(())
}

#[weft::test(backend = "both")]
fn both_backends_run_the_body() {
    let l = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (a, _) = weft::fiber::both(
        || l.accept().unwrap(),
        || weft::net::TcpStream::connect(addr).unwrap(),
    );
    assert!(a.0.peer_addr().is_ok());
}

#[weft::test]
async fn an_async_test_body_is_converted_and_has_tokio() {
    tokio::time::sleep(Duration::from_millis(1)).await;
    let h = tokio::spawn(async { 5 });
    assert_eq!(h.await.unwrap(), 5);
}

// ---- #[weft::direct] ----------------------------------------------------

/// A library function that is still async.
async fn still_async_len(s: &str) -> usize {
    tokio::time::sleep(Duration::from_millis(1)).await;
    s.len()
}

/// A callee that is already direct.
fn already_direct_double(n: usize) -> usize {
    weft::fiber::yield_now();
    n * 2
}

#[weft::direct]
async fn handler(input: &str) -> Result<usize, String> {
    if input.is_empty() {
        return Err("empty".to_string());
    }
    let len = still_async_len(input).await;
    // An async block awaited at once: `?` and `return` leave the block.
    let checked: Result<usize, String> = async {
        if len > 100 {
            return Err("too long".to_string());
        }
        Ok(len)
    }
    .await;
    Ok(already_direct_double(checked?))
}

#[weft::test]
async fn direct_handler_calls_async_and_direct_callees() {
    // `handler` is now a plain fn: called without `.await` from here.
    assert_eq!(handler("abcd"), Ok(8));
    assert_eq!(handler(""), Err("empty".to_string()));
    assert_eq!(handler(&"x".repeat(101)), Err("too long".to_string()));
}

struct Counter {
    step: usize,
}

impl Counter {
    // The explicit lifetime is the point: #[direct] keeps generics intact.
    #[allow(clippy::needless_lifetimes)]
    #[weft::direct]
    async fn add<'a>(&self, base: &'a str) -> usize {
        still_async_len(base).await + self.step
    }

    #[weft::direct(native)]
    async fn add_direct(&self, n: usize) -> usize {
        already_direct_double(n).await + self.step
    }
}

trait Source {
    fn fetch(&self) -> String;
}

struct Fixed;

impl Source for Fixed {
    #[weft::direct]
    async fn fetch(&self) -> String {
        let n = still_async_len("four").await;
        format!("got {n}")
    }
}

#[weft::direct]
async fn generic_sum<T: Into<usize> + Copy>(items: &[T]) -> usize {
    let mut total = 0;
    for i in items {
        total += still_async_len("").await + (*i).into();
    }
    total
}

#[weft::test]
async fn methods_traits_generics_and_native_mode() {
    let c = Counter { step: 1 };
    assert_eq!(c.add("abc"), 4);
    assert_eq!(c.add_direct(5), 11);
    assert_eq!(Fixed.fetch(), "got 4");
    assert_eq!(generic_sum(&[1u8, 2, 3]), 6);
}

#[weft::test]
async fn futures_not_awaited_at_once_stay_futures() {
    #[weft::direct]
    async fn spawn_and_join() -> u32 {
        // The async block goes to tokio::spawn: it stays async, and so does
        // the `.await` inside it.
        let task = tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            7
        });
        task.await.unwrap()
    }
    assert_eq!(spawn_and_join(), 7);
}

// ---- weft::chain! -------------------------------------------------------

async fn parse(s: String) -> Result<u32, String> {
    tokio::task::yield_now().await;
    s.trim().parse::<u32>().map_err(|e| e.to_string())
}

async fn fetch(name: &str) -> Result<String, String> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    match name {
        "missing" => Err(format!("{name}: not found")),
        _ => Ok(format!(" {} ", name.len())),
    }
}

/// The original async code, for the equivalence checks.
async fn original(name: &str) -> Result<u32, String> {
    use futures_like::*;
    fetch(name)
        .and_then_(parse)
        .await
        .map(|n| n * 10)
        .map_err(|e| format!("failed: {e}"))
}

/// Minimal combinators so the "original" is written in combinator style
/// without a futures dependency.
mod futures_like {
    use std::future::Future;
    pub trait TryFutureExt: Future<Output = Result<Self::Ok, Self::Err>> + Sized {
        type Ok;
        type Err;
        async fn and_then_<F, Fut, T>(self, f: F) -> Result<T, Self::Err>
        where
            F: FnOnce(Self::Ok) -> Fut,
            Fut: Future<Output = Result<T, Self::Err>>,
        {
            match self.await {
                Ok(v) => f(v).await,
                Err(e) => Err(e),
            }
        }
    }
    impl<T, E, F: Future<Output = Result<T, E>>> TryFutureExt for F {
        type Ok = T;
        type Err = E;
    }
}

#[weft::test]
#[allow(clippy::redundant_closure)] // closures are what chain! must handle
async fn chain_matches_the_async_original_including_errors() {
    for name in ["abc", "missing", "abcdefghijkl"] {
        let direct: Result<u32, String> = weft::chain!(fetch(name)
            .and_then(|body| parse(body))
            .map_ok(|n| n * 10)
            .map_err(|e| format!("failed: {e}")));
        let rt_result = {
            let name = name.to_string();
            await_future(tokio::spawn(async move { original(&name).await })).unwrap()
        };
        assert_eq!(direct, rt_result, "input {name}");
    }
}

#[weft::test]
async fn chain_then_map_inspect_and_unwrap_or_else() {
    let seen = std::cell::Cell::new(0);
    let v = weft::chain!(fetch("abcd")
        .then(|r| async move { r.map(|s| s.trim().to_string()) })
        .inspect_ok(|s| seen.set(s.len()))
        .map(|r: Result<String, String>| r.map(|s| s.repeat(2)))
        .unwrap_or_else(|e| e));
    assert_eq!(v, "44");
    assert_eq!(seen.get(), 1);
}

#[weft::test]
async fn chain_join_select_and_join_all() {
    let (a, b) = weft::chain!(join(still_async_len("ab"), still_async_len("abc")));
    assert_eq!((a, b), (2, 3));
    let winner = weft::chain!(select(
        async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "slow"
        },
        async { "fast" }
    ));
    assert_eq!(winner, weft_compat::Either::Right("fast"));
    let lens = weft::chain!(join_all(["a", "bb", "ccc"].map(still_async_len)));
    assert_eq!(lens, [1, 2, 3]);
    let all_ok: Result<Vec<u32>, String> =
        weft::chain!(try_join_all(vec![parse("1".into()), parse("2".into())]));
    assert_eq!(all_ok, Ok(vec![1, 2]));
    let one_bad: Result<Vec<u32>, String> =
        weft::chain!(try_join_all(vec![parse("1".into()), parse("x".into())]));
    assert!(one_bad.is_err());
}

#[weft::test]
async fn chain_bridges_what_it_does_not_know() {
    // `timeout` is not a combinator: the whole future is awaited as is.
    let r = weft::chain!(tokio::time::timeout(
        Duration::from_secs(1),
        still_async_len("xyz")
    ));
    assert_eq!(r.unwrap(), 3);
}

#[test]
fn main_attribute_runs_main_in_a_fiber() {
    mod program {
        #[weft::main(mock_clock)]
        pub fn main(env: &weft::Env) -> Result<u64, String> {
            let t = env.clock().now();
            weft::time::sleep(std::time::Duration::from_secs(2));
            Ok((env.clock().now() - t).as_secs())
        }
    }
    assert_eq!(program::main(), Ok(2));
}

#[weft::test(executor_threads = 2)]
fn executor_threads_option_sizes_the_pool(env: &weft::Env) {
    assert_eq!(env.executor_pool().threads(), 2);
}

/// A reqwest-style combinator chain, as written for tokio, run through
/// `chain!` from a fiber against a local HTTP server.
#[test]
fn chain_over_a_reqwest_chain_against_a_local_server() {
    use std::io::{BufRead, BufReader, Write};
    // A tiny HTTP/1.1 server on a plain thread: one response per
    // connection, the body echoes the request path.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        for conn in listener.incoming().take(2) {
            let mut conn = conn.unwrap();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                if header == "\r\n" || header.is_empty() {
                    break;
                }
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .to_string();
            let status = if path == "/missing" {
                "404 Not Found"
            } else {
                "200 OK"
            };
            let body = format!("{{\"path\":\"{path}\"}}");
            write!(
                conn,
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
        }
    });
    weft_compat::tokio::run(|_env| {
        let client = reqwest::Client::new();
        let ok: Result<usize, String> = weft::chain!(client
            .get(format!("http://{addr}/users/7"))
            .send()
            .map_err(|e| e.to_string())
            .and_then(|resp| async move { resp.error_for_status().map_err(|e| e.to_string()) })
            .and_then(|resp| async move { resp.text().await.map_err(|e| e.to_string()) })
            .map_ok(|body| body.len()));
        assert_eq!(ok, Ok(r#"{"path":"/users/7"}"#.len()));
        let missing: Result<usize, String> = weft::chain!(client
            .get(format!("http://{addr}/missing"))
            .send()
            .map_err(|e| e.to_string())
            .and_then(|resp| async move { resp.error_for_status().map_err(|e| e.to_string()) })
            .and_then(|resp| async move { resp.text().await.map_err(|e| e.to_string()) })
            .map_ok(|body| body.len()));
        assert!(missing.unwrap_err().contains("404"));
    });
    server.join().unwrap();
}
