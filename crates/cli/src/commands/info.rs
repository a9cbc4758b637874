//! `lam info`.

use anyhow::Result;

/// Prints versions of MuJoCo and libtorch and where the model files are.
pub fn run() -> Result<()> {
    let v = lam_mujoco::version();
    println!("lam {}", env!("CARGO_PKG_VERSION"));
    println!("mujoco: {}.{}.{}", v / 100, (v / 10) % 10, v % 10);
    println!("{}", lam_models::toolkit::device::describe());
    match lam_env::assets::models_dir() {
        Ok(dir) => println!("model files: {}", dir.display()),
        Err(e) => println!("model files: {e}"),
    }
    Ok(())
}
