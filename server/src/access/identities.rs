//! The identities a request carries, typed: a hyok user, or — for AWS XKS calls — the key
//! store (`xks:<name>`), the AWS principal (`aws-principal:<awsPrincipalArn>`) and the AWS
//! service acting for it (`aws-service:<service>.amazonaws.com`). The prefixes keep the
//! namespaces apart: no user may be named with one, so an XKS identity never equals a
//! user, never owns an object, and matches only grants written for it.

use serde::Serialize;

use crate::auth::Caller;

/// What the key store's identity starts with.
pub const KEY_STORE_PREFIX: &str = "xks:";
/// What an AWS principal's identity starts with.
pub const AWS_PRINCIPAL_PREFIX: &str = "aws-principal:";
/// What an AWS service's identity starts with.
pub const AWS_SERVICE_PREFIX: &str = "aws-service:";
/// The prefixes no user name may start with.
pub const RESERVED_PREFIXES: [&str; 3] =
    [KEY_STORE_PREFIX, AWS_PRINCIPAL_PREFIX, AWS_SERVICE_PREFIX];
/// The longest user name.
const MAX_USER_NAME_CHARS: usize = 128;

/// One identity a request carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "kebab-case")]
pub enum Identity {
    /// A hyok user (token or client certificate); the only kind that owns objects.
    User(String),
    /// The XKS key store whose SigV4 credential signed the request.
    KeyStore(String),
    /// The request's `awsPrincipalArn`, as AWS KMS sent it.
    AwsPrincipal(String),
    /// The request's `kmsViaService`, as `<service>.amazonaws.com`.
    AwsService(String),
}

impl Identity {
    /// The identity as grants name it (a user's name as it is, the others prefixed).
    pub fn grant_name(&self) -> String {
        match self {
            Identity::User(name) => name.clone(),
            Identity::KeyStore(name) => format!("{KEY_STORE_PREFIX}{name}"),
            Identity::AwsPrincipal(arn) => format!("{AWS_PRINCIPAL_PREFIX}{arn}"),
            Identity::AwsService(service) => format!("{AWS_SERVICE_PREFIX}{service}"),
        }
    }

    fn tag(&self) -> u8 {
        match self {
            Identity::User(_) => 0,
            Identity::KeyStore(_) => 1,
            Identity::AwsPrincipal(_) => 2,
            Identity::AwsService(_) => 3,
        }
    }

    fn from_tag(tag: u8, name: String) -> Option<Identity> {
        Some(match tag {
            0 => Identity::User(name),
            1 => Identity::KeyStore(name),
            2 => Identity::AwsPrincipal(name),
            3 => Identity::AwsService(name),
            _ => return None,
        })
    }

    fn name(&self) -> &str {
        match self {
            Identity::User(name)
            | Identity::KeyStore(name)
            | Identity::AwsPrincipal(name)
            | Identity::AwsService(name) => name,
        }
    }
}

/// Why a name cannot be a user's.
pub fn user_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.chars().count() > MAX_USER_NAME_CHARS {
        Some(format!("must be 1 to {MAX_USER_NAME_CHARS} characters"))
    } else if name.chars().any(char::is_control) || name.trim() != name {
        Some("must not contain control characters or surrounding spaces".into())
    } else if name == "*" {
        Some("is reserved: \"*\" means everyone in grants".into())
    } else {
        RESERVED_PREFIXES
            .iter()
            .find(|prefix| name.starts_with(**prefix))
            .map(|prefix| {
                format!(
                    "is reserved: names starting with {prefix:?} are XKS identities ({})",
                    RESERVED_PREFIXES.join(", ")
                )
            })
    }
}

/// Why `identity` cannot be named in a grant: a prefixed (XKS) identity must name
/// something, and a service as AWS KMS reports it.
pub fn grant_identity_problem(identity: &str) -> Option<String> {
    if let Some(service) = identity.strip_prefix(AWS_SERVICE_PREFIX) {
        if !service.ends_with(".amazonaws.com") || service == ".amazonaws.com" {
            let service = service.trim_end_matches(".amazonaws.com");
            return Some(format!(
                "a service is named as <service>.amazonaws.com, e.g. {AWS_SERVICE_PREFIX}{}.amazonaws.com",
                if service.is_empty() { "dynamodb" } else { service }
            ));
        }
    }
    RESERVED_PREFIXES
        .iter()
        .find(|prefix| identity.strip_prefix(**prefix) == Some(""))
        .map(|prefix| format!("{prefix:?} must be followed by a name"))
}

/// Whether `name`, unprefixed, has the shape of what AWS KMS sends as awsPrincipalArn
/// or kmsViaService (an ARN, a service principal, `AWS Internal`).
pub fn looks_like_aws(name: &str) -> bool {
    let prefixed = RESERVED_PREFIXES
        .iter()
        .any(|prefix| name.starts_with(prefix));
    !prefixed
        && (name.starts_with("arn:") || name.ends_with(".amazonaws.com") || name == "AWS Internal")
}

/// Identities in the order they are tried; `*` grants match any of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identities(Vec<Identity>);

impl Identities {
    /// A user authenticated by token or client certificate.
    pub fn of_caller(caller: &Caller) -> Identities {
        Identities(vec![Identity::User(caller.user.clone())])
    }

    /// An XKS request: the key store, the `awsPrincipalArn`, and `kmsViaService` as
    /// `<service>.amazonaws.com` (for example `dynamodb.amazonaws.com`).
    pub fn of_xks_request(
        store_name: &str,
        principal_arn: &str,
        kms_via_service: Option<&str>,
    ) -> Identities {
        let mut identities = vec![Identity::KeyStore(store_name.to_string())];
        if !principal_arn.is_empty() {
            identities.push(Identity::AwsPrincipal(principal_arn.to_string()));
        }
        if let Some(service) = kms_via_service.filter(|s| !s.is_empty()) {
            identities.push(Identity::AwsService(
                if service.ends_with(".amazonaws.com") {
                    service.to_string()
                } else {
                    format!("{service}.amazonaws.com")
                },
            ));
        }
        Identities(identities)
    }

    /// The identities as grants name them, in their order.
    pub fn grant_names(&self) -> Vec<String> {
        self.0.iter().map(Identity::grant_name).collect()
    }

    /// The users among the identities (those who may own objects).
    pub fn user_names(&self) -> Vec<String> {
        self.0
            .iter()
            .filter_map(|identity| match identity {
                Identity::User(name) => Some(name.clone()),
                _ => None,
            })
            .collect()
    }

    /// Whether one of the identities is the user `owner` (only users own objects).
    pub fn includes_owner(&self, owner: &str) -> bool {
        self.0
            .iter()
            .any(|identity| matches!(identity, Identity::User(name) if name == owner))
    }

    /// Whether a grant to `grant_identity` (as grants name identities) names one of these.
    pub fn named_by(&self, grant_identity: &str) -> bool {
        self.0
            .iter()
            .any(|identity| identity.grant_name() == grant_identity)
    }

    /// The identities as one compact value to compare, for caches of decisions.
    pub fn key(&self) -> IdentitiesKey {
        let mut key = Vec::with_capacity(self.0.iter().map(|id| 9 + id.name().len()).sum());
        for identity in &self.0 {
            // Tagged and length-prefixed, so that no two different lists encode alike.
            key.push(identity.tag());
            key.extend_from_slice(&(identity.name().len() as u64).to_le_bytes());
            key.extend_from_slice(identity.name().as_bytes());
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
        while let Some((&tag, after)) = rest.split_first() {
            let Some((length, after)) = after.split_first_chunk::<8>() else {
                break;
            };
            let (name, after) = after.split_at(u64::from_le_bytes(*length) as usize);
            // Made from strings by `Identities::key`: valid UTF-8, nothing replaced.
            let name = String::from_utf8_lossy(name).into_owned();
            identities.extend(Identity::from_tag(tag, name));
            rest = after;
        }
        Identities(identities)
    }
}

impl std::fmt::Display for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.grant_names().join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xks_requests_carry_store_principal_and_service_each_prefixed() {
        let ids = Identities::of_xks_request(
            "aws",
            "arn:aws:iam::123456789012:role/app",
            Some("dynamodb"),
        );
        assert_eq!(
            ids.grant_names(),
            [
                "xks:aws",
                "aws-principal:arn:aws:iam::123456789012:role/app",
                "aws-service:dynamodb.amazonaws.com"
            ]
        );
        let ids = Identities::of_xks_request(
            "prod",
            "dynamodb.amazonaws.com",
            Some("dynamodb.amazonaws.com"),
        );
        assert_eq!(
            ids.grant_names(),
            [
                "xks:prod",
                "aws-principal:dynamodb.amazonaws.com",
                "aws-service:dynamodb.amazonaws.com"
            ]
        );
        assert_eq!(
            Identities::of_xks_request("aws", "", None).grant_names(),
            ["xks:aws"]
        );
    }

    #[test]
    fn an_xks_request_owns_nothing_even_when_it_names_the_owner() {
        let ids = Identities::of_xks_request("aws", "admin", Some("admin"));
        assert!(!ids.includes_owner("admin"));
        assert!(!ids.named_by("admin"));
        assert!(ids.named_by("aws-principal:admin"));
    }

    #[test]
    fn a_user_named_like_an_arn_is_not_the_aws_principal() {
        let caller = Caller {
            user: "arn:aws:iam::1:role/r".into(),
            role: hyok_db::Role::User,
            credential: crate::auth::Credential::ClientCertificate,
        };
        let ids = Identities::of_caller(&caller);
        assert!(ids.includes_owner("arn:aws:iam::1:role/r"));
        assert!(!ids.named_by("aws-principal:arn:aws:iam::1:role/r"));
    }

    #[test]
    fn reserved_names_are_no_user_names() {
        for name in [
            "*",
            "xks:aws",
            "aws-principal:arn:aws:iam::1:role/r",
            "aws-service:dynamodb.amazonaws.com",
            "",
            " alice",
            "a\nb",
        ] {
            assert!(user_name_problem(name).is_some(), "{name:?}");
        }
        for name in [
            "alice",
            "arn:aws:iam::1:role/r",
            "ops:alice",
            "dynamodb.amazonaws.com",
        ] {
            assert_eq!(user_name_problem(name), None, "{name:?}");
        }
    }

    #[test]
    fn keys_are_equal_exactly_when_the_lists_are() {
        let of = |ids: Vec<Identity>| Identities(ids).key();
        let store = || Identity::KeyStore("aws".into());
        let principal = |arn: &str| Identity::AwsPrincipal(arn.into());
        assert_eq!(
            of(vec![store(), principal("arn:a")]),
            of(vec![store(), principal("arn:a")])
        );
        assert_ne!(
            of(vec![store(), principal("arn:a")]),
            of(vec![store(), principal("arn:b")])
        );
        assert_ne!(
            of(vec![principal("ab"), principal("c")]),
            of(vec![principal("a"), principal("bc")]),
            "where one ends matters"
        );
        assert_ne!(of(vec![store()]), of(vec![store(), principal("")]));
        assert_ne!(
            of(vec![principal("arn:a"), store()]),
            of(vec![store(), principal("arn:a")])
        );
        assert_ne!(
            of(vec![Identity::User("x".into())]),
            of(vec![principal("x")]),
            "the kind matters"
        );
    }

    #[test]
    fn a_key_gives_back_its_identities() {
        for ids in [
            Identities::of_xks_request("aws", "arn:aws:iam::1:role/é", Some("dynamodb")),
            Identities::of_xks_request("aws", "", None),
            Identities(vec![
                Identity::User(String::new()),
                Identity::User("x".into()),
            ]),
            Identities(Vec::new()),
        ] {
            assert_eq!(ids.key().identities(), ids);
        }
    }
}
