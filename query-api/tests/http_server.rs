//! The HTTP layer under the routes: slow clients are timed out, every 405 carries `Allow`, and
//! `HEAD` is `GET` without the body.

mod support;

use query_api::config::ReadArgs;
use reqwest::Method;
use std::time::Duration;
use support::http::error_message;
use support::{spawn_app_with, TestApp, TestResult};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Short, to keep the test quick; long enough that a prompt request's short pause (below) is far
/// inside it.
const HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a test waits for a connection to be closed before calling it left open: a bound on
/// a hang, not a speed check (when a close comes depends on the machine's load).
const CLOSE_GUARD: Duration = Duration::from_secs(60);

/// One HTTP thread, so the slow connections share it with the requests that must still be served.
async fn spawn_with_header_timeout(timeout: Duration) -> TestApp {
    spawn_app_with(ReadArgs {
        http_header_timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        http_threads: 1,
        ..ReadArgs::default()
    })
    .await
}

async fn spawn_with_short_header_timeout() -> TestApp {
    spawn_with_header_timeout(HEADER_TIMEOUT).await
}

fn authority(app: &TestApp) -> &str {
    app.address.trim_start_matches("http://")
}

/// Waits (at most `limit`) for the server to close the connection; returns what it sent first,
/// or `None` if it was still open at `limit`.
async fn wait_for_close(mut stream: TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(received),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
        }
    }
}

/// Whether the server still holds the connection open, asked without waiting: nothing to read
/// yet, and no end of stream.
fn still_open(stream: TcpStream) -> bool {
    let stream = stream.into_std().expect("a std stream (non-blocking)");
    let mut buf = [0u8; 1];
    matches!(stream.peek(&mut buf), Err(err) if err.kind() == std::io::ErrorKind::WouldBlock)
}

/// Connections that hold the server up if it lets them: five half requests (the drills'
/// slowloris) and one that sends nothing at all.
async fn slow_connections(app: &TestApp) -> std::io::Result<Vec<TcpStream>> {
    let mut slow = Vec::new();
    for _ in 0..5 {
        let mut stream = TcpStream::connect(authority(app)).await?;
        stream
            .write_all(b"GET /order/b563feb7b2b84b6test HTTP/1.1\r\nHost: 127.0")
            .await?;
        slow.push(stream);
    }
    slow.push(TcpStream::connect(authority(app)).await?);
    Ok(slow)
}

#[tokio::test]
async fn slow_clients_do_not_hold_up_anyone_else() -> TestResult {
    // A header timeout far beyond the client's 10 s: a server that waited on the slow
    // connections would leave the requests below unanswered.
    let app = spawn_with_header_timeout(Duration::from_secs(120)).await;
    let slow = slow_connections(&app).await?;
    for _ in 0..5 {
        assert_eq!(app.get("/healthz").await.status(), 200);
    }
    // Nothing but the header timeout closes them: still open (the test below has them closed
    // once its short timeout passes).
    for stream in slow {
        assert!(
            still_open(stream),
            "a slow connection was closed long before its 120 s header timeout"
        );
    } // closed by us, so the graceful stop has nothing to wait for
    app.stop().await
}

#[tokio::test]
async fn slow_and_silent_clients_are_closed_by_the_header_timeout() -> TestResult {
    let app = spawn_with_short_header_timeout().await;
    let slow = slow_connections(&app).await?;
    // Trickles a header byte by byte for far longer than the timeout (up to a minute, 20 ms
    // apart): the timeout bounds the whole head, not each read, so the server cuts it off while
    // bytes still arrive.
    let mut trickle = TcpStream::connect(authority(&app)).await?;
    let trickler = tokio::spawn(async move {
        for byte in b"GET /healthz HTTP/1.1\r\nX-Slow: "
            .iter()
            .cycle()
            .take(3_000)
        {
            if trickle.write_all(&[*byte]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    });
    let closes: Vec<_> = slow
        .into_iter()
        .map(|stream| tokio::spawn(wait_for_close(stream, CLOSE_GUARD)))
        .collect();

    // A request completed within the timeout is answered, not cut (the pause is the stimulus).
    let mut prompt = TcpStream::connect(authority(&app)).await?;
    prompt
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x")
        .await?;
    tokio::time::sleep(HEADER_TIMEOUT / 4).await;
    prompt.write_all(b"\r\nConnection: close\r\n\r\n").await?;
    let answer = wait_for_close(prompt, CLOSE_GUARD)
        .await
        .ok_or("the prompt request got no answer")?;
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");

    for close in closes {
        let sent = close
            .await?
            .ok_or("a slow connection was not closed within a minute")?;
        assert!(
            sent.is_empty() || sent.starts_with(b"HTTP/1.1 4"),
            "{sent:?}"
        );
    }
    assert!(
        trickler.await?,
        "the trickling connection was never cut off while it trickled"
    );

    assert_eq!(app.get("/healthz").await.status(), 200);
    app.stop().await
}

#[tokio::test]
async fn every_405_lists_the_allowed_methods() -> TestResult {
    let app = spawn_with_short_header_timeout().await;
    let paths = [
        "/",
        "/order/b563feb7b2b84b6test",
        "/orders",
        "/healthz",
        "/readyz",
        "/api-docs/openapi.json",
        "/swagger",
    ];
    for path in paths {
        for method in ["POST", "PUT", "DELETE", "PATCH", "TRACE"] {
            let what = format!("{method} {path}");
            let response = app
                .request(Method::from_bytes(method.as_bytes())?, path)
                .await;
            assert_eq!(response.status(), 405, "{what}");
            assert_eq!(response.headers()["allow"], "GET, HEAD", "{what}");
            assert_eq!(response.headers()["content-type"], "application/json");
            assert_eq!(
                error_message(response, 405, &what).await,
                "method not allowed"
            );
        }
    }
    // Unknown paths stay 404 whatever the method, and only 405s carry `Allow`.
    let unknown = app.request(Method::POST, "/no/such/route").await;
    assert_eq!(unknown.status(), 404);
    assert!(unknown.headers().get("allow").is_none());
    assert!(app.get("/healthz").await.headers().get("allow").is_none());
    app.stop().await
}

#[tokio::test]
async fn head_is_get_without_the_body() -> TestResult {
    let app = spawn_with_short_header_timeout().await;
    for (path, status) in [
        ("/healthz", 200),
        ("/orders?limit=1", 200),
        ("/order/not-stored", 404),
        ("/order/a.b", 400),
        ("/orders?limit=0", 400),
        ("/", 200),
    ] {
        let get = app.get(path).await;
        let head = app.request(Method::HEAD, path).await;
        assert_eq!(head.status(), status, "HEAD {path}");
        assert_eq!(get.status(), status, "GET {path}");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "{path}"
        );
        assert!(head.bytes().await?.is_empty(), "HEAD {path} has no body");
    }
    app.stop().await
}
