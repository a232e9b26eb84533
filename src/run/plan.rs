//! Planning a batch: the plan's header (what the batch is made from, its
//! number series), then, while the input is read, each good row's number
//! from the ledger, file name and shard key, written to `plan.jsonl`; the
//! reader hands rows to rendering in chunks.
//!
//! Uses `inputs` (streaming and checking), the `ledger`, the run state and
//! the spool of planned documents.

use crate::check::{self, Record, Reject};
use crate::error::{full_path, io_reason, BatchError};
use crate::files::{sanitize_file_name, RegularFile};
use crate::job::Job;
use crate::run::inputs::stream_checked;
use crate::run::ledger::{self, Ledger};
use crate::run::report;
use crate::run::runstate::{self, Plan, PlannedDoc};
use crate::run::spool::{PlanError, PlanFile};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// Makes a file name from a pattern and a record: placeholders replaced,
/// characters unsafe on Linux or Windows shares replaced by `_`.
pub fn file_name(pattern: &str, record: &Record, number: u64) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let key = &after[..end];
        let value = match key {
            "id" => record.id.clone(),
            "no" => number.to_string(),
            k => record.text(k),
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    sanitize_file_name(&out)
}

/// SHA-256 of a regular file, hex. Streamed (a manifest of 100,000
/// documents is tens of megabytes), so memory is bounded whatever the size;
/// a FIFO or a device is refused before anything is read.
fn sha256_regular_file(path: &Path) -> std::io::Result<String> {
    let mut file = RegularFile::open(path)?.file;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(crate::files::hex(&hasher.finalize()))
}

/// SHA-256 of a file of the run's own (manifests, plan lines), hex.
pub(super) fn file_sha256(path: &Path) -> Result<String, BatchError> {
    sha256_regular_file(path).map_err(|e| BatchError::read(path, e))
}

/// A file the job needs, for messages: what it is and which setting names
/// it, in Japanese and English.
struct NamedFile<'a> {
    path: &'a Path,
    what: (&'static str, &'static str),
    named_by: (&'static str, &'static str),
}

impl NamedFile<'_> {
    /// SHA-256 of the file, hex; one that cannot be read is an input error
    /// (exit 2) saying which setting names it.
    fn sha256(&self) -> Result<String, BatchError> {
        sha256_regular_file(self.path).map_err(|e| {
            BatchError::Input(format!(
                "{}を読めません (cannot read the {}) {}: {}。{}を確認してください (check {})",
                self.what.0,
                self.what.1,
                full_path(self.path).display(),
                io_reason(&e),
                self.named_by.0,
                self.named_by.1
            ))
        })
    }
}

/// Hashes of everything a plan depends on, by role.
pub(super) fn input_hashes(
    job: &Job,
    input: &Path,
) -> Result<BTreeMap<String, String>, BatchError> {
    let mut m = BTreeMap::new();
    let job_file = NamedFile {
        path: &job.path,
        what: ("ジョブファイル", "job file"),
        named_by: (
            "コマンドに渡したジョブファイルのパス",
            "the job file path given",
        ),
    };
    let template = NamedFile {
        path: &job.template.file,
        what: ("テンプレート", "template"),
        named_by: (
            "ジョブファイルの template.file ",
            "template.file in the job file",
        ),
    };
    let input = NamedFile {
        path: input,
        what: ("入力ファイル", "input file"),
        named_by: (
            "ジョブファイルの input.file か --input ",
            "input.file in the job file or --input",
        ),
    };
    m.insert("job".to_string(), job_file.sha256()?);
    m.insert("template".to_string(), template.sha256()?);
    m.insert("input".to_string(), input.sha256()?);
    // The issue date may come from the command line rather than the job file.
    m.insert("issue_date".to_string(), job.batch.issue_date.clone());
    Ok(m)
}

/// The plan's header: what the batch is made from and its number series.
/// Its documents are planned while reading ([`Planner`]).
pub(super) fn plan_header(
    job: &Job,
    batch_id: &str,
    inputs: BTreeMap<String, String>,
) -> Result<Plan, BatchError> {
    let issue_date = chrono::NaiveDate::parse_from_str(&job.batch.issue_date, "%Y-%m-%d")
        .map_err(|e| BatchError::Input(e.to_string()))?;
    let series = job
        .batch
        .series
        .clone()
        .unwrap_or_else(|| job.job.name.clone());
    Ok(Plan {
        job: job.job.name.clone(),
        batch: batch_id.to_string(),
        inputs,
        series,
        fiscal_year: ledger::fiscal_year(issue_date),
    })
}

/// Rows per chunk handed from the reader to rendering.
const CHUNK_ROWS: usize = 512;

/// What the reader thread sends to rendering.
pub(super) enum Feed {
    /// The sheet's name and the rejects report's columns (first).
    Head { sheet: String, columns: Vec<String> },
    /// Checked and planned rows.
    Chunk(Chunk),
}

/// A chunk of checked rows: the rejected ones with their texts and
/// problems, the good ones with their texts and plan.
#[derive(Default)]
pub(super) struct Chunk {
    pub(super) rejected: Vec<(u32, Vec<String>, Vec<Reject>)>,
    pub(super) docs: Vec<(Record, Vec<String>, PlannedDoc)>,
    /// Requests left out as already issued by an earlier batch.
    pub(super) skipped: Vec<report::Skipped>,
}

/// What the reader thread reports at the end.
pub(super) struct ReadStats {
    pub(super) finished: check::Finished,
    pub(super) read_check_ms: u64,
    pub(super) plan_ms: u64,
}

/// The reader: streams the input sheet through the [`check::Checker`],
/// plans the good rows (numbers from the ledger, file names, `plan.jsonl`)
/// and delivers them in chunks of [`CHUNK_ROWS`] (to the rendering thread
/// through a channel, or straight to rendering with one thread); `deliver`
/// says false once rendering has stopped. Values the batch's fonts
/// (`coverage`) cannot print are rejected here, before numbers are given.
pub(super) fn read_check_plan(
    job: &Job,
    input: &Path,
    coverage: &dyn check::GlyphCoverage,
    plan: &Plan,
    numbering: &Numbering,
    run_dir: &Path,
    deliver: &mut dyn FnMut(Feed) -> bool,
) -> Result<ReadStats, BatchError> {
    let mut planner = Planner::new(job, plan, numbering, run_dir)?;
    let mut chunk = Chunk::default();
    let mut rows = 0;
    let mut plan_ns = 0u128;
    let t0 = std::time::Instant::now();
    // Time spent waiting for rendering to take a chunk (or rendering it,
    // with one thread) is not the reader's.
    let wait_ns = std::cell::Cell::new(0u128);
    // Both callbacks below deliver, one at a time.
    let deliver = std::cell::RefCell::new(deliver);
    let send =
        |chunk: Chunk, planner: &mut Planner, plan_ns: &mut u128| -> Result<bool, BatchError> {
            let t = std::time::Instant::now();
            let chunk = planner.plan(chunk)?;
            *plan_ns += t.elapsed().as_nanos();
            let t = std::time::Instant::now();
            let sent = (deliver.borrow_mut())(Feed::Chunk(chunk));
            wait_ns.set(wait_ns.get() + t.elapsed().as_nanos());
            Ok(sent)
        };
    // The planner is shared by the two callbacks, one at a time.
    let planner_cell = std::cell::RefCell::new(&mut planner);
    let checker = stream_checked(
        job,
        input,
        Some(coverage),
        &mut |head, c| {
            planner_cell.borrow_mut().reserve(head.rows_hint);
            (deliver.borrow_mut())(Feed::Head {
                sheet: head.sheet.clone(),
                columns: c.columns().to_vec(),
            });
        },
        &mut |o| {
            rows += 1;
            match o.result {
                Ok(record) => chunk.docs.push((record, o.texts, PlannedDoc::default())),
                Err(rs) => chunk.rejected.push((o.number, o.texts, rs)),
            }
            if rows % CHUNK_ROWS == 0 {
                return send(
                    std::mem::take(&mut chunk),
                    &mut planner_cell.borrow_mut(),
                    &mut plan_ns,
                );
            }
            Ok(true)
        },
    )?;
    if !send(chunk, &mut planner, &mut plan_ns)? {
        // Rendering stopped; its error is the one to report.
        return Err(BatchError::Render("rendering stopped".into()));
    }
    let t = std::time::Instant::now();
    planner.finish()?;
    plan_ns += t.elapsed().as_nanos();
    let finished = checker.finish();
    let total = (t0.elapsed().as_nanos().saturating_sub(wait_ns.get()) / 1_000_000) as u64;
    let plan_ms = (plan_ns / 1_000_000) as u64;
    Ok(ReadStats {
        finished,
        read_check_ms: total.saturating_sub(plan_ms),
        plan_ms,
    })
}

/// Plans documents chunk by chunk: numbers from the ledger, file names
/// (a collision gets the first free suffix), shard keys; each planned
/// document goes to `plan.jsonl` (or is checked against it on resume).
/// Where a batch's numbers come from.
pub(super) struct Numbering<'a> {
    /// The ledger.
    pub(super) ledger_path: &'a Path,
    /// Number again the requests an earlier batch issued (`--reissue`).
    pub(super) reissue: bool,
}

struct Planner<'a> {
    job: &'a Job,
    plan: &'a Plan,
    ledger: Ledger,
    reissue: bool,
    issue_date: chrono::NaiveDate,
    file: PlanFile,
    /// Names taken so far, compared case-insensitively (Windows shares
    /// are), as 128-bit hashes: a few bytes per document however long the
    /// names are.
    taken: std::collections::HashSet<u64>,
}

impl<'a> Planner<'a> {
    fn new(
        job: &'a Job,
        plan: &'a Plan,
        numbering: &Numbering,
        run_dir: &Path,
    ) -> Result<Planner<'a>, BatchError> {
        let issue_date = chrono::NaiveDate::parse_from_str(&job.batch.issue_date, "%Y-%m-%d")
            .map_err(|e| BatchError::Input(e.to_string()))?;
        Ok(Planner {
            job,
            plan,
            ledger: Ledger::open(numbering.ledger_path)
                .map_err(|e| BatchError::Io(e.to_string()))?,
            reissue: numbering.reissue,
            issue_date,
            // Opening only reads an earlier execution's lines back.
            file: PlanFile::open(run_dir, job.output.modes().file)
                .map_err(|e| BatchError::read(&run_dir.join(crate::run::spool::PLAN_FILE), e))?,
            taken: std::collections::HashSet::new(),
        })
    }

    /// Sizes the table of names for about `rows` documents.
    fn reserve(&mut self, rows: Option<usize>) {
        if let Some(n) = rows {
            self.taken.reserve(n.min(crate::input::limits::MAX_ROWS));
        }
    }

    /// Fills in the plan of the chunk's documents.
    fn plan(&mut self, mut chunk: Chunk) -> Result<Chunk, BatchError> {
        let ids: Vec<String> = chunk.docs.iter().map(|(r, _, _)| r.id.clone()).collect();
        let contents: Vec<String> = chunk.docs.iter().map(|(r, _, _)| content_hash(r)).collect();
        let got = self
            .ledger
            .allocate(&ledger::Allocation {
                job: &self.job.job.name,
                batch: &self.plan.batch,
                kind: &self.job.job.title,
                series: &self.plan.series,
                issue_date: self.issue_date,
                first_number: self.job.batch.number_start,
                record_ids: &ids,
                contents: &contents,
                reissue: self.reissue,
            })
            .map_err(|e| BatchError::Io(e.to_string()))?;
        // Requests an earlier batch issued with the same content leave the
        // chunk; the others keep their order.
        let mut numbers = Vec::with_capacity(got.len());
        let docs = std::mem::take(&mut chunk.docs);
        for (doc, allocated) in docs.into_iter().zip(got) {
            match allocated {
                ledger::Allocated::Number(n) => {
                    numbers.push(n);
                    chunk.docs.push(doc);
                }
                ledger::Allocated::Issued(issued) => chunk.skipped.push(report::Skipped {
                    record_id: doc.0.id.clone(),
                    row: doc.0.row,
                    issued,
                }),
            }
        }
        for ((r, _, pd), number) in chunk.docs.iter_mut().zip(numbers) {
            let base = file_name(&self.job.job.file_name, r, number);
            let (stem, ext) = match base.rfind('.') {
                Some(p) if p > 0 => (base[..p].to_string(), base[p..].to_string()),
                _ => (base.clone(), String::new()),
            };
            let mut name = base.clone();
            let mut n = 1;
            // A collision gets the first free suffix -2, -3, …: never a
            // name that another record has or will be given.
            while !self.taken.insert(name_key(&name)) {
                n += 1;
                name = sanitize_file_name(&format!("{stem}-{n}{ext}"));
            }
            *pd = PlannedDoc {
                number,
                record_id: r.id.clone(),
                file: name,
                row: r.row,
                shard_key: runstate::shard_key(&r.id),
            };
            self.file.push(pd).map_err(plan_error)?;
        }
        Ok(chunk)
    }

    fn finish(self) -> Result<(), BatchError> {
        self.file.finish().map_err(plan_error)
    }
}

/// After a run failed between planning and finishing: records as void
/// (欠番, with why) in one transaction the numbers this run directory
/// planned (its shard's, for a shard) that no finished document carries,
/// so the ledger does not list them as pending output. They stay bound to
/// their records — never given to another — and the execution that issues
/// them clears the mark. Best effort: the run's own error is what is
/// reported, a failure here is only logged.
pub(super) fn void_unwritten(
    job: &Job,
    plan: &Plan,
    run_dir: &Path,
    shard: Option<(u64, u64)>,
    ledger_path: &Path,
    exit: crate::error::ExitCode,
) -> Result<usize, BatchError> {
    let path = run_dir.join(crate::run::spool::PLAN_FILE);
    let file = match runstate::open_back(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(BatchError::read(&path, e)),
    };
    let journal = runstate::Journal::read(run_dir)
        .map_err(|e| BatchError::read(&run_dir.join("journal.jsonl"), e))?;
    let why = format!("実行失敗 exit {}", exit.code());
    let mut voids = Vec::new();
    for line in std::io::BufRead::lines(std::io::BufReader::new(file)) {
        let line = line.map_err(|e| BatchError::read(&path, e))?;
        // A torn last line (a crash while planning) names no number.
        let Ok(doc) = serde_json::from_str::<PlannedDoc>(&line) else {
            continue;
        };
        if doc.in_shard(shard) && !journal.contains_key(&doc.file) {
            voids.push((doc.record_id, why.clone()));
        }
    }
    if voids.is_empty() {
        return Ok(0);
    }
    Ledger::open(ledger_path)
        .and_then(|mut l| l.mark_void(&job.job.name, &plan.batch, &job.job.title, &voids))
        .map_err(|e| BatchError::Io(e.to_string()))?;
    Ok(voids.len())
}

/// A hash of a record's content (its checked field values): the same
/// request sent again has the same hash, a corrected one another.
fn content_hash(record: &Record) -> String {
    let json = serde_json::to_vec(&record.fields).unwrap_or_default();
    crate::files::hex(&Sha256::digest(&json))
}

/// A file name's collision key: its lower-case form, hashed to 64 bits (a
/// false collision only gives a name a suffix it did not need).
fn name_key(name: &str) -> u64 {
    let d = Sha256::digest(name.to_lowercase().as_bytes());
    u64::from_be_bytes(d[..8].try_into().unwrap_or([0; 8]))
}

fn plan_error(e: PlanError) -> BatchError {
    match e {
        PlanError::Io(e) => BatchError::Io(format!("plan.jsonl: {e}")),
        PlanError::Differs(line) => BatchError::Input(format!(
            "前回の計画と異なります (plan.jsonl の {line} 行目)。台帳か入力が変わった可能性があります。--restart でやり直してください (the plan differs from the earlier execution's at line {line}; use --restart)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn file_names_are_safe() {
        let mut fields = BTreeMap::new();
        fields.insert("name".into(), serde_json::json!("../山田/太郎"));
        let r = Record {
            id: "R-1".into(),
            row: 2,
            fields,
        };
        assert_eq!(file_name("{id}_{name}.pdf", &r, 7), "R-1_.._山田_太郎.pdf");
        assert_eq!(file_name("{no}.pdf", &r, 7), "7.pdf");
        assert_eq!(sanitize_file_name("..x"), "_.x");
    }
}
