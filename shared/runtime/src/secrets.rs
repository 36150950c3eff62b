//! Secrets from files (contract §9): `X_FILE` names a file holding setting `X`, the way
//! Kubernetes and Docker mount secrets. Every binary calls [`load_secret_files`] once, before clap
//! reads the environment, so each settings group keeps reading plain `X` and a URL with a
//! password never has to sit in a pod spec or a compose file.
//!
//! Setting both `X` and `X_FILE` is an error (which one was meant?); so is an unreadable file.
//! One trailing newline is dropped (`echo pw > file` writes one); anything else is kept.

use std::path::PathBuf;

/// Why the secret settings could not be read; the binary stops with this one line. It names the
/// variables and the file, never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("both {name} and {name}_FILE are set: keep one")]
    Both { name: String },
    #[error("cannot read {name}_FILE ({path}): {source}")]
    Unreadable {
        name: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{name}_FILE ({path}) is not UTF-8 text")]
    NotText { name: String, path: PathBuf },
}

/// For each setting in `names` whose `NAME_FILE` is set, reads the file and sets `NAME` to its
/// content. Call first thing in `main` (after `.env` is loaded, before flags are parsed).
pub fn load_secret_files(names: &[&str]) -> Result<(), SecretError> {
    let lookup = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    for (name, value) in resolve(names, lookup)? {
        // Before any thread reads the environment: the binaries call this at the top of `main`.
        std::env::set_var(name, value);
    }
    Ok(())
}

/// The `(name, value)` pairs to set, read from the files `lookup` names. Empty `X` and `X_FILE`
/// count as unset, as compose, `.env` files and Kubernetes often leave variables.
pub fn resolve(
    names: &[&str],
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, SecretError> {
    let mut found = Vec::new();
    for name in names {
        let Some(path) = lookup(&format!("{name}_FILE")).filter(|p| !p.trim().is_empty()) else {
            continue;
        };
        if lookup(name).is_some_and(|value| !value.is_empty()) {
            return Err(SecretError::Both {
                name: (*name).to_owned(),
            });
        }
        let path = PathBuf::from(path);
        let bytes = std::fs::read(&path).map_err(|source| SecretError::Unreadable {
            name: (*name).to_owned(),
            path: path.clone(),
            source,
        })?;
        let mut text = String::from_utf8(bytes).map_err(|_| SecretError::NotText {
            name: (*name).to_owned(),
            path,
        })?;
        strip_one_newline(&mut text);
        found.push(((*name).to_owned(), text));
    }
    Ok(found)
}

fn strip_one_newline(text: &mut String) {
    if text.ends_with("\r\n") {
        text.truncate(text.len() - 2);
    } else if text.ends_with('\n') {
        text.truncate(text.len() - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn file(content: &str) -> (tempdir::Dir, String) {
        let dir = tempdir::Dir::new();
        let path = dir.0.join("secret");
        std::fs::write(&path, content).expect("write the secret file");
        (dir, path.display().to_string())
    }

    /// A folder removed when the test ends (no extra crate for this one use).
    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                let path = std::env::temp_dir()
                    .join(format!("secrets-test-{}-{nanos}", std::process::id()));
                std::fs::create_dir_all(&path).expect("create a temporary folder");
                Dir(path)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    fn run(vars: &[(&str, &str)]) -> Result<Vec<(String, String)>, SecretError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        resolve(&["DATABASE_URL", "KAFKA_SASL_PASSWORD"], |name| {
            vars.get(name).cloned()
        })
    }

    #[test]
    fn a_file_fills_its_setting_without_one_trailing_newline() {
        let (_dir, path) = file("s3cret\n\n");
        let found = run(&[("KAFKA_SASL_PASSWORD_FILE", &path)]).expect("read");
        assert_eq!(
            found,
            vec![("KAFKA_SASL_PASSWORD".to_owned(), "s3cret\n".to_owned())]
        );
        let (_dir, path) = file("postgres://user:pass@h/db\r\n");
        let found = run(&[("DATABASE_URL_FILE", &path)]).expect("read");
        assert_eq!(found[0].1, "postgres://user:pass@h/db");
    }

    #[test]
    fn both_the_setting_and_its_file_is_an_error_naming_them_not_the_value() {
        let (_dir, path) = file("from-file");
        let err = run(&[
            ("DATABASE_URL", "postgres://user:pass-inline@h/db"),
            ("DATABASE_URL_FILE", &path),
        ])
        .expect_err("ambiguous");
        let text = err.to_string();
        assert!(
            text.contains("DATABASE_URL and DATABASE_URL_FILE"),
            "{text}"
        );
        assert!(!text.contains("pass-inline") && !text.contains("from-file"));
    }

    #[test]
    fn a_missing_file_is_an_error_and_unset_or_empty_files_are_ignored() {
        let err = run(&[("KAFKA_SASL_PASSWORD_FILE", "/nonexistent/pw")]).expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/pw"), "{err}");
        assert!(run(&[("KAFKA_SASL_PASSWORD_FILE", " ")])
            .expect("empty = unset")
            .is_empty());
        assert!(run(&[("DATABASE_URL", "x")]).expect("no file").is_empty());
        let (_dir, path) = file("pw");
        let found = run(&[
            ("KAFKA_SASL_PASSWORD", ""),
            ("KAFKA_SASL_PASSWORD_FILE", &path),
        ])
        .expect("an empty setting is unset");
        assert_eq!(found[0].1, "pw");
    }
}
