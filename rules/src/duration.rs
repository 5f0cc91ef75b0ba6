//! Durations as Prometheus writes them (`5m`, `1h30m`, `30d`, `1w`), in whole seconds.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// A duration in whole seconds, parsed from and printed in Prometheus notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub u64);

const UNITS: [(&str, u64); 6] = [
    ("w", 604_800),
    ("d", 86_400),
    ("h", 3_600),
    ("m", 60),
    ("s", 1),
    ("", 0),
];

impl Duration {
    pub const fn minutes(m: u64) -> Self {
        Duration(m * 60)
    }

    pub const fn hours(h: u64) -> Self {
        Duration(h * 3_600)
    }

    pub const fn days(d: u64) -> Self {
        Duration(d * 86_400)
    }

    pub fn seconds(self) -> u64 {
        self.0
    }

    pub fn as_hours(self) -> f64 {
        self.0 as f64 / 3_600.0
    }
}

impl FromStr for Duration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("invalid duration {s:?}, expected e.g. 5m, 1h30m, 30d or 1w");
        let mut total: u64 = 0;
        let mut rest = s.trim();
        if rest.is_empty() {
            return Err(invalid());
        }
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .ok_or_else(invalid)?;
            let value: u64 = rest[..digits].parse().map_err(|_| invalid())?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let factor = match &rest[..unit_len] {
                "w" => 604_800,
                "d" => 86_400,
                "h" => 3_600,
                "m" => 60,
                "s" => 1,
                _ => return Err(invalid()),
            };
            total = value
                .checked_mul(factor)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(invalid)?;
            rest = &rest[unit_len..];
        }
        Ok(Duration(total))
    }
}

impl fmt::Display for Duration {
    /// Days are not folded into weeks, so that `28d` and `30d` read as written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        for (unit, size) in UNITS.iter().skip(1).take(4) {
            if rest >= *size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip_in_prometheus_notation() {
        for s in ["5m", "1h", "1h30m", "30d", "3d", "28d", "45s"] {
            assert_eq!(s.parse::<Duration>().unwrap().to_string(), s);
        }
        assert_eq!("1w".parse::<Duration>().unwrap(), Duration::days(7));
        assert_eq!(Duration::days(7).to_string(), "7d");
    }

    #[test]
    fn bad_durations_are_refused() {
        for s in ["", "5", "m", "5y", "1.5h", "-1m"] {
            assert!(s.parse::<Duration>().is_err(), "{s}");
        }
    }
}
