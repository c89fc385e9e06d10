//! Helpers to run the real `distrinas` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (where `Cargo.toml` is).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A path relative to the repository root.
pub fn repo(rel: &str) -> PathBuf {
    root().join(rel)
}

/// Runs `distrinas` with `args` from the repository root.
pub fn run(args: &[&str]) -> Output {
    run_in(&root(), args)
}

/// Runs `distrinas` with `args` from `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_distrinas"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the distrinas binary runs")
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `distrinas` with `args` writing into a pipe whose reading end is already closed
/// (what `distrinas … | head` does once `head` has exited).
#[cfg(unix)]
pub fn run_into_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_distrinas"))
        .args(args)
        .current_dir(root())
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("the distrinas binary runs")
}
