//! The job kinds the benchmark measures and their sample files, built into
//! the binary so that an installed `chohyo` benchmarks from any folder:
//! each kind's sample job (`samples/<kind>/job.toml`), its templates and
//! the seal image, written into the bench folder with absolute paths.
//! Uses `files` (owner-only folders) and `toml` only.

use crate::bench::BenchError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// What a benchmark run renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobKind {
    /// 在職証明書, the reference certificate (with its seal).
    Zaishoku,
    /// The same certificate without the seal: the reference document of
    /// the size target (issue 16's side-by-side figures had no seal).
    ZaishokuNoseal,
    /// 就労証明書, a dense one-page national form.
    Shuro,
    /// 給与支払証明書, a twelve-month table.
    Kyuyo,
    /// 採用通知書 with everything its mail batch writes: customer
    /// barcodes, zip packages, print file, labels, dispatch list.
    Saiyo,
}

/// A sample's files, embedded.
struct Sample {
    job: &'static str,
    templates: &'static [(&'static str, &'static str)],
}

const SEAL: &[u8] = include_bytes!("../../templates/assets/seal.png");
const ZAISHOKU: &str = include_str!("../../templates/zaishoku.xml");
/// The seal's element in the reference template: what the seal-less
/// variant leaves out.
const SEAL_ELEMENT: &str = "<image src=\"seal.png\" x=\"155mm\" y=\"241mm\" w=\"23mm\"/>";

impl JobKind {
    /// Every kind, in the order the benchmark runs them.
    pub const ALL: [JobKind; 5] = [
        JobKind::Zaishoku,
        JobKind::ZaishokuNoseal,
        JobKind::Shuro,
        JobKind::Kyuyo,
        JobKind::Saiyo,
    ];

    /// The name on the command line and in file names.
    pub fn name(self) -> &'static str {
        match self {
            JobKind::Zaishoku => "zaishoku",
            JobKind::ZaishokuNoseal => "zaishoku-noseal",
            JobKind::Shuro => "shuro",
            JobKind::Kyuyo => "kyuyo",
            JobKind::Saiyo => "saiyo",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Result<JobKind, String> {
        JobKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = JobKind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "--job は {} のどれかです (unknown job kind {name:?})",
                    names.join("|")
                )
            })
    }

    /// The first letter of the synthetic record ids.
    pub fn id_prefix(self) -> &'static str {
        match self {
            JobKind::Zaishoku | JobKind::ZaishokuNoseal => "B",
            JobKind::Shuro => "S",
            JobKind::Kyuyo => "K",
            JobKind::Saiyo => "H",
        }
    }

    fn sample(self) -> Sample {
        match self {
            JobKind::Zaishoku | JobKind::ZaishokuNoseal => Sample {
                job: include_str!("../../samples/zaishoku/job.toml"),
                templates: &[("zaishoku.xml", ZAISHOKU)],
            },
            JobKind::Shuro => Sample {
                job: include_str!("../../samples/shuro/job.toml"),
                templates: &[("shuro.xml", include_str!("../../templates/shuro.xml"))],
            },
            JobKind::Kyuyo => Sample {
                job: include_str!("../../samples/kyuyo/job.toml"),
                templates: &[("kyuyo.xml", include_str!("../../templates/kyuyo.xml"))],
            },
            JobKind::Saiyo => Sample {
                job: include_str!("../../samples/saiyo/job.toml"),
                templates: &[
                    ("saiyo.xml", include_str!("../../templates/saiyo.xml")),
                    ("labels.xml", include_str!("../../templates/labels.xml")),
                    ("dispatch.xml", include_str!("../../templates/dispatch.xml")),
                ],
            },
        }
    }

    /// Writes the kind's templates and seal into `dir/<kind>/` and the
    /// job file `dir/<kind>/job.toml`, reading `input` and writing into
    /// `out`; returns the job file's path.
    pub fn write_job(self, dir: &Path, input: &Path, out: &Path) -> Result<PathBuf, BenchError> {
        let home = dir.join(self.name());
        let assets = home.join("assets");
        crate::files::create_private_dir(&assets).map_err(|e| BenchError::io(&assets, e))?;
        let write = |path: PathBuf, bytes: &[u8]| {
            crate::files::write_atomic(&path, bytes).map_err(|e| BenchError::io(&path, e))
        };
        write(assets.join("seal.png"), SEAL)?;
        let sample = self.sample();
        for (name, text) in sample.templates {
            let text = match self {
                JobKind::ZaishokuNoseal => text.replace(SEAL_ELEMENT, ""),
                _ => text.to_string(),
            };
            write(home.join(name), text.as_bytes())?;
        }
        let job = self.job_text(sample.job, &home, input, out)?;
        let path = home.join("job.toml");
        write(path.clone(), job.as_bytes())?;
        Ok(path)
    }

    /// The sample job with absolute paths: input, templates, assets, output.
    fn job_text(
        self,
        text: &str,
        home: &Path,
        input: &Path,
        out: &Path,
    ) -> Result<String, BenchError> {
        let mut job: toml::Table =
            toml::from_str(text).map_err(|e| BenchError::Sample(self.name(), e.to_string()))?;
        let abs = |p: &Path| toml::Value::String(p.display().to_string());
        let local = |v: &toml::Value| {
            let name = Path::new(v.as_str().unwrap_or_default());
            abs(&home.join(name.file_name().unwrap_or_default()))
        };
        let section = |job: &mut toml::Table, name: &str| -> Result<toml::Table, BenchError> {
            job.get(name)
                .and_then(toml::Value::as_table)
                .cloned()
                .ok_or_else(|| BenchError::Sample(self.name(), format!("no [{name}]")))
        };
        let mut input_t = section(&mut job, "input")?;
        input_t.insert("file".into(), abs(input));
        job.insert("input".into(), input_t.into());
        let mut template = section(&mut job, "template")?;
        let file = template.get("file").map(local).unwrap_or_else(|| abs(home));
        template.insert("file".into(), file);
        template.insert("assets".into(), abs(&home.join("assets")));
        job.insert("template".into(), template.into());
        let mut output = section(&mut job, "output")?;
        output.insert("dir".into(), abs(out));
        job.insert("output".into(), output.into());
        if let Some(docs) = job.get_mut("documents").and_then(|d| d.as_array_mut()) {
            for d in docs.iter_mut().filter_map(|d| d.as_table_mut()) {
                if let Some(t) = d.get("template").map(local) {
                    d.insert("template".into(), t);
                }
            }
        }
        toml::to_string(&job).map_err(|e| BenchError::Sample(self.name(), e.to_string()))
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seal_less_variant_drops_exactly_the_seal() {
        assert_eq!(ZAISHOKU.matches(SEAL_ELEMENT).count(), 1);
    }

    #[test]
    fn every_kind_loads_as_a_job_with_absolute_paths() {
        let t = tempfile::tempdir().unwrap();
        for kind in JobKind::ALL {
            let input = t.path().join(format!("{kind}.xlsx"));
            let path = kind
                .write_job(t.path(), &input, &t.path().join("out"))
                .unwrap();
            let job = crate::job::Job::load(&path).unwrap();
            assert_eq!(job.input.file, input, "{kind}");
            assert!(job.template.file.is_file(), "{kind}");
            assert_eq!(JobKind::parse(kind.name()), Ok(kind));
        }
    }
}
