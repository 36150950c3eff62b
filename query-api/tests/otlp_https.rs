//! Trace export to an `https://` collector (contract §9): the query-api binary, given
//! `OTEL_EXPORTER_OTLP_ENDPOINT=https://localhost:…` and the CA in the standard
//! `OTEL_EXPORTER_OTLP_CERTIFICATE`, posts its spans to `/v1/traces` over TLS. The collector is
//! a small receiver presenting the secure stack's `localhost` certificate
//! (`scripts/stack.sh up --secure`), which also serves the database and Redis.

use pipeline_testing::free_port;
use pipeline_testing::secure::{stack, SecureStack};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// What the receiver saw of one request: method, path and body length.
type Received = (String, String, usize);

/// An OTLP/HTTP receiver over TLS on a free local port, with the secure stack's server
/// certificate (`localhost`): each request is reported, then answered 200.
fn tls_receiver(s: &SecureStack) -> (u16, mpsc::Receiver<Received>) {
    let dir = std::path::Path::new(s.var("SECURE_DIR"));
    let certs = pipeline_runtime::tls::read_certificates(&dir.join("server.pem"), "certificate")
        .expect("the stack's server certificate");
    let key = pipeline_runtime::tls::read_private_key(&dir.join("server.key"))
        .expect("the stack's server key");
    let config = rustls::ServerConfig::builder_with_provider(pipeline_runtime::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("a server identity");
    let config = Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("its address").port();
    let (sender, received) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let Ok(connection) = rustls::ServerConnection::new(config.clone()) else {
                continue;
            };
            let mut tls = rustls::StreamOwned::new(connection, stream);
            // A failed handshake or read is no request: nothing to report.
            let Some(request) = read_request(&mut tls) else {
                continue;
            };
            // Reported before the answer: once the exporter has its 200, the test sees it.
            let _ = sender.send(request);
            let _ = tls.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\n\
                  content-length: 0\r\nconnection: close\r\n\r\n",
            );
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    (port, received)
}

/// One HTTP/1.1 request with a `content-length` body; `None` when the handshake or a read fails.
fn read_request(stream: &mut impl Read) -> Option<Received> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((method, path, length))
}

#[tokio::test]
async fn spans_reach_an_https_collector_verified_with_the_standard_ca_variable() {
    let s = stack();
    let (collector, received) = tls_receiver(s);
    let db = s.fresh_db().await;
    let prefix = s.test_prefix();
    let (http, admin) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_query-api"))
        .env_clear()
        .envs([
            ("AUTH_MODE", "off"),
            ("HTTP_ADDR", format!("127.0.0.1:{http}").as_str()),
            ("ADMIN_ADDR", &format!("127.0.0.1:{admin}")),
            ("DATABASE_URL", &s.read_only_args(db.name()).database_url),
            ("REDIS_URL", s.var("REDIS_URL")),
            ("REDIS_TLS_CA_FILE", s.var("REDIS_TLS_CA_FILE")),
            ("ORDER_CACHE_KEY_PREFIX", &prefix.key_prefix),
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                &format!("https://localhost:{collector}"),
            ),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", s.var("SECURE_CA_FILE")),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start query-api");
    let log = pipeline_testing::process::read_in_background(child.stderr.take().expect("stderr"));
    // A request makes a span; any answer will do (the order does not exist).
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{http}/order/nosuchtracedorder01");
    let give_up = Instant::now() + Duration::from_secs(60);
    let mut answered = None;
    while answered.is_none() && Instant::now() < give_up {
        answered = client.get(&url).send().await.ok().map(|r| r.status());
        if answered.is_none() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // SIGTERM: query-api stops and flushes its spans before it exits.
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(term.is_ok_and(|status| status.success()), "kill -TERM");
    let exit = child.wait().expect("wait for query-api");
    let stderr = log.join().expect("the log reader");
    assert!(answered.is_some(), "query-api never answered:\n{stderr}");
    assert!(exit.success(), "query-api exited with {exit}:\n{stderr}");
    let requests: Vec<Received> = received.try_iter().collect();
    assert!(
        requests
            .iter()
            .any(|(method, path, length)| method == "POST" && path == "/v1/traces" && *length > 0),
        "no spans arrived over TLS: {requests:?}\n{stderr}"
    );
    s.assert_no_secret("the log", &stderr);
}
