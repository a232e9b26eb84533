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
use crate::run::plan::Feed;
use crate::run::runlog::{Progress, RunLog};
use crate::run::runstate::{self, JournalEntry, PlannedDoc};
use crate::run::spool::EntrySpool;
use crate::run::{RunOptions, StageClock};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Takes the reader's feed on the rendering side: renders each chunk and
/// collects what the finalize stage needs, in plan order (spooled manifest
/// entries, rejects with their rows' texts, warnings, counts).
pub(super) struct Collector<'a> {
    pub(super) job: &'a Job,
    pub(super) opts: &'a RunOptions,
    pub(super) assets: &'a Assets,
    pub(super) pool: &'a rayon::ThreadPool,
    pub(super) writer: &'a runstate::DocWriter,
    pub(super) journal: &'a BTreeMap<String, JournalEntry>,
    pub(super) docs_dir: &'a Path,
    pub(super) progress: &'a Progress,
    pub(super) log: &'a RunLog,
    pub(super) spool: &'a mut EntrySpool,
    pub(super) run_dir: &'a Path,
    pub(super) source_file: String,
    pub(super) sheet_name: String,
    pub(super) rejects: Vec<Reject>,
    pub(super) originals: check::Originals,
    pub(super) warnings: Vec<(String, String)>,
    pub(super) rendered_now: usize,
    pub(super) reused: usize,
    /// The first rendering or spooling error; nothing is taken after it.
    pub(super) failed: Option<BatchError>,
}

impl Collector<'_> {
    /// Takes one feed; false once rendering failed (the reader then stops).
    pub(super) fn take(&mut self, feed: Feed) -> bool {
        if self.failed.is_some() {
            return false;
        }
        let chunk = match feed {
            Feed::Head { sheet, columns } => {
                self.sheet_name = sheet;
                self.originals.columns = columns;
                return true;
            }
            Feed::Chunk(c) => c,
        };
        self.progress.add_total(chunk.docs.len() as u64);
        for (number, texts, rs) in chunk.rejected {
            self.keep_texts(number, texts);
            self.rejects.extend(rs);
        }
        let step = render_chunk(
            self.job,
            self.opts,
            self.assets,
            self.pool,
            self.writer,
            self.journal,
            self.docs_dir,
            self.progress,
            chunk.docs,
            (&self.source_file, &self.sheet_name),
        );
        let step = match step {
            Ok(s) => s,
            Err(e) => {
                self.failed = Some(e);
                return false;
            }
        };
        self.rendered_now += step.rendered;
        self.reused += step.reused;
        for slot in step.slots {
            match slot {
                Slot::Document(entry, w) => {
                    if let Err(e) = self.spool.push(&entry, &w) {
                        self.failed = Some(BatchError::write(self.run_dir, e));
                        return false;
                    }
                    for msg in w {
                        self.warnings.push((entry.record_id.clone(), msg));
                    }
                }
                Slot::Rejected(reject, texts) => {
                    self.log.info(
                        "reject",
                        "",
                        serde_json::json!({"row": reject.row, "code": reject.code}),
                    );
                    self.keep_texts(reject.row, texts);
                    self.rejects.push(reject);
                }
                Slot::OtherShard => {}
            }
        }
        true
    }

    /// Keeps a rejected row's texts for the rejects report.
    fn keep_texts(&mut self, row: u32, texts: Vec<String>) {
        let key = (self.source_file.clone(), self.sheet_name.clone(), row);
        self.originals.rows.insert(key, texts);
    }
}

/// One planned document after rendering.
enum Slot {
    /// Written (now or by an earlier execution).
    Document(ManifestEntry, Vec<String>),
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

/// Renders the documents of one chunk in parallel; documents an earlier
/// execution finished (journaled, same size on disk) are reused.
#[allow(clippy::too_many_arguments)]
fn render_chunk(
    job: &Job,
    opts: &RunOptions,
    assets: &Assets,
    pool: &rayon::ThreadPool,
    writer: &runstate::DocWriter,
    journal: &BTreeMap<String, JournalEntry>,
    docs_dir: &Path,
    progress: &Progress,
    docs: Vec<(Record, Vec<String>, PlannedDoc)>,
    (source_file, sheet_name): (&str, &str),
) -> Result<ChunkResult, BatchError> {
    let entry_for = |pd: &PlannedDoc, sha256: String, bytes: u64, pages: usize| ManifestEntry {
        file: pd.file.clone(),
        sha256,
        bytes,
        pages,
        record_id: pd.record_id.clone(),
        number: pd.number,
        kind: job.job.title.clone(),
        source_file: source_file.to_string(),
        source_sheet: sheet_name.to_string(),
        source_row: pd.row,
    };
    // Per document: whether it is this shard's, and if so whether an
    // earlier execution finished it.
    let work: Vec<_> = docs
        .into_iter()
        .map(|(record, texts, pd)| {
            let mine = opts.shard.is_none_or(|(k, n)| pd.shard_key % n == k);
            let done = journal.get(&pd.file).filter(|e| {
                mine && std::fs::symlink_metadata(docs_dir.join(&pd.file))
                    .is_ok_and(|m| m.is_file() && m.len() == e.bytes)
            });
            (record, texts, pd, mine, done.cloned())
        })
        .collect();
    let reused = work.iter().filter(|w| w.4.is_some()).count();
    let slots: Vec<Result<Slot, BatchError>> = pool.install(|| {
        work.into_par_iter()
            .map(|(record, texts, pd, mine, done)| {
                if !mine {
                    return Ok(Slot::OtherShard);
                }
                if let Some(e) = done {
                    return Ok(Slot::Document(
                        entry_for(&pd, e.sha256, e.bytes, e.pages),
                        e.warnings,
                    ));
                }
                let clock = opts.clock.as_deref();
                let out = match render_record_timed(job, assets, &record, pd.number, clock) {
                    Ok((bytes, pages, warnings)) => {
                        let t = std::time::Instant::now();
                        let sha = sha256_hex(&bytes);
                        if !opts.discard_docs {
                            let entry = JournalEntry {
                                file: pd.file.clone(),
                                sha256: sha.clone(),
                                bytes: bytes.len() as u64,
                                pages,
                                warnings: warnings.clone(),
                            };
                            writer
                                .write(entry, &bytes)
                                .map_err(|e| BatchError::write(&docs_dir.join(&pd.file), e))?;
                        }
                        if let Some(c) = clock {
                            StageClock::add(&c.write, t);
                        }
                        Ok(Slot::Document(
                            entry_for(&pd, sha, bytes.len() as u64, pages),
                            warnings,
                        ))
                    }
                    Err(RenderFailure::Data(e)) => Ok(Slot::Rejected(
                        Reject {
                            file: source_file.to_string(),
                            sheet: sheet_name.to_string(),
                            row: record.row,
                            column: String::new(),
                            value: String::new(),
                            code: e.code().into(),
                            reason: e.to_string(),
                        },
                        texts,
                    )),
                    Err(RenderFailure::Template(m)) => Err(BatchError::Render(m)),
                };
                progress.inc();
                out
            })
            .collect()
    });
    let out = slots
        .into_iter()
        .collect::<Result<Vec<Slot>, BatchError>>()?;
    let handled = out
        .iter()
        .filter(|s| matches!(s, Slot::Document(..) | Slot::Rejected(..)))
        .count();
    let rendered = handled - reused;
    Ok(ChunkResult {
        slots: out,
        rendered,
        reused,
    })
}
