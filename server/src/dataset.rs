//! The reference datasets: built-in ones compiled into the binary, plus the
//! CSV files of `--data-dir`, loaded once at start.
//!
//! A dataset file is CSV with `period,value` columns (others ignored), led by
//! optional `# key: value` lines for `description`, `unit` and `source`. The
//! cadence is read from the period labels. A malformed file stops the server
//! at start, since serving half a data folder would be worse.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use stratus_proto::v1::{Dataset, Observation, Series};

use stratus_series::Cadence;

/// Built-in datasets: (name, CSV text).
const BUILTIN: &[(&str, &str)] = &[
    (
        "china-cloud-infra-annual",
        include_str!("../../data/datasets/china-cloud-infra-annual.csv"),
    ),
    (
        "china-cloud-infra-quarterly",
        include_str!("../../data/datasets/china-cloud-infra-quarterly.csv"),
    ),
    (
        "global-cloud-infra-annual",
        include_str!("../../data/datasets/global-cloud-infra-annual.csv"),
    ),
];

/// Why a dataset file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The data folder or a file in it could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The content is not a valid dataset.
    #[error("{origin}: {message}")]
    Invalid {
        /// The file, or `builtin:<name>`.
        origin: String,
        /// What is wrong and where.
        message: String,
    },
}

/// All datasets by name.
#[derive(Debug, Default)]
pub struct DatasetCatalog {
    datasets: BTreeMap<String, Dataset>,
}

impl DatasetCatalog {
    /// The built-in datasets plus every `*.csv` in `data_dir`. A data-dir file
    /// may not reuse a built-in name: replicas must agree on what a name means.
    pub fn load(data_dir: Option<&Path>) -> Result<Self, DatasetError> {
        let mut catalog = Self::default();
        for (name, text) in BUILTIN {
            catalog.insert(parse(name, text, "builtin")?)?;
        }
        if let Some(dir) = data_dir {
            let io = |source| DatasetError::Io {
                path: dir.to_owned(),
                source,
            };
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(io)?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == "csv"))
                .collect();
            files.sort();
            for path in files {
                let text = std::fs::read_to_string(&path).map_err(|source| DatasetError::Io {
                    path: path.clone(),
                    source,
                })?;
                let name = path
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                catalog.insert(parse(&name, &text, &path.display().to_string())?)?;
            }
        }
        Ok(catalog)
    }

    fn insert(&mut self, dataset: Dataset) -> Result<(), DatasetError> {
        if let Some(existing) = self.datasets.get(&dataset.name) {
            return Err(DatasetError::Invalid {
                origin: dataset.origin,
                message: format!(
                    "dataset name '{}' is already taken by {}; rename the file",
                    dataset.name, existing.origin
                ),
            });
        }
        self.datasets.insert(dataset.name.clone(), dataset);
        Ok(())
    }

    /// A dataset by name.
    pub fn get(&self, name: &str) -> Option<&Dataset> {
        self.datasets.get(name)
    }

    /// Every dataset, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Dataset> {
        self.datasets.values()
    }

    /// Names, for "did you mean" messages.
    pub fn names(&self) -> Vec<&str> {
        self.datasets.keys().map(String::as_str).collect()
    }
}

/// Parses one dataset file. `origin` says where it came from, for messages.
pub fn parse(name: &str, text: &str, origin: &str) -> Result<Dataset, DatasetError> {
    let invalid = |message: String| DatasetError::Invalid {
        origin: origin.to_owned(),
        message,
    };
    let mut meta = BTreeMap::new();
    for line in text.lines().take_while(|line| line.starts_with('#')) {
        if let Some((key, value)) = line.trim_start_matches('#').split_once(':') {
            meta.insert(key.trim().to_owned(), value.trim().to_owned());
        }
    }
    let mut reader = csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| invalid(e.to_string()))?
        .clone();
    let column = |wanted: &str| {
        headers
            .iter()
            .position(|h| h.trim() == wanted)
            .ok_or_else(|| {
                invalid(format!(
                    "no '{wanted}' column (header is: {})",
                    headers.iter().collect::<Vec<_>>().join(",")
                ))
            })
    };
    let (period_col, value_col) = (column("period")?, column("value")?);

    let mut cadence: Option<Cadence> = None;
    let mut previous = None;
    let mut observations = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|e| invalid(e.to_string()))?;
        let line = record.position().map_or(row as u64 + 2, |p| p.line());
        let label = record.get(period_col).unwrap_or("").trim();
        let cadence = *cadence.get_or_insert(Cadence::infer(label).ok_or_else(|| {
            invalid(format!(
                "line {line}: '{label}' is not a period (2024, 2024-Q3 or 2024-07)"
            ))
        })?);
        let period = cadence.parse(label).ok_or_else(|| {
            invalid(format!(
                "line {line}: '{label}' is not a {cadence} period ({})",
                cadence.format_hint()
            ))
        })?;
        if let Some(previous) = previous
            && !stratus_series::Period::is_followed_by(previous, period)
        {
            return Err(invalid(format!(
                "line {line}: {period} does not directly follow {previous}"
            )));
        }
        previous = Some(period);
        let raw = record.get(value_col).unwrap_or("").trim();
        let value: f64 = raw
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| invalid(format!("line {line}: value '{raw}' is not a finite number")))?;
        observations.push(Observation {
            period: label.to_owned(),
            value,
        });
    }
    let Some(cadence) = cadence else {
        return Err(invalid("no observations".to_owned()));
    };
    let (first, last) = match (observations.first(), observations.last()) {
        (Some(first), Some(last)) => (first.period.clone(), last.period.clone()),
        _ => (String::new(), String::new()),
    };
    let get = |key: &str| meta.get(key).cloned().unwrap_or_default();
    Ok(Dataset {
        name: name.to_owned(),
        description: get("description"),
        source: get("source"),
        origin: origin.to_owned(),
        observation_count: observations.len() as u32,
        first_period: first,
        last_period: last,
        series: Some(Series {
            name: name.to_owned(),
            unit: get("unit"),
            frequency: stratus_proto::v1::Frequency::from(cadence.to_wire()) as i32,
            observations,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_datasets_load() {
        let catalog = DatasetCatalog::load(None).unwrap();
        let annual = catalog.get("china-cloud-infra-annual").unwrap();
        assert_eq!(annual.last_period, "2024");
        assert_eq!(
            annual
                .series
                .as_ref()
                .unwrap()
                .observations
                .last()
                .unwrap()
                .value,
            40.0
        );
        assert_eq!(annual.series.as_ref().unwrap().unit, "USD bn");
        let quarterly = catalog.get("china-cloud-infra-quarterly").unwrap();
        assert_eq!(
            quarterly.series.as_ref().unwrap().frequency,
            stratus_proto::v1::Frequency::Quarterly as i32
        );
    }

    #[test]
    fn gaps_and_bad_values_are_refused_with_the_line() {
        let gap = parse("x", "period,value\n2020,1\n2022,2\n", "test").unwrap_err();
        assert!(gap.to_string().contains("line 3"), "{gap}");
        let nan = parse("x", "period,value\n2020,abc\n", "test").unwrap_err();
        assert!(nan.to_string().contains("not a finite number"), "{nan}");
    }

    #[test]
    fn data_dir_files_join_and_may_not_shadow_builtins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.csv"),
            "# unit: EUR m\nperiod,value\n2024-01,1\n2024-02,2\n",
        )
        .unwrap();
        let catalog = DatasetCatalog::load(Some(dir.path())).unwrap();
        assert_eq!(catalog.get("mine").unwrap().observation_count, 2);
        std::fs::write(
            dir.path().join("china-cloud-infra-annual.csv"),
            "period,value\n2024,1\n",
        )
        .unwrap();
        assert!(DatasetCatalog::load(Some(dir.path())).is_err());
    }
}
