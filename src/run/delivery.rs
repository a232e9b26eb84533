//! The delivery stage: after the documents and their manifests are written,
//! put them in mail order, package them per group, assemble the print files
//! and render the documents made from all records at once (labels, the
//! dispatch list).
//!
//! Everything here reads the finished documents and records; nothing here
//! changes them. Each part runs only when the job has its section
//! (`[mail]`, `[package]`, `[print]`, `[[documents]]`); a job with none of
//! them gets exactly the run directory it had before.

use crate::check::Record;
use crate::error::BatchError;
use crate::job::{BatchDocument, Job, PackageSection, PrintSection};
use crate::mail::mailorder::{self, MailItem};
use crate::mail::manifest::ManifestEntry;
use crate::mail::package::{self, PackageEntry, PackageOptions, PackageWriter, Password};
use crate::mail::printfile::{self, CoverInfo, PrintFileBuilder, PrintOptions};
use crate::pdf;
use crate::render::form;
use crate::render::layout;
use crate::render::template::Template;
use crate::run::document::{context, doc_info, layout_record, Assets, RenderFailure};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Builds the mail items of the documents (index into `documents`).
fn mail_items(
    job: &Job,
    documents: &[ManifestEntry],
    by_id: &BTreeMap<&str, &Record>,
) -> Vec<MailItem> {
    let mail = job.mail.as_ref();
    let postal_field = mail.map(|m| m.postal_field.as_str()).unwrap_or("postal");
    let postal_data = mail
        .and_then(|m| m.address_field.as_ref())
        .and_then(|_| crate::japan::postal::PostalData::embedded().ok());
    documents
        .iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let r = by_id.get(d.record_id.as_str())?;
            let postal = r.text(postal_field);
            let barcode = match (mail.and_then(|m| m.address_field.as_deref()), postal_data) {
                (Some(af), Some(data)) => data.customer_barcode(&postal, &r.text(af)).is_ok(),
                _ => false,
            };
            Some(MailItem {
                index: i,
                record_id: d.record_id.clone(),
                postal,
                group: mail
                    .and_then(|m| m.group_by.as_deref())
                    .map(|g| r.text(g))
                    .filter(|g| !g.is_empty())
                    .unwrap_or_else(|| "all".to_string()),
                key: mail
                    .and_then(|m| m.sort_key.as_deref())
                    .map(|k| r.text(k))
                    .unwrap_or_default(),
                barcode,
            })
        })
        .collect()
}

/// Whether the job has any delivery section (`[mail]`, `[package]`,
/// `[print]`, `[[documents]]`).
pub fn configured(job: &Job) -> bool {
    job.mail.is_some() || job.package.is_some() || job.print.is_some() || !job.documents.is_empty()
}

/// Runs the delivery stage; returns what `summary.json` reports about it
/// (`null` when the job has no delivery sections).
pub fn deliver(
    job: &Job,
    assets: &Assets,
    records: &[Record],
    documents: &[ManifestEntry],
    run_dir: &Path,
    batch_id: &str,
) -> Result<serde_json::Value, BatchError> {
    if !configured(job) {
        return Ok(serde_json::Value::Null);
    }
    let by_id: BTreeMap<&str, &Record> = records.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut items = mail_items(job, documents, &by_id);
    let (group_order, posted, thresholds) = match &job.mail {
        Some(m) => (m.group_order.clone(), m.posted_groups.clone(), m.thresholds),
        None => (Vec::new(), Vec::new(), Default::default()),
    };
    mailorder::mail_order(&mut items, &group_order);
    let summaries = mailorder::summarize(&items, &posted, &thresholds);
    let mut report = serde_json::json!({ "groups": summaries });
    let batch = Delivery {
        job,
        assets,
        documents,
        by_id,
        items,
        run_dir,
        batch_id,
    };
    if let Some(p) = &job.package {
        report["packages"] = batch.write_packages(p)?;
    }
    if let Some(pr) = &job.print {
        report["print"] = batch.write_print_files(pr, &summaries)?;
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
    /// The manifest entries, in plan order (`items` index into them).
    documents: &'a [ManifestEntry],
    by_id: BTreeMap<&'a str, &'a Record>,
    /// The documents in mail order.
    items: Vec<MailItem>,
    run_dir: &'a Path,
    batch_id: &'a str,
}

impl Delivery<'_> {
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
        for (group, range) in mailorder::group_ranges(&self.items) {
            let mut w = PackageWriter::create(&pkg_dir, &group, &opts)?;
            for it in &self.items[range] {
                let d = &self.documents[it.index];
                let name = match (p.include_names, name_field) {
                    (true, Some(f)) => self.by_id.get(d.record_id.as_str()).map(|r| r.text(f)),
                    _ => None,
                };
                let entry = PackageEntry::from_manifest(d, &group, &it.postal, name.as_deref())?;
                w.add_file(&entry, &self.run_dir.join("docs").join(&d.file))?;
            }
            infos.extend(w.finish()?);
        }
        package::write_packages_json(&pkg_dir, &infos, opts.file_mode)?;
        Ok(serde_json::to_value(&infos).unwrap_or_default())
    }

    /// One print file per mail group under `print/`, each with its cover
    /// sheet; returns the print files' report.
    fn write_print_files(
        &self,
        pr: &PrintSection,
        summaries: &[mailorder::GroupSummary],
    ) -> Result<serde_json::Value, BatchError> {
        let modes = self.job.output.modes();
        let print_dir = self.run_dir.join("print");
        crate::files::create_dir_with(&print_dir, modes.dir)
            .map_err(|e| BatchError::write(&print_dir, e))?;
        let (job, assets) = (self.job, self.assets);
        let mut files = Vec::new();
        for ((group, range), summary) in mailorder::group_ranges(&self.items)
            .into_iter()
            .zip(summaries)
        {
            let mut builder = PrintFileBuilder::new(PrintOptions {
                duplex_pad: pr.duplex_pad,
            });
            for l in self.lay_out_again(&self.items[range]) {
                builder.push_document(l?.pages);
            }
            let cover = printfile::cover_pages(
                &CoverInfo {
                    kind: &job.job.title,
                    batch_id: self.batch_id,
                    summary,
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
            let name = crate::files::sanitize_file_name(&format!("{group}.pdf"));
            let path = print_dir.join(&name);
            crate::files::write_atomic_mode(&path, &bytes, modes.file)
                .map_err(|e| BatchError::write(&path, e))?;
            files.push(serde_json::json!({"file": format!("print/{name}"), "group": group, "sha256": crate::files::sha256_hex(&bytes), "bytes": bytes.len(), "stats": stats}));
        }
        Ok(serde_json::Value::Array(files))
    }

    /// Lays a group's documents out again, in parallel, collected in mail
    /// order.
    fn lay_out_again(&self, items: &[MailItem]) -> Vec<Result<layout::Laid, BatchError>> {
        items
            .par_iter()
            .map(|it| {
                let d = &self.documents[it.index];
                let r = self
                    .by_id
                    .get(d.record_id.as_str())
                    .ok_or_else(|| BatchError::Render(format!("record {} missing", d.record_id)))?;
                layout_record(self.job, self.assets, r, d.number, None).map_err(|e| match e {
                    RenderFailure::Data(e) => BatchError::Render(e.to_string()),
                    RenderFailure::Value(m) => BatchError::Render(m),
                    RenderFailure::Template(m) => BatchError::Input(m),
                })
            })
            .collect()
    }

    /// The job's `[[documents]]`, each made from all records at once
    /// (labels, the dispatch list); returns their reports.
    fn write_batch_documents(&self) -> Result<Vec<serde_json::Value>, BatchError> {
        let mut batch_docs = Vec::new();
        for d in &self.job.documents {
            batch_docs.push(self.write_batch_document(d)?);
        }
        Ok(batch_docs)
    }

    /// One whole-batch document: its template gets every record in mail
    /// order (with its group) and the batch's facts.
    fn write_batch_document(&self, d: &BatchDocument) -> Result<serde_json::Value, BatchError> {
        let (job, assets) = (self.job, self.assets);
        let template = Template::load(&d.template).map_err(|e| BatchError::Input(e.to_string()))?;
        let recs: Vec<serde_json::Value> = self
            .items
            .iter()
            .filter_map(|it| {
                let doc = &self.documents[it.index];
                let r = self.by_id.get(doc.record_id.as_str())?;
                let mut ctx = context(job, r, doc.number);
                if let Some(obj) = ctx.as_object_mut() {
                    obj.remove("values");
                    obj.insert("group".into(), serde_json::Value::String(it.group.clone()));
                }
                Some(ctx)
            })
            .collect();
        let ctx = serde_json::json!({
            "records": recs,
            "values": serde_json::to_value(&job.values).unwrap_or_default(),
            "batch": {"issue_date": job.batch.issue_date, "count": self.items.len(), "kind": job.job.title, "id": self.batch_id},
        });
        let markup = template
            .render(&ctx)
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
        let path = self.run_dir.join(&d.file_name);
        crate::files::write_atomic_mode(&path, &bytes, self.job.output.modes().file)
            .map_err(|e| BatchError::write(&path, e))?;
        Ok(
            serde_json::json!({"file": d.file_name, "kind": d.title, "pages": laid.pages.len(), "sha256": crate::files::sha256_hex(&bytes), "bytes": bytes.len()}),
        )
    }
}
