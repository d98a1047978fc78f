//! Session ids, the role session names derived from them, and the short key
//! learners' resource names are scoped by.

use std::fmt;

use sha2::{Digest, Sha256};

/// The platform's id of a learner session: 1..=256 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// Longest accepted session id, in characters.
    pub const MAX_CHARS: usize = 256;

    /// Validates a session id from a request.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let chars = raw.chars().count();
        if chars == 0 || chars > Self::MAX_CHARS {
            return Err(format!("session_id must be 1..={} characters", Self::MAX_CHARS));
        }
        if raw.chars().any(char::is_control) {
            return Err("session_id must not contain control characters".into());
        }
        Ok(Self(raw.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Characters STS accepts in RoleSessionName and SourceIdentity: `[\w+=,.@-]`.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// IAM role names: 1..=64 characters of `[\w+=,.@-]`.
pub fn is_valid_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.chars().all(is_name_char)
}

/// A RoleSessionName (also used as SourceIdentity): `[\w+=,.@-]{2,64}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoleSessionName(String);

/// Hex digits of SHA-256 appended to mapped names (80 bits).
const HASH_HEX: usize = 20;
const MAX_NAME: usize = 64;

impl RoleSessionName {
    /// Uses the session id verbatim when STS accepts it; otherwise maps it to
    /// `<sanitised prefix>=<20 hex digits of SHA-256(session_id)>`.
    ///
    /// Collision-freedom: a verbatim name never has the mapped shape (ids of
    /// that shape are mapped too), so a verbatim name never equals a mapped
    /// one; two mapped names are equal only if 80 bits of SHA-256 collide.
    pub fn for_session(id: &SessionId) -> Self {
        let raw = id.as_str();
        let verbatim = (2..=MAX_NAME).contains(&raw.len()) && raw.chars().all(is_name_char);
        if verbatim && !Self::has_mapped_shape(raw) {
            return Self(raw.to_owned());
        }
        let digest = hex::encode(Sha256::digest(raw.as_bytes()));
        let prefix: String = raw
            .chars()
            .map(|c| if is_name_char(c) && c != '=' { c } else { '-' })
            .take(MAX_NAME - HASH_HEX - 1)
            .collect();
        Self(format!("{prefix}={}", &digest[..HASH_HEX]))
    }

    fn has_mapped_shape(name: &str) -> bool {
        name.len() > HASH_HEX
            && name.as_bytes()[name.len() - HASH_HEX - 1] == b'='
            && name[name.len() - HASH_HEX..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value for the `sandbox-session` session tag. Tag values may not
    /// contain `,` (allowed in session names), so it becomes `:`.
    pub fn tag_value(&self) -> String {
        self.0.replace(',', ":")
    }
}

impl fmt::Display for RoleSessionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// 12 lowercase hex characters of SHA-256(session_id): short enough for
/// S3 bucket and other resource name prefixes, sent as the `sandbox-key` tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKey(String);

impl SessionKey {
    /// The key of a session id.
    pub fn of(id: &SessionId) -> Self {
        Self(hex::encode(&Sha256::digest(id.as_str().as_bytes())[..6]))
    }

    /// The 12 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Session tag carrying the role session name (CloudTrail, ABAC).
pub const TAG_SESSION: &str = "sandbox-session";
/// Session tag carrying the profile's name.
pub const TAG_PROFILE: &str = "sandbox-profile";
/// Session tag carrying the [`SessionKey`], the prefix of resource names.
pub const TAG_KEY: &str = "sandbox-key";

/// The session tags every AssumeRole of a session carries.
pub fn session_tags(id: &SessionId, name: &RoleSessionName, profile: &str) -> Vec<(String, String)> {
    vec![
        (TAG_SESSION.into(), name.tag_value()),
        (TAG_PROFILE.into(), profile.to_owned()),
        (TAG_KEY.into(), SessionKey::of(id).as_str().to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name(raw: &str) -> String {
        RoleSessionName::for_session(&SessionId::parse(raw).unwrap()).0
    }

    fn is_valid_session_name(n: &str) -> bool {
        (2..=64).contains(&n.len()) && n.chars().all(is_name_char)
    }

    #[test]
    fn valid_ids_are_used_verbatim() {
        assert_eq!(name("learner-42@track-s3"), "learner-42@track-s3");
        assert_eq!(name("a,b=c+d.e_f"), "a,b=c+d.e_f");
    }

    #[test]
    fn invalid_ids_are_mapped_with_a_hash() {
        let mapped = name("learner 42/track s3");
        assert!(mapped.starts_with("learner-42-track-s3="), "{mapped}");
        assert_eq!(mapped.len(), "learner-42-track-s3=".len() + HASH_HEX);
        assert!(is_valid_session_name(&name("x")));
        assert!(is_valid_session_name(&name("日本語")));
        assert!(is_valid_session_name(&name(&"a".repeat(256))));
    }

    #[test]
    fn ids_shaped_like_mapped_names_are_mapped_too() {
        let mapped = name("learner 1");
        assert_ne!(name(&mapped), mapped);
    }

    #[test]
    fn session_id_rejects_empty_long_and_control() {
        assert!(SessionId::parse("").is_err());
        assert!(SessionId::parse(&"a".repeat(257)).is_err());
        assert!(SessionId::parse(&"é".repeat(256)).is_ok());
        assert!(SessionId::parse("a\nb").is_err());
        assert!(SessionId::parse("a\u{7f}").is_err());
    }

    #[test]
    fn session_key_is_12_lowercase_hex() {
        let key = SessionKey::of(&SessionId::parse("learner-42@track-s3").unwrap());
        assert_eq!(key.as_str().len(), 12);
        assert!(key.as_str().bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }

    fn session_id() -> impl Strategy<Value = String> {
        prop_oneof![
            "[A-Za-z0-9_+=,.@-]{1,70}",
            "[ -~]{1,80}",
            "\\PC{1,256}",
            // Adversarial: ids that already look like mapped names.
            "[a-z]{0,43}=[0-9a-f]{20}",
        ]
    }

    proptest! {
        #[test]
        fn mapping_is_valid_and_collision_free(a in session_id(), b in session_id()) {
            let (na, nb) = (name(&a), name(&b));
            prop_assert!(is_valid_session_name(&na), "invalid name {na:?} for {a:?}");
            if a != b {
                prop_assert_ne!(na, nb);
            }
        }

        #[test]
        fn mapped_name_of_one_id_never_equals_verbatim_other(a in "[ -~]{1,60}") {
            let mapped = name(&a);
            prop_assert!(mapped == a || name(&mapped) != mapped);
        }
    }
}
