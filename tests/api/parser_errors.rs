//! Requests the HTTP/1.1 parser refuses before they reach the broker have
//! no body, and the served contract says exactly which ones they are.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::TestApp;

/// Sends raw bytes; returns the status and the body of the answer, read
/// until the server closes the connection.
async fn raw(app: &TestApp, request: &[u8]) -> (u16, Vec<u8>) {
    let address = app.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    // The server may answer and close before it has read everything.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .expect("the server closes the connection")
        .ok();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no answer head: {text:?}"));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{head}"));
    assert!(head.to_ascii_lowercase().contains("content-length: 0"), "{head}");
    (status, body.as_bytes().to_vec())
}

fn with_headers(count: usize) -> Vec<u8> {
    let mut request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..count {
        request.extend_from_slice(format!("x-h{i}: v\r\n").as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    request
}

#[tokio::test]
async fn parser_refusals_have_no_body_and_the_contract_lists_them() {
    let app = TestApp::spawn().await;
    let huge_header = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nx-big: {}\r\n\r\n", "a".repeat(1 << 20));
    let long_path = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "p".repeat(100 * 1024));
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("a 1 MB header", huge_header.into_bytes(), 431),
        ("150 headers", with_headers(150), 431),
        ("5,000 headers", with_headers(5_000), 431),
        ("a 100 KB path", long_path.into_bytes(), 431),
        ("method G@T", b"G@T /healthz HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 400),
        ("a raw 0xFF in the path", b"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), 400),
    ];
    for (what, request, expected) in cases {
        let (status, body) = raw(&app, &request).await;
        assert_eq!((status, body.len()), (expected, 0), "{what}");
    }
    // Everything else has a JSON body; the served contract names these.
    let spec = app.http.get(format!("{}/openapi.yaml", app.base)).send().await.unwrap().text().await.unwrap();
    let spec = spec.split_whitespace().collect::<Vec<_>>().join(" ");
    for promise in [
        "Responses without a body.",
        "`400` for a request head that is not HTTP/1.1",
        "`431` for a request head larger than `server.max_header_bytes` + 8 KiB",
        "more than 100 header fields",
        "`sessions:read` (GET /sessions, GET /sessions/{session_id})",
    ] {
        assert!(spec.contains(promise), "the served openapi.yaml does not say {promise:?}");
    }
}
