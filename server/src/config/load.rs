//! Reading `hyok.toml`: parse, overlay secrets from the environment, validate, and
//! report every problem as `file:line: key: message`.

use std::fmt;
use std::path::Path;

use super::model::Config;
use super::secrets::secret_from_env;
use super::validate::{validate, Finding, Severity};

/// One problem with the configuration, located as precisely as the source allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub line: Option<usize>,
    /// The dotted key, such as `http.port`; empty for a syntax error.
    pub key: String,
    pub message: String,
}

/// The configuration could not be used. Lists every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub issues: Vec<Issue>,
}

/// A usable configuration, with the warnings it deserves.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub file: String,
    pub warnings: Vec<Issue>,
}

impl Issue {
    pub fn render(&self, file: &str) -> String {
        let place = match self.line {
            Some(line) => format!("{file}:{line}"),
            None => file.to_string(),
        };
        match self.key.as_str() {
            "" => format!("{place}: {}", self.message),
            key => format!("{place}: {key}: {}", self.message),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self
            .issues
            .iter()
            .map(|issue| issue.render(&self.file))
            .collect();
        f.write_str(&lines.join("\n"))
    }
}

impl std::error::Error for ConfigError {}

/// Loads the file at `path`, or the defaults when there is none.
pub fn load(path: Option<&Path>) -> Result<Loaded, ConfigError> {
    let Some(path) = path else {
        return load_str("(built-in defaults)", "");
    };
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => load_str(&file, &text),
        Err(error) => Err(ConfigError {
            issues: vec![Issue {
                line: None,
                key: String::new(),
                message: format!("cannot read the configuration file: {error}"),
            }],
            file,
        }),
    }
}

/// Loads configuration text; `file` names it in messages.
pub fn load_str(file: &str, text: &str) -> Result<Loaded, ConfigError> {
    let fail = |issues| ConfigError {
        file: file.to_string(),
        issues,
    };
    let mut config = parse(text).map_err(|issue| fail(vec![issue]))?;
    overlay_environment(&mut config).map_err(fail)?;
    let document = toml_edit::ImDocument::parse(text).ok();
    let locate = |finding: Finding| Issue {
        line: document
            .as_ref()
            .and_then(|doc| line_of_key(doc, text, &finding.key)),
        key: finding.key,
        message: finding.message,
    };
    let (errors, warnings): (Vec<_>, Vec<_>) = validate(&config)
        .into_iter()
        .partition(|finding| finding.severity == Severity::Error);
    if !errors.is_empty() {
        return Err(fail(errors.into_iter().map(locate).collect()));
    }
    Ok(Loaded {
        config,
        file: file.to_string(),
        warnings: warnings.into_iter().map(locate).collect(),
    })
}

fn parse(text: &str) -> Result<Config, Issue> {
    serde_path_to_error::deserialize(toml::Deserializer::new(text)).map_err(|error| {
        let inner = error.inner();
        let line = inner.span().map(|span| line_at(text, span.start));
        let key = match error.path().to_string() {
            path if path == "." => String::new(),
            path => path,
        };
        let message = inner.message().trim().to_string();
        Issue { line, key, message }
    })
}

/// Secrets given in the environment win over the file.
fn overlay_environment(config: &mut Config) -> Result<(), Vec<Issue>> {
    let env_issue = |message| Issue {
        line: None,
        key: String::new(),
        message,
    };
    if let Some(url) = secret_from_env("HYOK_DB_URL").map_err(|m| vec![env_issue(m)])? {
        config.db.url = Some(url.expose().to_string());
    }
    if let Some(secret) =
        secret_from_env("HYOK_AWS_XKS_SIGV4_SECRET_ACCESS_KEY").map_err(|m| vec![env_issue(m)])?
    {
        config.aws_xks_config.aws_xks_sigv4_secret_access_key = Some(secret);
    }
    Ok(())
}

/// The 1-based line holding byte `offset`.
fn line_at(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |before| before.matches('\n').count())
        + 1
}

/// The line where the dotted `key` is written (or its table, if the key is not).
fn line_of_key(document: &toml_edit::ImDocument<&str>, text: &str, key: &str) -> Option<usize> {
    let mut table = document.as_table();
    let mut line = None;
    for part in key.split('.') {
        let Some((found_key, item)) = table.get_key_value(part) else {
            break;
        };
        let span = found_key.span().or_else(|| item.span());
        line = span.map(|span| line_at(text, span.start)).or(line);
        match item.as_table() {
            Some(inner) => table = inner,
            None => break,
        }
    }
    line
}
