//! Durations as people write them (`300ms`, `1.5s`, `2min`) and latency, fixed or ranged
//! (`20ms..200ms`), drawn from the request's seeded random stream.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::RngExt;

/// The longest latency a client may ask for with `Prefer: latency=...`, or a spec may declare.
pub const MAX_LATENCY: Duration = Duration::from_secs(300);

/// How long to wait before answering: `min` when fixed, uniform in `min..=max` when ranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    pub min: Duration,
    pub max: Duration,
}

impl Latency {
    pub fn fixed(d: Duration) -> Self {
        Self { min: d, max: d }
    }

    pub fn is_ranged(&self) -> bool {
        self.max > self.min
    }

    /// A value in the range (the fixed value when not ranged).
    pub fn sample(&self, rng: &mut impl rand::Rng) -> Duration {
        if !self.is_ranged() {
            return self.min;
        }
        let (lo, hi) = (self.min.as_micros() as u64, self.max.as_micros() as u64);
        Duration::from_micros(rng.random_range(lo..=hi))
    }
}

impl FromStr for Latency {
    type Err = String;

    /// `200ms`, `1s`, `20ms..200ms`; a bare number is milliseconds.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (min, max) = match s.split_once("..") {
            Some((a, b)) => (parse_duration(a, Unit::Millis)?, parse_duration(b, Unit::Millis)?),
            None => {
                let d = parse_duration(s, Unit::Millis)?;
                (d, d)
            }
        };
        if max < min {
            return Err(format!("the latency range {s:?} ends before it starts"));
        }
        if max > MAX_LATENCY {
            return Err(format!("the latency {s:?} is longer than the maximum of {}", fmt_duration(MAX_LATENCY)));
        }
        Ok(Self { min, max })
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ranged() {
            write!(f, "{}..{}", fmt_duration(self.min), fmt_duration(self.max))
        } else {
            f.write_str(&fmt_duration(self.min))
        }
    }
}

/// What a number without a unit means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Millis,
    Seconds,
}

/// Parses `250ms`, `1.5s`, `2min`, `1h`, `1d`, `500us`; a bare number is in `bare` units.
pub fn parse_duration(s: &str, bare: Unit) -> Result<Duration, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("{t:?} is not a duration such as 300ms, 1.5s or 2min"))?;
    let seconds = match unit.trim().to_ascii_lowercase().as_str() {
        "" => match bare {
            Unit::Millis => n / 1000.0,
            Unit::Seconds => n,
        },
        "us" | "µs" => n / 1_000_000.0,
        "ms" => n / 1000.0,
        "s" | "sec" | "secs" | "second" | "seconds" => n,
        "m" | "min" | "mins" | "minute" | "minutes" => n * 60.0,
        "h" | "hour" | "hours" => n * 3600.0,
        "d" | "day" | "days" => n * 86400.0,
        u => return Err(format!("unknown duration unit {u:?} in {t:?}: use ms, s, min, h or d")),
    };
    if !seconds.is_finite() || !(0.0..=1e9).contains(&seconds) {
        return Err(format!("{t:?} is not a usable duration"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// `300ms`, `2s`, `1.5s`: short and exact enough for logs and the journal.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms >= 1000 && ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else if ms >= 1000 {
        format!("{}s", format!("{:.3}", d.as_secs_f64()).trim_end_matches('0'))
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn durations_parse_with_units_and_bare_numbers() {
        assert_eq!(parse_duration("300ms", Unit::Millis), Ok(Duration::from_millis(300)));
        assert_eq!(parse_duration("1.5s", Unit::Millis), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2min", Unit::Millis), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h", Unit::Millis), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250", Unit::Millis), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("60", Unit::Seconds), Ok(Duration::from_secs(60)));
        assert!(parse_duration("fast", Unit::Millis).is_err());
        assert!(parse_duration("3 parsecs", Unit::Millis).unwrap_err().contains("unit"));
    }

    #[test]
    fn latency_is_fixed_or_a_range_and_samples_inside_it() {
        let fixed: Latency = "200ms".parse().unwrap();
        assert!(!fixed.is_ranged());
        assert_eq!(fixed.to_string(), "200ms");
        let ranged: Latency = "20ms..200ms".parse().unwrap();
        assert_eq!(ranged.to_string(), "20ms..200ms");
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(7);
        for _ in 0..100 {
            let d = ranged.sample(&mut rng);
            assert!(d >= Duration::from_millis(20) && d <= Duration::from_millis(200), "{d:?}");
        }
        assert!("200ms..20ms".parse::<Latency>().unwrap_err().contains("ends before"));
        assert!("10min".parse::<Latency>().unwrap_err().contains("maximum"));
    }

    #[test]
    fn durations_print_short() {
        assert_eq!(fmt_duration(Duration::from_millis(300)), "300ms");
        assert_eq!(fmt_duration(Duration::from_secs(2)), "2s");
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1.5s");
    }
}
