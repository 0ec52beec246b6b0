//! The exercises, in the order a learner does them, with their hints.

/// One exercise: a function to write, and the tests that check it.
pub struct Exercise {
    /// The function's name (also what `hint NAME` takes).
    pub name: &'static str,
    /// The integration test target that checks it (`tests/<test>.rs`).
    pub test: &'static str,
    /// A libtest name filter selecting this exercise's tests in `test`,
    /// when the file checks more than one exercise.
    pub filter: Option<&'static str>,
    /// The chapter that teaches what it needs.
    pub chapter: &'static str,
    /// Where to look when stuck, without giving the answer away.
    pub hint: &'static str,
}

impl Exercise {
    /// The learner's file, relative to `guides/`.
    pub fn starter(&self) -> String {
        format!("src/exercises/{}.rs", self.test)
    }

    /// The reference answer, relative to `guides/`.
    pub fn solution(&self) -> String {
        format!("solutions/{}.rs", self.test)
    }
}

/// Every exercise, in order.
pub const EXERCISES: &[Exercise] = &[
    Exercise {
        name: "gather",
        test: "ch01",
        filter: None,
        chapter: "tutorial/01-first-fibers.md",
        hint: "Open a switch with `Switch::run` and `fork` one fiber per job inside it. \
A promise only lends its value (`await_` returns a reference), so give each fiber \
its own slot to write into, a `RefCell<Option<T>>` it borrows, and read the slots \
after `Switch::run` has returned: by then every fiber has finished. A panicking \
fiber makes `Switch::run` panic with the same payload, and a cancelled caller makes \
it unwind, so you never read a slot a cancelled job left empty.",
    },
    Exercise {
        name: "first_ok",
        test: "ch02",
        filter: None,
        chapter: "tutorial/02-cancellation-and-errors.md",
        hint: "`fiber::any` ends the race with the first branch that *returns*. Make each \
branch return `Some(value)` on success; on failure, record the error in that \
attempt's slot and then wait with `fiber::await_cancel()`, unless it is the last \
attempt to fail (count the failures in a `Cell`), which returns `None` to end the \
race with no winner.",
    },
    Exercise {
        name: "fetch_all",
        test: "ch03",
        filter: None,
        chapter: "tutorial/03-sharing-and-talking.md",
        hint: "Start one fiber per item at once with `fiber::try_all`, which returns the \
results in order and cancels the others on the first `Err`. Bound the calls, not \
the fibers: each fiber first takes a permit from a `Semaphore::new(max_in_flight)` \
and holds it (the guard) while it fetches. A fiber cancelled while it waits for a \
permit never fetches.",
    },
    Exercise {
        name: "retry",
        test: "ch04",
        filter: None,
        chapter: "tutorial/04-time.md",
        hint: "A loop: run `op(n)` inside `time::timeout(policy.per_attempt, ..)`, turn the \
three outcomes (Ok(Ok), Ok(Err), Err(elapsed)) into a return or an `AttemptError`, \
count the attempt, return the error if it was the last one, and only then \
`time::sleep(delay)` and double `delay`. Checking for the last attempt *before* \
sleeping is what keeps the last failure from waiting for nothing.",
    },
    Exercise {
        name: "serve_lines",
        test: "ch05",
        filter: None,
        chapter: "tutorial/05-network.md",
        hint: "`Switch::run(|sw| loop { let (conn, _) = listener.accept()?; sw.fork(..) })`: \
the `?` on accept is the only way out. In the forked fiber, serve the connection \
with a `BufReader` over `&conn` (`read_line` until it returns 0) and write each reply \
with `(&conn).write_all`. Put that in a helper returning `io::Result` and ignore its \
error in the fiber (`let _ = ..`): a fiber that returned an error would fail the \
switch and stop the whole server.",
    },
    Exercise {
        name: "filter_through",
        test: "ch06",
        filter: Some("filter_through::"),
        chapter: "tutorial/06-files-and-processes.md",
        hint: "`Command::new(program).args(args).stdin(Stdio::piped()).stdout(Stdio::piped())` \
and `.kill_on_drop(true)`, then take `child.stdin` and `child.stdout` out of the child. \
Writing everything before reading deadlocks once the pipes fill: write in one fiber \
and read in the other with `fiber::try_both`. Drop stdin after writing (the child \
sees end of input), treat `ErrorKind::BrokenPipe` on the write as fine, then `wait` \
for the child and turn a failed status into an error that names it.",
    },
    Exercise {
        name: "line_counts",
        test: "ch06",
        filter: Some("line_counts::"),
        chapter: "tutorial/06-files-and-processes.md",
        hint: "`dir.read_dir(\".\")` lists the entries; keep names ending in `.txt` that are \
not directories. Read them with `dir.read(name)` (the capability refuses a symlink \
that leads outside, which is what you want), a few at once with \
`fiber::map_concurrent(4, names, ..)`. A symlink to a directory shows up only when \
read, as `ErrorKind::IsADirectory`: skip it. Count the `\\n` bytes, plus one if the \
file does not end with one.",
    },
    Exercise {
        name: "map_chunks",
        test: "ch07",
        filter: None,
        chapter: "tutorial/07-many-cores.md",
        hint: "`pool.submit(job)` runs `job` on a worker thread and waits for it, so calling \
it for each chunk in turn runs one chunk at a time. Give every chunk its own fiber \
(`fiber::all` over `data.chunks(chunk_len)`) and call `submit` in each: all chunks \
are then in flight at once. `submit` may borrow `chunk` and `&f` because it waits \
for its job even if its fiber is cancelled.",
    },
    Exercise {
        name: "await_all",
        test: "ch08",
        filter: None,
        chapter: "tutorial/08-coming-from-tokio.md",
        hint: "`weft_compat::await_future(fut)` waits for one future from a fiber. Awaiting \
them in a loop polls the second only after the first is done; give each future its \
own fiber instead, with `fiber::all`, which also cancels the others (so their \
futures are dropped) when one panics, then re-raises the panic.",
    },
    Exercise {
        name: "incr_all",
        test: "ch11",
        filter: Some("incr_all::"),
        chapter: "tutorial/11-stage2-weft-migrate.md",
        hint: "`try_join_all` over async blocks is `weft::fiber::try_all` over closures: \
each closure connects with `Client::connect(addr)?` (an `io::Error` converts into \
`ClientError`) and returns `client.incr(key, 1)`. `try_all` starts them all, keeps the \
order, and cancels the others at the first `Err`, as tokio drops the other futures.",
    },
    Exercise {
        name: "sum_values",
        test: "ch11",
        filter: Some("sum_values::"),
        chapter: "tutorial/11-stage2-weft-migrate.md",
        hint: "Take the bridged code in the documentation and delete every \
`weft_compat::await_future(..)` around a call: with stage 3's client, `connect` and `get` \
are direct and return their results. The rest (the loop, the parse, the `?`s) stays.",
    },
];

/// The exercise called `name`.
pub fn find(name: &str) -> Option<&'static Exercise> {
    EXERCISES.iter().find(|e| e.name == name)
}
