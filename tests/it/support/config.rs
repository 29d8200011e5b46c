//! Config files for tests, written to a temp dir.

use std::path::PathBuf;

use tempfile::TempDir;

pub struct ConfigFile {
    /// Kept so the directory lives as long as the file.
    _dir: TempDir,
    pub path: PathBuf,
}

impl ConfigFile {
    pub fn new(text: &str) -> ConfigFile {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("labwatch.toml");
        std::fs::write(&path, text).expect("write config");
        ConfigFile { _dir: dir, path }
    }

    pub fn rewrite(&self, text: &str) {
        std::fs::write(&self.path, text).expect("rewrite config");
    }

    pub fn load(&self) -> labwatch::config::Config {
        labwatch::config::Config::load(&self.path).expect("test config is valid")
    }
}

/// A one-workspace config whose instance is `url`.
pub fn single(url: &str, extra: &str) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[defaults]\ninterval = \"1h\"\ntimeout = \"5s\"\n\n[[workspace]]\nname = \"acme\"\ninstance_url = \"{url}\"\n{extra}\n"
    )
}
