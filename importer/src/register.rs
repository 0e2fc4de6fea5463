//! The vault's memory of the databases it protects.
//!
//! Freshness is computed from the vault's copies, so a database whose copies are *all*
//! gone (deleted by hand, by a compromised vault principal, by a retention bug) would simply
//! drop out of the metric, and the one loss the vault exists to catch would raise no alarm.
//! The reconciler therefore remembers every (source account, source database) it has seen a
//! genuine import of, as one SSM Parameter Store parameter per database under a path of the
//! vault account (`<path>/<account>/<database>`): a resource of the vault that no workload
//! principal can reach, written once, never deleted by the pipeline (an operator deletes it
//! when a database is decommissioned). A remembered database with no vault copy left is
//! reported as lost, and its freshness is reported as the age of nothing (the seconds since
//! 1970), beyond any RPO, so the freshness alarm fires.

use std::collections::BTreeSet;

use aws_sdk_ssm::error::DisplayErrorContext;
use aws_sdk_ssm::operation::put_parameter::PutParameterError;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use offsite_common::config::Setting;
use offsite_common::snapshot::Snapshot;
use offsite_common::tags;

/// A protected database: (source account, source database).
pub type DatabaseKey = (String, String);

/// The default path of the register (`OFFSITE_PROTECTED_DATABASES_PATH`).
pub const DEFAULT_PATH: &str = "/offsite/protected-databases";

/// Where the register lives: an SSM parameter hierarchy, `/a/b`, no trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterPath(pub String);

impl Default for RegisterPath {
    fn default() -> Self {
        Self(DEFAULT_PATH.to_owned())
    }
}

impl Setting for RegisterPath {
    fn expected() -> String {
        "an SSM parameter path such as /offsite/protected-databases: a leading slash, letters, \
         digits, '.', '-', '_' and single slashes, no trailing slash, at most 500 characters \
         and 10 levels"
            .to_owned()
    }

    /// SSM parameter names: "a-z, A-Z, 0-9, and _.-/", hierarchies up to 15 levels, names
    /// up to 1011 characters (Systems Manager User Guide, "Parameter Store: Creating
    /// parameters"): the register's path leaves room for `/<account>/<database>`.
    fn parse_setting(raw: &str) -> Result<Self, String> {
        let segments: Vec<&str> = raw.strip_prefix('/').map(|r| r.split('/').collect()).unwrap_or_default();
        if segments.is_empty() || segments.iter().any(|s| s.is_empty()) {
            return Err("not a path of one or more names, each after one slash".to_owned());
        }
        if raw.len() > 500 || segments.len() > 10 {
            return Err("too long or too deep for the account and database names below it".to_owned());
        }
        if let Some(bad) = raw.chars().find(|c| !(c.is_ascii_alphanumeric() || "_.-/".contains(*c))) {
            return Err(format!("{bad:?} is not allowed in a parameter name"));
        }
        if segments[0].to_ascii_lowercase().starts_with("aws") || segments[0].to_ascii_lowercase().starts_with("ssm") {
            return Err("names beginning with aws or ssm are reserved".to_owned());
        }
        Ok(Self(raw.to_owned()))
    }
}

/// The databases the vault holds a genuine import of (whatever their status), by
/// provenance; copies without it are left out.
pub fn databases_of(copies: &[Snapshot]) -> BTreeSet<DatabaseKey> {
    copies
        .iter()
        .filter(|c| offsite_common::lineage::is_genuine_import(c))
        .filter_map(|c| Some((c.tag(tags::SOURCE_ACCOUNT)?.to_owned(), c.tag(tags::SOURCE_DATABASE)?.to_owned())))
        .filter(|(account, database)| is_name(account) && is_name(database))
        .collect()
}

/// What the register does not hold yet, and what it holds that has no copy left.
pub fn compare(
    remembered: &BTreeSet<DatabaseKey>,
    present: &BTreeSet<DatabaseKey>,
) -> (Vec<DatabaseKey>, Vec<DatabaseKey>) {
    let new = present.difference(remembered).cloned().collect();
    let lost = remembered.difference(present).cloned().collect();
    (new, lost)
}

/// RDS identifiers and account ids: letters, digits and hyphens (no slash, so one level each).
fn is_name(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `<path>/<account>/<database>`.
pub fn parameter_name(path: &RegisterPath, (account, database): &DatabaseKey) -> String {
    format!("{}/{account}/{database}", path.0)
}

/// The database a parameter of the register stands for; `None` for anything else under
/// the path (left alone).
pub fn key_of(path: &RegisterPath, name: &str) -> Option<DatabaseKey> {
    let rest = name.strip_prefix(&path.0)?.strip_prefix('/')?;
    let (account, database) = rest.split_once('/')?;
    (is_name(account) && is_name(database)).then(|| (account.to_owned(), database.to_owned()))
}

/// Why the register could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("the register of protected databases ({path}): {operation}: {message}")]
pub struct RegisterError {
    pub path: String,
    pub operation: &'static str,
    pub message: String,
}

/// The register in SSM Parameter Store.
#[derive(Debug, Clone)]
pub struct Register {
    ssm: aws_sdk_ssm::Client,
    path: RegisterPath,
}

impl Register {
    pub fn new(ssm: aws_sdk_ssm::Client, path: RegisterPath) -> Self {
        Self { ssm, path }
    }

    fn error(&self, operation: &'static str, message: String) -> RegisterError {
        RegisterError { path: self.path.0.clone(), operation, message }
    }

    /// Every database the register holds (`GetParametersByPath`, recursive, all pages).
    pub async fn remembered(&self) -> Result<BTreeSet<DatabaseKey>, RegisterError> {
        let mut keys = BTreeSet::new();
        let mut pages = self.ssm.get_parameters_by_path().path(&self.path.0).recursive(true).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.error("GetParametersByPath", DisplayErrorContext(e).to_string()))?;
            keys.extend(page.parameters().iter().filter_map(|p| p.name()).filter_map(|n| key_of(&self.path, n)));
        }
        Ok(keys)
    }

    /// Adds `key`, first seen at `now` (kept as the parameter's value). Never overwrites:
    /// a concurrent or repeated run that finds it there is done.
    pub async fn remember(&self, key: &DatabaseKey, now: DateTime) -> Result<(), RegisterError> {
        let value = serde_json::json!({
            "source_account": key.0,
            "source_database": key.1,
            "first_seen": now.fmt(Format::DateTime).unwrap_or_default(),
        });
        let put = self
            .ssm
            .put_parameter()
            .name(parameter_name(&self.path, key))
            .description("A database the Offsite vault protects: its freshness is alarmed even with no copy left")
            .value(value.to_string())
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .overwrite(false)
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(PutParameterError::is_parameter_already_exists) => Ok(()),
            Err(e) => Err(self.error("PutParameter", DisplayErrorContext(e).to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use offsite_common::snapshot::{SnapshotKind, SnapshotStatus};

    use super::*;

    fn key(account: &str, database: &str) -> DatabaseKey {
        (account.to_owned(), database.to_owned())
    }

    #[test]
    fn paths_are_checked_like_parameter_names() {
        assert_eq!(RegisterPath::parse_setting("/offsite/protected-databases"), Ok(RegisterPath::default()));
        for bad in ["offsite", "/", "/a//b", "/a/", "/a b", "/aws/x", "/SSM/x", "/a*"] {
            assert!(RegisterPath::parse_setting(bad).is_err(), "{bad}");
        }
        // At most 500 characters and 10 levels: room for /<account>/<database> below.
        let long = format!("/{}", "a".repeat(499));
        assert!(RegisterPath::parse_setting(&long).is_ok());
        assert!(RegisterPath::parse_setting(&format!("{long}a")).is_err());
        let deep = "/a".repeat(10);
        assert!(RegisterPath::parse_setting(&deep).is_ok());
        assert!(RegisterPath::parse_setting(&format!("{deep}/a")).is_err());
    }

    #[test]
    fn names_map_both_ways_and_foreign_parameters_are_ignored() {
        let path = RegisterPath::default();
        let orders = key("111111111111", "orders");
        let name = parameter_name(&path, &orders);
        assert_eq!(name, "/offsite/protected-databases/111111111111/orders");
        assert_eq!(key_of(&path, &name), Some(orders));
        for other in [
            "/offsite/protected-databases",
            "/offsite/protected-databases/111111111111",
            "/offsite/protected-databases/111111111111/orders/extra",
            "/offsite/protected-databases-old/111111111111/orders",
            "/elsewhere/111111111111/orders",
        ] {
            assert_eq!(key_of(&path, other), None, "{other}");
        }
    }

    /// Below the SDK (`aws-smithy-mocks`): what SSM answers a second or concurrent run.
    mod ssm {
        use aws_sdk_ssm::operation::get_parameters_by_path::GetParametersByPathOutput;
        use aws_sdk_ssm::operation::put_parameter::PutParameterOutput;
        use aws_sdk_ssm::types::Parameter;
        use aws_sdk_ssm::types::error::{ParameterAlreadyExists, ParameterLimitExceeded};
        use aws_smithy_mocks::{RuleMode, mock, mock_client};

        use super::*;

        fn register(client: aws_sdk_ssm::Client) -> Register {
            Register::new(client, RegisterPath::default())
        }

        #[tokio::test]
        async fn an_existing_parameter_is_done_any_other_refusal_is_an_error() {
            let put = mock!(aws_sdk_ssm::Client::put_parameter)
                .match_requests(|r| r.overwrite() == Some(false))
                .sequence()
                .output(|| PutParameterOutput::builder().version(1).build())
                .error(|| PutParameterError::ParameterAlreadyExists(ParameterAlreadyExists::builder().build()))
                .error(|| PutParameterError::ParameterLimitExceeded(ParameterLimitExceeded::builder().build()))
                .build();
            let register = register(mock_client!(aws_sdk_ssm, RuleMode::Sequential, [&put]));
            let orders = key("111111111111", "orders");
            let now = DateTime::from_secs(1_800_000_000);
            assert!(register.remember(&orders, now).await.is_ok(), "written");
            assert!(register.remember(&orders, now).await.is_ok(), "already there: done");
            let error = register.remember(&orders, now).await.expect_err("a real refusal");
            assert_eq!(error.operation, "PutParameter");
            assert!(error.to_string().contains("ParameterLimitExceeded"), "{error}");
            assert_eq!(put.num_calls(), 3);
        }

        #[tokio::test]
        async fn every_page_is_read_and_foreign_names_are_left_out() {
            let page = |names: &[&str], next: Option<&str>| {
                GetParametersByPathOutput::builder()
                    .set_parameters(Some(names.iter().map(|n| Parameter::builder().name(*n).build()).collect()))
                    .set_next_token(next.map(str::to_owned))
                    .build()
            };
            let first = page(
                &["/offsite/protected-databases/111111111111/orders", "/offsite/protected-databases/x"],
                Some("t"),
            );
            let second = page(&["/offsite/protected-databases/444444444444/ledger"], None);
            let get = mock!(aws_sdk_ssm::Client::get_parameters_by_path)
                .match_requests(|r| r.path() == Some(DEFAULT_PATH) && r.recursive() == Some(true))
                .sequence()
                .output(move || first.clone())
                .output(move || second.clone())
                .build();
            let register = register(mock_client!(aws_sdk_ssm, RuleMode::Sequential, [&get]));
            assert_eq!(
                register.remembered().await.expect("read"),
                BTreeSet::from([key("111111111111", "orders"), key("444444444444", "ledger")])
            );
            assert_eq!(get.num_calls(), 2);
        }
    }

    #[test]
    fn new_and_lost_databases() {
        let remembered = BTreeSet::from([key("1", "orders"), key("1", "ledger")]);
        let present = BTreeSet::from([key("1", "orders"), key("2", "orders")]);
        assert_eq!(compare(&remembered, &present), (vec![key("2", "orders")], vec![key("1", "ledger")]));
        assert_eq!(compare(&present, &present), (vec![], vec![]));
    }

    #[test]
    fn only_genuine_imports_with_provenance_count() {
        let import = |shared: &str, database: Option<&str>| {
            let arn = format!("arn:aws:rds:us-east-1:111111111111:snapshot:{shared}");
            let bare = Snapshot::bare(SnapshotKind::Instance, arn.as_str(), "", SnapshotStatus::Available);
            let mut copy = Snapshot::bare(
                SnapshotKind::Instance,
                "",
                offsite_common::lineage::vault_identifier(&bare),
                SnapshotStatus::InProgress("creating".into()),
            );
            copy.tags.insert(tags::COPY_ARN.into(), arn);
            copy.tags.insert(tags::SOURCE_ACCOUNT.into(), "111111111111".into());
            if let Some(database) = database {
                copy.tags.insert(tags::SOURCE_DATABASE.into(), database.into());
            }
            copy
        };
        let mut impostor = import("offsite-c", Some("forged"));
        impostor.identifier = "vault-forged".into();
        // A name that would be another level of the register's hierarchy.
        let nested = import("offsite-d", Some("orders/../ledger"));
        let mut no_account = import("offsite-e", Some("ledger"));
        no_account.tags.insert(tags::SOURCE_ACCOUNT.into(), String::new());
        let copies = [import("offsite-a", Some("orders")), import("offsite-b", None), impostor, nested, no_account];
        assert_eq!(databases_of(&copies), BTreeSet::from([key("111111111111", "orders")]));
    }
}
