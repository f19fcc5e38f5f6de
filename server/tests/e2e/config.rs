//! Configuration from the outside: `hyok serve` and `hyok config check` refuse bad
//! files naming file, line and key; `hyok config default` prints a valid file.

use crate::support::{cli, tempdir, Launch};

#[test]
fn serve_rejects_an_invalid_file_naming_file_line_and_key() {
    let dir = tempdir();
    let launch = Launch::with_config(dir.path(), "[http]\nport = 0\nprot = 9998\n");
    let failed = launch.try_start().err().expect("must not start");
    assert_eq!(failed.status.code(), Some(2));
    let path = dir.path().join("hyok.toml");
    let expected = format!("{}:3: http.prot: unknown field `prot`", path.display());
    assert!(failed.stderr.contains(&expected), "{}", failed.stderr);
    assert!(
        !dir.path().join("hyok-data").exists(),
        "nothing was created"
    );
}

#[test]
fn serve_rejects_impossible_values() {
    let dir = tempdir();
    let failed = Launch::with_config(
        dir.path(),
        "[http]\nport = 0\n\n[db]\nmax_connections = 0\n",
    )
    .try_start()
    .err()
    .unwrap();
    assert!(
        failed
            .stderr
            .contains("hyok.toml:5: db.max_connections: 0 is out of range"),
        "{}",
        failed.stderr
    );
}

#[test]
fn hyok_config_env_names_the_file() {
    let dir = tempdir();
    let path = dir.path().join("custom.toml");
    std::fs::write(&path, "[logging]\nformat = \"yaml\"\n").unwrap();
    let (ok, _, stderr) = cli(&[("HYOK_CONFIG", path.to_str().unwrap())], &["serve"]);
    assert!(!ok);
    assert!(
        stderr.contains(&format!(
            "{}:2: logging.format: unknown variant `yaml`",
            path.display()
        )),
        "{stderr}"
    );
}

#[test]
fn config_check_and_config_default() {
    let dir = tempdir();
    let (ok, default, _) = cli(&[], &["config", "default"]);
    assert!(ok);
    assert!(
        default.contains("[aws_xks_config]") && default.contains("port = 9998"),
        "{default}"
    );
    let good = dir.path().join("good.toml");
    std::fs::write(&good, &default).unwrap();
    let (ok, stdout, stderr) = cli(&[], &["config", "check", good.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("configuration is valid"), "{stdout}");

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, default.replace("port = 9998", "port = \"9998\"")).unwrap();
    let (ok, _, stderr) = cli(&[], &["config", "check", bad.to_str().unwrap()]);
    assert!(!ok);
    let line = default.lines().position(|l| l == "port = 9998").unwrap() + 1;
    assert!(
        stderr.starts_with(&format!(
            "{}:{line}: http.port: invalid type",
            bad.display()
        )),
        "{stderr}"
    );

    let warned = dir.path().join("warned.toml");
    std::fs::write(&warned, "[aws_xks_config]\naws_xks_service = \"xks-kms\"\n").unwrap();
    let (ok, _, stderr) = cli(&[], &["config", "check", warned.to_str().unwrap()]);
    assert!(ok, "a warning is not an error");
    assert!(
        stderr.contains("warned.toml:2: aws_xks_config.aws_xks_service"),
        "{stderr}"
    );
}
