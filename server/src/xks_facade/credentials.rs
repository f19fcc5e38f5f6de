//! The facade's settings and SigV4 credentials from `[aws_xks_config]`: the seed pair
//! plus `aws_xks_credentials`, swapped without a restart when the file is reloaded.

use hyok_xks::sigv4::{Credential, Credentials};
use hyok_xks::{Settings, XksService};

use crate::config::XksConfig;

fn credentials(config: &XksConfig) -> Credentials {
    let mut list = Vec::new();
    if let (Some(id), Some(secret)) = (
        &config.aws_xks_sigv4_access_key_id,
        &config.aws_xks_sigv4_secret_access_key,
    ) {
        list.push(Credential::new(id, secret.expose()));
    }
    for extra in &config.aws_xks_credentials {
        list.push(Credential::new(
            &extra.access_key_id,
            extra.secret_access_key.expose(),
        ));
    }
    Credentials::new(list)
}

/// The facade for `config`, or `None` when `aws_xks_enable` is false.
pub fn service_for(config: &XksConfig) -> Option<XksService> {
    if !config.aws_xks_enable {
        return None;
    }
    let settings = Settings {
        prefix: config.aws_xks_uri_prefix.clone(),
        region: config.aws_xks_region.clone(),
        service: config.aws_xks_service.clone(),
        max_plaintext_bytes: config.aws_xks_max_plaintext_bytes,
        max_aad_bytes: config.aws_xks_max_aad_bytes,
        requests_per_second: config.aws_xks_requests_per_second,
        model: format!("hyok {}", env!("CARGO_PKG_VERSION")),
    };
    Some(XksService::new(settings, credentials(config)))
}

/// Swaps in the credentials of a reloaded configuration; returns how many are live.
pub fn reload_credentials(service: &XksService, config: &XksConfig) -> usize {
    let fresh = credentials(config);
    let count = fresh.len();
    service.set_credentials(fresh);
    count
}
