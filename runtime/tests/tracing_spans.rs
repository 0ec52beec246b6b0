//! Each fiber keeps its own `tracing` span context: a span a fiber holds
//! entered across a suspension is not current for the fibers that run
//! meanwhile on the same thread, and is current again when it resumes.

use std::sync::{Arc, Mutex};

use tracing::span;
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;
use weft::fiber::yield_now;
use weft::Switch;

/// What the subscriber saw: each event's message with the names of the
/// spans it was filed under (outermost first), and the spans closed.
#[derive(Default)]
struct Seen {
    events: Vec<(String, Vec<&'static str>)>,
    closed: Vec<&'static str>,
}

struct Recorder(Arc<Mutex<Seen>>);

struct Message(String);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let mut message = Message(String::new());
        event.record(&mut message);
        let scope = ctx
            .event_scope(event)
            .map(|scope| scope.from_root().map(|s| s.name()).collect())
            .unwrap_or_default();
        self.0.lock().unwrap().events.push((message.0, scope));
    }

    fn on_close(&self, id: span::Id, ctx: Context<'_, S>) {
        let name = ctx.span(&id).map(|s| s.name()).unwrap_or("?");
        self.0.lock().unwrap().closed.push(name);
    }
}

fn recorded(f: impl FnOnce()) -> Seen {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let subscriber = tracing_subscriber::registry().with(Recorder(seen.clone()));
    tracing::subscriber::with_default(subscriber, f);
    // Taken out rather than unwrapped: the subscriber may outlive
    // `with_default` for a moment, because tracing-core's global callsite
    // registry holds every live dispatcher while another test thread
    // registers a new callsite (this failed `Arc::try_unwrap` in CI).
    // Every span this test opens has closed by now.
    // (A local: the guard, a temporary, must drop before `seen` does.)
    let taken = std::mem::take(&mut *seen.lock().unwrap());
    taken
}

fn scope_of<'a>(seen: &'a Seen, message: &str) -> &'a [&'static str] {
    &seen
        .events
        .iter()
        .find(|(m, _)| m == message)
        .unwrap_or_else(|| panic!("no event {message:?} in {:?}", seen.events))
        .1
}

#[test]
fn a_span_held_across_a_suspension_stays_with_its_fiber() {
    let seen = recorded(|| {
        weft::run(|_env| {
            Switch::run(|sw| {
                sw.fork(|| {
                    let _a = tracing::info_span!("a").entered();
                    yield_now();
                    tracing::info!("in a");
                    let _inner = tracing::info_span!("a_inner").entered();
                    yield_now();
                    tracing::info!("in a_inner");
                });
                sw.fork(|| {
                    let _b = tracing::info_span!("b").entered();
                    yield_now();
                    tracing::info!("in b");
                    yield_now();
                    tracing::info!("still in b");
                });
                // Runs while the two above are suspended in their spans.
                sw.fork(|| tracing::info!("in no span"));
                Ok(())
            })
            .unwrap();
            tracing::info!("after the switch");
        });
    });
    assert_eq!(scope_of(&seen, "in a"), ["a"]);
    assert_eq!(scope_of(&seen, "in a_inner"), ["a", "a_inner"]);
    assert_eq!(scope_of(&seen, "in b"), ["b"]);
    assert_eq!(scope_of(&seen, "still in b"), ["b"]);
    assert!(scope_of(&seen, "in no span").is_empty());
    assert!(scope_of(&seen, "after the switch").is_empty());
    // Every enter was matched by an exit: each span was closed.
    let mut closed = seen.closed.clone();
    closed.sort();
    assert_eq!(closed, ["a", "a_inner", "b"]);
}

#[tracing::instrument]
fn handle(request: u32) -> u32 {
    // A blocking call inside the instrumented body: the fiber suspends
    // with the function's span entered.
    weft::time::sleep(std::time::Duration::from_millis(u64::from(5 - request)));
    tracing::info!("handled {request}");
    request * 2
}

#[test]
fn instrumented_functions_on_concurrent_fibers_log_under_their_own_span() {
    let seen = recorded(|| {
        weft::run(|_env| {
            let doubled = weft::fiber::all((1..=4u32).map(|r| move || handle(r)));
            assert_eq!(doubled, [2, 4, 6, 8]);
        });
    });
    for r in 1..=4 {
        assert_eq!(scope_of(&seen, &format!("handled {r}")), ["handle"]);
    }
    assert_eq!(seen.closed.len(), 4);
}

#[test]
fn a_span_entered_outside_the_runtime_is_every_fibers_parent() {
    let seen = recorded(|| {
        let _root = tracing::info_span!("root").entered();
        weft::run(|_env| {
            Switch::run(|sw| {
                sw.fork(|| {
                    let _f = tracing::info_span!("f").entered();
                    yield_now();
                    tracing::info!("in f");
                });
                // Runs while the fiber above is suspended in its span.
                sw.fork(|| tracing::info!("in root only"));
                Ok(())
            })
            .unwrap();
        });
    });
    assert_eq!(scope_of(&seen, "in f"), ["root", "f"]);
    assert_eq!(scope_of(&seen, "in root only"), ["root"]);
}

#[test]
fn cancellation_unwinds_through_an_entered_span_and_closes_it() {
    let seen = recorded(|| {
        weft::run(|_env| {
            let r = weft::time::timeout(std::time::Duration::from_millis(1), || {
                let _s = tracing::info_span!("slow").entered();
                weft::time::sleep(std::time::Duration::from_secs(3600));
            });
            assert!(r.is_err());
            tracing::info!("after the timeout");
        });
    });
    assert!(scope_of(&seen, "after the timeout").is_empty());
    assert_eq!(seen.closed, ["slow"]);
}

/// The usual test setup: the subscriber is installed by the main fiber
/// itself (a scoped default), after the runtime started.
#[test]
fn a_subscriber_installed_inside_the_runtime_sees_per_fiber_spans() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let subscriber = tracing_subscriber::registry().with(Recorder(seen.clone()));
    weft::run(|_env| {
        let _default = tracing::subscriber::set_default(subscriber);
        Switch::run(|sw| {
            sw.fork(|| {
                let _a = tracing::info_span!("a").entered();
                yield_now();
                tracing::info!("in a");
            });
            sw.fork(|| tracing::info!("beside a"));
            Ok(())
        })
        .unwrap();
    });
    let seen = seen.lock().unwrap();
    assert_eq!(scope_of(&seen, "in a"), ["a"]);
    assert!(scope_of(&seen, "beside a").is_empty());
}
