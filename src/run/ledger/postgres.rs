//! The PostgreSQL back end of the issuance ledger, for shards and batches
//! on several machines: `[output] ledger = "postgresql://user@host:port/db"`.
//!
//! The same semantics as the SQLite ledger (`sqlite`), on a server built for
//! concurrent clients. Every allocation is one transaction that first takes
//! `pg_advisory_xact_lock` on (series, fiscal year): batches and shards of
//! one series wait for each other, other series do not, and the lock goes
//! with the transaction (a client that dies holds nothing). The schema is
//! made by `chohyo ledger --init` and versioned in `chohyo_schema`; a
//! ledger made by a newer chohyo is refused.
//!
//! The password is never in the URL (refused there): it comes from
//! `PGPASSWORD` or from the file named by `CHOHYO_LEDGER_PASSWORD_FILE`,
//! and every message shows the URL through [`mask`].
//!
//! Uses the `postgres` crate (sync client, no TLS), `files` and the
//! ledger's own types (`super`).

use super::{fiscal_year, Allocated, Allocation, EarlierIssue, Issue, LedgerError, Query};
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Transaction};
use std::collections::HashMap;

/// The schema version this chohyo writes and reads.
const SCHEMA_VERSION: i32 = 1;

/// The environment variable naming a file that holds the password (a
/// Kubernetes secret or a file readable by the batch user only).
pub const PASSWORD_FILE_VAR: &str = "CHOHYO_LEDGER_PASSWORD_FILE";

/// Version 1: the issues (one row per document number, the same columns
/// as the SQLite ledger's) and the schema version.
const SCHEMA_V1: &str = "
    CREATE TABLE IF NOT EXISTS chohyo_schema (version INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS chohyo_issues (
        series TEXT NOT NULL,
        fiscal_year INTEGER NOT NULL,
        number BIGINT NOT NULL,
        kind TEXT NOT NULL,
        record_id TEXT NOT NULL,
        job TEXT NOT NULL,
        batch TEXT NOT NULL,
        issue_date TEXT NOT NULL,
        file TEXT NOT NULL DEFAULT '',
        sha256 TEXT NOT NULL DEFAULT '',
        planned_at TEXT NOT NULL,
        issued_at TEXT NOT NULL DEFAULT '',
        void TEXT NOT NULL DEFAULT '',
        content TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (series, fiscal_year, number),
        UNIQUE (job, batch, kind, record_id)
    );
    CREATE INDEX IF NOT EXISTS chohyo_issues_record ON chohyo_issues (record_id);";

/// A ledger in a PostgreSQL database.
pub struct PgLedger {
    client: Client,
}

impl From<postgres::Error> for LedgerError {
    fn from(e: postgres::Error) -> Self {
        LedgerError {
            message: format!(
                "台帳のサーバーとの通信に失敗しました (the ledger server failed): {}",
                reason(&e)
            ),
        }
    }
}

/// Why a PostgreSQL call failed, for people: the server's message, or
/// the connection's. Neither carries the password.
fn reason(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        // "error connecting to server" says little without its cause.
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

/// A connection URL for messages and logs: a password in it (which chohyo
/// refuses anyway) is shown as `***`, and so is a `password=` parameter.
pub fn mask(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (main, query) = match rest.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (rest, None),
    };
    let authority_end = main.find('/').unwrap_or(main.len());
    let (authority, path) = main.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((cred, host)) => match cred.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{cred}@{host}"),
        },
        None => authority.to_string(),
    };
    let mut out = format!("{scheme}://{authority}{path}");
    if let Some(q) = query {
        let params: Vec<String> = q
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// The password: `PGPASSWORD`, else the first line of the file named by
/// `CHOHYO_LEDGER_PASSWORD_FILE`, else none (trust or peer
/// authentication).
fn password() -> Result<Option<String>, LedgerError> {
    if let Ok(p) = std::env::var("PGPASSWORD") {
        return Ok(Some(p));
    }
    let Some(file) = std::env::var_os(PASSWORD_FILE_VAR) else {
        return Ok(None);
    };
    let path = std::path::PathBuf::from(file);
    let text = crate::files::read_capped_string(&path, 4096).map_err(|e| LedgerError {
        message: format!(
            "台帳のパスワードファイルが読めません (cannot read the ledger password file) {}: {}",
            crate::error::full_path(&path).display(),
            crate::error::io_reason(&e)
        ),
    })?;
    Ok(Some(text.lines().next().unwrap_or("").to_string()))
}

/// Connects to the server of `url`, the password from the environment.
fn connect(url: &str) -> Result<Client, LedgerError> {
    let shown = mask(url);
    // The parser's own message could quote the URL: only ours is shown.
    let mut config: postgres::Config = url.parse().map_err(|_| LedgerError {
        message: format!("台帳の URL が読めません (cannot read the ledger URL): {shown}"),
    })?;
    if config.get_password().is_some() {
        return Err(LedgerError {
            message: format!(
                "台帳の URL にパスワードを書かないでください。環境変数 PGPASSWORD か、{PASSWORD_FILE_VAR} で指定するファイルで渡します \
                 (no password in the ledger URL: use PGPASSWORD or a file named by {PASSWORD_FILE_VAR}): {shown}"
            ),
        });
    }
    if let Some(p) = password()? {
        config.password(p);
    }
    config.application_name("chohyo");
    config.connect_timeout(std::time::Duration::from_secs(15));
    config.connect(NoTls).map_err(|e| connect_error(&shown, &e))
}

/// The message of a failed connection: a refused login apart from a
/// server that cannot be reached.
fn connect_error(shown: &str, e: &postgres::Error) -> LedgerError {
    let login = [
        SqlState::INVALID_PASSWORD,
        SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
    ];
    let message = if e.code().is_some_and(|c| login.contains(c)) {
        format!(
            "台帳のサーバーにログインできません。利用者名とパスワード（環境変数 PGPASSWORD か {PASSWORD_FILE_VAR} のファイル）を確かめてください \
             (the ledger server refused the login: check the user and the password) {shown}: {}",
            reason(e)
        )
    } else {
        format!(
            "台帳のサーバーに接続できません。サーバーが動いているか、URL が正しいかを確かめてください \
             (cannot reach the ledger server) {shown}: {}",
            reason(e)
        )
    };
    LedgerError { message }
}

/// The schema version of the database, `None` when it has no schema.
fn schema_version(client: &mut Client) -> Result<Option<i32>, LedgerError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('chohyo_schema') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let v: Option<i32> = client
        .query_one("SELECT max(version) FROM chohyo_schema", &[])?
        .get(0);
    Ok(v)
}

/// The refusal of a schema made by a newer chohyo.
fn newer_schema(shown: &str, found: i32) -> LedgerError {
    LedgerError {
        message: format!(
            "台帳 {shown} はより新しい chohyo が作ったもの（スキーマ版 {found}、この chohyo は {SCHEMA_VERSION} まで）です。chohyo を更新してください \
             (the ledger's schema version {found} is newer than this chohyo's {SCHEMA_VERSION}: upgrade chohyo)"
        ),
    }
}

impl PgLedger {
    /// Connects to the ledger at `url`, whose schema must be there, in a
    /// version this chohyo knows.
    pub(super) fn open(url: &str) -> Result<PgLedger, LedgerError> {
        let mut client = connect(url)?;
        match schema_version(&mut client)? {
            None => Err(LedgerError {
                message: format!(
                    "台帳 {} にはまだ表がありません。最初に `chohyo ledger <job.toml> --init` で作ってください \
                     (the ledger database has no schema yet: run `chohyo ledger <job.toml> --init`)",
                    mask(url)
                ),
            }),
            Some(v) if v > SCHEMA_VERSION => Err(newer_schema(&mask(url), v)),
            Some(_) => Ok(PgLedger { client }),
        }
    }

    /// Creates the schema, or brings an older one up to this version.
    pub(super) fn init(url: &str) -> Result<String, LedgerError> {
        let shown = mask(url);
        let mut client = connect(url)?;
        let mut tx = client.transaction()?;
        // Two operators running --init at once: one makes the schema.
        tx.execute("SELECT pg_advisory_xact_lock(7261, 0)", &[])?;
        let found = {
            let exists: bool = tx
                .query_one("SELECT to_regclass('chohyo_schema') IS NOT NULL", &[])?
                .get(0);
            if exists {
                tx.query_one("SELECT max(version) FROM chohyo_schema", &[])?
                    .get::<_, Option<i32>>(0)
            } else {
                None
            }
        };
        let said = match found {
            Some(v) if v > SCHEMA_VERSION => return Err(newer_schema(&shown, v)),
            Some(v) if v == SCHEMA_VERSION => format!(
                "台帳の表はすでに最新です（スキーマ版 {v}） (the ledger's schema is up to date): {shown}"
            ),
            // Version 1 is the first: an older one cannot exist yet; later
            // versions add their migrations here.
            _ => {
                tx.batch_execute(SCHEMA_V1)?;
                tx.execute("DELETE FROM chohyo_schema", &[])?;
                tx.execute(
                    "INSERT INTO chohyo_schema (version) VALUES ($1)",
                    &[&SCHEMA_VERSION],
                )?;
                format!(
                    "台帳の表を作りました（スキーマ版 {SCHEMA_VERSION}） (the ledger's schema was created): {shown}"
                )
            }
        };
        tx.commit()?;
        Ok(said)
    }

    /// See [`super::Ledger::allocate`].
    pub(super) fn allocate(&mut self, a: &Allocation) -> Result<Vec<Allocated>, LedgerError> {
        let fy = fiscal_year(a.issue_date);
        let issue_date = a.issue_date.format("%Y-%m-%d").to_string();
        let planned_at = super::now();
        let mut tx = self.client.transaction()?;
        // Serialise on the series and fiscal year, not the whole database.
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext($1), $2)",
            &[&a.series, &fy],
        )?;
        let mut known: HashMap<String, (u64, String, i32)> = HashMap::new();
        for r in tx.query(
            "SELECT record_id, number, series, fiscal_year FROM chohyo_issues
             WHERE job = $1 AND batch = $2 AND kind = $3 AND record_id = ANY($4)",
            &[&a.job, &a.batch, &a.kind, &a.record_ids],
        )? {
            known.insert(r.get(0), (r.get::<_, i64>(1) as u64, r.get(2), r.get(3)));
        }
        let earlier = if a.reissue || a.contents.is_empty() {
            HashMap::new()
        } else {
            issued_elsewhere(&mut tx, a)?
        };
        let insert = tx.prepare(
            "INSERT INTO chohyo_issues (series, fiscal_year, number, kind, record_id, job, batch, issue_date, planned_at, content)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )?;
        let mut next: Option<u64> = None;
        let mut numbers = Vec::with_capacity(a.record_ids.len());
        for (i, id) in a.record_ids.iter().enumerate() {
            let content = a.contents.get(i).map(String::as_str).unwrap_or("");
            if let Some((n, series, year)) = known.get(id) {
                if series != a.series || *year != fy {
                    return Err(LedgerError {
                        message: format!(
                            "バッチ {} は別の番号系列で計画済みです (batch already planned in series {series} / {year})",
                            a.batch
                        ),
                    });
                }
                numbers.push(Allocated::Number(*n));
                continue;
            }
            if let Some(e) = earlier.get(&(id.clone(), content.to_string())) {
                numbers.push(Allocated::Issued(e.clone()));
                continue;
            }
            let n = match next {
                Some(n) => n,
                None => highest_in(&mut tx, a.series, fy)?
                    .map(|m| m + 1)
                    .unwrap_or(a.first_number),
            };
            tx.execute(
                &insert,
                &[
                    &a.series,
                    &fy,
                    &(n as i64),
                    &a.kind,
                    id,
                    &a.job,
                    &a.batch,
                    &issue_date,
                    &planned_at,
                    &content,
                ],
            )?;
            known.insert(id.clone(), (n, a.series.to_string(), fy));
            numbers.push(Allocated::Number(n));
            next = Some(n + 1);
        }
        tx.commit()?;
        Ok(numbers)
    }

    /// See [`super::Ledger::mark_issued`].
    pub(super) fn mark_issued(
        &mut self,
        job: &str,
        batch: &str,
        kind: &str,
        done: &[(String, String, String)],
    ) -> Result<(), LedgerError> {
        let at = super::now();
        let mut tx = self.client.transaction()?;
        let update = tx.prepare(
            "UPDATE chohyo_issues SET file = $1, sha256 = $2, void = '',
             issued_at = CASE WHEN sha256 = $2 AND issued_at <> '' THEN issued_at ELSE $3 END
             WHERE job = $4 AND batch = $5 AND kind = $6 AND record_id = $7",
        )?;
        for (record_id, file, sha) in done {
            tx.execute(&update, &[file, sha, &at, &job, &batch, &kind, record_id])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// See [`super::Ledger::mark_void`].
    pub(super) fn mark_void(
        &mut self,
        job: &str,
        batch: &str,
        kind: &str,
        voids: &[(String, String)],
    ) -> Result<(), LedgerError> {
        let mut tx = self.client.transaction()?;
        let update = tx.prepare(
            "UPDATE chohyo_issues SET void = $1
             WHERE job = $2 AND batch = $3 AND kind = $4 AND record_id = $5 AND issued_at = ''",
        )?;
        for (record_id, why) in voids {
            tx.execute(&update, &[why, &job, &batch, &kind, record_id])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// See [`super::Ledger::planned_elsewhere`].
    pub(super) fn planned_elsewhere(
        &mut self,
        a: &Allocation,
    ) -> Result<Option<(String, i32)>, LedgerError> {
        let fy = fiscal_year(a.issue_date);
        let row = self.client.query_opt(
            "SELECT series, fiscal_year FROM chohyo_issues WHERE job = $1 AND batch = $2 AND kind = $3
             AND (series <> $4 OR fiscal_year <> $5) LIMIT 1",
            &[&a.job, &a.batch, &a.kind, &a.series, &fy],
        )?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// See [`super::Ledger::highest`].
    pub(super) fn highest(
        &mut self,
        series: &str,
        fiscal_year: i32,
    ) -> Result<Option<u64>, LedgerError> {
        let mut tx = self.client.transaction()?;
        let n = highest_in(&mut tx, series, fiscal_year)?;
        tx.commit()?;
        Ok(n)
    }

    /// See [`super::Ledger::search`].
    pub(super) fn search(&mut self, q: &Query) -> Result<Vec<Issue>, LedgerError> {
        let mut sql = String::from(
            "SELECT series, fiscal_year, number, kind, record_id, job, batch, issue_date, file, sha256,
             planned_at, issued_at, void, content FROM chohyo_issues WHERE true",
        );
        let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        let mut filter = |column: &str, op: &str, value: Box<dyn ToSql + Sync>| {
            args.push(value);
            sql.push_str(&format!(" AND {column} {op} ${}", args.len()));
        };
        if let Some(r) = &q.record_id {
            filter("record_id", "=", Box::new(r.clone()));
        }
        if let Some(n) = q.number {
            filter("number", "=", Box::new(n as i64));
        }
        if let Some(y) = q.fiscal_year {
            filter("fiscal_year", "=", Box::new(y));
        }
        if let Some(b) = &q.batch {
            filter("batch", "=", Box::new(b.clone()));
        }
        if let Some(from) = &q.from {
            filter("issue_date", ">=", Box::new(from.clone()));
        }
        if let Some(to) = &q.to {
            filter("issue_date", "<=", Box::new(to.clone()));
        }
        sql.push_str(" ORDER BY series, fiscal_year, number");
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|b| b.as_ref()).collect();
        let rows = self.client.query(&sql, &refs)?;
        Ok(rows
            .iter()
            .map(|r| Issue {
                series: r.get(0),
                fiscal_year: r.get(1),
                number: r.get::<_, i64>(2) as u64,
                kind: r.get(3),
                record_id: r.get(4),
                job: r.get(5),
                batch: r.get(6),
                issue_date: r.get(7),
                file: r.get(8),
                sha256: r.get(9),
                planned_at: r.get(10),
                issued_at: r.get(11),
                void: r.get(12),
                content: r.get(13),
            })
            .collect())
    }

    /// See [`super::Ledger::import`].
    pub(super) fn import(&mut self, rows: &[Issue]) -> Result<usize, LedgerError> {
        let mut tx = self.client.transaction()?;
        // An import is rare: it waits for every allocation and holds them.
        tx.batch_execute("LOCK TABLE chohyo_issues IN SHARE ROW EXCLUSIVE MODE")?;
        let find = tx.prepare(
            "SELECT job, batch, kind, record_id FROM chohyo_issues
             WHERE series = $1 AND fiscal_year = $2 AND number = $3",
        )?;
        let insert = tx.prepare(
            "INSERT INTO chohyo_issues (series, fiscal_year, number, kind, record_id, job, batch, issue_date,
             file, sha256, planned_at, issued_at, void, content)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )?;
        let mut added = 0;
        for r in rows {
            let number = r.number as i64;
            if let Some(f) = tx.query_opt(&find, &[&r.series, &r.fiscal_year, &number])? {
                let same = [0, 1, 2, 3].map(|i| f.get::<_, String>(i))
                    == [&r.job, &r.batch, &r.kind, &r.record_id].map(String::clone);
                if same {
                    continue;
                }
                return Err(super::import_conflict(r));
            }
            tx.execute(
                &insert,
                &[
                    &r.series,
                    &r.fiscal_year,
                    &number,
                    &r.kind,
                    &r.record_id,
                    &r.job,
                    &r.batch,
                    &r.issue_date,
                    &r.file,
                    &r.sha256,
                    &r.planned_at,
                    &r.issued_at,
                    &r.void,
                    &r.content,
                ],
            )?;
            added += 1;
        }
        tx.commit()?;
        Ok(added)
    }
}

/// The highest number of a series in a fiscal year, inside a transaction.
fn highest_in(
    tx: &mut Transaction,
    series: &str,
    fiscal_year: i32,
) -> Result<Option<u64>, LedgerError> {
    let max: Option<i64> = tx
        .query_one(
            "SELECT max(number) FROM chohyo_issues WHERE series = $1 AND fiscal_year = $2",
            &[&series, &fiscal_year],
        )?
        .get(0);
    Ok(max.map(|m| m as u64))
}

/// The requests of `a` that another batch of the job already issued, by
/// (record id, content hash): the latest issue of each.
fn issued_elsewhere(
    tx: &mut Transaction,
    a: &Allocation,
) -> Result<HashMap<(String, String), EarlierIssue>, LedgerError> {
    let wanted: HashMap<&str, &str> = a
        .record_ids
        .iter()
        .map(String::as_str)
        .zip(a.contents.iter().map(String::as_str))
        .collect();
    let mut out = HashMap::new();
    for r in tx.query(
        "SELECT record_id, content, number, batch, issue_date FROM chohyo_issues
         WHERE job = $1 AND kind = $2 AND batch <> $3 AND issued_at <> '' AND content <> ''
         AND record_id = ANY($4) ORDER BY issued_at, number",
        &[&a.job, &a.kind, &a.batch, &a.record_ids],
    )? {
        let id: String = r.get(0);
        let content: String = r.get(1);
        // Later issues replace earlier ones: the latest is reported.
        if wanted.get(id.as_str()) == Some(&content.as_str()) {
            out.insert(
                (id, content),
                EarlierIssue {
                    number: r.get::<_, i64>(2) as u64,
                    batch: r.get(3),
                    issue_date: r.get(4),
                },
            );
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn a_password_never_shows_in_a_masked_url() {
        assert_eq!(
            mask(
                "postgresql://chohyo:s3cret@db.example:5432/ledger?sslmode=disable&password=s3cret"
            ),
            "postgresql://chohyo:***@db.example:5432/ledger?sslmode=disable&password=***"
        );
        assert_eq!(
            mask("postgresql://chohyo@db:5432/ledger"),
            "postgresql://chohyo@db:5432/ledger"
        );
        assert_eq!(
            mask("postgres://u@/db?host=/tmp/x"),
            "postgres://u@/db?host=/tmp/x"
        );
    }
}
