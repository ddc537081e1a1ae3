//! Bulk forecasting with the CLI against a real server:
//! `stratus forecast --input many.csv --output out.csv [--errors errors.csv]`.
//! Every input series must come out forecast or listed with its reason,
//! whatever fails and wherever (checked locally, refused by the server
//! mid-stream); the exit status says whether anything failed. Also: the
//! progress bar on a terminal, and colour only where it is allowed.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use stratus_e2e::cli::{path, stratus, text};
use stratus_e2e::{Server, binary};

/// `forecast --model MODEL --horizon H --input INPUT --output OUTPUT EXTRA…`
fn bulk_forecast<'a>(
    model: &'a str,
    horizon: &'a str,
    input: &'a Path,
    output: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "forecast",
        "--model",
        model,
        "--horizon",
        horizon,
        "--input",
        path(input),
        "--output",
        output,
    ];
    args.extend_from_slice(extra);
    args
}

/// Series `i`'s value in `year`: steady growth with a wiggle, distinct per
/// series.
fn value(i: usize, year: usize) -> f64 {
    let t = (year - 2000) as f64;
    (10.0 + i as f64) * 1.08f64.powf(t) * (1.0 + 0.02 * ((t * 3.0 + i as f64) % 5.0 - 2.0))
}

/// 1,000 annual series of 12 points, rows interleaved (year by year, every
/// series each year), with four broken ones:
/// - s0100: a non-numeric value (caught locally),
/// - s0200: a missing year (caught locally),
/// - s0300: two points, too few for naive (refused by the server, which
///   ends the stream there),
/// - s0700: one point, refused likewise.
///
/// s0500's rows come in reverse order (sorted locally, not a problem).
fn many_csv(dir: &Path) -> std::path::PathBuf {
    let mut csv = String::from("series_id,period,value\n");
    for year in 2000..2012 {
        for i in 0..1000 {
            let id = format!("s{i:04}");
            let year = if i == 500 { 2011 - (year - 2000) } else { year };
            match (i, year) {
                (100, 2005) => writeln!(csv, "{id},{year},n/a").unwrap(),
                (200, 2004) => {}
                (300, y) if y > 2001 => {}
                (700, y) if y > 2000 => {}
                _ => writeln!(csv, "{id},{year},{}", value(i, year)).unwrap(),
            }
        }
    }
    let file = dir.join("many.csv");
    std::fs::write(&file, csv).unwrap();
    file
}

fn read_csv(file: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(split_csv_line)
        .collect()
}

/// A CSV line's fields (quotes as the csv crate writes them).
fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[test]
fn a_thousand_series_round_trip_and_the_broken_ones_are_listed() {
    let server = Server::with_naive();
    let dir = tempfile::tempdir().unwrap();
    let input = many_csv(dir.path());
    let (output, errors) = (dir.path().join("out.csv"), dir.path().join("errors.csv"));
    let out = stratus(
        &server,
        &bulk_forecast(
            "naive",
            "3",
            &input,
            path(&output),
            &["--errors", path(&errors)],
        ),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a series failed: {stderr}");
    assert!(
        stderr.contains("1000 series in · 996 forecast")
            && stderr.contains("4 failed (listed in")
            && stderr.contains("series/s"),
        "summary: {stderr}"
    );

    let rows = read_csv(&output);
    assert_eq!(
        rows[0],
        [
            "series_id",
            "period",
            "mean",
            "lo_80",
            "hi_80",
            "lo_95",
            "hi_95"
        ]
    );
    let rows = &rows[1..];
    assert_eq!(rows.len(), 996 * 3);
    // Input order (first appearance), three periods each.
    let mut ids: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    ids.dedup();
    let expected: Vec<String> = (0..1000)
        .filter(|i| ![100, 200, 300, 700].contains(i))
        .map(|i| format!("s{i:04}"))
        .collect();
    assert_eq!(ids, expected);
    for chunk in rows.chunks(3) {
        let periods: Vec<&str> = chunk.iter().map(|r| r[1].as_str()).collect();
        assert_eq!(periods, ["2012", "2013", "2014"], "{chunk:?}");
        for row in chunk {
            let numbers: Vec<f64> = row[2..].iter().map(|v| v.parse().unwrap()).collect();
            let [mean, lo80, hi80, lo95, hi95] = numbers[..] else {
                panic!("{row:?}")
            };
            assert!(
                lo95 <= lo80 && lo80 <= mean && mean <= hi80 && hi80 <= hi95,
                "{row:?}"
            );
        }
    }

    // Each listed with its reason, in input order.
    let errors = read_csv(&errors);
    assert_eq!(errors[0], ["series_id", "reason"]);
    let reasons: HashMap<&str, &str> = errors[1..]
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    let listed: Vec<&str> = errors[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(listed, ["s0100", "s0200", "s0300", "s0700"]);
    assert!(
        reasons["s0100"].contains("value 'n/a' for 2005 is not a number"),
        "{}",
        reasons["s0100"]
    );
    assert!(
        reasons["s0200"].contains("jump from 2003 to 2005: 2004 is missing"),
        "{}",
        reasons["s0200"]
    );
    for short in ["s0300", "s0700"] {
        assert!(
            reasons[short]
                .starts_with("INVALID_ARGUMENT: series.observations: naive needs at least"),
            "{short}: {}",
            reasons[short]
        );
    }
}

#[test]
fn bulk_forecasts_equal_single_forecasts() {
    let server = Server::with_naive();
    let dir = tempfile::tempdir().unwrap();
    let input = many_csv(dir.path());
    let output = dir.path().join("out.csv");
    let out = stratus(
        &server,
        &bulk_forecast("naive", "2", &input, path(&output), &["--level", "90"]),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let rows = read_csv(&output);
    assert_eq!(rows[0], ["series_id", "period", "mean", "lo_90", "hi_90"]);
    // s0500 came in reverse order; s0999 is the last series.
    for i in [0, 500, 999] {
        let id = format!("s{i:04}");
        let single = dir.path().join(format!("{id}.csv"));
        let history: String = (2000..2012)
            .map(|year| format!("{year},{}\n", value(i, year)))
            .collect();
        std::fs::write(&single, format!("period,value\n{history}")).unwrap();
        let one = stratus(
            &server,
            &[
                "forecast",
                "--model",
                "naive",
                "--horizon",
                "2",
                "--level",
                "90",
                "--csv",
                path(&single),
                "--json",
            ],
        );
        assert!(one.status.success(), "{}", text(&one.stderr));
        let json: Value = serde_json::from_slice(&one.stdout).unwrap();
        let points = json["points"].as_array().unwrap();
        let bulk: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == id).collect();
        assert_eq!((bulk.len(), points.len()), (2, 2));
        for (row, point) in bulk.iter().zip(points) {
            assert_eq!(row[1], point["period"].as_str().unwrap());
            let mean: f64 = row[2].parse().unwrap();
            assert_eq!(mean, point["mean"].as_f64().unwrap(), "{id}");
            let upper: f64 = row[4].parse().unwrap();
            assert_eq!(upper, point["intervals"][0]["upper"].as_f64().unwrap());
        }
    }
    // Without --errors, the failures are on standard error.
    let stderr = text(&out.stderr);
    for id in ["s0100", "s0200", "s0300", "s0700"] {
        assert!(stderr.contains(&format!("series {id}: ")), "{stderr}");
    }
    assert!(stderr.contains("(listed above)"), "{stderr}");
}

#[test]
fn an_error_every_series_would_share_stops_the_run_and_lists_them_all() {
    let server = Server::with_naive();
    let dir = tempfile::tempdir().unwrap();
    let input = many_csv(dir.path());
    let (output, errors) = (dir.path().join("out.csv"), dir.path().join("errors.csv"));
    let started = std::time::Instant::now();
    let out = stratus(
        &server,
        &bulk_forecast(
            "nosuch",
            "3",
            &input,
            path(&output),
            &["--errors", path(&errors)],
        ),
    );
    assert_eq!(out.status.code(), Some(1));
    let errors = read_csv(&errors);
    assert_eq!(errors.len(), 1 + 1000, "every series is listed");
    let not_found = errors[1..]
        .iter()
        .filter(|r| r[1].starts_with("NOT_FOUND: model.name: no model 'nosuch'"))
        .count();
    // The two caught locally keep their own reasons.
    assert_eq!(not_found, 998, "{:?}", &errors[..3]);
    assert_eq!(read_csv(&output).len(), 1, "only the header");
    // One refusal, not a stream reopened per series.
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn good_input_exits_zero_and_can_write_to_standard_output() {
    let server = Server::with_naive();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("two.csv");
    std::fs::write(
        &input,
        "value,period,series_id\n1,2024-Q1,\"a, quoted\"\n2,2024-Q2,\"a, quoted\"\n3,2024-Q3,\"a, quoted\"\n\
         4,2024-Q4,\"a, quoted\"\n5,2025-Q1,\"a, quoted\"\n10,2020-01,m\n11,2020-02,m\n12,2020-03,m\n",
    )
    .unwrap();
    let out = stratus(&server, &bulk_forecast("naive", "1", &input, "-", &[]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[1].starts_with("\"a, quoted\",2025-Q2,"), "{stdout}");
    assert!(lines[2].starts_with("m,2020-04,"), "{stdout}");
    assert!(text(&out.stderr).contains("2 series in · 2 forecast · 0 failed"));
}

#[test]
fn an_unreadable_input_or_output_is_one_clear_error() {
    let server = Server::with_naive();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("x.csv");
    std::fs::write(&input, "id,period,value\na,2020,1\n").unwrap();
    let existing = dir.path().join("out.csv");
    std::fs::write(&existing, "keep me\n").unwrap();
    let out = stratus(
        &server,
        &bulk_forecast("naive", "1", &input, path(&existing), &[]),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("has no 'series_id' column"),
        "{}",
        text(&out.stderr)
    );
    // The input is read first, so a bad one leaves an existing output alone.
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me\n");
    std::fs::write(&input, "series_id,period,value\na,2020,1\n").unwrap();
    let out = stratus(
        &server,
        &bulk_forecast("naive", "1", &input, "/nonexistent/dir/out.csv", &[]),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot create --output /nonexistent/dir/out.csv"),
        "{}",
        text(&out.stderr)
    );
}

/// Runs `stratus ARGS` on a pseudo-terminal (util-linux `script`), so the
/// CLI sees a terminal on all three streams; returns what it printed.
fn on_a_terminal(server: &Server, args: &[&str], no_color: Option<&str>) -> Option<String> {
    let script = Command::new("script").arg("--version").output().ok()?;
    if !script.status.success() {
        return None;
    }
    let mut command_line = format!("{} --server {}", binary("stratus").display(), server.url);
    for arg in args {
        command_line.push_str(&format!(" '{arg}'"));
    }
    let mut command = Command::new("script");
    command.args(["-qec", &command_line, "/dev/null"]);
    command.env_remove("NO_COLOR").env("TERM", "xterm-256color");
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    Some(text(&command.output().expect("run script").stdout))
}

/// An SGR colour sequence (ESC [ ... m with a colour in it), as opposed to
/// the cursor movements a progress bar makes.
fn has_colour(output: &str) -> bool {
    output.match_indices("\x1b[").any(|(at, _)| {
        let rest = &output[at + 2..];
        let end = rest.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(0);
        rest[end..].starts_with('m')
            && rest[..end]
                .split(';')
                .any(|code| matches!(code.parse::<u32>(), Ok(30..=37 | 90..=97 | 38)))
    })
}

#[test]
fn colour_on_a_terminal_only_without_no_color() {
    let server = Server::start(stratus_e2e::ServerOptions {
        plugins: vec![stratus_e2e::NAIVE, stratus_e2e::BUBBLE],
        ..Default::default()
    });
    let risk = [
        "risk",
        "--model",
        "bubble",
        "--indicator",
        "capex_growth_pct=202",
        "--indicator",
        "utilization_pct=30",
        "--indicator",
        "revenue_growth_pct=13",
    ];
    let Some(coloured) = on_a_terminal(&server, &risk, None) else {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    };
    assert!(
        has_colour(&coloured),
        "a terminal gets colour: {coloured:?}"
    );
    let plain = on_a_terminal(&server, &risk, Some("1")).unwrap();
    assert!(plain.contains("band SEVERE"), "{plain:?}");
    assert!(!has_colour(&plain), "NO_COLOR=1: {plain:?}");
    // An empty NO_COLOR does not count (no-color.org).
    assert!(has_colour(
        &on_a_terminal(&server, &risk, Some("")).unwrap()
    ));
    // Piped: no colour at all.
    let piped = stratus(&server, &risk);
    assert!(!has_colour(&text(&piped.stdout)));

    // The progress bar shows on a terminal; its colour follows the same rule.
    let dir = tempfile::tempdir().unwrap();
    let input = many_csv(dir.path());
    let output = dir.path().join("out.csv");
    let bulk = bulk_forecast("naive", "1", &input, path(&output), &[]);
    let shown = on_a_terminal(&server, &bulk, None).unwrap();
    assert!(shown.contains("/1000 series"), "{shown:?}");
    assert!(has_colour(&shown), "{shown:?}");
    let plain = on_a_terminal(&server, &bulk, Some("1")).unwrap();
    assert!(plain.contains("/1000 series"), "{plain:?}");
    assert!(!has_colour(&plain), "{plain:?}");
    // Off a terminal the bar is hidden, only the summary is printed.
    let piped = stratus(&server, &bulk);
    let stderr = text(&piped.stderr);
    assert!(!stderr.contains("/1000 series"), "{stderr}");
    assert!(stderr.contains("1000 series in"), "{stderr}");
}
