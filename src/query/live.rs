//! The query directory as the daemon runs it, rescanned while it runs: a file added is
//! picked up, a file deleted stops, and a file edited into something invalid keeps its last
//! good version running (an analyst's half-saved edit must not stop a report) while status
//! says so.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::config::ValidationContext;

use super::{load_dir, Diagnostic, Query};

/// The queries that run, and the files that do not (or not in their current text).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryDir {
    /// What runs: each file's current version, or its last good one; in file-name order.
    queries: Vec<Query>,
    /// When each running version was loaded, by query name.
    loaded_at: HashMap<String, DateTime<Utc>>,
    /// Files that run in no version, and why.
    problems: Vec<Diagnostic>,
    /// Files whose current text has errors while an earlier version runs.
    stale: Vec<StaleFile>,
}

/// A query file whose current text does not validate while its last good version runs.
#[derive(Debug, Clone, PartialEq)]
pub struct StaleFile {
    /// The query's name (file stem).
    pub name: String,
    /// When the file was first seen with errors (since its last good version).
    pub errors_since: DateTime<Utc>,
    /// What is wrong with the current text.
    pub diagnostics: Vec<Diagnostic>,
    /// When the version that still runs was loaded.
    pub running_since: DateTime<Utc>,
}

impl StaleFile {
    /// The sentence status shows, e.g. "file has errors since 2026-11-26 08:05 UTC:
    /// q.toml:3:1: …; still running the version of 2026-11-26 07:00 UTC".
    pub fn sentence(&self) -> String {
        let time = |t: &DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
        let errors: Vec<String> = self.diagnostics.iter().map(ToString::to_string).collect();
        format!(
            "file has errors since {}: {}; still running the version of {}",
            time(&self.errors_since),
            errors.join("; "),
            time(&self.running_since)
        )
    }
}

impl QueryDir {
    /// The directory as first read: a bad file is a problem and runs in no version.
    pub fn load(dir: &Path, ctx: &ValidationContext, now: DateTime<Utc>) -> Self {
        Self::default().rescan(dir, ctx, now)
    }

    /// The directory read again at `now`: new and changed valid files replace what runs,
    /// a file that no longer validates keeps its running version, a deleted file stops.
    pub fn rescan(&self, dir: &Path, ctx: &ValidationContext, now: DateTime<Utc>) -> Self {
        let (fresh, diagnostics) = load_dir(dir, ctx);
        let mut next = Self::default();
        for query in fresh {
            let loaded_at = match self.running(&query.name) {
                Some(previous) if *previous == query => self.loaded_at.get(&query.name).copied().unwrap_or(now),
                _ => now,
            };
            next.loaded_at.insert(query.name.clone(), loaded_at);
            next.queries.push(query);
        }
        // A file's diagnostics stay together, in the order load_dir found them.
        let mut by_file: Vec<(std::path::PathBuf, Vec<Diagnostic>)> = Vec::new();
        for diagnostic in diagnostics {
            match by_file.iter_mut().find(|(file, _)| *file == diagnostic.file) {
                Some((_, found)) => found.push(diagnostic),
                None => by_file.push((diagnostic.file.clone(), vec![diagnostic])),
            }
        }
        for (file, diagnostics) in by_file {
            // Only a query file's problems name a query; the directory's own (unreadable)
            // name none, and then nothing runs, as at start.
            let name = (file != dir)
                .then(|| file.file_stem().and_then(|s| s.to_str()))
                .flatten();
            let kept = name.and_then(|name| self.running(name).filter(|_| next.running(name).is_none()));
            match kept {
                Some(query) => {
                    let errors_since = self
                        .stale
                        .iter()
                        .find(|s| s.name == query.name)
                        .map_or(now, |s| s.errors_since);
                    let running_since = self.loaded_at.get(&query.name).copied().unwrap_or(now);
                    next.stale.push(StaleFile {
                        name: query.name.clone(),
                        errors_since,
                        diagnostics,
                        running_since,
                    });
                    next.loaded_at.insert(query.name.clone(), running_since);
                    next.queries.push(query.clone());
                }
                None => next.problems.extend(diagnostics),
            }
        }
        next.queries.sort_by(|a, b| a.file.cmp(&b.file));
        next
    }

    /// What runs: each file's current version or its last good one.
    pub fn queries(&self) -> &[Query] {
        &self.queries
    }

    /// Files that run in no version, and why.
    pub fn problems(&self) -> &[Diagnostic] {
        &self.problems
    }

    /// The file of `name` when its current text has errors while an earlier version runs.
    pub fn stale(&self, name: &str) -> Option<&StaleFile> {
        self.stale.iter().find(|s| s.name == name)
    }

    /// The running version of `name`.
    fn running(&self, name: &str) -> Option<&Query> {
        self.queries.iter().find(|q| q.name == name)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use chrono::TimeZone;

    use super::*;
    use crate::platform::Provider;

    fn query_text(output: &str, cron: &str) -> String {
        format!(
            "connection = \"meta-demo\"\naccounts = [\"act_1001\"]\nlevel = \"campaign\"\n\
             fields = [\"date_start\", \"campaign_id\", \"spend\"]\ndate_range = \"yesterday\"\n\n\
             [schedule]\ncron = \"{cron}\"\ntimezone = \"UTC\"\n\n\
             [output]\nkind = \"csv\"\npath = \"{output}.csv\"\nmode = \"replace\"\n"
        )
    }

    struct Fixture {
        dir: tempfile::TempDir,
        ctx: ValidationContext,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().expect("temp dir");
            let ctx = ValidationContext {
                connections: HashMap::from([("meta-demo".to_string(), Provider::MetaAds)]),
                output_dir: dir.path().join("out"),
                requested_scopes: Default::default(),
            };
            std::fs::create_dir_all(dir.path().join("queries")).expect("queries dir");
            Self { dir, ctx }
        }

        fn queries(&self) -> PathBuf {
            self.dir.path().join("queries")
        }

        fn write(&self, name: &str, text: &str) {
            std::fs::write(self.queries().join(name), text).expect("write query");
        }

        fn scan(&self, previous: &QueryDir, minute: u32) -> QueryDir {
            previous.rescan(&self.queries(), &self.ctx, at(minute))
        }
    }

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 8, minute, 0).unwrap()
    }

    fn crons(dir: &QueryDir) -> Vec<(String, String)> {
        dir.queries()
            .iter()
            .map(|q| (q.name.clone(), q.schedule.expr().to_string()))
            .collect()
    }

    #[test]
    fn an_added_file_runs_and_a_deleted_one_stops() {
        let f = Fixture::new();
        f.write("a.toml", &query_text("a", "0 6 * * *"));
        let first = QueryDir::load(&f.queries(), &f.ctx, at(0));
        assert!(first.problems().is_empty(), "{:?}", first.problems());
        f.write("b.toml", &query_text("b", "0 7 * * *"));
        let added = f.scan(&first, 1);
        assert_eq!(
            crons(&added),
            [("a".into(), "0 6 * * *".into()), ("b".into(), "0 7 * * *".into())]
        );
        std::fs::remove_file(f.queries().join("a.toml")).unwrap();
        let deleted = f.scan(&added, 2);
        assert_eq!(crons(&deleted), [("b".to_string(), "0 7 * * *".to_string())]);
        assert!(deleted.problems().is_empty());
    }

    #[test]
    fn an_edited_valid_file_replaces_its_query_and_an_unchanged_one_is_the_same() {
        let f = Fixture::new();
        f.write("a.toml", &query_text("a", "0 6 * * *"));
        let first = QueryDir::load(&f.queries(), &f.ctx, at(0));
        assert_eq!(
            f.scan(&first, 1),
            first,
            "nothing changed, nothing to tell the scheduler"
        );
        f.write("a.toml", &query_text("a", "30 6 * * *"));
        let edited = f.scan(&first, 2);
        assert_eq!(crons(&edited), [("a".to_string(), "30 6 * * *".to_string())]);
        assert_eq!(edited.stale("a"), None);
    }

    #[test]
    fn an_edit_that_breaks_a_file_keeps_its_last_good_version_running_until_it_is_fixed() {
        let f = Fixture::new();
        f.write("a.toml", &query_text("a", "0 6 * * *"));
        let first = QueryDir::load(&f.queries(), &f.ctx, at(0));
        f.write(
            "a.toml",
            &query_text("a", "0 6 * * *").replace("level = \"campaign\"", "level = \"planet\""),
        );
        let broken = f.scan(&first, 5);
        assert_eq!(crons(&broken), crons(&first), "the last good version still runs");
        assert!(broken.problems().is_empty());
        let stale = broken.stale("a").expect("the file's errors are kept");
        assert_eq!((stale.errors_since, stale.running_since), (at(5), at(0)));
        let sentence = stale.sentence();
        assert!(
            sentence.starts_with("file has errors since 2026-11-26 08:05:00 UTC: ")
                && sentence.contains("a.toml:3:")
                && sentence.ends_with("; still running the version of 2026-11-26 08:00:00 UTC"),
            "{sentence}"
        );
        // Still broken later: the errors date from when they first appeared.
        assert_eq!(f.scan(&broken, 9).stale("a").map(|s| s.errors_since), Some(at(5)));
        f.write("a.toml", &query_text("a", "15 6 * * *"));
        let fixed = f.scan(&broken, 10);
        assert_eq!(fixed.stale("a"), None);
        assert_eq!(crons(&fixed), [("a".to_string(), "15 6 * * *".to_string())]);
    }

    #[test]
    fn a_file_broken_from_the_start_runs_in_no_version() {
        let f = Fixture::new();
        f.write("a.toml", "connection = ");
        let first = QueryDir::load(&f.queries(), &f.ctx, at(0));
        assert!(first.queries().is_empty());
        assert_eq!(first.problems().len(), 1);
        assert_eq!(first.stale("a"), None);
    }
}
