//! `stratus`: the command-line client for a Stratus server.
//!
//! Human-readable tables by default, `--json` for scripts (proto3 JSON).
//! Errors print the gRPC status code and message and exit with status 1.

mod args;
mod bulk;
mod color;
mod compare;
mod input;
mod load;
mod plot;
mod render;
mod replicas;

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use stratus_client::{StratusClient, TlsOptions, proto};

use args::{Cli, Command};

/// mimalloc rather than glibc's malloc: the CLI's bulk path and `bench`
/// allocate and free millions of small messages, where glibc spent most of
/// the client's time (consolidating freed chunks); mimalloc cut the
/// client's CPU per forecast series about fourfold (bench/bulk.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Completions { shell } = cli.command {
        use clap::CommandFactory;
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "stratus",
            &mut std::io::stdout(),
        );
        return ExitCode::SUCCESS;
    }
    let (tls, has_cert) = (cli.server.starts_with("https://"), cli.cert.is_some());
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        // Each failure was listed where it happened.
        Err(error) if error.is::<AlreadyReported>() => ExitCode::FAILURE,
        Err(error) => {
            let prefix = color::paint(
                "error:",
                color::Color::Red,
                color::enabled(color::Stream::Stderr),
            );
            match error.downcast_ref::<tonic::Status>() {
                Some(status) => eprintln!(
                    "{prefix} {}{}",
                    render::status(status),
                    transport_hint(status, tls, has_cert)
                ),
                None => eprintln!("{prefix} {error:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

/// A command's failure that it has already explained (each failed series
/// or model listed): `main` exits with status 1 without another line.
#[derive(Debug)]
pub struct AlreadyReported;

impl std::fmt::Display for AlreadyReported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("some items failed (listed above)")
    }
}

impl std::error::Error for AlreadyReported {}

/// What a bare transport failure probably means, since TLS mismatches reach
/// the caller only as a cancelled call or an HTTP/2 protocol error.
fn transport_hint(status: &tonic::Status, tls: bool, has_cert: bool) -> &'static str {
    // What a refused handshake looks like depends on timing: a cancelled
    // call, an unknown transport error, or an HTTP/2 protocol error.
    let message = status.message();
    let transport = matches!(
        status.code(),
        tonic::Code::Cancelled | tonic::Code::Unavailable
    ) || message.starts_with("h2 protocol error")
        || message.contains("transport error");
    match (transport, tls, has_cert) {
        (false, _, _) => "",
        (true, true, false) => {
            " (if the server requires client certificates, pass --cert and --key)"
        }
        (true, false, _) => " (if the server serves TLS, use an https:// URL with --ca)",
        (true, true, true) => " (check that the server trusts the CA of --cert)",
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Bench(args) = &cli.command
        && let Some(file) = &args.write_body
    {
        // Writing a request body for another load generator needs no server.
        return load::write_body(args, file);
    }
    // A chart file name that names no format fails before any connection.
    let chart = match &cli.command {
        Command::Forecast(args) => args.plot.as_deref(),
        Command::Compare(args) => args.plot.as_deref(),
        Command::Risk(args) => args.plot.as_deref(),
        _ => None,
    };
    if let Some(path) = chart {
        plot::format_of(path)?;
    }
    let tls = TlsOptions::from_files(cli.ca.as_deref(), cli.cert.as_deref(), cli.key.as_deref())?;
    let mut client = StratusClient::connect_with(cli.server.clone(), &tls).await?;
    if let Some(seconds) = cli.timeout {
        client = client.with_timeout(std::time::Duration::from_secs_f64(seconds));
    }
    // With several endpoints, the replica-wide commands ask each one.
    let replicas = client.each_endpoint();
    let several = replicas.len() > 1;
    match cli.command {
        // Printed by `main`, before any connection.
        Command::Completions { .. } => {}
        Command::Models { json } if several => {
            let mut answers = Vec::new();
            for (url, replica) in replicas {
                let models = replica.list_models().await;
                answers.push(replicas::Replica { url, models });
            }
            if json {
                let replicas: Vec<serde_json::Value> = answers
                    .iter()
                    .map(|r| match &r.models {
                        Ok(models) => serde_json::json!({ "server": r.url, "models": models }),
                        Err(status) => serde_json::json!({
                            "server": r.url,
                            "error": render::status(status),
                        }),
                    })
                    .collect();
                print_json(&serde_json::json!({ "replicas": replicas }))?;
            } else {
                print!("{}", replicas::render(&answers));
            }
            // Scripts (a rollout's last check) read the exit status.
            if !replicas::agree(&answers) {
                anyhow::bail!(
                    "the replicas do not all serve the same models, or some did not answer"
                );
            }
        }
        Command::Models { json } => {
            let models = client.list_models().await?;
            if json {
                print_json(&proto::ListModelsResponse { models })?;
            } else {
                print!("{}", render::models(&models));
            }
        }
        Command::Datasets { json } => {
            let datasets = client.list_datasets().await?;
            if json {
                print_json(&proto::ListDatasetsResponse { datasets })?;
            } else {
                print!("{}", render::datasets(&datasets));
            }
        }
        Command::Bench(args) => load::bench(&client, &cli.server, &tls, args).await?,
        Command::Reload { admin_token } if several => {
            // Not idempotent, so never retried: each replica once.
            let mut failed = 0;
            for (url, replica) in replicas {
                match replica.reload_models(admin_token.as_deref()).await {
                    Ok(models) => print!("{url}:\n{}", render::models(&models)),
                    Err(status) => {
                        failed += 1;
                        println!("{url}: error: {}", render::status(&status));
                    }
                }
            }
            if failed > 0 {
                anyhow::bail!("{failed} replicas did not reload");
            }
        }
        Command::Reload { admin_token } => {
            let models = client.reload_models(admin_token.as_deref()).await?;
            print!("{}", render::models(&models));
        }
        Command::Health { service } if several => {
            let mut unhealthy = 0;
            for (url, replica) in replicas {
                match replica.health(&service).await {
                    Ok(status) => {
                        if status != tonic_health::pb::health_check_response::ServingStatus::Serving
                        {
                            unhealthy += 1;
                        }
                        println!("{url}: {}", status.as_str_name());
                    }
                    Err(status) => {
                        unhealthy += 1;
                        println!("{url}: error: {}", render::status(&status));
                    }
                }
            }
            if unhealthy > 0 {
                anyhow::bail!("{unhealthy} replicas are not SERVING");
            }
        }
        Command::Health { service } => {
            let status = client.health(&service).await?;
            println!("{}", status.as_str_name());
        }
        Command::Forecast(forecast) if forecast.input.is_some() => {
            bulk::run(&client, &cli.server, &tls, &forecast).await?;
        }
        Command::Forecast(forecast) => {
            let (json, chart) = (forecast.json, forecast.plot.clone());
            let request = forecast.into_request()?;
            // The history is drawn too; a dataset's comes from the server.
            let history = match &chart {
                Some(_) => Some(input::history(&client, request.source.as_ref()).await?),
                None => None,
            };
            let response = client.forecast(request).await?;
            if json {
                print_json(&response)?;
            } else {
                print!("{}", render::forecast(&response));
            }
            if let (Some(path), Some(history)) = (&chart, &history) {
                plot::save(&plot::fan(&response, history), path)?;
                eprintln!("chart written to {}", path.display());
            }
        }
        Command::Compare(args) => compare::run(&client, args).await?,
        Command::Backtest(backtest) => {
            let json = backtest.json;
            let response = client.backtest(backtest.into_request()?).await?;
            if json {
                print_json(&response)?;
            } else {
                print!("{}", render::backtest(&response));
            }
        }
        Command::Risk(risk) => {
            let (json, chart) = (risk.json, risk.plot.clone());
            let request = risk.into_request()?;
            let response = client.score_risk(request).await?;
            if json {
                print_json(&response)?;
            } else {
                print!(
                    "{}",
                    render::risk(&response, color::enabled(color::Stream::Stdout))
                );
            }
            if let Some(path) = &chart {
                plot::save(&plot::risk(&response), path)?;
                eprintln!("chart written to {}", path.display());
            }
        }
    }
    Ok(())
}

fn print_json(message: &impl serde::Serialize) -> anyhow::Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(message).context("encoding the response as JSON")?
    );
    Ok(())
}
