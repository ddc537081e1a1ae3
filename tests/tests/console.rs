//! The web console (`--console-listen`): the page is served, the API answers
//! gRPC-Web from the console's page only, and the page itself, driven in
//! headless Chromium by `console/test/run.sh` (playwright-core), runs a
//! forecast whose chart matches the API's answer, a backtest leaderboard and
//! a risk scorecard, and saves a screenshot.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

use stratus_e2e::{
    BUBBLE, CANALYS, NAIVE, Server, ServerOptions, free_port, target_dir, workspace_root,
};

fn console_server(port: u16) -> Server {
    Server::start(ServerOptions {
        plugins: vec![NAIVE, CANALYS, BUBBLE],
        args: vec![format!("--console-listen=127.0.0.1:{port}")],
        ..Default::default()
    })
}

/// One raw HTTP/1.1 exchange; the whole answer (head and body).
fn http(address: &str, request: &str) -> String {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

#[test]
fn the_page_and_its_config_are_served_and_only_its_origin_may_call_the_api() {
    let port = free_port();
    let server = console_server(port);
    let console = format!("127.0.0.1:{port}");
    let page = http(
        &console,
        "GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n",
    );
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("text/html") && page.contains("<h1"), "{page}");
    let config = http(
        &console,
        &format!(
            "GET /config.json HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n\r\n"
        ),
    );
    let api = server.url.clone();
    assert!(
        config.ends_with(&format!("{{\"api\":\"{api}\"}}")),
        "{config}"
    );

    // A preflight from the console's origin is allowed; from elsewhere not.
    let api_address = api.trim_start_matches("http://");
    let preflight = |origin: &str| {
        http(
            api_address,
            &format!(
                "OPTIONS /stratus.v1.ModelService/ListModels HTTP/1.1\r\nhost: {api_address}\r\norigin: {origin}\r\naccess-control-request-method: POST\r\naccess-control-request-headers: content-type,x-grpc-web\r\nconnection: close\r\n\r\n"
            ),
        )
        .to_ascii_lowercase()
    };
    let ours = preflight(&format!("http://127.0.0.1:{port}"));
    assert!(
        ours.contains(&format!(
            "access-control-allow-origin: http://127.0.0.1:{port}"
        )),
        "{ours}"
    );
    // Another site, on another port or even on the console's port.
    for origin in [
        "http://evil.example:1234".to_owned(),
        format!("http://evil.example:{port}"),
    ] {
        let theirs = preflight(&origin);
        assert!(!theirs.contains("access-control-allow-origin"), "{theirs}");
    }
}

#[test]
fn without_the_console_the_api_speaks_no_http1() {
    let server = Server::with_naive();
    let answer = http(
        server.url.trim_start_matches("http://"),
        "POST /stratus.v1.ModelService/ListModels HTTP/1.1\r\nhost: x\r\ncontent-type: application/grpc-web+proto\r\ncontent-length: 5\r\nconnection: close\r\n\r\n\0\0\0\0\0",
    );
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn the_page_in_a_real_browser_matches_the_api() {
    let port = free_port();
    let _server = console_server(port);
    let root = workspace_root();
    let screenshot = target_dir()
        .parent()
        .expect("target")
        .join("console-screenshot.png");
    let _ = std::fs::remove_file(&screenshot);
    let status = Command::new("bash")
        .arg(root.join("console/test/run.sh"))
        .env("STRATUS_CONSOLE_URL", format!("http://127.0.0.1:{port}"))
        .env("STRATUS_SCREENSHOT", &screenshot)
        .status()
        .expect("run console/test/run.sh");
    assert!(status.success(), "console/test/run.sh failed ({status})");
    let png = std::fs::read(&screenshot).expect("the screenshot was saved");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000);
}
