//! End-to-end tests: the real `hyok` binary on loopback sockets, driven as clients and
//! operators drive it. One test binary, so the server binary is built once.

mod seed;
mod support;

mod access;
mod audit;
mod bench;
mod cluster;
mod config;
mod hsm;
mod key_cli;
mod keystore;
mod kmip;
mod kmip_clients;
mod kmip_tls;
mod lifecycle;
mod pykmip_suite;
mod tls;
mod tokens;
mod ttlv;
mod xks;
