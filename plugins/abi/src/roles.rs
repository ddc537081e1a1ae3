//! Names that carry a meaning on both sides of the boundary.
//!
//! The `.proto` documents the same names next to the fields that carry them;
//! keeping the Rust constants here means the host that writes a name and the
//! model that reads it cannot drift apart.

/// The key in `RiskInput.series` under which the host passes the forecast
/// path of a risk request's `demand`: one observation per forecast period
/// (its label and mean), at the frequency of the forecast series. A risk
/// model that reads demand growth looks here.
pub const DEMAND_FORECAST_SERIES: &str = "demand_forecast";
