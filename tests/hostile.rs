//! Hostile input, faults and personal data (issue 9, see `docs/security.md`):
//! limits with clear errors, data that must stay data, safe file names, broken
//! fonts and templates, a full disk, `kill -9` at seeded random points, and
//! logs free of personal data — through the library and the real binary.

mod common;

use common::{
    assert_same, inline, root, run_job, sample_copy, sample_job, snapshot, xlsx_with_sheet_data,
    xlsx_with_sheet_xml, Ran,
};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chohyo::input::{read_sheet, read_sheet_bytes, HeaderRow};
use chohyo::job::Job;
use chohyo::run::{self, Assets, RenderFailure};

fn zaishoku_job() -> PathBuf {
    sample_job("zaishoku")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A committed file of the repository (`rel` from its root), read; the test
/// fails naming it when it is missing.
fn read_committed(rel: impl AsRef<Path>) -> Vec<u8> {
    let p = root().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{} is committed: {e}", p.display()))
}

// ---------------------------------------------------------------------------
// Limits

/// A sparse file one byte over the limit (no disk space; nothing in it but
/// zeros): refused from its size, with the size limit in the error, not
/// read as a CSV of NUL bytes.
#[test]
fn an_input_over_200_mb_is_refused_before_reading() {
    let limit = chohyo::input::limits::MAX_INPUT_BYTES;
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("huge.csv");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(limit + 1).unwrap();
    let e = read_sheet(&p, None, 1).unwrap_err().to_string();
    assert!(
        e.contains("ファイルが大きすぎます") && e.contains("input file too large"),
        "{e}"
    );
    assert!(
        e.contains(&format!("{} bytes, limit {limit} bytes", limit + 1))
            && e.contains(&format!("上限 {} MB", limit / (1024 * 1024))),
        "the size and the limit: {e}"
    );
    assert!(e.contains("huge.csv"), "{e}");
}

/// An xlsx whose one sheet inflates from a few hundred kB to 300 MB.
fn zip_bomb_xlsx() -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    w.start_file("[Content_Types].xml", o).unwrap();
    w.write_all(b"<Types/>").unwrap();
    w.start_file("xl/worksheets/sheet1.xml", o).unwrap();
    let chunk = vec![b' '; 1024 * 1024];
    for _ in 0..300 {
        w.write_all(&chunk).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Refused from the zip's central directory, before anything is inflated:
/// the bomb's compressed sheet is overwritten with bytes that cannot be
/// inflated at all, and the refusal is still the zip bomb's, with the
/// ratio limit.
#[test]
fn a_zip_bomb_workbook_is_refused_quickly() {
    let mut bomb = zip_bomb_xlsx();
    assert!(bomb.len() < 2 * 1024 * 1024, "{}", bomb.len());
    let sheet = "xl/worksheets/sheet1.xml";
    let (start, len) = {
        let mut a = zip::ZipArchive::new(std::io::Cursor::new(&bomb)).unwrap();
        let f = a.by_name_raw(sheet.as_bytes()).unwrap();
        (
            f.data_start().unwrap() as usize,
            f.compressed_size() as usize,
        )
    };
    // 0xFF opens a deflate block of the reserved type 3: invalid at once.
    bomb[start..start + len].fill(0xFF);
    let mut a = zip::ZipArchive::new(std::io::Cursor::new(&bomb)).unwrap();
    let inflated = a.by_name(sheet).unwrap().read_to_end(&mut Vec::new());
    assert!(inflated.is_err(), "the sheet can no longer be inflated");
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("bomb.xlsx");
    std::fs::write(&p, &bomb).unwrap();
    let e = read_sheet(&p, None, 1).unwrap_err().to_string();
    assert!(
        e.contains("zip 爆弾の疑い") && e.contains("sheet1.xml"),
        "{e}"
    );
    assert!(
        e.contains(&format!("limit {}:1", chohyo::input::limits::MAX_ZIP_RATIO)),
        "{e}"
    );
}

#[test]
fn a_cell_over_32767_characters_is_refused_naming_row_and_column() {
    let csv = format!(
        "氏名,備考\n見本 太郎,短い\n見本 花子,{}\n",
        "あ".repeat(40_000)
    );
    let e = read_sheet_bytes(
        Path::new("long.csv"),
        csv.as_bytes(),
        None,
        &HeaderRow::At(1),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("3 行目 B 列") && e.contains("32767"), "{e}");
    assert!(
        !e.contains("ああ") && !e.contains("花子"),
        "no cell values: {e}"
    );
    // At the limit it is read.
    let csv = format!("氏名\n{}\n", "あ".repeat(32_767));
    read_sheet_bytes(Path::new("ok.csv"), csv.as_bytes(), None, &HeaderRow::At(1)).unwrap();
}

#[test]
fn more_than_a_million_rows_is_refused() {
    let mut csv = String::from("番号\n");
    for i in 0..=chohyo::input::limits::MAX_ROWS {
        csv.push_str(&(i % 10).to_string());
        csv.push('\n');
    }
    let e = read_sheet_bytes(
        Path::new("rows.csv"),
        csv.as_bytes(),
        None,
        &HeaderRow::At(1),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("too many rows"), "{e}");
}

#[test]
fn markup_nesting_and_page_count_are_bounded() {
    let deep = format!(
        "<form><page><text x=\"1mm\" y=\"1mm\">{}a{}</text></page></form>",
        "<b>".repeat(100),
        "</b>".repeat(100)
    );
    let e = chohyo::render::form::parse(&deep).unwrap_err().to_string();
    assert!(e.contains("nesting too deep"), "{e}");
    // The exact limit: 32 inline elements inside a <text> parse, 33 do not.
    let nested = |n: usize| {
        format!(
            "<form><page><text x=\"1mm\" y=\"1mm\">{}a{}</text></page></form>",
            "<b>".repeat(n),
            "</b>".repeat(n)
        )
    };
    let depth = chohyo::render::form::MAX_DEPTH;
    chohyo::render::form::parse(&nested(depth)).unwrap();
    let e = chohyo::render::form::parse(&nested(depth + 1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("nesting too deep"), "{e}");
    // More than 1,000,000 XML nodes is refused by the parser.
    let wide = format!(
        "<form><page><text x=\"1mm\" y=\"1mm\">{}</text></page></form>",
        "<br/>".repeat(1_000_000)
    );
    let e = chohyo::render::form::parse(&wide).unwrap_err().to_string();
    assert!(
        e.contains("malformed markup") && e.contains("nodes limit"),
        "{e}"
    );
    let page = "<page><text x=\"1mm\" y=\"1mm\">a</text></page>";
    let ok = format!(
        "<form>{}</form>",
        page.repeat(chohyo::render::form::MAX_PAGES)
    );
    assert_eq!(chohyo::render::form::parse(&ok).unwrap().pages.len(), 100);
    let many = format!(
        "<form>{}</form>",
        page.repeat(chohyo::render::form::MAX_PAGES + 1)
    );
    let e = chohyo::render::form::parse(&many).unwrap_err().to_string();
    assert!(e.contains("too many pages"), "{e}");
    // Entity expansion (billion laughs) needs a DTD, which is refused.
    let laughs = "<!DOCTYPE f [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><form><page><text x=\"1mm\" y=\"1mm\">&b;</text></page></form>";
    assert!(chohyo::render::form::parse(laughs).is_err());
}

#[test]
fn an_image_over_10000_px_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("wide.png");
    let f = std::fs::File::create(&p).unwrap();
    let mut enc = png::Encoder::new(f, chohyo::render::image::MAX_SIDE + 1, 1);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().unwrap();
    w.write_image_data(&vec![0u8; chohyo::render::image::MAX_SIDE as usize + 1])
        .unwrap();
    w.finish().unwrap();
    let mut set = chohyo::render::image::ImageSet::default();
    let e = set.load("wide", &p).unwrap_err().to_string();
    assert!(e.contains("image too large") && e.contains("wide"), "{e}");
}

/// A job of four records whose joined sheet gives each record a table of
/// one page-high row per joined row: record `B` has one row too many for
/// the page limit, `C` exactly the limit.
#[test]
fn a_record_whose_table_continues_past_the_page_limit_is_a_reject() {
    let limit = chohyo::render::layout::MAX_PAGES;
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    std::fs::write(dir.join("main.csv"), "番号\nA\nB\nC\nD\n").unwrap();
    let mut lines = String::from("番号,明細\n");
    for (id, n) in [("A", 2), ("B", limit + 1), ("C", limit), ("D", 1)] {
        for k in 1..=n {
            lines.push_str(&format!("{id},明細{id}{k:03}\n"));
        }
    }
    std::fs::write(dir.join("lines.csv"), lines).unwrap();
    // Rows of 250 mm from y = 20 mm: one row per A4 page.
    std::fs::write(
        dir.join("long.xml"),
        r#"<form size="A4"><page>
<text x="10mm" y="10mm">{{ id }}</text>
<table x="10mm" y="20mm" columns="60mm" row-height="250mm" overflow="continue">
{% for l in lines %}<row><cell>{{ l.item }}</cell></row>{% endfor %}
</table></page></form>
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("job.toml"),
        r#"[job]
name = "long"
title = "明細書"
record_id = "id"

[input]
file = "main.csv"

[[input.join]]
field = "lines"
file = "lines.csv"
key = "番号"

[[input.join.fields]]
name = "item"
column = "明細"
required = true

[template]
file = "long.xml"

[batch]
issue_date = "2025-04-01"

[[fields]]
name = "id"
column = "番号"
required = true
unique = true
"#,
    )
    .unwrap();
    let out = dir.join("out");
    let Ran { code, stderr, .. } = run_job(&dir.join("job.toml"), &out, &["-q"]);
    assert_eq!(code, 1, "exit 1: finished with rejects: {stderr}");
    let run = out.join("long/2025-04-01");
    // The one reject: row 3 (record B), E_TOO_MANY_PAGES naming the limit,
    // no record data in the reason.
    let rejects = common::read_rejects(&run.join("rejects.csv"));
    assert_eq!(rejects.len(), 1, "{rejects:?}");
    let r = &rejects[0];
    assert_eq!((&r[0], &r[2], &r[5]), ("main.csv", "3", "E_TOO_MANY_PAGES"));
    assert!(
        r[6].contains(&format!("上限 {limit} ページ")) && r[6].contains("too many pages"),
        "{}",
        &r[6]
    );
    assert!(
        !r[6].contains("明細B"),
        "record data in the reason: {}",
        &r[6]
    );
    // The others render, C with exactly the limit.
    let mut pages = common::manifest_by_record(&run, "pages");
    pages.sort();
    assert_eq!(
        pages,
        [("A".into(), 2), ("C".into(), limit as u64), ("D".into(), 1)]
    );
    common::qpdf_check(&run.join("docs/C.pdf"));
    assert!(!run.join("docs/B.pdf").exists());
}

/// A grayscale PNG of `w` × `h` px at `p`; with `pixels` false only the
/// header (IHDR) is written: enough for the size check, which comes first.
fn png_file(p: &Path, w: u32, h: u32, pixels: bool) {
    let f = std::fs::File::create(p).unwrap();
    let mut enc = png::Encoder::new(f, w, h);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().unwrap();
    if pixels {
        writer
            .write_image_data(&vec![0u8; w as usize * h as usize])
            .unwrap();
        writer.finish().unwrap();
    }
    // Otherwise dropping the writer ends the file after the header.
}

#[test]
fn image_height_and_decoded_size_are_bounded() {
    use chohyo::render::image::{
        MAX_DECODED_BYTES as MAX_IMAGE_DECODED_BYTES, MAX_SIDE as MAX_IMAGE_SIDE,
    };
    let t = tempfile::tempdir().unwrap();
    let load = |name: &str| {
        let mut set = chohyo::render::image::ImageSet::default();
        set.load(name, &t.path().join(name))
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    // Exactly the limit on a side loads; one more pixel, either way, does not.
    png_file(&t.path().join("edge.png"), MAX_IMAGE_SIDE, 1, true);
    png_file(&t.path().join("tall-edge.png"), 1, MAX_IMAGE_SIDE, true);
    load("edge.png").unwrap();
    load("tall-edge.png").unwrap();
    png_file(&t.path().join("tall.png"), 1, MAX_IMAGE_SIDE + 1, false);
    let e = load("tall.png").unwrap_err();
    assert!(
        e.contains("image too large: 1×10001 px") && e.contains("tall"),
        "{e}"
    );
    // Within the side limit but over 100 MB decoded (RGBA worst case:
    // 5121 × 5121 × 4 bytes): refused from the header, nothing allocated.
    let side = ((MAX_IMAGE_DECODED_BYTES / 4) as f64).sqrt() as u32 + 1;
    assert!(side <= MAX_IMAGE_SIDE);
    png_file(&t.path().join("big.png"), side, side, false);
    let e = load("big.png").unwrap_err();
    assert!(
        e.contains("bytes decoded") && e.contains(&MAX_IMAGE_DECODED_BYTES.to_string()),
        "{e}"
    );
}

// ---------------------------------------------------------------------------
// Data is data

#[test]
fn markup_and_template_syntax_in_data_render_literally() {
    let job = Job::load(&zaishoku_job()).unwrap();
    let assets = Assets::load(&job, None).unwrap();
    let checked = run::read_and_check(&job, None, None).unwrap();
    let base = checked.records[0].clone();
    for hostile in [
        "{{ 7*7 }}",
        "{% raw %}x",
        "<text>",
        "</form>",
        "&lt;",
        "&amp;gt;",
        "]]>",
        "<!--",
    ] {
        let mut rec = base.clone();
        rec.fields
            .insert("name".into(), serde_json::Value::String(hostile.into()));
        let (pdf, pages, _) = run::render_record(&job, &assets, &rec, 101)
            .unwrap_or_else(|e| panic!("{hostile}: {e:?}"));
        assert_eq!(pages, 1, "{hostile}");
        let text = common::pdftotext_bytes(&pdf);
        assert!(
            text.contains(hostile),
            "{hostile:?} not rendered literally:\n{text}"
        );
    }
    // 10,000 characters: rendered (shrunk/wrapped) or a data reject, never
    // a template failure or a crash.
    let mut rec = base.clone();
    rec.fields.insert(
        "name".into(),
        serde_json::Value::String("見".repeat(10_000)),
    );
    match run::render_record(&job, &assets, &rec, 101) {
        Ok((pdf, _, _)) => assert!(common::pdftotext_bytes(&pdf).contains("見見見見")),
        Err(RenderFailure::Data(_)) => {}
        Err(e) => panic!("10,000 characters: {e:?}"),
    }
}

#[test]
fn templates_cannot_read_files_or_the_environment() {
    use chohyo::render::template::Template;
    let ctx = serde_json::json!({});
    for text in [
        "{% include \"/etc/passwd\" %}",
        "{% include \"../../Cargo.toml\" %}",
        "{% import \"/etc/passwd\" as m %}{{ m::x() }}",
        "{% extends \"/etc/passwd\" %}",
        "{{ get_env(name=\"HOME\") }}",
    ] {
        let result = Template::from_str(Path::new("t.xml"), text).and_then(|t| t.render(&ctx));
        match result {
            Err(_) => {}
            Ok(out) => panic!("{text} rendered: {out}"),
        }
    }
}

// ---------------------------------------------------------------------------
// File names

#[test]
fn colliding_file_names_get_suffixes_and_nothing_is_overwritten() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    // Every document named after the 性別 column: two names for 47 records.
    let job = job_copy(dir, |j| {
        j.replace(
            "file_name = \"{request_id}.pdf\"",
            "file_name = \"{sex}.pdf\"",
        )
    });
    let out = dir.join("out");
    let Ran { code, stderr, .. } = run_job(&job, &out, &["-q"]);
    assert!(code == 0 || code == 1, "{code}: {stderr}");
    let m = common::read_json(&out.join("zaishoku/2025-04-01/manifest.json"));
    let docs = m["documents"].as_array().unwrap();
    assert!(docs.len() > 10);
    let files: std::collections::BTreeSet<String> = docs
        .iter()
        .map(|d| d["file"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(files.len(), docs.len(), "two documents share a file name");
    assert!(
        files.contains("docs/男.pdf") || files.contains("男.pdf"),
        "{files:?}"
    );
    assert!(files.iter().any(|f| f.ends_with("男-2.pdf")), "{files:?}");
    let on_disk = std::fs::read_dir(out.join("zaishoku/2025-04-01/docs"))
        .unwrap()
        .count();
    assert_eq!(on_disk, docs.len());
}

// ---------------------------------------------------------------------------
// Faults

/// A copy of the zaishoku sample job in `dir` with `edit` applied to its
/// text; `edit` must change it.
fn job_copy(dir: &Path, edit: impl FnOnce(String) -> String) -> PathBuf {
    sample_copy("zaishoku", dir, |text| {
        let edited = edit(text.clone());
        assert_ne!(edited, text, "the edit applies to the sample job");
        edited
    })
}

/// Fails fast: before the batch is planned or anything rendered (no
/// `plan.json`, no journal, no `docs/`).
#[test]
fn a_broken_font_fails_fast_naming_the_path() {
    let t = tempfile::tempdir().unwrap();
    let bad = t.path().join("broken-font.ttf");
    std::fs::write(&bad, b"this is not a font").unwrap();
    let missing = t.path().join("missing-font.ttf");
    let run_dir = t.path().join("out/zaishoku/2025-04-01");
    for font in [&bad, &missing, &t.path().to_path_buf()] {
        let job = job_copy(t.path(), |j| {
            format!("{j}\n[fonts]\nmincho = [\"{}\"]\n", s(font))
        });
        let Ran { code, stderr, .. } = run_job(&job, &t.path().join("out"), &["-q"]);
        assert_eq!(code, 2, "{font:?}: {stderr}");
        assert!(stderr.contains(s(font)), "{font:?}: {stderr}");
        for f in ["plan.json", "journal.jsonl", "docs"] {
            assert!(!run_dir.join(f).exists(), "{font:?}: {f} written");
        }
    }
}

#[test]
fn a_broken_template_fails_fast_naming_the_path() {
    let t = tempfile::tempdir().unwrap();
    let dir_as_file = t.path().join("template-is-a-dir.xml");
    std::fs::create_dir(&dir_as_file).unwrap();
    let not_utf8 = t.path().join("latin1.xml");
    std::fs::write(&not_utf8, b"<form>\xff\xfe</form>").unwrap();
    let bad_syntax = t.path().join("syntax.xml");
    std::fs::write(&bad_syntax, "<form>{% if %}</form>").unwrap();
    for tpl in [
        &dir_as_file,
        &not_utf8,
        &bad_syntax,
        &t.path().join("nope.xml"),
    ] {
        let job = job_copy(t.path(), |j| {
            j.replace(
                &format!("{}/zaishoku.xml", root().join("templates").display()),
                s(tpl),
            )
        });
        let Ran { code, stderr, .. } = run_job(&job, &t.path().join("out"), &["-q"]);
        assert_eq!(code, 2, "{tpl:?}: {stderr}");
        assert!(stderr.contains(s(tpl)), "{tpl:?}: {stderr}");
    }
}

/// A tmpfs mounted for the life of the value.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` on `dir`; the test fails if it cannot (it
    /// needs root, or CAP_SYS_ADMIN in a container).
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let o = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                s(dir),
            ])
            .output()
            .expect("mount (util-linux) must be installed");
        assert!(
            o.status.success(),
            "cannot mount a {size} tmpfs on {} to fill the disk: the test needs root \
             (CAP_SYS_ADMIN): {}",
            dir.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        Tmpfs(dir.to_path_buf())
    }

    fn resize(&self, size: &str) {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,size={size}"), s(&self.0)])
            .status()
            .unwrap();
        assert!(st.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn disk_full_gives_exit_3_no_truncated_pdf_and_resumes() {
    let t = tempfile::tempdir().unwrap();
    let reference = t.path().join("ref");
    let Ran { code, stderr, .. } = run_job(&zaishoku_job(), &reference, &["-q"]);
    assert_eq!(code, 1, "{stderr}");
    let want = snapshot(&reference.join("zaishoku/2025-04-01"));
    // One thread renders on the reading thread, more use a reader thread:
    // both must stop cleanly on the write error.
    for threads in ["1", "2"] {
        let fs = Tmpfs::mount(&t.path().join(format!("small-{threads}")), "1m");
        let out = fs.0.clone();
        let run = |out: &Path| run_job(&zaishoku_job(), out, &["-q", "--threads", threads]);
        let Ran { code, stderr, .. } = run(&out);
        assert_eq!(
            code, 3,
            "threads {threads}: disk full must exit 3: {stderr}"
        );
        assert!(
            stderr.contains("No space left") || stderr.contains("容量"),
            "threads {threads}: {stderr}"
        );
        assert!(
            !stderr.contains("rendering stopped"),
            "threads {threads}: the write error is the one reported: {stderr}"
        );
        let docs = out.join("zaishoku/2025-04-01/docs");
        let mut written = 0;
        if docs.exists() {
            for e in std::fs::read_dir(&docs).unwrap() {
                let p = e.unwrap().path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                if name.ends_with(".pdf") && !name.starts_with('.') {
                    // A truncated final PDF fails qpdf --check.
                    common::qpdf_check(&p);
                    written += 1;
                }
            }
        }
        eprintln!("threads {threads}: disk full after {written} final PDFs");
        assert!(
            written < 47,
            "threads {threads}: the disk was not full ({written} PDFs)"
        );
        fs.resize("64m");
        let Ran { code, stderr, .. } = run(&out);
        assert_eq!(
            code, 1,
            "threads {threads}: resume after freeing space: {stderr}"
        );
        let got = snapshot(&out.join("zaishoku/2025-04-01"));
        assert_same(&want, &got, &format!("threads {threads}: after disk full"));
    }
}

#[test]
fn twenty_seeded_kill_9_trials_always_resume_to_identical_output() {
    let t = tempfile::tempdir().unwrap();
    let reference = t.path().join("ref");
    // The length of a full run spreads the kills over it (a measurement
    // that places the kills, not a check).
    let start = Instant::now();
    let Ran { code, stderr, .. } = run_job(&zaishoku_job(), &reference, &["-q"]);
    assert_eq!(code, 1, "{stderr}");
    let full_ms = start.elapsed().as_millis().max(20) as u64;
    let want = snapshot(&reference.join("zaishoku/2025-04-01"));
    // A fixed-seed linear congruential generator: the same delays every run.
    let mut state: u64 = 0x5eed_c0de;
    let mut interrupted = 0;
    // At least 20 trials; more (up to 40, same seeded delays) when a loaded
    // machine let too many runs finish before their kill.
    let mut trials = 0;
    for trial in 0..40 {
        if trial >= 20 && interrupted >= 10 {
            break;
        }
        trials += 1;
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay_ms = (state >> 33) % full_ms;
        let out = t.path().join(format!("t{trial}"));
        let mut child = common::chohyo()
            .args([
                "run",
                s(&zaishoku_job()),
                "--out",
                s(&out),
                "-q",
                "--threads",
                "2",
            ])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            interrupted += 1;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let Ran { code, stderr, .. } = run_job(&zaishoku_job(), &out, &["-q"]);
        assert!(
            code == 0 || code == 1,
            "trial {trial}: exit {code}: {stderr}"
        );
        let got = snapshot(&out.join("zaishoku/2025-04-01"));
        assert_same(
            &want,
            &got,
            &format!("trial {trial}, kill after {delay_ms} ms"),
        );
        std::fs::remove_dir_all(&out).unwrap();
    }
    eprintln!("kill -9: {interrupted} of {trials} runs interrupted (full run {full_ms} ms)");
    assert!(
        interrupted >= 10,
        "only {interrupted} of {trials} runs interrupted"
    );
}

// ---------------------------------------------------------------------------
// Personal data

/// Headers whose column holds personal data.
const PERSONAL: [&str; 8] = [
    "氏名",
    "名前",
    "フリガナ",
    "カナ",
    "生年月日",
    "郵便",
    "住所",
    "宛名",
];

/// Every personal value of a workbook's first sheet, read with calamine.
fn personal_values(xlsx: &Path) -> Vec<String> {
    use calamine::{open_workbook_auto, Data, Reader};
    let mut book = open_workbook_auto(xlsx).unwrap();
    let mut out = Vec::new();
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).unwrap();
        let mut personal_cols: Vec<usize> = Vec::new();
        for row in range.rows() {
            if personal_cols.is_empty() {
                personal_cols = row
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| {
                        let h = c.to_string();
                        PERSONAL.iter().any(|p| h.contains(p))
                    })
                    .map(|(i, _)| i)
                    .collect();
                continue;
            }
            for &i in &personal_cols {
                let Some(c) = row.get(i) else { continue };
                match c {
                    Data::DateTime(d) => {
                        if let Some(dt) = chohyo::input::serial_to_date(d.as_f64(), false) {
                            out.push(dt.format("%Y-%m-%d").to_string());
                            out.push(dt.format("%Y/%-m/%-d").to_string());
                        }
                    }
                    Data::Empty => {}
                    other => out.push(other.to_string()),
                }
            }
        }
    }
    out.retain(|v| v.trim().chars().count() >= 4);
    out
}

#[test]
fn no_personal_data_in_logs_stderr_report_or_summary_of_any_sample() {
    let mut checked = 0;
    let t = tempfile::tempdir().unwrap();
    let mut samples: Vec<PathBuf> = std::fs::read_dir(root().join("samples"))
        .unwrap()
        .map(|e| e.unwrap().path().join("job.toml"))
        .filter(|p| p.exists())
        .collect();
    samples.sort();
    assert!(samples.len() >= 5);
    for job_path in &samples {
        let job = Job::load(job_path).unwrap();
        let out = t.path().join(&job.job.name);
        let Ran { stderr, .. } = run_job(job_path, &out, &["-v"]);
        let run_dir = out.join(&job.job.name).join(&job.batch.issue_date);
        let mut hay = vec![("stderr".to_string(), stderr)];
        for f in ["run.log", "report.html", "summary.json"] {
            let text = std::fs::read_to_string(run_dir.join(f))
                .unwrap_or_else(|e| panic!("{job_path:?} {f}: {e}"));
            hay.push((f.to_string(), text));
        }
        let values = personal_values(&job.input.file);
        assert!(!values.is_empty(), "{job_path:?}: no personal values found");
        for v in &values {
            for (name, text) in &hay {
                assert!(
                    !text.contains(v.as_str()),
                    "{}: a personal value appears in {name}",
                    job.job.name
                );
            }
            checked += 1;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mut rejects = 0;
            for e in std::fs::read_dir(&run_dir).unwrap() {
                let p = e.unwrap().path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                if name.starts_with("rejects") {
                    let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
                    assert_eq!(mode, 0o600, "{}: {name}", job.job.name);
                    rejects += 1;
                }
            }
            assert!(rejects >= 1, "{}: no rejects file", job.job.name);
        }
    }
    eprintln!(
        "{checked} personal values checked in {} samples",
        samples.len()
    );
    assert!(checked > 300, "{checked}");
}

/// A record whose own file name equals the suffixed name of an earlier
/// collision (`x.pdf`, `x.pdf` → `x-2.pdf`, then a record named `x-2`) must
/// not overwrite it: the plan gives it the next free name.
#[test]
fn a_suffixed_name_never_collides_with_a_later_records_name() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let bytes = read_committed("samples/zaishoku/requests_cp932.csv");
    let (text, _, _) = encoding_rs::SHIFT_JIS.decode(&bytes);
    let mut lines = text.lines();
    let mut csv = format!("{}\n", lines.next().unwrap());
    for (line, name) in lines.zip(["見本 一", "見本 一", "見本 一-2"]) {
        let mut cols: Vec<&str> = line.split(',').collect();
        cols[1] = name;
        csv.push_str(&cols.join(","));
        csv.push('\n');
    }
    std::fs::write(dir.join("three.csv"), csv).unwrap();
    let job = job_copy(dir, |j| {
        j.replace(
            "file_name = \"{request_id}.pdf\"",
            "file_name = \"{name}.pdf\"",
        )
    });
    let out = dir.join("out");
    let Ran { code, stderr, .. } =
        run_job(&job, &out, &["-q", "--input", s(&dir.join("three.csv"))]);
    assert_eq!(code, 0, "{stderr}");
    let on_disk = std::fs::read_dir(out.join("zaishoku/2025-04-01/docs"))
        .unwrap()
        .count();
    assert_eq!(on_disk, 3, "a document was overwritten");
}

// ---------------------------------------------------------------------------
// Smoke fuzzing (deterministic, in CI; the real fuzzing is in `fuzz/`)

/// Deterministic byte mutations of a seed: flip, insert, delete, duplicate.
fn mutate(seed: &[u8], state: &mut u64) -> Vec<u8> {
    let mut next = || {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*state >> 33) as usize
    };
    let mut v = seed.to_vec();
    for _ in 0..1 + next() % 8 {
        let at = if v.is_empty() { 0 } else { next() % v.len() };
        match next() % 5 {
            0 if !v.is_empty() => v[at] ^= 1 << (next() % 8),
            1 => v.insert(at, next() as u8),
            2 if !v.is_empty() => {
                v.remove(at);
            }
            3 if !v.is_empty() => {
                let end = (at + 1 + next() % 16).min(v.len());
                let piece = v[at..end].to_vec();
                v.splice(at..at, piece);
            }
            _ => v.insert(at, b"<>{}&;,\"\n\r\x00\xff"[next() % 12]),
        }
    }
    v
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = root().join("fuzz/seeds").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{} is committed: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// Mutated inputs per target: the same inputs on every machine, however
/// fast it is.
const SMOKE_INPUTS_PER_TARGET: usize = 3000;

#[test]
fn smoke_fuzz_the_parsers_with_seeded_mutations() {
    let postal = chohyo::japan::postal::PostalData::embedded().unwrap();
    let mut state = 9u64;
    for target in [
        "form_parse",
        "date_parse",
        "address_barcode",
        "csv_reader",
        "job_parse",
        "workbook",
    ] {
        let seeds = seeds(target);
        assert!(!seeds.is_empty(), "{target}");
        for i in 0..SMOKE_INPUTS_PER_TARGET {
            let input = mutate(&seeds[i % seeds.len()], &mut state);
            let text = String::from_utf8_lossy(&input);
            match target {
                "form_parse" => drop(chohyo::render::form::parse(&text)),
                "date_parse" => drop(chohyo::japan::era::parse_date(&text)),
                "address_barcode" => {
                    let (p, a) = text.split_once('\n').unwrap_or(("100-0001", &text));
                    drop(chohyo::japan::barcode::address_number(a));
                    drop(postal.customer_barcode(p, a));
                }
                "job_parse" => drop(Job::parse(Path::new("/nonexistent/job.toml"), &text)),
                _ => drop(read_sheet_bytes(
                    Path::new("smoke"),
                    &input,
                    None,
                    &HeaderRow::At(1),
                )),
            }
        }
    }
}

/// Found by probing the workbook reader: one extra cell at `XFD1048576` in a
/// 20 kB xlsx made calamine allocate 512 GB (abort). Now refused first.
#[test]
fn a_workbook_spanning_a_huge_sparse_range_is_refused_with_bounded_memory() {
    let src = read_committed("samples/zaishoku/requests.xlsx");
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(&src)).unwrap();
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut data).unwrap();
        if name == "xl/worksheets/sheet1.xml" {
            let s = String::from_utf8(data).unwrap().replace(
                "</sheetData>",
                "<row r=\"1048576\"><c r=\"XFD1048576\"><v>1</v></c></row></sheetData>",
            );
            data = s.into_bytes();
        }
        w.start_file(name, o).unwrap();
        w.write_all(&data).unwrap();
    }
    let bytes = w.finish().unwrap().into_inner();
    let e = read_sheet_bytes(Path::new("sparse.xlsx"), &bytes, None, &HeaderRow::At(2))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("シートの範囲が広すぎます") && e.contains("16384"),
        "{e}"
    );
}

/// The upstream report's `.xls` cases (`docs/upstream/calamine-cfb-panic.md`),
/// as committed in `fuzz/regressions/workbook/` (how they are built:
/// `cfb_check::tests::case`, which checks the files against it).
fn corrupt_xls(case: &str) -> Vec<u8> {
    read_committed(format!("fuzz/regressions/workbook/calamine-cfb-{case}"))
}

/// The errors of reading `bytes` as the file `name` (in `dir`) both ways:
/// from the file (read by position) and from bytes.
fn errors_from_file_and_bytes(dir: &Path, name: &str, bytes: &[u8]) -> [String; 2] {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    [
        read_sheet(&p, None, 1).unwrap_err().to_string(),
        read_sheet_bytes(&p, bytes, None, &HeaderRow::At(1))
            .unwrap_err()
            .to_string(),
    ]
}

/// Run by [`a_looping_xls_sector_chain_is_refused_under_a_memory_cap`] in a
/// child process whose address space is capped.
#[test]
#[ignore = "run in a child process by a_looping_xls_sector_chain_is_refused_under_a_memory_cap"]
fn child_reads_the_corrupt_xls_cases() {
    let t = tempfile::tempdir().unwrap();
    for case in ["cycle", "index", "fat"] {
        for e in errors_from_file_and_bytes(t.path(), &format!("{case}.xls"), &corrupt_xls(case)) {
            assert!(
                e.contains("xls ファイルの構造が壊れています")
                    && e.contains("corrupt .xls compound file")
                    && e.contains(&format!("{case}.xls")),
                "{case}: {e}"
            );
            if case == "cycle" {
                assert!(e.contains("sector chain loops"), "{e}");
            }
        }
    }
}

/// How long the child of [`run_under_memory_cap`] may run before it is
/// taken for hung, stopped, and the test failed. A watchdog, not a speed
/// check: the child's reads take well under a second.
const CHILD_WATCHDOG_SECONDS: u32 = 300;

/// Runs the test `name` of this binary again, alone, in a child process
/// whose address space is capped at 1 GB (`ulimit -v`). A test re-running
/// itself passes a `marker` variable: the child gets it set and returns
/// here at once (the `return` below is the child's way back, not a skip).
/// A check that regresses makes the child abort, not the test binary or
/// the machine. Fails unless the child's test passed; a child still running
/// after [`CHILD_WATCHDOG_SECONDS`] is stopped (coreutils' `timeout`) and
/// the test fails.
fn run_under_memory_cap(name: &str, marker: Option<&str>) {
    if marker.is_some_and(|m| std::env::var_os(m).is_some()) {
        return;
    }
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "ulimit -v 1048576 && exec timeout {CHILD_WATCHDOG_SECONDS} \"$0\" --exact \"$1\" --include-ignored --test-threads=1"
        ))
        .arg(std::env::current_exe().unwrap())
        .arg(name);
    if let Some(m) = marker {
        cmd.env(m, "1");
    }
    let o = cmd.output().expect("run the child test");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_ne!(
        o.status.code(),
        Some(124),
        "{name}: the child was still running after {CHILD_WATCHDOG_SECONDS} s and was stopped (a hang)\n{out}"
    );
    assert!(
        o.status.success() && out.contains("1 passed"),
        "{name} under a 1 GB cap: {:?}\n{out}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
}

/// calamine 0.38 follows a directory chain that loops (sector 1 → 1) with no
/// bound and aborts when memory runs out; the compound file check refuses it
/// first. The reading runs in a child under `ulimit -v` (1 GB), so the test
/// fails rather than exhausting the machine if the check ever regresses.
#[test]
fn a_looping_xls_sector_chain_is_refused_under_a_memory_cap() {
    run_under_memory_cap("child_reads_the_corrupt_xls_cases", None);
}

/// Run by [`an_xls_whose_cells_span_a_huge_grid_is_refused_under_a_memory_cap`]
/// in a child process whose address space is capped.
#[test]
#[ignore = "run in a child process by an_xls_whose_cells_span_a_huge_grid_is_refused_under_a_memory_cap"]
fn child_reads_the_xls_dense_grid_case() {
    let src = read_committed("fuzz/regressions/workbook/calamine-xls-dense-grid-oom");
    let t = tempfile::tempdir().unwrap();
    for e in errors_from_file_and_bytes(t.path(), "grid.xls", &src) {
        assert!(
            e.contains("grid.xls")
                && e.contains("シート「職員」")
                && e.contains("シートの範囲が広すぎます")
                && e.contains("sheet spans 65283 rows × 64512 columns, limit 20000000 cells"),
            "{e}"
        );
    }
}

/// A 10 kB `.xls` found by the `workbook` fuzz target: one cell record far
/// out made calamine's `Xls::new` allocate a dense grid of 65,283 × 64,512
/// cells (134 GB) and the process aborted. The sheet-size check
/// (`src/xls_check.rs`) refuses it before calamine opens the file; the
/// reading runs in a child under `ulimit -v` (1 GB), so the test fails
/// rather than exhausting the machine if the check ever regresses.
#[test]
fn an_xls_whose_cells_span_a_huge_grid_is_refused_under_a_memory_cap() {
    run_under_memory_cap("child_reads_the_xls_dense_grid_case", None);
}

/// One cell far to the right would make every row that wide: refused,
/// naming the column (ZZZZ is the 475,254th) and the limit.
#[test]
fn a_cell_beyond_column_xfd_is_refused() {
    let data = format!(
        r#"<row r="1">{}{}</row><row r="2">{}</row>"#,
        inline("A1", "氏名"),
        inline("B1", "住所"),
        inline("ZZZZ2", "x")
    );
    let bytes = xlsx_with_sheet_data(&data);
    let e = read_sheet_bytes(Path::new("wide.xlsx"), &bytes, None, &HeaderRow::At(1))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("列が多すぎます") && e.contains("limit 16384"),
        "{e}"
    );
    assert!(e.contains("a cell in column 475254,"), "{e}");
    // Column XFD itself is allowed (and a header-less cell there is the
    // usual "value in a column without header" error, not a limit).
    let data = format!(
        r#"<row r="1">{}</row><row r="2">{}</row>"#,
        inline("A1", "氏名"),
        inline("XFD2", "x")
    );
    let e = read_sheet_bytes(
        Path::new("wide.xlsx"),
        &xlsx_with_sheet_data(&data),
        None,
        &HeaderRow::At(1),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("XFD") && e.contains("without header"), "{e}");
}

/// Cells written out of row order (some writers do) cannot be streamed row
/// by row: the sheet is read whole instead, with the same rows.
#[test]
fn cells_out_of_order_are_read_whole_with_the_same_rows() {
    let ordered = format!(
        r#"<row r="1">{}{}</row><row r="2">{}{}</row><row r="3">{}{}</row>"#,
        inline("A1", "氏名"),
        inline("B1", "住所"),
        inline("A2", "見本 太郎"),
        inline("B2", "見本町1"),
        inline("A3", "見本 花子"),
        inline("B3", "見本町2"),
    );
    let shuffled = format!(
        r#"<row r="3">{}{}</row><row r="1">{}{}</row><row r="2">{}{}</row>"#,
        inline("B3", "見本町2"),
        inline("A3", "見本 花子"),
        inline("A1", "氏名"),
        inline("B1", "住所"),
        inline("A2", "見本 太郎"),
        inline("B2", "見本町1"),
    );
    let read = |data: &str| {
        read_sheet_bytes(
            Path::new("order.xlsx"),
            &xlsx_with_sheet_data(data),
            None,
            &HeaderRow::At(1),
        )
        .unwrap()
    };
    let a = read(&ordered);
    let b = read(&shuffled);
    assert_eq!(a.headers, ["氏名", "住所"]);
    assert_eq!(a.rows.len(), 2);
    assert_eq!(a.rows, b.rows);
    assert_eq!(a.rows[1].number, 3);
}

/// Found by the `workbook_xml` fuzz target: a cell reference that overflows
/// calamine's column arithmetic (a panic where overflow checks are on, as in
/// the test and fuzz builds). It is an error naming the file, not a crash.
#[test]
fn a_cell_reference_that_overflows_calamine_is_an_error() {
    let sheet = read_committed("fuzz/regressions/workbook_xml/calamine-cell-reference-overflow");
    let e = read_sheet_bytes(
        Path::new("overflow.xlsx"),
        &xlsx_with_sheet_xml(&sheet),
        None,
        &HeaderRow::At(1),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("overflow.xlsx"), "{e}");
}

/// Found by the `workbook_xml` fuzz target: a 400-byte `sharedStrings.xml`
/// declaring 444,444,444,444,444 strings. calamine reserved room for them
/// all when opening the workbook, the reservation failed and the process
/// aborted (not a panic: nothing to catch). It is refused before calamine
/// opens the file. Run in a child process under a memory cap, so that a
/// regression is an abort of the child, not of the test binary.
#[test]
fn a_shared_strings_count_beyond_its_part_is_refused_under_a_memory_cap() {
    run_under_memory_cap("child_reads_the_declared_string_count_case", None);
}

#[test]
#[ignore = "run by a_shared_strings_count_beyond_its_part_is_refused_under_a_memory_cap"]
fn child_reads_the_declared_string_count_case() {
    // The second declares 444,444,401 strings after mismatched end tags
    // (calamine reads on past them): 10.6 GB reserved. The third hides the
    // count behind a malformed attribute that calamine reads leniently.
    for case in [
        "calamine-sst-unique-count-reserve",
        "calamine-sst-unique-count-after-bad-xml",
        "calamine-sst-unique-count-lenient-attributes",
    ] {
        let input = read_committed(Path::new("fuzz/regressions/workbook_xml").join(case));
        // As the fuzz target builds it: after the leading `s`, the input is
        // the shared strings of an otherwise valid workbook.
        let strings = input.strip_prefix(b"s").unwrap();
        let sheet = br#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>"#;
        let book = add_zip_entry(&xlsx_with_sheet_xml(sheet), "xl/sharedStrings.xml", strings);
        let t = tempfile::tempdir().unwrap();
        for e in errors_from_file_and_bytes(t.path(), "strings.xlsx", &book) {
            assert!(
                e.contains("strings.xlsx")
                    && e.contains("共有文字列の数が不正です")
                    && e.contains("sharedStrings.xml declares"),
                "{case}: {e}"
            );
        }
    }
}

/// `zip` with one more entry.
fn add_zip_entry(zip_bytes: &[u8], name: &str, body: &[u8]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new_append(std::io::Cursor::new(zip_bytes.to_vec())).unwrap();
    w.start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    w.write_all(body).unwrap();
    w.finish().unwrap().into_inner()
}

/// The start of a `content.xml`, up to the table `爆弾`'s first row.
const ODS_CONTENT_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="爆弾">"#;

/// A minimal `.ods` whose only table is `table` (content.xml inner XML).
fn ods_with_table(table: &str) -> Vec<u8> {
    ods_with_content(&format!(
        "{ODS_CONTENT_HEAD}{table}</table:table></office:spreadsheet></office:body></office:document-content>"
    ))
}

/// A minimal `.ods` whose `content.xml` is `content`.
fn ods_with_content(content: &str) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file("mimetype", stored).unwrap();
    w.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    w.start_file("META-INF/manifest.xml", o).unwrap();
    w.write_all(
        br#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#,
    )
    .unwrap();
    w.start_file("content.xml", o).unwrap();
    w.write_all(content.as_bytes()).unwrap();
    w.finish().unwrap().into_inner()
}

/// Found while checking issue 9's known gap: repeated rows and columns make
/// a tiny `.ods` declare more cells than memory holds, and calamine expands
/// them while opening the workbook. Under a 4 GB address-space cap calamine
/// 0.38 aborted (`memory allocation of 4294967296 bytes failed`) on a 788-byte
/// file (6,000 rows × 16,384 values) and on an 8 kB one (10,000 rows of
/// 16,384 empty cells followed by one more cell). Now refused before
/// calamine opens the file.
#[test]
fn an_ods_repeating_cells_into_a_huge_sheet_is_refused_quickly_with_bounded_memory() {
    let value = r#"<table:table-cell office:value-type="float" office:value="1"/>"#;
    let bombs = [
        // A value repeated 16,384 times, in a row repeated 1,048,576 times.
        r#"<table:table-row table:number-rows-repeated="1048576"><table:table-cell office:value-type="string" office:string-value="x" table:number-columns-repeated="16384"/></table:table-row>"#
            .to_string(),
        // Under calamine's own cap of 100 million cells.
        r#"<table:table-row table:number-rows-repeated="6000"><table:table-cell office:value-type="float" office:value="1" table:number-columns-repeated="16384"/></table:table-row>"#
            .to_string(),
        // A1 and XFD1048576, empty rows between.
        format!(
            r#"<table:table-row>{value}</table:table-row><table:table-row table:number-rows-repeated="1048574"><table:table-cell/></table:table-row><table:table-row><table:table-cell table:number-columns-repeated="16383"/>{value}</table:table-row>"#
        ),
        // Empty cells that calamine keeps (a cell follows them), no grid.
        format!(
            "{}<table:table-row>{value}</table:table-row>",
            r#"<table:table-row><table:table-cell table:number-columns-repeated="16384"/><table:table-cell/></table:table-row>"#
                .repeat(10_000)
        ),
    ];
    for (i, table) in bombs.iter().enumerate() {
        let e = small_ods_refused(table, "bomb.ods", 10_000);
        assert!(
            e.contains("シートの範囲が広すぎます")
                && e.contains("limit 20000000 cells")
                && e.contains("bomb.ods")
                && e.contains("爆弾"),
            "{i}: {e}"
        );
        assert!(!e.contains("office:value"), "{e}");
    }
    // Bounded memory: the same read in a child process under a 1 GB
    // address-space cap (the test binary re-run on this test alone).
    run_under_memory_cap(
        "an_ods_repeating_cells_into_a_huge_sheet_is_refused_quickly_with_bounded_memory",
        Some("CHOHYO_ODS_BOMB_CHILD"),
    );
}

/// Writes a one-table `.ods` (`table`, the table's inner XML) of fewer than
/// `max_bytes` bytes as `file_name`, reads it, and returns the error it
/// must give (the callers read it again under a memory cap).
fn small_ods_refused(table: &str, file_name: &str, max_bytes: usize) -> String {
    let bytes = ods_with_table(table);
    assert!(
        bytes.len() < max_bytes,
        "{file_name}: {} bytes",
        bytes.len()
    );
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join(file_name);
    std::fs::write(&p, &bytes).unwrap();
    read_sheet(&p, None, 1).unwrap_err().to_string()
}

/// An ordinary `.ods` still reads, repeats included (the check counts, it
/// does not change what calamine reads).
#[test]
fn an_ods_with_repeats_within_the_limit_reads() {
    let table = r#"<table:table-row><table:table-cell office:value-type="string"><text:p>名前</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>点</text:p></table:table-cell><table:table-cell table:number-columns-repeated="16382"/></table:table-row><table:table-row table:number-rows-repeated="3"><table:table-cell office:value-type="string"><text:p>a</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="2"/><table:table-cell table:number-columns-repeated="16382"/></table:table-row><table:table-row table:number-rows-repeated="1048572"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>"#;
    let bytes = ods_with_table(table);
    let s = read_sheet_bytes(Path::new("ok.ods"), &bytes, None, &HeaderRow::At(1)).unwrap();
    assert_eq!(s.headers, ["名前", "点"]);
    assert_eq!(s.rows.len(), 3);
}

/// Text, not cells: calamine copies a cell's string into every cell its
/// repeats declare, and expands `<text:s text:c="N"/>` to N spaces. Two
/// files of about 1 kB: a 32,000-character string in 16,384 columns of a
/// row repeated 3 times (49,152 cells, far under the cell limit, but 1.5 GB
/// of text), and one cell of two billion spaces. Refused before calamine
/// opens them, under a 1 GB address-space cap.
#[test]
fn an_ods_whose_text_expands_past_the_limits_is_refused_with_bounded_memory() {
    let long = "x".repeat(32_000);
    let bombs = [
        (
            format!(
                r#"<table:table-row table:number-rows-repeated="3"><table:table-cell office:value-type="string" table:number-columns-repeated="16384"><text:p>{long}</text:p></table:table-cell></table:table-row>"#
            ),
            "シートの文字列が多すぎます",
        ),
        (
            r#"<table:table-row><table:table-cell office:value-type="float" office:value="1"/><table:table-cell office:value-type="string"><text:p>a<text:s text:c="2000000000"/></text:p></table:table-cell></table:table-row>"#
                .to_string(),
            "1 行目 B 列: セルの文字数が上限 32767 字を超えています (cell longer than 32767 characters)",
        ),
    ];
    for (i, (table, expected)) in bombs.iter().enumerate() {
        let e = small_ods_refused(table, "text-bomb.ods", 2_000);
        assert!(
            e.contains(expected) && e.contains("text-bomb.ods") && e.contains("爆弾"),
            "{i}: {e}"
        );
        assert!(!e.contains("xxx"), "{e}");
    }
    // Bounded memory: the same reads in a child process under a 1 GB
    // address-space cap (the test binary re-run on this test alone).
    run_under_memory_cap(
        "an_ods_whose_text_expands_past_the_limits_is_refused_with_bounded_memory",
        Some("CHOHYO_ODS_TEXT_BOMB_CHILD"),
    );
}

/// Found while bounding the `.ods` text: calamine 0.38 never returns on a
/// `content.xml` that ends inside a table (its table reader takes the end
/// of the XML for an ordinary event and spins). Now refused before
/// calamine opens the file; a hang fails this test after 20 s.
#[test]
fn a_truncated_ods_is_refused_instead_of_hanging() {
    // content.xml ends after the table's first row.
    let bytes = ods_with_content(&format!(
        r#"{ODS_CONTENT_HEAD}<table:table-row><table:table-cell office:value-type="float" office:value="1"/></table:table-row>"#
    ));
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("cut.ods");
    std::fs::write(&p, &bytes).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let q = p.clone();
    std::thread::spawn(move || {
        let _ = tx.send(
            read_sheet(&q, None, 1)
                .map(|_| ())
                .map_err(|e| e.to_string()),
        );
    });
    let e = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("reading a truncated .ods did not return")
        .unwrap_err();
    assert!(
        e.contains("cut.ods") && e.contains("爆弾") && e.contains("corrupt .ods"),
        "{e}"
    );
}
