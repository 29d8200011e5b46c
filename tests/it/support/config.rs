//! Config files for tests, written to a temp dir.

use std::path::PathBuf;

use tempfile::TempDir;

pub struct ConfigFile {
    /// Kept so the directory lives as long as the file.
    _dir: TempDir,
    pub path: PathBuf,
}

impl ConfigFile {
    /// Writes `text` as the config; `{token_file}` in it becomes the path of
    /// a token file holding [`TOKEN`].
    pub fn new(text: &str) -> ConfigFile {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("labwatch.toml");
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, TOKEN).expect("write token file");
        let text = text
            .replace("{token_file}", &token_file.display().to_string())
            .replace("{dir}", &dir.path().display().to_string());
        std::fs::write(&path, text).expect("write config");
        ConfigFile { _dir: dir, path }
    }

    pub fn rewrite(&self, text: &str) {
        let token_file = self.path.with_file_name("token");
        let dir = self
            .path
            .parent()
            .expect("config lives in a directory")
            .display()
            .to_string();
        let text = text
            .replace("{token_file}", &token_file.display().to_string())
            .replace("{dir}", &dir);
        std::fs::write(&self.path, text).expect("rewrite config");
    }

    pub fn load(&self) -> labwatch::config::Config {
        labwatch::config::Config::load(&self.path).expect("test config is valid")
    }
}

/// The token tests connect with; a canary that must never show up in output.
pub const TOKEN: &str = "glpat-canary-0123456789abcdef";

/// A one-workspace config whose instance is `url`, connected with [`TOKEN`].
pub fn single(url: &str, extra: &str) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[store]\ndir = \"{{dir}}/store\"\nkey_file = \"{{dir}}/store.key\"\n\n[defaults]\ninterval = \"1h\"\ntimeout = \"5s\"\n\n[[workspace]]\nname = \"acme\"\ninstance_url = \"{url}\"\ntoken_file = \"{{token_file}}\"\n{extra}\n"
    )
}
