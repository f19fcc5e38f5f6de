//! The configuration's promises: defaults documented and consistent, every problem
//! reported as file:line: key.

use super::load::load_str;
use super::secrets::Secret;
use super::*;

fn error_of(text: &str) -> String {
    load_str("hyok.toml", text)
        .expect_err("must be rejected")
        .to_string()
}

#[test]
fn the_printed_default_is_the_built_in_default() {
    let loaded = load_str("default.toml", DEFAULT_TOML).expect("the default configuration loads");
    assert_eq!(loaded.config, Config::default());
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(load(None).unwrap().config, Config::default());
}

/// The default file with every commented-out `# key = value` line switched on.
fn default_with_every_key() -> String {
    DEFAULT_TOML
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest)
                if rest
                    .split_once(" = ")
                    .is_some_and(|(k, _)| !k.contains(' ')) =>
            {
                rest
            }
            Some(rest) if rest.starts_with("[[") => rest,
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_key_is_in_the_default_file_and_in_the_reference() {
    let full: Config =
        toml::from_str(&default_with_every_key()).expect("commented keys are real keys");
    let reference = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/configuration.md"
    ))
    .expect("docs/configuration.md");
    let table = toml::Value::try_from(&full).unwrap();
    let mut keys = Vec::new();
    for (section, values) in table.as_table().unwrap() {
        assert!(
            reference.contains(&format!("[{section}]")),
            "docs/configuration.md lacks [{section}]"
        );
        for key in values.as_table().unwrap().keys() {
            assert!(
                reference.contains(&format!("`{key}`")),
                "docs/configuration.md lacks [{section}] {key}"
            );
            keys.push(format!("{section}.{key}"));
        }
    }
    assert!(
        keys.contains(&"tls.client_ca".to_string()),
        "optional keys are covered too: {keys:?}"
    );
    assert!(keys.contains(&"aws_xks_config.aws_xks_sigv4_secret_access_key".to_string()));
}

#[test]
fn unknown_keys_name_file_line_and_key() {
    assert!(
        error_of("[http]\nhost = \"127.0.0.1\"\nprot = 1\n")
            .starts_with("hyok.toml:3: http.prot: unknown field `prot`"),
        "{}",
        error_of("[http]\nhost = \"127.0.0.1\"\nprot = 1\n")
    );
    let section = error_of("# comment\n[htp]\nport = 1\n");
    assert!(
        section.starts_with("hyok.toml:2: htp: unknown field `htp`"),
        "{section}"
    );
}

#[test]
fn wrong_types_name_file_line_and_key() {
    let text = "[http]\n\nport = \"9998\"\n";
    let error = error_of(text);
    assert!(
        error.starts_with("hyok.toml:3: http.port: invalid type"),
        "{error}"
    );
    let error = error_of("[aws_xks_config]\naws_xks_enable = \"yes\"\n");
    assert!(
        error.starts_with("hyok.toml:2: aws_xks_config.aws_xks_enable: invalid type"),
        "{error}"
    );
    let error = error_of("[http]\nport = 70000\n");
    assert!(error.starts_with("hyok.toml:2: http.port:"), "{error}");
}

#[test]
fn impossible_values_name_file_line_and_key() {
    let error = error_of("[db]\nurl = \"sqlite://x.db\"\nmax_connections = 0\n");
    assert_eq!(
        error,
        "hyok.toml:3: db.max_connections: 0 is out of range: use 1 to 1000"
    );
    let error = error_of("[db]\nsqlite_cache_kib = 8\n");
    assert_eq!(
        error,
        "hyok.toml:2: db.sqlite_cache_kib: 8 is out of range: use 64 to 1048576"
    );
    let error = error_of("[aws_xks_config]\naws_xks_uri_prefix = \"/admin/x\"\n");
    assert_eq!(
        error,
        "hyok.toml:2: aws_xks_config.aws_xks_uri_prefix: \"/admin/x\" would shadow hyok's own /admin routes"
    );
    let error = error_of("[tls]\nrequire_client_cert = true\n");
    assert!(
        error.starts_with("hyok.toml:2: tls.require_client_cert: needs tls.client_ca"),
        "{error}"
    );
    let error = error_of("[logging]\nlevel = \"info,[\"\n");
    assert!(error.starts_with("hyok.toml:2: logging.level:"), "{error}");
}

#[test]
fn all_errors_are_reported_at_once() {
    let error = error_of("[db]\nmax_connections = 0\n[audit]\nretain_days = 0\n");
    assert_eq!(error.lines().count(), 2, "{error}");
    assert!(error.contains("hyok.toml:4: audit.retain_days"), "{error}");
}

#[test]
fn syntax_errors_name_the_line() {
    let error = error_of("[http]\nport = = 1\n");
    assert!(error.starts_with("hyok.toml:2: "), "{error}");
}

#[test]
fn the_operator_section_as_documented_loads_with_warnings() {
    let text = r#"
[aws_xks_config]
aws_xks_enable = true
aws_xks_region = "us-east-1"
aws_xks_service = "kms-xks-proxy"
aws_xks_sigv4_access_key_id = "AKIAIOSFODNN7EXAMPLE"
aws_xks_sigv4_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
"#;
    let loaded = load_str("hyok.toml", text).expect("the documented section loads");
    let xks = &loaded.config.aws_xks_config;
    assert!(xks.aws_xks_enable);
    assert_eq!(
        xks.aws_xks_sigv4_access_key_id.as_deref(),
        Some("AKIAIOSFODNN7EXAMPLE")
    );
    assert_eq!(
        xks.aws_xks_sigv4_secret_access_key
            .as_ref()
            .map(Secret::expose),
        Some("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    );
    let warned: Vec<_> = loaded
        .warnings
        .iter()
        .map(|w| w.render("hyok.toml"))
        .collect();
    assert!(
        warned
            .iter()
            .any(|w| w.starts_with("hyok.toml:6: aws_xks_config.aws_xks_sigv4_access_key_id:")),
        "{warned:?}"
    );
    assert!(
        warned
            .iter()
            .any(|w| w.starts_with("hyok.toml:7: aws_xks_config.aws_xks_sigv4_secret_access_key:")),
        "{warned:?}"
    );
    assert!(
        !warned.iter().any(|w| w.contains("wJalrXUtnFEMI")),
        "the secret is never echoed"
    );
    assert!(
        !format!("{:?}", loaded.config).contains("wJalrXUtnFEMI"),
        "nor debug-printed"
    );
}

#[test]
fn another_service_name_warns_naming_the_key() {
    let loaded = load_str(
        "hyok.toml",
        "[aws_xks_config]\naws_xks_service = \"xks-kms\"\n",
    )
    .unwrap();
    let warned: Vec<_> = loaded
        .warnings
        .iter()
        .map(|w| w.render("hyok.toml"))
        .collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].starts_with("hyok.toml:2: aws_xks_config.aws_xks_service: \"xks-kms\""),
        "{warned:?}"
    );
}

#[test]
fn enabling_xks_needs_credentials() {
    let error = error_of("[aws_xks_config]\naws_xks_enable = true\n");
    assert!(error.contains("aws_xks_config.aws_xks_sigv4_access_key_id: aws_xks_enable = true needs a SigV4 credential"), "{error}");
    let error =
        error_of("[aws_xks_config]\naws_xks_sigv4_access_key_id = \"ABCDEFGHIJKLMNOPQRST\"\n");
    assert!(
        error.contains("aws_xks_config.aws_xks_sigv4_secret_access_key"),
        "{error}"
    );
    let listed = "[aws_xks_config]\naws_xks_enable = true\n[[aws_xks_config.aws_xks_credentials]]\n\
                  access_key_id = \"ABCDEFGHIJKLMNOPQRST\"\nsecret_access_key = \"0123456789012345678901234567890123456789abc\"\n";
    let loaded = load_str("hyok.toml", listed).expect("a list of credentials is enough");
    assert_eq!(loaded.config.aws_xks_config.aws_xks_credentials.len(), 1);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn a_missing_file_is_named() {
    let error = load(Some(std::path::Path::new("/nonexistent/hyok.toml")))
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("/nonexistent/hyok.toml: cannot read the configuration file"),
        "{error}"
    );
}
