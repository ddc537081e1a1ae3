//! Small statistical helpers every model needs for prediction intervals.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// The standard-normal quantile that bounds a central interval of
/// `level` percent coverage: 1.2816 for 80, 1.9600 for 95.
pub fn central_z(level: f64) -> f64 {
    // The server guarantees 0 < level < 100, so the probability is in (0.5, 1).
    let p = 0.5 + level / 200.0;
    Normal::standard().inverse_cdf(p)
}

pub use stratus_series::mean;

/// The Student-t quantile for a central `level` percent interval with
/// `dof` degrees of freedom: wider than [`central_z`] for short series,
/// where the residual variance is itself uncertain.
pub fn central_t(level: f64, dof: f64) -> f64 {
    let p = 0.5 + level / 200.0;
    match StudentsT::new(0.0, 1.0, dof.max(1.0)) {
        Ok(t) => t.inverse_cdf(p),
        Err(_) => central_z(level),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_quantiles() {
        assert!((central_z(95.0) - 1.959_964).abs() < 1e-5);
        assert!((central_z(80.0) - 1.281_552).abs() < 1e-5);
        assert!((central_t(95.0, 4.0) - 2.776_445).abs() < 1e-4);
        assert!(central_t(95.0, 1000.0) - central_z(95.0) < 0.01);
    }
}
