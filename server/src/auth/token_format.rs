//! API tokens on the wire: `hyok_<id>_<secret>`, with a 16-hex-digit id that finds the
//! row and a 64-hex-digit (256-bit) random secret that only its holder knows.

use zeroize::Zeroizing;

const PREFIX: &str = "hyok_";
const ID_HEX_DIGITS: usize = 16;
const SECRET_HEX_DIGITS: usize = 64;

/// A newly issued token: shown to its owner once, then only its hash is kept.
pub struct IssuedToken {
    pub id: String,
    pub secret: Zeroizing<String>,
}

impl IssuedToken {
    pub fn generate() -> Result<IssuedToken, getrandom::Error> {
        let mut id = [0u8; ID_HEX_DIGITS / 2];
        let mut secret = Zeroizing::new([0u8; SECRET_HEX_DIGITS / 2]);
        getrandom::getrandom(&mut id)?;
        getrandom::getrandom(secret.as_mut())?;
        Ok(IssuedToken {
            id: hex::encode(id),
            secret: Zeroizing::new(hex::encode(secret.as_ref())),
        })
    }

    /// The full token string, to hand to the user.
    pub fn token(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{PREFIX}{}_{}", self.id, self.secret.as_str()))
    }
}

/// Splits a presented token into (id, secret); `None` unless it has the exact shape.
pub fn parse(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.strip_prefix(PREFIX)?.split_once('_')?;
    let is_hex = |s: &str, len| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    (is_hex(id, ID_HEX_DIGITS) && is_hex(secret, SECRET_HEX_DIGITS)).then_some((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_parse_back() {
        let issued = IssuedToken::generate().unwrap();
        let token = issued.token();
        assert!(token.starts_with("hyok_"));
        assert_eq!(
            parse(&token),
            Some((issued.id.as_str(), issued.secret.as_str()))
        );
        assert_ne!(IssuedToken::generate().unwrap().id, issued.id);
    }

    #[test]
    fn anything_else_is_refused() {
        let good = format!("hyok_{}_{}", "0".repeat(16), "a".repeat(64));
        assert!(parse(&good).is_some());
        for bad in [
            "",
            "hyok_",
            "Bearer x",
            &good[1..],
            &good[..good.len() - 1],
            &format!("{good}0"),
            &good.replace("hyok_", "HYOK_"),
            &format!("hyok_{}_{}", "0".repeat(16), "A".repeat(64)),
            &format!("hyok_{}_{}_", "0".repeat(16), "a".repeat(63)),
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
