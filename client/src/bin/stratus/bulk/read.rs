//! Reading a bulk input file: `series_id,period,value` rows grouped into
//! series in the order their ids first appear (rows of different series may
//! be interleaved), each checked as the server would check it.
//!
//! The checks matter beyond saving a round trip: on a stream, the server's
//! refusal of one series ends the stream, so every series caught here is a
//! stream that need not be reopened. The period rules are the server's own
//! (`stratus_series`), so a series passed here is refused only for what
//! depends on the model (too short for it, values it cannot take).
//!
//! A large file is parsed as two halves on two threads and the halves
//! merged (a series may have rows in both): reading is the one part of a
//! bulk run the server waits for, with a core to spare.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use stratus_client::proto;
use stratus_series::{Cadence, Period};

/// The largest magnitude the server accepts in an observation.
const MAX_MAGNITUDE: f64 = 1e100;

/// Files smaller than this are parsed in one pass: a second thread would
/// cost more than it saves.
const SPLIT_ABOVE: u64 = 4 << 20;

/// Characters of a series id kept in `Series.name` (the server bounds every
/// string; the id itself travels only in this file and the output).
const NAME_CHARS: usize = 128;

/// One series of the input, in first-appearance order.
#[derive(Debug)]
pub struct InputSeries {
    pub id: String,
    /// Ready to send; or the first problem found, naming the input line.
    pub series: Result<Checked, String>,
}

/// A series that passed the checks: consecutive periods from `first`. Kept
/// this compact (no label strings) until it is sent, so a file of millions
/// of observations costs little memory and each label is made once.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub first: Period,
    pub frequency: proto::Frequency,
    pub values: Vec<f64>,
}

/// Period labels made once each: a file's series mostly share their
/// periods, and formatting a label costs more than copying one.
#[derive(Default)]
pub struct Labels(BTreeMap<Period, String>);

impl Labels {
    fn get(&mut self, period: Period) -> String {
        self.0
            .entry(period)
            .or_insert_with(|| period.to_string())
            .clone()
    }
}

impl Checked {
    /// The API series, named after the series id.
    pub fn to_series(&self, id: &str, labels: &mut Labels) -> proto::Series {
        let name = match id.char_indices().nth(NAME_CHARS) {
            Some((end, _)) => &id[..end],
            None => id,
        };
        proto::Series {
            name: name.to_owned(),
            unit: String::new(),
            frequency: self.frequency as i32,
            observations: self
                .values
                .iter()
                .enumerate()
                .map(|(i, &value)| proto::Observation {
                    period: labels.get(self.first.plus(i as i64)),
                    value,
                })
                .collect(),
        }
    }
}

/// A series while rows are still arriving. Rows that continue the series
/// (the usual case: a file ordered by period) cost one value each; any
/// other row is kept aside and sorted in at the end. Line numbers are those
/// of the part of the file the builder read (see [`Part`]).
struct Builder {
    id: String,
    cadence: Option<Cadence>,
    /// The first in-order row's period and line; `values[i]` is period
    /// `first + i`.
    first: Option<Period>,
    first_line: u64,
    values: Vec<f64>,
    /// Rows out of order: (period, value, input line if known).
    stray: Vec<(Period, f64, Option<u64>)>,
    /// The first problem: (line, what).
    problem: Option<(u64, String)>,
}

impl Builder {
    fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            cadence: None,
            first: None,
            first_line: 0,
            values: Vec::new(),
            stray: Vec::new(),
            problem: None,
        }
    }

    fn fail(&mut self, line: u64, problem: String) {
        self.problem = Some((line, problem));
        // The rows are no longer needed: the series will not be sent.
        (self.values, self.stray) = (Vec::new(), Vec::new());
    }

    fn add(&mut self, line: u64, period: Option<&str>, value: Option<&str>) {
        if self.problem.is_some() {
            return;
        }
        match self.parse_row(period, value) {
            Ok((period, value)) => self.push(period, value, Some(line)),
            Err(problem) => self.fail(line, problem),
        }
    }

    fn parse_row(
        &mut self,
        period: Option<&str>,
        value: Option<&str>,
    ) -> Result<(Period, f64), String> {
        let label = period.map(str::trim).unwrap_or_default();
        if label.is_empty() {
            return Err("no period".to_owned());
        }
        let cadence = match self.cadence {
            Some(cadence) => cadence,
            None => {
                let cadence = Cadence::infer(label).ok_or_else(|| {
                    format!("period '{label}' is not a period like 2024, 2024-Q3 or 2024-07")
                })?;
                self.cadence = Some(cadence);
                cadence
            }
        };
        let period = cadence
            .parse(label)
            .ok_or_else(|| mismatch(label, cadence))?;
        let raw = value.map(str::trim).unwrap_or_default();
        let value: f64 = raw
            .parse()
            .map_err(|_| format!("value '{raw}' for {label} is not a number"))?;
        if !value.is_finite() {
            return Err(format!("value '{raw}' for {label} is not a finite number"));
        }
        if value.abs() > MAX_MAGNITUDE {
            return Err(format!(
                "value {raw} for {label} is beyond ±1e100, the largest the server accepts: rescale the series (e.g. to billions)"
            ));
        }
        Ok((period, value))
    }

    fn push(&mut self, period: Period, value: f64, line: Option<u64>) {
        match self.first {
            None => {
                self.first = Some(period);
                self.first_line = line.unwrap_or_default();
                self.values.push(value);
            }
            Some(first) if period == first.plus(self.values.len() as i64) => {
                self.values.push(value);
            }
            Some(_) => self.stray.push((period, value, line)),
        }
    }

    /// Moves this builder's lines `offset` lines down: it read a part of
    /// the file that starts there.
    fn shift(&mut self, offset: u64) {
        self.first_line += offset;
        if let Some((line, _)) = &mut self.problem {
            *line += offset;
        }
        for (_, _, line) in &mut self.stray {
            *line = line.map(|l| l + offset);
        }
    }

    /// Takes in the rows `later` read further down the file (already
    /// shifted to file lines).
    fn absorb(&mut self, later: Builder) {
        if self.problem.is_some() {
            return;
        }
        if let Some((line, problem)) = later.problem {
            // Every row of ours came first, and none had a problem.
            self.fail(line, problem);
            return;
        }
        let (Some(first), Some(cadence)) = (later.first, later.cadence) else {
            return;
        };
        if let Some(ours) = self.cadence.filter(|&c| c != cadence) {
            let problem = mismatch(&first.to_string(), ours);
            self.fail(later.first_line, problem);
            return;
        }
        let first_line = later.first_line;
        for (i, value) in later.values.into_iter().enumerate() {
            let line = (i == 0).then_some(first_line);
            self.push(first.plus(i as i64), value, line);
        }
        for (period, value, line) in later.stray {
            self.push(period, value, line);
        }
    }

    /// The series to send, or its first problem.
    fn finish(mut self) -> InputSeries {
        let series = match self.problem.take() {
            Some((line, problem)) => Err(format!("line {line}: {problem}")),
            None => self.checked(),
        };
        InputSeries {
            id: self.id,
            series,
        }
    }

    fn checked(&mut self) -> Result<Checked, String> {
        let (Some(cadence), Some(first)) = (self.cadence, self.first) else {
            return Err("no rows".to_owned());
        };
        let frequency = match cadence {
            Cadence::Annual => proto::Frequency::Annual,
            Cadence::Quarterly => proto::Frequency::Quarterly,
            Cadence::Monthly => proto::Frequency::Monthly,
        };
        let values = std::mem::take(&mut self.values);
        if self.stray.is_empty() {
            return Ok(Checked {
                first,
                frequency,
                values,
            });
        }
        // Rows out of order: sort everything by period (the file need not
        // be sorted), then look for repeats and gaps. Only the first
        // in-order row and the stray ones have their line kept; every
        // repeat involves a stray one.
        let mut rows: Vec<(Period, f64, Option<u64>)> = values
            .into_iter()
            .enumerate()
            .map(|(i, value)| (first.plus(i as i64), value, None))
            .chain(self.stray.drain(..))
            .collect();
        rows.sort_by_key(|(period, _, _)| *period);
        for pair in rows.windows(2) {
            let ((a, _, line_a), (b, _, line_b)) = (pair[0], pair[1]);
            if a == b {
                let again = line_b
                    .or(line_a)
                    .map_or(String::new(), |line| format!(" (again on line {line})"));
                return Err(format!("period {a} appears twice{again}"));
            }
            if !a.is_followed_by(b) {
                return Err(format!(
                    "periods jump from {a} to {b}: {} is missing (series must have every period)",
                    a.plus(1)
                ));
            }
        }
        Ok(Checked {
            first: rows[0].0,
            frequency,
            values: rows.into_iter().map(|(_, value, _)| value).collect(),
        })
    }
}

/// A period of another frequency than the series' first one.
fn mismatch(label: &str, cadence: Cadence) -> String {
    format!(
        "period '{label}' is not {} like the series' first period ({})",
        match cadence {
            Cadence::Annual => "annual",
            Cadence::Quarterly => "quarterly",
            Cadence::Monthly => "monthly",
        },
        cadence.format_hint()
    )
}

/// Where the three columns are.
#[derive(Debug, Clone, Copy)]
struct Columns {
    id: usize,
    period: usize,
    value: usize,
}

impl Columns {
    fn find(headers: &csv::StringRecord, name: &str) -> anyhow::Result<Self> {
        let column = |wanted: &str| {
            headers.iter().position(|h| h.trim() == wanted).with_context(|| {
                format!("{name} has no '{wanted}' column: the first row must name series_id, period and value")
            })
        };
        Ok(Self {
            id: column("series_id")?,
            period: column("period")?,
            value: column("value")?,
        })
    }
}

/// The series of one stretch of the file, in first-appearance order, with
/// lines counted from the stretch's start.
#[derive(Default)]
struct Part {
    builders: Vec<Builder>,
    order: HashMap<String, usize>,
    /// The reader's line at the end: the stretch's line count + 1.
    end_line: u64,
}

/// A CSV error in a stretch: (its line there, what).
type Malformed = (u64, csv::Error);

fn csv_reader<R: Read>(source: R, headers: bool) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .comment(Some(b'#'))
        // A short row is one series' problem, not the file's.
        .flexible(true)
        .has_headers(headers)
        .buffer_capacity(1 << 16)
        .from_reader(source)
}

/// Reads every record of `reader` into series.
fn parse_records<R: Read>(
    reader: &mut csv::Reader<R>,
    columns: Columns,
) -> Result<Part, Malformed> {
    let mut part = Part::default();
    let mut record = csv::StringRecord::new();
    // Most files keep a series' rows together: the previous row's series
    // is tried before the map.
    let mut last: Option<usize> = None;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => return Err((error.position().map_or(0, |p| p.line()), error)),
        }
        let line = record.position().map_or(0, |p| p.line());
        let id = record.get(columns.id).unwrap_or_default().trim();
        let index = match last
            .filter(|&i| part.builders[i].id == id)
            .or_else(|| part.order.get(id).copied())
        {
            Some(index) => index,
            None => {
                part.order.insert(id.to_owned(), part.builders.len());
                part.builders.push(Builder::new(id));
                part.builders.len() - 1
            }
        };
        last = Some(index);
        part.builders[index].add(line, record.get(columns.period), record.get(columns.value));
    }
    part.end_line = reader.position().line();
    Ok(part)
}

fn malformed(name: &str, (line, error): Malformed) -> anyhow::Error {
    anyhow::anyhow!("{name} line {line}: {error} (fix the row, or remove it, and run again)")
}

/// Reads `path` (`-`: standard input). Problems with one series are kept
/// with that series; only an unreadable file, or one without the three
/// columns, is an error.
pub fn read(path: &Path) -> anyhow::Result<Vec<InputSeries>> {
    let name = path.display().to_string();
    if path == Path::new("-") {
        return parse(std::io::stdin(), &name);
    }
    let open = || File::open(path).with_context(|| format!("cannot read --input {name}"));
    let size = open()?.metadata().map_or(0, |m| m.len());
    if size > SPLIT_ABOVE
        && let Some(series) = read_in_halves(path, size, &name)?
    {
        return Ok(series);
    }
    parse(open()?, &name)
}

/// One pass over `source`.
fn parse(source: impl Read, name: &str) -> anyhow::Result<Vec<InputSeries>> {
    let mut reader = csv_reader(source, true);
    let headers = reader
        .headers()
        .with_context(|| format!("cannot read the header row of {name}"))?
        .clone();
    let columns = Columns::find(&headers, name)?;
    let part = parse_records(&mut reader, columns).map_err(|e| malformed(name, e))?;
    Ok(part.builders.into_iter().map(Builder::finish).collect())
}

/// A reader that notes whether a quote went through it.
struct QuoteWatch<'a, R> {
    inner: R,
    seen: &'a AtomicBool,
}

impl<R: Read> Read for QuoteWatch<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if buf[..n].contains(&b'"') {
            self.seen.store(true, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Parses the halves of the file before and after the first line start
/// past its middle, on two threads, and merges them. `None` when the split
/// cannot be trusted: a quote in the first half could put the split inside
/// a quoted field (a field may hold a newline), so such files are parsed in
/// one pass instead.
fn read_in_halves(path: &Path, size: u64, name: &str) -> anyhow::Result<Option<Vec<InputSeries>>> {
    let open = || File::open(path).with_context(|| format!("cannot read --input {name}"));
    let Some(boundary) = line_start_after(&mut open()?, size / 2)? else {
        return Ok(None);
    };
    let mut reader = csv_reader(open()?, true);
    let headers = reader
        .headers()
        .with_context(|| format!("cannot read the header row of {name}"))?
        .clone();
    let columns = Columns::find(&headers, name)?;
    drop(reader);
    let quoted = AtomicBool::new(false);
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| -> anyhow::Result<_> {
            let source = QuoteWatch {
                inner: open()?.take(boundary),
                seen: &quoted,
            };
            Ok(parse_records(&mut csv_reader(source, true), columns))
        });
        let second = scope.spawn(|| -> anyhow::Result<_> {
            let mut file = open()?;
            file.seek(SeekFrom::Start(boundary))
                .with_context(|| format!("cannot read --input {name}"))?;
            Ok(parse_records(&mut csv_reader(file, false), columns))
        });
        let joined = |handle: std::thread::ScopedJoinHandle<'_, anyhow::Result<_>>| {
            handle.join().map_err(|_| {
                anyhow::anyhow!("reading {name} failed unexpectedly (a bug: please report it)")
            })
        };
        (joined(first), joined(second))
    });
    let (first, second) = (first??, second??);
    if quoted.load(Ordering::Relaxed) {
        return Ok(None);
    }
    let mut first = first.map_err(|e| malformed(name, e))?;
    // The second half's lines count from its own start.
    let offset = first.end_line - 1;
    let second = second.map_err(|(line, error)| malformed(name, (line + offset, error)))?;
    for mut later in second.builders {
        later.shift(offset);
        match first.order.get(&later.id) {
            Some(&index) => first.builders[index].absorb(later),
            None => first.builders.push(later),
        }
    }
    Ok(Some(
        first.builders.into_iter().map(Builder::finish).collect(),
    ))
}

/// The offset of the first line that starts at or after `from`, or `None`
/// if no newline follows it.
fn line_start_after(file: &mut File, from: u64) -> anyhow::Result<Option<u64>> {
    file.seek(SeekFrom::Start(from))?;
    let mut buffer = [0u8; 1 << 14];
    let mut offset = from;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Ok(None);
        }
        if let Some(at) = buffer[..n].iter().position(|&b| b == b'\n') {
            return Ok(Some(offset + at as u64 + 1));
        }
        offset += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(text: &str) -> Vec<InputSeries> {
        parse(text.as_bytes(), "test.csv").unwrap()
    }

    fn values(series: &InputSeries) -> Vec<(String, f64)> {
        series
            .series
            .as_ref()
            .unwrap()
            .to_series(&series.id, &mut Labels::default())
            .observations
            .iter()
            .map(|o| (o.period.clone(), o.value))
            .collect()
    }

    #[test]
    fn interleaved_rows_group_in_first_appearance_order() {
        let input = read_str(
            "series_id,period,value\nb,2020,1\na,2020-Q1,5\nb,2021,2\na,2020-Q2,6\nb,2019,0.5\n",
        );
        let ids: Vec<&str> = input.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
        // Sorted by period, whatever the row order.
        assert_eq!(
            values(&input[0]),
            [
                ("2019".into(), 0.5),
                ("2020".into(), 1.0),
                ("2021".into(), 2.0)
            ]
        );
        let a = input[1]
            .series
            .as_ref()
            .unwrap()
            .to_series("a", &mut Labels::default());
        assert_eq!(a.frequency, proto::Frequency::Quarterly as i32);
        assert_eq!(a.name, "a");
        assert_eq!(a.observations[1].period, "2020-Q2");
    }

    #[test]
    fn columns_are_found_by_name() {
        let input = read_str("value,series_id,period,extra\n1,x,2020,\n2,x,2021,z\n");
        assert_eq!(values(&input[0]).len(), 2);
    }

    #[test]
    fn each_problem_stays_with_its_series() {
        let input = read_str(
            "series_id,period,value\n\
             ok,2020,1\nok,2021,2\n\
             word,2020,1\nword,2021,abc\n\
             gap,2020,1\ngap,2022,3\n\
             twice,2020,1\ntwice,2020,2\n\
             mixed,2020,1\nmixed,2021-Q1,2\n\
             bad,20x0,1\n\
             inf,2020,inf\n\
             huge,2020,1e200\n\
             short,2020\n",
        );
        let reason = |id: &str| {
            input
                .iter()
                .find(|s| s.id == id)
                .unwrap()
                .series
                .as_ref()
                .err()
                .cloned()
                .unwrap_or_default()
        };
        assert!(input[0].series.is_ok());
        assert_eq!(
            reason("word"),
            "line 5: value 'abc' for 2021 is not a number"
        );
        assert!(reason("gap").contains("jump from 2020 to 2022: 2021 is missing"));
        assert!(reason("twice").contains("2020 appears twice (again on line 9)"));
        assert!(reason("mixed").contains("'2021-Q1' is not annual like the series' first period"));
        assert!(reason("bad").contains("'20x0' is not a period"));
        assert!(reason("inf").contains("not a finite number"));
        assert!(reason("huge").contains("rescale"));
        assert!(
            reason("short").contains("is not a number"),
            "{}",
            reason("short")
        );
    }

    /// What a reading yields, comparable.
    fn outcome(series: &[InputSeries]) -> Vec<(String, Result<Checked, String>)> {
        series
            .iter()
            .map(|s| (s.id.clone(), s.series.clone()))
            .collect()
    }

    #[test]
    fn two_halves_read_the_same_as_one_pass() {
        // Series spread over both halves: interleaved, out of order, with
        // problems on either side of the split and across it.
        let mut csv = String::from("series_id,period,value\n# a comment\n");
        for year in 2000..2040 {
            for id in ["a", "b", "c", "d", "e", "f"] {
                let row = match (id, year) {
                    ("b", 2030) => format!("{id},{year},oops\n"),
                    ("c", 2005) => format!("{id},2031,1\n"),
                    ("d", 2036) => format!("{id},2036-Q1,1\n"),
                    ("e", y) if y > 2020 => String::new(),
                    ("f", 2033) => format!("{id},2001,9\n"),
                    _ => format!("{id},{year},{}\n", year - 1990),
                };
                csv.push_str(&row);
            }
            if year == 2020 {
                csv.push_str("g,2024-Q1,1\ng,2024-Q2,2\n");
            }
        }
        csv.push_str("e,2021,31\ng,2024-Q3,3\nh,2024-07,1\n");
        let dir = std::env::temp_dir().join(format!("stratus-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("many.csv");
        std::fs::write(&file, &csv).unwrap();
        let size = csv.len() as u64;
        let halves = read_in_halves(&file, size, "many.csv").unwrap().unwrap();
        let once = parse(csv.as_bytes(), "many.csv").unwrap();
        assert_eq!(outcome(&halves), outcome(&once));
        let reasons: Vec<String> = once.iter().filter_map(|s| s.series.clone().err()).collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(
            reasons
                .iter()
                .any(|r| r.ends_with("value 'oops' for 2030 is not a number"))
        );
        assert!(reasons.iter().any(|r| r.contains("jump from 2004 to 2006")));
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("'2036-Q1' is not annual"))
        );
        assert!(reasons.iter().any(|r| r.contains("2001 appears twice")));
        // A quote in the first half: one pass instead.
        std::fs::write(&file, csv.replacen("a,2000", "\"a\",2000", 1)).unwrap();
        assert!(
            read_in_halves(&file, size + 2, "many.csv")
                .unwrap()
                .is_none()
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_file_without_the_columns_is_refused() {
        let error = parse("id,period,value\n".as_bytes(), "x.csv").unwrap_err();
        assert!(
            error.to_string().contains("no 'series_id' column"),
            "{error}"
        );
    }
}
