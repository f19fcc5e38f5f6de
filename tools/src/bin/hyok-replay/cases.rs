//! The test-case files of a directory, replayed in path order, and their counts per
//! profile.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::replay::{self, Outcome, Scope, Target};

/// The outcome of every `.xml` file under `dir`, in path order.
pub fn replay_dir(dir: &Path, target: &Target) -> Result<Vec<(PathBuf, Outcome)>, String> {
    let mut files = Vec::new();
    collect(dir, &mut files).map_err(|e| format!("{}: {e}", dir.display()))?;
    files.sort();
    let scope = Scope {
        operations: replay::served_operations(target)?,
    };
    Ok(files
        .into_iter()
        .map(|file| {
            let outcome = replay::replay_file(&file, target, &scope);
            (file, outcome)
        })
        .collect())
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "xml") {
            out.push(path);
        }
    }
    Ok(())
}

/// The profile of a test-case file: its name without the case and version numbers
/// (`SKLC-M-1-21.xml` → `SKLC-M`).
pub fn profile(file: &Path) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parts: Vec<&str> = stem.split('-').collect();
    let keep = parts
        .iter()
        .rposition(|p| !p.chars().all(|c| c.is_ascii_digit()))
        .map_or(parts.len(), |i| i + 1);
    parts[..keep].join("-")
}

/// (pass, fail, skipped) per profile.
pub fn counts(results: &[(PathBuf, Outcome)]) -> BTreeMap<String, (usize, usize, usize)> {
    let mut counts = BTreeMap::new();
    for (file, outcome) in results {
        let entry = counts.entry(profile(file)).or_insert((0, 0, 0));
        match outcome {
            Outcome::Pass => entry.0 += 1,
            Outcome::Fail(_) => entry.1 += 1,
            Outcome::Skipped(_) => entry.2 += 1,
        }
    }
    counts
}
