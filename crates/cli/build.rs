//! Lets binaries and tests of this crate find libtorch at run time without
//! LD_LIBRARY_PATH: torch-sys tells us its lib folder, we record it as rpath.
//! Also records the git commit built (`LAM_BUILD_COMMIT`) so pipeline
//! stages can say which build made them.
fn main() {
    record_commit();
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        println!("cargo:rerun-if-changed={lib}");
        // A CUDA libtorch is only used if libtorch_cuda stays linked; the
        // default --as-needed would drop it since nothing names its symbols.
        if std::path::Path::new(&lib).join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
    }
}

/// Sets `LAM_BUILD_COMMIT` to the checkout's commit, rerun when HEAD or
/// the branch moves; left unset outside a git checkout of this repository
/// (a tarball, or one unpacked inside another repository). Uncommitted
/// edits are not tracked: the commit is the last one made.
fn record_commit() {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("--no-optional-locks")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    println!("cargo:rerun-if-changed=build.rs");
    let manifest =
        std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let ours = manifest.join("../..").canonicalize().ok();
    let top = git(&["rev-parse", "--show-toplevel"])
        .and_then(|t| std::path::Path::new(&t).canonicalize().ok());
    if top.is_none() || top != ours {
        return;
    }
    let Some(commit) = git(&["rev-parse", "--short=12", "HEAD"]) else {
        return;
    };
    println!("cargo:rustc-env=LAM_BUILD_COMMIT={commit}");
    for dir in [
        git(&["rev-parse", "--git-dir"]),
        git(&["rev-parse", "--git-common-dir"]),
    ]
    .into_iter()
    .flatten()
    {
        for f in ["HEAD", "packed-refs", "refs/heads"] {
            let path = std::path::Path::new(&dir).join(f);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
}
