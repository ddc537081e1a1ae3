//! The targets: request validation, period labels, plugin answers.

use std::collections::HashMap;
use std::sync::OnceLock;

use arbitrary::{Result, Unstructured};
use prost::Message;
use stratus_plugin_abi::wire;
use stratus_proto::v1::{
    ForecastRequest, ModelRef, Observation, RiskRequest, Series, forecast_request,
};
use stratus_series::Cadence;
use stratus_server::dataset::DatasetCatalog;
use stratus_server::limits::{Limits, MAX_ABS_VALUE, MAX_LEVEL};
use stratus_server::plugin::PluginRegistry;
use stratus_server::validate;

/// A target: arbitrary bytes in, a panic on a broken invariant.
pub type Target = fn(&[u8]);

/// Every target, by name.
pub const TARGETS: &[(&str, Target)] = &[
    ("validation", validation),
    ("period", period),
    ("plugin_answer", plugin_answer),
];

/// The target called `name`.
pub fn by_name(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// What validation runs against: the real naive and bubble plugins, loaded
/// from the build's target folder, and the built-in datasets.
struct Fixture {
    registry: PluginRegistry,
    datasets: DatasetCatalog,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp plugin folder");
        for name in ["libstratus_naive.so", "libstratus_bubble.so"] {
            let built = crate::driver::target_dir().join(name);
            std::fs::copy(&built, dir.path().join(name)).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; build the plugins first (cargo build -p stratus-naive -p stratus-bubble)",
                    built.display()
                )
            });
        }
        let registry = PluginRegistry::new(dir.path()).expect("registry");
        let snapshot = registry.scan().expect("scan");
        assert_eq!(snapshot.models.len(), 2, "{:?}", snapshot.refused);
        // The folder was only for the scan (the registry maps its own
        // private copies); removed now, since a static is never dropped and
        // would leave it behind after every run.
        drop(dir);
        Fixture {
            registry,
            datasets: DatasetCatalog::load(None).expect("built-in datasets"),
        }
    })
}

/// A string that is often meaningful (a valid label, a model name) and
/// sometimes anything.
fn text(u: &mut Unstructured, usual: &[&str]) -> Result<String> {
    Ok(if u.ratio(1, 10)? {
        any_string(u)?
    } else {
        (*u.choose(usual)?).to_owned()
    })
}

/// Up to 300 arbitrary bytes as text (over the 256-byte string limit).
fn any_string(u: &mut Unstructured) -> Result<String> {
    let len = u.int_in_range(0..=300)?;
    let bytes = u.bytes(len.min(u.len()))?;
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// A number: mostly an ordinary positive one, sometimes an edge case or
/// any bit pattern (inputs that are mostly valid reach the deeper checks).
fn number(u: &mut Unstructured) -> Result<f64> {
    Ok(match u.int_in_range(0..=9)? {
        0 => f64::from_bits(u.arbitrary()?),
        1 => *u.choose(&[
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::MAX,
            f64::MIN_POSITIVE,
            1e100,
            -1e100,
            99.9999,
            99.99999999999999,
        ])?,
        2 => f64::from(u.int_in_range(-1000..=1000)?) / 7.0,
        _ => f64::from(u.int_in_range(1..=690)?) / 7.0,
    })
}

fn series(u: &mut Unstructured) -> Result<Series> {
    let frequency = u.int_in_range(-1..=4)?;
    let start = u.int_in_range(1990..=2030)?;
    let n = count(u, 12, 40)?;
    let mut observations = Vec::with_capacity(n);
    for i in 0..n {
        let year = start + i as i32;
        let labels = [
            format!("{year}"),
            format!("{year}-Q{}", i % 4 + 1),
            format!("{year}-{:02}", i % 12 + 1),
        ];
        // Mostly the label of the series' own frequency (consecutive
        // years: right for annual series), sometimes another kind.
        let own = usize::try_from(frequency - 1).unwrap_or(0).min(2);
        let label = if u.ratio(1, 10)? {
            u.choose(&labels)?.as_str()
        } else {
            labels[own].as_str()
        };
        observations.push(Observation {
            period: text(u, &[label])?,
            value: number(u)?,
        });
    }
    Ok(Series {
        name: text(u, &["s"])?,
        unit: String::new(),
        frequency,
        observations,
    })
}

/// A count: mostly small, sometimes past a limit.
fn count(u: &mut Unstructured, usual: usize, most: usize) -> Result<usize> {
    if u.ratio(1, 8)? {
        u.int_in_range(0..=most)
    } else {
        u.int_in_range(0..=usual)
    }
}

fn params(u: &mut Unstructured, names: &[&str]) -> Result<HashMap<String, f64>> {
    let n = count(u, 1, 70)?;
    (0..n).map(|_| Ok((text(u, names)?, number(u)?))).collect()
}

/// Validation of forecast and risk requests: never panics, and what it
/// accepts meets every promise plugins rely on.
pub fn validation(bytes: &[u8]) {
    let mut u = Unstructured::new(bytes);
    let _ = validation_case(&mut u);
}

/// Returns whether the forecast built was accepted (the generator is tuned
/// so that a few percent are: rejections alone would not reach the checks
/// after the first refusal).
fn validation_case(u: &mut Unstructured) -> Result<bool> {
    let fixture = fixture();
    let limits = Limits::default();
    let reference = ModelRef {
        name: text(u, &["naive", "bubble"])?,
        version: text(u, &["", "1.0.0"])?,
    };
    // Validation is pure: it checks against the description of the model
    // the request names, as the services look it up.
    let Ok(loaded) = fixture
        .registry
        .resolve(&reference.name, &reference.version)
    else {
        return Ok(false);
    };
    let description = &loaded.description;
    let model = Some(reference);
    if u.arbitrary()? {
        let source = if u.arbitrary()? {
            forecast_request::Source::Dataset(text(u, &["china-cloud-infra-annual"])?)
        } else {
            forecast_request::Source::Series(series(u)?)
        };
        let request = ForecastRequest {
            model,
            source: Some(source),
            horizon: count(u, 10, 120)? as u32,
            levels: (0..count(u, 3, 12)?)
                .map(|_| number(u))
                .collect::<Result<_>>()?,
            params: params(u, &["drift"])?,
            request_id: text(u, &["r1"])?,
            interval_method: u.int_in_range(-1..=3)?,
            ensemble: None,
        };
        let series = match &request.source {
            Some(forecast_request::Source::Series(series)) => Some(series.clone()),
            Some(forecast_request::Source::Dataset(name)) => {
                fixture.datasets.get(name).and_then(|d| d.series.clone())
            }
            None => None,
        };
        let accepted = series.and_then(|series| {
            let sizes = validate::forecast_sizes(&request, limits).ok()?;
            validate::forecast(request, sizes, series, description, limits).ok()
        });
        if let Some(valid) = accepted {
            let input = valid.input;
            let series = input.series.expect("a valid forecast has a series");
            assert!(!series.observations.is_empty());
            assert!(
                series
                    .observations
                    .iter()
                    .all(|o| o.value.is_finite() && o.value.abs() <= MAX_ABS_VALUE)
            );
            assert!(
                input.levels.windows(2).all(|w| w[0] < w[1]),
                "{:?}",
                input.levels
            );
            assert!(input.levels.iter().all(|l| *l > 0.0 && *l <= MAX_LEVEL));
            assert_eq!(input.future_periods.len(), input.horizon as usize);
            assert!(input.horizon >= 1);
            return Ok(true);
        }
    } else {
        let request = RiskRequest {
            model,
            subject: text(u, &["China"])?,
            indicators: params(u, &["capex_growth_pct", "utilisation_pct", "x"])?,
            params: params(u, &["weight_capex"])?,
            ..Default::default()
        };
        if let Ok(sizes) = validate::risk_sizes(&request, limits) {
            let _ = validate::risk(&request, sizes, description, limits);
        }
    }
    Ok(false)
}

/// Period labels: parsing never panics, and a parsed label prints back to
/// itself and steps forward consistently.
pub fn period(bytes: &[u8]) {
    let mut u = Unstructured::new(bytes);
    let _ = period_case(&mut u);
}

fn period_case(u: &mut Unstructured) -> Result<()> {
    let label = text(u, &["2024", "2024-Q3", "2024-07", "0000-01", "9999-Q4"])?;
    let steps = i64::from(u.int_in_range(0..=1000)?);
    let _ = Cadence::infer(&label);
    for cadence in [Cadence::Annual, Cadence::Quarterly, Cadence::Monthly] {
        if let Some(period) = cadence.parse(&label) {
            assert_eq!(period.to_string(), label);
            assert!(period.is_followed_by(period.plus(1)));
            let later = period.plus(steps);
            assert!(later >= period);
        }
    }
    Ok(())
}

/// Plugin answers: any bytes a plugin returns decode or fail cleanly, and
/// the server's answer check accepts only well-formed paths.
pub fn plugin_answer(bytes: &[u8]) {
    let mut u = Unstructured::new(bytes);
    let _ = plugin_answer_case(&mut u);
}

fn plugin_answer_case(u: &mut Unstructured) -> Result<()> {
    let horizon = u.int_in_range(0..=10)?;
    let levels: Vec<f64> = (0..u.int_in_range(0..=3)?)
        .map(|_| number(u))
        .collect::<Result<_>>()?;
    let scenario: bool = u.arbitrary()?;
    let rest = u.bytes(u.len())?;
    let _ = wire::PluginError::decode(rest);
    let _ = wire::ModelDescription::decode(rest);
    if let Ok(response) = wire::InvokeResponse::decode(rest)
        && let Some(wire::invoke_response::Result::Forecast(output)) = response.result
    {
        let verdict =
            stratus_server::service::answer_problem(&output.points, &levels, horizon, scenario);
        if verdict.is_ok() {
            assert_eq!(output.points.len(), horizon);
            for point in &output.points {
                assert!(point.mean.is_finite());
                for interval in &point.intervals {
                    assert!(interval.lower <= interval.upper);
                }
            }
        }
    }
    Ok(())
}
