//! Reading user input: `name=value` pairs, CSV series, and the history a
//! `--dataset` names (fetched from the server, for charts and backtests).

use std::path::Path;

use anyhow::{Context, bail};
use stratus_client::{StratusClient, proto};

/// Parses `name=value` with a numeric value.
pub fn key_value(text: &str) -> Result<(String, f64), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not name=value"))?;
    let value: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("'{value}' in '{text}' is not a number"))?;
    Ok((key.trim().to_owned(), value))
}

/// Reads a `period,value` CSV into a series named after the file. The
/// frequency is taken from the first period's shape; the server checks the rest.
pub fn read_csv(path: &Path) -> anyhow::Result<proto::Series> {
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .with_context(|| format!("{} has no '{name}' column", path.display()))
    };
    let (period_col, value_col) = (column("period")?, column("value")?);
    let mut observations = Vec::new();
    for record in reader.records() {
        let record = record?;
        let period = record.get(period_col).unwrap_or("").trim().to_owned();
        let raw = record.get(value_col).unwrap_or("").trim();
        let value = raw.parse().with_context(|| {
            format!(
                "{}: value '{raw}' for {period} is not a number",
                path.display()
            )
        })?;
        observations.push(proto::Observation { period, value });
    }
    let Some(first) = observations.first() else {
        bail!("{} has no rows", path.display());
    };
    let frequency = match first.period.len() {
        4 => proto::Frequency::Annual,
        7 if first.period.contains("-Q") => proto::Frequency::Quarterly,
        7 => proto::Frequency::Monthly,
        _ => bail!(
            "{}: '{}' is not a period like 2024, 2024-Q3 or 2024-07",
            path.display(),
            first.period
        ),
    };
    Ok(proto::Series {
        name: path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned(),
        unit: String::new(),
        frequency: frequency as i32,
        observations,
    })
}

/// The series a forecast request's source names: the inline series, or the
/// dataset fetched whole from the server (ListDatasets leaves out the
/// observations; GetDataset has them).
pub async fn history(
    client: &StratusClient,
    source: Option<&proto::forecast_request::Source>,
) -> anyhow::Result<proto::Series> {
    match source {
        Some(proto::forecast_request::Source::Series(series)) => Ok(series.clone()),
        Some(proto::forecast_request::Source::Dataset(name)) => {
            let dataset = client.get_dataset(name).await?;
            dataset
                .series
                .with_context(|| format!("the server sent dataset {name} without its series"))
        }
        None => bail!("give --dataset NAME or --csv FILE"),
    }
}
