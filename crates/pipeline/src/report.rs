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
    /// What to do first: at most five actions, each on a header the officer knows.
    #[serde(default)]
    pub todo: Vec<String>,
    /// The problems grouped by rule and column: a count and the first cases of each.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Each mapped column: (the source header, or the column's title when the file lacks it;
    /// the key of its `[columns.KEY]` entry in a pipeline file).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<(String, String)>,
    /// The source's headers nothing in the mapping took.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmapped: Vec<String>,
    /// A summary of the data that passed the gate: rows, amounts, dates, redactions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<crate::preview::DataSummary>,
    /// For a check (validate only): resources as their pages will show them, and the stars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<crate::preview::Preview>,
    pub problems: Vec<Problem>,
}

/// Problems of one rule in one column.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Group {
    pub severity: Severity,
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub column: Option<String>,
    /// How many problems (a problem that counts further cases, "N more …", adds them).
    pub count: usize,
    /// The first cases (at most three).
    pub first: Vec<Problem>,
}

/// How many cases each group lists.
pub const GROUP_CASES: usize = 3;

impl Report {
    /// A report of dataset `dataset` with nothing in it yet (outcome: failed).
    pub fn empty(dataset: &str) -> Report {
        Report {
            dataset: dataset.to_string(),
            run: String::new(),
            pipeline: String::new(),
            source: String::new(),
            outcome: Outcome::Failed,
            started: String::new(),
            finished: String::new(),
            release: None,
            source_sha256: None,
            facts: Vec::new(),
            todo: Vec::new(),
            groups: Vec::new(),
            columns: Vec::new(),
            unmapped: Vec::new(),
            data: None,
            preview: None,
            problems: Vec::new(),
        }
    }

    pub fn count(&self, s: Severity) -> usize {
        self.problems.iter().filter(|p| p.severity == s).count()
    }

    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }

    /// The problems of at least `min` severity, a group to a few lines: a group of one case
    /// is its line; a larger group is a header with its count, then its first cases indented.
    pub fn group_lines(&self, min: Severity) -> Vec<String> {
        let groups = if self.groups.is_empty() {
            group(&self.problems)
        } else {
            self.groups.clone()
        };
        let mut out = Vec::new();
        for g in groups.iter().filter(|g| g.severity >= min) {
            if g.count > g.first.len() {
                out.push(format!(
                    "{:<7} [{}]{} {} case(s); the first {}:",
                    g.severity.name(),
                    g.rule,
                    g.column
                        .as_ref()
                        .map(|c| format!(" column {c:?}:"))
                        .unwrap_or_default(),
                    g.count,
                    g.first.len()
                ));
                out.extend(g.first.iter().map(|p| format!("  {}", problem_line(p))));
            } else {
                out.extend(g.first.iter().map(problem_line));
            }
        }
        out
    }

    /// Fills in `todo` and `groups` from the problems (once the run is over).
    pub fn summarise(&mut self) {
        self.groups = group(&self.problems);
        self.todo = what_to_do(self);
    }

    /// The summary, the facts, then one line per group (its count and first cases):
    /// `error spend.csv:12 column "C" value "V" [rule] message`.
    pub fn to_text(&self, min: Severity) -> String {
        let mut out = format!(
            "{} run {}: {} ({} errors, {} warnings)\n",
            self.dataset,
            self.run,
            self.outcome.name(),
            self.count(Severity::Error),
            self.count(Severity::Warning)
        );
        if !self.todo.is_empty() {
            out.push_str("what to do:\n");
            for (i, t) in self.todo.iter().enumerate() {
                out.push_str(&format!("  {}. {t}\n", i + 1));
            }
        }
        for (k, v) in &self.facts {
            out.push_str(&format!("  {k}: {v}\n"));
        }
        for line in self.group_lines(min) {
            out.push_str(&line);
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
        let groups = if self.groups.is_empty() {
            group(&self.problems)
        } else {
            self.groups.clone()
        };
        for g in &groups {
            if g.count > g.first.len() {
                rows.push_str(&format!(
                    "<tr class=\"{} group\"><td>{}</td><td colspan=\"6\"><strong>{}</strong> case(s) of <code>{}</code>{}; the first {}:</td></tr>\n",
                    g.severity.name(),
                    g.severity.name(),
                    g.count,
                    esc(&g.rule),
                    g.column
                        .as_ref()
                        .map(|c| format!(" in column <strong>{}</strong>", esc(c)))
                        .unwrap_or_default(),
                    g.first.len()
                ));
            }
            rows.push_str(&g.first.iter().map(problem_row).collect::<String>());
        }
        let todo = if self.todo.is_empty() {
            String::new()
        } else {
            format!(
                "<section class=\"todo\"><h2>What to do</h2><ol>{}</ol></section>",
                self.todo
                    .iter()
                    .map(|t| format!("<li>{}</li>", esc(t)))
                    .collect::<String>()
            )
        };
        // What the officer reads first; the stage times go in a table after the problems.
        let is_time = |k: &str| k.starts_with("seconds: ") || k.starts_with("cpu seconds: ");
        let facts: String = self
            .facts
            .iter()
            .filter(|(k, _)| !is_time(k))
            .map(|(k, v)| format!("<dt>{}</dt><dd>{}</dd>", esc(k), esc(v)))
            .collect();
        let times: String = self
            .facts
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("seconds: ")?, v)))
            .map(|(stage, v)| {
                let cpu = self
                    .facts
                    .iter()
                    .find(|(k, _)| k.strip_prefix("cpu seconds: ") == Some(stage))
                    .map_or("", |(_, c)| c.as_str());
                format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(stage),
                    esc(v),
                    esc(cpu)
                )
            })
            .collect();
        let times = if times.is_empty() {
            String::new()
        } else {
            format!(
                "<h2>Time taken</h2>\n<table class=\"times\"><thead><tr><th>stage</th><th>seconds</th><th>CPU seconds (the whole process: in a live instance, its other work too)</th></tr></thead><tbody>{times}</tbody></table>\n"
            )
        };
        format!(
            r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{dataset}: run {run}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:80rem}}table{{border-collapse:collapse;width:100%}}td,th{{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}}tr.error td:first-child{{color:#b00020;font-weight:bold}}tr.warning td:first-child{{color:#8a5a00}}tr.info td:first-child{{color:#555}}dt{{font-weight:bold}}dd{{margin:0 0 .4rem 0}}</style>
</head><body>
<h1>{dataset}: run {run}</h1>
<p class="outcome">Outcome: <strong>{outcome}</strong>. {errors} error(s), {warnings} warning(s).{release}</p>
{todo}
<p>Pipeline <code>{pipeline}</code>; source <code>{source}</code>{sha}. Started {started}, finished {finished}.</p>
<dl>{facts}</dl>
<table><thead><tr><th>severity</th><th>file</th><th>row</th><th>column</th><th>value</th><th>rule</th><th>message</th></tr></thead>
<tbody>
{rows}</tbody></table>
{times}</body></html>
"#,
            dataset = esc(&self.dataset),
            run = esc(&self.run),
            todo = todo,
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
            times = times,
        )
    }
}

/// One problem as a row of the HTML report's table.
fn problem_row(p: &Problem) -> String {
    format!(
        "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>\n",
        p.severity.name(),
        p.severity.name(),
        esc(p.file.as_deref().unwrap_or("")),
        p.row.map(|r| r.to_string()).unwrap_or_default(),
        esc(p.column.as_deref().unwrap_or("")),
        esc(p.value.as_deref().unwrap_or("")),
        esc(&p.rule),
        esc(&p.message)
    )
}

/// The count a problem stands for: one, or N+1 for a "N more …" problem that counts the cases
/// not listed.
fn weight(p: &Problem) -> usize {
    if p.row.is_none() {
        let first = p.message.split_whitespace().next().unwrap_or("");
        let second = p.message.split_whitespace().nth(1).unwrap_or("");
        if let (Ok(n), "more" | "further") = (first.parse::<usize>(), second) {
            return n;
        }
    }
    1
}

/// The problems grouped by (rule, column), in the order each group first appears, errors
/// first: a count and the first [`GROUP_CASES`] cases of each.
pub fn group(problems: &[Problem]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for p in problems {
        // A rule's family: `personal-data:nhs-number` and its "N more" line group together.
        let key_rule = &p.rule;
        let n = weight(p);
        match groups
            .iter_mut()
            .find(|g| &g.rule == key_rule && g.column == p.column && g.severity == p.severity)
        {
            Some(g) => {
                g.count += n;
                if n == 1 && g.first.len() < GROUP_CASES {
                    g.first.push(p.clone());
                }
            }
            None => groups.push(Group {
                severity: p.severity,
                rule: p.rule.clone(),
                column: p.column.clone(),
                count: n,
                first: vec![p.clone()],
            }),
        }
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.severity));
    groups
}

/// The key of the pipeline's `[columns.KEY]` entry for a problem's column.
fn column_key<'a>(report: &'a Report, column: &'a str) -> &'a str {
    report
        .columns
        .iter()
        .find(|(source, _)| source == column)
        .map(|(_, key)| key.as_str())
        .unwrap_or(column)
}

/// Words of a header, lower case.
fn words(h: &str) -> Vec<String> {
    h.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2)
        .map(str::to_lowercase)
        .collect()
}

/// At most five actions, errors first, each on a header the officer knows.
fn what_to_do(report: &Report) -> Vec<String> {
    let mut todo: Vec<String> = Vec::new();
    let mut add = |t: String| {
        if !todo.contains(&t) && todo.len() < 5 {
            todo.push(t);
        }
    };
    // Missing columns first: what else fails in such a column follows from it.
    let missing: Vec<&str> = report
        .groups
        .iter()
        .filter(|g| g.rule == "tidy:missing-column")
        .filter_map(|g| g.column.as_deref())
        .collect();
    let mut ordered: Vec<&Group> = report
        .groups
        .iter()
        .filter(|g| g.severity >= Severity::Warning)
        .filter(|g| {
            !(g.rule.starts_with("csvw:")
                && g.column.as_deref().is_some_and(|c| missing.contains(&c)))
        })
        .collect();
    // Blocking problems first; among them, a missing column before what follows from it.
    ordered.sort_by_key(|g| {
        let blocks = g.severity == Severity::Error
            || (g.rule == "tidy:missing-column"
                && report
                    .groups
                    .iter()
                    .any(|e| e.severity == Severity::Error && e.column == g.column));
        (!blocks, g.rule != "tidy:missing-column")
    });
    for g in ordered {
        let column = g.column.as_deref().unwrap_or("");
        let key = column_key(report, column);
        let first = &g.first[0];
        let rule = g.rule.as_str();
        let example = first
            .row
            .map(|r| {
                format!(
                    " (row {r}{})",
                    first
                        .value
                        .as_ref()
                        .map(|v| format!(", {v:?}"))
                        .unwrap_or_default()
                )
            })
            .unwrap_or_default();
        match rule {
            "tidy:missing-column" => {
                // The file's unmapped headers that share a word with the column's names.
                let wanted: Vec<String> = words(column)
                    .into_iter()
                    .chain(first.message.split('"').skip(1).step_by(2).take_while(|h| !h.is_empty()).flat_map(words))
                    .collect();
                let near: Vec<&String> = report
                    .unmapped
                    .iter()
                    .filter(|h| words(h).iter().any(|w| wanted.contains(w)))
                    .collect();
                let pick: Vec<&String> = if near.is_empty() { report.unmapped.iter().take(5).collect() } else { near };
                add(match pick.first() {
                    Some(h) => format!(
                        "No column for {column:?}: your file has {}; if one of them is it, add it as an alias: [columns.{}] aliases = [{}]",
                        pick.iter().map(|h| format!("{h:?}")).collect::<Vec<_>>().join(", "),
                        toml_key(key),
                        crate::config::toml_string(h)
                    ),
                    None => format!("No column for {column:?}: if your file has it under a header fivestar does not know, add that header as an alias under [columns.{}]", toml_key(key)),
                });
            }
            "tidy:column-choice" => {
                // "… fit "Date": took "X" and left "Y", "Z" (the preference …"
                let quoted: Vec<&str> = first.message.split('"').skip(1).step_by(2).collect();
                let left: Vec<&str> = first
                    .message
                    .split(" and left ")
                    .nth(1)
                    .and_then(|r| r.split(" (the preference").next())
                    .map(|r| r.split('"').skip(1).step_by(2).collect())
                    .unwrap_or_default();
                add(format!(
                    "{:?} is read from {column:?} (the file also has {}); if another is right, set source = {} under [columns.{}]",
                    quoted.first().copied().unwrap_or(""),
                    left.iter().map(|l| format!("{l:?}")).collect::<Vec<_>>().join(", "),
                    crate::config::toml_string(left.first().copied().unwrap_or("")),
                    toml_key(key)
                ))
            }
            "personal-data:names" => add(format!(
                "Column {column:?} names people: check it may be published, then set personal = \"allow\" (or \"redact\") under [columns.{}]",
                toml_key(key)
            )),
            "personal-data:person-name" => add(format!(
                "{} value(s) of {column:?} were redacted as people's names: if they are businesses, set personal = \"allow\" under [columns.{}]",
                first.message.split_whitespace().nth(1).unwrap_or("some"),
                toml_key(key)
            )),
            r if r.starts_with("personal-data") => add(format!(
                "Column {column:?} holds personal data ({} case(s){example}, [{r}]): remove it from the file, or set personal = \"redact\" or \"drop\" under [columns.{}]",
                g.count,
                toml_key(key)
            )),
            r if r.starts_with("link:") && g.severity == Severity::Warning => add(format!(
                "{} value(s) of {column:?} link to nothing{example}: check them{}",
                g.count,
                if r == "link:council" { ", or set `publisher` in the pipeline to name the council" } else { "" }
            )),
            "shrink" | "no-rows" | "fetch" => add(first.message.clone()),
            // The run could not finish for a reason outside the data (a full disk, a run
            // already on): nothing in the file to fix.
            "io" | "convert" | "publish" | "lock" => add(format!(
                "The run stopped, not because of the data: [{rule}] {}. The live release is unchanged; once that is fixed, run again",
                first.message
            )),
            _ if g.severity == Severity::Error => add(format!(
                "Fix {} value(s){}{example}: [{rule}] {}",
                g.count,
                if column.is_empty() { String::new() } else { format!(" in {column:?}") },
                first.message
            )),
            _ => {}
        }
    }
    todo
}

/// A `[columns.KEY]` key: bare when it can be, quoted otherwise.
fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        crate::config::toml_string(k)
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

#[cfg(test)]
mod tests {
    /// A run that stopped for a reason outside the data is not told to fix values.
    #[test]
    fn a_run_that_could_not_finish_is_not_told_to_fix_values() {
        use super::{Problem, Report, Severity};
        let mut r = Report::empty("spend");
        r.problems.push(Problem::error(
            "publish",
            "/srv/store/dumps: No space left on device (os error 28)",
        ));
        r.problems.push(
            Problem::new(Severity::Error, "csvw:datatype", "not a date")
                .column("Date")
                .row(7)
                .value("31/02/2026"),
        );
        r.summarise();
        assert!(
            r.todo.iter().any(|t| t
                == "The run stopped, not because of the data: [publish] /srv/store/dumps: No space left on device (os error 28). The live release is unchanged; once that is fixed, run again"),
            "{:?}",
            r.todo
        );
        assert!(
            !r.todo.iter().any(|t| t.contains("value(s): [publish]")),
            "{:?}",
            r.todo
        );
        // A value the data gets wrong is still a value to fix.
        assert!(
            r.todo
                .iter()
                .any(|t| t.starts_with("Fix 1 value(s) in \"Date\" (row 7, \"31/02/2026\")")),
            "{:?}",
            r.todo
        );
    }

    #[test]
    fn stage_times_are_a_table_after_the_problems() {
        let mut r = super::Report::empty("spend");
        for (k, v) in [
            ("seconds: tidy", "0.75"),
            ("cpu seconds: tidy", "0.70"),
            ("rows", "200000"),
            ("seconds: publish: latest", "1.45"),
        ] {
            r.facts.push((k.into(), v.into()));
        }
        let html = r.to_html();
        assert!(html.contains("<dt>rows</dt><dd>200000</dd>"), "{html}");
        assert!(!html.contains("<dt>seconds: tidy"), "{html}");
        assert!(!html.contains("<dt>cpu seconds"), "{html}");
        let times = html.find("<h2>Time taken</h2>").expect("a table of times");
        assert!(times > html.find("<th>severity</th>").unwrap());
        assert!(html.contains("<tr><td>tidy</td><td>0.75</td><td>0.70</td></tr>"));
        assert!(html.contains("<tr><td>publish: latest</td><td>1.45</td><td></td></tr>"));
        assert!(!super::Report::empty("x").to_html().contains("Time taken"));
    }
}
