//! hyok-server: the key management server behind the `hyok` binary. The modules are
//! public so that integration tests can drive the services directly; the binary is
//! the supported interface.

#![forbid(unsafe_code)]

pub mod access;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod cli;
pub mod config;
pub mod conformance;
pub mod epoch_cache;
pub mod gates;
pub mod health_probe;
pub mod http;
pub mod keys;
pub mod keystore;
pub mod kmip_ops;
pub mod listen;
pub mod logging;
pub mod maintenance;
pub mod serve;
pub mod state;
pub mod xks_facade;
