//! Secrets in configuration: a type that never prints its value and zeroizes on drop,
//! and the `HYOK_NAME` / `HYOK_NAME_FILE` environment lookup that keeps them out of files.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// A secret string: `Debug` and `Serialize` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(Zeroizing::new(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

/// Reads the secret `name` from the environment: the variable itself, or the file
/// named by `name_FILE` (one trailing newline removed). `Ok(None)` when neither is set.
pub fn secret_from_env(name: &str) -> Result<Option<Secret>, String> {
    if let Some(value) = std::env::var_os(name) {
        return value
            .into_string()
            .map(|v| Some(Secret::new(v)))
            .map_err(|_| format!("{name} is not valid UTF-8"));
    }
    let file_variable = format!("{name}_FILE");
    let Some(path) = std::env::var_os(&file_variable) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path).map_err(|error| {
        format!(
            "{file_variable}: cannot read {}: {error}",
            std::path::Path::new(&path).display()
        )
    })?;
    let text = Zeroizing::new(text);
    let value = text.strip_suffix('\n').unwrap_or(&text);
    let value = value.strip_suffix('\r').unwrap_or(value);
    Ok(Some(Secret::new(value.to_string())))
}
