//! Makes every example callable from `tests/run_examples.rs`: for each `examples/<name>.rs`,
//! writes a copy to `$OUT_DIR/examples/<name>.rs` whose `main` is `pub`, and
//! `$OUT_DIR/examples/mod.rs` declaring one module per example plus `EXAMPLES`, their names.
//!
//! The examples keep their plain `fn main` (what `cargo run --example` needs, and what a reader
//! copies); the test binary runs each `main` in-process against its own testbed, so
//! `cargo test` runs every example with no extra step and links them once.
// Cargo reads a build script's instructions from its stdout.
#![allow(clippy::print_stdout)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let source_dir = Path::new("examples");
    println!("cargo::rerun-if-changed={}", source_dir.display());
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?).join("examples");
    std::fs::create_dir_all(&out_dir)?;

    let mut names = Vec::new();
    for entry in std::fs::read_dir(source_dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            println!("cargo::rerun-if-changed={}", path.display());
            names.push(path);
        }
    }
    names.sort();

    let mut modules = String::from("/// Every example, by name.\npub const EXAMPLES: &[&str] = &[");
    for path in &names {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("{} has no UTF-8 name", path.display()))?;
        write!(modules, "{name:?}, ")?;
    }
    modules.push_str("];\n");

    for path in &names {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| format!("{} has no UTF-8 name", path.display()))?;
        let text = std::fs::read_to_string(path)?;
        let mut found = false;
        let public: Vec<String> = text
            .lines()
            .map(|line| {
                if ["fn main(", "async fn main("]
                    .iter()
                    .any(|start| line.starts_with(start))
                {
                    found = true;
                    format!("pub {line}")
                } else {
                    found |=
                        line.starts_with("pub fn main(") || line.starts_with("pub async fn main(");
                    line.to_owned()
                }
            })
            .collect();
        if !found {
            return Err(format!(
                "{}: no top-level `fn main(` or `async fn main(` line (at the start of a line) to call from for tests/run_examples.rs",
                path.display()
            )
            .into());
        }
        let copy = out_dir.join(format!("{name}.rs"));
        std::fs::write(&copy, public.join("\n") + "\n")?;
        write!(
            modules,
            "#[path = {:?}]\npub mod {name};\n",
            copy.display().to_string()
        )?;
    }
    std::fs::write(out_dir.join("mod.rs"), modules)?;
    Ok(())
}
