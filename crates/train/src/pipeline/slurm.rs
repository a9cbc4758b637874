//! A planned pipeline as Slurm batch jobs: one sbatch script per stage
//! that runs `lam pipeline --config FILE --job KEY`, with the resources
//! of the `[slurm]` table of the experiment (or the defaults of its stage
//! kind), and a `submit.sh` that submits them in dependency order, each
//! with `--dependency=afterok` on the jobs of the stages it needs.
//!
//! Whether a stage is done is decided when `submit.sh` runs, not when the
//! scripts are written: a stage with a `.done` marker in the cache is not
//! submitted and the stages after it do not wait for it, and a stage whose
//! script is still queued or running is not submitted twice (its job id is
//! waited for instead). Submitting again after a failure therefore runs
//! what is left only.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Pipeline, PipelineError};

/// What the jobs of one stage kind ask for; a field left out falls back
/// to `[slurm.all]`, then to the stage kind's default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// CPUs per job (`--cpus-per-task`); the stage runs with as many
    /// libtorch and OpenMP threads.
    pub cpus: Option<u32>,
    /// Memory per job (`--mem`): megabytes, or a number with a unit
    /// K, M, G or T (`"16G"`).
    pub mem: Option<String>,
    /// GPUs per job (`--gres=gpu:N`; 0 asks for none). Stages run on the
    /// CPU today, so this only reserves them.
    pub gpus: Option<u32>,
    /// Time limit (`--time`): MINUTES, MINUTES:SECONDS, HOURS:MINUTES:SECONDS,
    /// DAYS-HOURS, DAYS-HOURS:MINUTES or DAYS-HOURS:MINUTES:SECONDS.
    pub time: Option<String>,
}

/// The `[slurm]` table of an experiment: where and with what the jobs of
/// `lam pipeline --emit slurm DIR` run. Every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmSettings {
    /// The partition (`--partition`; default: the cluster's).
    pub partition: Option<String>,
    /// The account charged (`--account`; default: the user's).
    pub account: Option<String>,
    /// Further options for every script, one `#SBATCH` line each
    /// (`"--qos=long"`).
    #[serde(default)]
    pub sbatch: Vec<String>,
    /// Shell lines every job runs before its stage (`"module load hdf5"`).
    #[serde(default)]
    pub setup: Vec<String>,
    /// Resources of every stage kind (before its own table).
    #[serde(default)]
    pub all: Resources,
    /// Collections (`data-` stages).
    #[serde(default)]
    pub collect: Resources,
    /// Labeled subsets (`labeled-` stages).
    #[serde(default)]
    pub sample_labeled: Resources,
    /// Latent action models (`lam-`).
    #[serde(default)]
    pub lam: Resources,
    /// Latent BC actors (`latent-bc-`).
    #[serde(default)]
    pub latent_bc: Resources,
    /// Action decoders (`decoder-`).
    #[serde(default)]
    pub decoder: Resources,
    /// Behaviour cloning (`bc-`).
    #[serde(default)]
    pub bc: Resources,
    /// Inverse dynamics models (`idm-`).
    #[serde(default)]
    pub idm: Resources,
    /// IDM relabelings (`relabel-`).
    #[serde(default)]
    pub relabel: Resources,
    /// Probes (`probe-`).
    #[serde(default)]
    pub probe: Resources,
    /// Evaluations (`eval-`).
    #[serde(default)]
    pub eval: Resources,
}

/// What one job asks for, every field settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// CPUs (and the stage's threads).
    pub cpus: u32,
    /// Memory, as `--mem` takes it.
    pub mem: String,
    /// GPUs.
    pub gpus: u32,
    /// Time limit, as `--time` takes it.
    pub time: String,
}

/// The stage kinds (as [`super::Stage::kind`] names them), their fields in
/// `[slurm]` and their default CPUs, memory and time: collections and
/// evaluations step simulators, training runs want cores and hours,
/// subsets, relabelings and probes are short.
const KINDS: [(&str, &str, u32, &str, &str); 10] = [
    ("data", "collect", 2, "8G", "04:00:00"),
    ("labeled", "sample_labeled", 1, "4G", "00:30:00"),
    ("lam", "lam", 8, "32G", "24:00:00"),
    ("latent-bc", "latent_bc", 8, "32G", "24:00:00"),
    ("decoder", "decoder", 8, "32G", "12:00:00"),
    ("bc", "bc", 8, "32G", "24:00:00"),
    ("idm", "idm", 8, "32G", "24:00:00"),
    ("relabel", "relabel", 4, "16G", "02:00:00"),
    ("probe", "probe", 4, "16G", "02:00:00"),
    ("eval", "eval", 4, "16G", "04:00:00"),
];

impl SlurmSettings {
    /// The table of the stage kind `kind` (as [`super::Stage::kind`] names
    /// it) and its field name, if it is one.
    fn table(&self, kind: &str) -> Option<(&Resources, &'static str)> {
        let (_, field, ..) = KINDS.iter().find(|k| k.0 == kind)?;
        let r = match *field {
            "collect" => &self.collect,
            "sample_labeled" => &self.sample_labeled,
            "lam" => &self.lam,
            "latent_bc" => &self.latent_bc,
            "decoder" => &self.decoder,
            "bc" => &self.bc,
            "idm" => &self.idm,
            "relabel" => &self.relabel,
            "probe" => &self.probe,
            _ => &self.eval,
        };
        Some((r, field))
    }

    /// What a job of stage kind `kind` asks for: its table, then `all`,
    /// then the kind's default (one CPU, 4G and a day for a kind this
    /// build does not know).
    pub fn request(&self, kind: &str) -> Request {
        let (cpus, mem, time) = KINDS
            .iter()
            .find(|k| k.0 == kind)
            .map_or((1, "4G", "1-00:00:00"), |k| (k.2, k.3, k.4));
        let own = self.table(kind).map(|t| t.0);
        let pick = |f: fn(&Resources) -> Option<&str>| {
            own.and_then(f).or_else(|| f(&self.all)).map(str::to_string)
        };
        Request {
            cpus: own.and_then(|r| r.cpus).or(self.all.cpus).unwrap_or(cpus),
            mem: pick(|r| r.mem.as_deref()).unwrap_or_else(|| mem.into()),
            gpus: own.and_then(|r| r.gpus).or(self.all.gpus).unwrap_or(0),
            time: pick(|r| r.time.as_deref()).unwrap_or_else(|| time.into()),
        }
    }

    /// Checks every field; an error names it (`slurm.lam.time: ...`).
    pub fn check(&self) -> Result<(), String> {
        let tables =
            std::iter::once((&self.all, "all")).chain(KINDS.iter().filter_map(|k| self.table(k.0)));
        for (r, name) in tables {
            if r.cpus == Some(0) {
                return Err(format!("slurm.{name}.cpus: expected at least 1"));
            }
            if let Some(m) = &r.mem {
                if !is_memory(m) {
                    return Err(format!(
                        "slurm.{name}.mem = {m:?}: expected megabytes or a number with K, M, G or T (\"16G\")"
                    ));
                }
            }
            if let Some(t) = &r.time {
                if !is_time(t) {
                    return Err(format!(
                        "slurm.{name}.time = {t:?}: expected MINUTES, HH:MM:SS or DAYS-HH:MM:SS (\"12:00:00\")"
                    ));
                }
            }
        }
        for (name, value) in [("partition", &self.partition), ("account", &self.account)] {
            if let Some(v) = value {
                if v.is_empty() || !v.chars().all(|c| c.is_ascii_graphic() && c != '"') {
                    return Err(format!(
                        "slurm.{name} = {v:?}: expected a name without spaces or quotes"
                    ));
                }
            }
        }
        for line in &self.sbatch {
            if !line.starts_with('-') || line.contains('\n') {
                return Err(format!(
                    "slurm.sbatch: {line:?} is not one sbatch option (\"--qos=long\")"
                ));
            }
        }
        if let Some(line) = self.setup.iter().find(|l| l.contains('\n')) {
            return Err(format!(
                "slurm.setup: {line:?} has a line break; give one line per entry"
            ));
        }
        Ok(())
    }
}

/// `--mem`: digits, then at most one unit letter.
fn is_memory(m: &str) -> bool {
    let digits = m.trim_end_matches(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't']);
    !digits.is_empty() && m.len() - digits.len() <= 1 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `--time`: `[DAYS-]A[:B[:C]]` in Slurm's forms (with days, at least hours).
fn is_time(t: &str) -> bool {
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (days, rest) = match t.split_once('-') {
        Some((d, rest)) => (Some(d), rest),
        None => (None, t),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    days.is_none_or(number) && parts.len() <= 3 && parts.iter().all(|p| number(p))
}

/// What [`emit`] wrote.
#[derive(Debug)]
pub struct Emitted {
    /// One sbatch script per stage, in dependency order.
    pub scripts: Vec<PathBuf>,
    /// The script that submits them.
    pub submit: PathBuf,
    /// Where the jobs' logs go.
    pub logs: PathBuf,
}

/// `s` as one shell word.
fn quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `path` absolute (against the current folder; resolved through links
/// when `exists`), as text fit for both an `#SBATCH` line (in double
/// quotes) and a shell word.
fn absolute(path: &Path, exists: bool, what: &str) -> Result<String, PipelineError> {
    let abs = if exists {
        path.canonicalize()
    } else {
        std::path::absolute(path)
    }
    .map_err(|source| PipelineError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(source.kind(), format!("{what}: {source}")),
    })?;
    let text = abs
        .to_str()
        .filter(|t| !t.contains(['"', '\n']))
        .ok_or_else(|| PipelineError::Io {
            path: abs.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{what}: Slurm scripts cannot name this path (a double quote or line break in it, or not UTF-8)"),
            ),
        })?;
    Ok(text.to_string())
}

/// Writes `text` to `path` with mode `rwxr-xr-x`.
fn write_script(path: &Path, text: &str) -> Result<(), PipelineError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |source| PipelineError::Io {
        path: path.to_path_buf(),
        source,
    };
    lam_data::atomic::write_bytes_atomic(path, text.as_bytes()).map_err(io)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(io)
}

/// Writes the Slurm jobs of the planned `p` into `out`: one
/// `NNN-KEY.sbatch` per stage, in dependency order, each running
/// `LAM pipeline --config CONFIG --job KEY --threads CPUS` in the current
/// folder (where the experiment's relative paths are read from), with
/// the resources `settings` give its stage kind; `submit.sh`, which
/// submits those not done; and `logs/` for the jobs' output. `config`
/// (the experiment file `p` was planned from, checked against `settings`)
/// and `lam` (the binary the jobs run) are named by absolute paths.
pub fn emit(
    p: &Pipeline,
    settings: &SlurmSettings,
    config: &Path,
    lam: &Path,
    out: &Path,
) -> Result<Emitted, PipelineError> {
    settings
        .check()
        .map_err(|message| PipelineError::Experiment {
            file: config.to_path_buf(),
            message,
        })?;
    let here = std::env::current_dir().map_err(|source| PipelineError::Io {
        path: PathBuf::from("."),
        source,
    })?;
    let workdir = absolute(&here, true, "the current folder")?;
    let config_abs = absolute(config, true, "the experiment file")?;
    let lam_abs = absolute(lam, true, "the lam binary for the jobs")?;
    if !Path::new(&lam_abs).is_file() {
        return Err(PipelineError::Io {
            path: lam.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the lam binary for the jobs: not a file",
            ),
        });
    }
    let cache = absolute(&p.cache, false, "the cache")?;
    let out_abs = absolute(out, false, "the output folder")?;
    let logs = Path::new(&out_abs).join("logs");
    std::fs::create_dir_all(&logs).map_err(|source| PipelineError::Io {
        path: logs.clone(),
        source,
    })?;
    let width = p.stages.len().to_string().len().max(3);
    let mut scripts = Vec::new();
    let mut submits = String::new();
    for (i, s) in p.stages.iter().enumerate() {
        let name = format!("{:0width$}-{}.sbatch", i + 1, s.key);
        let file = Path::new(&out_abs).join(&name);
        let r = settings.request(s.stage.kind());
        let mut text = String::from("#!/bin/bash\n");
        let mut sbatch = |line: String| text.push_str(&format!("#SBATCH {line}\n"));
        sbatch(format!("--job-name={}", s.key));
        sbatch(format!("--output=\"{out_abs}/logs/{}-%j.out\"", s.key));
        sbatch(format!("--chdir=\"{workdir}\""));
        sbatch("--ntasks=1".into());
        sbatch(format!("--cpus-per-task={}", r.cpus));
        sbatch(format!("--mem={}", r.mem));
        sbatch(format!("--time={}", r.time));
        if r.gpus > 0 {
            sbatch(format!("--gres=gpu:{}", r.gpus));
        }
        if let Some(v) = &settings.partition {
            sbatch(format!("--partition={v}"));
        }
        if let Some(v) = &settings.account {
            sbatch(format!("--account={v}"));
        }
        // A job whose input failed is cancelled instead of pending forever.
        sbatch("--kill-on-invalid-dep=yes".into());
        for line in &settings.sbatch {
            sbatch(line.clone());
        }
        text.push_str(&format!(
            "# Stage {} of {} ({}): {}\n",
            i + 1,
            p.stages.len(),
            s.key,
            s.stage.command(&p.dir(&s.key))
        ));
        if !s.deps.is_empty() {
            text.push_str(&format!("# After: {}\n", s.deps.join(" ")));
        }
        text.push_str("set -euo pipefail\n");
        for line in &settings.setup {
            text.push_str(line);
            text.push('\n');
        }
        text.push_str(&format!(
            "export OMP_NUM_THREADS={cpus}\nexec {} pipeline --config {} --job {} --threads {cpus}\n",
            quote(&lam_abs),
            quote(&config_abs),
            s.key,
            cpus = r.cpus
        ));
        write_script(&file, &text)?;
        submits.push_str(&format!("submit {} {name}", s.key));
        for d in &s.deps {
            submits.push(' ');
            submits.push_str(d);
        }
        submits.push('\n');
        scripts.push(file);
    }
    let submit = Path::new(&out_abs).join("submit.sh");
    write_script(
        &submit,
        &SUBMIT
            .replace("@STAGES@", &p.stages.len().to_string())
            .replace("@CONFIG@", &config_abs)
            .replace("@QCONFIG@", &quote(&config_abs))
            .replace("@DIR@", &quote(&out_abs))
            .replace("@CACHE@", &quote(&cache))
            .replace("@WORKDIR@", &quote(&workdir))
            .replace("@QLAM@", &quote(&lam_abs))
            .replace("@SUBMITS@", &submits),
    )?;
    Ok(Emitted {
        scripts,
        submit,
        logs,
    })
}

/// `submit.sh`: the placeholders are filled by [`emit`].
const SUBMIT: &str = r#"#!/usr/bin/env bash
# Submits the @STAGES@ stages of @CONFIG@ to Slurm, each after the jobs
# of the stages it needs (--dependency=afterok). Whether a stage is done
# is looked up now: a stage with a .done marker in the cache is not
# submitted (and the stages after it do not wait for it), and a stage
# whose script is queued or running already is waited for, not submitted
# again. Run it again after a failure to submit what is left.
# SBATCH and SQUEUE name other commands for sbatch and squeue.
set -euo pipefail
dir=@DIR@
cache=@CACHE@
sbatch_cmd=${SBATCH:-sbatch}
squeue_cmd=${SQUEUE:-squeue}

# Jobs of this folder's scripts already queued or running: script -> id.
declare -A queued=()
if listing=$("$squeue_cmd" --noheader --user="$(id -un)" \
    --states=PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED,REQUEUED \
    --format='%i|%o' 2>/dev/null); then
  while IFS='|' read -r id script; do
    [ -n "$id" ] && queued["$script"]=$id
  done <<<"$listing"
fi

declare -A job=()
submitted=0 cached=0 waiting=0
# submit KEY SCRIPT DEP...: submits SCRIPT unless KEY is done or queued.
submit() {
  local key=$1 script="$dir/$2" after="" d id
  shift 2
  if [ -e "$cache/$key/.done" ]; then
    cached=$((cached + 1))
    return
  fi
  if [ -n "${queued[$script]:-}" ]; then
    job[$key]=${queued[$script]}
    waiting=$((waiting + 1))
    echo "$key: job ${job[$key]} (queued already)"
    return
  fi
  for d in "$@"; do
    if [ -n "${job[$d]:-}" ]; then
      after="$after:${job[$d]}"
    elif [ ! -e "$cache/$d/.done" ]; then
      echo "submit.sh: $key needs $d, which is neither done nor submitted" >&2
      exit 1
    fi
  done
  if [ -n "$after" ]; then
    id=$("$sbatch_cmd" --parsable --dependency="afterok$after" "$script")
  else
    id=$("$sbatch_cmd" --parsable "$script")
  fi
  job[$key]=${id%%;*}
  submitted=$((submitted + 1))
  echo "$key: job ${job[$key]}${after:+ after ${after#:}}"
}

@SUBMITS@
echo "@STAGES@ stages: $submitted submitted, $waiting queued already, $cached done (cache $cache)"
if [ $((submitted + waiting)) -gt 0 ]; then
  echo "logs: $dir/logs; once the jobs are done, this collects the results (every stage cached):"
else
  echo "every stage is done; this collects the results:"
fi
echo "  cd @WORKDIR@ && @QLAM@ pipeline --config @QCONFIG@"
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Experiment;
    use std::collections::BTreeMap;

    /// Writes an executable shell script.
    fn tool(path: &Path, body: &str) {
        write_script(path, &format!("#!/usr/bin/env bash\n{body}")).unwrap();
    }

    /// The example experiment's scripts, submitted through stand-ins for
    /// sbatch and squeue: a done stage is not submitted and nothing waits
    /// for it, a queued one is waited for, not submitted again, and every
    /// other stage is submitted once, after its inputs' jobs.
    #[test]
    fn submit_chains_what_is_left() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let config = root.join("examples/pipeline.toml");
        let tmp = std::env::temp_dir().join(format!("lam-slurm-emit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).unwrap();
        let mut x = Experiment::read(&config).unwrap();
        x.data.experts = root.join("experts");
        x.cache = tmp.join("cache");
        let p = Pipeline::plan(&x, &config, &[], "test").unwrap();
        let settings: SlurmSettings =
            toml::from_str("partition = \"cpu\"\n[lam]\ncpus = 3\ngpus = 1\n").unwrap();
        let lam = tmp.join("lam");
        std::fs::write(&lam, "").unwrap();
        let jobs = tmp.join("jobs");
        let err = emit(&p, &settings, &config, &tmp.join("nope"), &jobs).unwrap_err();
        assert!(
            err.to_string().contains("the lam binary for the jobs"),
            "{err}"
        );
        let out = emit(&p, &settings, &config, &lam, &jobs).unwrap();
        assert_eq!(out.scripts.len(), p.stages.len());
        assert!(out.logs.is_dir());
        for (s, file) in p.stages.iter().zip(&out.scripts) {
            let text = std::fs::read_to_string(file).unwrap();
            let cpus = if s.stage.kind() == "lam" {
                3
            } else {
                settings.request(s.stage.kind()).cpus
            };
            for line in [
                format!("#SBATCH --job-name={}\n", s.key),
                format!("#SBATCH --cpus-per-task={cpus}\n"),
                "#SBATCH --partition=cpu\n".into(),
                format!("--job {} --threads {cpus}\n", s.key),
                format!(
                    "exec {} pipeline --config {}",
                    lam.canonicalize().unwrap().display(),
                    config.canonicalize().unwrap().display()
                ),
            ] {
                assert!(
                    text.contains(&line),
                    "{} lacks {line:?}:\n{text}",
                    file.display()
                );
            }
            assert_eq!(
                text.contains("--gres=gpu:1"),
                s.stage.kind() == "lam",
                "{text}"
            );
        }

        // The first stage is done, the second queued as job 77.
        let done = &p.stages[0];
        std::fs::create_dir_all(p.dir(&done.key)).unwrap();
        std::fs::write(p.dir(&done.key).join(".done"), "").unwrap();
        let queued = &p.stages[1];
        assert!(queued.deps.is_empty() && done.deps.is_empty());
        tool(
            &tmp.join("squeue"),
            &format!("echo '77|{}'\n", out.scripts[1].display()),
        );
        let log = tmp.join("sbatch.log");
        tool(
            &tmp.join("sbatch"),
            &format!(
                "echo \"$*\" >> {log}\necho \"$(( $(wc -l < {log}) + 100 ));cluster\"\n",
                log = log.display()
            ),
        );
        let run = std::process::Command::new("bash")
            .arg(&out.submit)
            .env("SBATCH", tmp.join("sbatch"))
            .env("SQUEUE", tmp.join("squeue"))
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "{said}{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let n = p.stages.len();
        assert!(
            said.contains(&format!(
                "{n} stages: {} submitted, 1 queued already, 1 done",
                n - 2
            )),
            "{said}"
        );
        // sbatch's calls: job 100 + i is the i-th submitted.
        let mut ids = BTreeMap::from([(queued.key.clone(), "77".to_string())]);
        let calls = std::fs::read_to_string(&log).unwrap();
        let calls: Vec<&str> = calls.lines().collect();
        assert_eq!(calls.len(), n - 2);
        for (i, (s, file)) in p.stages.iter().zip(&out.scripts).skip(2).enumerate() {
            let call = calls[i];
            assert!(
                call.starts_with("--parsable ") && call.ends_with(&file.display().to_string()),
                "{call}"
            );
            let after: Vec<&str> = s
                .deps
                .iter()
                .filter(|d| **d != done.key)
                .map(|d| ids[d].as_str())
                .collect();
            let expected = if after.is_empty() {
                String::new()
            } else {
                format!("--dependency=afterok:{} ", after.join(":"))
            };
            assert_eq!(
                &call["--parsable ".len()..call.len() - file.display().to_string().len()],
                expected,
                "{}",
                s.key
            );
            ids.insert(s.key.clone(), (101 + i).to_string());
        }
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn requests_fall_back_from_the_kind_to_all_to_the_default() {
        let s: SlurmSettings = toml::from_str(
            r#"
            [all]
            time = "01:00:00"
            [lam]
            cpus = 3
            mem = "5G"
            "#,
        )
        .unwrap();
        s.check().unwrap();
        let lam = s.request("lam");
        assert_eq!(
            (lam.cpus, lam.mem.as_str(), lam.time.as_str()),
            (3, "5G", "01:00:00")
        );
        let labeled = s.request("labeled");
        assert_eq!((labeled.cpus, labeled.gpus), (1, 0));
        assert_eq!(labeled.time, "01:00:00");
        // Training asks for more than a labeled subset by default.
        let d = SlurmSettings::default();
        assert!(d.request("bc").cpus > d.request("labeled").cpus);
        assert_eq!(d.request("data").time, "04:00:00");
    }

    #[test]
    fn bad_fields_are_named() {
        for (text, field) in [
            ("[lam]\ntime = \"4h\"", "slurm.lam.time"),
            ("[eval]\nmem = \"lots\"", "slurm.eval.mem"),
            ("[all]\ncpus = 0", "slurm.all.cpus"),
            ("partition = \"a b\"", "slurm.partition"),
            ("sbatch = [\"qos=long\"]", "slurm.sbatch"),
        ] {
            let s: SlurmSettings = toml::from_str(text).unwrap();
            let err = s.check().unwrap_err();
            assert!(err.starts_with(field), "{text}: {err}");
        }
        for ok in ["30", "10:00", "12:00:00", "2-0", "2-12:00", "1-00:00:00"] {
            assert!(is_time(ok), "{ok}");
        }
        for bad in ["", "1h", "1:2:3:4", "-1", "a-10"] {
            assert!(!is_time(bad), "{bad}");
        }
        for ok in ["500", "16G", "1024M", "2t"] {
            assert!(is_memory(ok), "{ok}");
        }
        for bad in ["", "G", "16GB", "1.5G"] {
            assert!(!is_memory(bad), "{bad}");
        }
    }

    #[test]
    fn words_are_quoted_for_the_shell() {
        assert_eq!(quote("/a/b-c_1.toml"), "/a/b-c_1.toml");
        assert_eq!(quote("/a b/c"), "'/a b/c'");
        assert_eq!(quote("it's"), "'it'\\''s'");
    }
}
