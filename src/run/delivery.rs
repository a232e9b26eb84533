//! The delivery stage: after the documents and their manifests are written,
//! put them in mail order, package them per group, assemble the print files
//! and render the documents made from all records at once (labels, the
//! dispatch list).
//!
//! Everything here reads the finished documents and records; nothing here
//! changes them. Each part runs only when the job has its section
//! (`[mail]`, `[package]`, `[print]`, `[[documents]]`); a job with none of
//! them gets exactly the run directory it had before.
//!
//! Print files and the per-batch documents come in volumes
//! ([`mailorder::volumes`]: per group, at most `[mail] volume_size`
//! letters each), each its own file named by the 通番 range it holds, so a
//! batch of any size stays under the per-document page limit and only one
//! volume's pages are in memory at a time. The letters themselves are read
//! from disk one at a time ([`Letters`]).
use crate::error::BatchError;
use crate::job::{BatchDocument, Job, PackageSection, PrintSection, DEFAULT_VOLUME_SIZE};
use crate::mail::mailorder::{self, MailItem, Volume};
use crate::mail::package::{self, PackageEntry, PackageOptions, PackageWriter, Password};
use crate::mail::printfile::{self, CoverInfo, PrintFileBuilder, PrintOptions, VolumeInfo};
use crate::pdf;
use crate::render::form;
use crate::render::layout;
use crate::render::template::Template;
use crate::run::document::{context, doc_info, layout_record, Assets, RenderFailure};
use crate::run::letters::Letters;
use rayon::prelude::*;
use std::path::Path;

/// Whether the job has any delivery section (`[mail]`, `[package]`,
/// `[print]`, `[[documents]]`).
pub fn configured(job: &Job) -> bool {
    job.mail.is_some() || job.package.is_some() || job.print.is_some() || !job.documents.is_empty()
}

/// Letters per volume: the job's `[mail] volume_size`, or the default.
pub fn volume_size(job: &Job) -> usize {
    job.mail
        .as_ref()
        .and_then(|m| m.volume_size)
        .unwrap_or(DEFAULT_VOLUME_SIZE)
}

/// Runs the delivery stage on the batch's `letters` (their entries in the
/// spool at `entries_path`); returns what `summary.json` reports about it
/// (`null` when the job has no delivery sections).
pub(super) fn deliver(
    job: &Job,
    assets: &Assets,
    mut letters: Letters,
    entries_path: &Path,
    run_dir: &Path,
    batch_id: &str,
) -> Result<serde_json::Value, BatchError> {
    if !configured(job) {
        return Ok(serde_json::Value::Null);
    }
    let (group_order, posted, thresholds) = match &job.mail {
        Some(m) => (m.group_order.clone(), m.posted_groups.clone(), m.thresholds),
        None => (Vec::new(), Vec::new(), Default::default()),
    };
    mailorder::mail_order(&mut letters.items, &group_order);
    let summaries = mailorder::summarize(&letters.items, &posted, &thresholds);
    let mut report = serde_json::json!({ "groups": summaries });
    let volumes = mailorder::volumes(&letters.items, volume_size(job));
    let batch = Delivery {
        job,
        assets,
        letters: &letters,
        entries_path,
        volumes: &volumes,
        run_dir,
        batch_id,
    };
    if let Some(p) = &job.package {
        report["packages"] = batch.write_packages(p)?;
    }
    if let Some(pr) = &job.print {
        report["print"] = batch.write_print_files(pr, &summaries, &posted, &thresholds)?;
    }
    let batch_docs = batch.write_batch_documents()?;
    if !batch_docs.is_empty() {
        report["batch_documents"] = serde_json::Value::Array(batch_docs);
    }
    Ok(report)
}

/// A finished batch in mail order, as the delivery outputs read it.
struct Delivery<'a> {
    job: &'a Job,
    assets: &'a Assets,
    /// The letters, `items` in mail order.
    letters: &'a Letters,
    /// The entries spool (for messages).
    entries_path: &'a Path,
    /// The letters cut into volumes.
    volumes: &'a [Volume],
    run_dir: &'a Path,
    batch_id: &'a str,
}

/// A volume's file name: `stem-first-last[-group].ext`, the 通番 padded to
/// the width of the batch's count (at least 5 digits) so names sort in mail
/// order; the group only when the job groups its letters.
fn volume_file_name(name: &str, v: &Volume, total: usize, group: bool) -> String {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s, format!(".{e}")),
        _ => (name, String::new()),
    };
    let width = total.to_string().len().max(5);
    let group = if group {
        format!("-{}", v.group)
    } else {
        String::new()
    };
    crate::files::sanitize_file_name(&format!(
        "{stem}-{:0width$}-{:0width$}{group}{ext}",
        v.first(),
        v.last()
    ))
}

impl Delivery<'_> {
    /// Whether the job names a group field (else every letter is in one
    /// group and the file names leave it out).
    fn grouped(&self) -> bool {
        self.job.mail.as_ref().is_some_and(|m| m.group_by.is_some())
    }

    /// The items of a volume.
    fn items(&self, v: &Volume) -> &[MailItem] {
        &self.letters.items[v.range.clone()]
    }

    /// One zip package per mail group under `packages/`, and
    /// `packages.json`; returns the packages' report.
    fn write_packages(&self, p: &PackageSection) -> Result<serde_json::Value, BatchError> {
        let password = match (&p.password_env, &p.password_file) {
            (Some(var), _) => Some(Password::from_env(var)?),
            (None, Some(file)) => Some(Password::from_file(file)?),
            (None, None) => None,
        };
        let opts = PackageOptions {
            compression: p.compression,
            max_documents: p.max_documents,
            max_bytes: p.max_mb.map(|m| m * 1_048_576),
            password,
            include_names: p.include_names,
            file_mode: self.job.output.modes().file,
            ..PackageOptions::default()
        }
        .with_issue_date(&self.job.batch.issue_date)?;
        let pkg_dir = self.run_dir.join("packages");
        crate::files::create_dir_with(&pkg_dir, self.job.output.modes().dir)
            .map_err(|e| BatchError::write(&pkg_dir, e))?;
        let name_field = self.job.mail.as_ref().and_then(|m| m.name_field.as_deref());
        let mut infos = Vec::new();
        for (group, range) in mailorder::group_ranges(&self.letters.items) {
            let mut w = PackageWriter::create(&pkg_dir, &group, &opts)?;
            for it in &self.letters.items[range] {
                let d = self.letters.entry(it.index, self.entries_path)?;
                let name = match (p.include_names, name_field) {
                    (true, Some(f)) => Some(self.letters.record(it.index)?.text(f)),
                    _ => None,
                };
                let entry = PackageEntry::from_manifest(&d, &group, &it.postal, name.as_deref())?;
                w.add_file(&entry, &self.run_dir.join("docs").join(&d.file))?;
            }
            infos.extend(w.finish()?);
        }
        package::write_packages_json(&pkg_dir, &infos, opts.file_mode)?;
        Ok(serde_json::to_value(&infos).unwrap_or_default())
    }

    /// One print file per volume under `print/`, each with its cover
    /// sheet; returns the print files' report.
    fn write_print_files(
        &self,
        pr: &PrintSection,
        summaries: &[mailorder::GroupSummary],
        posted: &[String],
        thresholds: &crate::job::Thresholds,
    ) -> Result<serde_json::Value, BatchError> {
        let modes = self.job.output.modes();
        let print_dir = self.run_dir.join("print");
        crate::files::create_dir_with(&print_dir, modes.dir)
            .map_err(|e| BatchError::write(&print_dir, e))?;
        let (job, assets) = (self.job, self.assets);
        let total = self.letters.items.len();
        let mut files = Vec::new();
        for v in self.volumes {
            let mut builder = PrintFileBuilder::new(PrintOptions {
                duplex_pad: pr.duplex_pad,
            });
            for l in self.lay_out_again(self.items(v)) {
                builder.push_document(l?.pages);
            }
            // The volume's own counts; the discounts are judged on its group.
            let mut summary = mailorder::summarize(self.items(v), posted, thresholds)
                .pop()
                .unwrap_or_default();
            if let Some(g) = summaries.iter().find(|s| s.group == v.group) {
                summary.discounts = g.discounts.clone();
            }
            let cover = printfile::cover_pages(
                &CoverInfo {
                    kind: &job.job.title,
                    batch_id: self.batch_id,
                    group: self.grouped().then_some(v.group.as_str()),
                    volume: VolumeInfo {
                        number: v.number,
                        count: self.volumes.len(),
                        first: v.first(),
                        last: v.last(),
                        total,
                    },
                    summary: &summary,
                    stats: builder.stats(1),
                },
                &assets.fonts,
                &assets.images,
            )
            .map_err(BatchError::Render)?;
            let (bytes, stats) = builder
                .write(
                    cover,
                    &assets.fonts,
                    &assets.cores,
                    &assets.images,
                    &doc_info(job),
                )
                .map_err(|e| BatchError::Render(e.message))?;
            let name = volume_file_name("print.pdf", v, total, self.grouped());
            let path = print_dir.join(&name);
            crate::files::write_atomic_mode(&path, &bytes, modes.file)
                .map_err(|e| BatchError::write(&path, e))?;
            files.push(serde_json::json!({"file": format!("print/{name}"), "group": v.group, "volume": v.number, "first": v.first(), "last": v.last(), "count": v.range.len(), "sha256": crate::files::sha256_hex(&bytes), "bytes": bytes.len(), "stats": stats}));
        }
        Ok(serde_json::Value::Array(files))
    }

    /// Lays a volume's documents out again, in parallel, collected in mail
    /// order.
    fn lay_out_again(&self, items: &[MailItem]) -> Vec<Result<layout::Laid, BatchError>> {
        items
            .par_iter()
            .map(|it| {
                let d = self.letters.entry(it.index, self.entries_path)?;
                let r = self.letters.record(it.index)?;
                layout_record(self.job, self.assets, &r, d.number, None).map_err(|e| match e {
                    RenderFailure::Data(e) => BatchError::Render(e.to_string()),
                    RenderFailure::Value(m) => BatchError::Render(m),
                    RenderFailure::Template(m) => BatchError::Input(m),
                })
            })
            .collect()
    }

    /// The job's `[[documents]]`, each made volume by volume (labels, the
    /// dispatch list); returns the volumes' reports.
    fn write_batch_documents(&self) -> Result<Vec<serde_json::Value>, BatchError> {
        let mut batch_docs = Vec::new();
        for d in &self.job.documents {
            let template =
                Template::load(&d.template).map_err(|e| BatchError::Input(e.to_string()))?;
            for v in self.volumes {
                batch_docs.push(self.write_batch_volume(d, &template, v)?);
            }
        }
        Ok(batch_docs)
    }

    /// The template context of one volume: its `records` in mail order
    /// (each with its group), the job's `values`, the `batch`'s facts
    /// (`count`: letters in the whole batch) and the `volume`'s (`number`,
    /// `count` of volumes, `group`, `first`/`last` 通番, `offset` = letters
    /// before it, `size` = its letters).
    fn volume_context(&self, v: &Volume) -> Result<serde_json::Value, BatchError> {
        let mut recs = Vec::with_capacity(v.range.len());
        for it in self.items(v) {
            let doc = self.letters.entry(it.index, self.entries_path)?;
            let r = self.letters.record(it.index)?;
            let mut ctx = context(self.job, &r, doc.number);
            if let Some(obj) = ctx.as_object_mut() {
                obj.remove("values");
                obj.insert("group".into(), serde_json::Value::String(it.group.clone()));
            }
            recs.push(ctx);
        }
        let job = self.job;
        Ok(serde_json::json!({
            "records": recs,
            "values": serde_json::to_value(&job.values).unwrap_or_default(),
            "batch": {"issue_date": job.batch.issue_date, "count": self.letters.items.len(), "kind": job.job.title, "id": self.batch_id},
            "volume": {"number": v.number, "count": self.volumes.len(), "group": v.group, "first": v.first(), "last": v.last(), "offset": v.range.start, "size": v.range.len()},
        }))
    }

    /// One volume of a whole-batch document.
    fn write_batch_volume(
        &self,
        d: &BatchDocument,
        template: &Template,
        v: &Volume,
    ) -> Result<serde_json::Value, BatchError> {
        let (job, assets) = (self.job, self.assets);
        let markup = template
            .render(&self.volume_context(v)?)
            .map_err(|e| BatchError::Render(e.to_string()))?;
        let f = form::parse(&markup)
            .map_err(|e| BatchError::Render(format!("{}: {e}", d.template.display())))?;
        let laid = layout::layout(&f, &assets.fonts, &assets.images)
            .map_err(|e| BatchError::Render(format!("{}: {e}", d.template.display())))?;
        let info = pdf::DocInfo {
            title: d.title.clone(),
            ..doc_info(job)
        };
        let bytes = pdf::write_pdf_with(
            &laid.pages,
            &assets.fonts,
            &assets.cores,
            &assets.images,
            &info,
            &pdf::PdfOptions::default(),
        )
        .map_err(|e| BatchError::Render(e.message))?;
        let name = volume_file_name(&d.file_name, v, self.letters.items.len(), self.grouped());
        let path = self.run_dir.join(&name);
        crate::files::write_atomic_mode(&path, &bytes, self.job.output.modes().file)
            .map_err(|e| BatchError::write(&path, e))?;
        Ok(
            serde_json::json!({"file": name, "kind": d.title, "group": v.group, "volume": v.number, "first": v.first(), "last": v.last(), "count": v.range.len(), "pages": laid.pages.len(), "sha256": crate::files::sha256_hex(&bytes), "bytes": bytes.len()}),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_names_sort_in_mail_order() {
        let v = |first: usize, last: usize, group: &str| Volume {
            group: group.into(),
            range: first - 1..last,
            number: 1,
        };
        assert_eq!(
            volume_file_name("labels.pdf", &v(1, 1000, "all"), 28, false),
            "labels-00001-01000.pdf"
        );
        assert_eq!(
            volume_file_name("labels.pdf", &v(99001, 100000, "郵送"), 100000, true),
            "labels-099001-100000-郵送.pdf"
        );
        assert_eq!(
            volume_file_name("list", &v(1, 2, "a/b"), 2, true),
            crate::files::sanitize_file_name("list-00001-00002-a/b")
        );
    }
}
