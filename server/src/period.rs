//! Period labels ("2024", "2024-Q3", "2024-07") and their arithmetic.
//!
//! A period is stored as a count of periods since year 0, so "consecutive"
//! is `b == a + 1` and the labels after a series are simple to generate.

use std::fmt;

use stratus_proto::v1::Frequency;

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
    /// From the API enum; `None` for unspecified or unknown values.
    pub fn from_api(frequency: i32) -> Option<Self> {
        match Frequency::try_from(frequency).ok()? {
            Frequency::Annual => Some(Self::Annual),
            Frequency::Quarterly => Some(Self::Quarterly),
            Frequency::Monthly => Some(Self::Monthly),
            Frequency::Unspecified => None,
        }
    }

    /// The API enum value.
    pub fn to_api(self) -> Frequency {
        match self {
            Self::Annual => Frequency::Annual,
            Self::Quarterly => Frequency::Quarterly,
            Self::Monthly => Frequency::Monthly,
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
