//! The OpenAPI document, Swagger UI (served offline from the binary) and the web page.

mod support;

use serde_json::Value;
use support::{spawn_app, TestApp, TestResult};

/// The OpenAPI document, asserted to be served as JSON.
async fn openapi_document(app: &TestApp) -> TestResult<Value> {
    let response = app
        .get_expecting("/api-docs/openapi.json", 200, "application/json")
        .await;
    Ok(response.json().await?)
}

#[tokio::test]
async fn openapi_document_lists_every_route_with_its_statuses() -> TestResult {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await?;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let expected = [
        ("/order/{order_uid}", &["200", "400", "404", "503"][..]),
        ("/orders", &["200", "400", "503"]),
        ("/healthz", &["200"]),
        ("/readyz", &["200", "503"]),
        ("/api-docs/openapi.json", &["200"]),
        ("/", &["200"]),
        ("/swagger", &["200"]),
    ];
    for (path, statuses) in expected {
        let responses = &doc["paths"][path]["get"]["responses"];
        for status in statuses {
            assert!(responses[status].is_object(), "{path} lacks {status}");
        }
    }
    // The order routes name the bearer scheme and say how they refuse.
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"],
        serde_json::json!({"type": "http", "scheme": "bearer",
            "description": "An API key (16–256 printable characters) or a JWT signed with RS256 or ES256."})
    );
    for path in ["/order/{order_uid}", "/orders"] {
        let get = &doc["paths"][path]["get"];
        assert_eq!(
            get["security"],
            serde_json::json!([{"bearerAuth": []}]),
            "{path}"
        );
        for status in ["401", "403", "429"] {
            assert!(
                get["responses"][status].is_object(),
                "{path} lacks {status}"
            );
        }
    }
    for path in [
        "/healthz",
        "/readyz",
        "/api-docs/openapi.json",
        "/",
        "/swagger",
    ] {
        assert!(
            doc["paths"][path]["get"]["security"].is_null(),
            "{path} is public"
        );
    }
    assert!(doc["paths"]["/metrics"].is_null(), "admin port only");
    let order = &doc["paths"]["/order/{order_uid}"]["get"]["responses"]["200"];
    assert_eq!(
        order["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Order"
    );
    assert!(order["headers"]["x-cache"].is_object());
    let example = &doc["components"]["schemas"]["Order"]["example"];
    assert_eq!(example, &order_model::sample_json());
    app.stop().await
}

/// The parameters are declared as narrowly as the server accepts them, so a client (or a fuzzer)
/// that follows the document never gets a 400 for a value the document allows.
#[tokio::test]
async fn openapi_parameters_match_what_the_server_accepts() -> TestResult {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await?;
    let param = |path: &str, name: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .and_then(|params| params.iter().find(|p| p["name"] == name))
            .cloned()
            .unwrap_or_default()
    };

    let uid = param("/order/{order_uid}", "order_uid");
    assert_eq!(uid["in"], "path");
    assert_eq!(uid["required"], true);
    let schema = &uid["schema"];
    assert_eq!(schema["type"], "string");
    assert_eq!(schema["pattern"], "^[A-Za-z0-9_-]{1,64}$");
    assert_eq!(schema["minLength"], 1);
    assert_eq!(schema["maxLength"], 64);

    let limit = param("/orders", "limit");
    assert_eq!(limit["in"], "query");
    assert_ne!(limit["required"], true);
    let schema = &limit["schema"];
    assert!(
        schema["type"] == "integer" || schema["type"][0] == "integer",
        "{schema}"
    );
    assert_eq!(schema["minimum"], 1);
    assert_eq!(schema["maximum"], 100);
    assert_eq!(schema["default"], 20);

    // Values the pattern allows are served (404: not stored), values it refuses are 400.
    let longest = "aZ0_-".repeat(13)[..64].to_owned();
    for allowed in ["a", "A-Z_0-9", longest.as_str()] {
        assert_eq!(
            app.get(&format!("/order/{allowed}")).await.status(),
            404,
            "{allowed}"
        );
    }
    for refused in ["%C2%B5T%C2%BE%5B", "a.b", "a%0A", &"a".repeat(65)] {
        assert_eq!(
            app.get(&format!("/order/{refused}")).await.status(),
            400,
            "{refused}"
        );
    }
    app.stop().await
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() -> TestResult {
    let app = spawn_app().await;
    for path in ["/swagger", "/swagger/"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert!(response.headers()["content-type"]
            .to_str()?
            .starts_with("text/html"));
        let html = response.text().await?;
        assert!(html.contains("swagger-ui-bundle.js"), "{path}");
        assert!(html.contains("<base href=\"/swagger/\">"), "{path}");
    }
    let css = app.get("/swagger/swagger-ui.css").await;
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"]
        .to_str()?
        .starts_with("text/css"));
    let bundle = app.get("/swagger/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status(), 200);
    let initializer = app
        .get("/swagger/swagger-initializer.js")
        .await
        .text()
        .await?;
    assert!(initializer.contains("/api-docs/openapi.json"));
    assert_eq!(app.get("/swagger/no-such-file.js").await.status(), 404);
    app.stop().await
}

#[tokio::test]
async fn web_page_and_its_assets_have_types_and_a_strict_csp() -> TestResult {
    let app = spawn_app().await;
    let page = app
        .get_expecting("/", 200, "text/html; charset=utf-8")
        .await;
    let csp = page.headers()["content-security-policy"]
        .to_str()?
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    let html = page.text().await?;
    assert!(html.contains("/static/app.js") && html.contains("/static/app.css"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from outside"
    );

    let js = app.get("/static/app.js").await;
    assert_eq!(
        js.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let css = app.get("/static/app.css").await;
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(app.get("/static/other.js").await.status(), 404);
    app.stop().await
}
