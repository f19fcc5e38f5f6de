//! The configuration file (`hyok.toml`): its sections and keys with their defaults,
//! loading with errors that name file, line and key, validation of values, and the
//! secrets that may come from the environment instead.

mod load;
mod model;
mod secrets;
mod validate;

pub use load::{load, Loaded};
pub use model::*;
pub use secrets::{secret_from_env, Secret};

/// The commented default configuration printed by `hyok config default`.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

#[cfg(test)]
mod tests;
