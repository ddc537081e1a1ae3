//! Scoring forecast models on their own history: rolling-origin backtests
//! ([`backtest`]) with M4's metrics ([`metrics`]) against M4's Naive2
//! benchmark ([`naive2`]), computed by the server so every model is measured
//! the same way; and intervals calibrated from the same kind of rolling
//! errors ([`conformal`]).

pub mod backtest;
pub mod conformal;
pub mod metrics;
pub mod naive2;
