//! Helpers shared by the integration tests: where the repository and the
//! binary are, running `chohyo`, reading what a run wrote, the external PDF
//! tools (poppler-utils, qpdf) and run-directory snapshots.
//!
//! A helper that needs a file of the repository or an external tool makes
//! the test fail, saying what is missing; none of them lets a test pass
//! without doing its checks.

// Each test binary includes this module and uses part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository's root folder (samples, templates and fixtures are found
/// from here).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `chohyo` executable built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_chohyo"))
}

/// The `job.toml` of the bundled sample `name` (`samples/<name>/job.toml`).
pub fn sample_job(name: &str) -> PathBuf {
    root().join("samples").join(name).join("job.toml")
}

/// A command for the `chohyo` executable, without arguments (for the tests
/// that pipe its input or kill it).
pub fn chohyo() -> Command {
    Command::new(bin())
}

/// What a finished run of `chohyo` gave.
#[derive(Debug)]
pub struct Ran {
    /// The exit code; -1 when the process was ended by a signal.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `chohyo` with `args` to the end and returns its exit code and
/// output. The test fails if the binary cannot be started or writes
/// anything but UTF-8.
pub fn run_chohyo<I, S>(args: I) -> Ran
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let o = chohyo().args(args).output().expect("run chohyo");
    Ran {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8(o.stdout).expect("chohyo's stdout is UTF-8"),
        stderr: String::from_utf8(o.stderr).expect("chohyo's stderr is UTF-8"),
    }
}

/// Runs `chohyo run <job> --out <out> <extra…>` (see [`run_chohyo`]).
pub fn run_job(job: &Path, out: &Path, extra: &[&str]) -> Ran {
    let mut args = vec![
        OsStr::new("run"),
        job.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    run_chohyo(args)
}

/// Runs `chohyo check <job> --rejects <rejects>` (see [`run_chohyo`]).
pub fn check_job(job: &Path, rejects: &Path) -> Ran {
    run_chohyo([
        OsStr::new("check"),
        job.as_os_str(),
        OsStr::new("--rejects"),
        rejects.as_os_str(),
    ])
}

/// Writes a copy of the bundled sample `sample` into `dir` and returns the
/// path of its `job.toml`: the sample's files are copied beside it, its
/// `../../templates` paths made absolute, and `edit` applied to the job's
/// text.
pub fn sample_copy(sample: &str, dir: &Path, edit: impl FnOnce(String) -> String) -> PathBuf {
    let from = root().join("samples").join(sample);
    for e in std::fs::read_dir(&from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let p = e.unwrap().path();
        if p.is_file() && p.file_name().is_some_and(|n| n != "job.toml") {
            std::fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
    let text = std::fs::read_to_string(sample_job(sample))
        .unwrap()
        .replace(
            "../../templates",
            root().join("templates").to_str().unwrap(),
        );
    let job = dir.join("job.toml");
    std::fs::write(&job, edit(text)).unwrap();
    job
}

/// The documents of a run directory (`<run_dir>/docs/*`), sorted by name.
pub fn docs(run_dir: &Path) -> Vec<PathBuf> {
    let dir = run_dir.join("docs");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// One field of every document a run directory's `manifest.json` lists,
/// with its record id, in the manifest's order (`field` is a number:
/// `number`, `pages`, `bytes`).
#[allow(dead_code)]
pub fn manifest_by_record(run_dir: &Path, field: &str) -> Vec<(String, u64)> {
    read_json(&run_dir.join("manifest.json"))["documents"]
        .as_array()
        .expect("manifest.json lists documents")
        .iter()
        .map(|d| {
            (
                d["record_id"].as_str().unwrap().to_string(),
                d[field].as_u64().unwrap(),
            )
        })
        .collect()
}

/// A JSON file (`manifest.json`, `summary.json`, …) read and parsed.
pub fn read_json(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The columns of a rejects CSV.
pub const REJECTS_HEADER: [&str; 7] = ["ファイル", "シート", "行", "列", "値", "コード", "理由"];

/// The rows of a rejects CSV (`rejects.csv`, `check --rejects`), which
/// must start with the UTF-8 byte order mark Excel needs and the header
/// [`REJECTS_HEADER`] (not among the rows returned).
pub fn read_rejects(path: &Path) -> Vec<csv::StringRecord> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "{} has a BOM for Excel",
        path.display()
    );
    let mut rdr = csv::Reader::from_reader(&bytes[3..]);
    let header = rdr.headers().unwrap().clone();
    assert_eq!(
        header.iter().collect::<Vec<_>>(),
        REJECTS_HEADER,
        "{}",
        path.display()
    );
    rdr.records().map(Result::unwrap).collect()
}

/// `s` without any white space (pdftotext puts spaces and line breaks
/// where the layout does).
pub fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Runs the external program `name` (pdftotext, pdffonts, pdftoppm, qpdf,
/// …) with `args` and returns its standard output. The test fails, naming
/// the package to install, when the program is not installed, and with the
/// program's output when it exits with an error.
pub fn tool<I, S>(name: &str, args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<S> = args.into_iter().collect();
    let package = match name {
        "pdftotext" | "pdffonts" | "pdftoppm" | "pdfinfo" | "pdfimages" => "poppler-utils",
        other => other,
    };
    let o = Command::new(name).args(&args).output().unwrap_or_else(|e| {
        panic!("{name} must be installed (package {package}; .ci/run installs it): {e}")
    });
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
    assert!(
        o.status.success(),
        "{name} {shown:?} failed ({}):\n{}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap_or_else(|e| panic!("{name} {shown:?}: not UTF-8: {e}"))
}

/// The text of `pdf` as `pdftotext -raw` extracts it (in content-stream
/// order, the reading order the layout writes); only page `page` (from 1)
/// when given. Pages end with a form feed.
pub fn pdftotext(pdf: &Path, page: Option<usize>) -> String {
    let mut args: Vec<OsString> = vec!["-raw".into()];
    if let Some(p) = page {
        let p = p.to_string();
        args.extend(["-f".into(), p.clone().into(), "-l".into(), p.into()]);
    }
    args.extend([pdf.as_os_str().to_owned(), "-".into()]);
    tool("pdftotext", args)
}

/// [`pdftotext`] of a whole PDF held in memory.
pub fn pdftotext_bytes(pdf: &[u8]) -> String {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("x.pdf");
    std::fs::write(&p, pdf).unwrap();
    pdftotext(&p, None)
}

/// The font rows of `pdffonts <pdf>` (its two header lines left out), as
/// `name type encoding emb sub uni object ID`.
pub fn pdffonts(pdf: &Path) -> Vec<String> {
    tool("pdffonts", [pdf])
        .lines()
        .skip(2)
        .map(str::to_owned)
        .collect()
}

/// Fails the test unless `qpdf --check` finds `pdf` sound; returns qpdf's
/// report.
pub fn qpdf_check(pdf: &Path) -> String {
    tool("qpdf", [OsStr::new("--check"), pdf.as_os_str()])
}

/// `pdf` rewritten by qpdf in its uncompressed QDF form (content streams
/// readable as text), as text. The QDF file is written beside `pdf`.
pub fn qdf(pdf: &Path) -> String {
    let qdf = pdf.with_extension("qdf.pdf");
    tool(
        "qpdf",
        [
            OsStr::new("--qdf"),
            OsStr::new("--object-streams=disable"),
            pdf.as_os_str(),
            qdf.as_os_str(),
        ],
    );
    String::from_utf8_lossy(&std::fs::read(&qdf).unwrap()).into_owned()
}

/// The headless Chromium to run (`chromium`, or `chromium-browser` on some
/// systems); the test fails, naming the package, when neither is there.
fn chromium_program() -> &'static str {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("chromium must be installed (package chromium; scripts/test installs it)")
}

/// Opens `page` (a local file) in headless Chromium, with a throw-away
/// profile and no network, adding `args` (`--dump-dom`,
/// `--print-to-pdf=…`, `--screenshot=…`); returns its standard output.
pub fn chromium(page: &Path, args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new(chromium_program())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        o.status.success(),
        "chromium {args:?} failed ({}): {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("chromium's output is UTF-8")
}

/// Every file of a run directory, with the execution-dependent parts removed:
/// `run.log` and `run.lock` are left out, the `timing` of `summary.json` and
/// the marked timing block of `report.html` are dropped.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            if rel == "run.log" || rel == "run.lock" {
                continue;
            }
            let mut bytes = std::fs::read(&p).unwrap();
            if rel == "summary.json" {
                let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                v.as_object_mut().unwrap().remove("timing");
                bytes = serde_json::to_vec(&v).unwrap();
            }
            if rel == "report.html" {
                let s = String::from_utf8(bytes).unwrap();
                let a = s.find("<!-- timing:begin -->").unwrap();
                let b = s.find("<!-- timing:end -->").unwrap();
                bytes = format!("{}{}", &s[..a], &s[b..]).into_bytes();
            }
            out.insert(rel, bytes);
        }
    }
    out
}

/// Fails the test unless two [`snapshot`]s hold the same files with the
/// same bytes; `what` names the comparison in the message.
pub fn assert_same(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>, what: &str) {
    let only_a: Vec<&String> = a.keys().filter(|k| !b.contains_key(*k)).collect();
    let only_b: Vec<&String> = b.keys().filter(|k| !a.contains_key(*k)).collect();
    assert!(
        only_a.is_empty() && only_b.is_empty(),
        "{what}: files only in the first: {only_a:?}; only in the second: {only_b:?}"
    );
    for (k, v) in a {
        assert!(v == &b[k], "{what}: {k} differs");
    }
}

/// A minimal `.xlsx` whose only sheet, 「名簿」, is `sheet_data` (the
/// inside of `<sheetData>`), cells as inline strings.
pub fn xlsx_with_sheet_data(sheet_data: &str) -> Vec<u8> {
    xlsx_with_sheet_xml(format!(
        r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{sheet_data}</sheetData></worksheet>"#
    ).as_bytes())
}

/// A minimal `.xlsx` whose only sheet's XML is `sheet` (any bytes).
pub fn xlsx_with_sheet_xml(sheet: &[u8]) -> Vec<u8> {
    const NS: &str = "http://schemas.openxmlformats.org";
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default();
    let mut add = |name: &str, text: String| {
        w.start_file(name, o).unwrap();
        std::io::Write::write_all(&mut w, text.as_bytes()).unwrap();
    };
    add(
        "[Content_Types].xml",
        format!(
            r#"<?xml version="1.0"?><Types xmlns="{NS}/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#
        ),
    );
    add(
        "_rels/.rels",
        format!(
            r#"<?xml version="1.0"?><Relationships xmlns="{NS}/package/2006/relationships"><Relationship Id="rId1" Type="{NS}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
        ),
    );
    add(
        "xl/workbook.xml",
        format!(
            r#"<?xml version="1.0"?><workbook xmlns="{NS}/spreadsheetml/2006/main" xmlns:r="{NS}/officeDocument/2006/relationships"><sheets><sheet name="名簿" sheetId="1" r:id="rId1"/></sheets></workbook>"#
        ),
    );
    add(
        "xl/_rels/workbook.xml.rels",
        format!(
            r#"<?xml version="1.0"?><Relationships xmlns="{NS}/package/2006/relationships"><Relationship Id="rId1" Type="{NS}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#
        ),
    );
    w.start_file("xl/worksheets/sheet1.xml", o).unwrap();
    std::io::Write::write_all(&mut w, sheet).unwrap();
    w.finish().unwrap().into_inner()
}

/// An inline-string cell's XML.
pub fn inline(cell: &str, text: &str) -> String {
    format!(r#"<c r="{cell}" t="inlineStr"><is><t>{text}</t></is></c>"#)
}

/// A PostgreSQL server of the tests' own (see [`postgres`]).
pub struct Postgres {
    /// Its folder: data, socket, log, password file (owned by `nobody`).
    dir: PathBuf,
    /// The server's programs (`/usr/lib/postgresql/<version>/bin`).
    bin: PathBuf,
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
}

/// The superuser of the test server and its password (what
/// `PGPASSWORD` gives `chohyo`).
pub const PG_USER: &str = "chohyo";
pub const PG_PASSWORD: &str = "test-ledger-pw-71c3";

/// The PostgreSQL server of this test binary, started on first use in a
/// temporary folder (initdb + pg_ctl as `nobody`, since PostgreSQL refuses
/// root; password authentication on 127.0.0.1 and a free port) and stopped
/// when the test binary exits (a watcher process ends it even when the
/// binary is killed). Fails, naming Debian's `postgresql` package, when the
/// server's programs are missing.
pub fn postgres() -> &'static Postgres {
    static SERVER: std::sync::OnceLock<Postgres> = std::sync::OnceLock::new();
    SERVER.get_or_init(Postgres::start_new)
}

impl Postgres {
    /// A server of one test's own (for a test that stops it), stopped when
    /// the test binary exits.
    pub fn start_new() -> Postgres {
        static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .map(|e| e.unwrap().path().join("bin"))
            .filter(|b| b.join("initdb").is_file())
            .max()
            .expect("PostgreSQL's initdb is missing: install Debian's `postgresql` package (scripts/test does)");
        let dir = std::env::temp_dir().join(format!("chohyo-pg-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let pw = dir.join("pw");
        std::fs::write(&pw, PG_PASSWORD).unwrap();
        for p in [&dir, &pw] {
            std::os::unix::fs::chown(p, Some(65534), Some(65534)).unwrap();
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = Postgres { dir, bin, port };
        server.as_nobody(
            "initdb",
            &[
                "-D".as_ref(),
                server.dir.join("data").as_os_str(),
                "-U".as_ref(),
                PG_USER.as_ref(),
                "--pwfile".as_ref(),
                pw.as_os_str(),
                "--auth=scram-sha-256".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--locale=C".as_ref(),
                "--no-sync".as_ref(),
            ],
        );
        server.start();
        server.watch();
        server
    }

    /// Starts the watcher: when this test binary is gone, the server goes
    /// too. It outlives the binary on purpose, so it is never waited for.
    #[allow(clippy::zombie_processes)]
    fn watch(&self) {
        let pid_file = self.dir.join("data/postmaster.pid");
        Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while kill -0 {me} 2>/dev/null; do sleep 1; done; \
                 kill -INT $(head -1 '{pid}') 2>/dev/null; sleep 2; rm -rf '{dir}'",
                me = std::process::id(),
                pid = pid_file.display(),
                dir = self.dir.display()
            ))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the PostgreSQL watcher");
    }

    /// Runs one of the server's programs as `nobody`; fails the test with
    /// its output when it fails.
    fn as_nobody(&self, program: &str, args: &[&OsStr]) {
        let o = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(self.bin.join(program))
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("run setpriv (util-linux)");
        assert!(
            o.status.success(),
            "{program}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// Starts the server (again), waiting until it accepts connections.
    pub fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60",
            self.port,
            self.dir.display()
        );
        self.as_nobody(
            "pg_ctl",
            &[
                "-D".as_ref(),
                self.dir.join("data").as_os_str(),
                "-l".as_ref(),
                self.dir.join("log").as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        );
    }

    /// Stops the server at once (`-m immediate`: clients lose their
    /// connections as in a crash or a network cut).
    pub fn stop(&self) {
        self.as_nobody(
            "pg_ctl",
            &[
                "-D".as_ref(),
                self.dir.join("data").as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        );
    }

    /// A new empty database `name` (dropped first if there) and its URL
    /// (without the password, which `chohyo` takes from `PGPASSWORD`).
    pub fn fresh_database(&self, name: &str) -> String {
        let mut admin = self.client("postgres");
        // Each its own statement: neither runs in a transaction block.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        self.url(name)
    }

    /// The URL of a database of this server.
    pub fn url(&self, db: &str) -> String {
        format!("postgresql://{PG_USER}@127.0.0.1:{}/{db}", self.port)
    }

    /// A client of the database `db`, for a test's own checks.
    pub fn client(&self, db: &str) -> postgres::Client {
        postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .user(PG_USER)
            .password(PG_PASSWORD)
            .dbname(db)
            .connect(postgres::NoTls)
            .unwrap_or_else(|e| panic!("connect to the test PostgreSQL: {e}"))
    }
}
