//! Human-readable output: compact tables for responses.

use comfy_table::{Cell, CellAlignment, Table, presets};
use stratus_client::proto;

pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_header(header.iter().map(Cell::new));
    table
}

pub fn right(text: impl ToString) -> Cell {
    Cell::new(text.to_string()).set_alignment(CellAlignment::Right)
}

/// `INVALID_ARGUMENT: the message`: how every command prints a gRPC status.
pub fn status(status: &tonic::Status) -> String {
    format!("{}: {}", code_name(status.code()), status.message())
}

/// `INVALID_ARGUMENT` from `Code::InvalidArgument`.
pub fn code_name(code: tonic::Code) -> String {
    let mut name = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

fn model_line(model: Option<&proto::ModelInfo>) -> String {
    match model {
        // An ensemble has no library of its own; its members are listed.
        Some(m) if m.sha256.is_empty() => format!("model {}: {}", m.name, m.description),
        Some(m) => format!(
            "model {} {} (sha256 {})",
            m.name,
            m.version,
            m.sha256.get(..12).unwrap_or(&m.sha256)
        ),
        None => "model unknown".to_owned(),
    }
}

pub fn models(models: &[proto::ModelInfo]) -> String {
    let mut t = table(&[
        "NAME",
        "VERSION",
        "KIND",
        "STATE",
        "RUNS IN",
        "PARAMS",
        "DESCRIPTION / ERROR",
    ]);
    for m in models {
        let kind = match proto::ModelKind::try_from(m.kind) {
            Ok(proto::ModelKind::Unspecified) | Err(_) => "-",
            Ok(k) => k.as_str_name().trim_start_matches("MODEL_KIND_"),
        };
        let state = proto::ModelState::try_from(m.state)
            .map_or("?", |s| s.as_str_name().trim_start_matches("MODEL_STATE_"));
        let names: Vec<&str> = m
            .params
            .iter()
            .chain(&m.inputs)
            .map(|p| p.name.as_str())
            .collect();
        // Long lists (a scorecard's weights and thresholds) go to `--json`.
        let params = if names.join(",").len() <= 40 {
            names.join(",")
        } else {
            format!(
                "{} params, {} inputs (--json)",
                m.params.len(),
                m.inputs.len()
            )
        };
        // Where the library runs: the server, or a plugin host process.
        let runs_in = match proto::Isolation::try_from(m.isolation) {
            Ok(proto::Isolation::InProcess) => "server".to_owned(),
            Ok(proto::Isolation::Process) if m.host_pid == 0 => {
                format!("host (restarting, {} restarts)", m.restarts)
            }
            Ok(proto::Isolation::Process) if m.restarts > 0 => {
                format!("host pid {} ({} restarts)", m.host_pid, m.restarts)
            }
            Ok(proto::Isolation::Process) => format!("host pid {}", m.host_pid),
            _ => "-".to_owned(),
        };
        let about = if m.last_error.is_empty() {
            &m.description
        } else {
            &m.last_error
        };
        t.add_row(vec![
            Cell::new(&m.name),
            Cell::new(&m.version),
            Cell::new(kind.to_lowercase()),
            Cell::new(state.to_lowercase()),
            Cell::new(runs_in),
            Cell::new(params),
            Cell::new(about),
        ]);
    }
    format!("{t}\n")
}

pub fn datasets(datasets: &[proto::Dataset]) -> String {
    let mut t = table(&["NAME", "FREQUENCY", "PERIODS", "UNIT", "DESCRIPTION"]);
    for d in datasets {
        let series = d.series.clone().unwrap_or_default();
        let frequency = proto::Frequency::try_from(series.frequency)
            .map_or("?", |f| f.as_str_name().trim_start_matches("FREQUENCY_"))
            .to_lowercase();
        t.add_row(vec![
            Cell::new(&d.name),
            Cell::new(frequency),
            Cell::new(format!(
                "{}..{} ({})",
                d.first_period, d.last_period, d.observation_count
            )),
            Cell::new(&series.unit),
            Cell::new(&d.description),
        ]);
    }
    format!("{t}\n")
}

pub fn forecast(response: &proto::ForecastResponse) -> String {
    let levels: Vec<f64> = response
        .points
        .first()
        .map(|p| p.intervals.iter().map(|i| i.level).collect())
        .unwrap_or_default();
    let mut header = vec![
        "PERIOD".to_owned(),
        "MEAN".to_owned(),
        "GROWTH %".to_owned(),
    ];
    for level in &levels {
        header.push(format!("{level}% LOW"));
        header.push(format!("{level}% HIGH"));
    }
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut out = format!(
        "{} · series {}\n",
        model_line(response.model.as_ref()),
        response.series_name
    );
    if !response.members.is_empty() {
        let members: Vec<String> = response
            .members
            .iter()
            .map(|m| {
                let model = m.model.clone().unwrap_or_default();
                format!("{} {} (weight {:.2})", model.name, model.version, m.weight)
            })
            .collect();
        out.push_str(&format!("members: {}\n", members.join(", ")));
    }
    let mut t = table(&header);
    for p in &response.points {
        let mut row = vec![
            Cell::new(&p.period),
            right(format!("{:.2}", p.mean)),
            right(growth(p.growth)),
        ];
        for i in &p.intervals {
            row.push(right(format!("{:.2}", i.lower)));
            row.push(right(format!("{:.2}", i.upper)));
        }
        t.add_row(row);
    }
    out.push_str(&format!("{t}\n"));
    for scenario in &response.scenarios {
        let path: Vec<String> = scenario
            .points
            .iter()
            .map(|p| format!("{} {:.2}", p.period, p.mean))
            .collect();
        out.push_str(&format!(
            "scenario {}: {}\n",
            scenario.name,
            path.join(", ")
        ));
    }
    if !response.fitted.is_empty() {
        let mut fitted: Vec<_> = response.fitted.iter().collect();
        fitted.sort_by(|a, b| a.0.cmp(b.0));
        let fitted: Vec<String> = fitted.iter().map(|(k, v)| format!("{k}={v:.4}")).collect();
        out.push_str(&format!("fitted: {}\n", fitted.join(" ")));
    }
    for note in &response.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}

fn growth(g: f64) -> String {
    if g.is_finite() {
        format!("{g:+.1}")
    } else {
        "n/a".to_owned()
    }
}

/// A risk answer; `color`: the band in its colour (green LOW to red SEVERE).
pub fn risk(response: &proto::RiskResponse, color: bool) -> String {
    let band = proto::RiskBand::try_from(response.band)
        .map_or("?", |b| b.as_str_name().trim_start_matches("RISK_BAND_"));
    let shade = match proto::RiskBand::try_from(response.band) {
        Ok(proto::RiskBand::Low) => Some(crate::color::Color::Green),
        Ok(proto::RiskBand::Moderate) => Some(crate::color::Color::Yellow),
        Ok(proto::RiskBand::High | proto::RiskBand::Severe) => Some(crate::color::Color::Red),
        _ => None,
    };
    let band = match shade {
        Some(shade) => crate::color::paint(band, shade, color),
        None => band.to_owned(),
    };
    let mut out = format!(
        "{} · {}\nscore {:.1} / 100 · band {band}\n",
        model_line(response.model.as_ref()),
        if response.subject.is_empty() {
            "(no subject)"
        } else {
            &response.subject
        },
        response.score
    );
    let mut t = table(&["INDICATOR", "VALUE", "POINTS", "WHY"]);
    for f in &response.factors {
        t.add_row(vec![
            Cell::new(&f.indicator),
            right(format!("{:.2}", f.value)),
            right(format!("{:.1}", f.contribution)),
            Cell::new(&f.explanation),
        ]);
    }
    out.push_str(&format!("{t}\n"));
    for note in &response.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}

/// A backtest: one row per model, best OWA first, Naive2 last as the
/// reference.
pub fn backtest(response: &proto::BacktestResponse) -> String {
    // From a scored entry: an unscored one carries no coverage or origins.
    let scored = response.scores.iter().find(|s| s.error.is_empty());
    let levels: Vec<f64> = scored
        .map(|s| s.coverage.iter().map(|c| c.level).collect())
        .unwrap_or_default();
    let mut header = vec![
        "MODEL".to_owned(),
        "VERSION".to_owned(),
        "sMAPE".to_owned(),
        "MASE".to_owned(),
        "OWA".to_owned(),
    ];
    header.extend(levels.iter().map(|l| format!("COVER {l}%")));
    header.push("MSIS".to_owned());
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut ranked: Vec<&proto::ModelScore> = response.scores.iter().collect();
    ranked.sort_by(|a, b| a.owa.total_cmp(&b.owa));
    let origins = scored.map_or(0, |s| s.origins.len());
    let mut out = format!(
        "series {} · {origins} origins · OWA against Naive2 (below 1 beats it)\n",
        response.series_name
    );
    let number = |v: f64, digits: usize| {
        if v.is_finite() {
            format!("{v:.digits$}")
        } else {
            "—".to_owned()
        }
    };
    let mut t = table(&header);
    for score in ranked.into_iter().chain(response.naive2.as_ref()) {
        let model = score.model.clone().unwrap_or_default();
        let mut row = vec![
            Cell::new(&model.name),
            Cell::new(&model.version),
            right(number(score.smape, 2)),
            right(number(score.mase, 3)),
            right(number(score.owa, 3)),
        ];
        for level in &levels {
            let covered = score
                .coverage
                .iter()
                .find(|c| c.level == *level)
                .map_or(f64::NAN, |c| 100.0 * c.coverage);
            row.push(right(number(covered, 0)));
        }
        row.push(right(number(score.msis, 2)));
        t.add_row(row);
    }
    out.push_str(&format!("{t}\n"));
    for score in &response.scores {
        if !score.error.is_empty() {
            let name = score.model.as_ref().map_or("", |m| m.name.as_str());
            out.push_str(&format!("not scored: {name}: {}\n", score.error));
        }
    }
    out
}
