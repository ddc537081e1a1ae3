//! The CLI's pictures against a real server: `forecast --plot` (fan chart),
//! `compare` (table, backtest ranking, overlay chart) and `risk --plot`
//! (waterfall). SVG charts are parsed as XML and read back through their own
//! axes: every value drawn must land within a pixel of the value the server
//! answered.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use stratus_e2e::cli::{path, stratus, text};
use stratus_e2e::{BUBBLE, CANALYS, MCKINSEY, NAIVE, Server, ServerOptions, binary};

fn ok(out: &Output) -> Value {
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

/// What an SVG chart drew, in pixels.
struct Drawing {
    /// (text-anchor, x, y, text)
    texts: Vec<(String, f64, f64, String)>,
    polylines: Vec<Vec<(f64, f64)>>,
    polygons: Vec<Vec<(f64, f64)>>,
    /// (x, y, width, height)
    rects: Vec<(f64, f64, f64, f64)>,
}

fn points(attr: &str) -> Vec<(f64, f64)> {
    attr.split_whitespace()
        .map(|pair| {
            let (x, y) = pair.split_once(',').expect("x,y");
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

fn parse_svg(svg: &str) -> Drawing {
    let doc = roxmltree::Document::parse(svg).expect("the chart is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg", "root element");
    let number = |node: &roxmltree::Node, name: &str| -> f64 {
        node.attribute(name)
            .unwrap_or_else(|| panic!("{name} missing"))
            .parse()
            .unwrap()
    };
    let mut drawing = Drawing {
        texts: Vec::new(),
        polylines: Vec::new(),
        polygons: Vec::new(),
        rects: Vec::new(),
    };
    for node in root.descendants().filter(|n| n.is_element()) {
        match node.tag_name().name() {
            "text" => drawing.texts.push((
                node.attribute("text-anchor").unwrap_or("").to_owned(),
                number(&node, "x"),
                number(&node, "y"),
                node.text().unwrap_or("").trim().to_owned(),
            )),
            "polyline" => drawing
                .polylines
                .push(points(node.attribute("points").unwrap())),
            "polygon" => drawing
                .polygons
                .push(points(node.attribute("points").unwrap())),
            "rect" => drawing.rects.push((
                number(&node, "x"),
                number(&node, "y"),
                number(&node, "width"),
                number(&node, "height"),
            )),
            _ => {}
        }
    }
    drawing
}

/// A linear axis recovered from its tick labels: value = a + b × pixel.
struct Axis {
    a: f64,
    b: f64,
}

impl Axis {
    /// From (pixel, value) ticks: the two farthest apart fix the line, and
    /// every other tick must sit on it.
    fn from_ticks(mut ticks: Vec<(f64, f64)>) -> Axis {
        assert!(ticks.len() >= 3, "too few tick labels: {ticks:?}");
        ticks.sort_by(|p, q| p.0.total_cmp(&q.0));
        let ((p0, v0), (p1, v1)) = (ticks[0], ticks[ticks.len() - 1]);
        let b = (v1 - v0) / (p1 - p0);
        let axis = Axis { a: v0 - b * p0, b };
        for &(p, v) in &ticks {
            assert!(
                axis.pixel_error(p, v) <= 1.0,
                "tick {v} at {p} is off the axis"
            );
        }
        axis
    }

    /// How many pixels `value` is from `pixel` on this axis.
    fn pixel_error(&self, pixel: f64, value: f64) -> f64 {
        ((value - self.a) / self.b - pixel).abs()
    }

    fn value(&self, pixel: f64) -> f64 {
        self.a + self.b * pixel
    }
}

impl Drawing {
    /// The y axis of a chart over periods: right-aligned numeric labels.
    fn y_axis(&self) -> Axis {
        Axis::from_ticks(
            self.texts
                .iter()
                .filter(|(anchor, ..)| anchor == "end")
                .filter_map(|(_, _, y, t)| Some((*y, t.parse::<f64>().ok()?)))
                .collect(),
        )
    }

    /// The x axis of a chart over `periods` (history, then forecast): the
    /// period labels shown (centred below the axis) fix pixel per index.
    fn x_axis(&self, periods: &[String]) -> Periods {
        let ticks = self
            .texts
            .iter()
            .filter(|(anchor, ..)| anchor == "middle")
            .filter_map(|(_, x, _, t)| Some((periods.iter().position(|p| p == t)? as f64, *x)))
            .collect();
        // Axis maps value = a + b × pixel; here the "value" is the pixel
        // and the "pixel" the index, which is the same straight line.
        Periods {
            periods: periods.to_vec(),
            axis: Axis::from_ticks(ticks),
        }
    }

    fn has_text(&self, wanted: &str) -> bool {
        self.texts.iter().any(|(.., t)| t == wanted)
    }

    /// Whether some polyline passes, within a pixel, through every
    /// (period, value).
    fn has_line_through(&self, x: &Periods, y: &Axis, path: &[(String, f64)]) -> bool {
        self.polylines
            .iter()
            .any(|line| passes_through(line, x, y, path))
    }

    /// Whether some polygon has a vertex at every (period, value).
    fn has_polygon_through(&self, x: &Periods, y: &Axis, path: &[(String, f64)]) -> bool {
        self.polygons
            .iter()
            .any(|polygon| passes_through(polygon, x, y, path))
    }
}

/// The x axis of a chart over periods.
struct Periods {
    periods: Vec<String>,
    /// pixel = a + b × index
    axis: Axis,
}

impl Periods {
    fn x(&self, period: &str) -> f64 {
        let index = self
            .periods
            .iter()
            .position(|p| p == period)
            .unwrap_or_else(|| panic!("{period} is not on the chart"));
        self.axis.value(index as f64)
    }
}

fn passes_through(vertices: &[(f64, f64)], x: &Periods, y: &Axis, path: &[(String, f64)]) -> bool {
    // An empty path would pass vacuously.
    !path.is_empty()
        && path.iter().all(|(period, value)| {
            let x = x.x(period);
            vertices
                .iter()
                .any(|&(px, py)| (px - x).abs() <= 1.0 && y.pixel_error(py, *value) <= 1.0)
        })
}

/// The periods of a history then a forecast.
fn periods_of(history: &[(String, f64)], forecast: &[(String, f64)]) -> Vec<String> {
    history
        .iter()
        .chain(forecast)
        .map(|(p, _)| p.clone())
        .collect()
}

/// (period, mean) of a forecast's points or a scenario's.
fn means(points: &Value) -> Vec<(String, f64)> {
    points
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["period"].as_str().unwrap().to_owned(),
                p["mean"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// (period, bound) of one level's interval along a forecast.
fn bounds(points: &Value, level: f64, bound: &str) -> Vec<(String, f64)> {
    points
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let interval = p["intervals"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["level"].as_f64() == Some(level))
                .expect("interval at level");
            (
                p["period"].as_str().unwrap().to_owned(),
                interval[bound].as_f64().unwrap(),
            )
        })
        .collect()
}

const HISTORY: [(&str, f64); 6] = [
    ("2019", 11.5),
    ("2020", 19.0),
    ("2021", 27.4),
    ("2022", 30.3),
    ("2023", 35.4),
    ("2024", 40.0),
];

/// A built-in dataset's observations as (period, value), asked of the server.
fn dataset_history(server: &Server, name: &str) -> Vec<(String, f64)> {
    let dataset = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async { server.client().await.get_dataset(name).await.unwrap() });
    dataset
        .series
        .unwrap()
        .observations
        .into_iter()
        .map(|o| (o.period, o.value))
        .collect()
}

fn history_csv(dir: &Path) -> std::path::PathBuf {
    let csv = dir.join("sales.csv");
    let rows: String = HISTORY
        .iter()
        .map(|(period, value)| format!("{period},{value}\n"))
        .collect();
    std::fs::write(&csv, format!("period,value\n{rows}")).unwrap();
    csv
}

#[test]
fn a_fan_chart_draws_the_forecast_it_prints() {
    let server = Server::with_naive();
    let dir = tempfile::tempdir().unwrap();
    let csv = history_csv(dir.path());
    let svg = dir.path().join("fan.svg");
    let json = ok(&stratus(
        &server,
        &[
            "forecast",
            "--model",
            "naive",
            "--csv",
            path(&csv),
            "--horizon",
            "3",
            "--plot",
            path(&svg),
            "--json",
        ],
    ));
    let drawing = parse_svg(&std::fs::read_to_string(&svg).unwrap());

    // The caption names the model, its version and its library.
    let sha = json["model"]["sha256"].as_str().unwrap();
    let caption = format!(
        "naive {} · sha256 {} · sales",
        json["model"]["version"].as_str().unwrap(),
        &sha[..12]
    );
    assert!(drawing.has_text(&caption), "no caption {caption}");

    let y = drawing.y_axis();
    let points = &json["points"];
    let history: Vec<(String, f64)> = HISTORY.iter().map(|(p, v)| (p.to_string(), *v)).collect();
    let x = drawing.x_axis(&periods_of(&history, &means(points)));
    assert!(
        drawing.has_line_through(&x, &y, &means(points)),
        "no line through the means"
    );
    assert!(
        drawing.has_line_through(&x, &y, &history),
        "no line through the history"
    );
    for level in [80.0, 95.0] {
        for bound in ["lower", "upper"] {
            assert!(
                drawing.has_polygon_through(&x, &y, &bounds(points, level, bound)),
                "no band through the {level}% {bound} bounds"
            );
        }
    }
    for legend in ["95% interval", "80% interval", "mean", "history"] {
        assert!(drawing.has_text(legend), "legend lacks {legend}");
    }
    // The 95% band is drawn first (lighter, under the 80% one).
    assert_eq!(drawing.polygons.len(), 2);
    let widest = |polygon: &Vec<(f64, f64)>| {
        polygon
            .iter()
            .map(|p| p.1)
            .fold(f64::NEG_INFINITY, f64::max)
            - polygon.iter().map(|p| p.1).fold(f64::INFINITY, f64::min)
    };
    assert!(widest(&drawing.polygons[0]) > widest(&drawing.polygons[1]));
}

#[test]
fn a_fan_chart_of_a_dataset_draws_its_history_and_scenarios() {
    let server = Server::start(ServerOptions {
        plugins: vec![MCKINSEY],
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("fan.svg");
    let out = stratus(
        &server,
        &[
            "forecast",
            "--model",
            "mckinsey",
            "--dataset",
            "global-cloud-infra-annual",
            "--horizon",
            "4",
            "--level",
            "90",
            "--plot",
            path(&svg),
            "--json",
        ],
    );
    let json = ok(&out);
    assert!(
        text(&out.stderr).contains(&format!("chart written to {}", svg.display())),
        "{}",
        text(&out.stderr)
    );
    let drawing = parse_svg(&std::fs::read_to_string(&svg).unwrap());
    let y = drawing.y_axis();

    let history = dataset_history(&server, "global-cloud-infra-annual");
    let x = drawing.x_axis(&periods_of(&history, &means(&json["points"])));
    assert!(
        drawing.has_line_through(&x, &y, &history),
        "no line through the dataset"
    );
    assert!(drawing.has_line_through(&x, &y, &means(&json["points"])));
    let scenarios = json["scenarios"].as_array().unwrap();
    assert!(!scenarios.is_empty(), "mckinsey returns scenarios");
    for scenario in scenarios {
        let name = scenario["name"].as_str().unwrap();
        assert!(
            drawing.has_text(&format!("scenario {name}")),
            "legend lacks {name}"
        );
        assert!(
            drawing.has_line_through(&x, &y, &means(&scenario["points"])),
            "no line for scenario {name}"
        );
    }
    // One requested level, one band.
    assert!(drawing.has_text("90% interval"));
    assert_eq!(drawing.polygons.len(), 1);
}

#[test]
fn a_png_plot_is_a_png() {
    let server = Server::with_naive();
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("fan.png");
    let out = stratus(
        &server,
        &[
            "forecast",
            "--model",
            "naive",
            "--dataset",
            "china-cloud-infra-quarterly",
            "--horizon",
            "8",
            "--plot",
            path(&png),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The table is printed as usual.
    assert!(text(&out.stdout).contains("95% HIGH"));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (1000, 560));
    assert!(
        bytes.len() > 20_000,
        "{} bytes: too small for a drawn chart",
        bytes.len()
    );
}

#[test]
fn a_plot_name_without_svg_or_png_is_refused_before_calling() {
    let out = Command::new(binary("stratus"))
        // Nothing listens here: the name is refused before any call.
        .args([
            "--server",
            "http://127.0.0.1:9",
            "forecast",
            "--model",
            "naive",
        ])
        .args(["--dataset", "x", "--horizon", "1", "--plot", "fan.pdf"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--plot fan.pdf: name the file .svg or .png"),
        "{stderr}"
    );
}

/// The ranking lines of `compare`: model names, best first.
fn ranking(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("ranking by backtest"))
        .skip(2) // the heading and the table header
        .enumerate()
        .map_while(|(i, l)| {
            let mut words = l.split_whitespace();
            let rank = words.next()?.parse::<usize>().ok()?;
            assert_eq!(rank, i + 1, "ranks count from 1, in order: {l}");
            words.next().map(str::to_owned)
        })
        .collect()
}

#[test]
fn compare_shows_models_side_by_side_ranked_by_backtest() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE, CANALYS, MCKINSEY],
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("compare.svg");
    let models = ["naive", "canalys", "mckinsey"];
    let mut args = vec!["compare"];
    for model in models {
        args.extend(["--model", model]);
    }
    args.extend([
        "--dataset",
        "china-cloud-infra-quarterly",
        "--plot",
        path(&svg),
    ]);
    let out = stratus(&server, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // A year ahead by default for quarterly data, every model's mean and
    // 95% interval per period.
    for expected in [
        "2025-Q2",
        "2026-Q1",
        "naive MEAN",
        "canalys 95%",
        "mckinsey MEAN",
        "3 origins, 4 periods ahead each",
    ] {
        assert!(stdout.contains(expected), "missing {expected}:\n{stdout}");
    }

    // The ranking is the backtest's order by OWA.
    let backtest = ok(&stratus(
        &server,
        &[
            "backtest",
            "--model",
            "naive",
            "--model",
            "canalys",
            "--model",
            "mckinsey",
            "--dataset",
            "china-cloud-infra-quarterly",
            "--horizon",
            "4",
            "--origins",
            "3",
            "--json",
        ],
    ));
    let mut scored: Vec<(String, f64)> = backtest["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["model"]["name"].as_str().unwrap().to_owned(),
                s["owa"].as_f64().unwrap(),
            )
        })
        .collect();
    scored.sort_by(|a, b| a.1.total_cmp(&b.1));
    let expected: Vec<String> = scored.into_iter().map(|(name, _)| name).collect();
    assert_eq!(ranking(&stdout), expected, "{stdout}");
    for (name, owa) in backtest["scores"].as_array().unwrap().iter().map(|s| {
        (
            s["model"]["name"].as_str().unwrap(),
            s["owa"].as_f64().unwrap(),
        )
    }) {
        let row = stdout
            .lines()
            .skip_while(|l| !l.starts_with("ranking by backtest"))
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap();
        assert!(row.contains(&format!("{owa:.3}")), "{row}");
    }

    // The overlay: a line through each model's means, named in the legend
    // with its library.
    let drawing = parse_svg(&std::fs::read_to_string(&svg).unwrap());
    let y = drawing.y_axis();
    let history = dataset_history(&server, "china-cloud-infra-quarterly");
    let json = ok(&stratus(
        &server,
        &[
            "compare",
            "--model",
            "naive",
            "--model",
            "canalys",
            "--model",
            "mckinsey",
            "--dataset",
            "china-cloud-infra-quarterly",
            "--json",
        ],
    ));
    let x = drawing.x_axis(&periods_of(
        &history,
        &means(&json["forecasts"][0]["points"]),
    ));
    assert!(drawing.has_line_through(&x, &y, &history));
    for forecast in json["forecasts"].as_array().unwrap() {
        let model = &forecast["model"];
        let label = format!(
            "{} {} · sha256 {}",
            model["name"].as_str().unwrap(),
            model["version"].as_str().unwrap(),
            &model["sha256"].as_str().unwrap()[..12]
        );
        assert!(drawing.has_text(&label), "legend lacks {label}");
        assert!(
            drawing.has_line_through(&x, &y, &means(&forecast["points"])),
            "no line for {label}"
        );
    }
    assert_eq!(drawing.polygons.len(), 3, "one band per model");
    assert_eq!(json["backtest"]["scores"].as_array().unwrap().len(), 3);
}

#[test]
fn compare_on_a_short_series_says_so_in_one_line() {
    let server = Server::with_naive();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("short.csv");
    std::fs::write(
        &csv,
        "period,value\n2024-Q1,10\n2024-Q2,11\n2024-Q3,12\n2024-Q4,13\n2025-Q1,12\n",
    )
    .unwrap();
    let out = stratus(
        &server,
        &[
            "compare",
            "--model",
            "naive",
            "--model",
            "naive@1.0.0",
            "--csv",
            path(&csv),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("ranking:"))
        .unwrap_or_else(|| panic!("no ranking line:\n{stdout}"));
    assert!(
        line.contains("too short")
            && line.contains("5 observations")
            && line.contains("at least 6"),
        "{line}"
    );
    assert!(
        stdout.contains("2026-Q1"),
        "the forecasts are shown:\n{stdout}"
    );
}

#[test]
fn compare_lists_a_model_that_cannot_forecast_and_exits_non_zero() {
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE, MCKINSEY],
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("four.csv");
    // Enough for naive, too few for an S-curve.
    std::fs::write(&csv, "period,value\n2021,10\n2022,12\n2023,15\n2024,17\n").unwrap();
    let out = stratus(
        &server,
        &[
            "compare",
            "--model",
            "naive",
            "--model",
            "mckinsey",
            "--csv",
            path(&csv),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("naive MEAN"),
        "{}",
        text(&out.stdout)
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("not forecast: mckinsey: INVALID_ARGUMENT:"),
        "{stderr}"
    );
}

#[test]
fn a_risk_waterfall_adds_each_factor_up_to_the_score() {
    let server = Server::start(ServerOptions {
        plugins: vec![BUBBLE],
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("risk.svg");
    let json = ok(&stratus(
        &server,
        &[
            "risk",
            "--model",
            "bubble",
            "--subject",
            "test market",
            "--indicator",
            "capex_growth_pct=202",
            "--indicator",
            "revenue_growth_pct=13",
            "--indicator",
            "utilization_pct=30",
            "--indicator",
            "capex_to_revenue=0.52",
            "--plot",
            path(&svg),
            "--json",
        ],
    ));
    let drawing = parse_svg(&std::fs::read_to_string(&svg).unwrap());
    // The score axis, from its numeric labels below the bars.
    let x = Axis::from_ticks(
        drawing
            .texts
            .iter()
            .filter(|(anchor, ..)| anchor == "middle")
            .filter_map(|(_, px, _, t)| Some((*px, t.parse::<f64>().ok()?)))
            .collect(),
    );
    // Bars: every rectangle but the canvas.
    let bars: Vec<(f64, f64)> = drawing
        .rects
        .iter()
        .filter(|r| r.2 < 1000.0)
        .map(|&(left, _, width, _)| (x.value(left), x.value(left + width)))
        .collect();
    let factors = json["factors"].as_array().unwrap();
    assert_eq!(
        bars.len(),
        factors.len() + 1,
        "a bar per factor, then the score"
    );
    let tolerance = x.b.abs() * 1.5;
    let mut running = 0.0;
    for (factor, &(left, right)) in factors.iter().zip(&bars) {
        let points = factor["contribution"].as_f64().unwrap();
        let (from, to) = (running, running + points);
        assert!(
            (left - from.min(to)).abs() <= tolerance && (right - from.max(to)).abs() <= tolerance,
            "{}: bar {left:.2}..{right:.2}, expected {from:.2}..{to:.2}",
            factor["indicator"]
        );
        assert!(drawing.has_text(factor["indicator"].as_str().unwrap()));
        running = to;
    }
    let score = json["score"].as_f64().unwrap();
    let (left, right) = bars[factors.len()];
    assert!(left.abs() <= tolerance && (right - score).abs() <= tolerance);
    let band = json["band"]
        .as_str()
        .unwrap()
        .trim_start_matches("RISK_BAND_");
    assert!(drawing.has_text(&format!("score ({band})")));
    assert!(drawing.has_text(&format!("{score:.1}")));
    let sha = json["model"]["sha256"].as_str().unwrap();
    assert!(
        drawing
            .texts
            .iter()
            .any(|(.., t)| t.contains(&sha[..12]) && t.contains("test market")),
        "caption"
    );
}
