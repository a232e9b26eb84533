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
use crate::job::Job;
use crate::mail::mailorder::{self, MailItem};
use crate::mail::manifest::ManifestEntry;
use crate::mail::package::{self, PackageEntry, PackageOptions, PackageWriter, Password};
use crate::mail::printfile::{self, CoverInfo, PrintFileBuilder, PrintOptions};
use crate::pdf;
use crate::render::form;
use crate::render::layout;
use crate::render::template::Template;
use crate::run::{self, Assets};
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
    let modes = job.output.modes();
    let by_id: BTreeMap<&str, &Record> = records.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut items = mail_items(job, documents, &by_id);
    let (group_order, posted, thresholds) = match &job.mail {
        Some(m) => (m.group_order.clone(), m.posted_groups.clone(), m.thresholds),
        None => (Vec::new(), Vec::new(), Default::default()),
    };
    mailorder::mail_order(&mut items, &group_order);
    let summaries = mailorder::summarize(&items, &posted, &thresholds);
    let mut report = serde_json::json!({ "groups": summaries });

    if let Some(p) = &job.package {
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
            ..PackageOptions::default()
        }
        .with_issue_date(&job.batch.issue_date)?;
        let pkg_dir = run_dir.join("packages");
        crate::files::create_dir_with(&pkg_dir, modes.dir)
            .map_err(|e| crate::error::BatchError::write(&pkg_dir, e))?;
        let name_field = job.mail.as_ref().and_then(|m| m.name_field.as_deref());
        let mut infos = Vec::new();
        for (group, range) in mailorder::group_ranges(&items) {
            let mut w = PackageWriter::create(&pkg_dir, &group, &opts)?;
            for it in &items[range] {
                let d = &documents[it.index];
                let name = match (p.include_names, name_field) {
                    (true, Some(f)) => by_id.get(d.record_id.as_str()).map(|r| r.text(f)),
                    _ => None,
                };
                let entry = PackageEntry::from_manifest(d, &group, &it.postal, name.as_deref())?;
                w.add_file(&entry, &run_dir.join("docs").join(&d.file))?;
            }
            infos.extend(w.finish()?);
        }
        package::write_packages_json(&pkg_dir, &infos)?;
        report["packages"] = serde_json::to_value(&infos).unwrap_or_default();
    }

    if let Some(pr) = &job.print {
        let print_dir = run_dir.join("print");
        crate::files::create_dir_with(&print_dir, modes.dir)
            .map_err(|e| crate::error::BatchError::write(&print_dir, e))?;
        let mut files = Vec::new();
        for ((group, range), summary) in mailorder::group_ranges(&items).into_iter().zip(&summaries)
        {
            // Lay the group's documents out again, in parallel, collected in mail order.
            let laid: Vec<Result<layout::Laid, BatchError>> = items[range]
                .par_iter()
                .map(|it| {
                    let d = &documents[it.index];
                    let r = by_id.get(d.record_id.as_str()).ok_or_else(|| {
                        BatchError::Render(format!("record {} missing", d.record_id))
                    })?;
                    run::layout_record(job, assets, r, d.number, None).map_err(|e| match e {
                        run::RenderFailure::Data(e) => BatchError::Render(e.to_string()),
                        run::RenderFailure::Template(m) => BatchError::Render(m),
                    })
                })
                .collect();
            let mut builder = PrintFileBuilder::new(PrintOptions {
                duplex_pad: pr.duplex_pad,
            });
            for l in laid {
                builder.push_document(l?.pages);
            }
            let cover = printfile::cover_pages(
                &CoverInfo {
                    kind: &job.job.title,
                    batch_id,
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
                    &run::doc_info(job),
                )
                .map_err(|e| BatchError::Render(e.message))?;
            let name = crate::files::sanitize_file_name(&format!("{group}.pdf"));
            let path = print_dir.join(&name);
            crate::files::write_atomic_mode(&path, &bytes, modes.file)
                .map_err(|e| crate::error::BatchError::write(&path, e))?;
            files.push(serde_json::json!({"file": format!("print/{name}"), "group": group, "sha256": crate::files::sha256_hex(&bytes), "bytes": bytes.len(), "stats": stats}));
        }
        report["print"] = serde_json::Value::Array(files);
    }

    let mut batch_docs = Vec::new();
    for d in &job.documents {
        let template = Template::load(&d.template).map_err(|e| BatchError::Input(e.to_string()))?;
        let recs: Vec<serde_json::Value> = items
            .iter()
            .filter_map(|it| {
                let doc = &documents[it.index];
                let r = by_id.get(doc.record_id.as_str())?;
                let mut ctx = run::context(job, r, doc.number);
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
            "batch": {"issue_date": job.batch.issue_date, "count": items.len(), "kind": job.job.title, "id": batch_id},
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
            ..run::doc_info(job)
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
        let path = run_dir.join(&d.file_name);
        crate::files::write_atomic_mode(&path, &bytes, modes.file)
            .map_err(|e| crate::error::BatchError::write(&path, e))?;
        batch_docs.push(serde_json::json!({"file": d.file_name, "kind": d.title, "pages": laid.pages.len(), "sha256": crate::files::sha256_hex(&bytes), "bytes": bytes.len()}));
    }
    if !batch_docs.is_empty() {
        report["batch_documents"] = serde_json::Value::Array(batch_docs);
    }
    Ok(report)
}
