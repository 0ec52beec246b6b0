//! `weft-console`: snapshot, top, record, replay and export for weft programs
//! running with `WEFT_CONSOLE=1`. Errors print one line and exit with 2.

use std::io::{BufReader, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use weft_console::{ConsoleError, Snapshot};

#[derive(Parser)]
#[command(
    name = "weft-console",
    version,
    about = "A live monitor for running weft programs (start them with WEFT_CONSOLE=1)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every live fiber of PID, once: state, where it waits, for how long.
    Snapshot {
        /// The weft program's process id.
        pid: u32,
        #[arg(long, value_enum, default_value_t = SnapshotFormat::Text)]
        format: SnapshotFormat,
    },
    /// A live view of PID: threads, warnings, the fiber tree (q quits).
    Top {
        /// The weft program's process id.
        pid: u32,
    },
    /// Records PID's events into FILE until Ctrl-C, the duration, or its end.
    Record {
        /// The weft program's process id.
        pid: u32,
        /// The recording to write (JSON lines).
        #[arg(short, long)]
        output: PathBuf,
        /// Stop after this many seconds.
        #[arg(long)]
        duration: Option<f64>,
    },
    /// Plays a recording back in the top screen (p pauses, +/- speed).
    Replay {
        /// A recording made by `record`.
        file: PathBuf,
    },
    /// Converts a recording into a timeline.
    Export {
        /// A recording made by `record`.
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = ExportFormat::Perfetto)]
        format: ExportFormat,
        /// Where to write it (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum SnapshotFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// Chrome trace-event JSON (Perfetto, chrome://tracing).
    Perfetto,
    /// A text picture: one lane per thread, a mark per fiber.
    Text,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli.command) {
        eprintln!("weft-console: {e}");
        std::process::exit(2);
    }
}

fn run(command: Command) -> Result<(), ConsoleError> {
    match command {
        Command::Snapshot { pid, format } => {
            let attached = weft_console::Attached::open(pid)?;
            let snapshot = Snapshot::take(&attached);
            let text = match format {
                SnapshotFormat::Text => snapshot.to_text(),
                SnapshotFormat::Json => {
                    let mut s =
                        serde_json::to_string_pretty(&snapshot).expect("a snapshot serializes");
                    s.push('\n');
                    s
                }
            };
            std::io::stdout()
                .write_all(text.as_bytes())
                .map_err(|e| ConsoleError::io("standard output", e))
        }
        Command::Top { pid } => weft_console::top::run(pid),
        Command::Replay { file } => weft_console::top::replay(&file),
        Command::Record {
            pid,
            output,
            duration,
        } => {
            let duration = match duration {
                Some(d) if d.is_finite() && d > 0.0 => Some(Duration::from_secs_f64(d)),
                Some(d) => {
                    return Err(ConsoleError::io(
                        "--duration",
                        std::io::Error::other(format!("{d} is not a positive number of seconds")),
                    ))
                }
                None => None,
            };
            // Check the PID before creating the output file.
            drop(weft_console::Attached::open(pid)?);
            // SAFETY: the handler only stores to an atomic (async-signal-safe).
            unsafe { libc::signal(libc::SIGINT, on_sigint as *const () as libc::sighandler_t) };
            let file = std::fs::File::create(&output)
                .map_err(|e| ConsoleError::io(output.display().to_string(), e))?;
            let mut out = std::io::BufWriter::new(file);
            let summary = weft_console::record(pid, &mut out, duration, &|| {
                INTERRUPTED.load(Ordering::Relaxed)
            })?;
            eprintln!(
                "weft-console: recorded {} events ({} lost) into {}",
                summary.events,
                summary.lost,
                output.display()
            );
            Ok(())
        }
        Command::Export {
            file,
            format,
            output,
        } => {
            let name = file.display().to_string();
            let input =
                std::fs::File::open(&file).map_err(|e| ConsoleError::io(name.clone(), e))?;
            let lines = weft_console::read_recording(&name, BufReader::new(input))?;
            let text = match format {
                ExportFormat::Perfetto => serde_json::to_string(&weft_console::to_perfetto(&lines))
                    .expect("a trace serializes"),
                ExportFormat::Text => weft_console::to_ascii(&lines, 100),
            };
            match output {
                Some(path) => std::fs::write(&path, text)
                    .map_err(|e| ConsoleError::io(path.display().to_string(), e)),
                None => std::io::stdout()
                    .write_all(text.as_bytes())
                    .map_err(|e| ConsoleError::io("standard output", e)),
            }
        }
    }
}
