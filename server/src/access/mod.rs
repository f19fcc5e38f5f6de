//! Who may do what with which object, decided one way for every path (KMIP, XKS, admin
//! API, UI): the owner may do everything; anyone else needs a grant on (the object's
//! key chain or `*`) × (one of the caller's identities or `*`) × the operation. Admins
//! manage users, tokens and anyone's grants, and have no other implicit right. Every
//! decision can explain itself.

mod check;
mod decisions;
mod grants;
mod identities;
mod operation;

pub use check::{Access, AccessError, Decision};
pub use decisions::DecisionCache;
pub use grants::{GrantChange, GrantError};
pub use identities::{user_name_problem, Identities, IdentitiesKey, KEY_STORE_PREFIX};
pub use operation::Operation;
