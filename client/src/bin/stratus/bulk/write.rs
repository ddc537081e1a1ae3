//! Writing a bulk run's results: the forecasts as
//! `series_id,period,mean,lo_80,hi_80,lo_95,hi_95` rows (a lo/hi pair per
//! level), and the series that failed as `series_id,reason`.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use stratus_client::proto;

use crate::plot::tick;

/// Where the output goes: a file, or standard output for `-`.
fn open(path: &Path, what: &str) -> anyhow::Result<Box<dyn Write + Send>> {
    if path == Path::new("-") {
        return Ok(Box::new(std::io::stdout()));
    }
    let file = std::fs::File::create(path).with_context(|| {
        format!(
            "cannot create {what} {} (check that its folder exists and is writable)",
            path.display()
        )
    })?;
    Ok(Box::new(file))
}

/// The forecasts file, header written as soon as it is created so an
/// unwritable path fails before any series is sent.
pub struct Forecasts {
    writer: csv::Writer<Box<dyn Write + Send>>,
    levels: Vec<f64>,
    path: String,
    /// Where each number is formatted.
    buffer: ryu::Buffer,
}

impl Forecasts {
    /// Creates `path` with a lo/hi column pair for each of `levels` (the
    /// request's, or the API's default 80 and 95), in ascending order as
    /// the server answers them.
    pub fn create(path: &Path, levels: &[f64]) -> anyhow::Result<Self> {
        let mut levels = if levels.is_empty() {
            vec![80.0, 95.0]
        } else {
            levels.to_vec()
        };
        levels.sort_by(f64::total_cmp);
        levels.dedup();
        let mut header = vec!["series_id".to_owned(), "period".into(), "mean".into()];
        for level in &levels {
            header.push(format!("lo_{}", tick(*level)));
            header.push(format!("hi_{}", tick(*level)));
        }
        let mut writer = csv::WriterBuilder::new()
            .buffer_capacity(1 << 16)
            .from_writer(open(path, "--output")?);
        let path = path.display().to_string();
        writer
            .write_record(&header)
            .with_context(|| format!("cannot write to {path}"))?;
        Ok(Self {
            writer,
            levels,
            path,
            buffer: ryu::Buffer::new(),
        })
    }

    /// One row per forecast period. Numbers are written in full (the
    /// shortest text that reads back as the same double, by ryu), field by
    /// field through one buffer: a large run writes millions of them.
    pub fn write(&mut self, id: &str, response: &proto::ForecastResponse) -> anyhow::Result<()> {
        self.write_rows(id, response)
            .with_context(|| format!("cannot write to {}", self.path))
    }

    fn write_rows(&mut self, id: &str, response: &proto::ForecastResponse) -> csv::Result<()> {
        let writer = &mut self.writer;
        let buffer = &mut self.buffer;
        let mut number = |writer: &mut csv::Writer<Box<dyn Write + Send>>, value: f64| {
            writer.write_field(buffer.format(value))
        };
        for point in &response.points {
            writer.write_field(id)?;
            writer.write_field(&point.period)?;
            number(writer, point.mean)?;
            for level in &self.levels {
                match point.intervals.iter().find(|i| i.level == *level) {
                    Some(i) => {
                        number(writer, i.lower)?;
                        number(writer, i.upper)?;
                    }
                    None => {
                        writer.write_field("")?;
                        writer.write_field("")?;
                    }
                }
            }
            writer.write_record(None::<&[u8]>)?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> anyhow::Result<()> {
        self.writer
            .flush()
            .with_context(|| format!("cannot write to {}", self.path))
    }
}

/// The errors file, created up front like the forecasts file.
pub struct Errors {
    writer: csv::Writer<Box<dyn Write + Send>>,
    path: String,
}

impl Errors {
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let mut writer = csv::Writer::from_writer(open(path, "--errors")?);
        let path = path.display().to_string();
        writer
            .write_record(["series_id", "reason"])
            .with_context(|| format!("cannot write to {path}"))?;
        Ok(Self { writer, path })
    }

    /// Writes every failure and flushes.
    pub fn finish(mut self, failures: &[(String, String)]) -> anyhow::Result<()> {
        for (id, reason) in failures {
            self.writer
                .write_record([id, reason])
                .with_context(|| format!("cannot write to {}", self.path))?;
        }
        self.writer
            .flush()
            .with_context(|| format!("cannot write to {}", self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_carry_each_level_in_ascending_order() {
        let dir = tempfile_dir();
        let path = dir.join("out.csv");
        let mut out = Forecasts::create(&path, &[95.0, 50.0]).unwrap();
        let response = proto::ForecastResponse {
            points: vec![proto::ForecastPoint {
                period: "2025".into(),
                mean: 45.7,
                growth: 0.0,
                intervals: vec![
                    proto::Interval {
                        level: 50.0,
                        lower: 44.0,
                        upper: 47.5,
                    },
                    proto::Interval {
                        level: 95.0,
                        lower: 40.91,
                        upper: 50.49,
                    },
                ],
            }],
            ..Default::default()
        };
        out.write("a,b", &response).unwrap();
        out.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "series_id,period,mean,lo_50,hi_50,lo_95,hi_95\n\"a,b\",2025,45.7,44.0,47.5,40.91,50.49\n"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("stratus-write-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
