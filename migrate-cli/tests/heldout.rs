//! Snapshots of the failure classes found by migrating held-out crates
//! (published tokio crates the rules were not tuned on; see
//! `corpus/crates.toml`): one per mechanism fixed. Every output must
//! parse, and a second run over it must change nothing.

use weft_migrate::mapping::Table;
use weft_migrate::rewrite::{parse, rewrite_file, Analysis, Options, Selection};

fn once(src: &str, sel: &Selection) -> weft_migrate::rewrite::FileRewrite {
    let ast = parse(src).expect("input parses");
    let mut an = Analysis::default();
    an.add_file("src/lib.rs", &ast, sel);
    an.settle(sel);
    rewrite_file(
        "src/lib.rs",
        src,
        &ast,
        &an,
        &Table::builtin(),
        sel,
        &Options::default(),
    )
    .expect("rewrites")
}

fn migrate(src: &str) -> String {
    migrate_with(src, &Selection::all())
}

fn migrate_with(src: &str, sel: &Selection) -> String {
    let out = once(src, sel);
    parse(&out.output).expect("output parses");
    let again = once(&out.output, sel);
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

#[test]
fn another_runtimes_test_stays_async() {
    // async-bincode tests the same code on async-std and on tokio:
    // `#[async_std::test]` wants an `async fn`, run on its own runtime.
    insta::assert_snapshot!(migrate(
        r#"#[async_std::test]
async fn on_async_std() {
    let l = async_std::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    drop(l);
}

#[tokio::test]
async fn on_tokio() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    drop(l);
}
"#
    ));
}

#[test]
fn a_crlf_file_stays_crlf() {
    // cache_loader_async's files end their lines with CRLF: the lines a
    // rewrite generates (a doc example put back line by line, a `use`
    // split in rows) ended with a lone LF, a mixed file.
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("src")).unwrap();
    let src = "use tokio::time::{Instant, Duration};\n\
               \n\
               /// ```\n\
               /// async fn example() {\n\
               ///     cache_loader::get(1).await;\n\
               /// }\n\
               /// ```\n\
               pub async fn get(n: u32) -> u32 {\n\
               \x20   tokio::time::sleep(Duration::from_millis(1)).await;\n\
               \x20   let _ = Instant::now();\n\
               \x20   n\n\
               }\n"
    .replace('\n', "\r\n");
    std::fs::write(d.path().join("src/lib.rs"), &src).unwrap();
    std::fs::write(
        d.path().join("Cargo.toml"),
        "[package]\r\nname = \"cache_loader\"\r\nversion = \"0.1.0\"\r\nedition = \"2021\"\r\n\r\n[dependencies]\r\ntokio = \"1\"\r\n",
    )
    .unwrap();
    let mut opts = weft_migrate::RunOptions::new(d.path());
    opts.allow_dirty = true;
    opts.manifest = false;
    let out = weft_migrate::run(&opts).unwrap();
    assert_eq!(out.report.summary.changed, 1);
    let after = std::fs::read_to_string(d.path().join("src/lib.rs")).unwrap();
    assert!(after.contains("fn example() {\r\n"), "{after:?}");
    assert!(!after.contains(".await"), "{after:?}");
    assert_eq!(
        after.matches('\n').count(),
        after.matches("\r\n").count(),
        "every line ends with CRLF: {after:?}"
    );
}

#[test]
fn a_trait_converts_whole_or_not_at_all() {
    // mobc: the compiler loop kept `Manager::connect` async (and gave
    // back the test file whose impls keep `#[async_trait]`); the trait had
    // lost its `#[async_trait]`, so impls and declaration disagreed
    // (E0195) and the whole crate was restored. A held trait keeps its
    // attribute and async methods in the declaration and every impl, and
    // awaited calls of its methods stay awaited.
    let src = r#"use async_trait::async_trait;

#[async_trait]
pub trait Manager: Send + Sync + 'static {
    async fn connect(&self) -> Result<u32, ()>;
    async fn check(&self, conn: u32) -> Result<u32, ()>;
}

pub struct Ok1;

#[async_trait]
impl Manager for Ok1 {
    async fn connect(&self) -> Result<u32, ()> {
        Ok(1)
    }
    async fn check(&self, conn: u32) -> Result<u32, ()> {
        Ok(conn)
    }
}

pub async fn open<M: Manager>(m: &M) -> Result<u32, ()> {
    let c = m.connect().await?;
    m.check(c).await
}
"#;
    let kept = Selection::all().without(["connect".to_string()], []);
    insta::assert_snapshot!(migrate_with(src, &kept));
}

/// A diagnostic of rustc on `src/lib.rs` with one primary span.
fn diagnostic(
    code: &str,
    message: &str,
    span: std::ops::Range<usize>,
    label: Option<&str>,
    children: &[&str],
) -> weft_migrate::check::Diagnostic {
    weft_migrate::check::Diagnostic {
        code: Some(code.into()),
        message: message.into(),
        rendered: String::new(),
        spans: vec![weft_migrate::check::DiagSpan {
            file: "src/lib.rs".into(),
            start: span.start,
            end: span.end,
            primary: true,
            label: label.map(str::to_string),
            replacement: None,
            machine_applicable: false,
        }],
        children: children.iter().map(|c| (c.to_string(), vec![])).collect(),
    }
}

/// `src` as the text of `src/lib.rs`, as the loop holds files.
fn lib_texts(src: &str) -> std::collections::BTreeMap<std::path::PathBuf, String> {
    std::collections::BTreeMap::from([(std::path::PathBuf::from("src/lib.rs"), src.to_string())])
}

fn e0599_with_await_help(src: &str) -> Vec<weft_migrate::check::Repair> {
    let at = src.find("unwrap").unwrap();
    let d = diagnostic(
        "E0599",
        "no method named `unwrap` found for struct `futures_util::sink::Send<'_, S, usize>` in the current scope",
        at..at + 6,
        Some("method not found in `Send<'_, S, usize>`"),
        &["consider `await`ing on the `Future` and calling the method on its `Output`"],
    );
    weft_migrate::check::plan(&[d], &[], &lib_texts(src))
}

#[test]
fn a_future_rustc_names_only_in_a_help_is_bridged_in_direct_code() {
    // async-bincode: `client.send(42).await` (futures' SinkExt::send) lost
    // its `.await` (`send` is direct on weft's channels); rustc names the
    // `Send` future only in its help. In direct code it is bridged; in code
    // that stays async a blocking bridge would be wrong, so no repair.
    let direct = "fn t(client: &mut C) {\n    client.send(42).unwrap();\n}\n";
    let r = e0599_with_await_help(direct);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].kind, weft_migrate::check::RepairKind::BridgeFuture);
    assert_eq!(r[0].text, "weft_compat::await_future(client.send(42))");
    assert_eq!(&direct[r[0].range.clone()], "client.send(42)");
    let in_async = "async fn t(client: &mut C) {\n    client.send(42).unwrap();\n}\n";
    assert!(e0599_with_await_help(in_async).is_empty());
}

/// blamed_types for "is not a future" on the last `exit_rx` of `src`.
fn not_a_future_in(src: &str) -> Vec<String> {
    use weft_migrate::check::{blamed_types, DiagSpan, Diagnostic};
    let at = src.rfind("exit_rx").unwrap();
    let d = Diagnostic {
        code: Some("E0277".into()),
        message: "`weft::sync::oneshot::Receiver<Trigger>` is not a future".into(),
        rendered: String::new(),
        spans: vec![DiagSpan {
            file: "src/lib.rs".into(),
            start: at,
            end: at + "exit_rx".len(),
            primary: true,
            label: None,
            replacement: None,
            machine_applicable: false,
        }],
        children: vec![],
    };
    let texts = std::collections::BTreeMap::from([(
        std::path::PathBuf::from("src/lib.rs"),
        src.to_string(),
    )]);
    blamed_types(&d, &texts, &Table::builtin(), false)
}

#[test]
fn a_receiver_handed_to_an_api_that_wants_a_future_keeps_its_tokio_type() {
    // stream-cancel's test hands a oneshot receiver to
    // `futures::executor::block_on` from a plain `#[test]`: the error is in
    // direct code and nothing there can be repaired, so the whole file
    // (the crate's root) was given back. The receiver's type goes back to
    // tokio's instead.
    let handed = "fn t() {\n    let (tx, exit_rx) = weft::sync::oneshot::channel::<u8>();\n    let exit = futures::executor::block_on(exit_rx);\n}\n";
    let blamed = not_a_future_in(handed);
    assert!(blamed.iter().any(|t| t.contains("oneshot")), "{blamed:?}");
    // A bridge around it is a repair's to unwrap, not the type's fault.
    let bridged = "fn t() {\n    let (tx, exit_rx) = weft::sync::oneshot::channel::<u8>();\n    let exit = weft_compat::await_future(exit_rx);\n}\n";
    assert!(not_a_future_in(bridged).is_empty());
}

#[test]
fn a_free_function_named_like_a_held_traits_method_stays_direct() {
    // mobc's tests: the held `Manager::check` made every awaited `check`
    // look async, so the tests' own converted `async fn check(pool)` was
    // called with `.await` kept, then dropped by a repair inside async
    // code (three tests failed). A one-segment path call is the free
    // function; method calls and `M::check` are the trait's.
    let src = r#"#[async_trait::async_trait]
pub trait Manager: Send + Sync + 'static {
    async fn connect(&self) -> Result<u32, ()>;
    async fn check(&self, conn: u32) -> Result<u32, ()>;
}

async fn check(n: u32) -> u32 {
    n + 1
}

pub async fn run<M: Manager>(m: &M) -> u32 {
    let a = check(1).await;
    let b = m.check(a).await.unwrap();
    M::check(m, b).await.unwrap()
}
"#;
    let kept = Selection::all().without(["connect".to_string()], []);
    insta::assert_snapshot!(migrate_with(src, &kept));
}

#[test]
fn an_impl_in_another_file_than_its_trait_follows_the_trait() {
    // mobc: `Manager` is declared in src/lib.rs, implemented in
    // tests/mobc.rs. The analysis of tests/mobc.rs alone took the trait
    // for a foreign one and kept its methods' names async (`check`), while
    // the rewrite converted the impls: awaited calls of a free `check` in
    // async code were left unadapted.
    let sel = Selection::all();
    let lib =
        parse("#[async_trait::async_trait]\npub trait Manager { async fn check(&self) -> u32; }\n")
            .unwrap();
    let test = parse("struct Ok1;\n#[async_trait::async_trait]\nimpl mobc::Manager for Ok1 { async fn check(&self) -> u32 { 1 } }\n").unwrap();
    let foreign = parse("struct S;\n#[async_trait::async_trait]\nimpl other::Service for S { async fn call(&self) -> u32 { 1 } }\n").unwrap();
    let mut all = Analysis::default();
    for (name, ast) in [
        ("tests/mobc.rs", &test),
        ("src/lib.rs", &lib),
        ("src/s.rs", &foreign),
    ] {
        let mut an = Analysis::default();
        an.add_file(name, ast, &sel);
        all.merge(&an);
    }
    all.settle(&sel);
    assert!(all.is_direct("check"));
    assert!(
        !all.is_direct("call"),
        "a trait of no file of the run stays async"
    );
}

#[test]
fn a_lazy_fiber_that_borrows_runs_in_the_poll() {
    // tokio-graceful-shutdown's shape with a borrowed local: the future of
    // a call made direct, handed to a combinator, became a lazy fiber; it
    // borrows `f`, which a fiber cannot own (E0521). The repair keeps it
    // lazy without the fiber.
    use weft_migrate::check::{plan, RepairKind};
    let src = "async fn t(f: &F) {\n    s.then(|id| async move { weft_compat::run_fiber(move || f.fetch(id)).await });\n}\n";
    let at = src.find("weft_compat::run_fiber").unwrap();
    let d = diagnostic(
        "E0521",
        "borrowed data escapes outside of function",
        at..at + "weft_compat::run_fiber(move || f.fetch(id))".len(),
        Some("`f` escapes the function body here"),
        &[],
    );
    let texts = lib_texts(src);
    let r = plan(std::slice::from_ref(&d), &[], &texts);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].kind, RepairKind::RunInPoll);
    assert_eq!(r[0].text, "async move { f.fetch(id) }");
    assert_eq!(
        &src[r[0].range.clone()],
        "async move { weft_compat::run_fiber(move || f.fetch(id)).await }"
    );
    // A value the fiber cannot take to its thread: the same repair.
    let mut not_send = d.clone();
    not_send.code = Some("E0277".into());
    not_send.message = "`Rc<u8>` cannot be sent between threads safely".into();
    let r = plan(&[not_send], &[], &texts);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].kind, RepairKind::RunInPoll);
    // The same error elsewhere is not this repair's.
    let plain = "fn t(f: &F) {\n    std::thread::spawn(move || f.fetch(1));\n}\n";
    let mut other = d;
    other.spans[0].start = plain.find("std::thread").unwrap();
    other.spans[0].end = other.spans[0].start + 11;
    assert!(plan(&[other], &[], &lib_texts(plain)).is_empty());
}

/// The repairs planned for an "unused implementer of `Future`" warning
/// on the statement of `src` that starts with `stmt`.
fn unused_future_repairs(src: &str, stmt: &str) -> Vec<weft_migrate::check::Repair> {
    let start = src.find(stmt).unwrap();
    let end = start + src[start..].find(';').unwrap();
    let d = diagnostic(
        "unused_must_use",
        "unused implementer of `Future` that must be used",
        start..end,
        None,
        &["futures do nothing unless you `.await` or poll them"],
    );
    weft_migrate::check::plan(&[], &[d], &lib_texts(src))
}

#[test]
fn a_future_a_timeout_closure_returns_is_bridged_inside_the_closure() {
    // tokio-graceful-shutdown's tests: `timeout(d, ev.wait()).await`
    // became `timeout(d, || ev.wait())`, but `wait` (a test helper's
    // method, its file given back to tokio) is still async, so the
    // timeout returned the future at once and nothing waited. The body of
    // a `#[weft::test] async fn` is direct code; the bridge goes inside
    // the closure so the wait stays under the timeout.
    // (An async block earlier in the body, as the tests had, is not
    // around the statement.)
    let src = "#[weft::test]\n#[traced_test]\nasync fn t() {\n    let sub = |s: H| async move { s.done().await };\n    timeout(Duration::from_millis(300), || ev.wait()).unwrap();\n}\n";
    let r = unused_future_repairs(src, "timeout(");
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(&src[r[0].range.clone()], "ev.wait()");
    assert_eq!(r[0].text, "weft_compat::await_future(ev.wait())");
    // Without a closure, the whole value is bridged.
    let plain = "fn t() {\n    ev.wait();\n}\n";
    let r = unused_future_repairs(plain, "ev.wait()");
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(&plain[r[0].range.clone()], "ev.wait()");
    // An async block inside the test is still async code: not ours.
    let inner = "#[weft::test]\nasync fn t() {\n    let f = async { ev.wait(); };\n}\n";
    assert!(unused_future_repairs(inner, "ev.wait()").is_empty());
    // So is one inside a macro's tokens.
    let in_macro = "#[weft::test]\nasync fn t() {\n    tokio::join!(async move { ev.wait(); }, async {});\n}\n";
    assert!(unused_future_repairs(in_macro, "ev.wait()").is_empty());
    // And the body of a plain async fn.
    let plain_async = "async fn t() {\n    ev.wait();\n}\n";
    assert!(unused_future_repairs(plain_async, "ev.wait()").is_empty());
}

#[test]
fn a_weft_call_given_back_to_tokio_in_async_code_keeps_its_await() {
    // tokio-graceful-shutdown: `sleep(d).await` inside a `tokio::join!`
    // branch of code that stays async, with `use tokio::time::sleep`
    // rewritten to weft's: "`()` is not a future". Naming tokio's `sleep`
    // again is the repair; dropping the `.await` too (as the round did)
    // left tokio's future unawaited and the branch no longer waited.
    use weft_migrate::check::{plan_round, RepairKind};
    let src = "use weft::time::sleep;\nasync fn t() {\n    tokio::join!(async { sleep(D).await; }, async {});\n}\n";
    let start = src.find("sleep(D)").unwrap();
    let d = diagnostic(
        "E0277",
        "`()` is not a future",
        start..start + "sleep(D)".len(),
        Some("`()` is not a future"),
        &[],
    );
    let texts = lib_texts(src);
    // Alone, the targeted repairs would drop the `.await`.
    let alone = weft_migrate::check::plan(std::slice::from_ref(&d), &[], &texts);
    assert!(
        alone.iter().any(|r| r.kind == RepairKind::DropAwait),
        "{alone:?}"
    );
    let r = plan_round(&[d], &[], &texts, &Table::builtin());
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].kind, RepairKind::KeepTokioCall);
    assert_eq!(r[0].text, "tokio::time::sleep");
}

#[test]
fn a_method_of_a_type_in_a_kept_module_keeps_its_await() {
    // tokio-graceful-shutdown: the loop kept `tokio::sync::watch` (the
    // module, for its `Sender`), but `let _ = subscriber.wait_for(..).await`
    // lost its `.await` (`wait_for` is direct on weft's receiver), and
    // `let _ =` dropped the future without a word: `join_children`
    // returned at once.
    let src = "use tokio::sync::watch;\n\npub async fn join(tx: &watch::Sender<u32>) {\n    let mut subscriber = tx.subscribe();\n    let _ = subscriber.wait_for(|n| *n == 0).await;\n}\n";
    let ast = parse(src).unwrap();
    let sel = Selection::all();
    let mut an = Analysis::default();
    an.add_file("src/lib.rs", &ast, &sel);
    an.settle(&sel);
    let table = Table::builtin().keeping(["tokio::sync::watch".to_string()]);
    let out = rewrite_file(
        "src/lib.rs",
        src,
        &ast,
        &an,
        &table,
        &sel,
        &Options::default(),
    )
    .unwrap();
    assert!(
        out.output.contains("use tokio::sync::watch;"),
        "{}",
        out.output
    );
    assert!(
        out.output.contains("subscriber.wait_for(|n| *n == 0)"),
        "{}",
        out.output
    );
    assert!(
        !out.output.contains("subscriber.wait_for(|n| *n == 0);"),
        "the future is not dropped unawaited:\n{}",
        out.output
    );
}
