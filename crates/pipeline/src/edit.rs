//! Changes to a pipeline file that keep everything else in it (comments, order, other keys):
//! the browser workspace writes the same file `fivestar run` reads, one change at a time, and
//! an officer who opens it afterwards finds it as it was, but for that change.

use crate::config::{Personal, Pipeline};
use toml_edit::{value, DocumentMut, Item, Table};

/// A pipeline file being changed.
pub struct PipelineEdit {
    doc: DocumentMut,
}

impl PipelineEdit {
    pub fn parse(text: &str) -> Result<PipelineEdit, String> {
        text.parse::<DocumentMut>()
            .map(|doc| PipelineEdit { doc })
            .map_err(|e| e.to_string())
    }

    /// Sets a top-level string key (`title`, `template`, `publisher`…).
    pub fn set(&mut self, key: &str, v: &str) {
        self.doc[key] = value(v);
    }

    /// The pipeline maps with template `id`; column settings made for another template's
    /// columns are removed with it.
    pub fn set_template(&mut self, id: &str) {
        let changed = self.doc.get("template").and_then(Item::as_str) != Some(id);
        self.doc["template"] = value(id);
        if changed {
            self.doc.remove("columns");
        }
    }

    /// Sets or removes the cron schedule.
    pub fn set_schedule(&mut self, cron: Option<&str>) {
        match cron {
            Some(c) => self.doc["schedule"] = value(c),
            None => {
                self.doc.remove("schedule");
            }
        }
    }

    /// `[columns.NAME]`, made when missing; `None` when the file has `columns` or its entry as
    /// something other than a table (not a pipeline `fivestar run` accepts: nothing is changed,
    /// and the check before writing names the key).
    fn column(&mut self, name: &str) -> Option<&mut Table> {
        let columns = self.doc["columns"]
            .or_insert(Item::Table(Table::new()))
            .as_table_mut()?;
        columns.set_implicit(true);
        // `Item::or_insert`, not `Entry::or_insert`: an entry left as `Item::None` (toml_edit's
        // placeholder for a key read through `IndexMut`) is replaced too.
        columns[name]
            .or_insert(Item::Table(Table::new()))
            .as_table_mut()
    }

    /// `[columns.NAME]` if the file has it (nothing is added: toml_edit's `Item::get_mut`
    /// would leave an empty placeholder behind).
    fn existing_column(&mut self, name: &str) -> Option<&mut Table> {
        self.doc
            .as_table_mut()
            .get_mut("columns")?
            .as_table_mut()?
            .get_mut(name)?
            .as_table_mut()
    }

    /// Removes `[columns.NAME]` when nothing is left in it.
    fn tidy_column(&mut self, name: &str) {
        let empty = self
            .doc
            .get("columns")
            .and_then(|c| c.get(name))
            .and_then(Item::as_table)
            .is_some_and(Table::is_empty);
        if empty {
            if let Some(c) = self.doc["columns"].as_table_mut() {
                c.remove(name);
            }
        }
        let none_left = self
            .doc
            .get("columns")
            .and_then(Item::as_table)
            .is_some_and(Table::is_empty);
        if none_left {
            self.doc.remove("columns");
        }
    }

    /// Column `name` reads exactly the source header `header`, or (None) the header the
    /// mapping prefers.
    pub fn set_source(&mut self, name: &str, header: Option<&str>) {
        match header {
            Some(h) => {
                if let Some(t) = self.column(name) {
                    t["source"] = value(h);
                }
            }
            None => {
                if let Some(t) = self.existing_column(name) {
                    t.remove("source");
                }
                self.tidy_column(name);
            }
        }
    }

    /// What the screen does with column `name`.
    pub fn set_personal(&mut self, name: &str, personal: Personal) {
        let word = match personal {
            Personal::Screen => None,
            Personal::Allow => Some("allow"),
            Personal::Redact => Some("redact"),
            Personal::Drop => Some("drop"),
        };
        match word {
            Some(w) => {
                if let Some(t) = self.column(name) {
                    t["personal"] = value(w);
                }
            }
            None => {
                if let Some(t) = self.existing_column(name) {
                    t.remove("personal");
                }
                self.tidy_column(name);
            }
        }
    }

    /// Column `name` is published again if it was dropped (another choice stays).
    pub fn undrop(&mut self, name: &str) {
        let dropped = self
            .doc
            .get("columns")
            .and_then(|c| c.get(name))
            .and_then(|c| c.get("personal"))
            .and_then(Item::as_str)
            == Some("drop");
        if dropped {
            self.set_personal(name, Personal::Screen);
        }
    }

    /// The file's text.
    pub fn text(&self) -> String {
        self.doc.to_string()
    }
}

/// Changes the pipeline file at `path` with `change`, checks that the result is a pipeline
/// `fivestar run` accepts, and only then replaces the file (written beside it and renamed, so
/// a reader never sees half a file). Returns the pipeline as loaded from the new file.
pub fn change_file(
    path: &std::path::Path,
    change: impl FnOnce(&mut PipelineEdit),
) -> Result<Pipeline, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut edit = PipelineEdit::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    change(&mut edit);
    write_checked(path, &edit.text())
}

/// Writes `text` as the pipeline file `path` if it is a pipeline `fivestar run` accepts
/// (checked before anything is written); returns the pipeline loaded from it. The file is
/// written beside its place under a name `discover` skips, then renamed, so that a reader (the
/// scheduler, `fivestar run`) never sees half a file.
pub fn write_checked(path: &std::path::Path, text: &str) -> Result<Pipeline, String> {
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    Pipeline::parse(path, text, text.as_bytes(), &|r: &str| Some(dir.join(r)))
        .map_err(|e| e.to_string())?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.new", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("{}: {e}", path.display()));
    }
    Pipeline::load(path).map_err(|e| e.to_string())
}

/// A schedule in plain words, written as cron (UTC) in the pipeline file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    Never,
    /// Each week on this day (0 Sunday … 6 Saturday).
    Week(u8),
    /// Each month on this day (1–28, so that every month has it).
    Month(u8),
    /// Each quarter (January, April, July, October) on this day (1–28).
    Quarter(u8),
}

/// The hour (UTC) scheduled runs start at.
pub const SCHEDULE_HOUR: u8 = 6;

pub const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

impl Every {
    /// Cron for it (minute hour day month weekday), or None for never.
    pub fn cron(self) -> Option<String> {
        let h = SCHEDULE_HOUR;
        match self {
            Every::Never => None,
            Every::Week(d) => Some(format!("0 {h} * * {}", d.min(6))),
            Every::Month(d) => Some(format!("0 {h} {} * *", d.clamp(1, 28))),
            Every::Quarter(d) => Some(format!("0 {h} {} 1,4,7,10 *", d.clamp(1, 28))),
        }
    }

    /// The plain choice a cron expression is, if it is one of them.
    pub fn of_cron(cron: Option<&str>) -> Option<Every> {
        let Some(c) = cron else {
            return Some(Every::Never);
        };
        let f: Vec<&str> = c.split_whitespace().collect();
        let [min, hour, day, month, weekday] = f.as_slice() else {
            return None;
        };
        if *min != "0" || hour.parse::<u8>().ok() != Some(SCHEDULE_HOUR) {
            return None;
        }
        let day_n = day.parse::<u8>().ok().filter(|d| (1..=28).contains(d));
        match (*day, *month, *weekday, day_n) {
            ("*", "*", w, _) => w.parse::<u8>().ok().filter(|w| *w <= 6).map(Every::Week),
            (_, "*", "*", Some(d)) => Some(Every::Month(d)),
            (_, "1,4,7,10", "*", Some(d)) => Some(Every::Quarter(d)),
            _ => None,
        }
    }

    /// In words: "every month on day 3, at 06:00 UTC".
    pub fn describe(self) -> String {
        let at = format!("at {SCHEDULE_HOUR:02}:00 UTC");
        match self {
            Every::Never => "never (run it by hand)".into(),
            Every::Week(d) => format!("every week on {}, {at}", WEEKDAYS[usize::from(d.min(6))]),
            Every::Month(d) => format!("every month on day {d}, {at}"),
            Every::Quarter(d) => {
                format!("every quarter (January, April, July, October) on day {d}, {at}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# Written by hand.\nid = \"spend\"\ntitle = \"Spend\"\ntemplate = \"spend\" # the template\n\n[source]\nurl = \"data.csv\"\n\n[columns.supplier_name]\n# reviewed by J\npersonal = \"allow\"\n";

    #[test]
    fn edits_keep_comments_and_other_keys() {
        let mut e = PipelineEdit::parse(FILE).unwrap();
        e.set_source("net_amount", Some("Gross Paid GBP"));
        e.set_personal("contact_email", Personal::Drop);
        e.set_schedule(Every::Month(3).cron().as_deref());
        let t = e.text();
        assert!(t.contains("# Written by hand."), "{t}");
        assert!(t.contains("# reviewed by J"), "{t}");
        assert!(t.contains("template = \"spend\" # the template"), "{t}");
        assert!(
            t.contains("[columns.net_amount]\nsource = \"Gross Paid GBP\""),
            "{t}"
        );
        assert!(
            t.contains("[columns.contact_email]\npersonal = \"drop\""),
            "{t}"
        );
        assert!(t.contains("schedule = \"0 6 3 * *\""), "{t}");
        // Back to the defaults: the entries go.
        e.set_source("net_amount", None);
        e.set_personal("contact_email", Personal::Screen);
        e.set_schedule(None);
        let t = e.text();
        assert!(
            !t.contains("net_amount") && !t.contains("contact_email"),
            "{t}"
        );
        assert!(!t.contains("schedule"), "{t}");
        assert!(t.contains("personal = \"allow\""), "{t}");
    }

    #[test]
    fn a_column_no_longer_published_is_dropped_in_one_change() {
        // What the workspace does when a column is set to "not published": its source goes,
        // then it is dropped (a regression: the first step left a placeholder the second
        // could not fill, and the file was written unchanged).
        let mut e = PipelineEdit::parse(
            "id = \"x\"\ntemplate = \"spend\"\n\n[columns.supplier_name]\n# kept\n",
        )
        .unwrap();
        e.set_source("body_name", None);
        e.set_personal("body_name", Personal::Drop);
        let t = e.text();
        assert!(
            t.contains("[columns.body_name]\npersonal = \"drop\""),
            "{t}"
        );
        assert!(t.contains("# kept"), "{t}");
        e.undrop("body_name");
        e.set_source("body_name", Some("Organisation"));
        let t = e.text();
        assert!(!t.contains("drop"), "{t}");
        assert!(
            t.contains("[columns.body_name]\nsource = \"Organisation\""),
            "{t}"
        );
    }

    #[test]
    fn a_file_with_columns_that_are_not_tables_is_not_a_panic() {
        let mut e = PipelineEdit::parse("id = \"x\"\ncolumns = 5\n").unwrap();
        e.set_source("net_amount", Some("Paid"));
        e.set_personal("net_amount", Personal::Drop);
        assert_eq!(e.text(), "id = \"x\"\ncolumns = 5\n");
        let mut e = PipelineEdit::parse("[columns]\nnet_amount = 1\n").unwrap();
        e.set_source("net_amount", Some("Paid"));
        assert!(!e.text().contains("Paid"));
    }

    #[test]
    fn another_template_drops_column_settings() {
        let mut e = PipelineEdit::parse(FILE).unwrap();
        e.set_template("spend");
        assert!(e.text().contains("[columns.supplier_name]"));
        e.set_template("grants");
        assert!(!e.text().contains("[columns"), "{}", e.text());
        assert!(e.text().contains("template = \"grants\""));
    }

    #[test]
    fn schedules_round_trip_through_cron() {
        for every in [
            Every::Never,
            Every::Week(1),
            Every::Month(15),
            Every::Quarter(2),
        ] {
            assert_eq!(Every::of_cron(every.cron().as_deref()), Some(every));
        }
        assert_eq!(Every::of_cron(Some("*/5 * * * *")), None);
        assert_eq!(Every::Month(31).cron().as_deref(), Some("0 6 28 * *"));
    }

    #[test]
    fn a_change_that_breaks_the_file_leaves_it_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("data.csv"), "a\n1\n").unwrap();
        let path = dir.path().join("spend.toml");
        std::fs::write(&path, FILE).unwrap();
        let err = change_file(&path, |e| e.set("template", "no-such-template")).unwrap_err();
        assert!(err.contains("no-such-template"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), FILE);
        let p = change_file(&path, |e| e.set_schedule(Every::Week(1).cron().as_deref())).unwrap();
        assert_eq!(p.schedule.map(|s| s.0).as_deref(), Some("0 6 * * 1"));
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "no temporary file is left");
    }
}
