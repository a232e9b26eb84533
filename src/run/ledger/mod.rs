//! The issuance ledger (発行台帳): every document number ever given out.
//!
//! A SQLite database (rusqlite with the bundled library) per job, by default
//! `<output.dir>/<job>/ledger.sqlite`. Document numbers (e.g. 見人第123号) run
//! per fiscal year (April 1 – March 31) per number series, without gaps or
//! reuse. They are fixed when a batch is *planned*, before anything renders,
//! inside one transaction: a crash, a re-run or a second shard planning the
//! same batch finds the batch's numbers already there and reuses them, so a
//! number is never given twice and a re-run allocates nothing new. Issuing a
//! certificate to the same person in another batch is a new number; the
//! ledger shows both.

pub mod postgres;
pub mod shared_fs;
pub mod sqlite;

use crate::run::runstate::{open_back, Plan, PlannedDoc};
use crate::run::spool::PLAN_FILE;
use chrono::{Datelike, NaiveDate};
use std::path::{Path, PathBuf};

/// The ledger database: a SQLite file (one machine) or a PostgreSQL server
/// (shards on several machines). Callers do not care which.
pub enum Ledger {
    /// A SQLite file.
    Sqlite(sqlite::SqliteLedger),
    /// A PostgreSQL database.
    Postgres(postgres::PgLedger),
}

/// Where a ledger is: the `ledger` setting or `--ledger` value, a file
/// path or a `postgresql://` URL (kept in a `Path` so every caller passes
/// one kind of value).
#[derive(Debug, Clone, Copy)]
pub enum Location<'a> {
    /// A SQLite file.
    File(&'a Path),
    /// A PostgreSQL connection URL (never with its password).
    Server(&'a str),
}

impl<'a> Location<'a> {
    /// Reads a ledger setting: a `postgresql://` or `postgres://` URL is a
    /// server, anything else a file.
    pub fn of(setting: &'a Path) -> Location<'a> {
        match setting.to_str() {
            Some(s) if is_server_url(s) => Location::Server(s),
            _ => Location::File(setting),
        }
    }
}

pub use crate::job::is_server_url;

/// The ledger's location for messages and logs: a file's full path, or a
/// server URL with any password masked.
pub fn describe(setting: &Path) -> String {
    match Location::of(setting) {
        Location::File(p) => crate::error::full_path(p).display().to_string(),
        Location::Server(url) => postgres::mask(url),
    }
}

/// Refuses a ledger that cannot be safely shared where it is: a SQLite
/// file on a network or shared file system (see [`shared_fs`]).
pub fn check_location(setting: &Path) -> Result<(), LedgerError> {
    match Location::of(setting) {
        Location::File(p) => {
            let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
            shared_fs::refuse_shared(dir.unwrap_or(Path::new(".")), p)
                .map_err(|message| LedgerError { message })
        }
        Location::Server(_) => Ok(()),
    }
}

/// Whether the ledger exists yet: a file on disk; a server always (an
/// empty or missing schema is found when it is opened).
pub fn exists(setting: &Path) -> bool {
    match Location::of(setting) {
        Location::File(p) => p.exists(),
        Location::Server(_) => true,
    }
}

/// One ledger row.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Issue {
    /// Number series (e.g. 見人).
    pub series: String,
    /// Fiscal year (the year in which it began on April 1).
    pub fiscal_year: i32,
    /// Document number within the series and fiscal year.
    pub number: u64,
    /// Document kind (job title).
    pub kind: String,
    /// Record id.
    pub record_id: String,
    /// Job name.
    pub job: String,
    /// Batch id.
    pub batch: String,
    /// Issue date of the batch (`YYYY-MM-DD`).
    pub issue_date: String,
    /// Output file name (empty until rendered).
    pub file: String,
    /// SHA-256 of the file (empty until rendered).
    pub sha256: String,
    /// When the number was allocated (UTC, RFC 3339).
    pub planned_at: String,
    /// When the document was finished (UTC, RFC 3339; empty until then).
    pub issued_at: String,
    /// Why the number has no document (the reject codes of a record
    /// rejected after planning: a 欠番), empty otherwise.
    pub void: String,
    /// A hash of the record's content (tells a request already issued).
    #[serde(default)]
    pub content: String,
}

/// A ledger failure.
#[derive(Debug)]
pub struct LedgerError {
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for LedgerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "発行台帳のエラー (ledger error): {}", self.message)
    }
}

impl std::error::Error for LedgerError {}

/// The fiscal year (年度) of a date: April 1 starts a new one.
pub fn fiscal_year(date: NaiveDate) -> i32 {
    if date.month() >= 4 {
        date.year()
    } else {
        date.year() - 1
    }
}

/// What a batch asks the ledger for: one number per record, in this order.
pub struct Allocation<'a> {
    /// Job name.
    pub job: &'a str,
    /// Batch id.
    pub batch: &'a str,
    /// Document kind.
    pub kind: &'a str,
    /// Number series.
    pub series: &'a str,
    /// The batch's issue date (decides the fiscal year).
    pub issue_date: NaiveDate,
    /// First number of a series' fiscal year when it has none yet.
    pub first_number: u64,
    /// Record ids in plan order.
    pub record_ids: &'a [String],
    /// A hash of each record's content, aligned with `record_ids` (empty:
    /// none known, every record is numbered).
    pub contents: &'a [String],
    /// Number again a request an earlier batch already issued with the
    /// same content (`--reissue`); by default it is left out.
    pub reissue: bool,
}

/// What the ledger gives one record of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Allocated {
    /// Its document number (new, or the one this batch already gave it).
    Number(u64),
    /// An earlier batch issued this request with the same content: it is
    /// not issued again (unless `--reissue`).
    Issued(EarlierIssue),
}

/// Where a request was issued before.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EarlierIssue {
    /// Its document number there.
    pub number: u64,
    /// That batch.
    pub batch: String,
    /// That batch's issue date.
    pub issue_date: String,
}

/// How many rows of an import are not in the ledger `now` with the same
/// series, fiscal year, number and record (0 after a good import).
pub fn missing_after_import(imported: &[Issue], now: &[Issue]) -> usize {
    let key = |r: &Issue| {
        (
            r.series.clone(),
            r.fiscal_year,
            r.number,
            r.job.clone(),
            r.batch.clone(),
            r.kind.clone(),
            r.record_id.clone(),
        )
    };
    let there: std::collections::HashSet<_> = now.iter().map(key).collect();
    imported.iter().filter(|r| !there.contains(&key(r))).count()
}

/// The refusal of an import whose number is another record's here.
fn import_conflict(r: &Issue) -> LedgerError {
    LedgerError {
        message: format!(
            "取り込む番号 {}{}年度 {} 番は、この台帳では別の記録に発行済みです。台帳を取り込みませんでした              (number {} of series {} / {} belongs to another record in this ledger: nothing imported)",
            r.series, r.fiscal_year, r.number, r.number, r.series, r.fiscal_year
        ),
    }
}

fn now() -> String {
    // The ledger is an audit log, not a batch output: wall-clock time is right here.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

impl Ledger {
    /// Opens the ledger at `setting`: a SQLite file (created if needed) or
    /// a PostgreSQL server whose schema `chohyo ledger --init` made.
    pub fn open(setting: &Path) -> Result<Ledger, LedgerError> {
        Ok(match Location::of(setting) {
            Location::File(p) => Ledger::Sqlite(sqlite::SqliteLedger::open(p)?),
            Location::Server(url) => Ledger::Postgres(postgres::PgLedger::open(url)?),
        })
    }

    /// Creates (or brings up to date) the ledger's schema at `setting`;
    /// returns what was done, for the operator.
    pub fn init(setting: &Path) -> Result<String, LedgerError> {
        match Location::of(setting) {
            Location::File(p) => {
                sqlite::SqliteLedger::open(p)?;
                Ok(format!(
                    "SQLite の台帳を用意しました (SQLite ledger ready): {}",
                    describe(setting)
                ))
            }
            Location::Server(url) => postgres::PgLedger::init(url),
        }
    }

    /// Gives every record of a batch its number, reusing the numbers this
    /// batch already has, and leaving out the requests an earlier batch
    /// issued with the same content (unless `reissue`). Returns what each
    /// record got, in `record_ids` order. One transaction, serialised with
    /// every other allocation in the same series and fiscal year.
    pub fn allocate(&mut self, a: &Allocation) -> Result<Vec<Allocated>, LedgerError> {
        match self {
            Ledger::Sqlite(l) => l.allocate(a),
            Ledger::Postgres(l) => l.allocate(a),
        }
    }

    /// Records that a planned document was written: `(record id, file,
    /// sha256)` of a batch's documents.
    pub fn mark_issued(
        &mut self,
        job: &str,
        batch: &str,
        kind: &str,
        done: &[(String, String, String)],
    ) -> Result<(), LedgerError> {
        match self {
            Ledger::Sqlite(l) => l.mark_issued(job, batch, kind, done),
            Ledger::Postgres(l) => l.mark_issued(job, batch, kind, done),
        }
    }

    /// Records numbers that were given but printed on no document (欠番):
    /// `(record id, why)` of a batch's records rejected after planning (at
    /// layout, say). A later execution that issues the document clears it.
    pub fn mark_void(
        &mut self,
        job: &str,
        batch: &str,
        kind: &str,
        voids: &[(String, String)],
    ) -> Result<(), LedgerError> {
        match self {
            Ledger::Sqlite(l) => l.mark_void(job, batch, kind, voids),
            Ledger::Postgres(l) => l.mark_void(job, batch, kind, voids),
        }
    }

    /// The series and fiscal year a batch's numbers were given in, when they
    /// differ from `series` / `fiscal_year` (a batch keeps one series: a new
    /// issue date in another fiscal year needs a new batch id).
    pub fn planned_elsewhere(
        &mut self,
        a: &Allocation,
    ) -> Result<Option<(String, i32)>, LedgerError> {
        match self {
            Ledger::Sqlite(l) => l.planned_elsewhere(a),
            Ledger::Postgres(l) => l.planned_elsewhere(a),
        }
    }

    /// The highest number of a series in a fiscal year, if it has any.
    pub fn highest(&mut self, series: &str, fiscal_year: i32) -> Result<Option<u64>, LedgerError> {
        match self {
            Ledger::Sqlite(l) => l.highest(series, fiscal_year),
            Ledger::Postgres(l) => l.highest(series, fiscal_year),
        }
    }

    /// Rows matching the filters, ordered by series, year and number.
    pub fn search(&mut self, q: &Query) -> Result<Vec<Issue>, LedgerError> {
        match self {
            Ledger::Sqlite(l) => l.search(q),
            Ledger::Postgres(l) => l.search(q),
        }
    }

    /// Adds rows read from another ledger (`chohyo ledger --import`), in one
    /// transaction: a number already there for the same record is kept, a
    /// number there for another record refuses the whole import. Returns
    /// how many rows were new.
    pub fn import(&mut self, rows: &[Issue]) -> Result<usize, LedgerError> {
        match self {
            Ledger::Sqlite(l) => l.import(rows),
            Ledger::Postgres(l) => l.import(rows),
        }
    }
}

/// The highest number a series used in a fiscal year, as the run
/// directories under an output folder show it (`<out>/<job>/<batch>/`,
/// shards and runs moved aside included): the proof of issue that survives
/// when the ledger does not. Returns the number and the run directory.
pub fn highest_in_run_dirs(
    out_root: &Path,
    series: &str,
    fiscal_year: i32,
) -> std::io::Result<Option<(u64, PathBuf)>> {
    let mut best: Option<(u64, PathBuf)> = None;
    for job_dir in sorted_dirs(out_root)? {
        for run_dir in sorted_dirs(&job_dir)? {
            let Ok(Some(plan)) = Plan::load(&run_dir) else {
                continue;
            };
            if plan.series != series || plan.fiscal_year != fiscal_year {
                continue;
            }
            if let Some(n) = highest_planned(&run_dir)? {
                if best.as_ref().is_none_or(|(b, _)| n > *b) {
                    best = Some((n, run_dir));
                }
            }
        }
    }
    Ok(best)
}

/// The sub-folders of a folder, by name (none when it does not exist).
fn sorted_dirs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for e in entries {
        let e = e?;
        // A symlinked folder is not one of ours.
        if e.file_type()?.is_dir() {
            out.push(e.path());
        }
    }
    out.sort();
    Ok(out)
}

/// The highest document number in a run directory's `plan.jsonl`.
fn highest_planned(run_dir: &Path) -> std::io::Result<Option<u64>> {
    let file = match open_back(&run_dir.join(PLAN_FILE)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut best = None;
    for line in std::io::BufRead::lines(std::io::BufReader::new(file)) {
        // A torn last line (a killed run) has no number to count.
        if let Ok(doc) = serde_json::from_str::<PlannedDoc>(&line?) {
            best = best.max(Some(doc.number));
        }
    }
    Ok(best)
}

/// Refuses to give out numbers when the ledger is behind what the run
/// directories show was issued: a ledger deleted, emptied or restored from
/// an old backup would otherwise hand out the same numbers again.
/// `first_number` is where an empty series starts (the job's
/// `number_start`), so setting it above the highest issued number is a way
/// to continue a series whose ledger is lost.
pub fn check_not_behind(
    ledger_path: &Path,
    out_root: &Path,
    series: &str,
    fiscal_year: i32,
    first_number: u64,
) -> Result<(), LedgerError> {
    let found = highest_in_run_dirs(out_root, series, fiscal_year).map_err(|e| LedgerError {
        message: format!(
            "読めません (cannot read) {}: {}",
            crate::error::full_path(out_root).display(),
            crate::error::io_reason(&e)
        ),
    })?;
    let Some((issued, run_dir)) = found else {
        return Ok(());
    };
    let recorded = if exists(ledger_path) {
        Ledger::open(ledger_path)?.highest(series, fiscal_year)?
    } else {
        None
    };
    let next = recorded.map(|n| n + 1).unwrap_or(first_number);
    if next > issued {
        return Ok(());
    }
    Err(LedgerError {
        message: format!(
            "台帳 {ledger} では番号系列「{series}」{fiscal_year}年度の最大番号が{recorded}ですが、\
             {run} で {issued} 番まで発行済みです。台帳が削除・初期化されたか古いものに戻された可能性があり、\
             このまま実行すると同じ番号を二度発行するため中止しました。台帳をバックアップから戻すか、\
             台帳を失った場合はジョブファイルの batch.number_start を {resume} 以上にしてください \
             (the ledger is behind the run directories: numbers up to {issued} were issued; \
             restore the ledger, or set batch.number_start to {resume} or more)",
            ledger = describe(ledger_path),
            recorded = recorded.map_or("なし (none)".to_string(), |n| n.to_string()),
            run = run_dir.display(),
            resume = issued + 1,
        ),
    })
}

/// Filters for [`Ledger::search`]; `None` means any.
#[derive(Debug, Default, Clone)]
pub struct Query {
    /// Record id.
    pub record_id: Option<String>,
    /// Document number.
    pub number: Option<u64>,
    /// Fiscal year.
    pub fiscal_year: Option<i32>,
    /// Batch id.
    pub batch: Option<String>,
    /// Issue date from (inclusive, `YYYY-MM-DD`).
    pub from: Option<String>,
    /// Issue date to (inclusive, `YYYY-MM-DD`).
    pub to: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(got: Vec<Allocated>) -> Vec<u64> {
        got.into_iter()
            .map(|a| match a {
                Allocated::Number(n) => n,
                Allocated::Issued(e) => panic!("left out: {e:?}"),
            })
            .collect()
    }

    fn alloc<'a>(batch: &'a str, date: &str, ids: &'a [String]) -> Allocation<'a> {
        Allocation {
            job: "zaishoku",
            batch,
            kind: "在職証明書",
            series: "見人",
            issue_date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
            first_number: 1,
            record_ids: ids,
            contents: &[],
            reissue: false,
        }
    }

    #[test]
    fn numbers_are_consecutive_reused_on_rerun_and_reset_per_fiscal_year() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open(&dir.path().join("ledger.sqlite")).unwrap();
        let ids: Vec<String> = ["A", "B", "C"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            numbers(l.allocate(&alloc("b1", "2025-04-01", &ids)).unwrap()),
            vec![1, 2, 3]
        );
        // Re-planning the same batch allocates nothing new.
        assert_eq!(
            numbers(l.allocate(&alloc("b1", "2025-04-01", &ids)).unwrap()),
            vec![1, 2, 3]
        );
        // The same person again in another batch: a new number.
        assert_eq!(
            numbers(l.allocate(&alloc("b2", "2026-03-31", &ids[..1])).unwrap()),
            vec![4]
        );
        // A new fiscal year starts again at 1.
        assert_eq!(
            numbers(l.allocate(&alloc("b3", "2026-04-01", &ids[..2])).unwrap()),
            vec![1, 2]
        );
        let a = l
            .search(&Query {
                record_id: Some("A".into()),
                ..Query::default()
            })
            .unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(
            fiscal_year(NaiveDate::from_ymd_opt(2026, 3, 31).unwrap()),
            2025
        );
    }

    /// A run directory `<out>/<job>/<batch>/` that planned `numbers`.
    fn planted_run(out: &Path, batch: &str, numbers: &[u64]) {
        let dir = out.join("zaishoku").join(batch);
        std::fs::create_dir_all(&dir).unwrap();
        Plan {
            job: "zaishoku".into(),
            batch: batch.into(),
            inputs: Default::default(),
            series: "見人".into(),
            fiscal_year: 2025,
        }
        .save(&dir, 0o600)
        .unwrap();
        let lines: String = numbers
            .iter()
            .map(|&number| {
                let doc = PlannedDoc {
                    number,
                    record_id: format!("R{number}"),
                    ..PlannedDoc::default()
                };
                serde_json::to_string(&doc).unwrap() + "\n"
            })
            .collect();
        std::fs::write(dir.join(PLAN_FILE), lines).unwrap();
    }

    #[test]
    fn a_lost_or_old_ledger_is_refused_while_run_dirs_show_higher_numbers() {
        let out = tempfile::tempdir().unwrap();
        let ledger = out.path().join("zaishoku").join("ledger.sqlite");
        // Nothing issued yet: any ledger state is fine.
        check_not_behind(&ledger, out.path(), "見人", 2025, 101).unwrap();

        planted_run(out.path(), "2025-04-01", &[101, 102, 103]);
        planted_run(out.path(), "2025-04-02.replaced-20250402T000000", &[104]);
        // The ledger file is gone: refused, naming the highest number.
        let e = check_not_behind(&ledger, out.path(), "見人", 2025, 101).unwrap_err();
        assert!(e.message.contains("104"), "{e}");
        assert!(e.message.contains("number_start"), "{e}");
        // Another series or fiscal year is not concerned.
        check_not_behind(&ledger, out.path(), "見総", 2025, 101).unwrap();
        check_not_behind(&ledger, out.path(), "見人", 2026, 101).unwrap();
        // The documented recovery: start the series above what was issued.
        check_not_behind(&ledger, out.path(), "見人", 2025, 105).unwrap();

        // An empty ledger (or one restored from an older backup) is behind too.
        let mut l = Ledger::open(&ledger).unwrap();
        check_not_behind(&ledger, out.path(), "見人", 2025, 101).unwrap_err();
        let ids: Vec<String> = ["A", "B"].iter().map(|s| s.to_string()).collect();
        let mut a = alloc("old", "2025-04-01", &ids);
        a.first_number = 101;
        assert_eq!(numbers(l.allocate(&a).unwrap()), vec![101, 102]);
        check_not_behind(&ledger, out.path(), "見人", 2025, 101).unwrap_err();
        // A ledger that knows every number is fine.
        let more: Vec<String> = ["C", "D"].iter().map(|s| s.to_string()).collect();
        numbers(l.allocate(&alloc("new", "2025-04-01", &more)).unwrap());
        check_not_behind(&ledger, out.path(), "見人", 2025, 101).unwrap();
    }

    #[test]
    fn a_request_issued_with_the_same_content_is_left_out_unless_reissued() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open(&dir.path().join("ledger.sqlite")).unwrap();
        let ids: Vec<String> = ["A", "B"].iter().map(|s| s.to_string()).collect();
        let contents: Vec<String> = ["a1", "b1"].iter().map(|s| s.to_string()).collect();
        let mut first = alloc("b1", "2025-04-01", &ids);
        first.contents = &contents;
        assert_eq!(numbers(l.allocate(&first).unwrap()), vec![1, 2]);
        // Planned but not yet issued: nothing is left out.
        let mut second = alloc("b2", "2025-04-02", &ids);
        second.contents = &contents;
        let mut again = Ledger::open(&dir.path().join("ledger.sqlite")).unwrap();
        let done = vec![("A".to_string(), "A.pdf".to_string(), "00".to_string())];
        l.mark_issued("zaishoku", "b1", "在職証明書", &done)
            .unwrap();
        // A issued with the same content: left out; B (never issued): numbered.
        let got = again.allocate(&second).unwrap();
        assert_eq!(
            got[0],
            Allocated::Issued(EarlierIssue {
                number: 1,
                batch: "b1".into(),
                issue_date: "2025-04-01".into(),
            })
        );
        assert_eq!(got[1], Allocated::Number(3));
        // A with changed content (a corrected request) is numbered again.
        let changed: Vec<String> = ["a2", "b1"].iter().map(|s| s.to_string()).collect();
        let mut third = alloc("b3", "2025-04-03", &ids);
        third.contents = &changed;
        assert_eq!(numbers(again.allocate(&third).unwrap()), vec![4, 5]);
        // --reissue numbers it whatever was issued before.
        let mut fourth = alloc("b4", "2025-04-04", &ids);
        fourth.contents = &contents;
        fourth.reissue = true;
        assert_eq!(numbers(again.allocate(&fourth).unwrap()), vec![6, 7]);
    }
}
