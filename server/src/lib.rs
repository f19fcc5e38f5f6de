//! hyok-server: the key management server behind the `hyok` binary. Public are only the
//! modules the binary and the integration tests use; the rest are crate-private, so that
//! the compiler reports what nothing uses. The binary is the supported interface.

#![forbid(unsafe_code)]

pub mod access;
pub mod audit;
pub mod auth;
pub(crate) mod bootstrap;
pub(crate) mod cache_expiry;
pub mod cli;
pub mod config;
pub(crate) mod gates;
pub(crate) mod health_probe;
pub(crate) mod http;
pub mod keys;
pub mod keystore;
pub(crate) mod kmip_ops;
pub(crate) mod listen;
pub(crate) mod logging;
pub(crate) mod maintenance;
pub(crate) mod read_ahead;
pub(crate) mod serve;
pub(crate) mod state;
pub(crate) mod xks_facade;
