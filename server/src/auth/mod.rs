//! Who is calling: API tokens (`hyok_<id>_<secret>`, stored as a keyed hash, cached once
//! verified) and TLS client certificates (subject CN), resolved to a user and role.

mod caller;
mod middleware;
mod token_format;
mod verifier;

pub use caller::{Caller, Credential};
pub use middleware::{caller_of_certificate, require_caller};
pub use verifier::{AuthError, TokenVerifier, TOKEN_KEY};
