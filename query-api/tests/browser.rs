//! The web page and Swagger UI in a real (headless Chromium) browser, driven by
//! `tests/browser/check.mjs`, with access control on: the page must ask for the API key. Ignored by default because it needs Chromium and `npm ci`;
//! `tests/browser/run.sh` installs those and runs it.

mod support;

use std::path::Path;
use support::{order, sample_order, spawn_app, TestResult};

// `spawn_app` runs with an API key holding both scopes; the browser gets it as the user would.

#[tokio::test]
#[ignore = "needs /usr/bin/chromium and npm packages: run query-api/tests/browser/run.sh"]
async fn page_and_swagger_work_in_a_browser() -> TestResult {
    let app = spawn_app().await;
    let mut orders = vec![sample_order()];
    orders.extend((1..=6).map(|n| {
        order(
            &format!("demo-order-{n}"),
            &format!("2024-03-0{n}T12:30:00Z"),
        )
    }));
    app.store(&orders).await;

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/check.mjs");
    let screenshots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    let status = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&app.address)
        .arg(&screenshots)
        .arg(app.token.as_deref().ok_or("the app runs with auth on")?)
        .status()
        .await?;
    println!("screenshots in {}", screenshots.display());
    app.stop().await?;
    assert!(status.success(), "browser checks failed ({status})");
    Ok(())
}
