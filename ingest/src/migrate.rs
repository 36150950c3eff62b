//! `ingest migrate up|down|status`: the schema commands operators and deploy jobs run, printing
//! one line per migration so the output reads well in a terminal and in job logs.

use crate::config::MigrateAction;
use order_store::PostgresArgs;
use order_store::{migrate, Db, MigrationStatus};
use std::io::Write;

pub async fn run(action: MigrateAction, postgres: &PostgresArgs) -> anyhow::Result<()> {
    let db = Db::connect(postgres).await?;
    let mut out = std::io::stdout().lock();
    match action {
        MigrateAction::Up => {
            let applied = migrate::up(&db).await?;
            if applied.is_empty() {
                writeln!(
                    out,
                    "schema is up to date (version {})",
                    migrate::required_version()
                )?;
            }
            for m in &applied {
                writeln!(out, "applied {:04} {}", m.version, m.name)?;
            }
        }
        MigrateAction::Down { steps } => {
            let reverted = migrate::down(&db, steps).await?;
            if reverted.is_empty() {
                writeln!(out, "nothing to revert")?;
            }
            for m in &reverted {
                writeln!(out, "reverted {:04} {}", m.version, m.name)?;
            }
        }
        MigrateAction::Status => {
            for m in migrate::status(&db).await? {
                writeln!(out, "{}", status_line(&m))?;
            }
        }
    }
    Ok(())
}

fn status_line(m: &MigrationStatus) -> String {
    match m.applied_at {
        Some(at) => format!(
            "{:04} {:<24} applied {}",
            m.version,
            m.name,
            at.to_rfc3339()
        ),
        None => format!("{:04} {:<24} pending", m.version, m.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_say_applied_or_pending() {
        let pending = MigrationStatus {
            version: 1,
            name: "orders".into(),
            applied_at: None,
        };
        assert!(status_line(&pending).ends_with("pending"));
        let applied = MigrationStatus {
            applied_at: Some(chrono::Utc::now()),
            ..pending
        };
        assert!(status_line(&applied).contains("applied"));
    }
}
