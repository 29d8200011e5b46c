//! The encrypted connection store: round trips, file modes, the token never in
//! clear on disk, wrong keys and tampering as clear errors that leave files
//! untouched, key parsing and key files, markers, the audit log.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use labwatch::store::{
    Actor, AuditAction, AuditEntry, AuditResult, ConnectionStore, DisconnectRecord, Key, RotationMarker, StoreError,
    StoredConnection,
};
use secrecy::{ExposeSecret, SecretString};
use time::macros::{date, datetime};

const CANARY: &str = "glpat-canary-STORE-0123456789";
const KEY: [u8; 32] = [7; 32];

fn conn(workspace: &str) -> StoredConnection {
    StoredConnection {
        workspace: workspace.to_owned(),
        instance_url: "https://gitlab.example.com".to_owned(),
        token: SecretString::from(CANARY),
        user_id: 3,
        username: "alice".to_owned(),
        token_id: 4,
        token_name: "workspace".to_owned(),
        scopes: vec!["api".to_owned(), "read_repository".to_owned()],
        expires_at: Some(date!(2027 - 01 - 31)),
        created_at: Some(datetime!(2026-11-01 08:30:00 UTC)),
        connected_at: datetime!(2026-11-24 20:00:00 UTC),
        repositories: Some(vec!["acme/backend".to_owned(), "acme/frontend".to_owned()]),
    }
}

fn store(dir: &Path) -> ConnectionStore {
    ConnectionStore::with_key(dir, KEY).unwrap()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn envelope(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn write_envelope(path: &Path, value: &serde_json::Value) {
    fs::write(path, serde_json::to_vec(value).unwrap()).unwrap();
}

/// `open` prefers the environment variable; these tests are about the key file.
fn assert_no_env_key() {
    assert!(
        std::env::var_os("LABWATCH_STORE_KEY").is_none_or(|v| v.is_empty()),
        "unset LABWATCH_STORE_KEY to run the key-file tests"
    );
}

#[test]
fn a_saved_connection_loads_back_field_for_field() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let original = conn("acme");
    store.save(&original).unwrap();
    let loaded = store.load("acme").unwrap().expect("saved connection loads");
    assert_eq!(loaded.token.expose_secret(), CANARY);
    assert_eq!(loaded.workspace, original.workspace);
    assert_eq!(loaded.instance_url, original.instance_url);
    assert_eq!(loaded.user_id, original.user_id);
    assert_eq!(loaded.username, original.username);
    assert_eq!(loaded.token_id, original.token_id);
    assert_eq!(loaded.token_name, original.token_name);
    assert_eq!(loaded.scopes, original.scopes);
    assert_eq!(loaded.expires_at, original.expires_at);
    assert_eq!(loaded.created_at, original.created_at);
    assert_eq!(loaded.connected_at, original.connected_at);
    assert_eq!(loaded.repositories, original.repositories);
}

#[test]
fn optional_fields_round_trip_as_none_and_a_second_save_replaces_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    store.save(&conn("acme")).unwrap();
    let mut second = conn("acme");
    second.token = SecretString::from("glpat-second-token");
    second.expires_at = None;
    second.created_at = None;
    second.repositories = None;
    store.save(&second).unwrap();
    let loaded = store.load("acme").unwrap().unwrap();
    assert_eq!(loaded.token.expose_secret(), "glpat-second-token");
    assert_eq!(
        (loaded.expires_at, loaded.created_at, loaded.repositories),
        (None, None, None)
    );
    assert!(store.load("other").unwrap().is_none(), "no file is no connection");
}

#[test]
fn a_token_with_json_escapes_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut c = conn("acme");
    c.token = SecretString::from("tok\"en\\with\u{1}escapes");
    store.save(&c).unwrap();
    assert_eq!(
        store.load("acme").unwrap().unwrap().token.expose_secret(),
        "tok\"en\\with\u{1}escapes"
    );
}

#[test]
fn the_directory_is_0700_and_every_file_0600() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("var/lib/labwatch");
    let store = store(&dir);
    assert_eq!(store.dir(), Some(dir.as_path()));
    assert_eq!(mode(&dir), 0o700, "store directory created private");
    store.save(&conn("acme")).unwrap();
    store.write_marker(&marker("acme")).unwrap();
    store
        .audit(&AuditEntry::new(
            "acme",
            Actor::AdminApi,
            AuditAction::Connect,
            AuditResult::Ok,
        ))
        .unwrap();
    for name in ["acme.conn", "acme.rotation", "audit.log"] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
}

#[test]
fn the_store_file_never_holds_the_token_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    store.save(&conn("acme")).unwrap();
    let bytes = fs::read(dir.path().join("acme.conn")).unwrap();
    assert!(!contains(&bytes, CANARY), "token in clear in the store file");
    assert!(
        !contains(&bytes, &STANDARD.encode(CANARY)),
        "token merely base64-encoded"
    );
    let env = envelope(&dir.path().join("acme.conn"));
    let keys: BTreeSet<_> = env.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        ["ciphertext", "instance_url", "nonce", "version", "workspace"]
            .map(String::from)
            .into()
    );
    assert_eq!(env["version"], 1);
    assert_eq!(env["workspace"], "acme");
    assert_eq!(env["instance_url"], "https://gitlab.example.com");
    assert_eq!(STANDARD.decode(env["nonce"].as_str().unwrap()).unwrap().len(), 24);
}

#[test]
fn each_write_uses_a_fresh_nonce() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    store.save(&conn("acme")).unwrap();
    let first = envelope(&dir.path().join("acme.conn"));
    store.save(&conn("acme")).unwrap();
    let second = envelope(&dir.path().join("acme.conn"));
    assert_ne!(first["nonce"], second["nonce"]);
    assert_ne!(first["ciphertext"], second["ciphertext"]);
}

#[test]
fn debug_output_redacts_the_token_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let c = conn("acme");
    let shown = format!("{c:?}");
    assert!(!shown.contains(CANARY), "{shown}");
    assert!(shown.contains("alice"), "the rest is shown: {shown}");
    let store = store(dir.path());
    let shown = format!("{store:?} {:?}", Key::from_bytes(KEY));
    assert!(!shown.contains("7, 7, 7") && !shown.contains("0707"), "{shown}");
}

#[test]
fn a_wrong_key_is_a_decrypt_error_naming_the_file_and_both_fixes() {
    let dir = tempfile::tempdir().unwrap();
    store(dir.path()).save(&conn("acme")).unwrap();
    let path = dir.path().join("acme.conn");
    let before = fs::read(&path).unwrap();
    let other = ConnectionStore::with_key(dir.path(), [8; 32]).unwrap();
    let err = other.load("acme").unwrap_err();
    assert!(
        matches!(&err, StoreError::Decrypt { at: labwatch::store::Place::File(p) } if *p == path),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    for needle in [
        "key",
        "altered",
        "key_file",
        "LABWATCH_STORE_KEY",
        "remove the file and connect",
    ] {
        assert!(msg.contains(needle), "`{needle}` missing from: {msg}");
    }
    assert_eq!(fs::read(&path).unwrap(), before, "file left untouched");
}

#[test]
fn a_flipped_ciphertext_byte_is_an_error_and_the_file_stays_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    store.save(&conn("acme")).unwrap();
    let path = dir.path().join("acme.conn");
    let mut env = envelope(&path);
    let mut ct = STANDARD.decode(env["ciphertext"].as_str().unwrap()).unwrap();
    ct[5] ^= 0x01;
    env["ciphertext"] = STANDARD.encode(&ct).into();
    write_envelope(&path, &env);
    let tampered = fs::read(&path).unwrap();

    assert!(matches!(store.load("acme"), Err(StoreError::Decrypt { .. })));
    assert!(
        matches!(store.load("acme"), Err(StoreError::Decrypt { .. })),
        "still an error"
    );
    assert_eq!(fs::read(&path).unwrap(), tampered, "never replaced or deleted");
}

#[test]
fn a_garbled_file_is_a_format_error_and_stays_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let path = dir.path().join("acme.conn");
    for garbage in [
        &b"not json at all"[..],
        br#"{"version":2,"workspace":"acme","instance_url":"x","nonce":"","ciphertext":""}"#,
        br#"{"version":1,"workspace":"acme","instance_url":"x","nonce":"AAAA","ciphertext":""}"#,
    ] {
        fs::write(&path, garbage).unwrap();
        let err = store.load("acme").unwrap_err();
        assert!(matches!(err, StoreError::Format { .. }), "{err:?}");
        assert!(err.to_string().contains(&path.display().to_string()), "{err}");
        assert_eq!(fs::read(&path).unwrap(), garbage);
    }
}

#[test]
fn a_disconnect_record_round_trips_and_a_garbled_or_misplaced_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    assert_eq!(store.read_disconnected("acme").unwrap(), None);
    let record = DisconnectRecord::new("acme", datetime!(2026-11-25 12:00 UTC), Some("glpat-old"));
    store.write_disconnected(&record).unwrap();
    let path = dir.path().join("acme.disconnected");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(store.read_disconnected("acme").unwrap(), Some(record));

    // Copied to another workspace: not that workspace's record.
    fs::copy(&path, dir.path().join("beta.disconnected")).unwrap();
    let err = store.read_disconnected("beta").unwrap_err();
    assert!(
        err.to_string()
            .contains("it is the disconnect record of workspace `acme`"),
        "{err}"
    );

    fs::write(&path, b"not json").unwrap();
    let err = store.read_disconnected("acme").unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("not a disconnect record")
            && text.contains("remove it to let the config's token_file count again"),
        "{text}"
    );
    assert_eq!(fs::read(&path).unwrap(), b"not json", "the file stays as it is");

    store.clear_disconnected("acme").unwrap();
    assert_eq!(store.read_disconnected("acme").unwrap(), None);
    store.clear_disconnected("acme").unwrap();
}

#[test]
fn a_file_copied_to_another_workspace_does_not_load() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    store.save(&conn("acme")).unwrap();
    let copy = dir.path().join("beta.conn");
    fs::copy(dir.path().join("acme.conn"), &copy).unwrap();
    let err = store.load("beta").unwrap_err();
    assert!(
        matches!(&err, StoreError::WorkspaceMismatch { expected, found, .. } if expected == "beta" && found == "acme"),
        "{err:?}"
    );

    // Renaming the workspace inside the envelope too: the associated data no longer matches.
    let mut env = envelope(&copy);
    env["workspace"] = "beta".into();
    write_envelope(&copy, &env);
    assert!(matches!(store.load("beta"), Err(StoreError::Decrypt { .. })));
    assert!(store.load("acme").unwrap().is_some(), "the original still loads");
}

#[test]
fn an_edited_instance_url_does_not_decrypt() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    store.save(&conn("acme")).unwrap();
    let path = dir.path().join("acme.conn");
    let mut env = envelope(&path);
    env["instance_url"] = "https://evil.example.net".into();
    write_envelope(&path, &env);
    let err = store.load("acme").unwrap_err();
    assert!(matches!(err, StoreError::Decrypt { .. }), "{err:?}");
}

#[test]
fn key_parse_accepts_hex_and_base64_of_the_same_32_bytes() {
    let bytes: [u8; 32] = std::array::from_fn(|i| (i * 37 + 11) as u8);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let forms = [
        hex.clone(),
        hex.to_uppercase(),
        format!("  {hex}\n"),
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
        format!("{}\n", STANDARD.encode(bytes)),
    ];
    let dir = tempfile::tempdir().unwrap();
    ConnectionStore::with_key(dir.path(), bytes)
        .unwrap()
        .save(&conn("acme"))
        .unwrap();
    for form in forms {
        let key = Key::parse(&form).unwrap_or_else(|e| panic!("{form:?}: {e}"));
        let store = ConnectionStore::from_key(dir.path(), &key).unwrap();
        assert!(store.load("acme").unwrap().is_some(), "{form:?} is the same key");
    }
}

#[test]
fn key_parse_rejects_bad_values_clearly_without_echoing_them() {
    let short_hex = "ab".repeat(31) + "a";
    let not_hex = "zz".repeat(32);
    let b64_16 = STANDARD.encode([1u8; 16]);
    for bad in [
        "",
        "   ",
        short_hex.as_str(),
        not_hex.as_str(),
        b64_16.as_str(),
        "not a key!",
    ] {
        let err = Key::parse(bad).unwrap_err();
        assert!(matches!(err, StoreError::Key { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("LABWATCH_STORE_KEY"), "{msg}");
        assert!(msg.contains("64 hex characters or base64 of 32 bytes"), "{msg}");
        if bad.trim().len() > 3 {
            assert!(!msg.contains(bad.trim()), "value echoed: {msg}");
        }
    }
}

#[test]
fn open_creates_a_missing_key_file_and_reuses_it() {
    assert_no_env_key();
    let root = tempfile::tempdir().unwrap();
    let key_file = root.path().join("etc/labwatch/store.key");
    let dir = root.path().join("store");
    ConnectionStore::open(&dir, &key_file)
        .unwrap()
        .save(&conn("acme"))
        .unwrap();
    let key_bytes = fs::read(&key_file).unwrap();
    assert_eq!(key_bytes.len(), 32);
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(
        names(key_file.parent().unwrap()),
        ["store.key".to_owned()].into(),
        "no temp file left"
    );

    let again = ConnectionStore::open(&dir, &key_file).unwrap();
    assert_eq!(
        fs::read(&key_file).unwrap(),
        key_bytes,
        "the key file is reused, not replaced"
    );
    assert_eq!(again.load("acme").unwrap().unwrap().token.expose_secret(), CANARY);
}

#[test]
fn a_key_file_in_hex_text_is_accepted() {
    assert_no_env_key();
    let root = tempfile::tempdir().unwrap();
    let key_file = root.path().join("store.key");
    fs::write(&key_file, format!("{}\n", "07".repeat(32))).unwrap();
    store(root.path()).save(&conn("acme")).unwrap();
    let opened = ConnectionStore::open(root.path(), &key_file).unwrap();
    assert!(opened.load("acme").unwrap().is_some(), "hex 07… is KEY");
}

#[test]
fn a_malformed_key_file_is_an_error_and_is_not_overwritten() {
    assert_no_env_key();
    let root = tempfile::tempdir().unwrap();
    let key_file = root.path().join("store.key");
    for bad in [&b"hello"[..], &[0u8; 31][..], &[0xffu8; 33][..], &[b'a'; 2000][..]] {
        fs::write(&key_file, bad).unwrap();
        let err = ConnectionStore::open(&root.path().join("store"), &key_file).unwrap_err();
        assert!(matches!(err, StoreError::Key { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&key_file.display().to_string()), "{msg}");
        assert!(msg.contains("does not overwrite"), "{msg}");
        assert_eq!(fs::read(&key_file).unwrap(), bad, "left as it was");
    }
}

#[test]
fn saves_leave_no_temporary_files_behind() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    for _ in 0..3 {
        store.save(&conn("acme")).unwrap();
        store.write_marker(&marker("acme")).unwrap();
    }
    store.save(&conn("beta")).unwrap();
    assert_eq!(
        names(dir.path()),
        ["acme.conn", "acme.rotation", "beta.conn"].map(String::from).into()
    );
}

fn marker(workspace: &str) -> RotationMarker {
    RotationMarker {
        workspace: workspace.to_owned(),
        old_token_id: 4,
        started_at: datetime!(2026-11-24 20:00:00.5 UTC),
        trigger: "alert".to_owned(),
    }
}

#[test]
fn a_rotation_marker_is_written_read_and_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    assert_eq!(store.read_marker("acme").unwrap(), None);
    store.write_marker(&marker("acme")).unwrap();
    assert_eq!(store.read_marker("acme").unwrap(), Some(marker("acme")));
    assert_eq!(store.read_marker("beta").unwrap(), None, "markers are per workspace");
    store.clear_marker("acme").unwrap();
    assert_eq!(store.read_marker("acme").unwrap(), None);
    store.clear_marker("acme").unwrap();
}

#[test]
fn a_malformed_marker_is_an_error_and_stays() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let path = dir.path().join("acme.rotation");
    fs::write(&path, b"{").unwrap();
    let err = store.read_marker("acme").unwrap_err();
    assert!(matches!(err, StoreError::Format { .. }), "{err:?}");
    assert!(err.to_string().contains("rotation"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), b"{");
}

#[test]
fn audit_lines_are_json_with_every_field_and_never_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    store.save(&conn("acme")).unwrap();
    let mut rotate = AuditEntry::new("acme", Actor::Alert, AuditAction::Rotate, AuditResult::Ok);
    rotate.token_id = Some(5);
    rotate.detail = Some("rotated token 4 to 5".to_owned());
    store
        .audit(&AuditEntry::new(
            "acme",
            Actor::AdminApi,
            AuditAction::Connect,
            AuditResult::Ok,
        ))
        .unwrap();
    store.audit(&rotate).unwrap();

    let log = fs::read(dir.path().join("audit.log")).unwrap();
    assert!(!contains(&log, CANARY));
    let lines: Vec<serde_json::Value> = std::str::from_utf8(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        let keys: BTreeSet<_> = line.as_object().unwrap().keys().cloned().collect();
        let expected = ["action", "actor", "at", "detail", "result", "token_id", "workspace"];
        assert_eq!(keys, expected.map(String::from).into());
        let at = line["at"].as_str().unwrap();
        time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).unwrap();
    }
    assert_eq!(lines[0]["actor"], "admin-api");
    assert_eq!(lines[0]["token_id"], serde_json::Value::Null);
    assert_eq!(lines[1]["action"], "rotate");
    assert_eq!(lines[1]["result"], "ok");
    assert_eq!(lines[1]["token_id"], 5);
    assert_eq!(lines[1]["detail"], "rotated token 4 to 5");
    // A failure is recorded by its reason code, and reads back as one.
    let mut failed = AuditEntry::new("acme", Actor::Schedule, AuditAction::Rotate, AuditResult::Ok);
    failed.result = AuditResult::Failed("renewal-failed".to_owned());
    let line = serde_json::to_value(&failed).unwrap();
    assert_eq!(
        (&line["actor"], &line["result"]),
        (&"schedule".into(), &"renewal-failed".into())
    );
    assert_eq!(serde_json::from_value::<AuditEntry>(line).unwrap(), failed);
}

#[test]
fn remove_deletes_the_connection_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    store.save(&conn("acme")).unwrap();
    store.remove("acme").unwrap();
    assert!(store.load("acme").unwrap().is_none());
    store.remove("acme").unwrap();
    store.remove("never-there").unwrap();
    assert!(names(dir.path()).is_empty());
}

#[test]
fn workspace_names_that_could_escape_the_directory_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    for bad in [
        "",
        "..",
        "../acme",
        "a/b",
        "/etc/passwd",
        "Acme",
        "-acme",
        "a.b",
        &"a".repeat(64),
    ] {
        assert!(
            matches!(store.load(bad), Err(StoreError::InvalidWorkspace { .. })),
            "{bad:?}"
        );
        assert!(
            matches!(store.remove(bad), Err(StoreError::InvalidWorkspace { .. })),
            "{bad:?}"
        );
        assert!(
            matches!(store.save(&conn(bad)), Err(StoreError::InvalidWorkspace { .. })),
            "{bad:?}"
        );
        assert!(
            matches!(
                store.write_marker(&marker(bad)),
                Err(StoreError::InvalidWorkspace { .. })
            ),
            "{bad:?}"
        );
    }
    let ok = "a".repeat(63);
    store.save(&conn(&ok)).unwrap();
    store.save(&conn("0_ws-1")).unwrap();
    assert!(names(dir.path()).len() == 2);
}

fn workspace_record(name: &str) -> labwatch::store::WorkspaceRecord {
    let mut settings = serde_json::Map::new();
    settings.insert("instance_url".into(), "https://gitlab.example.com".into());
    labwatch::store::WorkspaceRecord {
        workspace: name.to_owned(),
        settings,
        created_at: datetime!(2026-11-24 20:00:00 UTC),
        updated_at: datetime!(2026-11-24 20:00:00 UTC),
    }
}

#[test]
fn workspace_records_round_trip_and_an_unreadable_one_is_listed_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    s.save_workspace(&workspace_record("team-a")).unwrap();
    assert_eq!(mode(&dir.path().join("team-a.workspace")), 0o600);
    assert_eq!(s.load_workspace("team-a").unwrap(), Some(workspace_record("team-a")));
    // Copied under another name: not that workspace's record.
    fs::copy(dir.path().join("team-a.workspace"), dir.path().join("team-b.workspace")).unwrap();
    // A link planted as a record is not followed.
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("team-c.workspace")).unwrap();
    // Not a workspace name: not ours, skipped.
    fs::write(dir.path().join("Bad Name.workspace"), "{}").unwrap();
    let listed = s.list_workspaces().unwrap();
    let names: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["team-a", "team-b", "team-c"]);
    assert!(listed[0].1.is_ok());
    let b = listed[1].1.as_ref().unwrap_err().to_string();
    assert!(b.contains("it is the workspace record of workspace `team-a`"), "{b}");
    assert!(b.contains("labwatch workspaces delete"), "{b}");
    let c = listed[2].1.as_ref().unwrap_err().to_string();
    assert!(c.contains("is a symbolic link, not a regular file"), "{c}");
}

#[test]
fn removing_a_workspace_removes_its_files_only_and_links_not_their_targets() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("precious");
    fs::write(&target, "keep me").unwrap();
    let s = store(dir.path());
    for ws in ["team-a", "team-ab"] {
        s.save(&conn(ws)).unwrap();
        s.save_workspace(&workspace_record(ws)).unwrap();
    }
    s.write_disconnected(&DisconnectRecord::new(
        "team-a",
        datetime!(2026-11-24 20:00:00 UTC),
        None,
    ))
    .unwrap();
    fs::write(dir.path().join("team-a.conn.unreadable"), "x").unwrap();
    fs::write(dir.path().join("team-a.conn.unreadable-17"), "x").unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("team-a.rotation")).unwrap();
    let removed = s.remove_workspace("team-a").unwrap();
    assert_eq!(
        removed,
        [
            "team-a.rotation",
            "team-a.conn",
            "team-a.conn.unreadable",
            "team-a.conn.unreadable-17",
            "team-a.disconnected",
            "team-a.workspace"
        ]
    );
    assert_eq!(fs::read_to_string(&target).unwrap(), "keep me");
    let left: Vec<String> = names(dir.path())
        .into_iter()
        .filter(|n| n.starts_with("team"))
        .collect();
    assert_eq!(left, ["team-ab.conn", "team-ab.workspace"]);
    assert!(matches!(
        s.remove_workspace("../x"),
        Err(StoreError::InvalidWorkspace { .. })
    ));
}
