//! The exercise runner of the weft guide.
//!
//! ```text
//! cargo run -p weft-guide --bin exercises -- next     # the learner's loop
//! cargo run -p weft-guide --bin exercises -- hint NAME
//! cargo run -p weft-guide --bin exercises -- list
//! cargo run -p weft-guide --bin exercises -- verify   # the maintainers' check (CI)
//! ```
//!
//! `next` builds your files (`guides/src/exercises/`), runs the exercises'
//! tests in order, and stops at the first one that does not pass: it shows
//! that exercise's test output and its hint. `verify` checks every
//! exercise both ways: its tests must all fail on the starter (a test that
//! passes on `todo!()` checks nothing) and all pass on the reference answer
//! (`guides/solutions/`), and the two files must carry the same contract.

mod catalog;
mod runner;

use std::fs;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use catalog::{Exercise, EXERCISES};
use runner::{build_tests, guide_dir, run_tests, Flavor};

/// How long one test binary may run before it is killed and counted as a
/// failure. Correct answers take well under a second per exercise; wrong
/// ones fail within a few seconds.
const DEFAULT_BOUND: Duration = Duration::from_secs(120);

const USAGE: &str = "usage: exercises <next | hint NAME | list | verify> [--timeout SECS]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (bound, args) = match take_timeout(args) {
        Ok(x) => x,
        Err(msg) => {
            eprintln!("{msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["next"] => next(bound),
        ["verify"] => verify(bound),
        ["list"] => list(),
        ["hint", name] => hint(name),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Removes `--timeout SECS` from the arguments.
fn take_timeout(mut args: Vec<String>) -> Result<(Duration, Vec<String>), String> {
    let Some(i) = args.iter().position(|a| a == "--timeout") else {
        return Ok((DEFAULT_BOUND, args));
    };
    let secs = args
        .get(i + 1)
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|&s| s > 0)
        .ok_or_else(|| "--timeout needs a whole number of seconds above 0".to_string())?;
    args.drain(i..i + 2);
    Ok((Duration::from_secs(secs), args))
}

fn test_targets() -> Vec<&'static str> {
    let mut t: Vec<&str> = EXERCISES.iter().map(|e| e.test).collect();
    t.dedup();
    t
}

fn list() -> ExitCode {
    for (i, e) in EXERCISES.iter().enumerate() {
        println!(
            "{:>2}. {:<15} guides/{}  ({})",
            i + 1,
            e.name,
            e.starter(),
            e.chapter
        );
    }
    ExitCode::SUCCESS
}

fn hint(name: &str) -> ExitCode {
    match catalog::find(name) {
        Some(e) => {
            println!("{}", wrap(e.hint, 78));
            ExitCode::SUCCESS
        }
        None => {
            let names: Vec<&str> = EXERCISES.iter().map(|e| e.name).collect();
            eprintln!(
                "no exercise called `{name}`; the exercises are: {}",
                names.join(", ")
            );
            ExitCode::from(2)
        }
    }
}

/// The learner's loop: the first exercise whose tests do not all pass.
fn next(bound: Duration) -> ExitCode {
    let exes = match build_tests(Flavor::Starters, &test_targets()) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("\n{e}: fix it, then run `exercises next` again.");
            return ExitCode::FAILURE;
        }
    };
    for (i, e) in EXERCISES.iter().enumerate() {
        let outcome = match run_tests(&exes[e.test], e.filter, bound) {
            Ok(o) => o,
            Err(err) => {
                eprintln!("cannot run the tests of `{}`: {err}", e.name);
                return ExitCode::FAILURE;
            }
        };
        if outcome.all_passed() {
            println!("  done  {:>2}. {}", i + 1, e.name);
            continue;
        }
        print!("{}", outcome.output);
        println!(
            "\n==> Next: exercise {} of {}, `{}`",
            i + 1,
            EXERCISES.len(),
            e.name
        );
        println!("    your file: guides/{}", e.starter());
        println!("    chapter:   guides/{}", e.chapter);
        if outcome.timed_out {
            println!(
                "    its tests were stopped after {} s (something hangs)",
                bound.as_secs()
            );
        } else {
            println!(
                "    {} of {} tests pass",
                outcome.passed.len(),
                outcome.passed.len() + outcome.failed.len()
            );
        }
        println!("\nHint:\n{}", wrap(e.hint, 78));
        println!(
            "\nEdit your file, then run `cargo run -p weft-guide --bin exercises -- next` again."
        );
        return ExitCode::FAILURE;
    }
    println!(
        "\nAll {} exercises pass. Done! Next, Part II ports a tokio service to weft \
         in stages: guides/tutorial/09-part2-the-service.md.",
        EXERCISES.len()
    );
    ExitCode::SUCCESS
}

/// The maintainers' check: every exercise fails on its starter and passes
/// on its answer.
fn verify(bound: Duration) -> ExitCode {
    let start = Instant::now();
    let mut problems = Vec::new();
    for e in EXERCISES {
        if let Err(p) = same_contract(e) {
            problems.push(p);
        }
    }
    let targets = test_targets();
    let builds = [Flavor::Starters, Flavor::Solutions].map(|f| (f, build_tests(f, &targets)));
    for (flavor, build) in &builds {
        if let Err(err) = build {
            problems.push(format!("the {} do not build: {err}", flavor.label()));
        }
    }
    if let [(_, Ok(starters)), (_, Ok(solutions))] = &builds {
        println!(
            "{:<15} {:>6}  {:<22} {:<22}",
            "exercise", "tests", "starter", "solution"
        );
        for e in EXERCISES {
            match check_one(e, &starters[e.test], &solutions[e.test], bound) {
                Ok(line) => println!("{line}"),
                Err(p) => {
                    println!("{:<15} PROBLEM", e.name);
                    problems.push(p);
                }
            }
        }
    }
    println!("verify took {:.1} s", start.elapsed().as_secs_f64());
    if problems.is_empty() {
        println!("ok: every exercise fails as shipped and passes with its answer");
        ExitCode::SUCCESS
    } else {
        for p in &problems {
            eprintln!("problem: {p}");
        }
        ExitCode::FAILURE
    }
}

/// Runs one exercise's tests on both flavors and says what is wrong, if
/// anything.
fn check_one(
    e: &Exercise,
    starter_exe: &std::path::Path,
    solution_exe: &std::path::Path,
    bound: Duration,
) -> Result<String, String> {
    let run = |exe| {
        run_tests(exe, e.filter, bound)
            .map_err(|err| format!("{}: cannot run its tests: {err}", e.name))
    };
    let on_starter = run(starter_exe)?;
    let on_solution = run(solution_exe)?;
    if on_starter.timed_out {
        return Err(format!(
            "{}: its tests hang on the starter (killed after {} s)",
            e.name,
            bound.as_secs()
        ));
    }
    if on_starter.failed.is_empty() {
        return Err(format!("{}: no test ran on the starter", e.name));
    }
    if !on_starter.passed.is_empty() {
        return Err(format!(
            "{}: these tests pass on the unsolved starter, so they check nothing: {}",
            e.name,
            on_starter.passed.join(", ")
        ));
    }
    if !on_solution.all_passed() {
        print!("{}", on_solution.output);
        return Err(format!(
            "{}: the reference answer fails{}: {}",
            e.name,
            if on_solution.timed_out {
                " (timed out)"
            } else {
                ""
            },
            on_solution.failed.join(", ")
        ));
    }
    let mut tests_on_starter = on_starter.failed.clone();
    let mut tests_on_solution = on_solution.passed.clone();
    tests_on_starter.sort();
    tests_on_solution.sort();
    if tests_on_starter != tests_on_solution {
        return Err(format!(
            "{}: different tests ran on the starter and the answer",
            e.name
        ));
    }
    Ok(format!(
        "{:<15} {:>6}  {:<22} {:<22}",
        e.name,
        on_solution.passed.len(),
        format!("all fail ({:.1} s)", on_starter.elapsed.as_secs_f64()),
        format!("all pass ({:.1} s)", on_solution.elapsed.as_secs_f64()),
    ))
}

/// The starter and the answer document the same contract: their `///`
/// lines are the same, so the learner reads what the tests check.
fn same_contract(e: &Exercise) -> Result<(), String> {
    let docs = |rel: &str| -> Result<Vec<String>, String> {
        let path = guide_dir().join(rel);
        let text = fs::read_to_string(&path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        Ok(text
            .lines()
            .map(str::trim_start)
            .filter(|l| l.starts_with("///"))
            .map(str::to_string)
            .collect())
    };
    if docs(&e.starter())? == docs(&e.solution())? {
        Ok(())
    } else {
        Err(format!(
            "{}: guides/{} and guides/{} document different contracts (their `///` lines differ)",
            e.name,
            e.starter(),
            e.solution()
        ))
    }
}

/// Wraps `text` at `width` columns, indented by two spaces.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::from(" ");
    for word in text.split_whitespace() {
        if line.len() + 1 + word.len() > width && line.len() > 1 {
            out.push_str(&line);
            out.push('\n');
            line = String::from(" ");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out
}
