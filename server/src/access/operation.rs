//! The operations that grants name, with their one spelling (CLI, API, UI, audit).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    Get,
    GetAttributes,
    GetAttributeList,
    AddAttribute,
    SetAttribute,
    ModifyAttribute,
    DeleteAttribute,
    Activate,
    Revoke,
    Destroy,
    Rekey,
    Encrypt,
    Decrypt,
    Sign,
    SignatureVerify,
    Mac,
    MacVerify,
    DeriveKey,
    Export,
    Block,
}

impl Operation {
    pub const ALL: [Operation; 20] = [
        Operation::Get,
        Operation::GetAttributes,
        Operation::GetAttributeList,
        Operation::AddAttribute,
        Operation::SetAttribute,
        Operation::ModifyAttribute,
        Operation::DeleteAttribute,
        Operation::Activate,
        Operation::Revoke,
        Operation::Destroy,
        Operation::Rekey,
        Operation::Encrypt,
        Operation::Decrypt,
        Operation::Sign,
        Operation::SignatureVerify,
        Operation::Mac,
        Operation::MacVerify,
        Operation::DeriveKey,
        Operation::Export,
        Operation::Block,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Get => "get",
            Operation::GetAttributes => "get-attributes",
            Operation::GetAttributeList => "get-attribute-list",
            Operation::AddAttribute => "add-attribute",
            Operation::SetAttribute => "set-attribute",
            Operation::ModifyAttribute => "modify-attribute",
            Operation::DeleteAttribute => "delete-attribute",
            Operation::Activate => "activate",
            Operation::Revoke => "revoke",
            Operation::Destroy => "destroy",
            Operation::Rekey => "rekey",
            Operation::Encrypt => "encrypt",
            Operation::Decrypt => "decrypt",
            Operation::Sign => "sign",
            Operation::SignatureVerify => "signature-verify",
            Operation::Mac => "mac",
            Operation::MacVerify => "mac-verify",
            Operation::DeriveKey => "derive-key",
            Operation::Export => "export",
            Operation::Block => "block",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Operation {
    type Err = String;

    fn from_str(text: &str) -> Result<Operation, String> {
        Operation::ALL
            .into_iter()
            .find(|op| op.as_str() == text)
            .ok_or_else(|| {
                let known: Vec<_> = Operation::ALL.iter().map(|op| op.as_str()).collect();
                format!(
                    "unknown operation {text:?}; use one of: {}",
                    known.join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::Operation;

    #[test]
    fn one_spelling_everywhere() {
        for operation in Operation::ALL {
            assert_eq!(operation.as_str().parse::<Operation>(), Ok(operation));
            let json = serde_json::to_string(&operation).unwrap();
            assert_eq!(
                json,
                format!("\"{}\"", operation.as_str()),
                "serde uses the same spelling"
            );
        }
        assert!("Encrypt"
            .parse::<Operation>()
            .unwrap_err()
            .contains("signature-verify"));
    }
}
