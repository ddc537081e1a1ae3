//! The demand-driver uplift: percentage points added to year-on-year growth.

/// Adds `uplift_pp` to the year-on-year growth of every period of `path`.
///
/// Each period's model growth `g = path[h] / base − 1` (base: the value one
/// year earlier, from `history` or the path) becomes `g + uplift/100`,
/// applied to the already-uplifted base, so the uplift compounds year after
/// year as it would in an analyst's spreadsheet.
pub fn apply(history: &[f64], path: &[f64], per_year: usize, uplift_pp: f64) -> Vec<f64> {
    if uplift_pp == 0.0 {
        return path.to_vec();
    }
    let lag = per_year.max(1);
    let n = history.len();
    let mut adjusted: Vec<f64> = Vec::with_capacity(path.len());
    for h in 0..path.len() {
        let (base, adjusted_base) = if h >= lag {
            (path[h - lag], adjusted[h - lag])
        } else {
            // Validation guarantees at least a year of history.
            let past = history[n + h - lag];
            (past, past)
        };
        let growth = path[h] / base - 1.0;
        adjusted.push(adjusted_base * (1.0 + growth + uplift_pp / 100.0));
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_points_to_each_years_growth() {
        // Model path grows 10% a year from 100; +5 pp makes it 15% a year.
        let out = apply(&[100.0], &[110.0, 121.0], 1, 5.0);
        assert!((out[0] - 115.0).abs() < 1e-9);
        assert!((out[1] - 115.0 * 1.15).abs() < 1e-9);
    }

    #[test]
    fn zero_uplift_is_the_identity() {
        assert_eq!(apply(&[1.0, 2.0], &[3.0, 4.0], 1, 0.0), vec![3.0, 4.0]);
    }
}
