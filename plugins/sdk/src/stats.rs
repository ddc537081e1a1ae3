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

/// [`central_t`] for each of a forecast's levels, computed once: the
/// quantile is found iteratively, and every step of a forecast needs the
/// same ones.
#[derive(Debug, Clone)]
pub struct CentralT {
    dof: f64,
    quantiles: Vec<(f64, f64)>,
}

impl CentralT {
    /// The quantiles of `levels` with `dof` degrees of freedom.
    pub fn new(levels: &[f64], dof: f64) -> Self {
        Self {
            dof,
            quantiles: levels.iter().map(|&l| (l, central_t(l, dof))).collect(),
        }
    }

    /// The quantile of `level` (computed now if it was not given).
    pub fn at(&self, level: f64) -> f64 {
        self.quantiles
            .iter()
            .find(|(l, _)| *l == level)
            .map_or_else(|| central_t(level, self.dof), |&(_, q)| q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn central_t_once_is_central_t() {
        let t = CentralT::new(&[80.0, 95.0], 4.0);
        assert_eq!(t.at(95.0), central_t(95.0, 4.0));
        assert_eq!(t.at(80.0), central_t(80.0, 4.0));
        assert_eq!(t.at(50.0), central_t(50.0, 4.0));
    }

    #[test]
    fn known_quantiles() {
        assert!((central_z(95.0) - 1.959_964).abs() < 1e-5);
        assert!((central_z(80.0) - 1.281_552).abs() < 1e-5);
        assert!((central_t(95.0, 4.0) - 2.776_445).abs() < 1e-4);
        assert!(central_t(95.0, 1000.0) - central_z(95.0) < 0.01);
    }
}
