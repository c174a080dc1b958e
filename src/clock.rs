//! Wall-clock timestamps in the formats APIs use.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now, as RFC 3339 in UTC with microseconds (`2026-11-23T01:02:03.456789Z`).
pub fn now_rfc3339() -> String {
    rfc3339(std::time::SystemTime::now())
}

/// A moment as RFC 3339 in UTC with microseconds.
pub fn rfc3339(at: std::time::SystemTime) -> String {
    let at = OffsetDateTime::from(at);
    let at = at.replace_nanosecond(at.nanosecond() / 1000 * 1000).unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_default()
}

/// A moment kept as is and formatted only when serialized: the journal takes one per request
/// and is read rarely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp(pub std::time::SystemTime);

impl Stamp {
    pub fn now() -> Self {
        Stamp(std::time::SystemTime::now())
    }
}

impl serde::Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(self.0))
    }
}
