//! The results of a `verify` run and their three renderings: a readable text report, JUnit XML for
//! CI systems, and JSON.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use super::check::Finding;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    /// The answer matches the contract but proves little: a declared 4xx to a request whose
    /// identifiers came from examples, refused credentials, a conflict with existing state.
    Inconclusive,
    Failed,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Passed => "PASS",
            Outcome::Inconclusive => "INCONCLUSIVE",
            Outcome::Failed => "FAIL",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub target: String,
    pub specs: Vec<String>,
    /// No failures, something proved (see `vacuous`), and with `--fail-on-inconclusive` nothing
    /// inconclusive.
    pub ok: bool,
    /// Why a run that failed nothing proves nothing (no operation selected, the credential the
    /// documents require missing, nothing passed); such a run is not `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vacuous: Option<String>,
    pub summary: Summary,
    pub operations: Vec<OperationReport>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Operations verified, and how they came out (an operation takes its worst request's outcome).
    pub operations: usize,
    pub passed: usize,
    pub failed: usize,
    pub inconclusive: usize,
    /// Operations left out by `--include` / `--exclude`.
    pub excluded: usize,
    pub requests: usize,
    pub duration_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct OperationReport {
    pub operation: String,
    pub spec: String,
    /// The document's title, for grouping.
    pub title: String,
    pub method: String,
    /// The path template as served.
    pub path: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// create, read, update, action or delete: where it sits in the run order.
    pub kind: String,
    pub outcome: Outcome,
    pub cases: Vec<Case>,
}

/// One request and its answer.
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    /// "request", "example", "example NAME" or "generated".
    pub name: String,
    pub request: SentRequest,
    /// None when no answer came.
    pub status: Option<u16>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For an inconclusive result: what would make it prove something.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<Finding>,
    /// Where parameter values came from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub duration_ms: f64,
    /// The request could not be completed (connection refused, timeout).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub error: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SentRequest {
    pub method: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

/// The readable report: one line per operation (one per request when it sent several), the
/// violations and reasons under it, then the summary line.
impl Report {
    /// The report as `specstub verify` prints it.
    pub fn to_text(&self) -> String {
        text(self)
    }

    /// JUnit XML, one test case per operation.
    pub fn to_junit(&self) -> String {
        junit(self)
    }

    /// The report as JSON.
    pub fn to_json(&self) -> String {
        json(self)
    }
}

pub fn text(r: &Report) -> String {
    let mut out = String::new();
    let width = r.operations.iter().map(|o| o.operation.len()).max().unwrap_or(0).min(48);
    for op in &r.operations {
        let single = op.cases.len() == 1;
        let first = &op.cases[0];
        let status = |c: &Case| c.status.map(|s| s.to_string()).unwrap_or_else(|| "---".into());
        let _ = write!(out, "{:<12} {:<width$}  {:<6} {}", op.outcome.label(), op.operation, op.method, op.path);
        if single {
            let _ = writeln!(out, "  -> {} ({:.0} ms)", status(first), first.duration_ms);
            case_details(&mut out, first, "    ");
        } else {
            out.push('\n');
            for c in &op.cases {
                let _ = writeln!(out, "    {:<12} {} -> {} ({:.0} ms)", c.outcome.label(), c.name, status(c), c.duration_ms);
                case_details(&mut out, c, "        ");
            }
        }
    }
    let inconclusive: Vec<(&OperationReport, &Case)> =
        r.operations.iter().flat_map(|o| o.cases.iter().map(move |c| (o, c))).filter(|(_, c)| c.outcome == Outcome::Inconclusive).collect();
    if !inconclusive.is_empty() {
        // Listed together: an inconclusive result passes the run, so it is easy to overlook.
        let _ = writeln!(out, "\ninconclusive ({}):", inconclusive.len());
        for (op, c) in inconclusive {
            let name = if op.cases.len() == 1 { op.operation.clone() } else { format!("{} [{}]", op.operation, c.name) };
            let _ = writeln!(out, "  {name}: {}", c.reason.as_deref().unwrap_or("inconclusive"));
            if let Some(h) = &c.hint {
                let _ = writeln!(out, "    hint: {h}");
            }
        }
    }
    let s = &r.summary;
    let _ = write!(
        out,
        "\nverify: {} passed, {} failed, {} inconclusive of {} operation(s) ({} request(s) to {}) in {:.2} s",
        s.passed,
        s.failed,
        s.inconclusive,
        s.operations,
        s.requests,
        r.target,
        s.duration_ms / 1000.0
    );
    if s.excluded > 0 {
        let _ = write!(out, "; {} excluded", s.excluded);
    }
    out.push('\n');
    if let Some(why) = &r.vacuous {
        let _ = writeln!(out, "verify proves nothing: {why}");
    }
    out
}

fn case_details(out: &mut String, c: &Case, indent: &str) {
    if let Some(reason) = &c.reason {
        if c.outcome != Outcome::Passed {
            let _ = writeln!(out, "{indent}{reason}");
        }
    }
    for v in &c.violations {
        let _ = writeln!(out, "{indent}- {v}");
    }
    if c.outcome != Outcome::Passed {
        let _ = writeln!(out, "{indent}request: {} {}", c.request.method, c.request.url);
        for i in &c.inputs {
            let _ = writeln!(out, "{indent}  {i}");
        }
    }
    for n in &c.notes {
        let _ = writeln!(out, "{indent}note: {n}");
    }
}

pub fn json(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(r).unwrap_or_default();
    s.push('\n');
    s
}

/// JUnit XML: one `testsuite` per document, one `testcase` per request. A contract violation is a
/// `failure`, a request that got no answer an `error`, an inconclusive result `skipped`.
pub fn junit(r: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let all: Vec<&Case> = r.operations.iter().flat_map(|o| o.cases.iter()).collect();
    let count = |f: &dyn Fn(&Case) -> bool| all.iter().filter(|c| f(c)).count();
    let _ = writeln!(
        out,
        "<testsuites name=\"specstub verify\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
        all.len(),
        count(&|c| c.outcome == Outcome::Failed && !c.error),
        count(&|c| c.error),
        count(&|c| c.outcome == Outcome::Inconclusive),
        r.summary.duration_ms / 1000.0
    );
    for spec in &r.specs {
        let ops: Vec<&OperationReport> = r.operations.iter().filter(|o| &o.spec == spec).collect();
        let cases: Vec<&Case> = ops.iter().flat_map(|o| o.cases.iter()).collect();
        let title = ops.first().map(|o| o.title.as_str()).filter(|t| !t.is_empty()).unwrap_or(spec);
        let time: f64 = cases.iter().map(|c| c.duration_ms).sum::<f64>() / 1000.0;
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{time:.3}\">",
            xml(&format!("{title} ({spec})")),
            cases.len(),
            cases.iter().filter(|c| c.outcome == Outcome::Failed && !c.error).count(),
            cases.iter().filter(|c| c.error).count(),
            cases.iter().filter(|c| c.outcome == Outcome::Inconclusive).count(),
        );
        for op in ops {
            let classname = match op.tags.first() {
                Some(tag) => format!("{title}.{tag}"),
                None => title.to_string(),
            };
            for c in &op.cases {
                let name = if op.cases.len() == 1 {
                    format!("{} {} {}", op.operation, op.method, op.path)
                } else {
                    format!("{} {} {} [{}]", op.operation, op.method, op.path, c.name)
                };
                let _ = write!(
                    out,
                    "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                    xml(&classname),
                    xml(&name),
                    c.duration_ms / 1000.0
                );
                let mut detail = String::new();
                let _ = writeln!(
                    detail,
                    "{} {} -> {}",
                    c.request.method,
                    c.request.url,
                    c.status.map(|s| s.to_string()).unwrap_or_else(|| "no answer".into())
                );
                for v in &c.violations {
                    let _ = writeln!(detail, "{v}");
                }
                for i in &c.inputs {
                    let _ = writeln!(detail, "input: {i}");
                }
                for n in &c.notes {
                    let _ = writeln!(detail, "note: {n}");
                }
                let reason = c.reason.clone().unwrap_or_default();
                match c.outcome {
                    Outcome::Passed => {
                        let _ = writeln!(out, ">\n      <system-out>{}</system-out>\n    </testcase>", xml(&detail));
                    }
                    Outcome::Failed => {
                        let tag = if c.error { "error" } else { "failure" };
                        let kind = if c.error { "RequestError" } else { "ContractViolation" };
                        let _ = writeln!(
                            out,
                            ">\n      <{tag} message=\"{}\" type=\"{kind}\">{}</{tag}>\n    </testcase>",
                            xml(&reason),
                            xml(&detail)
                        );
                    }
                    Outcome::Inconclusive => {
                        if let Some(h) = &c.hint {
                            let _ = writeln!(detail, "hint: {h}");
                        }
                        let _ = writeln!(
                            out,
                            ">\n      <skipped message=\"{}\"/>\n      <system-out>{}</system-out>\n    </testcase>",
                            xml(&format!("inconclusive: {reason}")),
                            xml(&detail)
                        );
                    }
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Escapes text for XML attributes and content, dropping characters XML 1.0 cannot carry.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_and_drops_control_characters() {
        assert_eq!(xml("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
    }
}
