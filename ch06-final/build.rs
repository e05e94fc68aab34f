//! Generates shell completions (clap_complete) and man pages (clap_mangen)
//! from the same command-line definitions the binary uses (`src/cli.rs`).
//!
//! They are written to `OUT_DIR` and copied beside the binary:
//! `target/<profile>/completions/` (bash, zsh, fish) and
//! `target/<profile>/man/` (`mydocker.1` and one page per command).

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

#[allow(dead_code)]
#[path = "src/cli.rs"]
mod cli;

fn main() -> std::io::Result<()> {
    println!("cargo:rerun-if-changed=src/cli.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    generate(&out)?;
    // OUT_DIR is target/<profile>/build/ch06-final-<hash>/out.
    if let Some(profile_dir) = out.ancestors().nth(3) {
        generate(profile_dir)?;
    }
    Ok(())
}

fn generate(dir: &Path) -> std::io::Result<()> {
    let mut cmd = cli::Cli::command();
    let completions = dir.join("completions");
    std::fs::create_dir_all(&completions)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut cmd, "mydocker", &completions)?;
    }
    let man = dir.join("man");
    std::fs::create_dir_all(&man)?;
    clap_mangen::generate_to(cmd, &man)?;
    // Pages for clap's `help` subcommands say nothing the others do not.
    for entry in std::fs::read_dir(&man)? {
        let path = entry?.path();
        if path.to_string_lossy().contains("-help") {
            std::fs::remove_file(path)?;
        }
    }
    Ok(())
}
