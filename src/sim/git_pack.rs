//! The one repository the simulator serves for every project that has
//! commits: two commits on one branch, made once with real git by
//! `tests/fixtures/git/make-fixture.sh` (provenance in that folder's
//! README) and embedded here, so `labwatch sim` reads no file at run time.
//!
//! Every non-empty project shows the same commits under its own default
//! branch name; a clone or fetch of any of them is answered with the whole
//! pack, which is small enough (under 1 KiB) that negotiating less is not
//! worth modelling.

/// Every object of the branch as one pack (version 2, no deltas).
pub const PACK: &[u8] = include_bytes!("../../tests/fixtures/git/fixture.pack");

/// The tip commit (`tests/fixtures/git/refs`; a unit test keeps them equal).
pub const TIP: &str = "245a17711f9dbb7c65d530911aec82f4ae8f92ae";

/// The id of every object in [`PACK`], one a line.
const OBJECTS: &str = include_str!("../../tests/fixtures/git/objects");

/// Whether the pack holds the object: a `want` of anything else is "not our
/// ref". (Gitaly lets clients want any reachable object, not only the
/// advertised tips, so a want of the older commit is served too.)
pub fn has_object(oid: &str) -> bool {
    OBJECTS.lines().any(|line| line == oid)
}

/// Whether `text` looks like a SHA-1 object id (40 lowercase hex digits).
pub fn is_object_id(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tip_is_the_fixture_branch_and_in_the_pack() {
        let refs = include_str!("../../tests/fixtures/git/refs");
        assert_eq!(refs, format!("{TIP} refs/heads/main\n"));
        assert!(has_object(TIP));
        assert_eq!(OBJECTS.lines().count(), 7);
        assert!(OBJECTS.lines().all(is_object_id));
        assert!(!has_object(&"0".repeat(40)));
    }

    #[test]
    fn the_pack_is_whole() {
        // "PACK", version 2, 7 objects; the last 20 bytes are the SHA-1 of the rest.
        assert_eq!(&PACK[..12], b"PACK\0\0\0\x02\0\0\0\x07");
        let (body, trailer) = PACK.split_at(PACK.len() - 20);
        let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, body);
        assert_eq!(digest.as_ref(), trailer);
    }
}
