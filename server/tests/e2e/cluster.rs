//! Several nodes on one PostgreSQL share one master key (sealed in the database), and a
//! node that cannot open it — or brings another one — refuses to start.

use std::path::Path;

use crate::support::{tempdir, Launch};

const PASSPHRASE: &str = "one passphrase for the whole cluster";

fn node_config(url: &str, dir: &Path, location: &str) -> String {
    format!(
        "[http]\nport = 0\n[db]\nurl = \"{url}\"\n[keystore]\nlocation = \"{location}\"\nfile = \"{}/master.key\"\n",
        dir.display()
    )
}

#[test]
fn nodes_share_one_master_key_and_refuse_another() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(database) = runtime.block_on(hyok_db::testing::TestDatabase::postgres()) else {
        return;
    };
    let (dir_a, dir_b) = (tempdir(), tempdir());
    // Both first starts race for the empty database.
    let start = |dir: &Path| {
        let config = node_config(&database.url, dir, "database");
        let dir = dir.to_path_buf();
        std::thread::spawn(move || {
            Launch::with_config(&dir, &config)
                .env("HYOK_MASTER_PASSPHRASE", PASSPHRASE)
                .start()
        })
    };
    let (a, b) = (start(dir_a.path()), start(dir_b.path()));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    let tokens: Vec<String> = [&a, &b]
        .iter()
        .filter_map(|node| node.admin_token.clone())
        .collect();
    assert_eq!(
        tokens.len(),
        1,
        "exactly one node prints the first admin token"
    );
    let (status_a, health_a) = a.get("/health", None);
    let (status_b, health_b) = b.get("/health", None);
    assert_eq!((status_a, status_b), (200, 200), "{health_a} {health_b}");
    assert_eq!(
        health_a["keystore"]["key_id"], health_b["keystore"]["key_id"],
        "one master key"
    );
    assert!(!dir_a.path().join("master.key").exists() && !dir_b.path().join("master.key").exists());
    assert_eq!(
        b.get("/admin/users", Some(&tokens[0])).0,
        200,
        "users and tokens are shared"
    );
    assert_eq!(a.get("/admin/users", Some(&tokens[0])).0, 200);

    let dir_c = tempdir();
    let config = node_config(&database.url, dir_c.path(), "database");
    let wrong = Launch::with_config(dir_c.path(), &config)
        .env("HYOK_MASTER_PASSPHRASE", "not the cluster passphrase");
    wrong.refused("wrong master passphrase for the master key stored in the database");
    Launch::with_config(dir_c.path(), &config).refused("needs HYOK_MASTER_PASSPHRASE");

    let own_key = node_config(&database.url, dir_c.path(), "file");
    Launch::with_config(dir_c.path(), &own_key)
        .refused("hyok will not create a new master key over existing data");
    assert!(!dir_c.path().join("master.key").exists());

    // A node that brings a master key of its own (made by a standalone start).
    let standalone = own_key.replace(
        &database.url,
        &format!("sqlite://{}/alone.db", dir_c.path().display()),
    );
    Launch::with_config(dir_c.path(), &standalone).run_once();
    Launch::with_config(dir_c.path(), &own_key)
        .refused("is not the one that protects this database");
}
