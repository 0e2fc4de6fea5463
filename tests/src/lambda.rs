//! Runs a Lambda binary the way Lambda does: as a process that polls the Lambda Runtime API
//! (`AWS_LAMBDA_RUNTIME_API`) for events and posts each result back. This module is that API
//! (the `2018-06-01` runtime interface: `invocation/next`, `invocation/{id}/response`,
//! `invocation/{id}/error`, `init/error`), a small HTTP/1.1 server on a free local port, so a
//! test feeds real event payloads to the real binary with exactly the environment its
//! template gives it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// What an invocation ended with.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The handler's response.
    Response(Value),
    /// The runtime reported an error (`invocation/{id}/error`): type and message.
    Error { error_type: String, message: String },
}

/// Why a function could not be run or invoked.
#[derive(Debug, thiserror::Error)]
pub enum LambdaError {
    #[error("cannot start {binary}: {source}")]
    Spawn { binary: PathBuf, source: std::io::Error },
    #[error("the Runtime API cannot listen: {0}")]
    Listen(std::io::Error),
    #[error("{function} failed to initialise: {message}\n--- its output ---\n{output}")]
    Init { function: String, message: String, output: String },
    #[error("{function} gave no result within {timeout:?}\n--- its output ---\n{output}")]
    Timeout { function: String, timeout: Duration, output: String },
}

type Event = (String, Value);

/// The Runtime API's side of one function: events in, results out.
struct Api {
    events: Mutex<Receiver<Event>>,
    results: Sender<(String, Outcome)>,
    /// `Lambda-Runtime-Invoked-Function-Arn` of every invocation.
    function_arn: String,
}

/// A Lambda function process served by a local Runtime API.
pub struct LambdaFunction {
    name: String,
    child: Child,
    events: Sender<Event>,
    results: Receiver<(String, Outcome)>,
    output: Arc<Mutex<Vec<String>>>,
    next_id: u64,
    started: Instant,
    /// When the function first asked for an event: it is ready.
    ready: Arc<Mutex<Option<Instant>>>,
}

impl std::fmt::Debug for LambdaFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaFunction")
            .field("name", &self.name)
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

impl LambdaFunction {
    /// Starts `binary` with `env` (nothing else from this process's environment but `PATH`)
    /// plus the variables the Lambda service sets; each invocation names `function_arn` as
    /// the invoked function, as Lambda does (the exporter reads its home account from it).
    pub fn start(
        binary: &Path,
        name: &str,
        function_arn: &str,
        env: &BTreeMap<String, String>,
    ) -> Result<Self, LambdaError> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(LambdaError::Listen)?;
        let address = listener.local_addr().map_err(LambdaError::Listen)?;
        let (events_tx, events_rx) = channel::<Event>();
        let (results_tx, results_rx) = channel();
        let api =
            Arc::new(Api { events: Mutex::new(events_rx), results: results_tx, function_arn: function_arn.to_owned() });
        let ready = Arc::new(Mutex::new(None));
        let (accept_api, accept_ready) = (api.clone(), ready.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (api, ready) = (accept_api.clone(), accept_ready.clone());
                std::thread::spawn(move || serve(stream, &api, &ready));
            }
        });
        let mut command = Command::new(binary);
        command
            .env_clear()
            .envs(std::env::var_os("PATH").map(|p| ("PATH".to_owned(), p)))
            .envs(env)
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = command.spawn().map_err(|source| LambdaError::Spawn { binary: binary.to_owned(), source })?;
        let output = Arc::new(Mutex::new(Vec::new()));
        for pipe in [
            child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
            child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Ok(mut lines) = output.lock() {
                        lines.push(line);
                    }
                }
            });
        }
        Ok(Self {
            name: name.to_owned(),
            child,
            events: events_tx,
            results: results_rx,
            output,
            next_id: 0,
            started,
            ready,
        })
    }

    /// Delivers `event` and waits for its result.
    pub fn invoke(&mut self, event: &Value, timeout: Duration) -> Result<Outcome, LambdaError> {
        self.next_id += 1;
        let id = format!("{:08x}-0000-4000-8000-{:012x}", self.next_id, self.next_id);
        let _ = self.events.send((id.clone(), event.clone()));
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.results.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok((got, outcome)) if got == id => return Ok(outcome),
                Ok((got, Outcome::Error { message, .. })) if got == "init" => {
                    return Err(LambdaError::Init { function: self.name.clone(), message, output: self.output() });
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                    // A process that died before answering will never answer.
                    if let Ok(Some(status)) = self.child.try_wait() {
                        return Err(LambdaError::Init {
                            function: self.name.clone(),
                            message: format!("exited with {status}"),
                            output: self.output(),
                        });
                    }
                }
                Err(_) => {
                    return Err(LambdaError::Timeout { function: self.name.clone(), timeout, output: self.output() });
                }
            }
        }
    }

    /// Everything the function printed so far (JSON log lines, EMF metrics).
    pub fn output(&self) -> String {
        self.output.lock().map(|lines| lines.join("\n")).unwrap_or_default()
    }

    /// The function process's peak resident memory so far, in MiB (Linux `VmHWM` of its
    /// `/proc/<pid>/status`): the function's own figure, not the harness's.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        crate::bench::vm_hwm_mib(&status)
    }

    /// Waits until the function asks for its first event (its initialisation done, so what
    /// it calls at start is behind the caller); an error when it exits or does not within
    /// `timeout`.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<Duration, LambdaError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(ready) = self.time_to_ready() {
                return Ok(ready);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let message = format!("exited with {status}");
                return Err(LambdaError::Init { function: self.name.clone(), message, output: self.output() });
            }
            if Instant::now() >= deadline {
                return Err(LambdaError::Timeout { function: self.name.clone(), timeout, output: self.output() });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Time from process start to its first request for an event.
    pub fn time_to_ready(&self) -> Option<Duration> {
        self.ready.lock().ok().and_then(|r| *r).map(|ready| ready.duration_since(self.started))
    }
}

impl Drop for LambdaFunction {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One connection of the runtime's HTTP client: requests one after another (keep-alive).
fn serve(stream: TcpStream, api: &Api, ready: &Mutex<Option<Instant>>) {
    let Ok(write_half) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    let mut writer = write_half;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((_, value)) = header.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case("content-length")) {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let mut parts = request_line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        let response = route(method, path, &body, api, ready);
        let Some((status, headers, payload)) = response else { return };
        let mut head =
            format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n", payload.len());
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).and_then(|()| writer.write_all(&payload)).is_err() {
            return;
        }
    }
}

type Response = (&'static str, Vec<(String, String)>, Vec<u8>);

fn route(method: &str, path: &str, body: &[u8], api: &Api, ready: &Mutex<Option<Instant>>) -> Option<Response> {
    const PREFIX: &str = "/2018-06-01/runtime/";
    let accepted = || Some(("202 Accepted", Vec::new(), b"{\"status\":\"OK\"}".to_vec()));
    let rest = path.strip_prefix(PREFIX)?;
    if method == "GET" && rest == "invocation/next" {
        if let Ok(mut first) = ready.lock() {
            first.get_or_insert_with(Instant::now);
        }
        // Long poll, as Lambda does: answer when there is an event.
        let (id, event) = api.events.lock().ok()?.recv().ok()?;
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() + 900_000)
            .unwrap_or_default();
        let headers = vec![
            ("Lambda-Runtime-Aws-Request-Id".to_owned(), id),
            ("Lambda-Runtime-Deadline-Ms".to_owned(), deadline.to_string()),
            ("Lambda-Runtime-Invoked-Function-Arn".to_owned(), api.function_arn.clone()),
            ("Lambda-Runtime-Trace-Id".to_owned(), "Root=1-00000000-000000000000000000000000".to_owned()),
        ];
        return Some(("200 OK", headers, serde_json::to_vec(&event).unwrap_or_default()));
    }
    if method != "POST" {
        return Some(("404 Not Found", Vec::new(), Vec::new()));
    }
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = |json: &Value| Outcome::Error {
        error_type: json["errorType"].as_str().unwrap_or_default().to_owned(),
        message: json["errorMessage"].as_str().unwrap_or_default().to_owned(),
    };
    if rest == "init/error" {
        let _ = api.results.send(("init".to_owned(), error(&json)));
        return accepted();
    }
    let (id, kind) = rest.strip_prefix("invocation/")?.split_once('/')?;
    let outcome = match kind {
        "response" => Outcome::Response(json),
        "error" => error(&json),
        _ => return Some(("404 Not Found", Vec::new(), Vec::new())),
    };
    let _ = api.results.send((id.to_owned(), outcome));
    accepted()
}

/// Why a workspace binary cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum BinaryError {
    #[error(
        "{0} is not built: run `cargo build --workspace --bins{BUILD_FLAG}` (make test and make bench do it first)"
    )]
    NotBuilt(String),
    #[error(
        "{binary} is older than {changed}: run `cargo build --workspace --bins{BUILD_FLAG}` (make test and make \
         bench do it first), or this test runs the code as it was before that change"
    )]
    Stale { binary: String, changed: String },
    #[error("{binary}: {message}")]
    Unknown { binary: String, message: String },
}

/// The workspace package each binary the tests run belongs to.
const PACKAGES: &[(&str, &str)] = &[
    ("offsite-exporter", "exporter"),
    ("offsite-scanner", "scanner"),
    ("offsite-importer", "importer"),
    ("offsite-reconciler", "importer"),
    ("offsite-retention", "importer"),
    ("offsite-dynamo-export", "dynamo"),
    ("offsite-rds-export", "rds-export"),
    ("offsite-restore-test", "restore-test"),
    ("offsite", "cli"),
    ("offsite-demo", "demo"),
];

/// The Cargo profile this harness was built with, and so the one whose binaries it runs:
/// `dev` for the tests (`cargo test`), `release` for `make bench` (`cargo bench --profile
/// release`, the profile `make package` ships). Figures say which one they come from.
pub const PROFILE: &str = if cfg!(debug_assertions) { "dev" } else { "release" };

/// The directory under `target/` Cargo builds [`PROFILE`] into.
const PROFILE_DIR: &str = if cfg!(debug_assertions) { "debug" } else { "release" };

/// What `cargo build` needs to build [`PROFILE`].
const BUILD_FLAG: &str = if cfg!(debug_assertions) { "" } else { " --release" };

/// The path of a workspace binary built by `cargo build` in this harness's [`PROFILE`], e.g.
/// `offsite-exporter`, refused when it is not built or when a Rust source it is built from
/// changed after it was linked (its own `[[bin]]` file, its package's library and its
/// workspace dependencies' libraries): a test must not judge yesterday's binary. Cargo
/// relinks a binary whenever one of those changes, so a fresh build always passes;
/// manifests and `Cargo.lock` are left out, since cargo rebuilds only the binaries a change
/// there affects.
pub fn binary(name: &str) -> Result<PathBuf, BinaryError> {
    binary_in(&crate::workspace_root(), name)
}

fn binary_in(root: &Path, name: &str) -> Result<PathBuf, BinaryError> {
    let path = root.join("target").join(PROFILE_DIR).join(name);
    let unknown = |message: String| BinaryError::Unknown { binary: name.to_owned(), message };
    let linked =
        std::fs::metadata(&path).and_then(|m| m.modified()).map_err(|_| BinaryError::NotBuilt(name.to_owned()))?;
    let package = PACKAGES
        .iter()
        .find(|(binary, _)| *binary == name)
        .map(|(_, package)| *package)
        .ok_or_else(|| unknown("not a binary of the workspace's packages".to_owned()))?;
    let mut sources = Vec::new();
    for dir in packages_built_into(root, package) {
        let manifest = Manifest::read(&dir);
        let src = dir.join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        // The library: every file but the binaries' own.
        sources.extend(files.into_iter().filter(|f| !f.starts_with(src.join("bin")) && !manifest.is_bin_file(&dir, f)));
        if dir.ends_with(package) {
            let own = manifest.bins.iter().find(|(bin, _)| bin == name).map(|(_, file)| dir.join(file));
            sources.push(own.ok_or_else(|| unknown(format!("no [[bin]] named {name} in {package}/Cargo.toml")))?);
        }
    }
    for source in sources {
        let modified = std::fs::metadata(&source).and_then(|m| m.modified()).map_err(|e| unknown(e.to_string()))?;
        if modified > linked {
            let shown = source.strip_prefix(root).unwrap_or(&source).display().to_string();
            return Err(BinaryError::Stale { binary: name.to_owned(), changed: shown });
        }
    }
    Ok(path)
}

/// What the tests need of a package's `Cargo.toml`: its workspace dependencies (the
/// `[dependencies]` named `offsite-<dir>`) and its `[[bin]]` targets (name, path).
struct Manifest {
    dependencies: Vec<String>,
    bins: Vec<(String, String)>,
}

impl Manifest {
    fn read(dir: &Path) -> Self {
        let text = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
        let (mut dependencies, mut bins) = (Vec::new(), Vec::new());
        let mut section = String::new();
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line.to_owned();
                if section == "[[bin]]" {
                    bins.push((String::new(), String::new()));
                }
                continue;
            }
            let value = || line.split_once('=').map(|(_, v)| v.trim().trim_matches('"').to_owned()).unwrap_or_default();
            match section.as_str() {
                "[dependencies]" => {
                    if let Some(rest) = line.strip_prefix("offsite-") {
                        dependencies.push(rest.chars().take_while(char::is_ascii_alphanumeric).collect());
                    }
                }
                "[[bin]]" => {
                    if let Some(bin) = bins.last_mut() {
                        if line.starts_with("name") {
                            bin.0 = value();
                        } else if line.starts_with("path") {
                            bin.1 = value();
                        }
                    }
                }
                _ => {}
            }
        }
        Self { dependencies, bins }
    }

    fn is_bin_file(&self, dir: &Path, file: &Path) -> bool {
        self.bins.iter().any(|(_, path)| dir.join(path) == file)
    }
}

/// `package` and the workspace packages it depends on, transitively.
fn packages_built_into(root: &Path, package: &str) -> Vec<PathBuf> {
    let mut seen: Vec<String> = Vec::new();
    let mut todo = vec![package.to_owned()];
    while let Some(next) = todo.pop() {
        if seen.contains(&next) {
            continue;
        }
        let manifest = Manifest::read(&root.join(&next));
        todo.extend(manifest.dependencies.into_iter().filter(|dir| root.join(dir).join("Cargo.toml").exists()));
        seen.push(next);
    }
    seen.into_iter().map(|dir| root.join(dir)).collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod binary_tests {
    use std::fs::{File, create_dir_all, write};
    use std::time::SystemTime;

    use super::*;

    fn file(root: &Path, path: &str, text: &str, at: SystemTime) {
        let path = root.join(path);
        create_dir_all(path.parent().expect("parent")).expect("mkdir");
        write(&path, text).expect("write");
        File::options().write(true).open(&path).and_then(|f| f.set_modified(at)).expect("mtime");
    }

    #[test]
    fn a_binary_older_than_any_source_it_is_built_from_is_refused() {
        let root = std::env::temp_dir().join(format!("offsite-binary-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let t = |secs: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs);
        let importer = "[[bin]]\nname = \"offsite-importer\"\npath = \"src/bin/importer.rs\"\n\n\
                        [[bin]]\nname = \"offsite-reconciler\"\npath = \"src/bin/reconciler.rs\"\n\n\
                        [dependencies]\noffsite-common.workspace = true\n\n\
                        [dev-dependencies]\noffsite-tests.workspace = true\n";
        file(&root, "importer/Cargo.toml", importer, t(0));
        file(&root, "importer/src/lib.rs", "", t(0));
        file(&root, "importer/src/bin/importer.rs", "", t(0));
        file(&root, "importer/src/bin/reconciler.rs", "", t(0));
        file(&root, "common/Cargo.toml", "[[bin]]\nname = \"tool\"\npath = \"src/main.rs\"\n", t(0));
        file(&root, "common/src/deep/lib.rs", "", t(0));
        file(&root, "common/src/main.rs", "", t(0));
        file(&root, "tests/Cargo.toml", "", t(0));
        file(&root, "tests/src/lib.rs", "", t(50));
        assert!(matches!(binary_in(&root, "offsite-importer"), Err(BinaryError::NotBuilt(_))));

        let built = format!("target/{PROFILE_DIR}/offsite-importer");
        file(&root, &built, "", t(10));
        assert_eq!(binary_in(&root, "offsite-importer").ok(), Some(root.join(&built)));
        // Not built into it: a dev-dependency, another binary of the package, a dependency's
        // binary, the manifests and the lock file (cargo does not relink it for those).
        for other in ["importer/src/bin/reconciler.rs", "common/src/main.rs", "importer/Cargo.toml", "Cargo.lock"] {
            let text = if other.ends_with("Cargo.toml") { format!("{importer}\n") } else { "// changed".to_owned() };
            file(&root, other, &text, t(20));
            assert!(binary_in(&root, "offsite-importer").is_ok(), "{other}");
        }
        // Built into it: its own file, its library, a dependency's library.
        for (changed, at) in
            [("importer/src/bin/importer.rs", 30), ("importer/src/lib.rs", 40), ("common/src/deep/lib.rs", 60)]
        {
            file(&root, changed, "// changed", t(at));
            let Err(BinaryError::Stale { changed: named, .. }) = binary_in(&root, "offsite-importer") else {
                panic!("a binary older than {changed} must be refused")
            };
            assert_eq!(named, changed);
            file(&root, &built, "", t(at + 5));
        }
        assert!(binary_in(&root, "offsite-importer").is_ok());
        let _ = std::fs::remove_dir_all(&root);
    }
}
