//! Frequencies and period labels ("2024", "2024-Q3", "2024-07"), and their
//! arithmetic.
//!
//! A period is stored as a count of periods since year 0, so "consecutive"
//! is `b == a + 1` and the labels after a series are simple to generate. The
//! server parses every label a caller sends with [`Cadence::parse`] and writes
//! the labels a model receives with [`Period`]'s `Display`, so a model that
//! parses them back with the same type can rely on the format.

use std::fmt;

use stratus_plugin_abi::wire::Frequency;

/// How often a series is observed, with the API's unspecified value excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cadence {
    /// Once a year: "2024".
    Annual,
    /// Four times a year: "2024-Q3".
    Quarterly,
    /// Twelve times a year: "2024-07".
    Monthly,
}

impl Cadence {
    /// From the plugin wire enum's number (a `Series.frequency` field);
    /// `None` for unspecified or unknown values.
    pub fn from_wire(frequency: i32) -> Option<Self> {
        Self::try_from(Frequency::try_from(frequency).ok()?).ok()
    }

    /// The plugin wire enum value.
    pub fn to_wire(self) -> Frequency {
        match self {
            Self::Annual => Frequency::Annual,
            Self::Quarterly => Frequency::Quarterly,
            Self::Monthly => Frequency::Monthly,
        }
    }

    /// From a count of periods per year (a `ForecastInput.periods_per_year`):
    /// 1, 4 or 12, `None` otherwise.
    pub fn from_periods_per_year(periods: u32) -> Option<Self> {
        match periods {
            1 => Some(Self::Annual),
            4 => Some(Self::Quarterly),
            12 => Some(Self::Monthly),
            _ => None,
        }
    }

    /// 1, 4 or 12.
    pub fn periods_per_year(self) -> u32 {
        match self {
            Self::Annual => 1,
            Self::Quarterly => 4,
            Self::Monthly => 12,
        }
    }

    /// The period `index` periods after the first one of `year`.
    pub fn period(self, year: i64, index: i64) -> Period {
        Period {
            cadence: self,
            index: year * i64::from(self.periods_per_year()) + index,
        }
    }

    /// The label format, for error messages.
    pub fn format_hint(self) -> &'static str {
        match self {
            Self::Annual => "YYYY, e.g. \"2024\"",
            Self::Quarterly => "YYYY-Qn, e.g. \"2024-Q3\"",
            Self::Monthly => "YYYY-MM, e.g. \"2024-07\"",
        }
    }

    /// Parses a label of this cadence.
    pub fn parse(self, label: &str) -> Option<Period> {
        let (year, rest) = match label.split_once('-') {
            Some((year, rest)) => (year, Some(rest)),
            None => (label, None),
        };
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year: i64 = year.parse().ok()?;
        let sub = match (self, rest) {
            (Self::Annual, None) => 0,
            (Self::Quarterly, Some(q)) => match q.as_bytes() {
                [b'Q', digit @ b'1'..=b'4'] => i64::from(digit - b'1'),
                _ => return None,
            },
            (Self::Monthly, Some(m)) if m.len() == 2 && m.bytes().all(|b| b.is_ascii_digit()) => {
                match m.parse::<i64>().ok()? {
                    m @ 1..=12 => m - 1,
                    _ => return None,
                }
            }
            _ => return None,
        };
        Some(Period {
            cadence: self,
            index: year * i64::from(self.periods_per_year()) + sub,
        })
    }

    /// Guesses the cadence of a label, for CSV files that do not say.
    pub fn infer(label: &str) -> Option<Self> {
        [Self::Annual, Self::Quarterly, Self::Monthly]
            .into_iter()
            .find(|cadence| cadence.parse(label).is_some())
    }
}

impl TryFrom<Frequency> for Cadence {
    /// `FREQUENCY_UNSPECIFIED` names no cadence.
    type Error = ();

    fn try_from(frequency: Frequency) -> Result<Self, ()> {
        match frequency {
            Frequency::Annual => Ok(Self::Annual),
            Frequency::Quarterly => Ok(Self::Quarterly),
            Frequency::Monthly => Ok(Self::Monthly),
            Frequency::Unspecified => Err(()),
        }
    }
}

impl fmt::Display for Cadence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Annual => "ANNUAL",
            Self::Quarterly => "QUARTERLY",
            Self::Monthly => "MONTHLY",
        })
    }
}

/// One period of a given cadence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    cadence: Cadence,
    index: i64,
}

impl Period {
    /// The period `n` steps later.
    pub fn plus(self, n: i64) -> Self {
        Self {
            cadence: self.cadence,
            index: self.index + n,
        }
    }

    /// Whether `next` directly follows `self`.
    pub fn is_followed_by(self, next: Period) -> bool {
        next.index == self.index + 1
    }

    /// The calendar year.
    pub fn year(self) -> i64 {
        self.index
            .div_euclid(i64::from(self.cadence.periods_per_year()))
    }

    /// The time in years: the year plus the elapsed fraction of it, so
    /// 2024-Q3 is 2024.5 (a model's time axis in its own units).
    pub fn fractional_year(self) -> f64 {
        self.index as f64 / f64::from(self.cadence.periods_per_year())
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per_year = i64::from(self.cadence.periods_per_year());
        let (year, sub) = (
            self.index.div_euclid(per_year),
            self.index.rem_euclid(per_year),
        );
        match self.cadence {
            Cadence::Annual => write!(f, "{year:04}"),
            Cadence::Quarterly => write!(f, "{year:04}-Q{}", sub + 1),
            Cadence::Monthly => write!(f, "{year:04}-{:02}", sub + 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        for (cadence, label) in [
            (Cadence::Annual, "2024"),
            (Cadence::Quarterly, "2024-Q3"),
            (Cadence::Monthly, "2024-07"),
        ] {
            assert_eq!(cadence.parse(label).unwrap().to_string(), label);
        }
    }

    #[test]
    fn next_periods_roll_over_the_year() {
        let q4 = Cadence::Quarterly.parse("2024-Q4").unwrap();
        assert_eq!(q4.plus(1).to_string(), "2025-Q1");
        let dec = Cadence::Monthly.parse("2024-12").unwrap();
        assert_eq!(dec.plus(2).to_string(), "2025-02");
        assert!(q4.is_followed_by(q4.plus(1)));
        assert_eq!(Cadence::Quarterly.period(2000, 5).to_string(), "2001-Q2");
    }

    #[test]
    fn years_and_fractions() {
        let q3 = Cadence::Quarterly.parse("2024-Q3").unwrap();
        assert_eq!(q3.year(), 2024);
        assert_eq!(q3.fractional_year(), 2024.5);
        assert_eq!(Cadence::from_periods_per_year(12), Some(Cadence::Monthly));
        assert_eq!(Cadence::from_periods_per_year(2), None);
        let wire = Cadence::Quarterly.to_wire() as i32;
        assert_eq!(Cadence::from_wire(wire), Some(Cadence::Quarterly));
        assert_eq!(Cadence::from_wire(0), None);
    }

    #[test]
    fn rejects_labels_of_another_cadence_or_malformed() {
        assert!(Cadence::Annual.parse("2024-Q1").is_none());
        assert!(Cadence::Quarterly.parse("2024-Q5").is_none());
        assert!(Cadence::Quarterly.parse("2024-Q03").is_none());
        assert!(Cadence::Monthly.parse("2024-13").is_none());
        assert!(Cadence::Monthly.parse("2024-7").is_none());
        assert!(Cadence::Annual.parse("24").is_none());
        assert_eq!(Cadence::infer("2019-Q3"), Some(Cadence::Quarterly));
    }
}
