//! The master key file: created private, refused when readable by others, parsed strictly.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use tenantlink_store::{MASTER_KEY_FILE, MasterKey, MasterKeyError};

#[test]
fn generated_key_file_is_private_and_reloads_to_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let created = MasterKey::load_or_generate(dir.path()).unwrap();
    let path = dir.path().join(MASTER_KEY_FILE);
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let loaded = MasterKey::load_or_generate(dir.path()).unwrap();
    assert_eq!(loaded.id(), created.id());
    assert_eq!(loaded.to_base64().as_str(), created.to_base64().as_str());
    assert_eq!(
        fs::read_to_string(&path).unwrap().trim(),
        created.to_base64().as_str()
    );
}

#[test]
fn key_file_readable_by_group_or_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    MasterKey::load_or_generate(dir.path()).unwrap();
    let path = dir.path().join(MASTER_KEY_FILE);
    for mode in [0o640, 0o604, 0o660] {
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        match MasterKey::load_or_generate(dir.path()) {
            Err(MasterKeyError::InsecurePermissions { path: p, mode: m }) => {
                assert_eq!((p, m), (path.clone(), mode));
            }
            other => panic!("mode {mode:o}: expected InsecurePermissions, got {other:?}"),
        }
    }
    let message = MasterKey::load(&path).unwrap_err().to_string();
    assert!(message.contains("chmod 600"), "{message}");
}

#[test]
fn malformed_key_text_is_refused_with_its_origin() {
    for text in ["", "not base64!", "AAAA", &"A".repeat(60)] {
        match MasterKey::from_base64(text, "TENANTLINK_MASTER_KEY") {
            Err(MasterKeyError::Malformed { origin }) => {
                assert_eq!(origin, "TENANTLINK_MASTER_KEY")
            }
            other => panic!("{text:?}: expected Malformed, got {other:?}"),
        }
    }
}

#[test]
fn key_round_trips_through_base64_and_debug_shows_only_the_id() {
    let key = MasterKey::generate().unwrap();
    let text = key.to_base64();
    let parsed = MasterKey::from_base64(&text, "test").unwrap();
    assert_eq!(parsed.id(), key.id());
    let debug = format!("{key:?}");
    assert!(!debug.contains(text.as_str()), "{debug}");
    assert!(debug.contains(&key.id().to_string()), "{debug}");
    assert_ne!(MasterKey::generate().unwrap().id(), key.id());
}
