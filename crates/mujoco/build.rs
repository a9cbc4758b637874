//! Links Debian's libmujoco (package libmujoco-dev, version 2.2.2) and
//! compiles the C reference loop used by `lam bench physics`.
fn main() {
    println!("cargo:rerun-if-changed=csrc/step_loop.c");
    cc::Build::new()
        .file("csrc/step_loop.c")
        .opt_level(2)
        .compile("lam_step_loop");
    println!("cargo:rustc-link-lib=dylib=mujoco");
}
