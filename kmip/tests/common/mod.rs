//! The OASIS test cases shared by the codec tests: where they are, and their
//! placeholders replaced by concrete values.
#![allow(dead_code)] // each test binary uses part of it

use std::path::{Path, PathBuf};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub fn vector_dir() -> PathBuf {
    let dir = std::env::var_os("HYOK_KMIP_TESTCASES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oasis"));
    assert!(
        dir.is_dir(),
        "the OASIS test cases are not at {} (set HYOK_KMIP_TESTCASES)",
        dir.display()
    );
    dir
}

pub fn vector_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "xml") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&vector_dir(), &mut files);
    files.sort();
    files
}

/// `$NOW±n` → a fixed instant ± n seconds; byte-string placeholders → the hex of their
/// name. Text placeholders (`$UNIQUE_IDENTIFIER_0`) are valid text and stay.
pub fn substitute(text: &str) -> String {
    let now = regex::Regex::new(r#"type="DateTime" value="\$NOW([+-]\d+)?""#).unwrap();
    let text = now.replace_all(text, |c: &regex::Captures| {
        let offset: i64 = c.get(1).map_or(0, |m| m.as_str().parse().unwrap());
        let instant = OffsetDateTime::from_unix_timestamp(1_700_000_000 + offset).unwrap();
        format!(
            r#"type="DateTime" value="{}""#,
            instant.format(&Rfc3339).unwrap()
        )
    });
    let bytes = regex::Regex::new(r#"type="ByteString" value="\$([A-Z_0-9]+)""#).unwrap();
    bytes
        .replace_all(&text, |c: &regex::Captures| {
            format!(r#"type="ByteString" value="{}""#, hex::encode(&c[1]))
        })
        .into_owned()
}
