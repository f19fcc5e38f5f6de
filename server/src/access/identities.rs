//! The identities a request carries: a user's name, or — for AWS XKS calls — the key
//! store (`xks:<name>`), the AWS principal and the AWS service acting for it.

use serde::Serialize;

use crate::auth::Caller;

/// Identities in the order they are tried; `*` grants match any of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identities(Vec<String>);

impl Identities {
    /// A user authenticated by token or client certificate.
    pub fn of_caller(caller: &Caller) -> Identities {
        Identities(vec![caller.user.clone()])
    }

    /// An XKS request: the key store, the `awsPrincipalArn`, and `kmsViaService` as
    /// `<service>.amazonaws.com` (for example `dynamodb.amazonaws.com`).
    pub fn of_xks_request(
        store_name: &str,
        principal_arn: &str,
        kms_via_service: Option<&str>,
    ) -> Identities {
        let mut identities = vec![format!("xks:{store_name}")];
        if !principal_arn.is_empty() {
            identities.push(principal_arn.to_string());
        }
        if let Some(service) = kms_via_service.filter(|s| !s.is_empty()) {
            identities.push(if service.ends_with(".amazonaws.com") {
                service.to_string()
            } else {
                format!("{service}.amazonaws.com")
            });
        }
        Identities(identities)
    }

    pub fn as_strs(&self) -> Vec<&str> {
        self.0.iter().map(String::as_str).collect()
    }

    pub fn contains(&self, identity: &str) -> bool {
        self.0.iter().any(|own| own == identity)
    }

    /// The identities as one compact value to compare, for caches of decisions.
    pub fn key(&self) -> IdentitiesKey {
        let mut key = Vec::with_capacity(self.0.iter().map(|id| 8 + id.len()).sum());
        for identity in &self.0 {
            // Length-prefixed, so that no two different lists encode alike.
            key.extend_from_slice(&(identity.len() as u64).to_le_bytes());
            key.extend_from_slice(identity.as_bytes());
        }
        IdentitiesKey(key.into_boxed_slice())
    }
}

/// [`Identities::key`]: equal exactly when the lists are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentitiesKey(Box<[u8]>);

impl IdentitiesKey {
    /// The identities it was made of, in their order.
    pub fn identities(&self) -> Identities {
        let mut identities = Vec::new();
        let mut rest = &self.0[..];
        while let Some((length, after)) = rest.split_first_chunk::<8>() {
            let (identity, after) = after.split_at(u64::from_le_bytes(*length) as usize);
            // Made from strings by `Identities::key`: valid UTF-8, nothing replaced.
            identities.push(String::from_utf8_lossy(identity).into_owned());
            rest = after;
        }
        Identities(identities)
    }
}

impl std::fmt::Display for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::Identities;

    #[test]
    fn xks_requests_carry_store_principal_and_service() {
        let ids = Identities::of_xks_request(
            "aws",
            "arn:aws:iam::123456789012:role/app",
            Some("dynamodb"),
        );
        assert_eq!(
            ids.as_strs(),
            [
                "xks:aws",
                "arn:aws:iam::123456789012:role/app",
                "dynamodb.amazonaws.com"
            ]
        );
        let ids = Identities::of_xks_request(
            "prod",
            "dynamodb.amazonaws.com",
            Some("dynamodb.amazonaws.com"),
        );
        assert_eq!(
            ids.as_strs(),
            [
                "xks:prod",
                "dynamodb.amazonaws.com",
                "dynamodb.amazonaws.com"
            ]
        );
        assert_eq!(
            Identities::of_xks_request("aws", "", None).as_strs(),
            ["xks:aws"]
        );
    }

    #[test]
    fn keys_are_equal_exactly_when_the_lists_are() {
        let of = |ids: &[&str]| Identities(ids.iter().map(|id| id.to_string()).collect()).key();
        assert_eq!(of(&["xks:aws", "arn:a"]), of(&["xks:aws", "arn:a"]));
        assert_ne!(of(&["xks:aws", "arn:a"]), of(&["xks:aws", "arn:b"]));
        assert_ne!(of(&["ab", "c"]), of(&["a", "bc"]), "where one ends matters");
        assert_ne!(of(&["xks:aws"]), of(&["xks:aws", ""]));
        assert_ne!(of(&["arn:a", "xks:aws"]), of(&["xks:aws", "arn:a"]));
    }

    #[test]
    fn a_key_gives_back_its_identities() {
        for ids in [
            Identities::of_xks_request("aws", "arn:aws:iam::1:role/é", Some("dynamodb")),
            Identities::of_xks_request("aws", "", None),
            Identities(vec![String::new(), "x".into()]),
            Identities(Vec::new()),
        ] {
            assert_eq!(ids.key().identities(), ids);
        }
    }
}
