//! Packaging memory benchmark: peak RSS of packaging 1,000 and 10,000
//! documents must be within a few MB of each other (the writer streams).
//!
//! ```text
//! cargo run --release --example package_bench [-- 1000 10000]
//! ```
//! One real PDF is rendered with the library (a certificate-like page in
//! BIZ UD Mincho), then copied N times with a different trailing comment so
//! every file has its own hash. Each count is packaged in a fresh child
//! process, which reports its peak RSS (`VmHWM` from `/proc/self/status`)
//! before and after packaging, so the numbers do not mix.

use chohyo::mail::package::{PackageEntry, PackageOptions, PackageWriter};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn entry(i: usize) -> PackageEntry {
    let record_id = format!("B-{i:06}");
    PackageEntry {
        file: format!("{record_id}.pdf"),
        doc_id: chohyo::mail::docid::doc_id(&record_id).expect("ascii id"),
        sha256: String::new(),
        bytes: 0,
        pages: 1,
        record_id,
        number: i as u64,
        recipient_name: None,
        postal: format!("{:03}-{:04}", 100 + i % 800, i % 10000),
        kind: "在職証明書".into(),
        source_file: "bench.csv".into(),
        source_sheet: String::new(),
        source_row: 2 + i as u32,
        group: "郵送".into(),
    }
}

/// Renders one real one-page PDF with the library.
fn sample_pdf() -> Vec<u8> {
    let fonts = chohyo::render::fonts::FontSet::load(
        &chohyo::render::fonts::FontSet::default_slots(&chohyo::run::default_fonts_dir()),
    )
    .expect("bundled fonts");
    let images = chohyo::render::image::ImageSet::default();
    let mut m = String::from(r#"<form size="A4" font="mincho" font-size="11pt"><page>"#);
    m.push_str(
        r#"<text x="20mm" y="42mm" w="170mm" align="center" font-size="24pt">在職証明書</text>"#,
    );
    for i in 0..12 {
        m.push_str(&format!(
            r#"<text x="25mm" y="{}mm">上記の者は、令和七年四月一日現在、当区に在職していることを証明します。{i}</text>"#,
            70 + i * 9
        ));
    }
    m.push_str("</page></form>");
    let form = chohyo::render::form::parse(&m).expect("markup");
    let laid = chohyo::render::layout::layout(&form, &fonts, &images).expect("layout");
    let info = chohyo::pdf::DocInfo {
        title: "在職証明書".into(),
        created: "20250401000000".into(),
    };
    chohyo::pdf::write_pdf(&laid.pages, &fonts, &images, &info).expect("pdf")
}

fn generate(dir: &Path, n: usize, base: &[u8]) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).expect("mkdir");
    (0..n)
        .map(|i| {
            let p = dir.join(entry(i).file);
            let mut b = base.to_vec();
            b.extend(format!("%{i:08}\n").as_bytes());
            std::fs::write(&p, &b).expect("write");
            p
        })
        .collect()
}

fn child(n: usize, docs: &Path, out: &Path) {
    let before = vm_hwm_kb();
    let start = Instant::now();
    let opts = PackageOptions::default()
        .with_issue_date("2025-04-01")
        .expect("date");
    let mut w = PackageWriter::create(out, "郵送", &opts).expect("create");
    for i in 0..n {
        let e = entry(i);
        w.add_file(&e, &docs.join(&e.file)).expect("add");
    }
    let infos = w.finish().expect("finish");
    chohyo::mail::package::write_packages_json(out, &infos, 0o600).expect("packages.json");
    let secs = start.elapsed().as_secs_f64();
    let after = vm_hwm_kb();
    let bytes: u64 = infos.iter().map(|i| i.bytes).sum();
    println!("{n} {before} {after} {secs:.3} {bytes}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        let n: usize = args[2].parse().expect("count");
        child(n, Path::new(&args[3]), Path::new(&args[4]));
        return;
    }
    let counts: Vec<usize> = if args.len() > 1 {
        args[1..]
            .iter()
            .map(|a| a.parse().expect("count"))
            .collect()
    } else {
        vec![1000, 10000]
    };
    let base = sample_pdf();
    let root = std::env::temp_dir().join(format!("chohyo-package-bench-{}", std::process::id()));
    let max = counts.iter().copied().max().unwrap_or(0);
    let t = Instant::now();
    generate(&root.join("docs"), max, &base);
    eprintln!(
        "generated {max} PDFs of {} bytes in {:.2} s",
        base.len(),
        t.elapsed().as_secs_f64()
    );
    let exe = std::env::current_exe().expect("exe");
    println!("documents  peak RSS before  peak RSS after packaging  time      zip size");
    let mut peaks = Vec::new();
    for n in counts {
        let out = root.join(format!("out-{n}"));
        let o = Command::new(&exe)
            .arg("--child")
            .arg(n.to_string())
            .arg(root.join("docs"))
            .arg(&out)
            .output()
            .expect("child");
        let line = String::from_utf8_lossy(&o.stdout);
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 5 {
            eprintln!("child failed: {}", String::from_utf8_lossy(&o.stderr));
            std::process::exit(1);
        }
        println!(
            "{:>9}  {:>12} KB  {:>21} KB  {:>6} s  {:>8} KB",
            f[0],
            f[1],
            f[2],
            f[3],
            f[4].parse::<u64>().unwrap_or(0) / 1024
        );
        peaks.push(f[2].parse::<u64>().unwrap_or(0));
        let _ = std::fs::remove_dir_all(&out);
    }
    if let (Some(lo), Some(hi)) = (peaks.iter().min(), peaks.iter().max()) {
        println!("difference of peaks: {} KB", hi - lo);
    }
    let _ = std::fs::remove_dir_all(&root);
}
