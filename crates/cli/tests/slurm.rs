//! `lam pipeline --emit slurm` on a real single-node Slurm that the test
//! starts itself: munged with a key of its own, slurmctld and slurmd on
//! localhost, their configuration, state and logs in a scratch folder.
//! The tiny experiment submitted through `submit.sh` runs to completion
//! with the results of a local run of the same experiment; submitting
//! again while it runs, and after, submits nothing.
//!
//! The scripts and the errors of bad requests are checked everywhere; the
//! rest is skipped, saying why, where the daemons are not installed or
//! cannot be started (they run as root); `make slurm-test` installs them (Debian's
//! slurm-wlm and munge) and sets LAM_SLURM_TEST_REQUIRED=1, under which a
//! skip is a failure.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{fails, scratch, tiny_experiment};

/// Set (to anything) to make a skip fail the test.
const REQUIRED: &str = "LAM_SLURM_TEST_REQUIRED";

/// How long the submitted pipeline may take.
const PIPELINE_TIMEOUT: Duration = Duration::from_secs(900);

/// Says why the test does not run; a failure under [`REQUIRED`].
fn skip(reason: &str) {
    assert!(
        std::env::var_os(REQUIRED).is_none(),
        "{REQUIRED} is set but the Slurm test cannot run: {reason}"
    );
    eprintln!(
        "skipped the Slurm test: {reason}\n(run it with `make slurm-test`, which installs slurm-wlm and munge)"
    );
}

/// `name` in PATH or the sbin folders.
fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A free TCP port on localhost (free when asked).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Output text of a finished command: stdout, then stderr.
fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The last `n` lines of `file` (or why there are none).
fn tail(file: &Path, n: usize) -> String {
    match std::fs::read_to_string(file) {
        Ok(t) => {
            let lines: Vec<&str> = t.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("({}: {e})", file.display()),
    }
}

/// munged, slurmctld and slurmd, stopped (TERM, then KILL) when dropped.
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
    daemons: Vec<(&'static str, Child)>,
}

impl Cluster {
    /// Starts the three daemons with their files in `dir`; waits for the
    /// node to be idle.
    fn start(dir: &Path) -> Result<Self, String> {
        let mut c = Cluster {
            dir: dir.to_path_buf(),
            conf: dir.join("slurm.conf"),
            daemons: Vec::new(),
        };
        let munge = dir.join("munge");
        for sub in ["state", "spool", "log", "munge"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| e.to_string())?;
        }
        // A key of our own, readable by its owner only (munged insists).
        let mut key = vec![0u8; 1024];
        let mut rng = std::fs::File::open("/dev/urandom").map_err(|e| e.to_string())?;
        std::io::Read::read_exact(&mut rng, &mut key).map_err(|e| e.to_string())?;
        let key_file = munge.join("munge.key");
        std::fs::write(&key_file, &key).map_err(|e| e.to_string())?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o400))
            .map_err(|e| e.to_string())?;
        let socket = munge.join("munge.socket");
        let path = |p: &Path| p.display().to_string();
        c.spawn(
            "munged",
            &[
                "--foreground",
                "--force",
                &format!("--key-file={}", path(&key_file)),
                &format!("--socket={}", path(&socket)),
                &format!("--pid-file={}", path(&munge.join("munged.pid"))),
                &format!("--log-file={}", path(&munge.join("munged.log"))),
                &format!("--seed-file={}", path(&munge.join("munged.seed"))),
            ],
        )?;
        c.wait_for("munged's socket", Duration::from_secs(20), |_| {
            socket.exists()
        })?;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
        let conf = format!(
            "# A one-node cluster on localhost for the lam Slurm test.
ClusterName=lamtest
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctld}
SlurmdPort={slurmd}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={socket}
StateSaveLocation={dir}/state
SlurmdSpoolDir={dir}/spool
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd.pid
SlurmctldLogFile={dir}/log/slurmctld.log
SlurmdLogFile={dir}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
",
            ctld = free_port(),
            slurmd = free_port(),
            socket = path(&socket),
            dir = path(dir),
        );
        std::fs::write(&c.conf, conf).map_err(|e| e.to_string())?;
        c.spawn("slurmctld", &["-D", "-i"])?;
        c.spawn("slurmd", &["-D", "-N", "localhost"])?;
        c.wait_for("the node to be idle", Duration::from_secs(60), |c| {
            c.run("sinfo", &["--noheader", "--Node", "--format=%t"])
                .is_ok_and(|t| t.trim() == "idle")
        })?;
        Ok(c)
    }

    /// Starts daemon `name` with `args`, its output into log/NAME.out.
    fn spawn(&mut self, name: &'static str, args: &[&str]) -> Result<(), String> {
        let exe = program(name).ok_or(format!("{name} not found"))?;
        let out = std::fs::File::create(self.dir.join("log").join(format!("{name}.out")))
            .map_err(|e| e.to_string())?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = self
            .command(exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("{name}: {e}"))?;
        self.daemons.push((name, child));
        Ok(())
    }

    /// A command that talks to this cluster (and to no other).
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("SLURM_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("SLURM_CONF", &self.conf);
        cmd
    }

    /// Runs a Slurm client; its output, or its failure with the output.
    fn run(&self, program: &str, args: &[&str]) -> Result<String, String> {
        let out = self
            .command(program)
            .args(args)
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!("{program} {args:?}: {}", text(&out)))
        }
    }

    /// Polls `ready` until it holds; an error (naming what was awaited,
    /// with the daemons' logs) after `timeout` or when a daemon exits.
    fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        ready: impl Fn(&Self) -> bool,
    ) -> Result<(), String> {
        let start = Instant::now();
        while !ready(self) {
            let exited = self
                .daemons
                .iter_mut()
                .find_map(|(name, child)| Some((*name, child.try_wait().ok()??)));
            if let Some((name, status)) = exited {
                return Err(format!(
                    "{name} exited ({status}) while waiting for {what}:\n{}",
                    self.logs()
                ));
            }
            if start.elapsed() > timeout {
                return Err(format!("no {what} after {timeout:?}:\n{}", self.logs()));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Ok(())
    }

    /// The tails of the daemons' logs.
    fn logs(&self) -> String {
        let log = self.dir.join("log");
        [
            log.join("munged.out"),
            self.dir.join("munge/munged.log"),
            log.join("slurmctld.out"),
            log.join("slurmctld.log"),
            log.join("slurmd.out"),
            log.join("slurmd.log"),
        ]
        .iter()
        .map(|f| format!("== {}\n{}", f.display(), tail(f, 15)))
        .collect::<Vec<_>>()
        .join("\n")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // slurmd before slurmctld before munged: the reverse of the start.
        while let Some((_, mut child)) = self.daemons.pop() {
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let start = Instant::now();
            while child.try_wait().ok().flatten().is_none() {
                if start.elapsed() > Duration::from_secs(10) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Runs `lam` in `dir`, which must succeed; its output.
fn lam_in(dir: &Path, cluster: Option<&Cluster>, args: &[&str]) -> String {
    let exe = env!("CARGO_BIN_EXE_lam");
    let mut cmd = match cluster {
        Some(c) => c.command(exe),
        None => Command::new(exe),
    };
    let out = cmd.current_dir(dir).args(args).output().unwrap();
    assert!(out.status.success(), "lam {args:?} failed:\n{}", text(&out));
    text(&out)
}

/// `submit.sh`'s counts: (submitted, queued already, done).
fn counts(report: &str) -> (usize, usize, usize) {
    let line = report
        .lines()
        .find(|l| l.contains(" stages: "))
        .unwrap_or_else(|| panic!("no summary in:\n{report}"));
    let n = |what: &str| -> usize {
        let before = line.split(what).next().unwrap();
        before
            .trim_end()
            .rsplit([' ', ','])
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|e| panic!("{what} in {line:?}: {e}"))
    };
    (n(" submitted"), n(" queued already"), n(" done"))
}

/// The finished stages of a cache and their results files (eval.json,
/// probe.json) as JSON.
fn results(cache: &Path) -> BTreeMap<String, Vec<serde_json::Value>> {
    let mut all = BTreeMap::new();
    for entry in std::fs::read_dir(cache).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join(".done").exists() {
            continue;
        }
        let key = dir.file_name().unwrap().to_string_lossy().into_owned();
        let files = ["eval.json", "probe.json"]
            .iter()
            .filter_map(|f| std::fs::read_to_string(dir.join(f)).ok())
            .map(|t| serde_json::from_str(&t).unwrap())
            .collect();
        all.insert(key, files);
    }
    all
}

/// The cluster in `dir`, or `None` after saying why it cannot run here.
fn start_or_skip(dir: &Path) -> Option<Cluster> {
    let missing: Vec<&str> = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo"]
        .into_iter()
        .filter(|p| program(p).is_none())
        .collect();
    let reason = if !missing.is_empty() {
        format!("{} not installed", missing.join(", "))
    } else if unsafe { libc::geteuid() } != 0 {
        "not root (the test runs slurmctld and slurmd as SlurmUser=root)".into()
    } else {
        match Cluster::start(dir) {
            Ok(c) => return Some(c),
            Err(e) => format!("the daemons did not start: {e}"),
        }
    };
    skip(&reason);
    None
}

/// Extra settings of the experiment: one CPU (the libtorch threads of the
/// local run) and little memory for every job, evaluations their own time.
const SLURM: &str = r#"
[slurm]
sbatch = ["--nice=0"]
setup = ["echo \"stage on $(hostname)\""]

[slurm.all]
cpus = 1
mem = "500M"
time = "00:15:00"

[slurm.eval]
time = "00:20:00"
"#;

#[test]
fn a_tiny_pipeline_runs_through_slurm_as_it_runs_locally() {
    // Writing the scripts needs no Slurm: checked everywhere.
    let root = scratch("slurm", "run").canonicalize().unwrap();
    // The same experiment in two folders: relative cache paths give both
    // the same stage keys.
    let experiment = format!("{}{SLURM}", tiny_experiment("cache", 4));
    let (local, batch) = (root.join("local"), root.join("slurm"));
    for d in [&local, &batch] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("experiment.toml"), &experiment).unwrap();
    }

    // The scripts: one per stage, with the experiment's resources.
    let said = lam_in(
        &batch,
        None,
        &[
            "pipeline",
            "--config",
            "experiment.toml",
            "--emit",
            "slurm",
            "jobs",
        ],
    );
    assert!(said.contains("sbatch scripts"), "{said}");
    assert!(!batch.join("cache").exists(), "emitting ran stages");
    let jobs = batch.join("jobs");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&jobs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sbatch"))
        .collect();
    scripts.sort();
    let (ok, listed) = common::lam(&[
        "pipeline",
        "--config",
        batch.join("experiment.toml").to_str().unwrap(),
        "--emit",
        "jobs",
    ]);
    assert!(ok, "{listed}");
    let stages = listed
        .lines()
        .filter(|l| l.starts_with("lam pipeline"))
        .count();
    assert_eq!(scripts.len(), stages, "{listed}");
    for s in &scripts {
        let t = std::fs::read_to_string(s).unwrap();
        let time = if t.contains("--job eval-") {
            "00:20:00"
        } else {
            "00:15:00"
        };
        for line in [
            "#SBATCH --cpus-per-task=1\n".to_string(),
            "#SBATCH --mem=500M\n".into(),
            format!("#SBATCH --time={time}\n"),
            format!("#SBATCH --chdir=\"{}\"\n", batch.display()),
            "#SBATCH --nice=0\n".into(),
            format!("--config {}", batch.join("experiment.toml").display()),
            " --threads 1\n".into(),
        ] {
            assert!(t.contains(&line), "{} lacks {line:?}:\n{t}", s.display());
        }
    }

    // Bad requests fail naming what is wrong.
    let c = batch.join("experiment.toml");
    let c = c.to_str().unwrap();
    let said = fails(&["pipeline", "--config", c, "--emit", "slurm"]);
    assert!(said.contains("--emit slurm DIR"), "{said}");
    let said = fails(&["pipeline", "--config", c, "--emit", "sge", "x"]);
    assert!(said.contains("expected `jobs` or `slurm DIR`"), "{said}");
    let bad = root.join("bad.toml");
    std::fs::write(&bad, experiment.replace("00:20:00", "20 minutes")).unwrap();
    let said = fails(&[
        "pipeline",
        "--config",
        bad.to_str().unwrap(),
        "--emit",
        "slurm",
        root.join("bad").to_str().unwrap(),
    ]);
    assert!(
        said.contains(&format!(
            "{}: slurm.eval.time = \"20 minutes\"",
            bad.display()
        )),
        "{said}"
    );
    let said = fails(&[
        "pipeline",
        "--config",
        c,
        "--emit",
        "slurm",
        root.join("x").to_str().unwrap(),
        "--lam",
        "/no/lam",
    ]);
    assert!(said.contains("the lam binary for the jobs"), "{said}");

    let Some(cluster) = start_or_skip(&root.join("cluster")) else {
        std::fs::remove_dir_all(&root).unwrap();
        return;
    };
    let started = Instant::now();

    // Submitted, and again while it runs: the second finds every stage queued.
    let submit = jobs.join("submit.sh");
    let first = cluster.run("bash", &[submit.to_str().unwrap()]).unwrap();
    assert_eq!(counts(&first), (stages, 0, 0), "{first}");
    assert!(first.contains(" after "), "no dependencies:\n{first}");
    let again = cluster.run("bash", &[submit.to_str().unwrap()]).unwrap();
    let (submitted, queued, done) = counts(&again);
    assert_eq!(submitted, 0, "{again}");
    assert_eq!(queued + done, stages, "{again}");

    // The local run meanwhile, one thread as the jobs have.
    let local_said = lam_in(
        &local,
        None,
        &["pipeline", "--config", "experiment.toml", "--threads", "1"],
    );
    assert!(local_said.contains("run, 0 cached"), "{local_said}");

    let deadline = Instant::now() + PIPELINE_TIMEOUT;
    loop {
        let queue = cluster
            .run("squeue", &["--noheader", "--format=%i %j %T %r"])
            .unwrap();
        if queue.trim().is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "jobs still queued after {PIPELINE_TIMEOUT:?}:\n{queue}\n{}",
            cluster.logs()
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    let ran = started.elapsed();

    // Every stage done, each job's log saying so; the results are the local run's.
    let logs: Vec<String> = std::fs::read_dir(jobs.join("logs"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let (here, there) = (results(&local.join("cache")), results(&batch.join("cache")));
    if here.len() != there.len() {
        panic!(
            "{} of {} stages done through Slurm; job logs:\n{}\n{}",
            there.len(),
            here.len(),
            logs.join("\n"),
            cluster.logs()
        );
    }
    assert_eq!(here.len(), stages);
    assert_eq!(logs.len(), stages);
    assert!(
        logs.iter()
            .all(|l| l.contains(": done\n") && l.contains("stage on ")),
        "{logs:?}"
    );
    let mut compared = 0;
    for (key, files) in &here {
        let other = there
            .get(key)
            .unwrap_or_else(|| panic!("{key} done locally, not through Slurm"));
        assert_eq!(files, other, "{key}: results differ");
        compared += files.len();
    }
    assert!(compared >= 10, "{compared} results files compared");

    // All cached: nothing submitted, and a local run of it runs nothing
    // and lists the local run's results.
    let after = cluster.run("bash", &[submit.to_str().unwrap()]).unwrap();
    assert_eq!(counts(&after), (0, 0, stages), "{after}");
    assert!(after.contains("every stage is done"), "{after}");
    let collected = lam_in(&batch, None, &["pipeline", "--config", "experiment.toml"]);
    assert!(
        collected.contains(&format!("0 run, {stages} cached")),
        "{collected}"
    );
    let table = |d: &Path| {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("cache/pipeline.json")).unwrap())
                .unwrap();
        v["results"].clone()
    };
    assert_eq!(table(&local), table(&batch));
    eprintln!(
        "{stages} stages through Slurm in {:.0} s (with the local run beside them)",
        ran.as_secs_f64()
    );
    drop(cluster);
    std::fs::remove_dir_all(&root).unwrap();
}
