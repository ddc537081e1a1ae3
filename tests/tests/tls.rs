//! TLS, mutual TLS and the admin token's protections, end to end: the real
//! server with certificates made for the test, called through the client
//! crate and the `stratus` CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use stratus_client::{StratusClient, TlsOptions};
use stratus_e2e::fixtures::forecast_dataset;
use stratus_e2e::{NAIVE, Server, ServerOptions};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

/// A CA, a server certificate for 127.0.0.1/localhost and a client
/// certificate, as PEM files in a temp folder.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let issue = |names: Vec<String>, stem: &str| {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(names)
                .unwrap()
                .signed_by(&key, &ca)
                .unwrap();
            std::fs::write(dir.path().join(format!("{stem}.pem")), cert.pem()).unwrap();
            std::fs::write(dir.path().join(format!("{stem}.key")), key.serialize_pem()).unwrap();
        };
        issue(vec!["localhost".into(), "127.0.0.1".into()], "server");
        issue(vec!["analyst".into()], "client");
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn server_args(&self, mutual: bool) -> Vec<String> {
        let mut args = vec![
            format!("--tls-cert={}", self.path("server.pem").display()),
            format!("--tls-key={}", self.path("server.key").display()),
        ];
        if mutual {
            args.push(format!("--tls-client-ca={}", self.path("ca.pem").display()));
        }
        args
    }

    fn options(&self, with_identity: bool) -> TlsOptions {
        let client = |p: &str| Some(self.path(p));
        TlsOptions::from_files(
            Some(&self.path("ca.pem")),
            client("client.pem").filter(|_| with_identity).as_deref(),
            client("client.key").filter(|_| with_identity).as_deref(),
        )
        .unwrap()
    }
}

fn https(server: &Server) -> String {
    server.url.replacen("http://", "https://", 1)
}

async fn forecast_over(url: &str, tls: &TlsOptions) -> Result<usize, String> {
    let client = StratusClient::connect_with(url, tls)
        .await
        .map_err(|e| e.to_string())?;
    client
        .forecast(forecast_dataset("naive", "china-cloud-infra-annual", 2))
        .await
        .map(|answer| answer.points.len())
        .map_err(|status| status.to_string())
}

#[tokio::test]
async fn a_tls_server_serves_https_only() {
    let pki = Pki::new();
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE],
        args: pki.server_args(false),
        ..Default::default()
    });
    assert_eq!(
        forecast_over(&https(&server), &pki.options(false)).await,
        Ok(2)
    );
    assert!(
        forecast_over(&server.url, &TlsOptions::default())
            .await
            .is_err(),
        "plaintext is not served"
    );
    // A client that does not trust the server's CA refuses it.
    assert!(
        forecast_over(&https(&server), &TlsOptions::default())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate_from_the_ca() {
    let pki = Pki::new();
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE],
        args: pki.server_args(true),
        ..Default::default()
    });
    assert_eq!(
        forecast_over(&https(&server), &pki.options(true)).await,
        Ok(2)
    );
    assert!(
        forecast_over(&https(&server), &pki.options(false))
            .await
            .is_err()
    );
    // The CLI takes the same files.
    let cli = |identity: bool| {
        let mut command = Command::new(stratus_e2e::binary("stratus"));
        command
            .args(["--server", &https(&server)])
            .arg("--ca")
            .arg(pki.path("ca.pem"));
        if identity {
            command
                .arg("--cert")
                .arg(pki.path("client.pem"))
                .arg("--key")
                .arg(pki.path("client.key"));
        }
        command.arg("health").output().unwrap()
    };
    let ok = cli(true);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&ok.stdout).trim(), "SERVING");
    let refused = cli(false);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("--cert"),
        "the CLI says what is missing: {said}"
    );
}

/// Runs the server binary with `args` (plugins from an empty folder) and
/// returns its exit status and log, or `None` if it started serving.
fn start_fails(args: &[&str]) -> Option<(std::process::ExitStatus, String)> {
    let plugins = tempfile::tempdir().unwrap();
    let mut child = Command::new(stratus_e2e::binary("stratus-server"))
        .arg("--plugins")
        .arg(plugins.path())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if let Ok(Some(status)) = child.try_wait() {
            let output = child.wait_with_output().unwrap();
            return Some((status, String::from_utf8_lossy(&output.stderr).into_owned()));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    None
}

#[test]
fn an_admin_token_is_refused_on_a_plaintext_network_address() {
    let (status, log) = start_fails(&["--listen=0.0.0.0:0", "--admin-token=s3cret"])
        .expect("the server must refuse to start");
    assert!(!status.success());
    assert!(log.contains("clear text"), "{log}");
}

fn token_file(dir: &Path) -> PathBuf {
    let file = dir.join("admin-token");
    std::fs::write(&file, "s3cret\n").unwrap();
    file
}

#[tokio::test]
async fn the_admin_token_can_come_from_a_file_and_travels_over_tls() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let mut args = pki.server_args(false);
    args.push(format!(
        "--admin-token-file={}",
        token_file(dir.path()).display()
    ));
    let server = Server::start(ServerOptions {
        plugins: vec![NAIVE],
        args,
        ..Default::default()
    });
    let client = StratusClient::connect_with(https(&server), &pki.options(false))
        .await
        .unwrap();
    assert!(
        !client
            .reload_models(Some("s3cret"))
            .await
            .unwrap()
            .is_empty()
    );
    let status = client.reload_models(None).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(client.health("").await.unwrap(), ServingStatus::Serving);
    let (_, log) = server.terminate();
    assert!(
        log.contains("admin call refused") && log.contains("127.0.0.1"),
        "refusals are logged with the caller's address:\n{log}"
    );
}
