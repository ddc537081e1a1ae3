//! Charts of values over periods: a forecast's fan chart (history, mean
//! path, a shaded band per interval level, scenarios) and the overlay of
//! several models' forecasts that `stratus compare` draws.
//!
//! The x axis is the period's position (history first, then the forecast),
//! labelled with the period itself, so annual, quarterly and monthly series
//! need no calendar arithmetic here.

use plotters::coord::Shift;
use plotters::prelude::*;
use stratus_client::proto;

use super::{Chart, DrawResult, FONT, short_sha, tick};

/// History older than this many periods is left off the chart: the forecast
/// would shrink to a sliver beside a long monthly series.
const MAX_HISTORY: usize = 120;

/// Colours of the history and of the fan chart's mean path and bands.
const HISTORY: RGBColor = RGBColor(40, 40, 40);
const MEAN: RGBColor = RGBColor(31, 119, 180);

/// One colour per model in an overlay, then per scenario (matplotlib's
/// tab10, which stays distinguishable for most colour-blind readers).
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// A chart of lines and shaded bands over labelled periods.
#[derive(Debug, Clone)]
pub struct PathChart {
    pub caption: String,
    /// The y axis' unit (the series', e.g. "USD bn"); empty for none.
    pub unit: String,
    /// The x axis: period `i` is drawn at x = i.
    pub periods: Vec<String>,
    /// Drawn first, in order (widest first, so narrower ones sit on top).
    pub bands: Vec<Band>,
    /// Drawn over the bands, in order.
    pub lines: Vec<Line>,
}

/// A shaded region between two paths.
#[derive(Debug, Clone)]
pub struct Band {
    pub label: String,
    pub color: RGBColor,
    pub opacity: f64,
    /// The shade the band shows where it lies over the wider ones, for its
    /// legend patch.
    pub legend_opacity: f64,
    /// The period index of the first value.
    pub start: usize,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
}

/// A path.
#[derive(Debug, Clone)]
pub struct Line {
    pub label: String,
    pub color: RGBColor,
    pub width: u32,
    /// The period index of the first value.
    pub start: usize,
    pub values: Vec<f64>,
}

/// What every chart of a forecast starts from: the history's periods and
/// line, then the forecast's periods.
struct Frame {
    periods: Vec<String>,
    history: Option<Line>,
    /// Where forecast paths start: the last history point, so the fan grows
    /// out of the observed line rather than floating beside it.
    anchor: Option<(usize, f64)>,
}

impl Frame {
    fn new(history: &proto::Series, forecast: &[proto::ForecastPoint]) -> Frame {
        let shown = &history.observations[history.observations.len().saturating_sub(MAX_HISTORY)..];
        let mut periods: Vec<String> = shown.iter().map(|o| o.period.clone()).collect();
        periods.extend(forecast.iter().map(|p| p.period.clone()));
        let history_line = (!shown.is_empty()).then(|| Line {
            label: "history".to_owned(),
            color: HISTORY,
            width: 2,
            start: 0,
            values: shown.iter().map(|o| o.value).collect(),
        });
        Frame {
            periods,
            history: history_line,
            anchor: shown.last().map(|o| (shown.len() - 1, o.value)),
        }
    }

    /// A forecast path, starting from the anchor when there is one.
    fn path(&self, values: impl Iterator<Item = f64>) -> (usize, Vec<f64>) {
        match self.anchor {
            Some((i, value)) => (i, std::iter::once(value).chain(values).collect()),
            None => (0, values.collect()),
        }
    }
}

/// The interval levels a forecast carries, widest first.
fn levels_widest_first(points: &[proto::ForecastPoint]) -> Vec<f64> {
    let mut levels: Vec<f64> = points
        .first()
        .map(|p| p.intervals.iter().map(|i| i.level).collect())
        .unwrap_or_default();
    levels.sort_by(|a, b| b.total_cmp(a));
    levels.dedup();
    levels
}

/// The bounds of `level`'s interval along the path (NaN where a point
/// lacks it, which leaves the band open there rather than inventing data).
fn bounds(points: &[proto::ForecastPoint], level: f64) -> (Vec<f64>, Vec<f64>) {
    points
        .iter()
        .map(|p| p.bounds(level).unwrap_or((f64::NAN, f64::NAN)))
        .unzip()
}

/// `naive 1.0.0 · sha256 4298e849dffa`, or for an ensemble its members with
/// theirs: the caption names exactly which libraries drew the forecast.
fn model_caption(response: &proto::ForecastResponse) -> String {
    if !response.members.is_empty() {
        let members: Vec<String> = response
            .members
            .iter()
            .filter_map(|m| m.model.as_ref())
            .map(|m| format!("{} {} ({})", m.name, m.version, short_sha(&m.sha256)))
            .collect();
        return format!("ensemble of {}", members.join(" + "));
    }
    match &response.model {
        Some(m) => format!("{} {} · sha256 {}", m.name, m.version, short_sha(&m.sha256)),
        None => "model unknown".to_owned(),
    }
}

fn level_label(level: f64) -> String {
    format!("{}%", tick(level))
}

/// The fan chart of one forecast over its history: mean path, a band per
/// interval level (lighter the wider), and each scenario as a line.
pub fn fan(response: &proto::ForecastResponse, history: &proto::Series) -> PathChart {
    let frame = Frame::new(history, &response.points);
    let levels = levels_widest_first(&response.points);
    // Bands overlap, so inner ones come out darker; a lower opacity with
    // many levels keeps the innermost readable.
    let opacity = (0.45 / levels.len().max(1) as f64).clamp(0.08, 0.2);
    let bands = levels
        .iter()
        .enumerate()
        .map(|(i, &level)| {
            let (lower, upper) = bounds(&response.points, level);
            let (start, lower) = frame.path(lower.into_iter());
            let (_, upper) = frame.path(upper.into_iter());
            Band {
                label: format!("{} interval", level_label(level)),
                color: MEAN,
                opacity,
                // Inside the i wider bands, i + 1 layers overlap.
                legend_opacity: 1.0 - (1.0 - opacity).powi(i as i32 + 1),
                start,
                lower,
                upper,
            }
        })
        .collect();
    let mut lines: Vec<Line> = frame.history.clone().into_iter().collect();
    for (i, scenario) in response.scenarios.iter().enumerate() {
        let (start, values) = frame.path(scenario.points.iter().map(|p| p.mean));
        lines.push(Line {
            label: format!("scenario {}", scenario.name),
            color: PALETTE[(i + 1) % PALETTE.len()],
            width: 2,
            start,
            values,
        });
    }
    let (start, values) = frame.path(response.points.iter().map(|p| p.mean));
    lines.push(Line {
        label: "mean".to_owned(),
        color: MEAN,
        width: 3,
        start,
        values,
    });
    PathChart {
        caption: format!(
            "{} · {}",
            model_caption(response),
            if response.series_name.is_empty() {
                &history.name
            } else {
                &response.series_name
            }
        ),
        unit: history.unit.clone(),
        periods: frame.periods,
        bands,
        lines,
    }
}

/// Several models' forecasts of one series on one chart: each model's mean
/// path and, lightly, its widest interval.
pub fn overlay(responses: &[proto::ForecastResponse], history: &proto::Series) -> PathChart {
    let longest = responses
        .iter()
        .max_by_key(|r| r.points.len())
        .map_or(&[][..], |r| &r.points[..]);
    let frame = Frame::new(history, longest);
    let mut bands = Vec::new();
    let mut lines: Vec<Line> = frame.history.clone().into_iter().collect();
    for (i, response) in responses.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let name = response
            .model
            .as_ref()
            .map_or_else(|| format!("model {}", i + 1), |m| m.name.clone());
        if let Some(&widest) = levels_widest_first(&response.points).first() {
            let (lower, upper) = bounds(&response.points, widest);
            let (start, lower) = frame.path(lower.into_iter());
            let (_, upper) = frame.path(upper.into_iter());
            bands.push(Band {
                label: format!("{name} {}", level_label(widest)),
                color,
                opacity: 0.12,
                legend_opacity: 0.12,
                start,
                lower,
                upper,
            });
        }
        let (start, values) = frame.path(response.points.iter().map(|p| p.mean));
        lines.push(Line {
            label: model_caption(response),
            color,
            width: 3,
            start,
            values,
        });
    }
    let names: Vec<&str> = responses
        .iter()
        .filter_map(|r| r.model.as_ref())
        .map(|m| m.name.as_str())
        .collect();
    PathChart {
        // Versions and library hashes are in the legend, one per line.
        caption: format!("{} · {}", history.name, names.join(" vs ")),
        unit: history.unit.clone(),
        periods: frame.periods,
        bands,
        lines,
    }
}

impl PathChart {
    /// The y range: every finite value drawn, with 5% room above and below.
    fn y_range(&self) -> (f64, f64) {
        let values = self
            .lines
            .iter()
            .flat_map(|l| l.values.iter())
            .chain(
                self.bands
                    .iter()
                    .flat_map(|b| b.lower.iter().chain(&b.upper)),
            )
            .copied()
            .filter(|v| v.is_finite());
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        if !lo.is_finite() {
            return (0.0, 1.0);
        }
        let pad = if hi > lo { (hi - lo) * 0.05 } else { 1.0 };
        (lo - pad, hi + pad)
    }
}

/// `(x, y)` pairs of a path that starts at period `start`, skipping missing
/// values.
fn points(start: usize, values: &[f64]) -> Vec<(i32, f64)> {
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, &v)| (i32::try_from(start + i).unwrap_or(i32::MAX), v))
        .collect()
}

impl Chart for PathChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        let last = i32::try_from(self.periods.len().saturating_sub(1))
            .unwrap_or(i32::MAX)
            .max(1);
        let (lo, hi) = self.y_range();
        // Room for the longest y label (about 8 px a character at 14 px).
        let widest = tick(lo).len().max(tick(hi).len()) as u32;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.caption, (FONT, super::caption_size(&self.caption)))
            .margin(16)
            // Room for half of the last period's label.
            .margin_right(40)
            .x_label_area_size(36)
            .y_label_area_size(44 + 8 * widest)
            .build_cartesian_2d(0..last, lo..hi)?;
        let period = |x: &i32| {
            usize::try_from(*x)
                .ok()
                .and_then(|i| self.periods.get(i))
                .cloned()
                .unwrap_or_default()
        };
        let value = |y: &f64| tick(*y);
        chart
            .configure_mesh()
            .x_labels(self.periods.len().min(12))
            .y_labels(8)
            .x_label_formatter(&period)
            .y_label_formatter(&value)
            .y_desc(&self.unit)
            // No minor grid (a zero light-line count trips an overflow in
            // plotters' integer axes); transparent lines are not drawn.
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.08))
            .label_style((FONT, 14))
            .draw()?;
        for band in &self.bands {
            let mut outline = points(band.start, &band.upper);
            let mut lower = points(band.start, &band.lower);
            lower.reverse();
            outline.extend(lower);
            let fill = band.color.mix(band.opacity);
            let patch = band.color.mix(band.legend_opacity);
            chart
                .draw_series(std::iter::once(Polygon::new(outline, fill.filled())))?
                .label(&band.label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 18, y + 6)], patch.filled())
                });
        }
        for line in &self.lines {
            let style = line.color.stroke_width(line.width);
            chart
                .draw_series(LineSeries::new(points(line.start, &line.values), style))?
                .label(&line.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 13))
            .draw()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history() -> proto::Series {
        proto::Series {
            name: "sales".into(),
            observations: [("2023", 10.0), ("2024", 12.0)]
                .map(|(period, value)| proto::Observation {
                    period: period.into(),
                    value,
                })
                .to_vec(),
            ..Default::default()
        }
    }

    fn point(period: &str, mean: f64) -> proto::ForecastPoint {
        proto::ForecastPoint {
            period: period.into(),
            mean,
            growth: 0.0,
            intervals: [(80.0, 2.0), (95.0, 4.0)]
                .map(|(level, half)| proto::Interval {
                    level,
                    lower: mean - half,
                    upper: mean + half,
                })
                .to_vec(),
        }
    }

    fn response() -> proto::ForecastResponse {
        proto::ForecastResponse {
            model: Some(proto::ModelInfo {
                name: "naive".into(),
                version: "1.0.0".into(),
                sha256: "4298e849dffa0123456789".into(),
                ..Default::default()
            }),
            series_name: "sales".into(),
            points: vec![point("2025", 14.0), point("2026", 16.0)],
            ..Default::default()
        }
    }

    #[test]
    fn a_fan_grows_out_of_the_last_observation() {
        let chart = fan(&response(), &history());
        assert_eq!(chart.periods, ["2023", "2024", "2025", "2026"]);
        assert_eq!(chart.caption, "naive 1.0.0 · sha256 4298e849dffa · sales");
        // Widest first, so the narrower band is drawn on top of it.
        assert_eq!(chart.bands[0].label, "95% interval");
        assert_eq!(chart.bands[0].start, 1);
        assert_eq!(chart.bands[0].lower, [12.0, 10.0, 12.0]);
        assert_eq!(chart.bands[1].upper, [12.0, 16.0, 18.0]);
        let mean = chart.lines.last().unwrap();
        assert_eq!((mean.label.as_str(), mean.start), ("mean", 1));
        assert_eq!(mean.values, [12.0, 14.0, 16.0]);
        assert_eq!(chart.lines[0].values, [10.0, 12.0]);
    }

    #[test]
    fn an_overlay_has_a_line_and_a_band_per_model() {
        let mut other = response();
        other.model.as_mut().unwrap().name = "canalys".into();
        let chart = overlay(&[response(), other], &history());
        let labels: Vec<&str> = chart.lines.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "history",
                "naive 1.0.0 · sha256 4298e849dffa",
                "canalys 1.0.0 · sha256 4298e849dffa"
            ]
        );
        assert_eq!(chart.bands.len(), 2);
        assert_eq!(chart.bands[1].label, "canalys 95%");
        assert_eq!(chart.caption, "sales · naive vs canalys");
    }

    #[test]
    fn the_svg_draws_every_layer() {
        let svg = super::super::svg(&fan(&response(), &history())).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert_eq!(svg.matches("<polygon").count(), 2, "one per level");
        assert!(svg.contains("sha256 4298e849dffa"));
    }
}
