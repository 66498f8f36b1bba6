//! `safe-tracker-header [--check]`: writes `include/safe_tracker.h` from `bindings-c` with the
//! pinned cbindgen, or (with `--check`) fails when the committed header differs.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    // `cargo run` sets CARGO_MANIFEST_DIR for the process: prefer it to the compile-time value,
    // so a binary that a shared target directory reuses from another checkout reads this one.
    let root = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("../..");
    let crate_dir = root.join("bindings-c");
    let config = match cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot read cbindgen.toml: {e}");
            return ExitCode::FAILURE;
        }
    };
    let header = match cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
    {
        Ok(b) => {
            let mut out = Vec::new();
            b.write(&mut out);
            out
        }
        Err(e) => {
            eprintln!("cbindgen failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let path = root.join("include/safe_tracker.h");
    if std::env::args().any(|a| a == "--check") {
        let committed = std::fs::read(&path).unwrap_or_default();
        if committed != header {
            eprintln!(
                "include/safe_tracker.h is out of date: run `cargo run -p safe-tracker-header` and commit it"
            );
            return ExitCode::FAILURE;
        }
        println!("include/safe_tracker.h is up to date");
    } else if let Err(e) = std::fs::write(&path, header) {
        eprintln!("cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
