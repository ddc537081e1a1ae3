//! `--plot FILE.svg|FILE.png`: the chart file itself. Which format a name
//! asks for, the font text is laid out with, the two backends, and writing
//! the file. What is drawn lives in [`paths`] (fan and overlay charts) and
//! [`waterfall`] (a risk score's factors).

mod paths;
mod pixels;
mod waterfall;

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Context as _, bail};
use plotters::coord::Shift;
use plotters::prelude::*;

pub use paths::{fan, overlay};
pub use waterfall::risk;

/// Every chart's size in pixels (16:9, readable in a README at full width).
pub const SIZE: (u32, u32) = (1000, 560);

/// The font family every text is drawn in. SVG readers substitute their own
/// sans-serif; layout (label areas, legend boxes) uses the embedded font's
/// metrics either way.
pub const FONT: &str = "sans-serif";

/// A chart that can draw itself on any plotters backend.
pub trait Chart {
    /// Draws the whole chart on `root` (the full canvas).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

/// What drawing on backend `DB` can fail with.
pub type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// The file formats `--plot` writes, by file name extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Svg,
    Png,
}

/// The format `path` asks for. Checked before any call to the server, so a
/// typo costs nothing.
pub fn format_of(path: &Path) -> anyhow::Result<Format> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("svg") => Ok(Format::Svg),
        Some("png") => Ok(Format::Png),
        _ => bail!(
            "--plot {}: name the file .svg or .png (the extension picks the format)",
            path.display()
        ),
    }
}

/// Draws `chart` and writes it to `path` in the format its name asks for.
pub fn save(chart: &impl Chart, path: &Path) -> anyhow::Result<()> {
    register_font()?;
    let bytes = match format_of(path)? {
        Format::Svg => svg(chart)?.into_bytes(),
        Format::Png => png(chart)?,
    };
    std::fs::write(path, bytes).with_context(|| {
        format!(
            "cannot write the chart to {} (check that its folder exists and is writable)",
            path.display()
        )
    })
}

/// The chart as SVG text.
pub fn svg(chart: &impl Chart) -> anyhow::Result<String> {
    register_font()?;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        chart.draw(&root).map_err(drawing)?;
        root.present().map_err(drawing)?;
    }
    Ok(text)
}

/// The chart as PNG bytes: drawn into an RGB buffer, then encoded here
/// (rather than by the backend writing a file) so a bad path is a plain I/O
/// error.
fn png(chart: &impl Chart) -> anyhow::Result<Vec<u8>> {
    use image::ImageEncoder as _;
    let (width, height) = SIZE;
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root =
            pixels::Pixels(BitMapBackend::with_buffer(&mut pixels, SIZE)).into_drawing_area();
        chart.draw(&root).map_err(drawing)?;
        root.present().map_err(drawing)?;
    }
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(&pixels, width, height, image::ColorType::Rgb8)
        .context("encoding the chart as PNG")?;
    Ok(bytes)
}

fn drawing<E: std::error::Error + Send + Sync>(error: DrawingAreaErrorKind<E>) -> anyhow::Error {
    anyhow::anyhow!("drawing the chart failed: {error}")
}

/// Registers the embedded DejaVu Sans as [`FONT`], once. Plotters' `ttf`
/// feature would look fonts up through fontconfig, which a minimal machine
/// (a container) lacks; a compiled-in font draws the same text everywhere.
fn register_font() -> anyhow::Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
    });
    if ok {
        Ok(())
    } else {
        bail!("the embedded chart font did not load (a build problem: please report it)")
    }
}

/// The caption's font size: 20 px, smaller for a caption that would not
/// fit the width at 20 (a glyph is about 0.55 em wide on average).
pub fn caption_size(caption: &str) -> u32 {
    let fits = (SIZE.0 as f64 - 40.0) / (0.55 * caption.chars().count().max(1) as f64);
    fits.clamp(11.0, 20.0) as u32
}

/// A tick label: at most two decimals, trailing zeros dropped, so axis
/// labels read `40`, `42.5`, never `42.500000001`.
pub fn tick(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

/// The first 12 hex digits of a library's sha256, as the tables print it.
pub fn short_sha(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extension_picks_the_format() {
        assert_eq!(format_of(Path::new("a/fan.svg")).unwrap(), Format::Svg);
        assert_eq!(format_of(Path::new("FAN.PNG")).unwrap(), Format::Png);
        let error = format_of(Path::new("fan.pdf")).unwrap_err().to_string();
        assert!(error.contains(".svg or .png"), "{error}");
        assert!(format_of(Path::new("fan")).is_err());
    }

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(40.0), "40");
        assert_eq!(tick(42.5), "42.5");
        assert_eq!(tick(0.1 + 0.2), "0.3");
        assert_eq!(tick(-0.001), "0");
        assert_eq!(tick(-12.25), "-12.25");
    }
}
