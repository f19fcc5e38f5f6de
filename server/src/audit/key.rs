//! The audit key: a key of hyok's own, bound to the name `hyok-audit-key`.

use crate::keystore::ProtectedKey;

pub const AUDIT_KEY: ProtectedKey = ProtectedKey {
    setting: "audit_key",
    binding: "hyok-audit-key",
    what: "the audit key",
};
