//! The data checks' I/O: the master user's credentials from the secret RDS manages, the
//! trusted certificate authorities, and a read-only session on the restored database through
//! a real client (tokio-postgres, mysql_async), over TLS that verifies the server's
//! certificate and name against the configured CA bundle only.
//!
//! Nothing here logs or returns a password: [`Credentials`] prints as redacted.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;

use crate::checks::{Answer, Dialect, Query};

/// How long a connection may take to open (TCP, TLS, authentication).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long all of a test's queries may take together.
const QUERIES_TIMEOUT: Duration = Duration::from_secs(120);
/// The most one data check takes: its connection, then its queries.
pub const MAX_SECONDS: u64 = CONNECT_TIMEOUT.as_secs() + QUERIES_TIMEOUT.as_secs();
/// One statement's limit, set in the session where the engine has one (PostgreSQL).
const STATEMENT_TIMEOUT_MS: u64 = 60_000;

/// The master user's credentials, as RDS stores them in the secret it manages:
/// `{"username": …, "password": …}` (RDS User Guide, "Password management with Amazon RDS and
/// AWS Secrets Manager").
#[derive(Clone, Deserialize)]
pub struct Credentials {
    pub username: String,
    password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).field("password", &"<redacted>").finish()
    }
}

/// Reads the secret's current value. An error names the secret and what to fix; never its
/// content.
pub async fn credentials(client: &aws_sdk_secretsmanager::Client, secret_arn: &str) -> Result<Credentials, String> {
    let out = client
        .get_secret_value()
        .secret_id(secret_arn)
        .send()
        .await
        .map_err(|e| format!("GetSecretValue {secret_arn}: {}", DisplayErrorContext(e)))?;
    let text = out.secret_string().ok_or_else(|| format!("the secret {secret_arn} has no SecretString"))?;
    // serde's error would quote the input: report the shape only.
    serde_json::from_str::<Credentials>(text)
        .map_err(|_| format!("the secret {secret_arn} is not RDS's {{\"username\", \"password\"}} JSON"))
}

/// The certificate authorities a restored database's certificate must chain to (the RDS CA
/// bundle, `global-bundle.pem` or the Region's bundle: RDS User Guide, "Using SSL/TLS to
/// encrypt a connection to a DB instance or cluster").
#[derive(Debug, Clone)]
pub struct TrustedCas {
    pem: Vec<u8>,
    certificates: Vec<CertificateDer<'static>>,
}

impl TrustedCas {
    /// The certificates of a PEM bundle; at least one.
    pub fn from_pem(pem: Vec<u8>, origin: &str) -> Result<Self, String> {
        let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("the CA bundle {origin} is not PEM: {e}"))?;
        if certificates.is_empty() {
            return Err(format!("the CA bundle {origin} holds no certificate"));
        }
        Ok(Self { pem, certificates })
    }

    fn rustls_config(&self) -> Result<rustls::ClientConfig, String> {
        let mut roots = rustls::RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(self.certificates.iter().cloned());
        if added == 0 {
            return Err("no certificate of the CA bundle is usable as a trust anchor".to_owned());
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS set-up: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth())
    }
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct Target {
    pub dialect: Dialect,
    pub host: String,
    pub port: u16,
    /// The database to connect to (MySQL: none).
    pub database: Option<String>,
}

/// Runs `queries` in one read-only session. `Err` when no session could be opened or it
/// broke (the whole data check failed); a statement's own failure is its [`Answer::Failed`].
pub async fn ask(
    target: &Target,
    credentials: &Credentials,
    cas: &TrustedCas,
    queries: &[Query],
) -> Result<Vec<Answer>, String> {
    let work = async {
        match target.dialect {
            Dialect::Postgres => ask_postgres(target, credentials, cas, queries).await,
            Dialect::Mysql => ask_mysql(target, credentials, cas, queries).await,
        }
    };
    tokio::time::timeout(QUERIES_TIMEOUT + CONNECT_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {}s", (QUERIES_TIMEOUT + CONNECT_TIMEOUT).as_secs())))
}

async fn ask_postgres(
    target: &Target,
    credentials: &Credentials,
    cas: &TrustedCas,
    queries: &[Query],
) -> Result<Vec<Answer>, String> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&target.host)
        .port(target.port)
        .user(&credentials.username)
        .password(&credentials.password)
        .dbname(target.database.as_deref().unwrap_or("postgres"))
        .application_name("offsite-restore-test")
        // TLS or nothing; rustls verifies the chain and the host name (verify-full).
        .ssl_mode(tokio_postgres::config::SslMode::Require)
        .connect_timeout(CONNECT_TIMEOUT);
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(cas.rustls_config()?);
    let (client, connection) = config.connect(tls).await.map_err(|e| {
        format!("connecting to {}:{} as {}: {}", target.host, target.port, credentials.username, error_chain(&e))
    })?;
    let driver = tokio::spawn(connection);
    let session = format!(
        "SET default_transaction_read_only = on; SET statement_timeout = {STATEMENT_TIMEOUT_MS}; SET TIME ZONE 'UTC'"
    );
    let result = async {
        client.batch_execute(&session).await.map_err(|e| format!("setting up the session: {}", error_chain(&e)))?;
        let mut answers = Vec::with_capacity(queries.len());
        for query in queries {
            let row = client.query_one(query.sql(Dialect::Postgres).as_str(), &[]).await;
            answers.push(match (query, row) {
                (Query::RowCount { .. }, Ok(row)) => {
                    row.try_get::<_, i64>(0).map(Answer::Count).unwrap_or_else(|e| Answer::Failed(error_chain(&e)))
                }
                (Query::Newest { .. }, Ok(row)) => row
                    .try_get::<_, Option<f64>>(0)
                    .map(Answer::Newest)
                    .unwrap_or_else(|e| Answer::Failed(error_chain(&e))),
                (_, Err(e)) => Answer::Failed(error_chain(&e)),
            });
        }
        Ok(answers)
    }
    .await;
    drop(client);
    driver.abort();
    result
}

async fn ask_mysql(
    target: &Target,
    credentials: &Credentials,
    cas: &TrustedCas,
    queries: &[Query],
) -> Result<Vec<Answer>, String> {
    use mysql_async::prelude::Queryable;
    let ssl =
        mysql_async::SslOpts::default().with_root_certs(vec![cas.pem.clone().into()]).with_disable_built_in_roots(true);
    let options = mysql_async::OptsBuilder::default()
        .ip_or_hostname(target.host.clone())
        .tcp_port(target.port)
        .user(Some(credentials.username.clone()))
        .pass(Some(credentials.password.clone()))
        .db_name(target.database.clone())
        .prefer_socket(false)
        .ssl_opts(Some(ssl));
    let connect = mysql_async::Conn::new(options);
    let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .map_err(|_| {
            format!("connecting to {}:{}: no answer within {}s", target.host, target.port, CONNECT_TIMEOUT.as_secs())
        })?
        .map_err(|e| {
            format!("connecting to {}:{} as {}: {}", target.host, target.port, credentials.username, error_chain(&e))
        })?;
    let result = async {
        conn.query_drop("SET SESSION time_zone = '+00:00'")
            .await
            .map_err(|e| format!("setting up the session: {}", error_chain(&e)))?;
        conn.query_drop("SET SESSION TRANSACTION READ ONLY")
            .await
            .map_err(|e| format!("setting up the session: {}", error_chain(&e)))?;
        let mut answers = Vec::with_capacity(queries.len());
        for query in queries {
            let sql = query.sql(Dialect::Mysql);
            answers.push(match query {
                Query::RowCount { .. } => match conn.query_first::<i64, _>(sql).await {
                    Ok(Some(n)) => Answer::Count(n),
                    Ok(None) => Answer::Failed("no row".to_owned()),
                    Err(e) => Answer::Failed(error_chain(&e)),
                },
                Query::Newest { .. } => match conn.query_first::<Option<f64>, _>(sql).await {
                    Ok(Some(newest)) => Answer::Newest(newest),
                    Ok(None) => Answer::Failed("no row".to_owned()),
                    Err(e) => Answer::Failed(error_chain(&e)),
                },
            });
        }
        Ok(answers)
    }
    .await;
    // A clean goodbye; the database is deleted soon anyway.
    let _ = conn.disconnect().await;
    result
}

/// An error and its sources, one line (tokio-postgres's `Display` alone says "db error").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}
