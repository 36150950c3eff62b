//! Security basics from docs/SECURITY.md that a test can check by reading the repository:
//! SQL is only ever built from constant text with parameters, and no secret is committed.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every file under `dir` with one of `extensions`, skipping build output and caches.
fn files(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if path.is_dir() {
            if !matches!(
                name.as_str(),
                "target" | ".git" | ".stack" | "node_modules" | "fuzz"
            ) {
                files(&path, extensions, out);
            }
        } else if extensions.iter().any(|ext| name.ends_with(ext)) {
            out.push(path);
        }
    }
}

const SQL_WORDS: [&str; 6] = [
    "SELECT ", "INSERT ", "UPDATE ", "DELETE ", "WHERE ", "VALUES",
];

/// Names interpolated by `format!` on this line that are not SCREAMING_CASE constants, i.e.
/// values that could come from input.
fn interpolated_values(line: &str) -> Vec<String> {
    let mut values = Vec::new();
    let mut rest = line;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = rest[open + 1..open + close]
            .split(':')
            .next()
            .unwrap_or("")
            .trim();
        let is_constant = name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !name.is_empty() && !is_constant {
            values.push(name.to_owned());
        }
        rest = &rest[open + close + 1..];
    }
    values
}

#[test]
fn sql_is_never_built_with_string_formatting() {
    let mut sources = Vec::new();
    let shared = std::fs::read_dir(repo_root().join("shared")).expect("read shared/");
    let shared_crates = shared.flatten().map(|entry| entry.path().join("src"));
    let binaries =
        ["ingest", "query-api", "producer-sim"].map(|dir| repo_root().join(dir).join("src"));
    for crate_src in shared_crates.chain(binaries) {
        files(&crate_src, &[".rs"], &mut sources);
    }
    assert!(!sources.is_empty(), "no sources found");
    let mut offenders = Vec::new();
    for path in &sources {
        // Test helpers create databases by name: identifiers cannot be bind parameters.
        if path.components().any(|part| part.as_os_str() == "testing") {
            continue;
        }
        let text = std::fs::read_to_string(path).expect("read source");
        for (number, line) in text.lines().enumerate() {
            let upper = line.to_uppercase();
            let formats = line.contains("format!(") || line.contains("push_str(&");
            let is_error_message = line.contains("Error");
            if formats
                && !is_error_message
                && SQL_WORDS.iter().any(|word| upper.contains(word))
                && !interpolated_values(line).is_empty()
            {
                offenders.push(format!(
                    "{}:{}: {}",
                    path.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "SQL built by formatting values in (use parameters):\n{}",
        offenders.join("\n")
    );
}

#[test]
fn the_sql_check_flags_interpolated_values_only() {
    assert_eq!(
        interpolated_values(r#"format!("SELECT * FROM t WHERE a = '{uid}'")"#),
        ["uid"]
    );
    assert!(interpolated_values(r#"format!("{COLUMNS} WHERE a < $1 {ORDER_BY}")"#).is_empty());
}

#[test]
fn no_secrets_are_committed() {
    let mut candidates = Vec::new();
    files(
        &repo_root(),
        &[
            ".rs",
            ".sh",
            ".yml",
            ".yaml",
            ".toml",
            ".json",
            ".env",
            ".template",
            ".md",
            ".py",
            ".sql",
            ".example",
        ],
        &mut candidates,
    );
    assert!(
        candidates.len() > 20,
        "too few files scanned: {}",
        candidates.len()
    );
    let markers = [
        "-----BEGIN RSA PRIVATE KEY",
        "-----BEGIN PRIVATE KEY",
        "-----BEGIN OPENSSH PRIVATE KEY",
        "AKIA",
        "ghp_",
        "xoxb-",
    ];
    let mut findings = Vec::new();
    for path in &candidates {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for marker in markers {
            // The test itself names the markers.
            if text.contains(marker) && !path.ends_with("security.rs") {
                findings.push(format!("{}: contains {marker}", path.display()));
            }
        }
        // Connection URLs may only carry the local template credentials.
        for (number, line) in text.lines().enumerate() {
            if let Some(at) = line.find("postgres://") {
                let url = &line[at..];
                let credentials = url["postgres://".len()..].split('@').next().unwrap_or("");
                // Template values and placeholders only.
                let allowed = [
                    "orders:orders",
                    "orders:CHANGE_ME",
                    // The per-component logins of docs/SECURITY.md, with placeholders.
                    "orders_ingest:CHANGE_ME",
                    "orders_query:CHANGE_ME",
                    "orders_ingest:PASSWORD",
                    "USER:PASSWORD",
                    "user:pass",
                    "orders:***",
                    "orders:pw",
                    "postgres:postgres",
                ];
                if url.contains('@')
                    && credentials.contains(':')
                    && !allowed.iter().any(|ok| credentials.starts_with(ok))
                    && !credentials.contains('{')
                    && !credentials.contains('$')
                    && !credentials.contains('{')
                {
                    findings.push(format!(
                        "{}:{}: credentials in a URL: {}",
                        path.display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        findings.is_empty(),
        "possible secrets:\n{}",
        findings.join("\n")
    );
}
