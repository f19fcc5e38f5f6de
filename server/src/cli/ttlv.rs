//! `hyok ttlv`: converts KMIP messages between binary TTLV (raw or hex), XML, JSON and
//! JSON-TTLV, for reading captures and writing test messages. Reads a file or standard
//! input; the input encoding is detected unless `--from` says it. An XML document holding
//! several messages (as the OASIS test cases do) converts message by message: one per
//! line in hex and JSON, one after the other in TTLV and XML.

use std::io::{Read, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use hyok_kmip::text::{from_json, from_xml_document, to_json, to_json_ttlv, to_xml};
use hyok_kmip::{decode, encode, Item, Limits};

#[derive(Args)]
pub struct TtlvCommand {
    /// The input file (standard input when absent).
    file: Option<PathBuf>,
    /// The input encoding (detected when absent: `<` XML, `{` JSON, hex digits, else TTLV).
    #[arg(long, value_enum)]
    from: Option<Encoding>,
    /// The output encoding.
    #[arg(long, value_enum, default_value = "xml")]
    to: Encoding,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Encoding {
    /// Binary TTLV.
    Ttlv,
    /// Binary TTLV as hex digits.
    Hex,
    /// The XML encoding of the OASIS test cases.
    Xml,
    /// The JSON encoding (Additional Message Encodings).
    Json,
    /// The JSON-TTLV flavour of `/kmip/2_1`.
    JsonTtlv,
}

impl TtlvCommand {
    pub fn run(self) -> Result<(), String> {
        let TtlvCommand { file, from, to } = self;
        let limits = Limits::default();
        let mut input = Vec::new();
        let source = match &file {
            Some(path) => {
                input = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
                path.display().to_string()
            }
            None => {
                std::io::stdin()
                    .take(limits.max_message_bytes as u64 * 2 + 1)
                    .read_to_end(&mut input)
                    .map_err(|e| format!("standard input: {e}"))?;
                "standard input".to_string()
            }
        };
        let from = from.unwrap_or_else(|| detect(&input));
        let messages = read(&input, from, &limits).map_err(|e| format!("{source}: {e}"))?;
        let mut stdout = std::io::stdout().lock();
        for message in &messages {
            stdout
                .write_all(&write(message, to)?)
                .map_err(|e| format!("standard output: {e}"))?;
        }
        Ok(())
    }
}

fn detect(input: &[u8]) -> Encoding {
    let text = String::from_utf8_lossy(input);
    let trimmed = text.trim_start();
    if trimmed.starts_with('<') {
        Encoding::Xml
    } else if trimmed.starts_with('{') {
        Encoding::Json
    } else if !trimmed.is_empty() && trimmed.trim_end().bytes().all(|b| b.is_ascii_hexdigit()) {
        Encoding::Hex
    } else {
        Encoding::Ttlv
    }
}

/// The messages of the input (several only for an XML document of several messages).
fn read(input: &[u8], from: Encoding, limits: &Limits) -> Result<Vec<Item>, String> {
    let text = || std::str::from_utf8(input).map_err(|_| "the input is not UTF-8 text".to_string());
    Ok(match from {
        Encoding::Ttlv => vec![decode(input, limits).map_err(|e| e.to_string())?],
        Encoding::Hex => {
            let bytes = hex::decode(text()?.trim()).map_err(|e| format!("not hex: {e}"))?;
            vec![decode(&bytes, limits).map_err(|e| e.to_string())?]
        }
        Encoding::Xml => from_xml_document(text()?, limits).map_err(|e| e.to_string())?,
        Encoding::Json | Encoding::JsonTtlv => {
            vec![from_json(text()?, limits).map_err(|e| e.to_string())?]
        }
    })
}

fn write(item: &Item, to: Encoding) -> Result<Vec<u8>, String> {
    Ok(match to {
        Encoding::Ttlv => encode(item).map_err(|e| e.to_string())?,
        Encoding::Hex => {
            let mut hex = hex::encode(encode(item).map_err(|e| e.to_string())?);
            hex.push('\n');
            hex.into_bytes()
        }
        Encoding::Xml => to_xml(item).into_bytes(),
        Encoding::Json => format!("{}\n", to_json(item)).into_bytes(),
        Encoding::JsonTtlv => format!("{}\n", to_json_ttlv(item)).into_bytes(),
    })
}
