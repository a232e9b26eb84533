//! The SQLite back end of the issuance ledger: one database file per job
//! (by default `<output.dir>/<job>/ledger.sqlite`), for batches on one
//! machine. WAL mode, `synchronous = FULL`; an immediate transaction per
//! allocation serialises the processes of this machine. Refused on a
//! network file system (`shared_fs`).
//!
//! Uses rusqlite and the ledger's own types (`super`).

use super::{fiscal_year, Allocated, Allocation, EarlierIssue, Issue, LedgerError, Query};
use rusqlite::{params, Connection};
use std::path::Path;

/// A ledger in a SQLite file.
pub struct SqliteLedger {
    conn: Connection,
}

impl From<rusqlite::Error> for LedgerError {
    fn from(e: rusqlite::Error) -> Self {
        LedgerError {
            message: e.to_string(),
        }
    }
}

/// The requests of `a` that another batch of the job already issued, by
/// (record id, content hash): the latest issue of each. One query per 500
/// ids.
fn issued_elsewhere<'a>(
    tx: &rusqlite::Transaction,
    a: &'a Allocation,
) -> Result<std::collections::HashMap<(&'a str, &'a str), EarlierIssue>, LedgerError> {
    let wanted: std::collections::HashMap<&str, &str> = a
        .record_ids
        .iter()
        .map(String::as_str)
        .zip(a.contents.iter().map(String::as_str))
        .collect();
    let mut out = std::collections::HashMap::new();
    for ids in a.record_ids.chunks(500) {
        let marks: Vec<String> = (0..ids.len()).map(|i| format!("?{}", i + 4)).collect();
        let mut stmt = tx.prepare(&format!(
            "SELECT record_id, content, number, batch, issue_date FROM issues
             WHERE job = ?1 AND kind = ?2 AND batch <> ?3 AND issued_at <> '' AND content <> ''
             AND record_id IN ({}) ORDER BY issued_at, number",
            marks.join(",")
        ))?;
        let values = [a.job, a.kind, a.batch]
            .into_iter()
            .chain(ids.iter().map(String::as_str));
        let rows = stmt.query_map(rusqlite::params_from_iter(values), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                EarlierIssue {
                    number: r.get::<_, i64>(2)? as u64,
                    batch: r.get(3)?,
                    issue_date: r.get(4)?,
                },
            ))
        })?;
        for row in rows {
            let (id, content, issue) = row?;
            // Later issues replace earlier ones: the latest is reported.
            if let Some((&id, &c)) = wanted.get_key_value(id.as_str()) {
                if c == content {
                    out.insert((id, c), issue);
                }
            }
        }
    }
    Ok(out)
}

impl SqliteLedger {
    /// Opens (creating if needed) the ledger at `path`.
    pub(super) fn open(path: &Path) -> Result<SqliteLedger, LedgerError> {
        if let Some(dir) = path.parent() {
            crate::files::create_private_dir(dir).map_err(|e| LedgerError {
                message: format!("{}: {e}", dir.display()),
            })?;
        }
        // SQLite's locks hold only within one machine: a shared mount
        // (NFS, SMB, FUSE …) could give a number twice.
        super::check_location(path)?;
        // The ledger is opened by SQLite, which follows links: refuse one.
        crate::files::refuse_symlink(path).map_err(|e| LedgerError {
            message: e.to_string(),
        })?;
        // SQLite would wait on a FIFO or write into a device: only a regular
        // file (or none yet) is a ledger.
        if let Ok(meta) = std::fs::metadata(path) {
            if !meta.is_file() {
                return Err(LedgerError {
                    message: format!(
                        "台帳が通常のファイルではありません (the ledger is not a regular file): {}",
                        path.display()
                    ),
                });
            }
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA cache_size = -1024;
             CREATE TABLE IF NOT EXISTS issues (
                 series TEXT NOT NULL,
                 fiscal_year INTEGER NOT NULL,
                 number INTEGER NOT NULL,
                 kind TEXT NOT NULL,
                 record_id TEXT NOT NULL,
                 job TEXT NOT NULL,
                 batch TEXT NOT NULL,
                 issue_date TEXT NOT NULL,
                 file TEXT NOT NULL DEFAULT '',
                 sha256 TEXT NOT NULL DEFAULT '',
                 planned_at TEXT NOT NULL,
                 issued_at TEXT NOT NULL DEFAULT '',
                 PRIMARY KEY (series, fiscal_year, number),
                 UNIQUE (job, batch, kind, record_id)
             );
             CREATE INDEX IF NOT EXISTS issues_record ON issues (record_id);",
        )?;
        // Ledgers made before voids were recorded get the column.
        let has_void: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('issues') WHERE name = 'void'")?
            .exists([])?;
        if !has_void {
            conn.execute_batch("ALTER TABLE issues ADD COLUMN void TEXT NOT NULL DEFAULT ''")?;
        }
        // And the content hash that tells a request already issued.
        let has_content: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('issues') WHERE name = 'content'")?
            .exists([])?;
        if !has_content {
            conn.execute_batch("ALTER TABLE issues ADD COLUMN content TEXT NOT NULL DEFAULT ''")?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        Ok(SqliteLedger { conn })
    }

    /// Gives every record of a batch its number, reusing the numbers this
    /// batch already has, and leaving out the requests an earlier batch
    /// issued with the same content (unless `reissue`). Returns what each
    /// record got, in `record_ids` order.
    pub(super) fn allocate(&mut self, a: &Allocation) -> Result<Vec<Allocated>, LedgerError> {
        let fy = fiscal_year(a.issue_date);
        let issue_date = a.issue_date.format("%Y-%m-%d").to_string();
        let planned_at = super::now();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut numbers = Vec::with_capacity(a.record_ids.len());
        {
            let mut insert = tx.prepare(
                "INSERT INTO issues (series, fiscal_year, number, kind, record_id, job, batch, issue_date, planned_at, content)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            let mut next: Option<u64> = None;
            // Numbers this batch already has for these records: one query
            // per 500 ids rather than one per record.
            let mut known: std::collections::HashMap<String, (u64, String, i32)> =
                std::collections::HashMap::new();
            for ids in a.record_ids.chunks(500) {
                let marks: Vec<String> = (0..ids.len()).map(|i| format!("?{}", i + 4)).collect();
                let mut stmt = tx.prepare(&format!(
                    "SELECT record_id, number, series, fiscal_year FROM issues WHERE job = ?1 AND batch = ?2 AND kind = ?3 AND record_id IN ({})",
                    marks.join(",")
                ))?;
                let values = [a.job, a.batch, a.kind]
                    .into_iter()
                    .chain(ids.iter().map(String::as_str));
                let rows = stmt.query_map(rusqlite::params_from_iter(values), |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        (r.get::<_, i64>(1)? as u64, r.get(2)?, r.get(3)?),
                    ))
                })?;
                for row in rows {
                    let (id, found) = row?;
                    known.insert(id, found);
                }
            }
            let earlier = if a.reissue || a.contents.is_empty() {
                std::collections::HashMap::new()
            } else {
                issued_elsewhere(&tx, a)?
            };
            for (i, id) in a.record_ids.iter().enumerate() {
                let content = a.contents.get(i).map(String::as_str).unwrap_or("");
                let found = known.get(id).cloned();
                if let Some((n, series, year)) = found {
                    if series != a.series || year != fy {
                        return Err(LedgerError {
                            message: format!(
                                "バッチ {} は別の番号系列で計画済みです (batch already planned in series {series} / {year})",
                                a.batch
                            ),
                        });
                    }
                    numbers.push(Allocated::Number(n));
                    continue;
                }
                if let Some(e) = earlier.get(&(id.as_str(), content)) {
                    numbers.push(Allocated::Issued(e.clone()));
                    continue;
                }
                let n = match next {
                    Some(n) => n,
                    None => {
                        let max: Option<i64> = tx.query_row(
                            "SELECT MAX(number) FROM issues WHERE series = ?1 AND fiscal_year = ?2",
                            params![a.series, fy],
                            |r| r.get(0),
                        )?;
                        max.map(|m| m as u64 + 1).unwrap_or(a.first_number)
                    }
                };
                insert.execute(params![
                    a.series, fy, n as i64, a.kind, id, a.job, a.batch, issue_date, planned_at,
                    content
                ])?;
                known.insert(id.clone(), (n, a.series.to_string(), fy));
                numbers.push(Allocated::Number(n));
                next = Some(n + 1);
            }
        }
        tx.commit()?;
        Ok(numbers)
    }

    /// Records that a planned document was written.
    pub(super) fn mark_issued(
        &mut self,
        job: &str,
        batch: &str,
        kind: &str,
        done: &[(String, String, String)],
    ) -> Result<(), LedgerError> {
        let at = super::now();
        let tx = self.conn.transaction()?;
        {
            let mut update = tx.prepare(
                "UPDATE issues SET file = ?1, sha256 = ?2, void = '', issued_at = CASE WHEN sha256 = ?2 AND issued_at <> '' THEN issued_at ELSE ?3 END
                 WHERE job = ?4 AND batch = ?5 AND kind = ?6 AND record_id = ?7",
            )?;
            for (record_id, file, sha) in done {
                update.execute(params![file, sha, at, job, batch, kind, record_id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Records numbers that were given but printed on no document (欠番):
    /// `(record id, why)` of a batch's records rejected after planning (at
    /// layout, say). A later execution that issues the document clears it.
    pub(super) fn mark_void(
        &mut self,
        job: &str,
        batch: &str,
        kind: &str,
        voids: &[(String, String)],
    ) -> Result<(), LedgerError> {
        let tx = self.conn.transaction()?;
        {
            let mut update = tx.prepare(
                "UPDATE issues SET void = ?1
                 WHERE job = ?2 AND batch = ?3 AND kind = ?4 AND record_id = ?5 AND issued_at = ''",
            )?;
            for (record_id, why) in voids {
                update.execute(params![why, job, batch, kind, record_id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The series and fiscal year a batch's numbers were given in, when they
    /// differ from `series` / `fiscal_year` (a batch keeps one series: a new
    /// issue date in another fiscal year needs a new batch id).
    pub(super) fn planned_elsewhere(
        &self,
        a: &Allocation,
    ) -> Result<Option<(String, i32)>, LedgerError> {
        let fy = fiscal_year(a.issue_date);
        let found = self
            .conn
            .query_row(
                "SELECT series, fiscal_year FROM issues WHERE job = ?1 AND batch = ?2 AND kind = ?3
                 AND (series <> ?4 OR fiscal_year <> ?5) LIMIT 1",
                params![a.job, a.batch, a.kind, a.series, fy],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i32>(1)?)),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        Ok(found)
    }

    /// The highest number of a series in a fiscal year, if it has any.
    pub(super) fn highest(
        &self,
        series: &str,
        fiscal_year: i32,
    ) -> Result<Option<u64>, LedgerError> {
        let max: Option<i64> = self.conn.query_row(
            "SELECT MAX(number) FROM issues WHERE series = ?1 AND fiscal_year = ?2",
            params![series, fiscal_year],
            |r| r.get(0),
        )?;
        Ok(max.map(|m| m as u64))
    }

    /// Rows matching the filters, ordered by series, year and number.
    pub(super) fn search(&self, q: &Query) -> Result<Vec<Issue>, LedgerError> {
        let mut sql = String::from(
            "SELECT series, fiscal_year, number, kind, record_id, job, batch, issue_date, file, sha256, planned_at, issued_at, void, content FROM issues WHERE 1=1",
        );
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(r) = &q.record_id {
            sql.push_str(" AND record_id = ?");
            args.push(r.clone().into());
        }
        if let Some(n) = q.number {
            sql.push_str(" AND number = ?");
            args.push((n as i64).into());
        }
        if let Some(y) = q.fiscal_year {
            sql.push_str(" AND fiscal_year = ?");
            args.push((y as i64).into());
        }
        if let Some(b) = &q.batch {
            sql.push_str(" AND batch = ?");
            args.push(b.clone().into());
        }
        if let Some(from) = &q.from {
            sql.push_str(" AND issue_date >= ?");
            args.push(from.clone().into());
        }
        if let Some(to) = &q.to {
            sql.push_str(" AND issue_date <= ?");
            args.push(to.clone().into());
        }
        sql.push_str(" ORDER BY series, fiscal_year, number");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
            Ok(Issue {
                series: r.get(0)?,
                fiscal_year: r.get(1)?,
                number: r.get::<_, i64>(2)? as u64,
                kind: r.get(3)?,
                record_id: r.get(4)?,
                job: r.get(5)?,
                batch: r.get(6)?,
                issue_date: r.get(7)?,
                file: r.get(8)?,
                sha256: r.get(9)?,
                planned_at: r.get(10)?,
                issued_at: r.get(11)?,
                void: r.get(12)?,
                content: r.get(13)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Adds rows from another ledger in one transaction (see
    /// [`super::Ledger::import`]).
    pub(super) fn import(&mut self, rows: &[Issue]) -> Result<usize, LedgerError> {
        use rusqlite::OptionalExtension;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut added = 0;
        {
            let mut find = tx.prepare(
                "SELECT job, batch, kind, record_id FROM issues
                 WHERE series = ?1 AND fiscal_year = ?2 AND number = ?3",
            )?;
            let mut insert = tx.prepare(
                "INSERT INTO issues (series, fiscal_year, number, kind, record_id, job, batch, issue_date,
                 file, sha256, planned_at, issued_at, void, content)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )?;
            for r in rows {
                let found = find
                    .query_row(params![r.series, r.fiscal_year, r.number as i64], |x| {
                        Ok([x.get::<_, String>(0)?, x.get(1)?, x.get(2)?, x.get(3)?])
                    })
                    .optional()?;
                match found {
                    Some(f)
                        if f == [&r.job, &r.batch, &r.kind, &r.record_id].map(String::clone) =>
                    {
                        continue
                    }
                    Some(_) => return Err(super::import_conflict(r)),
                    None => {}
                }
                insert.execute(params![
                    r.series,
                    r.fiscal_year,
                    r.number as i64,
                    r.kind,
                    r.record_id,
                    r.job,
                    r.batch,
                    r.issue_date,
                    r.file,
                    r.sha256,
                    r.planned_at,
                    r.issued_at,
                    r.void,
                    r.content
                ])?;
                added += 1;
            }
        }
        tx.commit()?;
        Ok(added)
    }
}
