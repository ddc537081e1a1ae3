//! Harness for the end-to-end tests: builds the binaries and plugins once,
//! lays out a private plugin folder per test, starts `stratus-server` on a
//! free port and hands back a connected client.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use stratus_client::StratusClient;

pub mod raw_h2;

/// Running the `stratus` CLI against a test server, and reading what it printed.
pub mod cli {
    use std::path::Path;
    use std::process::{Command, Output};

    use super::{Server, binary};

    /// Runs `stratus --server URL args…` and waits for it. `NO_COLOR` is
    /// removed so the caller's environment cannot change what is drawn.
    pub fn stratus(server: &Server, args: &[&str]) -> Output {
        Command::new(binary("stratus"))
            .arg("--server")
            .arg(&server.url)
            .args(args)
            .env_remove("NO_COLOR")
            .output()
            .expect("run stratus")
    }

    /// Printed bytes as text.
    pub fn text(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    /// A temp path as a command-line argument.
    pub fn path(p: &Path) -> &str {
        p.to_str().expect("UTF-8 temp path")
    }
}

/// The plugin crates the tests load, by library file name.
pub const NAIVE: &str = "libstratus_naive.so";
/// The canalys growth forecaster.
pub const CANALYS: &str = "libstratus_canalys.so";
/// The mckinsey scenario sizer.
pub const MCKINSEY: &str = "libstratus_mckinsey.so";
/// The bubble risk scorer.
pub const BUBBLE: &str = "libstratus_bubble.so";
/// The recommended combination forecast.
pub const AUTO: &str = "libstratus_auto.so";
/// Test fixture: panics or stalls on request.
pub const FAULTY: &str = "libstratus_fixture_faulty.so";
/// Test fixture: raw-ABI risk plugin answering garbage.
pub const ROGUE: &str = "libstratus_fixture_rogue.so";

/// Every package whose binary or library the tests run.
const PACKAGES: &[&str] = &[
    "stratus-server",
    "stratus-client",
    "stratus-naive",
    "stratus-canalys",
    "stratus-mckinsey",
    "stratus-bubble",
    "stratus-auto",
    "stratus-fixture-faulty",
    "stratus-fixture-rogue",
];

/// `target/debug` (or wherever this test binary was built).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().expect("binary folder");
    // Tests live in target/<profile>/deps; binaries in target/<profile>.
    if dir.ends_with("deps") {
        dir.parent().expect("target dir").to_owned()
    } else {
        dir.to_owned()
    }
}

/// Builds the server, CLI and plugin libraries once per test process.
/// `cargo test` builds only what tests link against, not other packages'
/// binaries or cdylibs, so the harness asks cargo for them; it is a no-op
/// when they are up to date.
pub fn ensure_built() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // Build the same profile as this binary (the soak command runs in
        // release; tests in debug).
        let release = target_dir().ends_with("release");
        let status = Command::new(cargo)
            .args(["build", "--quiet"])
            .args(release.then_some("--release"))
            .args(PACKAGES.iter().flat_map(|package| ["-p", package]))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build");
        assert!(
            status.success(),
            "cargo build of the server and plugins failed"
        );
    });
}

/// A path to a built binary (`stratus-server`, `stratus`).
pub fn binary(name: &str) -> PathBuf {
    ensure_built();
    target_dir().join(name)
}

/// The faulty fixture's library with its version marker `AAAAAAAA` replaced
/// by `marker` (8 ASCII characters): a distinct library, and a distinct
/// version `0.1.0-build.<marker>` of the same model, without a second build.
/// `PANICKY0` makes a copy that panics on every call.
pub fn faulty_variant(marker: &str) -> Vec<u8> {
    assert_eq!(marker.len(), 8, "the marker is 8 characters");
    ensure_built();
    let mut bytes = std::fs::read(target_dir().join(FAULTY)).expect("read the faulty fixture");
    let needle = b"AAAAAAAA";
    let mut patched = 0;
    let mut i = 0;
    while i + needle.len() <= bytes.len() {
        if &bytes[i..i + needle.len()] == needle {
            bytes[i..i + needle.len()].copy_from_slice(marker.as_bytes());
            patched += 1;
            i += needle.len();
        } else {
            i += 1;
        }
    }
    assert!(
        patched > 0,
        "the version marker was not found in the fixture"
    );
    bytes
}

/// How to start a server.
#[derive(Debug, Default, Clone)]
pub struct ServerOptions {
    /// Plugin library file names to copy into the plugin folder.
    pub plugins: Vec<&'static str>,
    /// Extra files to put in the plugin folder: (name, bytes).
    pub files: Vec<(&'static str, Vec<u8>)>,
    /// Extra command-line arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(&'static str, String)>,
}

/// A running `stratus-server`, killed on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The plugin folder.
    pub plugin_dir: tempfile::TempDir,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Server {
    /// Starts a server with the given plugins and waits until it listens.
    pub fn start(options: ServerOptions) -> Server {
        ensure_built();
        let plugin_dir = tempfile::tempdir().expect("temp plugin dir");
        for name in &options.plugins {
            let built = target_dir().join(name);
            std::fs::copy(&built, plugin_dir.path().join(name))
                .unwrap_or_else(|e| panic!("copy plugin library {}: {e}", built.display()));
        }
        for (name, bytes) in &options.files {
            std::fs::write(plugin_dir.path().join(name), bytes).expect("write plugin folder file");
        }
        let mut command = Command::new(binary("stratus-server"));
        command
            .arg("--listen=127.0.0.1:0")
            .arg("--plugins")
            .arg(plugin_dir.path())
            .args(&options.args)
            .env("RUST_LOG", "info")
            .env_remove("STRATUS_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in &options.env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start stratus-server");

        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("stratus-server listening on ") {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let stderr = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                text.push_str(&line);
                text.push('\n');
            }
            text
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let log = stderr.join().unwrap_or_default();
                panic!("stratus-server did not start listening; its log:\n{log}");
            }
        };
        Server {
            child,
            url: format!("http://{addr}"),
            plugin_dir,
            stderr: Some(stderr),
        }
    }

    /// Starts a server with just the naive model.
    pub fn with_naive() -> Server {
        Self::start(ServerOptions {
            plugins: vec![NAIVE],
            ..Default::default()
        })
    }

    /// A client connected to this server.
    pub async fn client(&self) -> StratusClient {
        StratusClient::connect(self.url.clone())
            .await
            .expect("connect to the server")
    }

    /// Sends SIGTERM and waits for the process; returns its exit status and log.
    pub fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = self.child.wait().expect("wait for stratus-server");
        let log = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        (status, log)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (e.g. "HUP") to the server.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// The server's peak resident memory so far, in MiB (`VmHWM` in
    /// /proc/PID/status).
    pub fn peak_rss_mib(&self) -> f64 {
        proc_status_kib(self.child.id(), "VmHWM:") / 1024.0
    }

    /// CPU time the server has used so far (user + system), from
    /// /proc/PID/stat.
    pub fn cpu_time(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which may hold spaces) start at ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks: u64 = fields
            .get(11..13)
            .map(|f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum())
            .unwrap_or(0);
        // The kernel reports in clock ticks of 1/100 s on Linux.
        Duration::from_millis(ticks * 10)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// A `KiB` figure from /proc/PID/status (0 if the process is gone).
pub fn proc_status_kib(pid: u32, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (for a listener flag that takes a fixed address).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// A Python virtualenv under the target folder for a Python test suite,
/// made from PyPI once per change of what it installs.
pub struct PythonEnv {
    /// Its interpreter.
    pub python: PathBuf,
}

impl PythonEnv {
    /// The virtualenv `target/<name>`, (re)made with `pip install
    /// <install...>` unless one made from the same `inputs` (the text of
    /// the requirement files it installs from) exists.
    pub fn ensure(name: &str, inputs: &str, install: &[&str]) -> PythonEnv {
        let venv = target_dir().parent().expect("target").join(name);
        let env = PythonEnv {
            python: venv.join("bin/python"),
        };
        let stamp = venv.join("requirements.installed");
        if std::fs::read_to_string(&stamp).ok().as_deref() != Some(inputs) {
            let venv = venv.to_str().expect("utf-8 path");
            run_checked(
                std::path::Path::new("python3"),
                &["-m", "venv", venv],
                "creating the virtualenv",
            );
            let mut args = vec!["-m", "pip", "install", "--quiet"];
            args.extend(install);
            env.run(&args, "pip install");
            std::fs::write(&stamp, inputs).expect("write the install stamp");
        }
        env
    }

    /// Runs its Python with `args` (the server binaries' folder in
    /// `STRATUS_BIN_DIR`) and asserts it succeeded.
    pub fn run(&self, args: &[&str], what: &str) {
        run_checked(&self.python, args, what);
    }

    /// Runs its Python with `args`, asserts it succeeded, and returns what it
    /// printed.
    pub fn output(&self, args: &[&str], what: &str) -> String {
        let output = Command::new(&self.python)
            .args(args)
            .env("STRATUS_BIN_DIR", target_dir())
            .output()
            .unwrap_or_else(|e| panic!("{what}: cannot run {}: {e}", self.python.display()));
        assert!(
            output.status.success(),
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8 output")
    }

    /// Runs `pytest -q` on `folder` (relative to the workspace root).
    pub fn pytest(&self, folder: &str) {
        let tests = workspace_root().join(folder);
        let tests = tests.to_str().expect("utf-8 path");
        self.run(
            &["-m", "pytest", "-q", "-p", "no:cacheprovider", tests],
            &format!("pytest {folder}"),
        );
    }
}

fn run_checked(program: &std::path::Path, args: &[&str], what: &str) {
    let status = Command::new(program)
        .args(args)
        .env("STRATUS_BIN_DIR", target_dir())
        .status()
        .unwrap_or_else(|e| panic!("{what}: cannot run {}: {e}", program.display()));
    assert!(status.success(), "{what} failed ({status})");
}

/// Request builders and status readers shared by the tests.
pub mod fixtures {
    use stratus_client::proto;
    use tonic_types::StatusExt;

    /// A model reference to the newest version of `name`.
    pub fn model(name: &str) -> Option<proto::ModelRef> {
        Some(proto::ModelRef {
            name: name.into(),
            version: String::new(),
        })
    }

    /// An annual series starting in `first_year`.
    pub fn annual(name: &str, first_year: i32, values: &[f64]) -> proto::Series {
        proto::Series {
            name: name.into(),
            unit: "USD bn".into(),
            frequency: proto::Frequency::Annual as i32,
            observations: values
                .iter()
                .enumerate()
                .map(|(i, &value)| proto::Observation {
                    period: (first_year + i as i32).to_string(),
                    value,
                })
                .collect(),
        }
    }

    /// A forecast request for an inline series.
    pub fn forecast(
        model_name: &str,
        series: proto::Series,
        horizon: u32,
    ) -> proto::ForecastRequest {
        proto::ForecastRequest {
            model: model(model_name),
            source: Some(proto::forecast_request::Source::Series(series)),
            horizon,
            ..Default::default()
        }
    }

    /// A forecast request for a built-in dataset.
    pub fn forecast_dataset(
        model_name: &str,
        dataset: &str,
        horizon: u32,
    ) -> proto::ForecastRequest {
        proto::ForecastRequest {
            model: model(model_name),
            source: Some(proto::forecast_request::Source::Dataset(dataset.into())),
            horizon,
            ..Default::default()
        }
    }

    /// The `google.rpc.BadRequest` field names a status carries.
    pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
        status
            .get_error_details()
            .bad_request()
            .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
            .unwrap_or_default()
    }
}
