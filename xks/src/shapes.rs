//! The shapes the XKS specification gives to a URI prefix and to SigV4 credentials.

use crate::names::API_PATH;

/// The longest `{prefix}/kms/xks/v1` the specification allows.
const MAX_PREFIXED_API_PATH: usize = 128;

/// Why a URI prefix is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    #[error("must start with '/'")]
    NoLeadingSlash,
    #[error("must not end with '/'")]
    TrailingSlash,
    #[error("may contain only letters, digits, '/', '_' and '-' (found {0:?})")]
    Character(char),
    #[error("is too long: the prefix followed by {API_PATH} must be at most {MAX_PREFIXED_API_PATH} characters")]
    TooLong,
}

/// Checks a non-empty XKS URI prefix such as `/aws` or `/example/prefix`.
pub fn validate_uri_prefix(prefix: &str) -> Result<(), PrefixError> {
    if !prefix.starts_with('/') {
        return Err(PrefixError::NoLeadingSlash);
    }
    if prefix.ends_with('/') {
        return Err(PrefixError::TrailingSlash);
    }
    if let Some(bad) = prefix
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-')))
    {
        return Err(PrefixError::Character(bad));
    }
    if prefix.len() + API_PATH.len() > MAX_PREFIXED_API_PATH {
        return Err(PrefixError::TooLong);
    }
    Ok(())
}

/// An access key id as AWS KMS accepts it for an external key store: 20 to 30
/// characters of `A-Z` and `2-7`.
pub fn is_access_key_id_shape(id: &str) -> bool {
    (20..=30).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

/// A secret access key as AWS KMS accepts it: 43 to 64 characters of `[A-Za-z0-9+/=]`.
pub fn is_secret_access_key_shape(secret: &str) -> bool {
    (43..=64).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(validate_uri_prefix("/aws"), Ok(()));
        assert_eq!(validate_uri_prefix("/example/prefix_1-a"), Ok(()));
        assert_eq!(validate_uri_prefix("aws"), Err(PrefixError::NoLeadingSlash));
        assert_eq!(validate_uri_prefix(""), Err(PrefixError::NoLeadingSlash));
        assert_eq!(
            validate_uri_prefix("/aws/"),
            Err(PrefixError::TrailingSlash)
        );
        assert_eq!(
            validate_uri_prefix("/a ws"),
            Err(PrefixError::Character(' '))
        );
        assert_eq!(
            validate_uri_prefix("/a.b"),
            Err(PrefixError::Character('.'))
        );
        let longest = format!(
            "/{}",
            "a".repeat(MAX_PREFIXED_API_PATH - API_PATH.len() - 1)
        );
        assert_eq!(validate_uri_prefix(&longest), Ok(()));
        assert_eq!(
            validate_uri_prefix(&format!("{longest}b")),
            Err(PrefixError::TooLong)
        );
    }

    #[test]
    fn access_key_ids() {
        assert!(is_access_key_id_shape("ABCDEFGHIJKLMNOPQRST"));
        assert!(is_access_key_id_shape(&"A2".repeat(15)));
        assert!(
            !is_access_key_id_shape("ABCDEFGHIJKLMNOPQRS"),
            "19 characters"
        );
        assert!(!is_access_key_id_shape(&"A".repeat(31)));
        assert!(
            is_access_key_id_shape("AKIAIOSFODNN7EXAMPLE"),
            "the documented example"
        );
        assert!(
            !is_access_key_id_shape("AKIAIOSF0DNN8EXAMPLE"),
            "0 and 8 are outside A-Z2-7"
        );
        assert!(!is_access_key_id_shape("abcdefghijklmnopqrst"));
    }

    #[test]
    fn secret_access_keys() {
        assert!(
            !is_secret_access_key_shape("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            "40 characters"
        );
        assert!(is_secret_access_key_shape(&"a+/=".repeat(11)));
        assert!(!is_secret_access_key_shape(&"a".repeat(65)));
        assert!(!is_secret_access_key_shape(&"a-".repeat(22)));
    }
}
