//! `weft::spawn` and `TaskSet::spawn` keep tokio's order: the caller goes
//! on until it blocks or yields, and spawned tasks start in the order they
//! were spawned. Migrated code depends on it ("spawn the consumer, then
//! fill its queue"; "spawn, then wait at a barrier").

use std::cell::RefCell;
use std::rc::Rc;

#[test]
fn the_caller_goes_on_before_a_spawned_task_starts() {
    weft::run(|_env| {
        let log = Rc::new(RefCell::new(Vec::new()));
        let child_log = log.clone();
        let h = weft::spawn(move || child_log.borrow_mut().push("child"));
        log.borrow_mut().push("parent");
        h.join().unwrap();
        assert_eq!(*log.borrow(), ["parent", "child"]);
    });
}

#[test]
fn spawned_tasks_start_in_spawn_order() {
    weft::run(|_env| {
        let log = Rc::new(RefCell::new(Vec::new()));
        let handles: Vec<_> = (0..5)
            .map(|i| {
                let log = log.clone();
                weft::spawn(move || log.borrow_mut().push(i))
            })
            .collect();
        assert!(
            log.borrow().is_empty(),
            "a task started before the caller blocked"
        );
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(*log.borrow(), [0, 1, 2, 3, 4]);
    });
}

#[test]
fn a_consumer_spawned_before_its_queue_is_filled_sees_everything() {
    weft::run(|_env| {
        let (tx, mut rx) = weft::sync::mpsc::unbounded_channel();
        // tokio's order: the consumer has not run yet when the producer
        // fills the queue and closes it, so try_recv sees every item.
        let consumer = weft::spawn(move || {
            let mut got = Vec::new();
            while let Ok(v) = rx.try_recv() {
                got.push(v);
            }
            got
        });
        for i in 0..3 {
            tx.send(i).unwrap();
        }
        drop(tx);
        assert_eq!(consumer.join().unwrap(), [0, 1, 2]);
    });
}

#[test]
fn task_set_spawn_keeps_the_same_order() {
    weft::run(|_env| {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut set = weft::TaskSet::new();
        for i in 0..3 {
            let log = log.clone();
            set.spawn(move || log.borrow_mut().push(i));
        }
        log.borrow_mut().push(99);
        while let Some(r) = set.join_next() {
            r.unwrap();
        }
        assert_eq!(*log.borrow(), [99, 0, 1, 2]);
    });
}
