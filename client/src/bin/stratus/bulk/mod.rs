//! `stratus forecast --input many.csv --output out.csv [--errors errors.csv]`:
//! many series from one CSV file to another over ForecastStream, with a
//! progress bar and a summary, and every input series accounted for: it is
//! in the output, or in the errors (file or standard error) with its reason.
//! The exit status is 1 if any series failed.

mod read;
mod stream;
mod write;

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use stratus_client::{StratusClient, TlsOptions};

use crate::AlreadyReported;
use crate::args::ForecastArgs;
use crate::color;

/// Series per stream. Large enough that opening a stream costs little
/// beside its answers; small enough that several streams share the work of
/// a modest file.
const CHUNK: usize = 500;

/// Streams open at once. The server answers one stream's requests in order,
/// two batches in flight; a few streams keep every server core busy while
/// each waits on its own answers.
const STREAMS: usize = 4;

/// HTTP/2 connections the streams are spread over: the server works each
/// connection's frames on one thread, so one connection caps a run at
/// what one server core can frame.
const CONNECTIONS: usize = 2;

/// The bulk command. `input`, `output` and `errors` come from `args`;
/// `url` and `tls` open the extra connections.
pub async fn run(
    client: &StratusClient,
    url: &str,
    tls: &TlsOptions,
    args: &ForecastArgs,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let (Some(input), Some(output)) = (args.input.as_deref(), args.output.as_deref()) else {
        anyhow::bail!("give --input FILE and --output FILE");
    };
    // The input is read first, so a bad input leaves an existing output
    // untouched; both files are created before any series is sent.
    let inputs = read::read(input)?;
    let template = args.template();
    let forecasts = write::Forecasts::create(output, &template.levels)?;
    let errors_file = args
        .errors
        .as_deref()
        .map(write::Errors::create)
        .transpose()?;
    let total = inputs.len();
    let progress = progress_bar(total as u64);
    // Failures as (input position, id, reason); sorted by position at the end.
    let mut failures: Vec<(usize, String, String)> = Vec::new();
    let mut ready = Vec::new();
    // For each checked series, its input position.
    let mut positions: Vec<usize> = Vec::new();
    for (position, input) in inputs.into_iter().enumerate() {
        match input.series {
            Ok(series) => {
                ready.push(stream::Ready {
                    id: input.id,
                    series,
                });
                positions.push(position);
            }
            Err(reason) => {
                failures.push((position, input.id, reason));
                progress.inc(1);
            }
        }
    }

    let count = ready.len();
    let ready = Arc::new(ready);
    let (to_writer, writer) = writer_thread(forecasts, Arc::clone(&ready), positions);
    let mut clients = vec![client.clone()];
    for _ in 1..CONNECTIONS.min(count.div_ceil(CHUNK)) {
        clients.push(StratusClient::connect_with(url, tls).await?);
    }
    let sender = stream::Sender::new(clients, template, Arc::clone(&ready), progress.clone());
    let ranges = (0..count)
        .step_by(CHUNK)
        .enumerate()
        .map(|(chunk, start)| (chunk, start..(start + CHUNK).min(count)));
    // `buffered` keeps chunk order, so the output keeps input order.
    let mut chunks = futures::stream::iter(ranges)
        .map(|(chunk, range)| {
            let sender = &sender;
            async move { (range.start, sender.run(chunk, range).await) }
        })
        .buffered(STREAMS);
    while let Some(batch) = chunks.next().await {
        if to_writer.send(batch).await.is_err() {
            break; // The writer stopped on an error, returned below.
        }
    }
    drop((chunks, to_writer));
    let written = writer.join().map_err(|_| {
        anyhow::anyhow!("the output writer failed unexpectedly (a bug: please report it)")
    })??;
    progress.finish_and_clear();
    let forecast = written.forecast;
    failures.extend(written.failures);

    failures.sort_by_key(|(position, _, _)| *position);
    let failures: Vec<(String, String)> = failures
        .into_iter()
        .map(|(_, id, reason)| (id, reason))
        .collect();
    match errors_file {
        Some(file) => file.finish(&failures)?,
        None => {
            for (id, reason) in &failures {
                eprintln!("series {id}: {reason}");
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "{}",
        summary(
            total,
            forecast,
            failures.len(),
            elapsed,
            output,
            args.errors.as_deref()
        )
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(AlreadyReported.into())
    }
}

/// What the writer thread wrote, and the failures it was handed.
struct Written {
    forecast: usize,
    failures: Vec<(usize, String, String)>,
}

/// A chunk's outcomes: its first index among the checked series, then one
/// outcome per series.
type Batch = (usize, Vec<stream::Outcome>);

/// Writes the forecasts on a thread of its own: formatting the rows and
/// freeing the answers is a third of the client's work per series, and the
/// runtime's one thread is busy with the streams (encoding, decoding).
/// Batches arrive in input order; `positions` holds each checked series'
/// position in the input.
fn writer_thread(
    mut forecasts: write::Forecasts,
    ready: Arc<Vec<stream::Ready>>,
    positions: Vec<usize>,
) -> (
    tokio::sync::mpsc::Sender<Batch>,
    std::thread::JoinHandle<anyhow::Result<Written>>,
) {
    let (sender, mut batches) = tokio::sync::mpsc::channel::<Batch>(2);
    let handle = std::thread::spawn(move || {
        let mut written = Written {
            forecast: 0,
            failures: Vec::new(),
        };
        while let Some((start, outcomes)) = batches.blocking_recv() {
            for (offset, outcome) in outcomes.into_iter().enumerate() {
                let (position, id) = (positions[start + offset], &ready[start + offset].id);
                match outcome {
                    Ok(response) => {
                        forecasts.write(id, &response)?;
                        written.forecast += 1;
                    }
                    Err(reason) => written.failures.push((position, id.clone(), reason)),
                }
            }
        }
        forecasts.finish()?;
        Ok(written)
    });
    (sender, handle)
}

/// The progress bar on standard error: hidden when that is not a terminal
/// (a log file would fill with redraws), coloured only where colour is
/// allowed.
fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = if color::enabled(color::Stream::Stderr) {
        "{bar:40.cyan/blue}"
    } else {
        "{bar:40}"
    };
    let template =
        format!("{bar} {{pos}}/{{len}} series · {{per_sec}} · {{elapsed}} elapsed, eta {{eta}}");
    let style = ProgressStyle::with_template(&template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()).with_style(style)
}

/// `1000 series in · 999 forecast · 1 failed (errors.csv) · 0.42 s · 2380 series/s`
fn summary(
    total: usize,
    forecast: usize,
    failed: usize,
    seconds: f64,
    output: &Path,
    errors: Option<&Path>,
) -> String {
    let failed = match (failed, errors) {
        (0, _) => "0 failed".to_owned(),
        (n, Some(path)) => format!("{n} failed (listed in {})", path.display()),
        (n, None) => format!("{n} failed (listed above)"),
    };
    let rate = total as f64 / seconds.max(1e-9);
    let written = if output == Path::new("-") {
        String::new()
    } else {
        format!(" → {}", output.display())
    };
    format!(
        "{total} series in · {forecast} forecast{written} · {failed} · {seconds:.2} s · {rate:.0} series/s"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_accounts_for_every_series() {
        assert_eq!(
            summary(
                1000,
                999,
                1,
                0.5,
                Path::new("out.csv"),
                Some(Path::new("e.csv"))
            ),
            "1000 series in · 999 forecast → out.csv · 1 failed (listed in e.csv) · 0.50 s · 2000 series/s"
        );
        assert!(summary(2, 2, 0, 1.0, Path::new("-"), None).contains("2 forecast · 0 failed"));
    }
}
