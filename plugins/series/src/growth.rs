//! Year-on-year growth of a forecast path, the figure analysts quote.

/// Growth in percent of each `path` value against the value one year earlier,
/// looked up in the forecast path itself or, further back, in `history`.
///
/// A year is `periods_per_year` steps. Where no value a year back exists, or it
/// is zero, growth is undefined and reported as NaN.
pub fn year_on_year(history: &[f64], path: &[f64], periods_per_year: usize) -> Vec<f64> {
    let lag = periods_per_year.max(1);
    (0..path.len())
        .map(|h| {
            let base = if h >= lag {
                Some(path[h - lag])
            } else {
                // The value `lag` steps before path[h] sits in history.
                (history.len() + h)
                    .checked_sub(lag)
                    .and_then(|i| history.get(i).copied())
            };
            match base {
                Some(base) if base != 0.0 => (path[h] / base - 1.0) * 100.0,
                _ => f64::NAN,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annual_growth_uses_last_observation_then_the_path() {
        let growth = year_on_year(&[80.0, 100.0], &[110.0, 121.0], 1);
        assert!((growth[0] - 10.0).abs() < 1e-9);
        assert!((growth[1] - 10.0).abs() < 1e-9);
    }

    #[test]
    fn quarterly_growth_compares_the_same_quarter() {
        let history = [10.0, 11.0, 12.0, 13.0];
        let growth = year_on_year(&history, &[12.0, 11.0, 12.0, 13.0, 15.0], 4);
        assert!((growth[0] - 20.0).abs() < 1e-9); // vs history[0] = 10
        assert!((growth[4] - 25.0).abs() < 1e-9); // vs path[0] = 12
    }

    #[test]
    fn growth_without_a_base_is_nan() {
        let growth = year_on_year(&[5.0], &[6.0, 7.0], 4);
        assert!(growth.iter().all(|g| g.is_nan()));
        assert!(year_on_year(&[0.0], &[1.0], 1)[0].is_nan());
    }
}
