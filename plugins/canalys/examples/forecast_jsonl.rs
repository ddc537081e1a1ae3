//! Batch driver for the accuracy benchmark (`benches/accuracy.py`): reads one
//! JSON series per line on stdin, forecasts it in process with `canalys`, and
//! prints one JSON line per series
//! with the point forecasts, the 80%/95% intervals, and the mean time of one
//! fit-and-forecast in microseconds. (One model per binary: every model rlib
//! carries its plugin entry symbol, so two cannot be linked together.)
//!
//! Input line: `{"id": "...", "values": [..], "periods_per_year": 4, "horizon": 8}`.

use std::io::{BufRead, Write};
use std::time::Instant;

use serde_json::{Value, json};
use stratus_canalys::Canalys;
use stratus_plugin::ForecastModel;

/// Repetitions per series for the timing (the forecast itself is deterministic).
const REPEATS: u32 = 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model = Canalys;
    let params = model.description().params;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let request: Value = serde_json::from_str(&line)?;
        let values: Vec<f64> = serde_json::from_value(request["values"].clone())?;
        let periods_per_year = request["periods_per_year"].as_u64().unwrap_or(1) as u32;
        let horizon = request["horizon"].as_u64().unwrap_or(1) as u32;
        let input =
            stratus_plugin::input::forecast_input(&values, periods_per_year, horizon, &params);
        let started = Instant::now();
        let mut result = model.forecast(&input);
        for _ in 1..REPEATS {
            result = model.forecast(&input);
        }
        let micros = started.elapsed().as_secs_f64() * 1e6 / f64::from(REPEATS);
        let answer = match result {
            Ok(output) => {
                let band = |i: usize, upper: bool| -> Vec<f64> {
                    output
                        .points
                        .iter()
                        .map(|p| {
                            if upper {
                                p.intervals[i].upper
                            } else {
                                p.intervals[i].lower
                            }
                        })
                        .collect()
                };
                json!({
                    "id": request["id"],
                    "mean": output.points.iter().map(|p| p.mean).collect::<Vec<_>>(),
                    "lo80": band(0, false), "hi80": band(0, true),
                    "lo95": band(1, false), "hi95": band(1, true),
                    "fit_us": micros,
                })
            }
            Err(error) => json!({ "id": request["id"], "error": error.message }),
        };
        writeln!(out, "{answer}")?;
    }
    Ok(())
}
