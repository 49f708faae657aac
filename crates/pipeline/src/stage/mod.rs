//! The stages of a run, in order, each a function from typed input to typed output that adds
//! its problems (with file, row, column, value and rule) to the run's report:
//!
//! ```text
//! fetch    the source's bytes, or "unchanged"                  (stage::fetch)
//! tidy     bytes → a clean table, by the mapping's rules         (stage::tidy)
//! gate     not data, shrinkage, redaction, personal data, rules   (stage::gate)
//! link     the row's key (stage::identity), the mapping's computed columns (stage::link)
//! convert  clean CSV + metadata → CSVW validation and csv2rdf     (stage::convert)
//! publish  the N-Triples, CSV and provenance → a live release     (stage::publish)
//! ```
//!
//! `run::run` strings them together and keeps the state; `fivestar publish` uses `convert`
//! and `publish` for an existing CSVW table.

pub mod convert;
pub mod fetch;
pub mod gate;
pub mod growing;
pub mod identity;
pub mod link;
pub mod publish;
pub mod tidy;

use crate::report::Problem;

/// A stage's fatal error (the run fails; the live release is untouched).
pub(crate) fn fail(rule: &str, message: impl Into<String>) -> Box<Problem> {
    Box::new(Problem::error(rule, message))
}
