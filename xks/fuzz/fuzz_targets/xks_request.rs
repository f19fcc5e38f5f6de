//! The whole XKS request path behind a valid signature: the first input byte picks the
//! route, the rest is the JSON body. Every answer is a status the specification lists
//! with a JSON body of the right shape, and a body changed after signing is refused.
#![no_main]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use hyok_xks::sigv4::{sign, Credential, Credentials};
use hyok_xks::{
    Backend, DecryptInput, EncryptInput, EncryptOutput, HealthReport, KeyMetadata, Request,
    Requester, Settings, XksError, XksService,
};
use libfuzzer_sys::fuzz_target;
use zeroize::Zeroizing;

/// A backend that never fails: the ciphertext is the plaintext, so every decryptable
/// request reaches the end of the pipeline.
struct Echo;

impl Backend for Echo {
    async fn metadata(&self, _: &Requester<'_>, _: &str) -> Result<KeyMetadata, XksError> {
        Ok(KeyMetadata {
            key_spec: "AES_256".into(),
            key_usage: vec!["ENCRYPT".into(), "DECRYPT".into()],
            key_status: "ENABLED".into(),
        })
    }
    async fn encrypt(
        &self,
        _: &Requester<'_>,
        _: &str,
        input: EncryptInput,
    ) -> Result<EncryptOutput, XksError> {
        Ok(EncryptOutput {
            ciphertext: input.plaintext.to_vec(),
            iv: vec![0; 12],
            tag: vec![0; 16],
            ciphertext_metadata: None,
        })
    }
    async fn decrypt(
        &self,
        _: &Requester<'_>,
        _: &str,
        input: DecryptInput,
    ) -> Result<Zeroizing<Vec<u8>>, XksError> {
        Ok(Zeroizing::new(input.ciphertext))
    }
    async fn health(&self, _: &Requester<'_>) -> Result<HealthReport, XksError> {
        Ok(HealthReport {
            fleet_size: 1,
            ekm_vendor: "fuzz".into(),
            ekm_fleet: Vec::new(),
        })
    }
}

const ROUTES: [&str; 5] = [
    "/aws/kms/xks/v1/keys/fuzz-key/metadata",
    "/aws/kms/xks/v1/keys/fuzz-key/encrypt",
    "/aws/kms/xks/v1/keys/fuzz-key/decrypt",
    "/aws/kms/xks/v1/health",
    "/aws/kms/xks/v1/keys/fuzz%2Fkey/other",
];

/// The statuses the XKS specification gives its errors (and 200).
const STATUSES: [u16; 9] = [200, 400, 401, 403, 404, 405, 429, 500, 501];

fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let path = ROUTES[usize::from(selector) % ROUTES.len()];
    let tamper = selector >= 128;
    let credential = || {
        Credential::new(
            "AKIAFUZZFUZZFUZZFUZZ",
            "a secret of forty characters, 40 chars!!",
        )
    };
    let service = XksService::new(
        Settings {
            prefix: "/aws".into(),
            region: "us-east-1".into(),
            service: "kms-xks-proxy".into(),
            max_plaintext_bytes: 4096,
            max_aad_bytes: 8192,
            requests_per_second: None,
            model: "hyok fuzz".into(),
        },
        Credentials::new(vec![credential()]),
    );
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let [date, authorization] = sign(
        &credential(),
        "us-east-1",
        "kms-xks-proxy",
        "xks.example",
        path,
        body,
        now,
    );
    let headers = [
        ("host", "xks.example"),
        (date.0.as_str(), date.1.as_str()),
        (authorization.0.as_str(), authorization.1.as_str()),
        ("content-type", "application/json"),
    ];
    let mut sent = body.to_vec();
    if tamper {
        sent.push(b' ');
    }
    let request = Request {
        method: "POST",
        path,
        query: "",
        headers: &headers,
        body: &sent,
    };
    let response = run(service.handle(&request, &Echo, now));
    assert!(
        STATUSES.contains(&response.status),
        "status {}",
        response.status
    );
    let answer: serde_json::Value =
        serde_json::from_str(&response.body).expect("every answer is JSON");
    if tamper {
        assert_eq!(
            response.status, 401,
            "a body changed after signing was accepted"
        );
    }
    if response.status == 200 {
        assert!(response.error.is_none());
    } else {
        let name = answer["errorName"].as_str().expect("an error names itself");
        assert_eq!(Some(name), response.error.as_ref().map(|e| e.kind.name()));
    }
});
