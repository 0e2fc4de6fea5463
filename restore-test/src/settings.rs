//! The restore tester's settings, read once at start.

use std::time::Duration;

use offsite_common::ConfigError;
use offsite_common::aws::{AwsSettings, RegionName};
use offsite_common::config::{self, BucketName, Env, Setting};

use crate::checks::CheckList;
use crate::plan::{Pick, Policy};

pub const EVERY_VAR: &str = "OFFSITE_RESTORE_TEST_EVERY";
pub const PICK_VAR: &str = "OFFSITE_RESTORE_TEST_PICK";
pub const MAX_RUNNING_VAR: &str = "OFFSITE_RESTORE_TEST_MAX_RUNNING";
pub const AVAILABLE_WITHIN_VAR: &str = "OFFSITE_RESTORE_TEST_AVAILABLE_WITHIN";
pub const OVERDUE_AFTER_VAR: &str = "OFFSITE_RESTORE_TEST_OVERDUE_AFTER";
pub const SUBNET_GROUP_VAR: &str = "OFFSITE_RESTORE_TEST_SUBNET_GROUP";
pub const SECURITY_GROUPS_VAR: &str = "OFFSITE_RESTORE_TEST_SECURITY_GROUPS";
pub const INSTANCE_CLASS_VAR: &str = "OFFSITE_RESTORE_TEST_INSTANCE_CLASS";
pub const CLUSTER_INSTANCE_CLASS_VAR: &str = "OFFSITE_RESTORE_TEST_CLUSTER_INSTANCE_CLASS";
pub const EVIDENCE_BUCKET_VAR: &str = "OFFSITE_RESTORE_TEST_EVIDENCE_BUCKET";
pub const EVIDENCE_PREFIX_VAR: &str = "OFFSITE_RESTORE_TEST_EVIDENCE_PREFIX";
pub const CHECKS_VAR: &str = "OFFSITE_RESTORE_TEST_CHECKS";
pub const CA_BUNDLE_VAR: &str = "OFFSITE_RESTORE_TEST_CA_BUNDLE";
pub const SECOND_REGION_SUBNET_GROUP_VAR: &str = "OFFSITE_RESTORE_TEST_SECOND_REGION_SUBNET_GROUP";
pub const SECOND_REGION_SECURITY_GROUPS_VAR: &str = "OFFSITE_RESTORE_TEST_SECOND_REGION_SECURITY_GROUPS";
pub const SECOND_REGION_CHECKS_VAR: &str = "OFFSITE_RESTORE_TEST_SECOND_REGION_CHECKS";
pub use offsite_common::aws::DR_REGION_VAR;

/// The smallest Graviton classes RDS offers for PostgreSQL and MySQL, and for Aurora (which
/// has no micro class): a test runs for minutes ("DB instance classes", supported engines).
pub const DEFAULT_INSTANCE_CLASS: &str = "db.t4g.micro";
pub const DEFAULT_CLUSTER_INSTANCE_CLASS: &str = "db.t4g.medium";

/// Everything one run needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreTestSettings {
    pub aws: AwsSettings,
    pub policy: Policy,
    /// Where the restored databases live: a DB subnet group and VPC security groups of the
    /// vault (never publicly accessible).
    pub subnet_group: String,
    pub security_groups: Vec<String>,
    pub instance_class: String,
    pub cluster_instance_class: String,
    /// Where a JSON record of each test goes (`<prefix>/restore-tests/…`), if anywhere.
    pub evidence: Option<Evidence>,
    /// The certificate authorities a restored database's TLS certificate must chain to (set
    /// whenever there are data checks).
    pub ca_bundle: Option<CaBundle>,
    /// Tests of the second Region's copies too, when configured.
    pub second_region: Option<SecondRegion>,
}

/// The vault's second Region (`OFFSITE_DR_REGION`, where the reconciler copies every import):
/// its copies are tested there as the vault's own are here, one test per database and period,
/// into a subnet group and security groups of that Region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondRegion {
    pub region: String,
    pub subnet_group: String,
    pub security_groups: Vec<String>,
    /// Whether the data checks run there too: the function, in the vault's VPC, must reach the
    /// second Region's subnets (inter-Region VPC peering or a transit gateway); off by default,
    /// the API checks only.
    pub data_checks: bool,
}

impl RestoreTestSettings {
    /// The settings of the tests in the second Region, if configured: the same policy (the
    /// data checks only where they can connect), that Region's network.
    pub fn in_second_region(&self) -> Option<Self> {
        let second = self.second_region.as_ref()?;
        let mut settings = self.clone();
        settings.aws.region = Some(second.region.clone());
        settings.subnet_group.clone_from(&second.subnet_group);
        settings.security_groups.clone_from(&second.security_groups);
        if !second.data_checks {
            settings.policy.checks.clear();
        }
        settings.second_region = None;
        Some(settings)
    }
}

/// Where the RDS CA bundle (PEM) is: a file of the function's package or layer, or an S3
/// object of the vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaBundle {
    File(std::path::PathBuf),
    S3 { bucket: String, key: String },
}

impl Setting for CaBundle {
    fn expected() -> String {
        "the RDS CA bundle (PEM): an absolute file path such as /opt/rds/global-bundle.pem, or s3://<vault bucket>/<key>"
            .to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        if let Some(rest) = raw.strip_prefix("s3://") {
            let (bucket, key) = rest.split_once('/').ok_or("no key after the bucket")?;
            BucketName::parse_setting(bucket)?;
            if key.is_empty() || key.len() > 1024 {
                return Err("an empty or too long key".to_owned());
            }
            return Ok(Self::S3 { bucket: bucket.to_owned(), key: key.to_owned() });
        }
        if raw.starts_with('/') && !raw.ends_with('/') {
            Ok(Self::File(raw.into()))
        } else {
            Err("neither an absolute file path nor an s3:// URI".to_owned())
        }
    }
}

impl std::fmt::Display for CaBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

/// The evidence records' bucket and key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub bucket: String,
    pub prefix: String,
}

impl Setting for Pick {
    fn expected() -> String {
        "latest (the newest copy of the period) or random (a copy of the period, as AWS Backup's RANDOM_WITHIN_WINDOW)"
            .to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        match raw {
            "latest" => Ok(Self::Latest),
            "random" => Ok(Self::Random),
            _ => Err("neither latest nor random".to_owned()),
        }
    }
}

/// A DB subnet group name (RDS: 1 to 255 letters, digits, spaces, `.`, `_`, `-`; not `default`).
struct SubnetGroup(String);

impl Setting for SubnetGroup {
    fn expected() -> String {
        "the name of a DB subnet group of the vault (private subnets; not default)".to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        let valid = (1..=255).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b" ._-".contains(&b))
            && !raw.eq_ignore_ascii_case("default");
        if valid { Ok(Self(raw.to_owned())) } else { Err("not a DB subnet group name".to_owned()) }
    }
}

/// VPC security group ids, comma-separated.
struct SecurityGroups(Vec<String>);

impl Setting for SecurityGroups {
    fn expected() -> String {
        "comma-separated VPC security group ids such as sg-0123456789abcdef0 (at most 5)".to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        let ids: Vec<String> = raw.split(',').map(str::to_owned).collect();
        let valid = |id: &String| {
            id.strip_prefix("sg-").is_some_and(|hex| {
                (8..=17).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            })
        };
        match ids.iter().find(|id| !valid(id)) {
            Some(bad) => Err(format!("{bad:?} is not a security group id")),
            None if ids.len() > 5 => Err(format!("{} groups", ids.len())),
            None => Ok(Self(ids)),
        }
    }
}

/// A DB instance class such as `db.t4g.micro`.
struct InstanceClass(String);

impl Setting for InstanceClass {
    fn expected() -> String {
        "a DB instance class such as db.t4g.micro".to_owned()
    }
    fn parse_setting(raw: &str) -> Result<Self, String> {
        let parts: Vec<&str> = raw.split('.').collect();
        let valid = parts.len() == 3
            && parts[0] == "db"
            && parts[1..]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        if valid { Ok(Self(raw.to_owned())) } else { Err("not db.<family>.<size>".to_owned()) }
    }
}

impl RestoreTestSettings {
    pub fn from_env(env: &impl Env) -> Result<Self, ConfigError> {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        const DAY: u64 = 86_400;
        let every = config::duration_in(
            env,
            EVERY_VAR,
            Duration::from_secs(7 * DAY),
            Duration::from_secs(DAY)..=Duration::from_secs(90 * DAY),
        )?;
        let available_within = config::duration_in(
            env,
            AVAILABLE_WITHIN_VAR,
            Duration::from_secs(3 * 3_600),
            Duration::from_secs(600)..=Duration::from_secs(DAY),
        )?;
        // Beyond the restore's own limit: the time to check and delete it too.
        let overdue_floor = available_within + Duration::from_secs(3_600);
        let overdue_after = config::duration_in(
            env,
            OVERDUE_AFTER_VAR,
            Duration::from_secs(12 * 3_600).max(overdue_floor),
            overdue_floor..=Duration::from_secs(7 * DAY),
        )?;
        let evidence = match config::optional::<BucketName>(env, EVIDENCE_BUCKET_VAR)? {
            None => None,
            Some(BucketName(bucket)) => {
                let prefix = config::or_default(env, EVIDENCE_PREFIX_VAR, "offsite".to_owned())?;
                if prefix.contains("//") || prefix.starts_with('/') || prefix.len() > 200 {
                    return Err(config::invalid(
                        EVIDENCE_PREFIX_VAR,
                        &prefix,
                        "a leading slash, an empty segment or too long",
                        "a key prefix such as offsite or audit/restore",
                    ));
                }
                Some(Evidence { bucket, prefix: prefix.trim_end_matches('/').to_owned() })
            }
        };
        let checks = config::optional::<CheckList>(env, CHECKS_VAR)?.unwrap_or_default().0;
        let ca_bundle = config::optional::<CaBundle>(env, CA_BUNDLE_VAR)?;
        if !checks.is_empty() && ca_bundle.is_none() {
            return Err(ConfigError {
                variable: CA_BUNDLE_VAR.to_owned(),
                value: None,
                problem: format!(
                    "missing: the data checks ({CHECKS_VAR}) connect over TLS and verify the database's certificate"
                ),
                expected: CaBundle::expected(),
            });
        }
        let aws = AwsSettings::from_env(env)?;
        let second_region = second_region(env, &aws, !checks.is_empty())?;
        Ok(Self {
            aws,
            policy: Policy {
                every_secs: secs(every),
                pick: config::or_default(env, PICK_VAR, Pick::Latest)?,
                max_running: config::number_in(env, MAX_RUNNING_VAR, 2, 1..=20)?,
                available_within_secs: secs(available_within),
                overdue_after_secs: secs(overdue_after),
                checks,
            },
            subnet_group: config::required::<SubnetGroup>(env, SUBNET_GROUP_VAR)?.0,
            security_groups: config::required::<SecurityGroups>(env, SECURITY_GROUPS_VAR)?.0,
            instance_class: config::or_default(env, INSTANCE_CLASS_VAR, InstanceClass(DEFAULT_INSTANCE_CLASS.into()))?
                .0,
            cluster_instance_class: config::or_default(
                env,
                CLUSTER_INSTANCE_CLASS_VAR,
                InstanceClass(DEFAULT_CLUSTER_INSTANCE_CLASS.into()),
            )?
            .0,
            evidence,
            ca_bundle,
            second_region,
        })
    }
}

/// Reads the second Region's tests: [`SECOND_REGION_SUBNET_GROUP_VAR`] turns them on, and
/// needs [`DR_REGION_VAR`] (another Region than the function's) and
/// [`SECOND_REGION_SECURITY_GROUPS_VAR`]; [`SECOND_REGION_CHECKS_VAR`] needs data checks.
fn second_region(env: &impl Env, aws: &AwsSettings, has_checks: bool) -> Result<Option<SecondRegion>, ConfigError> {
    let Some(SubnetGroup(subnet_group)) = config::optional(env, SECOND_REGION_SUBNET_GROUP_VAR)? else {
        return Ok(None);
    };
    let Some(RegionName(region)) = config::optional(env, DR_REGION_VAR)? else {
        return Err(ConfigError {
            variable: DR_REGION_VAR.to_owned(),
            value: None,
            problem: format!("missing: {SECOND_REGION_SUBNET_GROUP_VAR} asks for tests in the vault's second Region"),
            expected: RegionName::expected(),
        });
    };
    if aws.region.as_deref() == Some(region.as_str()) {
        return Err(config::invalid(
            DR_REGION_VAR,
            &region,
            "the function's own Region",
            format!("{} other than the function's (AWS_REGION)", RegionName::expected()),
        ));
    }
    let security_groups = config::required::<SecurityGroups>(env, SECOND_REGION_SECURITY_GROUPS_VAR)?.0;
    let data_checks = config::or_default(env, SECOND_REGION_CHECKS_VAR, false)?;
    if data_checks && !has_checks {
        return Err(config::invalid(
            SECOND_REGION_CHECKS_VAR,
            "true",
            "there are no data checks to run there",
            format!("false, or the data checks in {CHECKS_VAR}"),
        ));
    }
    Ok(Some(SecondRegion { region, subnet_group, security_groups, data_checks }))
}

#[cfg(test)]
mod tests {
    use offsite_common::config::coverage::env;

    use super::*;

    const BASE: &[(&str, &str)] =
        &[(SUBNET_GROUP_VAR, "offsite-restore-tests"), (SECURITY_GROUPS_VAR, "sg-0123456789abcdef0")];

    #[test]
    fn defaults_are_a_weekly_test_of_the_latest_copy_two_at_a_time() {
        let s = RestoreTestSettings::from_env(&env(BASE)).expect("valid");
        assert_eq!(
            s.policy,
            Policy {
                every_secs: 7 * 86_400,
                pick: Pick::Latest,
                max_running: 2,
                available_within_secs: 3 * 3_600,
                overdue_after_secs: 12 * 3_600,
                checks: Vec::new(),
            }
        );
        assert_eq!((s.instance_class.as_str(), s.cluster_instance_class.as_str()), ("db.t4g.micro", "db.t4g.medium"));
        assert_eq!(s.security_groups, ["sg-0123456789abcdef0"]);
        assert_eq!(s.evidence, None);
        let s = RestoreTestSettings::from_env(&offsite_common::config::coverage::env_over(
            BASE,
            &[
                (PICK_VAR, "random"),
                (EVERY_VAR, "30d"),
                (AVAILABLE_WITHIN_VAR, "20h"),
                (EVIDENCE_BUCKET_VAR, "vault-evidence"),
                (EVIDENCE_PREFIX_VAR, "audit/"),
            ],
        ))
        .expect("valid");
        assert_eq!((s.policy.pick, s.policy.every_secs), (Pick::Random, 30 * 86_400));
        assert_eq!(s.policy.overdue_after_secs, 21 * 3_600, "the default overdue limit follows a long restore limit");
        assert_eq!(s.evidence, Some(Evidence { bucket: "vault-evidence".into(), prefix: "audit".into() }));
    }

    /// Malformed values of every variable the vault region's tests read, each refused with
    /// the expected form (the second region's tests read them too).
    const MALFORMED: &[(&str, &str, &str)] = &[
        (EVERY_VAR, "12h", "a duration from 1d to 90d"),
        (EVERY_VAR, "weekly", "a duration from 1d to 90d"),
        (PICK_VAR, "oldest", "latest (the newest copy"),
        (MAX_RUNNING_VAR, "0", "a whole number from 1 to 20"),
        (AVAILABLE_WITHIN_VAR, "2d", "a duration from 10m to 1d"),
        (OVERDUE_AFTER_VAR, "1h", "a duration from 4h to 7d"),
        (SUBNET_GROUP_VAR, "default", "the name of a DB subnet group"),
        (SUBNET_GROUP_VAR, "a/b", "the name of a DB subnet group"),
        (SECURITY_GROUPS_VAR, "sg-xyz", "comma-separated VPC security group ids"),
        (SECURITY_GROUPS_VAR, "sg-0123456789abcdef0,,sg-0123456789abcdef1", "comma-separated VPC security group ids"),
        (INSTANCE_CLASS_VAR, "t4g.micro", "a DB instance class"),
        (CLUSTER_INSTANCE_CLASS_VAR, "db.r6g", "a DB instance class"),
        (EVIDENCE_BUCKET_VAR, "Evidence_Bucket", "an S3 bucket name"),
        (CHECKS_VAR, "{}", "a JSON list such as"),
        (CHECKS_VAR, r#"[{"source": "orders"}]"#, "a JSON list such as"),
        (CA_BUNDLE_VAR, "global-bundle.pem", "the RDS CA bundle (PEM)"),
        (CA_BUNDLE_VAR, "s3://Bucket/key", "the RDS CA bundle (PEM)"),
        (CA_BUNDLE_VAR, "s3://vault-ca", "the RDS CA bundle (PEM)"),
        (SECOND_REGION_SUBNET_GROUP_VAR, "default", "the name of a DB subnet group"),
    ];

    #[test]
    fn every_variable_read_is_refused_when_missing_or_malformed() {
        use offsite_common::aws::AWS_MALFORMED;
        use offsite_common::config::coverage::check_settings;
        let malformed = [MALFORMED, AWS_MALFORMED].concat();
        let required = [
            (SUBNET_GROUP_VAR, "the name of a DB subnet group"),
            (SECURITY_GROUPS_VAR, "comma-separated VPC security group ids"),
        ];
        let read = check_settings(|e| RestoreTestSettings::from_env(e), BASE, &malformed, &required);
        assert!(read.contains(OVERDUE_AFTER_VAR) && read.contains(EVIDENCE_BUCKET_VAR), "{read:?}");
        // The prefix is read only with a bucket.
        let bad_prefix = offsite_common::config::coverage::env_over(
            BASE,
            &[(EVIDENCE_BUCKET_VAR, "vault-evidence"), (EVIDENCE_PREFIX_VAR, "/audit")],
        );
        let refused = RestoreTestSettings::from_env(&bad_prefix).expect_err("a leading slash");
        assert_eq!(refused.variable, EVIDENCE_PREFIX_VAR);
    }

    const CHECKS: &str = r#"[{"source": "111111111111/orders", "database": "shop",
        "row_counts": [{"table": "public.orders", "min": 2}],
        "freshness": [{"table": "public.orders", "column": "created_at", "within": "1d"}]}]"#;

    #[test]
    fn data_checks_need_the_ca_bundle_that_verifies_the_database() {
        use offsite_common::config::coverage::env_over;
        let refused = RestoreTestSettings::from_env(&env_over(BASE, &[(CHECKS_VAR, CHECKS)])).expect_err("no bundle");
        assert_eq!(refused.variable, CA_BUNDLE_VAR);
        assert!(refused.to_string().contains(CHECKS_VAR), "{refused}");
        for (raw, bundle) in [
            ("/opt/rds/global-bundle.pem", CaBundle::File("/opt/rds/global-bundle.pem".into())),
            (
                "s3://vault-ca/rds/global-bundle.pem",
                CaBundle::S3 { bucket: "vault-ca".into(), key: "rds/global-bundle.pem".into() },
            ),
        ] {
            let s = RestoreTestSettings::from_env(&env_over(BASE, &[(CHECKS_VAR, CHECKS), (CA_BUNDLE_VAR, raw)]))
                .expect("valid");
            assert_eq!(s.ca_bundle, Some(bundle));
            assert_eq!(s.policy.checks.len(), 1);
            assert_eq!(s.policy.checks[0].database.as_deref(), Some("shop"));
        }
    }

    const SECOND_REGION: &[(&str, &str)] = &[
        (SUBNET_GROUP_VAR, "offsite-restore-tests"),
        (SECURITY_GROUPS_VAR, "sg-0123456789abcdef0"),
        (offsite_common::aws::REGION_VAR, "eu-west-1"),
        (DR_REGION_VAR, "eu-central-1"),
        (SECOND_REGION_SUBNET_GROUP_VAR, "offsite-restore-tests-dr"),
        (SECOND_REGION_SECURITY_GROUPS_VAR, "sg-0fedcba9876543210,sg-00000000000000001"),
    ];

    #[test]
    fn the_second_region_is_tested_in_its_own_network_without_data_checks_unless_asked() {
        use offsite_common::config::coverage::env_over;
        let with_checks =
            env_over(SECOND_REGION, &[(CHECKS_VAR, CHECKS), (CA_BUNDLE_VAR, "/opt/rds/global-bundle.pem")]);
        let s = RestoreTestSettings::from_env(&with_checks).expect("valid");
        let second = s.second_region.clone().expect("the second Region");
        assert_eq!(
            second,
            SecondRegion {
                region: "eu-central-1".into(),
                subnet_group: "offsite-restore-tests-dr".into(),
                security_groups: vec!["sg-0fedcba9876543210".into(), "sg-00000000000000001".into()],
                data_checks: false,
            }
        );
        let there = s.in_second_region().expect("settings there");
        assert_eq!(there.aws.region.as_deref(), Some("eu-central-1"));
        assert_eq!((there.subnet_group.as_str(), there.security_groups.len()), ("offsite-restore-tests-dr", 2));
        assert!(there.policy.checks.is_empty(), "no data checks where the function may not reach");
        assert_eq!((there.second_region.as_ref(), there.evidence.as_ref()), (None, s.evidence.as_ref()));
        assert_eq!(there.policy.every_secs, s.policy.every_secs);
        // Asked for: the same checks there.
        let mut asked = with_checks.clone();
        asked.insert(SECOND_REGION_CHECKS_VAR.to_owned(), "true".to_owned());
        let asked = RestoreTestSettings::from_env(&asked).expect("valid");
        assert_eq!(asked.in_second_region().expect("there").policy.checks, asked.policy.checks);
        // Without its subnet group, no second Region, whatever OFFSITE_DR_REGION says (the
        // reconciler's copies may exist without their tests).
        let mut off = env_over(SECOND_REGION, &[]);
        off.remove(SECOND_REGION_SUBNET_GROUP_VAR);
        assert_eq!(RestoreTestSettings::from_env(&off).expect("valid").in_second_region(), None);
    }

    #[test]
    fn every_second_region_variable_is_refused_when_missing_or_malformed() {
        use offsite_common::aws::AWS_MALFORMED;
        use offsite_common::config::coverage::check_settings;
        let own = [
            (SECOND_REGION_SUBNET_GROUP_VAR, "a/b", "the name of a DB subnet group"),
            (DR_REGION_VAR, "central", "an AWS region name"),
            (DR_REGION_VAR, "eu-west-1", "other than the function's (AWS_REGION)"),
            (SECOND_REGION_SECURITY_GROUPS_VAR, "sg-1,sg-2", "comma-separated VPC security group ids"),
            (SECOND_REGION_CHECKS_VAR, "yes", "true or false"),
            (SECOND_REGION_CHECKS_VAR, "true", "false, or the data checks in OFFSITE_RESTORE_TEST_CHECKS"),
        ];
        let malformed = [MALFORMED, own.as_slice(), AWS_MALFORMED].concat();
        let required = [
            (SUBNET_GROUP_VAR, "the name of a DB subnet group"),
            (SECURITY_GROUPS_VAR, "comma-separated VPC security group ids"),
            (DR_REGION_VAR, "an AWS region name"),
            (SECOND_REGION_SECURITY_GROUPS_VAR, "comma-separated VPC security group ids"),
        ];
        let read = check_settings(|e| RestoreTestSettings::from_env(e), SECOND_REGION, &malformed, &required);
        assert!(read.contains(SECOND_REGION_CHECKS_VAR), "{read:?}");
    }
}
