//! Lets binaries and tests of this crate find libtorch at run time without
//! LD_LIBRARY_PATH: torch-sys tells us its lib folder, we record it as rpath.
fn main() {
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        // A CUDA libtorch is only used if libtorch_cuda stays linked; the
        // default --as-needed would drop it since nothing names its symbols.
        if std::path::Path::new(&lib).join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
    }
}
