//! The first start: when the database has no user, create `admin` and print its token
//! once on standard output (`admin token: <token>`). Later starts print nothing.

use std::io::Write;

use hyok_db::{Db, Role};

use crate::audit::Actor;
use crate::auth::TokenVerifier;

pub async fn ensure_admin(db: &Db, tokens: &TokenVerifier) -> Result<(), String> {
    if db.count_users().await.map_err(|e| e.to_string())? > 0 {
        return Ok(());
    }
    match db.create_user("admin", Role::Admin).await {
        Ok(_) => {}
        // Another node of the cluster won the race; it prints the token.
        Err(hyok_db::Error::AlreadyExists(_)) => return Ok(()),
        Err(error) => return Err(error.to_string()),
    }
    let issued = tokens
        .issue(
            "admin",
            Some("created at first start"),
            None,
            &Actor::new("hyok (first start)", None),
        )
        .await
        .map_err(|e| format!("cannot issue the first admin token: {e}"))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "admin token: {}", issued.token().as_str())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot print the first admin token: {e}"))?;
    tracing::warn!(token = %issued.id, "first start: created user admin; its token was printed once on standard output");
    Ok(())
}
