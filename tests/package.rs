//! Packages: deterministic zips, splitting, manifests, encryption; mail
//! order; the combined print file checked with poppler and qpdf.

mod common;

use chohyo::job::{Compression, Thresholds};
use chohyo::mail::mailorder::{self, MailItem};
use chohyo::mail::package::{
    self, PackageEntry, PackageInfo, PackageOptions, PackageWriter, Password, VerifyOptions,
};
use std::io::Read;
use std::path::{Path, PathBuf};

fn entry(i: usize, group: &str) -> PackageEntry {
    let record_id = format!("R-2025-{i:04}");
    PackageEntry {
        file: format!("{record_id}.pdf"),
        doc_id: chohyo::mail::docid::doc_id(&record_id).unwrap(),
        sha256: String::new(),
        bytes: 0,
        pages: 1,
        record_id,
        number: 100 + i as u64,
        recipient_name: Some(format!("見本 太郎{i}")),
        postal: "153-0051".into(),
        kind: "在職証明書".into(),
        source_file: "requests.xlsx".into(),
        source_sheet: "申請一覧".into(),
        source_row: 3 + i as u32,
        group: group.into(),
    }
}

fn fake_pdf(i: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.7\n% synthetic test document\n".to_vec();
    v.extend(format!("{i}\n").as_bytes());
    v.extend(std::iter::repeat_n(b'x', 500 + i));
    v.extend(b"\n%%EOF\n");
    v
}

/// Writes `n` fake PDFs into `docs/` and returns their paths.
fn docs(dir: &Path, n: usize) -> Vec<PathBuf> {
    let d = dir.join("docs");
    std::fs::create_dir_all(&d).unwrap();
    (0..n)
        .map(|i| {
            let p = d.join(entry(i, "").file);
            std::fs::write(&p, fake_pdf(i)).unwrap();
            p
        })
        .collect()
}

fn package(dir: &Path, files: &[PathBuf], opts: &PackageOptions) -> Vec<PackageInfo> {
    let mut w = PackageWriter::create(&dir.join("packages"), "郵送", opts).unwrap();
    for (i, p) in files.iter().enumerate() {
        w.add_file(&entry(i, "郵送"), p).unwrap();
    }
    w.finish().unwrap()
}

fn read_entry(zip: &Path, name: &str, password: Option<&str>) -> zip::result::ZipResult<Vec<u8>> {
    let mut a = zip::ZipArchive::new(std::fs::File::open(zip).unwrap())?;
    let mut f = match password {
        Some(p) => a.by_name_decrypt(name, p.as_bytes())?,
        None => a.by_name(name)?,
    };
    let mut v = Vec::new();
    f.read_to_end(&mut v)?;
    Ok(v)
}

#[test]
fn packaging_twice_gives_identical_bytes() {
    let t = tempfile::tempdir().unwrap();
    let files = docs(t.path(), 12);
    let opts = PackageOptions::default()
        .with_issue_date("2025-04-01")
        .unwrap();
    let a = package(&t.path().join("a"), &files, &opts);
    let b = package(&t.path().join("b"), &files, &opts);
    assert_eq!(a, b);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].file, "郵送.zip");
    assert_eq!(a[0].documents, 12);
    let za = std::fs::read(t.path().join("a/packages/郵送.zip")).unwrap();
    let zb = std::fs::read(t.path().join("b/packages/郵送.zip")).unwrap();
    assert_eq!(za, zb);
    assert_eq!(chohyo::files::sha256_hex(&za), a[0].sha256);
    assert_eq!(za.len() as u64, a[0].bytes);

    // Fixed timestamp, permissions and order; PDFs stored; manifests last.
    let mut arch = zip::ZipArchive::new(std::io::Cursor::new(za)).unwrap();
    let mut names = Vec::new();
    for i in 0..arch.len() {
        let f = arch.by_index(i).unwrap();
        let dt = f.last_modified().unwrap();
        assert_eq!(
            (dt.year(), dt.month(), dt.day(), dt.hour()),
            (2025, 4, 1, 0)
        );
        assert_eq!(f.unix_mode().map(|m| m & 0o777), Some(0o644));
        if f.name().unwrap().ends_with(".pdf") {
            assert_eq!(f.compression(), zip::CompressionMethod::Stored);
        }
        names.push(f.name().unwrap().to_string());
    }
    assert_eq!(names.len(), 14);
    assert_eq!(names[0], "docs/R-2025-0000.pdf");
    assert_eq!(&names[12..], ["manifest.csv", "manifest.json"]);
    // No temporary files left behind.
    let left: Vec<_> = std::fs::read_dir(t.path().join("a/packages"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

#[test]
fn manifests_list_hashes_and_names_only_when_allowed() {
    let t = tempfile::tempdir().unwrap();
    let files = docs(t.path(), 3);
    let infos = package(t.path(), &files, &PackageOptions::default());
    let zip = t.path().join("packages").join(&infos[0].file);
    let json: serde_json::Value =
        serde_json::from_slice(&read_entry(&zip, "manifest.json", None).unwrap()).unwrap();
    assert_eq!(json["format"], "chohyo-package-manifest/1");
    assert_eq!(json["group"], "郵送");
    let d = &json["documents"][1];
    assert_eq!(d["file"], "R-2025-0001.pdf");
    assert_eq!(
        d["sha256"],
        chohyo::files::sha256_hex(&std::fs::read(&files[1]).unwrap())
    );
    assert_eq!(d["bytes"], fake_pdf(1).len());
    assert_eq!(d["postal"], "153-0051");
    assert_eq!(d["group"], "郵送");
    assert_eq!(d["source_row"], 4);
    assert_eq!(
        d["doc_id"],
        chohyo::mail::docid::doc_id("R-2025-0001").unwrap()
    );
    assert!(d.get("recipient_name").is_none());
    let csv = String::from_utf8(read_entry(&zip, "manifest.csv", None).unwrap()).unwrap();
    assert!(!csv.contains("見本"));
    assert!(csv.starts_with("file,doc_id,sha256,bytes,pages,record_id,number,postal,"));

    let opts = PackageOptions {
        include_names: true,
        compression: Compression::Deflated,
        ..PackageOptions::default()
    };
    let infos = package(&t.path().join("named"), &files, &opts);
    let zip = t.path().join("named/packages").join(&infos[0].file);
    let csv = String::from_utf8(read_entry(&zip, "manifest.csv", None).unwrap()).unwrap();
    assert!(csv.contains("recipient_name"));
    assert!(csv.contains("見本 太郎2"));
    let mut a = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    assert_eq!(
        a.by_name("docs/R-2025-0000.pdf").unwrap().compression(),
        zip::CompressionMethod::Deflated
    );
    assert_eq!(
        package::verify_path(&zip, &VerifyOptions::default())
            .unwrap()
            .findings,
        vec![]
    );
}

#[test]
fn splits_by_count_and_by_size() {
    let t = tempfile::tempdir().unwrap();
    let files = docs(t.path(), 5);
    let opts = PackageOptions {
        max_documents: Some(2),
        ..PackageOptions::default()
    };
    let infos = package(&t.path().join("n"), &files, &opts);
    let names: Vec<&str> = infos.iter().map(|i| i.file.as_str()).collect();
    assert_eq!(names, ["郵送-001.zip", "郵送-002.zip", "郵送-003.zip"]);
    let counts: Vec<usize> = infos.iter().map(|i| i.documents).collect();
    assert_eq!(counts, [2, 2, 1]);
    let parts: Vec<u32> = infos.iter().map(|i| i.part).collect();
    assert_eq!(parts, [1, 2, 3]);

    // Each fake PDF is ~540–545 bytes: at most 1,100 bytes → two per zip,
    // and one larger than the limit alone gets a zip of its own.
    let opts = PackageOptions {
        max_bytes: Some(1100),
        ..PackageOptions::default()
    };
    let infos = package(&t.path().join("b"), &files, &opts);
    let counts: Vec<usize> = infos.iter().map(|i| i.documents).collect();
    assert_eq!(counts, [2, 2, 1]);
    assert!(infos.iter().all(|i| i.document_bytes <= 1100));
    let opts = PackageOptions {
        max_bytes: Some(10),
        ..PackageOptions::default()
    };
    let infos = package(&t.path().join("c"), &files, &opts);
    assert_eq!(infos.len(), 5);

    // packages.json lists them and verifies.
    let dir = t.path().join("n/packages");
    let infos = package(
        &t.path().join("n"),
        &files,
        &PackageOptions {
            max_documents: Some(2),
            ..PackageOptions::default()
        },
    );
    package::write_packages_json(&dir, &infos, 0o600).unwrap();
    let r = package::verify_path(&dir.join("packages.json"), &VerifyOptions::default()).unwrap();
    assert!(r.ok(), "{:?}", r.findings);
    assert_eq!(r.documents_ok, 5);
    assert_eq!(r.containers, 3);
}

#[test]
fn aes_encrypted_zip_opens_only_with_the_password() {
    let t = tempfile::tempdir().unwrap();
    let files = docs(t.path(), 2);
    let pw_file = t.path().join("pw.txt");
    std::fs::write(&pw_file, "s3cret-パス\n").unwrap();
    let opts = PackageOptions {
        password: Some(Password::from_file(&pw_file).unwrap()),
        ..PackageOptions::default()
    };
    let infos = package(t.path(), &files, &opts);
    assert!(infos[0].encrypted);
    let zip = t.path().join("packages").join(&infos[0].file);
    let got = read_entry(&zip, "docs/R-2025-0001.pdf", Some("s3cret-パス")).unwrap();
    assert_eq!(got, fake_pdf(1));
    assert!(read_entry(&zip, "docs/R-2025-0001.pdf", None).is_err());
    assert!(read_entry(&zip, "docs/R-2025-0001.pdf", Some("wrong")).is_err());
    // The password does not appear in the zip.
    let raw = std::fs::read(&zip).unwrap();
    assert!(!raw.windows(6).any(|w| w == b"s3cret"));
    // verify needs the password, and a wrong one is reported as such.
    let r = package::verify_path(&zip, &VerifyOptions::default()).unwrap();
    assert_eq!(r.findings[0].kind, package::FindingKind::PasswordRequired);
    let with = VerifyOptions {
        password: Some(Password::from_file(&pw_file).unwrap()),
        ..VerifyOptions::default()
    };
    let r = package::verify_path(&zip, &with).unwrap();
    assert!(r.ok(), "{:?}", r.findings);
    assert_eq!(r.documents_ok, 2);
}

#[test]
fn changed_file_on_disk_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let files = docs(t.path(), 1);
    let mut e = entry(0, "郵送");
    e.sha256 = chohyo::files::sha256_hex(b"something else");
    let mut w =
        PackageWriter::create(&t.path().join("p"), "郵送", &PackageOptions::default()).unwrap();
    let err = w.add_file(&e, &files[0]).unwrap_err();
    assert!(err.to_string().contains("変わっています"), "{err}");
    let mut bad = entry(0, "郵送");
    bad.file = "../x.pdf".into();
    assert!(w.add_bytes(&bad, b"x").is_err());
}

#[test]
fn mail_order_sorts_and_counts_groups() {
    let rows = [
        ("R3", "263-0023", "郵送"),
        ("R1", "100-0013", "窓口"),
        ("R2", "153-0051", "郵送"),
        ("R4", "153-0042", "郵送"),
        ("R5", "", "庁内便"),
        ("R6", "153-0000", "郵送"),
    ];
    let mut items: Vec<MailItem> = rows
        .iter()
        .enumerate()
        .map(|(i, (id, postal, group))| MailItem {
            index: i,
            record_id: id.to_string(),
            postal: postal.to_string(),
            group: group.to_string(),
            key: String::new(),
            barcode: true,
        })
        .collect();
    let order = ["郵送".to_string(), "庁内便".into(), "窓口".into()];
    mailorder::mail_order(&mut items, &order);
    let ids: Vec<&str> = items.iter().map(|i| i.record_id.as_str()).collect();
    assert_eq!(ids, ["R6", "R4", "R2", "R3", "R5", "R1"]);
    let s = mailorder::summarize(&items, &order[..1], &Thresholds::default());
    let groups: Vec<(&str, usize)> = s.iter().map(|g| (g.group.as_str(), g.items)).collect();
    assert_eq!(groups, [("郵送", 4), ("庁内便", 1), ("窓口", 1)]);
    assert_eq!(s[0].by_district.get("15300"), Some(&3));
    assert_eq!(s[0].by_prefix.get("263"), Some(&1));
    assert_eq!(s[0].representative, 1);
    assert_eq!(s[0].with_barcode, 3);
    assert!(s[0]
        .discounts
        .iter()
        .all(|d| !d.eligible || d.code == "deferred_payment"));
    assert!(s[1].discounts.is_empty());
}

/// A print file of two documents and a cover, checked with poppler and qpdf.
#[test]
fn print_file_has_cover_documents_and_one_shared_subset() {
    use chohyo::mail::printfile::{
        cover_pages, CoverInfo, PrintFileBuilder, PrintOptions, VolumeInfo,
    };
    let fonts = chohyo::render::fonts::FontSet::load(
        &chohyo::render::fonts::FontSet::default_slots(&chohyo::run::default_fonts_dir()),
    )
    .unwrap();
    let images = chohyo::render::image::ImageSet::default();
    let doc = |name: &str, pages: usize| {
        let mut m = String::from(r#"<form size="A4" font="mincho" font-size="12pt">"#);
        for p in 0..pages {
            m.push_str(&format!(
                r#"<page><text x="20mm" y="30mm">在職証明書 {name} {p}</text></page>"#
            ));
        }
        m.push_str("</form>");
        let f = chohyo::render::form::parse(&m).unwrap();
        chohyo::render::layout::layout(&f, &fonts, &images)
            .unwrap()
            .pages
    };
    let mut b = PrintFileBuilder::new(PrintOptions { duplex_pad: true });
    b.push_document(doc("甲野", 1));
    b.push_document(doc("乙野", 2));
    let mut items = vec![MailItem {
        index: 0,
        record_id: "R1".into(),
        postal: "153-0051".into(),
        group: "郵送".into(),
        key: String::new(),
        barcode: true,
    }];
    items.push(MailItem {
        index: 1,
        record_id: "R2".into(),
        ..items[0].clone()
    });
    let summary = mailorder::summarize(&items, &[], &Thresholds::default());
    let cover = cover_pages(
        &CoverInfo {
            kind: "在職証明書",
            batch_id: "2025-04-01",
            group: Some("郵送"),
            volume: VolumeInfo {
                number: 1,
                count: 1,
                first: 1,
                last: 2,
                total: 2,
            },
            summary: &summary[0],
            stats: b.stats(1),
        },
        &fonts,
        &images,
    )
    .unwrap();
    assert_eq!(cover.len(), 1);
    let info = chohyo::pdf::DocInfo {
        title: "在職証明書 印刷用".into(),
        created: "20250401000000".into(),
    };
    let cores = chohyo::pdf::FontCores::default();
    let (bytes, stats) = b.write(cover, &fonts, &cores, &images, &info).unwrap();
    assert_eq!(stats.total_pages, 6); // cover+blank, 1+blank, 2
    assert_eq!(stats.sheets, 3);
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("print.pdf");
    std::fs::write(&p, &bytes).unwrap();
    common::qpdf_check(&p);
    let text = common::pdftotext(&p, None);
    let pages: Vec<&str> = text.split('\x0c').collect();
    assert!(pages[0].contains("区分票"), "{}", pages[0]);
    assert!(pages[0].contains("区分：郵送"), "{}", pages[0]);
    assert!(pages[0].contains("通数：2 通"), "{}", pages[0]);
    assert!(pages[0].contains("153：2 通"));
    assert!(pages[1].trim().is_empty());
    assert!(pages[2].contains("在職証明書 甲野 0"));
    assert!(pages[3].trim().is_empty());
    assert!(pages[4].contains("在職証明書 乙野 0"));
    assert!(pages[5].contains("在職証明書 乙野 1"));
    // One embedded subset per font used, shared by every page.
    let embedded = common::pdffonts(&p);
    assert_eq!(embedded.len(), 2, "{embedded:#?}"); // gothic cover + mincho documents
}

/// The wiring the batch will do, on the sample job: run, mail order by
/// department, one package per group, packages.json, verify, and again
/// byte-identical.
#[test]
fn sample_run_packages_by_group_and_verifies() {
    use chohyo::run::{self, RunOptions};
    let job = chohyo::job::Job::load(&common::sample_job("zaishoku")).unwrap();
    let t = tempfile::tempdir().unwrap();
    let outcome = run::run(
        &job,
        &RunOptions {
            out_dir: Some(t.path().to_path_buf()),
            ..RunOptions::default()
        },
        &chohyo::run::runlog::RunLog::stderr_only(chohyo::run::runlog::Verbosity::Quiet),
    )
    .unwrap();
    let checked = run::read_and_check(&job, None, None).unwrap();
    let by_id: std::collections::BTreeMap<&str, &chohyo::check::Record> =
        checked.records.iter().map(|r| (r.id.as_str(), r)).collect();
    let field = |id: &str, f: &str| {
        by_id[id]
            .fields
            .get(f)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let manifest = common::read_json(&outcome.run_dir.join("manifest.json"));
    let documents: Vec<chohyo::mail::manifest::ManifestEntry> =
        serde_json::from_value(manifest["documents"].clone()).unwrap();
    assert_eq!(documents.len(), outcome.documents);
    let mut items: Vec<MailItem> = documents
        .iter()
        .enumerate()
        .map(|(i, d)| MailItem {
            index: i,
            record_id: d.record_id.clone(),
            postal: field(&d.record_id, "postal"),
            group: field(&d.record_id, "department"),
            key: String::new(),
            barcode: false,
        })
        .collect();
    mailorder::mail_order(&mut items, &[]);
    let summaries = mailorder::summarize(&items, &[], &Thresholds::default());
    assert_eq!(
        summaries.iter().map(|s| s.items).sum::<usize>(),
        outcome.documents
    );

    let pack = |dir: &Path| {
        let opts = PackageOptions::default()
            .with_issue_date(&job.batch.issue_date)
            .unwrap();
        let mut all = Vec::new();
        for (group, range) in mailorder::group_ranges(&items) {
            let mut w = PackageWriter::create(dir, &group, &opts).unwrap();
            for it in &items[range] {
                let d = &documents[it.index];
                let e = PackageEntry::from_manifest(d, &group, &it.postal, None).unwrap();
                w.add_file(&e, &outcome.run_dir.join("docs").join(&d.file))
                    .unwrap();
            }
            all.extend(w.finish().unwrap());
        }
        package::write_packages_json(dir, &all, 0o600).unwrap();
        all
    };
    let a = pack(&outcome.run_dir.join("packages"));
    assert_eq!(a.len(), summaries.len());
    let b = pack(&t.path().join("again"));
    assert_eq!(a, b);
    // The run directory verifies together with its packages.
    let r = package::verify_path(&outcome.run_dir, &VerifyOptions::default()).unwrap();
    assert!(r.ok(), "{:?}", r.findings);
    // Each document counted once; its copy in a package apart.
    assert_eq!(r.documents_ok, outcome.documents);
    assert_eq!(r.package_copies_ok, outcome.documents);
    assert_eq!(r.containers, 1 + a.len());
}
