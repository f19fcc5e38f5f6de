//! Caps on the KMIP listener's connections (`[kmip] max_connections` in all,
//! `max_connections_per_certificate` per client certificate CN): a connection over
//! either is closed right after its TLS handshake, before any request is read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct ConnectionCaps {
    total: usize,
    per_certificate: usize,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_certificate: HashMap<String, usize>,
}

/// An admitted connection: it counts until dropped.
pub struct Admitted {
    caps: Arc<ConnectionCaps>,
    certificate: String,
}

impl ConnectionCaps {
    pub fn new(total: usize, per_certificate: usize) -> Arc<ConnectionCaps> {
        Arc::new(ConnectionCaps {
            total,
            per_certificate,
            open: Mutex::new(Open::default()),
        })
    }

    /// Counts a new connection of `certificate` (its CN, or why it has none), or says
    /// which cap it is over.
    pub fn admit(self: &Arc<Self>, certificate: &str) -> Result<Admitted, String> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.total >= self.total {
            return Err(format!(
                "the KMIP listener has {} connections open (kmip.max_connections)",
                open.total
            ));
        }
        let mine = open.by_certificate.get(certificate).copied().unwrap_or(0);
        if mine >= self.per_certificate {
            return Err(format!(
                "{mine} connections are open with this certificate (kmip.max_connections_per_certificate)"
            ));
        }
        open.total += 1;
        open.by_certificate
            .insert(certificate.to_string(), mine + 1);
        Ok(Admitted {
            caps: self.clone(),
            certificate: certificate.to_string(),
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.caps.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total -= 1;
        if let Some(count) = open.by_certificate.get_mut(&self.certificate) {
            *count -= 1;
            if *count == 0 {
                open.by_certificate.remove(&self.certificate);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_in_all_and_per_certificate_and_free_on_drop() {
        let caps = ConnectionCaps::new(3, 2);
        let a1 = caps.admit("alice").unwrap();
        let _a2 = caps.admit("alice").unwrap();
        let refused = caps.admit("alice").err().unwrap();
        assert!(
            refused.contains("max_connections_per_certificate"),
            "{refused}"
        );
        let _b1 = caps.admit("bob").unwrap();
        let refused = caps.admit("carol").err().unwrap();
        assert!(refused.contains("kmip.max_connections)"), "{refused}");
        drop(a1);
        let _c1 = caps.admit("carol").unwrap();
        assert!(caps.admit("alice").is_err(), "full again");
    }
}
