//! The issuance ledger on both back ends, through the binary: one suite run
//! on SQLite and on a real PostgreSQL server (tests/common's, started once
//! for this binary): numbers allocated, reused by a re-run, shards merged,
//! a lost or empty ledger refused, export/import between the back ends.
//! Then what only a server ledger does: shards and another batch at the
//! same time from separate processes, the server stopped mid-run (exit 3,
//! then an identical resume), a wrong password (a clear error, the password
//! nowhere); and what only SQLite refuses: a network file system.

mod common;

use common::{assert_same, snapshot, Postgres, Ran, PG_PASSWORD};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Which ledger a test place uses.
#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A copy of the zaishoku sample whose ledger is on `backend`, an output
/// folder, and the database's name on the server.
struct Place {
    tmp: tempfile::TempDir,
    job: PathBuf,
    out: PathBuf,
    db: String,
}

impl Place {
    /// A new place; on PostgreSQL a fresh database named `db`, its schema
    /// made by `chohyo ledger --init`, the URL in the job file.
    fn new(backend: Backend, db: &str) -> Place {
        Place::on(common::postgres(), backend, db)
    }

    /// [`Place::new`] on a given server.
    fn on(server: &Postgres, backend: Backend, db: &str) -> Place {
        let tmp = tempfile::tempdir().unwrap();
        let ledger_line = match backend {
            Backend::Sqlite => String::new(),
            Backend::Postgres => format!("ledger = \"{}\"\n", server.fresh_database(db)),
        };
        let job = common::sample_copy("zaishoku", tmp.path(), |t| {
            t.replace("[output]\n", &format!("[output]\n{ledger_line}"))
        });
        let out = tmp.path().join("out");
        let place = Place {
            tmp,
            job,
            out,
            db: db.to_string(),
        };
        if let Backend::Postgres = backend {
            let ran = place.chohyo(["ledger", "--init"]);
            assert_eq!(ran.code, 0, "{}", ran.stderr);
            assert!(ran.stderr.contains("スキーマ版 1"), "{}", ran.stderr);
        }
        place
    }

    /// Starts the ledger again from nothing: on PostgreSQL an empty
    /// database with its schema (the job file, and so every hash of it in
    /// a run, stays the same); on SQLite each output folder has its own.
    fn reset_ledger(&self, server: &Postgres) {
        if self.job_text().contains("postgresql://") {
            server.fresh_database(&self.db);
            let ran = self.chohyo(["ledger", "--init"]);
            assert_eq!(ran.code, 0, "{}", ran.stderr);
        }
    }

    fn job_text(&self) -> String {
        std::fs::read_to_string(&self.job).unwrap()
    }

    /// `chohyo <sub> <job> --out <out> <args…>` with the server's password
    /// in PGPASSWORD (SQLite ignores it).
    fn chohyo<I, S>(&self, args: I) -> Ran
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        output(self.command(args).output().expect("run chohyo"))
    }

    fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command_out(args, &self.out)
    }

    /// [`Place::command`] writing to another output folder.
    fn command_out<I, S>(&self, args: I, out: &Path) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut args: Vec<std::ffi::OsString> =
            args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        args.insert(1, self.job.clone().into());
        args.insert(2, "--out".into());
        args.insert(3, out.into());
        let mut c = common::chohyo();
        c.args(args).env("PGPASSWORD", PG_PASSWORD);
        // Spawned children's output is read back too.
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c
    }

    /// The ledger's rows as `chohyo ledger --csv` writes them: (number,
    /// record id, batch, issued_at, void), in number order.
    fn rows(&self) -> Vec<(u64, String, String, String, String)> {
        let csv = self.tmp.path().join("ledger.csv");
        let ran = self.chohyo([OsStr::new("ledger"), "--csv".as_ref(), csv.as_os_str()]);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        let text = std::fs::read_to_string(&csv).unwrap();
        let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{FEFF}').as_bytes());
        r.records()
            .map(|rec| {
                let rec = rec.unwrap();
                (
                    rec[2].parse().unwrap(),
                    rec[4].to_string(),
                    rec[6].to_string(),
                    rec[11].to_string(),
                    rec[12].to_string(),
                )
            })
            .collect()
    }

    fn run_dir(&self, name: &str) -> PathBuf {
        self.out.join("zaishoku").join(name)
    }
}

fn output(o: std::process::Output) -> Ran {
    Ran {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8(o.stdout).unwrap(),
        stderr: String::from_utf8(o.stderr).unwrap(),
    }
}

/// The numbers of a run directory's manifest.
fn manifest_numbers(run_dir: &Path) -> Vec<u64> {
    common::read_json(&run_dir.join("manifest.json"))["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["number"].as_u64().unwrap())
        .collect()
}

/// The sample's request list with other request ids (another batch of
/// the same series: new requests, so new numbers), as UTF-8 CSV.
fn other_requests(dir: &Path) -> PathBuf {
    requests_with_prefix(dir, "X")
}

/// The sample's request list, its ids starting with `prefix` instead of R.
fn requests_with_prefix(dir: &Path, prefix: &str) -> PathBuf {
    let bytes = std::fs::read(common::root().join("samples/zaishoku/requests_cp932.csv")).unwrap();
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!bad);
    let path = dir.join(format!("requests-{prefix}.csv"));
    std::fs::write(&path, text.replace("R2025-", &format!("{prefix}2025-"))).unwrap();
    path
}

fn numbers_reused_searched_and_a_lost_ledger_refused(backend: Backend) {
    let place = Place::new(backend, "suite_numbers");
    let ran = place.chohyo(["run", "-q"]);
    assert!(ran.code <= 1, "{backend:?}: {}", ran.stderr);
    let rows = place.rows();
    let numbers: Vec<u64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(numbers, (101..148).collect::<Vec<_>>(), "{backend:?}");
    assert!(rows.iter().all(|r| r.2 == "2025-04-01" && !r.3.is_empty()));
    let mut in_manifest = manifest_numbers(&place.run_dir("2025-04-01"));
    in_manifest.sort();
    assert_eq!(in_manifest, numbers);

    // A re-run (and a restart of the batch) gives nothing new.
    let ran = place.chohyo(["run", "-q", "--restart"]);
    assert!(ran.code <= 1, "{backend:?}: {}", ran.stderr);
    assert_eq!(place.rows().len(), 47, "{backend:?}");
    let mut again = manifest_numbers(&place.run_dir("2025-04-01"));
    again.sort();
    assert_eq!(again, numbers, "{backend:?}");

    // Search by number and by record.
    let ran = place.chohyo(["ledger", "--number", "101"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.stdout.lines().count(), 2, "{backend:?}: {}", ran.stdout);
    let record = &rows[5].1;
    let ran = place.chohyo(["ledger", "--record", record]);
    assert!(
        ran.stdout.contains("\t106\t"),
        "{backend:?}: {}",
        ran.stdout
    );

    // The ledger lost (the file deleted; the database emptied and made
    // again): refused, naming the last number issued.
    match backend {
        Backend::Sqlite => {
            for side in ["", "-wal", "-shm"] {
                let _ =
                    std::fs::remove_file(place.out.join(format!("zaishoku/ledger.sqlite{side}")));
            }
        }
        Backend::Postgres => {
            common::postgres().fresh_database(&place.db);
            let ran = place.chohyo(["ledger", "--init"]);
            assert_eq!(ran.code, 0, "{}", ran.stderr);
        }
    }
    let other = other_requests(place.tmp.path());
    let ran = place.chohyo([
        OsStr::new("run"),
        "-q".as_ref(),
        "--batch-id".as_ref(),
        "B".as_ref(),
        "--input".as_ref(),
        other.as_os_str(),
    ]);
    assert_eq!(ran.code, 2, "{backend:?}: {}", ran.stderr);
    assert!(ran.stderr.contains("147"), "{}", ran.stderr);
    assert!(ran.stderr.contains("number_start"), "{}", ran.stderr);
    let ledger_file = place.out.join("zaishoku/ledger.sqlite");
    if matches!(backend, Backend::Postgres) || ledger_file.exists() {
        assert!(place.rows().is_empty(), "{backend:?}: nothing numbered");
    }
}

#[test]
fn sqlite_numbers_reused_searched_and_a_lost_ledger_refused() {
    numbers_reused_searched_and_a_lost_ledger_refused(Backend::Sqlite);
}

#[test]
fn postgres_numbers_reused_searched_and_a_lost_ledger_refused() {
    numbers_reused_searched_and_a_lost_ledger_refused(Backend::Postgres);
}

fn shards_merged_equal_one_run(backend: Backend, db: &str) {
    let sharded = Place::new(backend, db);
    let single_out = sharded.tmp.path().join("single");
    let ran = output(
        sharded
            .command_out(["run", "-q"], &single_out)
            .output()
            .unwrap(),
    );
    assert!(ran.code <= 1, "{}", ran.stderr);
    let single = snapshot(&single_out.join("zaishoku/2025-04-01"));
    sharded.reset_ledger(common::postgres());
    for k in 1..=2 {
        let ran = sharded.chohyo(["run", "-q", "--shard", &format!("{k}/2")]);
        assert!(ran.code <= 1, "{backend:?}: {}", ran.stderr);
    }
    let ran = sharded.chohyo(["merge", "--shards", "2", "-q"]);
    assert!(ran.code <= 1, "{backend:?}: {}", ran.stderr);
    assert_same(
        &single,
        &snapshot(&sharded.run_dir("2025-04-01")),
        &format!("{backend:?} shards"),
    );
    let numbers: Vec<u64> = sharded.rows().iter().map(|r| r.0).collect();
    assert_eq!(numbers, (101..148).collect::<Vec<_>>());
}

#[test]
fn sqlite_shards_merged_equal_one_run() {
    shards_merged_equal_one_run(Backend::Sqlite, "shards");
}

#[test]
fn postgres_shards_merged_equal_one_run() {
    shards_merged_equal_one_run(Backend::Postgres, "shards");
}

/// `run` arguments of another batch `id` of the series, its requests
/// starting with `prefix`.
fn other_batch(dir: &Path, id: &str, prefix: &str) -> Vec<std::ffi::OsString> {
    let input = requests_with_prefix(dir, prefix);
    ["run", "-q", "--batch-id", id, "--input"]
        .iter()
        .map(Into::into)
        .chain([input.into_os_string()])
        .collect()
}

#[test]
fn four_shard_processes_and_two_other_batches_at_once_on_postgres() {
    let place = Place::new(Backend::Postgres, "concurrent");
    let dir = place.tmp.path();
    let others = [("OTHER1", "X"), ("OTHER2", "Y")];
    let mut children = Vec::new();
    for k in 1..=4 {
        // Each shard in its own output folder, as on its own machine.
        let node = dir.join(format!("node{k}"));
        let mut c = place.command_out(["run", "-q", "--shard", &format!("{k}/4")], &node);
        children.push(c.spawn().unwrap());
    }
    for (id, prefix) in others {
        let node = dir.join(id);
        let mut c = place.command_out(other_batch(dir, id, prefix), &node);
        children.push(c.spawn().unwrap());
    }
    for child in children {
        let ran = output(child.wait_with_output().unwrap());
        assert!(ran.code <= 1, "{}", ran.stderr);
    }
    // The shards' folders gathered in one output folder, then merged.
    std::fs::create_dir_all(place.out.join("zaishoku")).unwrap();
    for k in 1..=4 {
        let name = format!("2025-04-01.shard-{k}-of-4");
        std::fs::rename(
            dir.join(format!("node{k}/zaishoku/{name}")),
            place.run_dir(&name),
        )
        .unwrap();
    }
    let ran = place.chohyo(["merge", "--shards", "4", "-q"]);
    assert!(ran.code <= 1, "{}", ran.stderr);

    // Every number unique and consecutive over the three batches, each
    // batch one block (its 47 rows are one planning chunk, one
    // transaction).
    let rows = place.rows();
    let numbers: Vec<u64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(numbers, (101..101 + 3 * 47).collect::<Vec<_>>());
    assert!(rows.iter().all(|r| !r.3.is_empty()), "all issued");
    let mut order: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    order.dedup();
    assert_eq!(order.len(), 3, "each batch one block: {order:?}");

    // The same three batches one after the other on one machine, in the
    // order the server gave their numbers: the merged batch is
    // byte-identical to the one run alone.
    let merged = snapshot(&place.run_dir("2025-04-01"));
    place.reset_ledger(common::postgres());
    let alone = dir.join("alone");
    for batch in order {
        let args = match others.iter().find(|(id, _)| *id == batch) {
            Some((id, prefix)) => other_batch(dir, id, prefix),
            None => ["run", "-q"].iter().map(Into::into).collect(),
        };
        let ran = output(place.command_out(args, &alone).output().unwrap());
        assert!(ran.code <= 1, "{}", ran.stderr);
    }
    assert_same(
        &snapshot(&alone.join("zaishoku/2025-04-01")),
        &merged,
        "merged shards",
    );
}

#[test]
fn the_server_stopped_mid_run_stops_the_batch_and_it_resumes_identically() {
    // A server of its own: the other tests' stays up.
    let server = Postgres::start_new();
    let place = Place::on(&server, Backend::Postgres, "stopped");
    let reference_out = place.tmp.path().join("reference");
    let ran = output(
        place
            .command_out(["run", "-q", "--threads", "1"], &reference_out)
            .output()
            .unwrap(),
    );
    assert!(ran.code <= 1, "{}", ran.stderr);
    let reference = snapshot(&reference_out.join("zaishoku/2025-04-01"));
    place.reset_ledger(&server);
    let run_dir = place.run_dir("2025-04-01");
    let child = place
        .command(["run", "-q", "--threads", "1"])
        .spawn()
        .unwrap();
    // Once numbers are planned, the run is frozen while the server goes
    // down, then goes on without it.
    let pid = child.id() as i32;
    while !run_dir.join("plan.jsonl").exists() {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let finished_before = run_dir.join("summary.json").exists();
    server.stop();
    unsafe { libc::kill(pid, libc::SIGCONT) };
    let ran = output(child.wait_with_output().unwrap());
    server.start();
    assert!(
        !finished_before,
        "the run finished before the server stopped"
    );
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(ran.stderr.contains("台帳"), "{}", ran.stderr);

    let ran = place.chohyo(["run", "-q", "--threads", "1"]);
    assert!(ran.code <= 1, "{}", ran.stderr);
    assert_same(
        &reference,
        &snapshot(&run_dir),
        "resumed after the server came back",
    );
    let numbers: Vec<u64> = place.rows().iter().map(|r| r.0).collect();
    assert_eq!(numbers, (101..148).collect::<Vec<_>>());
    server.stop();
}

#[test]
fn a_wrong_password_is_a_clear_error_that_never_shows_it() {
    let place = Place::new(Backend::Postgres, "password");
    let wrong = "wrong-pw-5ee1b0";
    let ran = output(
        place
            .command(["run", "-q"])
            .env("PGPASSWORD", wrong)
            .output()
            .unwrap(),
    );
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    assert!(ran.stderr.contains("ログインできません"), "{}", ran.stderr);
    // The run directory was opened (and logged to) before the ledger.
    let log = std::fs::read_to_string(place.run_dir("2025-04-01").join("run.log")).unwrap();
    assert!(log.contains("\"exit\":3"), "{log}");
    for text in [&ran.stdout, &ran.stderr, &log] {
        assert!(
            !text.contains(wrong) && !text.contains(PG_PASSWORD),
            "{text}"
        );
    }
    // From a file, the right one works.
    let pw = place.tmp.path().join("pw");
    std::fs::write(&pw, format!("{PG_PASSWORD}\n")).unwrap();
    let ran = output(
        place
            .command(["run", "-q"])
            .env_remove("PGPASSWORD")
            .env("CHOHYO_LEDGER_PASSWORD_FILE", &pw)
            .output()
            .unwrap(),
    );
    assert!(ran.code <= 1, "{}", ran.stderr);
    // A password in the URL is refused, and not echoed.
    let url = format!("{}?password=hunter2x", common::postgres().url("password"));
    let ran = place.chohyo(["ledger", "--ledger", &url]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(!ran.stderr.contains("hunter2x"), "{}", ran.stderr);
    assert!(ran.stderr.contains("PGPASSWORD"), "{}", ran.stderr);
}

#[test]
fn a_newer_schema_is_refused() {
    let place = Place::new(Backend::Postgres, "newer");
    common::postgres()
        .client("newer")
        .batch_execute("UPDATE chohyo_schema SET version = 99")
        .unwrap();
    for args in [vec!["ledger"], vec!["ledger", "--init"]] {
        let ran = place.chohyo(args);
        assert_eq!(ran.code, 2, "{}", ran.stderr);
        assert!(ran.stderr.contains("スキーマ版 99"), "{}", ran.stderr);
    }
}

#[test]
fn an_office_moves_its_ledger_from_sqlite_to_postgres() {
    let from = Place::new(Backend::Sqlite, "unused");
    let ran = from.chohyo(["run", "-q"]);
    assert!(ran.code <= 1, "{}", ran.stderr);
    let export = from.tmp.path().join("ledger.jsonl");
    let ran = from.chohyo([
        OsStr::new("ledger"),
        "--export".as_ref(),
        export.as_os_str(),
    ]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);

    let to = Place::new(Backend::Postgres, "moved");
    let ran = to.chohyo([
        OsStr::new("ledger"),
        "--import".as_ref(),
        export.as_os_str(),
    ]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stderr.contains("47 件"), "{}", ran.stderr);
    assert_eq!(to.rows(), from.rows());
    // Importing again adds nothing and still verifies.
    let ran = to.chohyo([
        OsStr::new("ledger"),
        "--import".as_ref(),
        export.as_os_str(),
    ]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stderr.contains("47 件中 0 件"), "{}", ran.stderr);
    // The next batch on the server continues the series; the requests
    // already issued are known there and left out.
    let other = other_requests(to.tmp.path());
    let ran = to.chohyo([
        OsStr::new("run"),
        "-q".as_ref(),
        "--batch-id".as_ref(),
        "B".as_ref(),
        "--input".as_ref(),
        other.as_os_str(),
    ]);
    assert!(ran.code <= 1, "{}", ran.stderr);
    let mut b = manifest_numbers(&to.run_dir("B"));
    b.sort();
    assert_eq!(b, (148..195).collect::<Vec<_>>());
}

#[test]
fn a_sqlite_ledger_on_a_network_file_system_is_refused() {
    let place = Place::new(Backend::Sqlite, "unused");
    for (magic, name) in [("6969", "NFS"), ("ff534d42", "CIFS"), ("65735546", "FUSE")] {
        let ran = output(
            place
                .command(["run", "-q"])
                .env("CHOHYO_TEST_LEDGER_FS_MAGIC", magic)
                .output()
                .unwrap(),
        );
        assert_eq!(ran.code, 2, "{}", ran.stderr);
        assert!(ran.stderr.contains(name), "{}", ran.stderr);
        assert!(ran.stderr.contains("PostgreSQL"), "{}", ran.stderr);
        assert!(ran.stderr.contains("ledger.sqlite"), "{}", ran.stderr);
        assert!(!place.out.join("zaishoku/ledger.sqlite").exists());
    }
    // The same place on a local disk runs.
    let ran = place.chohyo(["run", "-q"]);
    assert!(ran.code <= 1, "{}", ran.stderr);
}
