//! A run's report: every problem with file, row, column, value and rule, as text, JSON and an
//! HTML page.

use serde::{Deserialize, Serialize};

pub use fivestar_tidy::{Problem, Severity, LISTED_PER_RULE};

/// A problem of tidy's, as the run reports it: its rule under `tidy:` and its file named.
pub fn from_tidy(mut p: Problem, file: &str) -> Problem {
    p.rule = format!("tidy:{}", p.rule);
    p.file = Some(file.to_string());
    p
}

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// A new release is live.
    Published,
    /// The source and the pipeline are as last time: nothing was done.
    Unchanged,
    /// Validation found errors (or personal data): nothing was published.
    Blocked,
    /// The run could not finish (fetch failed, store error): nothing was published.
    Failed,
    /// `fivestar validate`: everything up to the gate passed; nothing is published.
    Valid,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Published => "published",
            Outcome::Unchanged => "unchanged",
            Outcome::Blocked => "blocked",
            Outcome::Failed => "failed",
            Outcome::Valid => "valid",
        }
    }
}

/// The report of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub dataset: String,
    pub run: String,
    pub pipeline: String,
    pub source: String,
    pub outcome: Outcome,
    pub started: String,
    pub finished: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub release: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub source_sha256: Option<String>,
    /// What tidy saw: encoding, format, sheet, header row, date orders, rows.
    #[serde(default)]
    pub facts: Vec<(String, String)>,
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn count(&self, s: Severity) -> usize {
        self.problems.iter().filter(|p| p.severity == s).count()
    }

    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }

    /// One line per problem: `error file:row column "C" value "V" [rule] message`.
    pub fn to_text(&self, min: Severity) -> String {
        let mut out = format!(
            "{} run {}: {} ({} errors, {} warnings)\n",
            self.dataset,
            self.run,
            self.outcome.name(),
            self.count(Severity::Error),
            self.count(Severity::Warning)
        );
        for (k, v) in &self.facts {
            out.push_str(&format!("  {k}: {v}\n"));
        }
        for p in self.problems.iter().filter(|p| p.severity >= min) {
            out.push_str(&problem_line(p));
            out.push('\n');
        }
        out
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()))
    }

    pub fn to_html(&self) -> String {
        let mut rows = String::new();
        for p in &self.problems {
            rows.push_str(&format!(
                "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>\n",
                p.severity.name(),
                p.severity.name(),
                esc(p.file.as_deref().unwrap_or("")),
                p.row.map(|r| r.to_string()).unwrap_or_default(),
                esc(p.column.as_deref().unwrap_or("")),
                esc(p.value.as_deref().unwrap_or("")),
                esc(&p.rule),
                esc(&p.message)
            ));
        }
        let facts: String = self
            .facts
            .iter()
            .map(|(k, v)| format!("<dt>{}</dt><dd>{}</dd>", esc(k), esc(v)))
            .collect();
        format!(
            r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{dataset}: run {run}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem}}table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}}tr.error td:first-child{{color:#b00020;font-weight:bold}}tr.warning td:first-child{{color:#8a5a00}}tr.info td:first-child{{color:#555}}dt{{font-weight:bold}}dd{{margin:0 0 .4rem 0}}</style>
</head><body>
<h1>{dataset}: run {run}</h1>
<p class="outcome">Outcome: <strong>{outcome}</strong>. {errors} error(s), {warnings} warning(s).{release}</p>
<p>Pipeline <code>{pipeline}</code>; source <code>{source}</code>{sha}. Started {started}, finished {finished}.</p>
<dl>{facts}</dl>
<table><thead><tr><th>severity</th><th>file</th><th>row</th><th>column</th><th>value</th><th>rule</th><th>message</th></tr></thead>
<tbody>
{rows}</tbody></table>
</body></html>
"#,
            dataset = esc(&self.dataset),
            run = esc(&self.run),
            outcome = self.outcome.name(),
            errors = self.count(Severity::Error),
            warnings = self.count(Severity::Warning),
            release = self
                .release
                .as_ref()
                .map(|r| format!(" Release <code>{}</code> is live.", esc(r)))
                .unwrap_or_default(),
            pipeline = esc(&self.pipeline),
            source = esc(&self.source),
            sha = self
                .source_sha256
                .as_ref()
                .map(|s| format!(" (sha256 <code>{}</code>)", esc(s)))
                .unwrap_or_default(),
            started = esc(&self.started),
            finished = esc(&self.finished),
        )
    }
}

/// `error spend.csv:12 column "Amount" value "twelve" [tidy:amount] not an amount`.
pub fn problem_line(p: &Problem) -> String {
    let mut s = format!("{:<7} ", p.severity.name());
    match (&p.file, p.row) {
        (Some(f), Some(r)) => s.push_str(&format!("{f}:{r} ")),
        (Some(f), None) => s.push_str(&format!("{f} ")),
        (None, Some(r)) => s.push_str(&format!("row {r} ")),
        (None, None) => {}
    }
    if let Some(c) = &p.column {
        s.push_str(&format!("column {c:?} "));
    }
    if let Some(v) = &p.value {
        let shown: String = v.chars().take(80).collect();
        s.push_str(&format!("value {shown:?} "));
    }
    s.push_str(&format!("[{}] {}", p.rule, p.message));
    s
}

pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
