//! The vault's restore tests: on a schedule, restore a vault copy per source database and
//! period, check the restored database against the copy, record the evidence, delete it.
//!
//! - [`plan`]: which copies, which identifiers, each test's next step, the checks (pure);
//! - [`checks`]: the data checks: their setting, their SQL, their verdicts (pure);
//! - [`data`]: the data checks' I/O: the secret, the CA bundle, the database clients;
//! - [`settings`]: the function's settings, read once at start;
//! - [`run`]: one run: list, decide, advance each test, start what is due, report;
//! - [`health`]: each database's tests against a limit (the CLI's status and verify).

pub mod checks;
pub mod data;
pub mod health;
pub mod plan;
pub mod run;
pub mod settings;
