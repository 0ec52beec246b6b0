//! One snapshot per construct: the input, the output and the notes. Every
//! output must parse, and a second run over it must change nothing.

use weft_migrate::mapping::Table;
use weft_migrate::rewrite::{parse, rewrite_file, Analysis, Options, Selection};

fn once(src: &str, sel: &Selection, opts: &Options) -> weft_migrate::rewrite::FileRewrite {
    let ast = parse(src).expect("input parses");
    let mut an = Analysis::default();
    an.add_file("src/lib.rs", &ast, sel);
    rewrite_file("src/lib.rs", src, &ast, &an, &Table::builtin(), sel, opts).expect("rewrites")
}

fn migrate_with(src: &str, sel: Selection, opts: Options) -> String {
    let out = once(src, &sel, &opts);
    parse(&out.output).expect("output parses");
    let again = once(&out.output, &sel, &opts);
    assert_eq!(again.output, out.output, "second run is a no-op");
    let mut s = format!("{src}\n----- after -----\n{}", out.output);
    if !out.notes.is_empty() {
        s.push_str("\n----- notes -----\n");
        for n in &out.notes {
            s.push_str(&format!("{}:{}: {}\n", n.line, n.column, n.message));
        }
    }
    s.push_str(&format!("\n----- bridged: {} -----\n", out.bridged));
    s
}

fn migrate(src: &str) -> String {
    migrate_with(src, Selection::all(), Options::default())
}

#[test]
fn entry_points() {
    insta::assert_snapshot!(migrate(
        r#"#[tokio::main]
async fn main() {
    run().await;
}

async fn run() {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works() {
    run().await;
}

#[tokio::test(start_paused = true)]
async fn paused() {
    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
}
"#
    ));
}

#[test]
fn tokio_main_on_another_function_runs_its_body_in_weft_run() {
    insta::assert_snapshot!(migrate(
        r#"#[tokio::main]
async fn serve(n: u32) -> u32 {
    tokio::task::yield_now().await;
    n + 1
}

fn main() {
    println!("{}", serve(1));
}
"#
    ));
}

#[test]
fn a_handle_bound_from_a_block_is_joined() {
    insta::assert_snapshot!(migrate(
        r#"pub async fn f(pool: std::sync::Arc<u8>) {
    let add = {
        let pool = pool.clone();
        tokio::spawn(async move {
            drop(pool);
        })
    };
    assert!(tokio::time::timeout(std::time::Duration::from_millis(10), add).await.is_ok());
}
"#
    ));
}

#[test]
fn entry_keeps_async_while_bridges_remain() {
    insta::assert_snapshot!(migrate_with(
        r#"#[tokio::test]
async fn works() {
    let body = reqwest::get("http://x").await.unwrap();
    drop(body);
}
"#,
        Selection::all(),
        Options {
            keep_async_entry: true,
            ..Options::default()
        }
    ));
}

#[test]
fn async_fns_free_inherent_trait() {
    insta::assert_snapshot!(migrate(
        r#"use async_trait::async_trait;

pub struct Store;

impl Store {
    /// Loads a value.
    pub async fn load(&self, key: &str) -> Option<String> {
        self.raw(key).await.map(|v| v.to_uppercase())
    }

    async fn raw(&self, key: &str) -> Option<String> {
        Some(key.to_string())
    }
}

#[async_trait]
pub trait Source {
    async fn get(&self, key: &str) -> Option<String>;
    async fn get_or(&self, key: &str, d: &str) -> String {
        self.get(key).await.unwrap_or_else(|| d.to_string())
    }
}

#[async_trait]
impl Source for Store {
    async fn get(&self, key: &str) -> Option<String> {
        self.load(key).await
    }
}

pub trait Native {
    async fn ping(&self) -> u8;
}

impl Native for Store {
    async fn ping(&self) -> u8 { 1 }
}

pub async fn free(s: &Store) -> String {
    s.get_or("a", "b").await
}
"#
    ));
}

#[test]
fn external_trait_impl_stays_async() {
    insta::assert_snapshot!(migrate(
        r#"#[async_trait::async_trait]
impl tower::Service for Handler {
    async fn call(&self) -> u8 { helper().await }
}

async fn helper() -> u8 { 3 }
"#
    ));
}

#[test]
fn await_bridged_and_dropped() {
    insta::assert_snapshot!(migrate(
        r#"async fn local() -> u8 { 1 }

async fn mixed(client: &Client) -> u8 {
    let a = local().await;
    let b = client.fetch().await;
    let c = some_crate::call(a).await;
    let fut = local();
    let d = fut.await;
    a + b + c + d
}
"#
    ));
}

#[test]
fn spawn_and_handles() {
    insta::assert_snapshot!(migrate(
        r#"async fn work(i: u32) -> u32 { i }

async fn run() -> u32 {
    let h = tokio::spawn(async move { work(1).await });
    let g = tokio::task::spawn(work(2));
    let mut handles = Vec::new();
    for i in 0..3 {
        handles.push(tokio::spawn(async move { work(i).await }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap();
    }
    let b = tokio::task::spawn_blocking(|| 40).await.unwrap();
    let later = tokio::task::spawn_blocking(move || 2);
    tokio::task::yield_now().await;
    total + h.await.unwrap() + g.await.unwrap() + b + later.await.unwrap()
}
"#
    ));
}

#[test]
fn join_set() {
    insta::assert_snapshot!(migrate(
        r#"use tokio::task::JoinSet;

async fn square(i: u64) -> u64 { i * i }

async fn all() -> u64 {
    let mut set = JoinSet::new();
    for i in 0..4 {
        set.spawn(async move { square(i).await });
    }
    set.spawn_blocking(|| 7);
    let mut sum = 0;
    while let Some(r) = set.join_next().await {
        sum += r.unwrap();
    }
    sum
}
"#
    ));
}

#[test]
fn join_and_try_join() {
    insta::assert_snapshot!(migrate(
        r#"async fn a() -> u8 { 1 }
async fn b() -> Result<u8, String> { Ok(2) }

async fn run() -> Result<u8, String> {
    let (x, y) = tokio::join!(a(), a());
    let (p, q, r) = tokio::join!(a(), async { 5 }, a());
    let (m, n) = tokio::try_join!(b(), b())?;
    tokio::join! {
        a(),
        a()
    }
    Ok(x + y + p + q + r + m + n)
}
"#
    ));
}

#[test]
fn select_shapes() {
    insta::assert_snapshot!(migrate(
        r#"use tokio::sync::mpsc;
use tokio::time::{sleep, Duration};

async fn pump(mut rx: mpsc::Receiver<u32>, mut stop: tokio::sync::watch::Receiver<bool>) -> u32 {
    let mut n = 0;
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            Some(v) = rx.recv() => { n += v; }
            _ = sleep(Duration::from_millis(50)), if n > 10 => return n,
        }
    }
    n
}

async fn with_else(mut rx: mpsc::Receiver<u32>) {
    tokio::select! {
        Some(v) = rx.recv() => println!("{v}"),
        else => println!("closed"),
    }
}
"#
    ));
}

#[test]
fn time() {
    insta::assert_snapshot!(migrate(
        r#"use std::time::Duration;
use tokio::time::{interval, timeout, Instant};

async fn slow() -> u8 { 1 }

async fn ticks() -> Result<u8, tokio::time::error::Elapsed> {
    let start = Instant::now();
    let mut iv = interval(Duration::from_millis(10));
    iv.tick().await;
    tokio::time::sleep_until(start + Duration::from_millis(5)).await;
    let v = timeout(Duration::from_secs(1), slow()).await?;
    let w = timeout(Duration::from_secs(1), async { slow().await + 1 }).await?;
    Ok(v + w)
}
"#
    ));
}

#[test]
fn net_and_io() {
    insta::assert_snapshot!(migrate(
        r#"use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

async fn echo(mut stream: TcpStream) -> std::io::Result<()> {
    let (r, mut w) = stream.split();
    greet(&mut w).await?;
    let mut lines = BufReader::new(r).lines();
    while let Some(line) = lines.next_line().await? {
        w.write_all(line.as_bytes()).await?;
        w.flush().await?;
    }
    Ok(())
}

async fn greet(w: &mut tokio::net::tcp::WriteHalf<'_>) -> std::io::Result<()> {
    w.write_all(b"hello\n").await
}

async fn client(addr: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(b"hi\n").await?;
    s.shutdown().await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    Ok(out)
}

async fn serve() -> std::io::Result<()> {
    let l = TcpListener::bind("127.0.0.1:0").await?;
    let (s, _) = l.accept().await?;
    echo(s).await
}
"#
    ));
}

#[test]
fn fs_and_process() {
    insta::assert_snapshot!(migrate(
        r#"use tokio::fs;
use tokio::process::Command;

async fn copy_and_count(p: &std::path::Path) -> std::io::Result<usize> {
    let text = fs::read_to_string(p).await?;
    tokio::fs::write(p.with_extension("bak"), &text).await?;
    fs::create_dir_all("out").await?;
    let out = Command::new("wc").arg("-l").arg(p).output().await?;
    let status = Command::new("true").status().await?;
    assert!(status.success());
    Ok(out.stdout.len() + text.len())
}
"#
    ));
}

#[test]
fn sync_primitives() {
    insta::assert_snapshot!(migrate(
        r#"use std::sync::Arc;
use tokio::sync::{broadcast, oneshot, watch, Barrier, Mutex, Notify, RwLock, Semaphore};

struct Shared {
    count: Mutex<u32>,
    table: RwLock<Vec<u32>>,
    gate: Semaphore,
    ready: Notify,
}

async fn use_all(s: Arc<Shared>, b: Arc<Barrier>) {
    *s.count.lock().await += 1;
    s.table.write().await.push(1);
    let n = s.table.read().await.len();
    let _p = s.gate.acquire().await.unwrap();
    s.ready.notified().await;
    b.wait().await;
    let (tx, mut rx) = broadcast::channel::<u32>(4);
    tx.send(n as u32).unwrap();
    let _ = rx.recv().await;
    let (wtx, mut wrx) = watch::channel(0);
    wtx.send(1).unwrap();
    wrx.changed().await.unwrap();
    let (otx, orx) = oneshot::channel::<u8>();
    otx.send(1).unwrap();
    let _ = orx.await;
    let m = tokio::sync::Mutex::new(5);
    drop(m.lock().await);
}
"#
    ));
}

#[test]
fn futures_combinators() {
    insta::assert_snapshot!(migrate(
        r#"use futures::future::{join_all, try_join_all};
use futures::stream::{self, FuturesUnordered, StreamExt};
use futures::{FutureExt, TryFutureExt};

async fn get(i: u32) -> Result<u32, String> { Ok(i) }

async fn many(ids: Vec<u32>) -> Result<u32, String> {
    let all = join_all(ids.iter().map(|i| get(*i))).await;
    let ok = try_join_all(ids.iter().map(|&i| async move { get(i).await })).await?;
    let par: Vec<u32> = stream::iter(ids.clone())
        .map(|i| async move { get(i).await.unwrap() })
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await;
    let mut fu = FuturesUnordered::new();
    for i in ids {
        fu.push(get(i));
    }
    while let Some(r) = fu.next().await {
        r?;
    }
    let chained = get(1).map_ok(|v| v + 1).map_err(|e| e.len()).await;
    let thened = remote(2).and_then(|v| get(v)).await?;
    Ok(all.len() as u32 + ok.len() as u32 + par.len() as u32 + chained.unwrap_or(0) + thened)
}
"#
    ));
}

#[test]
fn impl_future_fn() {
    insta::assert_snapshot!(migrate(
        r#"use std::future::Future;

fn delayed(n: u32) -> impl Future<Output = u32> {
    async move {
        tokio::time::sleep(std::time::Duration::from_millis(n as u64)).await;
        n
    }
}

async fn caller() -> u32 {
    delayed(3).await
}
"#
    ));
}

#[test]
fn partial_migration_only_a_function() {
    insta::assert_snapshot!(migrate_with(
        r#"async fn converted() -> u8 {
    still_async().await + 1
}

async fn still_async() -> u8 {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    converted().await
}
"#,
        Selection::new(vec!["converted".into()]),
        Options::default()
    ));
}

/// A future of a converted function that async code kept async races or
/// extends instead of awaiting stays lazy and cancellable: a fiber started
/// when first polled, not `std::future::ready(call)`, which would run the
/// call to its end before the race begins.
#[test]
fn partial_migration_unawaited_future_of_a_converted_function() {
    insta::assert_snapshot!(migrate_with(
        r#"async fn counter(n: u8) -> u8 {
    tokio::time::sleep(std::time::Duration::from_millis(n as u64)).await;
    n
}

async fn still_async(stop: tokio::sync::oneshot::Receiver<()>) -> Option<u8> {
    let work = counter(5);
    tokio::select! {
        v = work => Some(v),
        _ = stop => None,
    }
}

async fn lent(n: &u8) -> (u8, u8) {
    futures::future::join(counter(*n), counter(1)).await
}
"#,
        Selection::new(vec!["counter".into()]),
        Options::default()
    ));
}

#[test]
fn comments_and_formatting_survive() {
    insta::assert_snapshot!(migrate(
        r#"// Header comment.

/* block */
async fn   spaced( x : u8 )   -> u8 {
    // inside
    let y = helper( x ).await; // trailing
    /* mid */ y
}

async fn helper(x: u8) -> u8 { x }
"#
    ));
}

#[test]
fn macros_arguments_are_rewritten() {
    insta::assert_snapshot!(migrate(
        r#"async fn n() -> u8 { 2 }

#[tokio::test]
async fn t() {
    assert_eq!(n().await, 2);
    println!("{}", n().await);
    let v = vec![n().await, n().await];
    assert!(v.len() == 2, "len {}", v.len());
}
"#
    ));
}

#[test]
fn sync_code_paths() {
    insta::assert_snapshot!(migrate(
        r#"pub struct Pool {
    inner: std::sync::Arc<tokio::sync::Mutex<Vec<u8>>>,
    tx: tokio::sync::mpsc::Sender<u8>,
}

pub fn make() -> (tokio::sync::mpsc::Sender<u8>, tokio::sync::mpsc::Receiver<u8>) {
    tokio::sync::mpsc::channel::<u8>(8)
}
"#
    ));
}

#[test]
fn already_migrated_code_is_untouched() {
    let src = "fn f() -> u8 { weft::time::sleep(std::time::Duration::ZERO); 1 }\n";
    assert_eq!(
        migrate(src)
            .split("----- after -----\n")
            .nth(1)
            .unwrap()
            .split("\n----- bridged")
            .next()
            .unwrap(),
        src
    );
}

#[test]
fn not_converted_is_reported() {
    insta::assert_snapshot!(migrate(
        r#"async fn f(s: tokio::net::TcpStream) {
    let (r, w) = tokio::io::split(s);
    let local = tokio::task::LocalSet::new();
    let fut = async { 1 };
    let v = fut.await;
}
"#
    ));
}

#[test]
fn owned_halves() {
    insta::assert_snapshot!(migrate(
        r#"use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

async fn pump(mut r: OwnedReadHalf, mut w: OwnedWriteHalf) -> std::io::Result<()> {
    let mut buf = [0u8; 64];
    let n = r.read(&mut buf).await?;
    w.write_all(&buf[..n]).await?;
    Ok(())
}

async fn run(s: tokio::net::TcpStream) -> std::io::Result<()> {
    let (r, w) = s.into_split();
    pump(r, w).await
}
"#
    ));
}

#[test]
fn unix_owned_halves_and_credentials() {
    insta::assert_snapshot!(migrate(
        r#"use tokio::io::AsyncWriteExt;
use tokio::net::unix::{OwnedWriteHalf, UCred};
use tokio::net::UnixStream;

async fn greet(mut w: OwnedWriteHalf, cred: UCred) -> std::io::Result<()> {
    w.write_all(format!("uid {}", cred.uid()).as_bytes()).await
}

async fn run(s: UnixStream) -> std::io::Result<tokio::net::unix::SocketAddr> {
    let cred = s.peer_cred()?;
    let addr = s.peer_addr()?;
    let (_r, w) = s.into_split();
    greet(w, cred).await?;
    Ok(addr)
}
"#
    ));
}

#[test]
fn use_items_in_test_modules_and_function_bodies() {
    insta::assert_snapshot!(migrate(
        r#"pub async fn double(x: u32) -> u32 {
    tokio::task::yield_now().await;
    x * 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    #[tokio::test]
    async fn sends() {
        use tokio::io::AsyncWriteExt;
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(double(2).await).await.unwrap();
        assert_eq!(rx.recv().await, Some(4));
        let mut v = Vec::new();
        v.write_all(b"x").await.unwrap();
    }
}
"#
    ));
}

#[test]
fn once_cell_initializers_become_direct() {
    insta::assert_snapshot!(migrate(
        r#"use tokio::sync::OnceCell;

static CONFIG: OnceCell<String> = OnceCell::const_new();

async fn load() -> String {
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    "cfg".to_string()
}

pub async fn config() -> &'static str {
    CONFIG.get_or_init(|| async { load().await }).await
}

pub async fn fallible() -> Result<&'static String, std::io::Error> {
    CONFIG.get_or_try_init(|| async move { Ok::<_, std::io::Error>(load().await) }).await
}

pub async fn by_name() -> &'static String {
    CONFIG.get_or_init(load).await
}
"#
    ));
}

#[test]
fn signals_for_graceful_shutdown() {
    insta::assert_snapshot!(migrate(
        r#"use tokio::signal::unix::{signal, SignalKind};

async fn wait_for_shutdown() -> std::io::Result<&'static str> {
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => { r?; Ok("interrupt") }
        _ = term.recv() => Ok("terminate"),
    }
}
"#
    ));
}

#[test]
fn duplex_split_and_stdio() {
    insta::assert_snapshot!(migrate(
        r#"use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn roundtrip() -> std::io::Result<String> {
    let (client, server) = tokio::io::duplex(64);
    let (mut r, mut w) = tokio::io::split(server);
    let echo = tokio::spawn(async move {
        let mut buf = [0u8; 5];
        r.read_exact(&mut buf).await?;
        w.write_all(&buf).await?;
        Ok::<_, std::io::Error>(())
    });
    let mut client = client;
    client.write_all(b"hello").await?;
    let mut back = String::new();
    let mut buf = [0u8; 5];
    client.read_exact(&mut buf).await?;
    back.push_str(std::str::from_utf8(&buf).unwrap());
    echo.await.unwrap()?;
    tokio::io::stdout().write_all(back.as_bytes()).await?;
    Ok(back)
}
"#
    ));
}

#[test]
fn owned_rwlock_guards() {
    insta::assert_snapshot!(migrate(
        r#"use std::sync::Arc;
use tokio::sync::RwLock;

async fn bump(l: Arc<RwLock<u32>>) -> u32 {
    let g = l.clone().read_owned().await;
    let v = *g;
    drop(g);
    *l.clone().write_owned().await += 1;
    v
}
"#
    ));
}

#[test]
fn imports_made_unused_are_removed() {
    insta::assert_snapshot!(migrate(
        r#"use std::future::Future;
use futures::future::{join_all, FutureExt};
use futures::stream::{self, FuturesUnordered, StreamExt};
use std::collections::HashMap; // unused before, stays

async fn one(i: u32) -> u32 { i }

async fn all(ids: &[u32]) -> Vec<u32> {
    let s = stream::iter(ids.to_vec());
    let _ = s.count().await;
    join_all(ids.iter().map(|i| one(*i))).await
}

fn later() -> impl Future<Output = u32> {
    async move { 1 }
}
"#
    ));
}

#[test]
fn unawaited_tokio_futures_stay_tokio() {
    insta::assert_snapshot!(migrate(
        r#"use tokio::time::{sleep, Duration};

async fn later() {
    let pause = sleep(Duration::from_millis(5));
    let other = tokio::time::sleep(Duration::from_millis(1));
    let data = tokio::fs::read("/dev/null");
    other.await;
    pause.await;
    sleep(Duration::from_millis(1)).await;
    data.await.unwrap();
}
"#
    ));
}

#[test]
fn spawned_call_arguments_are_evaluated_at_the_spawn() {
    // The arguments of a spawned async call are evaluated where the spawn
    // is; in a closure they would run in the task, after `stop` moved in.
    insta::assert_snapshot!(migrate(
        r#"use std::sync::Arc;
use tokio::task::JoinSet;

async fn tick_until(stop: Arc<tokio::sync::Notify>, ms: u64) -> u32 { 0 }

async fn run(stop: Arc<tokio::sync::Notify>, n: u64) -> u32 {
    let h = tokio::spawn(tick_until(stop.clone(), n + 1));
    let mut set = JoinSet::new();
    set.spawn(tick_until(Arc::clone(&stop), n));
    let g = tokio::spawn(tick_until(stop, 5));
    h.await.unwrap() + g.await.unwrap()
}
"#
    ));
}

#[test]
fn trait_methods_returning_impl_future() {
    // `-> impl Future<Output = T> + Send` in a trait (written instead of
    // `async fn` to require `Send`) is an async method: the trait and its
    // implementations become direct together.
    insta::assert_snapshot!(migrate(
        r#"use std::future::Future;
use tokio::sync::Mutex;

pub trait Loader: Send + Sync {
    fn load(&self, key: &str) -> impl Future<Output = tokio::io::Result<String>> + Send;
    fn twice(&self, key: &str) -> impl Future<Output = String> + Send {
        async move { self.load(key).await.unwrap_or_default().repeat(2) }
    }
}

pub struct Slow {
    calls: Mutex<u32>,
}

impl Loader for Slow {
    async fn load(&self, key: &str) -> tokio::io::Result<String> {
        *self.calls.lock().await += 1;
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        Ok(key.to_uppercase())
    }
}

pub async fn get<L: Loader>(l: &L) -> String {
    tokio::time::timeout(std::time::Duration::from_secs(1), l.load("k"))
        .await
        .unwrap()
        .unwrap()
}
"#
    ));
}

#[test]
fn nested_imports_hold_in_their_scope_only() {
    // `Mutex` and `Duration` at the top are std's: tokio imports in a
    // test module or a function body must not change what they name.
    insta::assert_snapshot!(migrate(
        r#"use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::mpsc;

pub struct Stats {
    pub hits: Mutex<u32>,
    pub period: Duration,
}

pub async fn shared() -> u32 {
    use tokio::sync::Mutex;
    let m = Mutex::new(1);
    let v = *m.lock().await;
    v
}

pub fn plain() -> Mutex<u32> {
    Mutex::new(0)
}

pub mod worker {
    use tokio::sync::Mutex;
    pub async fn bump(m: &Mutex<u32>) {
        *m.lock().await += 1;
    }
}

pub mod stats {
    pub fn make() -> std::sync::Mutex<u8> {
        let (_tx, _rx) = mpsc::channel::<u8>(1);
        std::sync::Mutex::new(0)
    }
    use super::mpsc;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Duration;

    #[tokio::test]
    async fn waits() {
        let (tx, mut rx) = mpsc::channel(1);
        tx.send(Duration::from_millis(1)).await.unwrap();
        tokio::time::sleep(rx.recv().await.unwrap()).await;
        assert_eq!(*Stats { hits: Mutex::new(2), period: Duration::ZERO }.hits.lock().unwrap(), 2);
    }
}
"#
    ));
}

#[test]
fn owned_write_half_shutdown() {
    // tokio's shutdown of an owned write half is weft's
    // `shutdown(Shutdown::Write)` on it, as on a whole stream.
    insta::assert_snapshot!(migrate(
        r#"use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;

async fn send_all(stream: TcpStream, lines: &[&str]) -> std::io::Result<()> {
    let (_rd, mut wr) = stream.into_split();
    for l in lines {
        wr.write_all(l.as_bytes()).await?;
    }
    wr.shutdown().await?;
    Ok(())
}

async fn finish(mut w: OwnedWriteHalf) {
    w.write_all(b"bye").await.unwrap();
    let _ = w.shutdown().await;
}

async fn close(mut s: TcpStream) -> std::io::Result<()> {
    s.shutdown().await
}
"#
    ));
}

#[test]
fn standard_streams_stay_on_fibers() {
    // std's stdin/stdout would block the thread (every fiber on it);
    // weft::io's suspend only the calling fiber.
    insta::assert_snapshot!(migrate(
        r#"use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Stdout};

async fn echo_lengths(out: &mut Stdout) -> std::io::Result<()> {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        out.write_all(format!("{}\n", line.len()).as_bytes()).await?;
    }
    tokio::io::stderr().write_all(b"done\n").await?;
    out.flush().await
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    echo_lengths(&mut tokio::io::stdout()).await
}
"#
    ));
}

#[test]
fn typed_reads_and_writes() {
    // std's Read/Write have no read_u32/write_u16_le: read_exact into a
    // byte array, write_all of one.
    insta::assert_snapshot!(migrate(
        r#"use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn frame(s: &mut TcpStream, tag: u8, body: &[u8]) -> std::io::Result<(u32, i64)> {
    s.write_u32(body.len() as u32 + 1).await?;
    s.write_u8(tag).await?;
    s.write_u16_le(7).await?;
    s.write_all(body).await?;
    let len = s.read_u32().await?;
    let v = s.read_i64_le().await?;
    let f = s.read_f64().await.unwrap_or(0.0);
    Ok((len + f as u32, v))
}
"#
    ));
}

#[test]
fn oneshot_receivers_awaited_by_reference_and_in_fields() {
    // `&mut rx` awaited keeps the receiver (recv_ref); a field of a struct
    // of the run typed oneshot::Receiver is known by its name.
    insta::assert_snapshot!(migrate(
        r#"use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

pub struct Server {
    stop: oneshot::Receiver<()>,
    jobs: mpsc::Receiver<u32>,
}

impl Server {
    pub async fn run(mut self) -> u32 {
        let mut set = JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut self.stop => break,
                Some(j) = self.jobs.recv() => {
                    set.spawn(async move { j * 2 });
                }
            }
        }
        set.join_all().await.into_iter().sum()
    }

    pub async fn finish(self) -> bool {
        self.stop.await.is_ok()
    }
}

pub async fn first_of(mut rx: oneshot::Receiver<u8>) -> Option<u8> {
    let (_tx, mut other) = oneshot::channel::<u8>();
    tokio::select! {
        v = &mut rx => v.ok(),
        v = &mut other => v.ok(),
    }
}
"#
    ));
}

#[test]
fn boxed_future_functions() {
    // A recursive async function must box its future; a pre-1.75 async
    // trait returns boxed futures by hand. Both are async functions.
    insta::assert_snapshot!(migrate(
        r#"use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use futures::future::BoxFuture;
use futures::FutureExt;

pub fn tree_size(dir: PathBuf) -> Pin<Box<dyn Future<Output = std::io::Result<u64>> + Send>> {
    Box::pin(async move {
        let mut total = 0;
        let mut rd = tokio::fs::read_dir(&dir).await?;
        while let Some(e) = rd.next_entry().await? {
            if e.file_type().await?.is_dir() {
                total += tree_size(e.path()).await?;
            } else {
                total += e.metadata().await?.len();
            }
        }
        Ok(total)
    })
}

pub trait Handler: Send + Sync {
    fn handle<'a>(&'a self, req: &'a str) -> BoxFuture<'a, String>;
}

pub struct Upper;

impl Handler for Upper {
    fn handle<'a>(&'a self, req: &'a str) -> BoxFuture<'a, String> {
        async move {
            tokio::task::yield_now().await;
            req.to_uppercase()
        }
        .boxed()
    }
}

pub async fn serve(h: &dyn Handler) -> std::io::Result<String> {
    let n = tree_size(PathBuf::from(".")).await?;
    Ok(format!("{} {n}", h.handle("x").await))
}
"#
    ));
}

#[test]
fn pinned_sleep_as_a_deadline() {
    // A Sleep pinned once and polled across loop turns is a deadline: an
    // instant, slept until in each select!.
    insta::assert_snapshot!(migrate(
        r#"use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{sleep, Instant};

pub async fn collect(mut rx: mpsc::Receiver<u32>, limit: Duration, idle: Duration) -> Vec<u32> {
    let deadline = tokio::time::sleep(limit);
    tokio::pin!(deadline);
    let quiet = sleep(idle);
    tokio::pin!(quiet);
    let mut got = Vec::new();
    loop {
        tokio::select! {
            _ = &mut deadline => break,
            _ = &mut quiet => break,
            v = rx.recv() => match v {
                Some(v) => {
                    got.push(v);
                    quiet.as_mut().reset(Instant::now() + idle);
                }
                None => break,
            },
        }
    }
    if !deadline.is_elapsed() {
        got.push(0);
    }
    got
}

pub async fn nap(until: Instant) {
    let s = tokio::time::sleep_until(until);
    s.await;
}
"#
    ));
}

#[test]
fn join_handles_in_fields_and_a_crate_shutdown() {
    // A JoinHandle held in a struct field joins like a local one; a
    // `shutdown` the run converts is not tokio's stream shutdown; `&mut
    // handle` has no weft counterpart (join takes the handle) and says so.
    insta::assert_snapshot!(migrate(
        r#"use std::time::Duration;
use tokio::task::JoinHandle;

pub struct Service {
    task: JoinHandle<u32>,
}

impl Service {
    pub async fn shutdown(self) -> u32 {
        self.task.await.unwrap_or(0)
    }
}

pub async fn stop(s: Service) -> u32 {
    s.shutdown().await
}

pub async fn limited(limit: Duration) -> Option<u64> {
    let mut job = tokio::spawn(async move { 1u64 });
    tokio::select! {
        res = &mut job => res.ok(),
        _ = tokio::time::sleep(limit) => {
            job.abort();
            None
        }
    }
}
"#
    ));
}

#[test]
fn runtimes_built_by_hand() {
    // A sync entry point that builds a tokio runtime for block_on runs
    // weft instead; a runtime used for more than block_on stays.
    insta::assert_snapshot!(migrate(
        r#"use std::time::Duration;

async fn work(n: u32) -> u32 {
    tokio::time::sleep(Duration::from_millis(1)).await;
    n * 2
}

pub fn sync_api(n: u32) -> u32 {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let h = tokio::spawn(work(n));
        h.await.unwrap() + work(1).await
    })
}

pub fn main() -> std::io::Result<()> {
    let n = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(work(3));
    println!("{n}");
    Ok(())
}

pub fn shared() -> u32 {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let h = rt.spawn(work(1));
    rt.block_on(h).unwrap()
}
"#
    ));
}

#[test]
fn locals_of_plain_functions_reach_their_tasks() {
    // `start` stays a plain function; the task it spawns is direct code
    // that awaits a receiver bound in `start`.
    insta::assert_snapshot!(migrate(
        r#"use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub fn start(every: std::time::Duration) -> (oneshot::Sender<()>, JoinHandle<u32>) {
    let (stop, mut stopped) = oneshot::channel();
    let task = tokio::spawn(async move {
        let mut ticks = 0;
        let mut interval = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = interval.tick() => ticks += 1,
            }
        }
        ticks
    });
    (stop, task)
}
"#
    ));
}

#[test]
fn spawn_blocking_awaited_then_unwrapped() {
    // weft::blocking re-raises a panic, so there is no JoinError to unwrap
    // or to convert with `?` (weft's is not Sync: no Box<dyn Error + Send +
    // Sync> from it).
    insta::assert_snapshot!(migrate(
        r#"type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub async fn checksum(data: Vec<u8>) -> Result<u64, BoxError> {
    let sum = tokio::task::spawn_blocking(move || {
        data.iter().fold(0u64, |acc, b| acc.wrapping_mul(31).wrapping_add(*b as u64))
    })
    .await?;
    let twice = tokio::task::spawn_blocking(move || sum * 2).await.expect("no panic");
    let r = tokio::task::spawn_blocking(|| 1).await;
    Ok(twice + r.unwrap_or(0))
}
"#
    ));
}

#[test]
fn io_traits_and_their_ext_traits_import_once() {
    // AsyncRead and AsyncReadExt both become std::io::Read: the second
    // import would be unused (a warning in every migrated crate).
    insta::assert_snapshot!(migrate(
        r#"use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub async fn copy_line<R: AsyncBufRead + Unpin, W: AsyncWrite + Unpin>(r: &mut R, w: &mut W) -> std::io::Result<usize> {
    let mut line = String::new();
    let n = r.read_line(&mut line).await?;
    w.write_all(line.as_bytes()).await?;
    Ok(n)
}

pub async fn first_byte(mut r: impl AsyncRead + Unpin) -> std::io::Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b).await?;
    Ok(b[0])
}
"#
    ));
}

#[test]
fn handles_collected_from_an_iterator() {
    // Handles made by `.map(|i| tokio::spawn(..)).collect()` (or a vector
    // typed Vec<JoinHandle<_>>) are joined, not bridged.
    insta::assert_snapshot!(migrate(
        r#"use tokio::task::JoinHandle;

async fn square(i: u64) -> u64 { i * i }

pub async fn squares(n: u64) -> Vec<u64> {
    let handles: Vec<JoinHandle<u64>> = (0..n).map(|i| tokio::spawn(square(i))).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

pub async fn total(n: u64) -> u64 {
    let handles: Vec<_> = (0..n)
        .map(|i| {
            tokio::spawn(async move {
                let v = square(i).await;
                v + 1
            })
        })
        .collect();
    let mut total = 0;
    for h in handles {
        total += h.await.expect("task");
    }
    total
}
"#
    ));
}

#[test]
fn sync_statics_with_const_new() {
    // tokio's `const_new` is weft's (const) `new` for Mutex and Semaphore;
    // OnceCell keeps its `const_new`, and its initializer becomes direct.
    insta::assert_snapshot!(migrate(
        r#"use tokio::sync::{Mutex, OnceCell, Semaphore};

static CONFIG: OnceCell<String> = OnceCell::const_new();
static HITS: Mutex<u32> = Mutex::const_new(0);
static LOADERS: Semaphore = Semaphore::const_new(2);

async fn load() -> String {
    let _permit = LOADERS.acquire().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    "cfg".to_string()
}

pub async fn config() -> &'static String {
    *HITS.lock().await += 1;
    CONFIG.get_or_init(|| async { load().await }).await
}
"#
    ));
}

#[test]
fn paused_clock_tests_and_deadlines() {
    // A test that starts with pause() runs on weft's mock clock, where
    // advance(d) is a sleep; timeout_at takes a closure like timeout.
    insta::assert_snapshot!(migrate(
        r#"use std::time::Duration;
use tokio::time::{self, Instant};

async fn slow() -> u8 {
    time::sleep(Duration::from_secs(30)).await;
    1
}

pub async fn before(deadline: Instant) -> Option<u8> {
    time::timeout_at(deadline, slow()).await.ok()
}

#[tokio::test]
async fn times_out_on_a_paused_clock() {
    tokio::time::pause();
    let start = Instant::now();
    assert_eq!(before(start + Duration::from_secs(10)).await, None);
    tokio::time::advance(Duration::from_secs(60)).await;
    assert!(start.elapsed() >= Duration::from_secs(60));
}
"#
    ));
}

#[test]
fn io_items_std_lacks() {
    // std::io has no copy_bidirectional: awaited on two sockets, it is a
    // copy each way in two fibers; ReadBuf stays tokio and is reported
    // instead of becoming a std::io path that does not exist. copy_buf is
    // std's copy; File::into_std is direct in weft.
    insta::assert_snapshot!(migrate(
        r#"use tokio::io::{copy_bidirectional, BufReader};
use tokio::net::TcpStream;

pub async fn relay(mut a: TcpStream, mut b: TcpStream) -> std::io::Result<(u64, u64)> {
    copy_bidirectional(&mut a, &mut b).await
}

pub fn capacity(buf: &tokio::io::ReadBuf<'_>) -> usize {
    buf.capacity()
}

pub async fn dump(f: tokio::fs::File, out: &mut tokio::fs::File) -> std::io::Result<std::fs::File> {
    let mut r = BufReader::new(f);
    tokio::io::copy_buf(&mut r, out).await?;
    let inner = r.into_inner();
    Ok(inner.into_std().await)
}
"#
    ));
}

#[test]
fn module_items_weft_lacks_are_reported() {
    // Under a mapped module, an item the weft module does not have stays
    // tokio (with a note) instead of naming a weft path that does not exist:
    // here task::Id; TcpSocket has a weft counterpart and maps.
    insta::assert_snapshot!(migrate(
        r#"pub async fn bind(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let s = tokio::net::TcpSocket::new_v4()?;
    s.set_reuseaddr(true)?;
    s.bind(addr)?;
    s.listen(16)
}

pub fn current() -> Option<tokio::task::Id> {
    tokio::task::try_id()
}

pub async fn copy_file(f: &tokio::fs::File) -> std::io::Result<tokio::fs::File> {
    f.set_permissions(std::fs::Permissions::from(std::os::unix::fs::PermissionsExt::from_mode(0o600))).await?;
    f.try_clone().await
}
"#
    ));
}

#[test]
fn local_sets_go() {
    // A LocalSet runs tasks that are not Send on one thread; weft's fibers
    // always stay on theirs, so the set goes and run_until is its future's
    // direct value.
    insta::assert_snapshot!(migrate(
        r#"use std::rc::Rc;
use tokio::task::LocalSet;

async fn count(shared: Rc<u32>) -> u32 {
    tokio::task::yield_now().await;
    *shared
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let local = LocalSet::new();
    let n = local
        .run_until(async move {
            let shared = Rc::new(3);
            let h = tokio::task::spawn_local(count(shared.clone()));
            h.await.unwrap() + *shared
        })
        .await;
    println!("{n}");
}
"#
    ));
}

#[test]
fn spawn_of_a_block_that_clones_then_moves() {
    // `tokio::spawn({ let x = x.clone(); async move { .. } })`: the clone
    // stays at the spawn, the async block becomes the task's closure.
    insta::assert_snapshot!(migrate(
        r#"use std::sync::Arc;

async fn work(n: Arc<u32>) -> u32 {
    tokio::task::yield_now().await;
    *n
}

pub async fn run(n: Arc<u32>) -> u32 {
    let h = tokio::spawn({
        let n = n.clone();
        async move { work(n).await + 1 }
    });
    h.await.unwrap() + *n
}
"#
    ));
}

#[test]
fn read_buf_into_a_growable_buffer() {
    // mini-redis style: read whatever is there onto the end of a buffer.
    insta::assert_snapshot!(migrate(
        r#"use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

pub struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    pub async fn read_more(&mut self) -> std::io::Result<bool> {
        if 0 == self.stream.read_buf(&mut self.buffer).await? {
            return Ok(false);
        }
        Ok(true)
    }
}
"#
    ));
}

#[test]
fn handles_kept_in_a_struct_field() {
    // A pool keeps its workers' handles in a Vec field and joins them on
    // shutdown, draining or taking the vector. `self.workers` in Pool's
    // impl is Pool's field, though Config's `workers` is a number.
    insta::assert_snapshot!(migrate(
        r#"use tokio::task::JoinHandle;

pub struct Config {
    pub workers: usize,
}

pub struct Pool {
    workers: Vec<JoinHandle<u32>>,
}

impl Pool {
    pub fn start(n: u32) -> Pool {
        let workers = (0..n).map(|i| tokio::spawn(async move { i })).collect();
        Pool { workers }
    }

    pub async fn shutdown(&mut self) -> u32 {
        let mut total = 0;
        for h in self.workers.drain(..) {
            total += h.await.unwrap();
        }
        for h in std::mem::take(&mut self.workers) {
            total += h.await.unwrap();
        }
        total
    }
}
"#
    ));
}

#[test]
fn join_set_local_spawns_and_shutdown() {
    // JoinSet::spawn_local is TaskSet::spawn (weft's tasks stay on their
    // thread); JoinSet::shutdown is TaskSet's, not a stream's.
    insta::assert_snapshot!(migrate(
        r#"use std::rc::Rc;
use tokio::task::JoinSet;

pub async fn run() -> usize {
    let shared = Rc::new(2);
    let mut set = JoinSet::new();
    for _ in 0..3 {
        let shared = shared.clone();
        set.spawn_local(async move { *shared });
    }
    set.spawn(async { tokio::time::sleep(std::time::Duration::from_secs(60)).await; 0 });
    let first = set.join_next().await.unwrap().unwrap();
    set.shutdown().await;
    first + set.len()
}
"#
    ));
}

#[test]
fn a_crate_method_named_like_a_tokio_io_helper_is_the_crate_s() {
    // The run converts `Decoder::read_u32`: its calls are not tokio's
    // AsyncReadExt::read_u32 and stay calls (said where the receiver is not
    // `self`, as it could be a tokio stream). Bounds of impl generics are
    // rewritten like any path.
    insta::assert_snapshot!(migrate(
        r#"use tokio::io::AsyncReadExt;

pub struct Decoder<R> {
    inner: R,
}

impl<R: tokio::io::AsyncRead + Unpin> Decoder<R> {
    pub async fn read_u32(&mut self) -> std::io::Result<u32> {
        let mut b = [0u8; 4];
        self.inner.read_exact(&mut b).await?;
        Ok(u32::from_le_bytes(b))
    }

    pub async fn pair(&mut self) -> std::io::Result<(u32, u32)> {
        Ok((self.read_u32().await?, self.read_u32().await?))
    }
}

pub async fn two(d: &mut Decoder<tokio::net::TcpStream>) -> std::io::Result<u32> {
    Ok(d.read_u32().await? + d.read_u32().await?)
}
"#
    ));
}

#[test]
fn buf_writer_over_a_stream_that_is_also_read() {
    // tokio's BufWriter passes reads through to the stream it wraps;
    // std's does not implement Read, weft's does (and drops unflushed
    // data with the writer, as tokio's).
    insta::assert_snapshot!(migrate(
        r#"use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;

pub struct Connection {
    stream: BufWriter<TcpStream>,
    buffer: BytesMut,
}

impl Connection {
    pub fn new(socket: TcpStream) -> Connection {
        Connection { stream: BufWriter::new(socket), buffer: BytesMut::with_capacity(4096) }
    }

    pub async fn round_trip(&mut self, line: &[u8]) -> std::io::Result<usize> {
        self.stream.write_all(line).await?;
        self.stream.flush().await?;
        self.stream.read_buf(&mut self.buffer).await
    }
}
"#
    ));
}

#[test]
fn runtime_kept_in_a_struct_for_a_blocking_api() {
    // A runtime stored as a value and driven only with block_on becomes
    // weft::Runtime, whose block_on takes the direct body as a closure.
    insta::assert_snapshot!(migrate(
        r#"use tokio::runtime::Runtime;

pub struct Client {
    conn: tokio::net::TcpStream,
}

impl Client {
    pub async fn connect(addr: &str) -> std::io::Result<Client> {
        Ok(Client { conn: tokio::net::TcpStream::connect(addr).await? })
    }

    pub async fn ping(&mut self) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt;
        self.conn.write_all(b"PING\r\n").await
    }
}

pub struct BlockingClient {
    inner: Client,
    rt: Runtime,
}

impl BlockingClient {
    pub fn connect(addr: &str) -> std::io::Result<BlockingClient> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let inner = rt.block_on(Client::connect(addr))?;
        Ok(BlockingClient { inner, rt })
    }

    pub fn ping(&mut self) -> std::io::Result<()> {
        self.rt.block_on(self.inner.ping())
    }
}
"#
    ));
}

#[test]
fn self_fields_in_closures_of_an_edition_2018_crate() {
    // Edition 2018 closures capture all of `self`: the select! branches
    // and the block_on body borrow their fields before the closures.
    insta::assert_snapshot!(migrate_with(
        r#"use tokio::sync::{broadcast, mpsc};

pub struct Handler {
    rx: mpsc::Receiver<u32>,
    stop: broadcast::Receiver<()>,
}

impl Handler {
    pub async fn next(&mut self) -> Option<u32> {
        tokio::select! {
            v = self.rx.recv() => v,
            _ = self.stop.recv() => None,
        }
    }
}

pub struct Blocking {
    inner: Handler,
    rt: tokio::runtime::Runtime,
}

impl Blocking {
    pub fn next(&mut self) -> Option<u32> {
        self.rt.block_on(self.inner.next())
    }

    pub fn into_next(self) -> Option<u32> {
        let mut inner = self.inner;
        self.rt.block_on(inner.next())
    }
}
"#,
        Selection::all(),
        Options {
            whole_captures: true,
            ..Options::default()
        }
    ));
}

#[test]
fn async_stream_macros_become_producer_fibers() {
    // stream!/try_stream! bodies run as direct code in a fiber that feeds
    // a Stream (weft_compat::stream::from_fiber); `yield` sends, `?` in
    // try_stream! sends the error as the last item.
    insta::assert_snapshot!(migrate(
        r#"use async_stream::try_stream;
use tokio::sync::broadcast;
use tokio_stream::Stream;

pub fn messages(mut rx: broadcast::Receiver<String>) -> impl Stream<Item = String> {
    async_stream::stream! {
        loop {
            match rx.recv().await {
                Ok(msg) => yield msg,
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break,
            }
        }
    }
}

async fn fetch(n: u32) -> std::io::Result<u32> {
    tokio::task::yield_now().await;
    Ok(n)
}

pub fn numbers() -> impl Stream<Item = std::io::Result<u32>> {
    try_stream! {
        for i in 0..3 {
            let n = fetch(i).await?;
            yield n;
        }
    }
}
"#
    ));
}

#[test]
fn doc_examples_are_rewritten_with_the_api() {
    // A doctest that awaits an API the run makes direct would no longer
    // build: Rust examples in doc comments are rewritten too, hidden
    // lines stay hidden; text blocks and `ignore` examples are left.
    insta::assert_snapshot!(migrate(
        r#"//! ```
//! # #[tokio::main]
//! # async fn main() {
//! let n = mylib::double(2).await;
//! assert_eq!(n, 4);
//! # }
//! ```

/// Doubles `n`.
///
/// ```no_run
/// #[tokio::main]
/// async fn main() {
///     let n = mylib::double(2).await;
///
///     tokio::time::sleep(std::time::Duration::from_millis(n)).await;
/// }
/// ```
///
/// ```ignore
/// double(1).await;
/// ```
///
/// ```text
/// double(1).await
/// ```
pub async fn double(n: u64) -> u64 {
    tokio::task::yield_now().await;
    n * 2
}
"#
    ));
}

#[test]
fn future_parameters_become_closures() {
    // An `impl Future` parameter that the function only awaits (or
    // selects on) becomes `impl FnOnce() -> T`; callers pass the direct
    // work as a closure, which runs where the future was awaited. A
    // parameter used otherwise, and a function of the same key that
    // differs, stay as they were.
    insta::assert_snapshot!(migrate(
        r#"use std::future::Future;

pub async fn serve(listener: tokio::net::TcpListener, shutdown: impl Future) {
    tokio::select! {
        _ = accept_loop(listener) => {}
        _ = shutdown => {}
    }
}

pub async fn with_deadline(work: impl Future<Output = u32> + Send) -> u32 {
    work.await + 1
}

async fn accept_loop(listener: tokio::net::TcpListener) {
    while let Ok((_s, _)) = listener.accept().await {}
}

async fn seven() -> u32 {
    7
}

pub async fn main_like() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let n = with_deadline(seven()).await;
    assert_eq!(n, 8);
    serve(listener, tokio::signal::ctrl_c()).await;
}
"#
    ));
}

#[test]
fn stream_macro_in_parentheses_and_a_runtime_that_is_not_tokio_s() {
    // `stream!( .. )` is the same macro as `stream! { .. }`; a type of
    // another crate named `Runtime` with a `block_on` is left alone.
    insta::assert_snapshot!(migrate(
        r#"use async_stream::stream;
use tokio_stream::Stream;

pub fn ticks(mut rx: tokio::sync::mpsc::Receiver<u8>) -> impl Stream<Item = u8> {
    stream!(while let Some(t) = rx.recv().await {
        yield t;
    })
}

pub struct Embedded {
    rt: other::Runtime,
}

impl Embedded {
    pub fn run(&self) -> u8 {
        self.rt.block_on(async { 1 })
    }
}
"#
    ));
}

#[test]
fn future_parameters_of_a_function_called_through_an_import() {
    // The function is found by its name when the call names it through
    // an import or an inline module.
    insta::assert_snapshot!(migrate(
        r#"mod server {
    pub async fn run(shutdown: impl std::future::Future<Output = ()>) {
        shutdown.await;
    }
}

mod app {
    use super::server::run;

    pub async fn main() {
        run(async { tokio::task::yield_now().await }).await;
    }
}

pub async fn direct() {
    server::run(tokio::task::yield_now()).await;
}
"#
    ));
}

#[test]
fn cancellation_tokens_and_task_locals_have_weft_targets() {
    insta::assert_snapshot!(migrate(
        r#"use tokio_util::sync::CancellationToken;

tokio::task_local! {
    static REQUEST: u32;
}

async fn serve(token: CancellationToken) {
    let child = token.child_token();
    tokio::select! {
        _ = child.cancelled() => {}
        _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
    }
    let _guard = token.drop_guard();
}

async fn current() -> u32 {
    REQUEST.get()
}

async fn handle(token: CancellationToken) -> Option<u32> {
    let shared = REQUEST.sync_scope(1, || REQUEST.with(|r| *r + 1));
    let n = REQUEST.scope(7, async move { current().await + shared }).await;
    let borrowed = REQUEST.scope(8, async { current().await }).await;
    token.run_until_cancelled(current()).await.map(|v| v + n + borrowed)
}
"#
    ));
}

#[test]
fn a_function_that_was_not_async_spawns_from_both_worlds() {
    // `start` needed only a tokio context; after the migration its
    // callers may be fibers or async code left on tokio, so a spawn whose
    // handle is dropped goes through weft_compat::spawn_detached. A spawn
    // in converted code, or whose handle is kept, stays weft::spawn.
    insta::assert_snapshot!(migrate(
        r#"use std::sync::Arc;

pub struct Pool {
    inner: Arc<u32>,
}

impl Pool {
    fn start(&self) {
        let inner = self.inner.clone();
        tokio::spawn(async move {
            work(*inner).await;
        });
    }

    fn handle(&self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(work(1))
    }

    fn local(&self) {
        tokio::task::spawn_local(work(3));
    }

    async fn run(&self) {
        tokio::spawn(work(2));
    }

    fn reap(&self) {
        tokio::spawn(Reaper { pool: Arc::downgrade(&self.inner) }.run());
    }
}

struct Reaper {
    pool: std::sync::Weak<u32>,
}

impl Reaper {
    async fn run(self) {
        while let Some(n) = self.pool.upgrade() {
            work(*n).await;
        }
    }
}

async fn work(_n: u32) {}
"#
    ));
}

#[test]
fn select_whose_exit_branch_is_watched() {
    // A two-branch select! whose one branch leaves (return/break) becomes
    // `first_watch(work, exit)`: the exit starts only once the work has
    // waited a while. Not under `biased;` when the exit comes first, not
    // for a timer, not with a precondition, not for Ctrl-C (a listener
    // started late misses the signal).
    insta::assert_snapshot!(migrate(
        r#"use tokio::sync::broadcast;
use tokio::time::{sleep, Duration};

async fn serve(conn: &mut tokio::net::TcpStream, stop: &mut broadcast::Receiver<()>) -> std::io::Result<()> {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 64];
    loop {
        let n = tokio::select! {
            _ = stop.recv() => {
                return Ok(());
            }
            r = conn.read(&mut buf) => r?,
        };
        if n == 0 {
            return Ok(());
        }
        tokio::select! {
            biased;
            _ = stop.recv() => break,
            r = conn.read(&mut buf) => { r?; }
        }
        tokio::select! {
            r = conn.read(&mut buf) => { r?; }
            _ = sleep(Duration::from_millis(5)) => return Ok(()),
        }
        tokio::select! {
            r = conn.read(&mut buf) => { r?; }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
    Ok(())
}
"#
    ));
}
