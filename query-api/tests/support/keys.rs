//! API keys for tests: random keys made at test time, written as a keys file (digests only) in
//! a temporary directory, and replaced the way operators do it (write aside, rename over).

use query_api::config::AuthArgs;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;

pub const FULL_SCOPES: &str = "orders:read,orders:list";

/// A random key of 64 hex characters.
pub fn random_key() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The keys file line for `key`.
pub fn line(id: &str, key: &str, scopes: &str) -> String {
    let digest: String = Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{id} {digest} {scopes}\n")
}

/// A keys file and the keys it lists, by id.
pub struct KeysFile {
    dir: tempfile::TempDir,
    keys: HashMap<String, String>,
}

impl KeysFile {
    /// One random key per `(id, scopes)`.
    pub fn new(entries: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut file = Self {
            dir,
            keys: HashMap::new(),
        };
        file.replace(entries);
        file
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("api-keys")
    }

    pub fn key(&self, id: &str) -> String {
        self.keys.get(id).cloned().expect("a key of this file")
    }

    /// `AUTH_MODE=api-key` with this file.
    pub fn auth_args(&self) -> AuthArgs {
        AuthArgs {
            mode: Some("api-key".into()),
            api_keys_file: Some(self.path().to_string_lossy().into_owned()),
            ..AuthArgs::default()
        }
    }

    /// New random keys for `entries` (ids already known keep their key), written aside and
    /// renamed over the file.
    pub fn replace(&mut self, entries: &[(&str, &str)]) {
        let mut text = String::from("# test keys, made at test time\n");
        for (id, scopes) in entries {
            let key = self
                .keys
                .entry((*id).to_owned())
                .or_insert_with(random_key)
                .clone();
            text.push_str(&line(id, &key, scopes));
        }
        let aside = self.dir.path().join(".api-keys.new");
        std::fs::write(&aside, text).expect("write keys");
        std::fs::rename(&aside, self.path()).expect("rename keys over");
    }

    pub fn into_dir(self) -> tempfile::TempDir {
        self.dir
    }
}
