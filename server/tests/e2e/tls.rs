//! HTTPS with the development certificates: server authentication, required client
//! certificates (whose CN is the caller), and the CLI over HTTPS.

use std::path::Path;

use crate::support::{cli, config_in, send, tempdir, Launch};

fn https_client(certs: &Path, client: Option<&str>) -> reqwest::blocking::Client {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(certs.join("ca.pem")).unwrap()).unwrap();
    let mut builder = reqwest::blocking::Client::builder().add_root_certificate(ca);
    if let Some(name) = client {
        let cert = std::fs::read(certs.join(format!("client-{name}.pem"))).unwrap();
        let key = std::fs::read(certs.join(format!("client-{name}.key"))).unwrap();
        builder = builder.identity(reqwest::Identity::from_pkcs8_pem(&cert, &key).unwrap());
    }
    builder.build().unwrap()
}

#[test]
fn https_with_the_development_certificates() {
    let dir = tempdir();
    let certs = dir.path().join("certs");
    let (ok, stdout, stderr) = cli(
        &[],
        &[
            "tls",
            "dev-certs",
            certs.to_str().unwrap(),
            "--client",
            "admin",
            "--client",
            "stranger",
        ],
    );
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("client_ca = "),
        "prints the [tls] section to use: {stdout}"
    );
    let (ok, _, stderr) = cli(&[], &["tls", "dev-certs", certs.to_str().unwrap()]);
    assert!(
        !ok && stderr.contains("--force"),
        "existing files are not replaced: {stderr}"
    );

    let config = format!(
        "{}\n[tls]\ncert = \"{c}/server.pem\"\nkey = \"{c}/server.key\"\nclient_ca = \"{c}/ca.pem\"\nrequire_client_cert = true\n",
        config_in(dir.path()),
        c = certs.display()
    );
    let hyok = Launch::with_config(dir.path(), &config).start();
    assert!(hyok.url.starts_with("https://127.0.0.1:"), "{}", hyok.url);
    let localhost = hyok.url.replace("127.0.0.1", "localhost");

    let admin = https_client(&certs, Some("admin"));
    let (status, health) = send(admin.get(format!("{localhost}/health")), None);
    assert_eq!(status, 200, "{health}");
    let (status, users) = send(admin.get(format!("{}/admin/users", hyok.url)), None);
    assert_eq!(status, 200, "the certificate's CN is the caller: {users}");

    let stranger = https_client(&certs, Some("stranger"));
    assert_eq!(
        send(stranger.get(format!("{}/admin/users", hyok.url)), None).0,
        401,
        "CN names no user"
    );

    let anonymous = https_client(&certs, None);
    assert!(
        anonymous
            .get(format!("{}/health", hyok.url))
            .send()
            .is_err(),
        "a client certificate is required"
    );
    let untrusting = reqwest::blocking::Client::new();
    assert!(
        untrusting
            .get(format!("{}/health", hyok.url))
            .send()
            .is_err(),
        "the dev CA is not a public CA"
    );
    let plain = reqwest::blocking::Client::new()
        .get(hyok.url.replace("https", "http") + "/health")
        .send();
    assert!(
        plain.map(|r| !r.status().is_success()).unwrap_or(true),
        "no plain HTTP on the HTTPS port"
    );

    let token = hyok.admin_token();
    let env = [
        ("HYOK_URL", hyok.url.as_str()),
        ("HYOK_TOKEN", token.as_str()),
        ("HYOK_CA_CERT", &*certs.join("ca.pem").to_string_lossy()),
        (
            "HYOK_CLIENT_CERT",
            &*certs.join("client-stranger.pem").to_string_lossy(),
        ),
        (
            "HYOK_CLIENT_KEY",
            &*certs.join("client-stranger.key").to_string_lossy(),
        ),
    ]
    .map(|(k, v)| (k, v.to_string()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (ok, stdout, stderr) = cli(&env, &["user", "list", "--quiet"]);
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout.trim(),
        "admin",
        "the token wins over the certificate's CN"
    );
    assert!(hyok.stop().success());
}

#[test]
fn optional_client_certificates_still_allow_tokens() {
    let dir = tempdir();
    let certs = dir.path().join("certs");
    assert!(cli(&[], &["tls", "dev-certs", certs.to_str().unwrap()]).0);
    let config = format!(
        "{}\n[tls]\ncert = \"{c}/server.pem\"\nkey = \"{c}/server.key\"\nclient_ca = \"{c}/ca.pem\"\n",
        config_in(dir.path()),
        c = certs.display()
    );
    let hyok = Launch::with_config(dir.path(), &config).start();
    let anonymous = https_client(&certs, None);
    assert_eq!(
        send(anonymous.get(format!("{}/admin/users", hyok.url)), None).0,
        401
    );
    let token = hyok.admin_token();
    assert_eq!(
        send(
            anonymous.get(format!("{}/admin/users", hyok.url)),
            Some(&token)
        )
        .0,
        200
    );
}

/// Over HTTP/2, an answer given before the request body was read (401 from the
/// authentication gate, 413 for a body over the limit) reaches the client instead of a
/// reset stream (curl, an independent HTTP/2 client, said "stream error" 4 times of 5).
#[test]
fn http2_clients_get_early_error_answers() {
    let dir = tempdir();
    let certs = dir.path().join("certs");
    assert!(cli(&[], &["tls", "dev-certs", certs.to_str().unwrap()]).0);
    let config = format!(
        "{}\n[tls]\ncert = \"{c}/server.pem\"\nkey = \"{c}/server.key\"\n",
        config_in(dir.path()).replace("port = 0\n", "port = 0\nmax_body_bytes = 1024\n"),
        c = certs.display()
    );
    let hyok = Launch::with_config(dir.path(), &config).start();
    let token = hyok.admin_token();
    let body = dir.path().join("body");
    std::fs::write(&body, vec![b'x'; 200_000]).unwrap();
    let base = hyok.url.replace("127.0.0.1", "localhost");
    let curl = |path: &str, authorization: Option<&str>| {
        let mut command = std::process::Command::new("curl");
        command.args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{http_version}",
        ]);
        command.args([
            "--http2",
            "--cacert",
            certs.join("ca.pem").to_str().unwrap(),
        ]);
        command.args(["-X", "POST", "-H", "content-type: application/octet-stream"]);
        command
            .arg("--data-binary")
            .arg(format!("@{}", body.display()));
        if let Some(token) = authorization {
            command.args(["-H", &format!("Authorization: Bearer {token}")]);
        }
        let output = command
            .arg(format!("{base}{path}"))
            .output()
            .expect("curl (apt-get install curl)");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "curl: {stderr}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    for _ in 0..5 {
        assert_eq!(curl("/admin/users", None), "401 2");
        assert_eq!(curl("/kmip", Some(&token)), "413 2");
    }
    assert!(hyok.stop().success());
}
