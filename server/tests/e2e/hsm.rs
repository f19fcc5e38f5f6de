//! hyok with its master key in an HSM (SoftHSM2 through PKCS#11): start, restart, clear
//! start-up errors, and a token that disappears or hangs mid-run and comes back.

#[path = "../common/softhsm.rs"]
pub mod softhsm;

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{tempdir, Launch};
use softhsm::{P11KitServer, SoftHsm, PIN};

pub fn pkcs11_config(dir: &Path, module: &Path, token: &str) -> String {
    format!(
        "[http]\nport = 0\n[db]\nurl = \"sqlite://{0}/data/hyok.db\"\n\
         [keystore]\nkind = \"pkcs11\"\nmodule = \"{1}\"\ntoken_label = \"{token}\"\n",
        dir.display(),
        module.display()
    )
}

pub fn launch(dir: &Path, hsm: &SoftHsm, config: &str, pin: &str) -> Launch {
    Launch::with_config(dir, config)
        .env("SOFTHSM2_CONF", hsm.config.to_str().unwrap())
        .env("HYOK_PKCS11_PIN", pin)
}

#[test]
fn starts_and_restarts_with_the_master_key_in_softhsm() {
    let dir = tempdir();
    let hsm = SoftHsm::new(dir.path(), &["hyok"]);
    let config = pkcs11_config(dir.path(), &softhsm::softhsm_module(), "hyok");
    let first = launch(dir.path(), &hsm, &config, PIN).start();
    let (status, health) = first.get("/health", None);
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["keystore"]["kind"], "pkcs11");
    assert!(
        health["keystore"]["device"]
            .as_str()
            .unwrap()
            .contains("SoftHSM"),
        "{health}"
    );
    assert!(
        first
            .stderr()
            .contains("pkcs11 keystore: created master key"),
        "{}",
        first.stderr()
    );
    assert!(first.stderr().contains("CKM_AES_GCM"), "{}", first.stderr());
    assert!(
        !first.stderr().contains(" ERROR "),
        "a healthy start logs no error: {}",
        first.stderr()
    );
    assert!(!first.stderr().contains(PIN), "the PIN is never logged");
    let token = first.admin_token();
    assert!(first.stop().success());

    let second = launch(dir.path(), &hsm, &config, PIN).start();
    assert!(
        second
            .stderr()
            .contains("pkcs11 keystore: opened master key"),
        "{}",
        second.stderr()
    );
    assert_eq!(second.get("/admin/users", Some(&token)).0, 200);
    assert_eq!(
        second.get("/health", None).1["keystore"]["key_id"],
        health["keystore"]["key_id"]
    );
    assert!(second.stop().success());

    let failed = launch(dir.path(), &hsm, &config.replace("hyok-master", "x"), PIN);
    let relabelled = format!("{config}key_label = \"another-key\"\n");
    drop(failed);
    let failed = launch(dir.path(), &hsm, &relabelled, PIN)
        .try_start()
        .err()
        .expect("no new master key over data");
    assert!(
        failed
            .stderr
            .contains("hyok will not create a new master key over existing data"),
        "{}",
        failed.stderr
    );
}

#[test]
fn clear_start_up_errors() {
    let dir = tempdir();
    let hsm = SoftHsm::new(dir.path(), &["hyok"]);
    let module = softhsm::softhsm_module();
    let config = pkcs11_config(dir.path(), &module, "hyok");

    let wrong_pin = launch(dir.path(), &hsm, &config, "9999")
        .try_start()
        .err()
        .expect("wrong PIN");
    assert!(
        wrong_pin
            .stderr
            .contains("PKCS#11 login refused: wrong PIN"),
        "{}",
        wrong_pin.stderr
    );
    assert!(
        !wrong_pin.stderr.contains("9999"),
        "the PIN is never echoed"
    );

    let no_module = pkcs11_config(dir.path(), Path::new("/nonexistent/libhsm.so"), "hyok");
    let failed = launch(dir.path(), &hsm, &no_module, PIN)
        .try_start()
        .err()
        .expect("missing module");
    assert!(
        failed
            .stderr
            .contains("PKCS#11 module /nonexistent/libhsm.so: no such file"),
        "{}",
        failed.stderr
    );

    let not_a_module = pkcs11_config(dir.path(), &hsm.config, "hyok");
    let failed = launch(dir.path(), &hsm, &not_a_module, PIN)
        .try_start()
        .err()
        .expect("not a module");
    assert!(failed.stderr.contains("cannot load"), "{}", failed.stderr);

    Launch::with_config(dir.path(), &config)
        .env("SOFTHSM2_CONF", hsm.config.to_str().unwrap())
        .refused("HYOK_PKCS11_PIN");

    let other_token = pkcs11_config(dir.path(), &module, "nope");
    let failed = launch(dir.path(), &hsm, &other_token, PIN)
        .try_start()
        .err()
        .expect("no such token");
    assert!(
        failed.stderr.contains("no token labelled \"nope\""),
        "{}",
        failed.stderr
    );
}

#[test]
fn a_token_that_disappears_or_hangs_is_reported_then_recovered_without_restart() {
    let dir = tempdir();
    let hsm = SoftHsm::new(dir.path(), &["remote"]);
    let socket = dir.path().join("p11kit.sock");
    let server = hsm.serve("remote", &socket);
    let config = pkcs11_config(dir.path(), &softhsm::p11_kit_client_module(), "remote");
    let hyok = launch(dir.path(), &hsm, &config, PIN)
        .env("P11_KIT_SERVER_ADDRESS", &P11KitServer::address(&socket))
        .start();
    assert_eq!(
        crate::support::await_health(&hyok, 200, Duration::from_secs(5))["keystore"]["status"],
        "ok"
    );

    // Gone: the process serving the token is killed.
    drop(server);
    let down = crate::support::await_health(&hyok, 503, Duration::from_secs(5));
    assert_eq!(down["keystore"]["status"], "unavailable");
    assert_eq!(
        down["database"]["status"], "ok",
        "only the keystore is named"
    );
    hyok.wait_for_log("the HSM is unavailable");

    // Back: the same token is served again; hyok reconnects by itself.
    let server = hsm.serve("remote", &socket);
    crate::support::await_health(&hyok, 200, Duration::from_secs(10));

    // Hung: the serving process is stopped; calls time out instead of hanging.
    server.signal(libc::SIGSTOP);
    // (Past the last probe's second.)
    std::thread::sleep(Duration::from_millis(1100));
    let started = Instant::now();
    let (status, hung) = hyok.get("/health", None);
    assert_eq!(status, 503, "{hung}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered in {:?}",
        started.elapsed()
    );
    hyok.wait_for_log("did not answer within 100 ms");
    server.signal(libc::SIGCONT);
    crate::support::await_health(&hyok, 200, Duration::from_secs(10));
}
