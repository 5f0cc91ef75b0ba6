//! Records the git revision and the compiler version for the `<exporter>_build_info` metric.

use std::process::Command;

fn main() {
    let revision = command_output("git", &["rev-parse", "--short=12", "HEAD"]);
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let rustc_version = command_output(&rustc, &["--version"]);
    println!(
        "cargo:rustc-env=KIT_GIT_REVISION={}",
        revision.unwrap_or_else(unknown)
    );
    println!(
        "cargo:rustc-env=KIT_RUSTC_VERSION={}",
        rustc_version.unwrap_or_else(unknown)
    );

    // A new commit changes HEAD or the ref it points at; rebuild so the revision stays true.
    for path in [
        "../../.git/HEAD",
        "../../.git/refs/heads",
        "../../.git/packed-refs",
    ] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    Some(text.trim().to_string())
}

fn unknown() -> String {
    "unknown".to_string()
}
