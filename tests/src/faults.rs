//! Fault and crash injection below the SDK, for tests only.
//!
//! A [`Lane`] is one function's view of AWS (the exporter's, the importer's, ...). Its
//! [`Lane::wrap`] gives an [`SdkConfig`] whose HTTP client sits between the real SDK clients
//! and the emulator and, per request attempt, at the lane's rate for the request's service:
//!
//! - answers a **throttling** error in the service's own protocol (`Throttling` for the query
//!   protocols of RDS, SNS and STS, `ThrottlingException` for the JSON protocols of SQS and
//!   DynamoDB, `SlowDown` for S3), which the SDK's standard retry mode classifies as
//!   throttling;
//! - answers a **5xx** (`InternalFailure`, 500) without reaching the emulator;
//! - fails with a **timeout** or a **dropped connection** before the request is sent;
//! - or sends the request and **loses the response** (the connection drops after the
//!   emulator acted): the nastiest case for idempotency, as the SDK retries a call that
//!   already happened.
//!
//! Whether an attempt is faulted is a pure function of (seed, lane, attempt number), so a run
//! with the same seed injects the same faults in the same places whatever the other lanes do.
//!
//! [`Lane::invoke`] runs one invocation of a function and can **crash** it between two of its
//! AWS calls (an operation, retries included, is one call): at the first *step boundary* —
//! the pair (previous call, next call), or (last call, end) — that no earlier crash of this
//! lane hit. The crashing request never leaves and the invocation's future is dropped on the
//! spot, as a Lambda sandbox that dies at that line; a crash at the end drops its result
//! (the response never reaches the caller). Repeating crash invocations therefore walks
//! every boundary the function shows, one per crash. `Crash::At` picks one boundary instead.
//!
//! Only the emulator's behaviour is changed, never the code under test; the retry *delays*
//! are shortened (see [`Lane::wrap`]) so that thousands of injected faults fit a test run.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use tokio::sync::Notify;

/// The kinds of injected faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// A throttling error in the service's protocol.
    Throttle,
    /// HTTP 500 `InternalFailure`.
    ServerError,
    /// The attempt timed out before an answer.
    Timeout,
    /// The connection dropped before the request was sent.
    DroppedBeforeSend,
    /// The request reached the emulator, which acted; the response was lost.
    ResponseLost,
}

impl Fault {
    pub const ALL: [Fault; 5] =
        [Fault::Throttle, Fault::ServerError, Fault::Timeout, Fault::DroppedBeforeSend, Fault::ResponseLost];
}

/// One step boundary: the call before (or `start`) and the call after (or `end`), each as
/// `service:Action`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Boundary {
    pub after: String,
    pub before: String,
}

impl fmt::Display for Boundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} | {}", self.after, self.before)
    }
}

const START: &str = "start";
const END: &str = "end";

/// What one invocation came to.
#[derive(Debug)]
pub enum Invoked<T> {
    /// It ran to its end and returned this.
    Completed(T),
    /// It was stopped at this boundary; nothing after it happened.
    Crashed(Boundary),
}

/// Whether an invocation may crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crash {
    Never,
    /// At the first boundary of this lane that no crash has hit yet (if it shows one).
    AtNewBoundary,
    /// At the first time this boundary shows, `(call before, call after)` as `service:Action`.
    At(&'static str, &'static str),
}

impl Crash {
    /// Whether an invocation crashes at `boundary`, given where this lane crashed before.
    fn hits(self, boundary: &Boundary, crashed_at: &BTreeSet<Boundary>) -> bool {
        match self {
            Crash::Never => false,
            Crash::AtNewBoundary => !crashed_at.contains(boundary),
            Crash::At(after, before) => boundary.after == after && boundary.before == before,
        }
    }
}

/// What a lane injected and saw.
#[derive(Debug, Clone, Default)]
pub struct LaneStats {
    /// Calls (operations) made, retries not counted.
    pub calls: u64,
    /// HTTP attempts made, retries included.
    pub attempts: u64,
    pub faults: BTreeMap<Fault, u64>,
    pub crashes: u64,
    pub invocations: u64,
    /// Boundaries seen in the invocations a crash may hit (a `Crash::Never` invocation shows
    /// boundaries no rule will crash at: they are not counted), and those a crash hit.
    pub seen: BTreeSet<Boundary>,
    pub crashed_at: BTreeSet<Boundary>,
}

impl LaneStats {
    pub fn faults_total(&self) -> u64 {
        self.faults.values().sum()
    }

    /// Boundaries seen but never crashed at.
    pub fn uncovered(&self) -> Vec<&Boundary> {
        self.seen.difference(&self.crashed_at).collect()
    }
}

/// One function's faulty view of AWS. Clones share their state.
#[derive(Debug, Clone)]
pub struct Lane {
    shared: Arc<LaneShared>,
}

#[derive(Debug)]
struct LaneShared {
    name: String,
    seed: u64,
    state: Mutex<LaneState>,
}

#[derive(Debug, Default)]
struct LaneState {
    /// Fault rate per service (`rds`, `sns`, ...); `default_rate` for the others.
    rates: BTreeMap<String, f64>,
    default_rate: f64,
    /// The kinds to pick from (all unless narrowed).
    kinds: Vec<Fault>,
    stats: LaneStats,
    current: Option<Invocation>,
}

#[derive(Debug)]
struct Invocation {
    crash: Crash,
    last_call: String,
    crashed: Option<Boundary>,
    stop: Arc<Notify>,
}

impl Lane {
    /// A lane named `name` (its faults depend on it and on `seed`), faulting every
    /// service's attempts at `rate` (0.0 to 1.0).
    pub fn new(name: &str, seed: u64, rate: f64) -> Self {
        let state = LaneState { default_rate: rate, kinds: Fault::ALL.to_vec(), ..LaneState::default() };
        Self { shared: Arc::new(LaneShared { name: name.to_owned(), seed, state: Mutex::new(state) }) }
    }

    /// Sets the rate for one service (the SigV4 signing name: `rds`, `sns`, `sqs`,
    /// `dynamodb`, `s3`, `sts`, `kms`).
    pub fn set_rate(&self, service: &str, rate: f64) {
        self.state().rates.insert(service.to_owned(), rate);
    }

    /// Injects only these kinds from now on.
    pub fn set_kinds(&self, kinds: &[Fault]) {
        self.state().kinds = kinds.to_vec();
    }

    pub fn name(&self) -> &str {
        &self.shared.name
    }

    pub fn stats(&self) -> LaneStats {
        self.state().stats.clone()
    }

    /// `config` with this lane's HTTP client in front of its own. The SDK's standard retry
    /// mode and attempt count (the production default, 5) are kept; its backoff is cut from
    /// 1 s (max 20 s) to 1 ms (max 10 ms), so that the same retries happen, only sooner.
    pub fn wrap(&self, config: &SdkConfig) -> SdkConfig {
        let inner = config.http_client().unwrap_or_else(|| panic!("the SDK config has no HTTP client to wrap"));
        let attempts = config.retry_config().map_or(offsite_common::aws::DEFAULT_MAX_ATTEMPTS, |r| r.max_attempts());
        let retry = RetryConfig::standard()
            .with_max_attempts(attempts)
            .with_initial_backoff(Duration::from_millis(1))
            .with_max_backoff(Duration::from_millis(10));
        config
            .clone()
            .into_builder()
            .http_client(SharedHttpClient::new(FaultyClient { inner, lane: self.clone() }))
            .retry_config(retry)
            .build()
    }

    /// Runs one invocation; with [`Crash::AtNewBoundary`] it is stopped at the first
    /// boundary no earlier crash of this lane hit.
    pub async fn invoke<T>(&self, crash: Crash, invocation: impl Future<Output = T>) -> Invoked<T> {
        let stop = Arc::new(Notify::new());
        {
            let mut state = self.state();
            assert!(state.current.is_none(), "lane {}: one invocation at a time", self.shared.name);
            state.stats.invocations += 1;
            state.current =
                Some(Invocation { crash, last_call: START.to_owned(), crashed: None, stop: Arc::clone(&stop) });
        }
        let outcome = tokio::select! {
            biased;
            () = stop.notified() => None,
            value = invocation => Some(value),
        };
        let mut state = self.state();
        let Some(current) = state.current.take() else { unreachable!("the invocation is registered above") };
        match (outcome, current.crashed) {
            (Some(value), None) => {
                let end = Boundary { after: current.last_call, before: END.to_owned() };
                if current.crash != Crash::Never {
                    state.stats.seen.insert(end.clone());
                }
                if current.crash.hits(&end, &state.stats.crashed_at) {
                    state.stats.crashed_at.insert(end.clone());
                    state.stats.crashes += 1;
                    return Invoked::Crashed(end);
                }
                Invoked::Completed(value)
            }
            (_, Some(boundary)) => Invoked::Crashed(boundary),
            (None, None) => unreachable!("stopped without a crash"),
        }
    }

    fn state(&self) -> MutexGuard<'_, LaneState> {
        self.shared.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Decides what happens to one attempt.
    fn on_attempt(&self, call: &Call) -> Verdict {
        let mut guard = self.state();
        let LaneState { rates, default_rate, kinds, stats, current } = &mut *guard;
        let attempt = stats.attempts;
        stats.attempts += 1;
        if let Some(current) = current {
            if current.crashed.is_some() {
                return Verdict::Hang;
            }
            if call.first_attempt {
                let boundary = Boundary { after: current.last_call.clone(), before: call.name.clone() };
                current.last_call = call.name.clone();
                if current.crash != Crash::Never {
                    stats.seen.insert(boundary.clone());
                }
                if current.crash.hits(&boundary, &stats.crashed_at) {
                    stats.crashed_at.insert(boundary.clone());
                    stats.crashes += 1;
                    current.crashed = Some(boundary);
                    current.stop.notify_one();
                    return Verdict::Hang;
                }
            }
        }
        if call.first_attempt {
            stats.calls += 1;
        }
        let rate = rates.get(&call.service).copied().unwrap_or(*default_rate);
        let roll = mix(self.shared.seed, &self.shared.name, attempt);
        if unit(roll) >= rate || kinds.is_empty() {
            return Verdict::Pass;
        }
        let pick = usize::try_from(mix(roll, "kind", attempt) % kinds.len() as u64).unwrap_or(0);
        let fault = kinds[pick];
        *stats.faults.entry(fault).or_default() += 1;
        Verdict::Fault(fault)
    }
}

/// What the connector does with one attempt.
enum Verdict {
    Pass,
    Fault(Fault),
    /// The invocation crashed: this request never leaves.
    Hang,
}

/// The parts of a request the lane decides on.
struct Call {
    service: String,
    /// `service:Action`.
    name: String,
    first_attempt: bool,
    protocol: Protocol,
}

#[derive(Clone, Copy)]
enum Protocol {
    Query,
    Json,
    S3,
}

impl Call {
    fn of(request: &HttpRequest) -> Self {
        let header = |name: &str| request.headers().get(name).unwrap_or_default();
        // SigV4: `Credential=<key>/<date>/<region>/<service>/aws4_request`.
        let service = header("authorization")
            .split("Credential=")
            .nth(1)
            .and_then(|c| c.split(['/', ',']).nth(3))
            .unwrap_or("unsigned")
            .to_owned();
        // `amz-sdk-request: attempt=1; max=5`, set by the SDK on every attempt (a request
        // without it counts as a call of its own).
        let attempt = header("amz-sdk-request");
        let first_attempt = attempt.is_empty() || attempt.split(';').next().is_some_and(|a| a.trim() == "attempt=1");
        let target = header("x-amz-target");
        let (action, protocol) = if !target.is_empty() {
            (target.rsplit('.').next().unwrap_or(target).to_owned(), Protocol::Json)
        } else if service == "s3" {
            (format!("{} {}", request.method(), request.uri().split('?').next().unwrap_or("")), Protocol::S3)
        } else {
            let body = request.body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
            let action = body.split('&').find_map(|p| p.strip_prefix("Action=")).unwrap_or("unknown").to_owned();
            (action, Protocol::Query)
        };
        Self { name: format!("{service}:{action}"), service, first_attempt, protocol }
    }
}

#[derive(Debug)]
struct FaultyClient {
    inner: SharedHttpClient,
    lane: Lane,
}

impl HttpClient for FaultyClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        let inner = self.inner.http_connector(settings, components);
        SharedHttpConnector::new(FaultyConnector { inner, lane: self.lane.clone() })
    }
}

#[derive(Debug)]
struct FaultyConnector {
    inner: SharedHttpConnector,
    lane: Lane,
}

impl HttpConnector for FaultyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let call = Call::of(&request);
        match self.lane.on_attempt(&call) {
            Verdict::Pass => self.inner.call(request),
            Verdict::Hang => HttpConnectorFuture::new(std::future::pending()),
            Verdict::Fault(Fault::ResponseLost) => {
                let sent = self.inner.call(request);
                HttpConnectorFuture::new(async move {
                    // The emulator acts on the request; its answer never arrives.
                    let _ = sent.await;
                    Err(ConnectorError::io("injected: connection reset after the request was sent".into()))
                })
            }
            Verdict::Fault(Fault::Timeout) => HttpConnectorFuture::ready(Err(ConnectorError::timeout(
                "injected: no answer within the attempt timeout".into(),
            ))),
            Verdict::Fault(Fault::DroppedBeforeSend) => HttpConnectorFuture::ready(Err(ConnectorError::io(
                "injected: connection reset before the request was sent".into(),
            ))),
            Verdict::Fault(fault) => HttpConnectorFuture::ready(Ok(error_response(fault, call.protocol))),
        }
    }
}

/// A throttling or 5xx answer as the service would give it.
fn error_response(fault: Fault, protocol: Protocol) -> HttpResponse {
    let (status, code) = match (fault, protocol) {
        (Fault::Throttle, Protocol::Query) => (400, "Throttling"),
        (Fault::Throttle, Protocol::Json) => (400, "ThrottlingException"),
        (Fault::Throttle, Protocol::S3) => (503, "SlowDown"),
        (_, Protocol::S3) => (500, "InternalError"),
        _ => (500, "InternalFailure"),
    };
    let message = "injected by the test's fault lane";
    let (content_type, body) = match protocol {
        Protocol::Query => (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>{}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>injected</RequestId></ErrorResponse>",
                if status < 500 { "Sender" } else { "Receiver" }
            ),
        ),
        Protocol::Json => ("application/x-amz-json-1.0", format!(r#"{{"__type":"{code}","message":"{message}"}}"#)),
        Protocol::S3 => (
            "application/xml",
            format!("<Error><Code>{code}</Code><Message>{message}</Message><RequestId>injected</RequestId></Error>"),
        ),
    };
    let status = StatusCode::try_from(status).unwrap_or_else(|_| unreachable!("a valid status"));
    let mut response = HttpResponse::new(status, SdkBody::from(body));
    response.headers_mut().insert("content-type", content_type);
    response
}

/// A 64-bit mix of (seed, lane, n): SplitMix64 over an FNV-1a hash of the lane's name.
fn mix(seed: u64, lane: &str, n: u64) -> u64 {
    let name = lane.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let mut z = seed ^ name.rotate_left(17) ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `x` as a number in [0, 1).
fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// A deterministic shuffle and picks for the harness (SQS deliveries): the same seed gives
/// the same sequence.
#[derive(Debug, Clone)]
pub struct Dice {
    seed: u64,
    n: u64,
}

impl Dice {
    pub fn new(seed: u64) -> Self {
        Self { seed, n: 0 }
    }

    /// A number in [0, 1).
    pub fn roll(&mut self) -> f64 {
        self.n += 1;
        unit(mix(self.seed, "dice", self.n))
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.roll() < p
    }

    /// Fisher-Yates.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.roll() * (i + 1) as f64) as usize;
            items.swap(i, j.min(i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_faults_the_same_attempts_and_the_rate_holds() {
        let picks = |seed: u64| -> Vec<bool> { (0..10_000).map(|n| unit(mix(seed, "exporter", n)) < 0.2).collect() };
        assert_eq!(picks(7), picks(7));
        assert_ne!(picks(7), picks(8));
        let faulted = picks(7).iter().filter(|f| **f).count();
        assert!((1_800..2_200).contains(&faulted), "{faulted} of 10000 at 20 %");
    }

    #[test]
    fn shuffles_are_permutations_and_repeatable() {
        let mut a: Vec<u32> = (0..50).collect();
        let mut b = a.clone();
        Dice::new(3).shuffle(&mut a);
        Dice::new(3).shuffle(&mut b);
        assert_eq!(a, b);
        assert_ne!(a, (0..50).collect::<Vec<_>>());
        a.sort_unstable();
        assert_eq!(a, (0..50).collect::<Vec<_>>());
    }
}
