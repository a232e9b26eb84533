//! The render loop: takes the reader's chunks, renders each chunk's
//! documents in parallel (reusing those an earlier execution finished),
//! writes them through the journaled writer and spools their manifest
//! entries, in plan order.
//!
//! Uses `plan` (the chunks), `document` (one record to PDF), the run
//! state and the spool.

use crate::check::{self, Record, Reject};
use crate::error::BatchError;
use crate::files::sha256_hex;
use crate::job::Job;
use crate::mail::manifest::ManifestEntry;
use crate::run::document::{render_record_timed, Assets, RenderFailure};
use crate::run::finalize::sort_rejects;
use crate::run::plan::{read_check_plan, Feed, Numbering, ReadStats};
use crate::run::runlog::{Progress, RunLog};
use crate::run::runstate::{self, Journal, JournalEntry, Plan, PlannedDoc, RunDir};
use crate::run::spool::{Entries, EntrySpool};
use crate::run::watchdog::{self, Watchdog};
use crate::run::{RunOptions, StageClock};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// What rendering a planned batch needs.
pub(super) struct BatchToRender<'a> {
    pub(super) job: &'a Job,
    pub(super) opts: &'a RunOptions,
    pub(super) assets: &'a Assets,
    pub(super) pool: &'a rayon::ThreadPool,
    /// Rendering threads (1: reading and rendering take turns).
    pub(super) threads: usize,
    /// The input file read (the job's or `--input`).
    pub(super) input: &'a Path,
    pub(super) plan: &'a Plan,
    pub(super) ledger_path: &'a Path,
    pub(super) dir: &'a RunDir,
}

/// What rendering a batch gave, for finalize.
pub(super) struct RenderedDocs {
    /// The spooled manifest entries, in plan order.
    pub(super) entries: Entries,
    /// Check and layout rejects, sorted for the report.
    pub(super) rejects: Vec<Reject>,
    pub(super) originals: check::Originals,
    pub(super) warnings: Vec<(String, String)>,
    pub(super) rendered_now: usize,
    pub(super) reused: usize,
    /// The main sheet's name.
    pub(super) sheet: String,
    /// Requests left out as already issued by an earlier batch.
    pub(super) skipped: Vec<crate::run::report::Skipped>,
    /// What the reader found and its timings.
    pub(super) read: ReadStats,
    /// Wall time of reading and rendering together, ms.
    pub(super) render_ms: u64,
}

/// Reads, checks, plans and renders a batch: the documents an earlier
/// execution finished are reused, the others rendered and journaled, every
/// manifest entry spooled in plan order.
pub(super) fn render_batch(
    batch: &BatchToRender,
    log: &RunLog,
) -> Result<RenderedDocs, BatchError> {
    let (job, dir) = (batch.job, batch.dir);
    let modes = job.output.modes();
    let docs_dir = dir.docs();
    crate::files::create_dir_with(&docs_dir, modes.dir)
        .map_err(|e| BatchError::write(&docs_dir, e))?;
    let journal = Journal::read(&dir.path)
        .map_err(|e| BatchError::read(&dir.path.join("journal.jsonl"), e))?;
    let writer = runstate::DocWriter::new(
        &docs_dir,
        modes.file,
        Journal::open(&dir.path, modes.file).map_err(|e| BatchError::write(&dir.path, e))?,
        128,
    );
    let mut spool =
        EntrySpool::create(&dir.path, modes.file).map_err(|e| BatchError::write(&dir.path, e))?;
    let progress = Progress::new(0, log.verbosity());
    let source_file = batch
        .input
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The render's own check (at each write) comes first; the watchdog is
    // for loops that print nothing.
    let dog = Watchdog::new(batch.assets.time_limit + watchdog::GRACE);
    let mut collector = Collector {
        renderer: Renderer {
            job,
            opts: batch.opts,
            assets: batch.assets,
            pool: batch.pool,
            writer: &writer,
            journal: &journal,
            docs_dir: &docs_dir,
            progress: &progress,
            watchdog: &dog,
        },
        log,
        spool: &mut spool,
        run_dir: &dir.path,
        source_file,
        collected: Collected::default(),
        failed: None,
    };
    let render_started = std::time::Instant::now();
    let read_result = std::thread::scope(|s| {
        s.spawn(|| dog.patrol(|what, took| time_breach(batch, log, what, took)));
        let r = read_and_render(batch, &mut collector);
        dog.stop();
        r
    });
    let Collector {
        mut collected,
        failed,
        ..
    } = collector;
    // A rendering error is the one to report (the reader then only says
    // that rendering stopped).
    let read_result = match failed {
        Some(e) => Err(e),
        None => read_result,
    };
    progress.finish();
    writer
        .finish()
        .map_err(|e| BatchError::write(&docs_dir, e))?;
    let mut read = read_result?;
    let render_ms = render_started.elapsed().as_millis() as u64;
    collected.add_finished(&mut read.finished);
    let (reused, rendered_now) = (collected.reused, collected.rendered_now);
    if reused > 0 {
        log.info(
            "resume",
            &format!("前回の続きから再開しました: {reused} 件は出力済みでした (resumed)"),
            serde_json::json!({"reused": reused, "rendered": rendered_now}),
        );
    }
    let entries = spool
        .finish()
        .map_err(|e| BatchError::write(&dir.path, e))?;
    Ok(RenderedDocs {
        entries,
        skipped: collected.skipped,
        rejects: collected.rejects,
        originals: collected.originals,
        warnings: collected.warnings,
        rendered_now,
        reused,
        sheet: collected.sheet_name,
        read,
        render_ms,
    })
}

/// Ends the run whose template has rendered one document for longer than
/// the limit: the rendering thread cannot be stopped, so the process exits
/// with the template-error code (2) after saying which template and record.
fn time_breach(batch: &BatchToRender, log: &RunLog, what: &str, took: std::time::Duration) -> ! {
    let limit = batch.assets.time_limit;
    let message = watchdog::breach_message(&batch.assets.template.path, limit, what);
    log.error(
        "template_time_limit",
        &message,
        serde_json::json!({"limit_s": limit.as_secs(), "took_ms": took.as_millis() as u64}),
    );
    let exit = crate::error::ExitCode::Input;
    // The numbers no finished document carries are recorded as void, as
    // for any failure after planning (a document finished but not yet
    // journaled is voided too; the run that issues it clears the mark).
    if !batch.opts.discard_docs {
        let voided = crate::run::plan::void_unwritten(
            batch.job,
            batch.plan,
            &batch.dir.path,
            batch.opts.shard,
            batch.ledger_path,
            exit,
        );
        if let Ok(n @ 1..) = voided {
            log.info(
                "voided",
                &format!("出力できなかった {n} 件の番号を台帳に欠番として記録しました (the run failed: {n} planned numbers recorded as void)"),
                serde_json::json!({"voided": n}),
            );
        }
    }
    std::process::exit(exit.code())
}

/// Runs the reader and hands its feed to `collector`. Reading, checking and
/// planning run on their own thread, a few chunks ahead of rendering:
/// memory holds only the chunks in flight. With one thread they take turns
/// with rendering on the calling thread instead, so `--threads 1` keeps the
/// batch on one core.
fn read_and_render(
    batch: &BatchToRender,
    collector: &mut Collector,
) -> Result<ReadStats, BatchError> {
    let read = |deliver: &mut dyn FnMut(Feed) -> bool| {
        read_check_plan(
            batch.job,
            batch.input,
            &batch.assets.fonts,
            batch.plan,
            &Numbering {
                ledger_path: batch.ledger_path,
                reissue: batch.opts.reissue,
            },
            &batch.dir.path,
            deliver,
        )
    };
    if batch.threads == 1 {
        return read(&mut |feed| collector.take(feed));
    }
    std::thread::scope(|s| -> Result<ReadStats, BatchError> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Feed>(2);
        let reader = s.spawn(|| read(&mut move |feed| tx.send(feed).is_ok()));
        for feed in rx.iter() {
            if !collector.take(feed) {
                break;
            }
        }
        // Dropping the receiver stops the reader at its next chunk.
        drop(rx);
        reader
            .join()
            .unwrap_or_else(|_| Err(BatchError::Render("reader thread panicked".into())))
    })
}

/// Takes the reader's feed on the rendering side: renders each chunk and
/// collects what the finalize stage needs, in plan order (spooled manifest
/// entries, rejects with their rows' texts, warnings, counts).
struct Collector<'a> {
    renderer: Renderer<'a>,
    log: &'a RunLog,
    spool: &'a mut EntrySpool,
    run_dir: &'a Path,
    source_file: String,
    collected: Collected,
    /// The first rendering or spooling error; nothing is taken after it.
    failed: Option<BatchError>,
}

/// What the collector keeps for finalize, besides the spooled entries.
#[derive(Default)]
struct Collected {
    /// Requests left out as already issued.
    skipped: Vec<crate::run::report::Skipped>,
    sheet_name: String,
    rejects: Vec<Reject>,
    originals: check::Originals,
    warnings: Vec<(String, String)>,
    rendered_now: usize,
    reused: usize,
}

impl Collected {
    /// Adds what the checker found at the end (the joined sheets' rejects
    /// and their rows' texts) and sorts the rejects for the report.
    fn add_finished(&mut self, finished: &mut check::Finished) {
        self.rejects.append(&mut finished.rejects);
        self.originals
            .rows
            .extend(std::mem::take(&mut finished.originals.rows));
        if self.originals.columns.is_empty() {
            self.originals.columns = std::mem::take(&mut finished.originals.columns);
        }
        sort_rejects(&mut self.rejects, &self.sheet_name);
    }
}

impl Collector<'_> {
    /// Takes one feed; false once rendering failed (the reader then stops).
    fn take(&mut self, feed: Feed) -> bool {
        if self.failed.is_some() {
            return false;
        }
        // A signal stops the batch between chunks: the documents rendered
        // so far are written and journaled, none is left half-written.
        if let Some(stop) = crate::run::stop::requested() {
            self.failed = Some(stop);
            return false;
        }
        let chunk = match feed {
            Feed::Head { sheet, columns } => {
                self.collected.sheet_name = sheet;
                self.collected.originals.columns = columns;
                return true;
            }
            Feed::Chunk(c) => c,
        };
        self.renderer.progress.add_total(chunk.docs.len() as u64);
        for (number, texts, rs) in chunk.rejected {
            self.keep_texts(number, texts);
            self.collected.rejects.extend(rs);
        }
        self.collected.skipped.extend(chunk.skipped);
        let source = Source {
            file: &self.source_file,
            sheet: &self.collected.sheet_name,
        };
        let step = match self.renderer.render_chunk(chunk.docs, source) {
            Ok(s) => s,
            Err(e) => {
                self.failed = Some(e);
                return false;
            }
        };
        self.collected.rendered_now += step.rendered;
        self.collected.reused += step.reused;
        for slot in step.slots {
            if let Err(e) = self.keep(slot) {
                self.failed = Some(e);
                return false;
            }
        }
        true
    }

    /// Keeps one rendered slot: a document's entry spooled with its
    /// warnings, or a layout reject with its row's texts.
    fn keep(&mut self, slot: Slot) -> Result<(), BatchError> {
        match slot {
            Slot::Document(entry, w, record) => {
                self.spool
                    .push(&entry, &w, record.as_ref())
                    .map_err(|e| BatchError::write(self.run_dir, e))?;
                for msg in w {
                    self.collected.warnings.push((entry.record_id.clone(), msg));
                }
            }
            Slot::Rejected(reject, texts) => {
                self.log.info(
                    "reject",
                    "",
                    serde_json::json!({"row": reject.row, "code": reject.code}),
                );
                self.keep_texts(reject.row, texts);
                self.collected.rejects.push(reject);
            }
            Slot::OtherShard => {}
        }
        Ok(())
    }

    /// Keeps a rejected row's texts for the rejects report.
    fn keep_texts(&mut self, row: u32, texts: Vec<String>) {
        let key = (
            self.source_file.clone(),
            self.collected.sheet_name.clone(),
            row,
        );
        self.collected.originals.rows.insert(key, texts);
    }
}

/// Where the rows being rendered come from (for manifests and rejects).
#[derive(Clone, Copy)]
struct Source<'a> {
    file: &'a str,
    sheet: &'a str,
}

/// One planned document after rendering.
enum Slot {
    /// Written (now or by an earlier execution).
    Document(ManifestEntry, Vec<String>, Option<Record>),
    /// The layout refused the record's data, with the row's texts.
    Rejected(Reject, Vec<String>),
    /// Another shard's document.
    OtherShard,
}

/// What rendering one chunk gave, in plan order.
struct ChunkResult {
    slots: Vec<Slot>,
    rendered: usize,
    reused: usize,
}

/// What the rendering threads share, read-only.
struct Renderer<'a> {
    job: &'a Job,
    opts: &'a RunOptions,
    assets: &'a Assets,
    pool: &'a rayon::ThreadPool,
    writer: &'a runstate::DocWriter,
    journal: &'a BTreeMap<String, JournalEntry>,
    docs_dir: &'a Path,
    progress: &'a Progress,
    watchdog: &'a Watchdog,
}

impl Renderer<'_> {
    /// Renders the documents of one chunk in parallel; documents an earlier
    /// execution finished (journaled, same size on disk) are reused.
    fn render_chunk(
        &self,
        docs: Vec<(Record, Vec<String>, PlannedDoc)>,
        source: Source,
    ) -> Result<ChunkResult, BatchError> {
        // Per document: whether it is this shard's, and if so whether an
        // earlier execution finished it.
        let work: Vec<_> = docs
            .into_iter()
            .map(|(record, texts, pd)| {
                let mine = pd.in_shard(self.opts.shard);
                let done = self.journal.get(&pd.file).filter(|e| {
                    mine && std::fs::symlink_metadata(self.docs_dir.join(&pd.file))
                        .is_ok_and(|m| m.is_file() && m.len() == e.bytes)
                });
                (record, texts, pd, mine, done.cloned())
            })
            .collect();
        let reused = work.iter().filter(|w| w.4.is_some()).count();
        let slots: Vec<Result<Slot, BatchError>> = self.pool.install(|| {
            work.into_par_iter()
                .map(|(record, texts, pd, mine, done)| {
                    if !mine {
                        return Ok(Slot::OtherShard);
                    }
                    if let Some(e) = done {
                        return Ok(Slot::Document(
                            self.entry(&pd, source, (e.sha256, e.bytes, e.pages)),
                            e.warnings,
                            self.for_delivery(record),
                        ));
                    }
                    let out = self.render_one(record, texts, &pd, source);
                    self.progress.inc();
                    out
                })
                .collect()
        });
        let out = slots
            .into_iter()
            .collect::<Result<Vec<Slot>, BatchError>>()?;
        // Documents written now: a record the layout refused is a void,
        // not a document.
        let documents = out
            .iter()
            .filter(|s| matches!(s, Slot::Document(..)))
            .count();
        let rendered = documents - reused;
        Ok(ChunkResult {
            slots: out,
            rendered,
            reused,
        })
    }

    /// The record to spool with its entry: only when the job delivers
    /// (the delivery stage reads it back instead of the input).
    fn for_delivery(&self, record: Record) -> Option<Record> {
        crate::run::delivery::configured(self.job).then_some(record)
    }

    /// Renders and writes one document (unless the benchmark discards it),
    /// or makes the reject of a record the layout refused.
    fn render_one(
        &self,
        record: Record,
        texts: Vec<String>,
        pd: &PlannedDoc,
        source: Source,
    ) -> Result<Slot, BatchError> {
        let clock = self.opts.clock.as_deref();
        let watch = self.watchdog.watch(format!(
            "（レコード {}、{}行目 (record {}, row {})）",
            record.id, record.row, record.id, record.row
        ));
        let rendered = render_record_timed(self.job, self.assets, &record, pd.number, clock);
        drop(watch);
        match rendered {
            Ok((bytes, pages, warnings)) => {
                let t = std::time::Instant::now();
                let sha = sha256_hex(&bytes);
                if !self.opts.discard_docs {
                    let entry = JournalEntry {
                        file: pd.file.clone(),
                        sha256: sha.clone(),
                        bytes: bytes.len() as u64,
                        pages,
                        warnings: warnings.clone(),
                    };
                    self.writer
                        .write(entry, &bytes)
                        .map_err(|e| BatchError::write(&self.docs_dir.join(&pd.file), e))?;
                }
                if let Some(c) = clock {
                    StageClock::add(&c.write, t);
                }
                Ok(Slot::Document(
                    self.entry(pd, source, (sha, bytes.len() as u64, pages)),
                    warnings,
                    self.for_delivery(record),
                ))
            }
            Err(RenderFailure::Data(e)) => Ok(Slot::Rejected(
                Reject {
                    file: source.file.to_string(),
                    sheet: source.sheet.to_string(),
                    row: record.row,
                    column: String::new(),
                    value: String::new(),
                    code: e.code().into(),
                    reason: e.to_string(),
                },
                texts,
            )),
            Err(RenderFailure::Value(m)) => Ok(Slot::Rejected(
                Reject {
                    file: source.file.to_string(),
                    sheet: source.sheet.to_string(),
                    row: record.row,
                    column: String::new(),
                    value: String::new(),
                    code: "E_TEMPLATE_VALUE".into(),
                    reason: format!(
                        "テンプレートの変換で値が使えません (a template filter refused a value): {m}"
                    ),
                },
                texts,
            )),
            // A broken template is the job's error (exit 2), as at load.
            Err(RenderFailure::Template(m)) => Err(BatchError::Input(m)),
        }
    }

    /// The manifest entry of a written document: `(sha256, bytes, pages)`.
    fn entry(
        &self,
        pd: &PlannedDoc,
        source: Source,
        (sha256, bytes, pages): (String, u64, usize),
    ) -> ManifestEntry {
        ManifestEntry {
            file: pd.file.clone(),
            sha256,
            bytes,
            pages,
            record_id: pd.record_id.clone(),
            number: pd.number,
            kind: self.job.job.title.clone(),
            source_file: source.file.to_string(),
            source_sheet: source.sheet.to_string(),
            source_row: pd.row,
        }
    }
}
