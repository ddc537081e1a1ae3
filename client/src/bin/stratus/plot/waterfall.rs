//! `stratus risk --plot`: a risk score as a waterfall. Each factor's bar
//! starts where the previous one ended and spans its contribution; the last
//! bar runs from 0 to the score, so the chart reads as "these points, added
//! up, make this score". Horizontal, so indicator names read left to right.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use stratus_client::proto;

use super::{Chart, DrawResult, FONT, short_sha, tick};

const ADDS: RGBColor = RGBColor(214, 96, 77);
const SUBTRACTS: RGBColor = RGBColor(67, 147, 195);

/// Half a bar's thickness, in rows.
const HALF_BAR: f64 = 0.32;

/// A score built up from contributions.
#[derive(Debug, Clone)]
pub struct Waterfall {
    pub caption: String,
    /// (indicator, points), in the order drawn (top first).
    pub steps: Vec<(String, f64)>,
    pub total_label: String,
    pub total: f64,
    pub total_color: RGBColor,
}

/// A band's colour: green through red as the risk grows.
fn band_color(band: i32) -> RGBColor {
    match proto::RiskBand::try_from(band) {
        Ok(proto::RiskBand::Low) => RGBColor(26, 152, 80),
        Ok(proto::RiskBand::Moderate) => RGBColor(230, 171, 2),
        Ok(proto::RiskBand::High) => RGBColor(244, 109, 67),
        Ok(proto::RiskBand::Severe) => RGBColor(165, 0, 38),
        _ => RGBColor(120, 120, 120),
    }
}

/// The waterfall of a risk answer, factors in the order the model gave
/// them (the bundled scorecard lists the largest first).
pub fn risk(response: &proto::RiskResponse) -> Waterfall {
    let band = proto::RiskBand::try_from(response.band)
        .map_or("?", |b| b.as_str_name().trim_start_matches("RISK_BAND_"));
    let model = match &response.model {
        Some(m) => format!("{} {} · sha256 {}", m.name, m.version, short_sha(&m.sha256)),
        None => "model unknown".to_owned(),
    };
    let subject = if response.subject.is_empty() {
        String::new()
    } else {
        format!(" · {}", response.subject)
    };
    Waterfall {
        caption: format!("{model}{subject}"),
        steps: response
            .factors
            .iter()
            .map(|f| (f.indicator.clone(), f.contribution))
            .collect(),
        total_label: format!("score ({band})"),
        total: response.score,
        total_color: band_color(response.band),
    }
}

impl Waterfall {
    /// Each step's (from, to), then the total's.
    fn spans(&self) -> Vec<(f64, f64)> {
        let mut running = 0.0;
        let mut spans: Vec<(f64, f64)> = self
            .steps
            .iter()
            .map(|(_, points)| {
                let from = running;
                running += points;
                (from, running)
            })
            .collect();
        spans.push((0.0, self.total));
        spans
    }
}

impl Chart for Waterfall {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        let spans = self.spans();
        let rows = spans.len();
        // Scores run 0 to 100; wider only if contributions overshoot.
        let (lo, hi) = spans
            .iter()
            .flat_map(|&(a, b)| [a, b])
            .filter(|v| v.is_finite())
            .fold((0.0f64, 100.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let labels: Vec<&str> = self
            .steps
            .iter()
            .map(|(name, _)| name.as_str())
            .chain([self.total_label.as_str()])
            .collect();
        let widest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u32;
        // Row r (0 at the top) sits at y = rows - 1 - r.
        let y_of = |row: usize| (rows - 1 - row) as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.caption, (FONT, super::caption_size(&self.caption)))
            .margin(16)
            .x_label_area_size(36)
            .y_label_area_size(24 + 8 * widest)
            .build_cartesian_2d(lo..hi * 1.08, -0.6..(rows as f64 - 0.4))?;
        let points = |x: &f64| tick(*x);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(11)
            .x_label_formatter(&points)
            .x_desc("points of the 0-100 score")
            // No minor grid (a zero light-line count trips an overflow in
            // plotters' integer axes); transparent lines are not drawn.
            .light_line_style(TRANSPARENT)
            .bold_line_style(BLACK.mix(0.08))
            .label_style((FONT, 14))
            .draw()?;
        let text = |anchor: HPos| {
            TextStyle::from((FONT, 14).into_font())
                .color(&BLACK)
                .pos(Pos::new(anchor, VPos::Center))
        };
        for (row, &(from, to)) in spans.iter().enumerate() {
            let y = y_of(row);
            let total = row == rows - 1;
            let color = if total {
                self.total_color
            } else if to >= from {
                ADDS
            } else {
                SUBTRACTS
            };
            chart.draw_series(std::iter::once(Rectangle::new(
                [(from, y + HALF_BAR), (to, y - HALF_BAR)],
                color.filled(),
            )))?;
            let value = if total {
                format!("{to:.1}")
            } else {
                format!("{:+.1}", to - from)
            };
            chart.draw_series(std::iter::once(Text::new(
                value,
                (from.max(to) + (hi - lo) * 0.01, y),
                text(HPos::Left),
            )))?;
            if row + 1 < rows && !total {
                // A thin connector from this bar's end down to the next bar.
                chart.draw_series(std::iter::once(PathElement::new(
                    vec![(to, y - HALF_BAR), (to, y - 1.0 + HALF_BAR)],
                    BLACK.mix(0.4).stroke_width(1),
                )))?;
            }
            // The label left of the plotting area, level with the bar.
            let (px, py) = chart.backend_coord(&(lo, y));
            root.draw(&Text::new(labels[row], (px - 10, py), text(HPos::Right)))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_follow_each_other_and_the_total_starts_at_zero() {
        let response = proto::RiskResponse {
            score: 60.0,
            band: proto::RiskBand::High as i32,
            factors: [("a", 40.0), ("b", 25.0), ("c", -5.0)]
                .map(|(indicator, contribution)| proto::Factor {
                    indicator: indicator.into(),
                    contribution,
                    ..Default::default()
                })
                .to_vec(),
            ..Default::default()
        };
        let chart = risk(&response);
        assert_eq!(
            chart.spans(),
            [(0.0, 40.0), (40.0, 65.0), (65.0, 60.0), (0.0, 60.0)]
        );
        assert_eq!(chart.total_label, "score (HIGH)");
        let svg = super::super::svg(&chart).unwrap();
        for label in ["a", "b", "c", "score (HIGH)", "+25.0", "-5.0", "60.0"] {
            // plotters puts each text on a line of its own.
            assert!(svg.contains(&format!(">\n{label}\n<")), "{label} missing");
        }
    }
}
