//! The expected-failure list: tests known to fail, each with a reason.
//!
//! One entry per line: the test's id (`folder/file.wast:line`, the line
//! of the directive), whitespace, and why it fails. `#` starts a comment;
//! blank lines are ignored.
//!
//! ```text
//! # kiln implements 2.0 instantiation: segments are applied in order
//! wasm-v1/linking.wast:123  1.0 checks every segment before writing any
//! ```
//!
//! The list can only shrink: a run fails if a test outside the list fails,
//! and also if a listed test no longer fails (remove its entry).

use super::runner::ScriptReport;
use std::collections::{HashMap, HashSet};

/// A parsed expected-failure list.
#[derive(Debug, Clone, Default)]
pub struct KnownFailures {
    /// id → reason.
    entries: HashMap<String, String>,
}

/// How a run compares with the list.
#[derive(Debug, Clone, Default)]
pub struct ListCheck {
    /// Failed tests that are not listed (`name:line:col: message`).
    pub unexpected: Vec<String>,
    /// Listed tests of the scripts that ran that no longer fail.
    pub now_passing: Vec<String>,
    /// Failed tests that are listed.
    pub expected: usize,
}

impl ListCheck {
    /// Whether the run matches the list exactly.
    pub fn ok(&self) -> bool {
        self.unexpected.is_empty() && self.now_passing.is_empty()
    }
}

impl KnownFailures {
    /// Parse the list; every entry needs a reason.
    pub fn parse(text: &str) -> Result<KnownFailures, String> {
        let mut entries = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (id, reason) = line
                .split_once(char::is_whitespace)
                .map(|(id, r)| (id, r.trim()))
                .filter(|(_, r)| !r.is_empty())
                .ok_or_else(|| {
                    format!("line {}: `{line}` has no reason (expected `folder/file.wast:line  reason`)", i + 1)
                })?;
            if entries.insert(id.to_string(), reason.to_string()).is_some() {
                return Err(format!("line {}: `{id}` is listed twice", i + 1));
            }
        }
        Ok(KnownFailures { entries })
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Why `id` is expected to fail, if it is listed.
    pub fn reason(&self, id: &str) -> Option<&str> {
        self.entries.get(id).map(String::as_str)
    }

    /// Compare the reports of a run with the list. Entries of scripts that
    /// did not run are not judged.
    pub fn check(&self, reports: &[ScriptReport]) -> ListCheck {
        let mut check = ListCheck::default();
        let mut failing = HashSet::new();
        for report in reports {
            for (result, line) in report.failures() {
                let id = report.id(result);
                if self.entries.contains_key(&id) {
                    check.expected += 1;
                    failing.insert(id);
                } else {
                    check.unexpected.push(line);
                }
            }
        }
        let ran: HashSet<&str> = reports.iter().map(|r| r.name.as_str()).collect();
        let mut now_passing: Vec<String> = self
            .entries
            .keys()
            .filter(|id| id.rsplit_once(':').is_some_and(|(file, _)| ran.contains(file)) && !failing.contains(*id))
            .cloned()
            .collect();
        now_passing.sort();
        check.now_passing = now_passing;
        check
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wast::runner::{Outcome, TestResult};

    fn report(outcomes: &[(usize, bool)]) -> ScriptReport {
        ScriptReport {
            name: "v/a.wast".to_string(),
            results: outcomes
                .iter()
                .map(|&(line, pass)| TestResult {
                    line,
                    col: 1,
                    directive: "assert_return",
                    outcome: if pass { Outcome::Passed } else { Outcome::Failed("no".into()) },
                })
                .collect(),
        }
    }

    #[test]
    fn entries_need_a_reason() {
        assert!(KnownFailures::parse("v/a.wast:3\n").is_err());
        assert!(KnownFailures::parse("v/a.wast:3 because\nv/a.wast:3 again\n").is_err());
        let list = KnownFailures::parse("# comment\n\nv/a.wast:3   why not  # trailing\n").unwrap();
        assert_eq!(list.reason("v/a.wast:3"), Some("why not"));
    }

    #[test]
    fn unlisted_failures_and_fixed_entries_both_fail_the_run() {
        let list = KnownFailures::parse("v/a.wast:3 known\nv/a.wast:5 fixed since\nother/b.wast:1 not run\n").unwrap();
        let check = list.check(&[report(&[(3, false), (4, false), (5, true)])]);
        assert_eq!(check.expected, 1);
        assert_eq!(check.unexpected.len(), 1);
        assert!(check.unexpected[0].starts_with("v/a.wast:4:1:"));
        assert_eq!(check.now_passing, vec!["v/a.wast:5".to_string()]);
        assert!(!check.ok());
    }
}
