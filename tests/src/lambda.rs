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

/// The path of a workspace binary built by `cargo build` (debug profile), e.g.
/// `offsite-exporter`; `None` when it is not built.
pub fn binary(name: &str) -> Option<PathBuf> {
    let path = crate::workspace_root().join("target/debug").join(name);
    path.exists().then_some(path)
}
