//! Runtime events with monitoring on, read back from the console file the
//! way `weft-console` does (its own process is the writer here).

use std::sync::atomic::AtomicU64;

use weft::console::events::{field, split_location, split_state_word, Event, State, WaitKind};
use weft::console::layout::{self, View};

/// The console file's words as they are now.
fn read_file(path: &std::path::Path) -> Vec<AtomicU64> {
    let file = std::fs::read(path).expect("the console file exists while running");
    file.chunks(8)
        .map(|c| AtomicU64::new(u64::from_le_bytes(c.try_into().unwrap())))
        .collect()
}

/// The console file is per process: tests that start and end monitoring
/// take turns, so one's runtime does not keep the other's file alive.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_runtime_with_console_on_shows_its_fibers_and_removes_its_file() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let path = layout::path_for(std::process::id());
    let outcome = weft::Runtime::builder()
        .console(true)
        .build()
        .unwrap()
        .run(|_env| {
            assert!(weft::console::enabled());
            let (gate, open) = weft::Promise::<()>::new();
            let wait_line = line!() + 3;
            weft::Switch::run(|sw| {
                sw.fork_named("probe", || {
                    gate.await_();
                });
                weft::console::event("checkpoint", 7);
                let words = read_file(&path);
                let view = View::open(&words).unwrap();
                assert_eq!(view.pid(), std::process::id() as u64);
                let arena = view.arena();
                let mut probe = None;
                let mut events = Vec::new();
                for slot in (0..view.geometry().slots).map(|i| view.slot(i)) {
                    if slot.owner() == 0 {
                        continue;
                    }
                    for i in 0..slot.live.len() {
                        let e = slot.live.read(i).unwrap();
                        if e[field::FIBER] != 0
                            && arena.get(e[field::NAME] as u32).as_deref() == Some("probe")
                        {
                            probe = Some(e);
                        }
                    }
                    let mut pos = 0;
                    slot.ring.read(&mut pos, &mut events);
                }
                let probe = probe.expect("the probe fiber is in the live table");
                let (state, on, since) = split_state_word(probe[field::STATE], view.clock_origin());
                assert_eq!(state, Some(State::Waiting));
                assert!(since >= view.clock_origin(), "it waits since a time of this file");
                let (file, line) = split_location(probe[field::BLOCKED_AT]);
                assert_eq!(arena.get(file).as_deref(), Some(file!()));
                assert_eq!(line, wait_line);
                assert_eq!(
                    WaitKind::from_word(on),
                    Some(WaitKind::Promise),
                    "the probe waits on its promise"
                );
                let (spawn_file, _) = split_location(probe[field::SPAWN_AT]);
                assert_eq!(arena.get(spawn_file).as_deref(), Some(file!()));
                let id = probe[field::FIBER];
                let kinds: Vec<Event> = events
                    .iter()
                    .filter_map(Event::decode)
                    .map(|(_, e)| e)
                    .collect();
                assert!(kinds.iter().any(|e| matches!(e, Event::Created { fiber, .. } if *fiber == id)));
                assert!(kinds.iter().any(|e| matches!(e, Event::Suspended { fiber, .. } if *fiber == id)));
                assert!(kinds.iter().any(|e| matches!(e, Event::SwitchCreated { .. })));
                assert!(kinds.iter().any(
                    |e| matches!(e, Event::User { name, value: 7, .. } if arena.get(*name as u32).as_deref() == Some("checkpoint"))
                ));
                open.resolve(());
                Ok(())
            })
            .unwrap();
            true
        });
    assert!(outcome);
    assert!(!path.exists(), "the file is removed when the runtime ends");
}

#[test]
fn a_stale_file_of_a_dead_process_is_removed_when_monitoring_starts() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    // A PID that cannot be running: above the kernel's pid_max limit.
    let stale = layout::directory().join(layout::file_name(i32::MAX as u32 - 1));
    std::fs::write(&stale, b"left by a crash").unwrap();
    weft::Runtime::builder()
        .console(true)
        .build()
        .unwrap()
        .run(|_env| ());
    assert!(!stale.exists(), "the stale file was cleaned");
}

#[test]
fn an_unmonitored_runtime_on_the_same_thread_leaves_the_monitored_one_alone() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let path = layout::path_for(std::process::id());
    let monitored = weft::Runtime::builder().console(true).build().unwrap();
    assert!(path.exists());
    drop(weft::Runtime::builder().build().unwrap());
    assert!(
        path.exists(),
        "ending a runtime without monitoring keeps the file"
    );
    monitored.run(|_env| weft::console::event("still", 1));
    assert!(!path.exists(), "the monitored runtime's end removes it");
}

#[test]
fn a_failed_switch_is_recorded_as_failed_and_a_good_one_as_not() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let path = layout::path_for(std::process::id());
    weft::Runtime::builder()
        .console(true)
        .build()
        .unwrap()
        .run(|_env| {
            let failed = weft::Switch::run(|sw| {
                sw.fork(|| Err::<(), _>(weft::Error::msg("boom")));
                Ok(())
            });
            assert!(failed.is_err());
            weft::Switch::run(|_sw| Ok(())).unwrap();
            let words = read_file(&path);
            let view = View::open(&words).unwrap();
            let mut events = Vec::new();
            for slot in (0..view.geometry().slots).map(|i| view.slot(i)) {
                if slot.owner() != 0 {
                    slot.ring.read(&mut 0, &mut events);
                }
            }
            let finished: Vec<bool> = events
                .iter()
                .filter_map(Event::decode)
                .filter_map(|(_, e)| match e {
                    Event::SwitchFinished { failed, .. } => Some(failed),
                    _ => None,
                })
                .collect();
            assert_eq!(finished, [true, false]);
        });
}

/// Every event decoded from every claimed slot of the file, with the
/// owner of the slot it came from.
fn all_events(path: &std::path::Path) -> Vec<(u64, Event)> {
    let words = read_file(path);
    let view = View::open(&words).unwrap();
    let mut out = Vec::new();
    for slot in (0..view.geometry().slots).map(|i| view.slot(i)) {
        if slot.owner() == 0 {
            continue;
        }
        let mut payloads = Vec::new();
        slot.ring.read(&mut 0, &mut payloads);
        out.extend(
            payloads
                .iter()
                .filter_map(Event::decode)
                .map(|(_, e)| (slot.owner(), e)),
        );
    }
    out
}

#[test]
fn wake_ups_blocking_jobs_io_ops_and_gauges_are_recorded() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let path = layout::path_for(std::process::id());
    let uring = std::env::var("WEFT_BACKEND").as_deref() != Ok("posix");
    weft::Runtime::builder()
        .console(true)
        .build()
        .unwrap()
        .run(|_env| {
            let me = weft::fiber::id();
            let (gate, open) = weft::Promise::<()>::new();
            let (sleeper_gate, wake_sleeper) = weft::Promise::<()>::new();
            weft::Switch::run(|sw| {
                let waiter = sw.fork_promise(move || {
                    gate.await_();
                    weft::fiber::id()
                });
                // A fiber on a long timer (cancelled at the end) and one on a
                // promise: the gauges show both.
                sw.fork(move || {
                    weft::fiber::first(
                        || weft::time::sleep(std::time::Duration::from_secs(60)),
                        || {
                            sleeper_gate.await_();
                        },
                    );
                });
                weft::time::sleep(std::time::Duration::from_millis(2));
                let words = read_file(&path);
                let view = View::open(&words).unwrap();
                let gauges = (0..view.geometry().slots)
                    .map(|i| view.slot(i))
                    .find(|s| s.owner() != 0)
                    .expect("this thread's slot")
                    .gauges();
                assert!(gauges.fibers >= 3, "main, waiter, sleeper: {gauges:?}");
                assert!(gauges.timers >= 1, "the sleeper's timer: {gauges:?}");

                open.resolve(());
                let woken = *waiter.await_().as_ref().unwrap();
                wake_sleeper.resolve(());

                assert_eq!(weft::blocking(|| 40 + 2), 42);

                // One io_uring op: a receive that finds 3 bytes.
                let listener = weft::net::TcpListener::bind("127.0.0.1:0")?;
                let mut client = weft::net::TcpStream::connect(listener.local_addr()?)?;
                let (mut server, _) = listener.accept()?;
                std::io::Write::write_all(&mut client, b"abc")?;
                let mut buf = [0u8; 8];
                let n = std::io::Read::read(&mut server, &mut buf)?;
                assert_eq!(n, 3);

                let events: Vec<Event> = all_events(&path).into_iter().map(|(_, e)| e).collect();
                assert!(
                    events.iter().any(|e| *e
                        == Event::Wake {
                            fiber: me.as_u64(),
                            woken: woken.as_u64()
                        }),
                    "main woke the waiter"
                );
                let job = events
                    .iter()
                    .position(
                        |e| matches!(e, Event::BlockingJob { fiber, .. } if *fiber == me.as_u64()),
                    )
                    .expect("a blocking job");
                assert!(
                    events[job..].iter().any(
                        |e| matches!(e, Event::BlockingDone { fiber, .. } if *fiber == me.as_u64())
                    ),
                    "and its end"
                );
                let recv = WaitKind::SocketRecv as u64;
                let submitted = events
                    .iter()
                    .any(|e| matches!(e, Event::OpSubmitted { op, .. } if *op == recv));
                let completed = events
                    .iter()
                    .any(|e| matches!(e, Event::OpCompleted { op, result: 3, .. } if *op == recv));
                if uring {
                    assert!(
                        submitted && completed,
                        "a recv op and its 3-byte completion"
                    );
                } else {
                    assert!(!submitted && !completed, "the posix backend submits no ops");
                }
                Ok(())
            })
            .unwrap();
        });
    assert!(!path.exists());
}

#[test]
fn the_watchdog_records_a_stall_in_its_own_ring() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let path = layout::path_for(std::process::id());
    weft::Runtime::builder()
        .console(true)
        .watchdog_with(std::time::Duration::from_millis(20), |_| {})
        .build()
        .unwrap()
        .run(|_env| {
            let staller = weft::Switch::run(|sw| {
                let p = sw.fork_promise(|| {
                    std::thread::sleep(std::time::Duration::from_millis(100)); // blocks the thread
                    weft::fiber::id().as_u64()
                });
                Ok(*p.await_().as_ref().unwrap())
            })
            .unwrap();
            // The watchdog reports once it sees the resume has ended.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            loop {
                let stall = all_events(&path)
                    .into_iter()
                    .find_map(|(owner, e)| match e {
                        Event::Stall { fiber, ran_ns, .. } if fiber == staller => {
                            Some((owner, ran_ns))
                        }
                        _ => None,
                    });
                if let Some((owner, ran_ns)) = stall {
                    assert_ne!(
                        owner & layout::WATCHDOG_OWNER,
                        0,
                        "from the watchdog's slot"
                    );
                    assert!(
                        ran_ns >= 20_000_000,
                        "it ran past the threshold: {ran_ns} ns"
                    );
                    break;
                }
                assert!(std::time::Instant::now() < deadline, "no stall recorded");
                weft::time::sleep(std::time::Duration::from_millis(5));
            }
        });
    assert!(!path.exists(), "the watchdog gave its slot back too");
}
