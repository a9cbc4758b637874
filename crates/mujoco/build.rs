//! Links Debian's libmujoco (package libmujoco-dev, version 2.2.2).
fn main() {
    println!("cargo:rustc-link-lib=dylib=mujoco");
}
