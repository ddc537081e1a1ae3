//! `stratus-fuzz TARGET [SECONDS] [SEED]`: runs one fuzz target on random
//! inputs; an input that panics is saved under `fuzz/regressions/` (where
//! `cargo test -p stratus-fuzz` replays it) and the command exits 1.
//! Targets: validation, period, plugin_answer.

use std::process::ExitCode;
use std::time::Duration;

use stratus_fuzz::{driver, targets};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_default();
    let Some(target) = targets::by_name(&name) else {
        let names: Vec<&str> = targets::TARGETS.iter().map(|(n, _)| *n).collect();
        eprintln!(
            "usage: stratus-fuzz TARGET [SECONDS] [SEED]; targets: {}",
            names.join(", ")
        );
        return ExitCode::FAILURE;
    };
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(60);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    // Panics are the finding, reported below; the default hook's backtrace
    // for each would bury it.
    std::panic::set_hook(Box::new(|_| {}));
    match driver::run_for(target, seed, Duration::from_secs(seconds)) {
        Ok(tried) => {
            println!("{name}: {tried} inputs in {seconds} s (seed {seed}), no panic");
            ExitCode::SUCCESS
        }
        Err(crash) => {
            match driver::save(&name, &crash) {
                Ok(path) => eprintln!(
                    "{name}: panic: {}; input saved to {}",
                    crash.message,
                    path.display()
                ),
                Err(e) => eprintln!(
                    "{name}: panic: {}; could not save the input: {e}",
                    crash.message
                ),
            }
            ExitCode::FAILURE
        }
    }
}
