//! Unique identifiers of new objects: UUIDv7 (RFC 9562), time-ordered, so that new rows
//! land at the end of the database's uid and chain indexes rather than at random places —
//! a commit of new keys then writes a few pages instead of one per key and index (about
//! three times cheaper on SQLite). They show the creation time to the millisecond, which
//! the object's Initial Date attribute holds anyway.

/// A new object's unique identifier.
pub fn new_uid() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn identifiers_are_unique_uuids_in_creation_order() {
        let first = super::new_uid();
        let second = super::new_uid();
        assert_ne!(first, second);
        assert!(first < second, "{first} then {second}");
        let parsed = uuid::Uuid::parse_str(&second).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
    }
}
