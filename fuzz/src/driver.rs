//! Running a target on random inputs for a bounded time, saving inputs that
//! panic, and replaying saved ones. No coverage guidance: inputs come from a
//! seeded generator, so a run is reproducible from its seed.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::targets::Target;

/// The folder of saved inputs that once panicked (`fuzz/regressions`).
pub fn regressions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions")
}

/// The build's target folder (`target/debug` or `target/release`), where
/// the plugin libraries the validation target loads are built.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// A reproducible source of input bytes (xorshift64*).
struct Inputs(u64);

impl Inputs {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn input(&mut self) -> Vec<u8> {
        let len = (self.next_u64() % 2048) as usize;
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// An input that made a target panic.
#[derive(Debug)]
pub struct Crash {
    /// The input.
    pub input: Vec<u8>,
    /// The panic message.
    pub message: String,
}

/// Runs `target` once on `input`; `Err` if it panicked.
pub fn run_one(target: Target, input: &[u8]) -> Result<(), Crash> {
    catch_unwind(AssertUnwindSafe(|| target(input))).map_err(|panic| Crash {
        input: input.to_vec(),
        message: panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "a panic without a message".into()),
    })
}

/// Runs `target` on random inputs from `seed` for `time`; returns the
/// number of inputs tried, or the first crash.
pub fn run_for(target: Target, seed: u64, time: Duration) -> Result<u64, Crash> {
    let mut inputs = Inputs(seed.max(1));
    let started = Instant::now();
    let mut tried = 0;
    while started.elapsed() < time {
        run_one(target, &inputs.input())?;
        tried += 1;
    }
    Ok(tried)
}

/// Saves a crash as `regressions/<target>-<n>.bin`, so tests replay it.
pub fn save(target: &str, crash: &Crash) -> std::io::Result<PathBuf> {
    let dir = regressions_dir();
    std::fs::create_dir_all(&dir)?;
    let hash = crash.input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = dir.join(format!("{target}-{hash:016x}.bin"));
    std::fs::write(&path, &crash.input)?;
    Ok(path)
}

/// The saved inputs of `target`.
pub fn saved(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(regressions_dir()) else {
        return Vec::new();
    };
    let mut saved: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{target}-")) && n.ends_with(".bin"))
        })
        .filter_map(|p| Some((p.clone(), std::fs::read(&p).ok()?)))
        .collect();
    saved.sort();
    saved
}
