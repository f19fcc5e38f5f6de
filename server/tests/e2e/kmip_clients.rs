//! The KMIP conversations of the clients people deploy (`kmip/tests/clients`, one file per
//! client, in the order and shape each sends them; docs/kmip-clients.md says where each
//! comes from), each replayed against a fresh server, so that a change that would break
//! one of them fails here.

use crate::kmip_tls::replay_directory;
use crate::support::tempdir;

/// Replays the one client file `file` and checks that it ran and passed.
fn replay_client(file: &str) {
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/../kmip/tests/clients/");
    let dir = tempdir();
    let cases = dir.path().join("cases");
    std::fs::create_dir_all(&cases).unwrap();
    std::fs::copy(format!("{source}{file}"), cases.join(file)).unwrap();
    let report = replay_directory(&cases);
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{report:#}");
    assert_eq!(files[0]["result"], "pass", "{report:#}");
}

#[test]
fn vmware_vsphere() {
    replay_client("vmware-vsphere.xml");
}

#[test]
fn mongodb() {
    replay_client("mongodb.xml");
}

#[test]
fn mysql_keyring_okv() {
    replay_client("mysql-keyring-okv.xml");
}

#[test]
fn netapp_ontap() {
    replay_client("netapp-ontap.xml");
}

#[test]
fn dell_powerscale() {
    replay_client("dell-powerscale.xml");
}
