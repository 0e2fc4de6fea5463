//! `offsite athena-ddl`: the Athena statements over the DynamoDB export job's layout, and
//! with `--rds` over the vault's RDS exports.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_smithy_types::DateTime;
use offsite_common::aws::{AwsSettings, load_sdk_config};

use crate::error::CliError;

/// What `offsite athena-ddl` was asked for.
pub struct AthenaRequest {
    pub tables: Vec<String>,
    pub sample: i32,
    pub database: Option<String>,
    pub bucket: Option<String>,
    pub prefix: Option<String>,
    pub accounts: Vec<String>,
    pub since: String,
}

/// `offsite athena-ddl`: the Athena statements for the export job's layout.
pub async fn athena_ddl(env: &BTreeMap<String, String>, request: AthenaRequest) -> Result<(), CliError> {
    use offsite_dynamo::athena::{AthenaLayout, check_statement_inputs, check_unique_names, table_shape};
    use offsite_dynamo::settings::{BUCKET_VAR, PREFIX_VAR};

    let database = request.database.clone().unwrap_or_else(|| "offsite_dynamodb".to_owned());

    let (bucket, prefix) = destination(env, &request, BUCKET_VAR, PREFIX_VAR)?;
    check_since(&request.since)?;
    check_statement_inputs(&database, &request.tables, &request.accounts, &bucket, &prefix)
        .map_err(CliError::Athena)?;
    let settings = AwsSettings::from_env(env)?;
    let sdk_config = load_sdk_config(&settings).await;
    let region = sdk_config.region().map(ToString::to_string).ok_or_else(|| {
        CliError::Athena("no AWS region: set AWS_REGION (the export prefix names the region)".to_owned())
    })?;
    let identity = aws_sdk_sts::Client::new(&sdk_config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| CliError::Identity(aws_sdk_sts::error::DisplayErrorContext(e).to_string()))?;
    let mut accounts = vec![identity.account().unwrap_or_default().to_owned()];
    for account in request.accounts {
        if !accounts.contains(&account) {
            accounts.push(account);
        }
    }
    let ddb = aws_sdk_dynamodb::Client::new(&sdk_config);
    let mut layouts = Vec::new();
    for table in request.tables {
        let (keys, attributes) = table_shape(&ddb, &table, request.sample).await?;
        layouts.push(AthenaLayout {
            database: database.clone(),
            table,
            bucket: bucket.clone(),
            prefix: prefix.clone(),
            accounts: accounts.clone(),
            regions: vec![region.clone()],
            since: request.since.clone(),
            keys,
            attributes,
        });
    }
    check_unique_names(&layouts).map_err(CliError::Athena)?;
    let today =
        DateTime::from(SystemTime::now()).fmt(aws_smithy_types::date_time::Format::DateTime).unwrap_or_default();
    println!("CREATE DATABASE IF NOT EXISTS `{database}`;\n");
    for layout in &layouts {
        println!("{}", layout.create_table());
        println!("-- Example: the items of today's full export.\n-- {}\n", layout.full_export_query(&today[..10]));
    }
    Ok(())
}

/// The bucket and prefix: the flags, else the function's variables (the prefix defaults to
/// `offsite`, as the functions' do).
fn destination(
    env: &BTreeMap<String, String>,
    request: &AthenaRequest,
    bucket_var: &str,
    prefix_var: &str,
) -> Result<(String, String), CliError> {
    let bucket = match &request.bucket {
        Some(bucket) => bucket.clone(),
        None => offsite_common::config::required::<String>(env, bucket_var).map_err(|mut e| {
            e.expected = format!("{} (or --bucket)", e.expected);
            e
        })?,
    };
    let prefix = match &request.prefix {
        Some(prefix) => prefix.clone(),
        None => offsite_common::config::or_default(env, prefix_var, "offsite".to_owned())?,
    };
    Ok((bucket, prefix))
}

/// `--since` must be a day such as 2024-01-01 (the date projection's first day).
fn check_since(since: &str) -> Result<(), CliError> {
    let valid = since.len() == 10
        && since.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    if valid { Ok(()) } else { Err(CliError::Athena(format!("--since {since:?} is not a date such as 2024-01-01"))) }
}

/// `offsite athena-ddl --rds`: one Athena table per source table of the vault's RDS exports,
/// typed from the exports' own metadata, read from the auditor's bucket (run with the
/// auditor's credentials: `s3:ListBucket` and `s3:GetObject` under the prefix).
pub async fn athena_ddl_rds(env: &BTreeMap<String, String>, request: AthenaRequest) -> Result<(), CliError> {
    use offsite_dynamo::athena::check_statement_inputs;
    use offsite_rds_export::athena::{DdlTarget, read_exports, statements};
    use offsite_rds_export::settings::{BUCKET_VAR, PREFIX_VAR};

    if !request.tables.is_empty() {
        return Err(CliError::Athena("--table names DynamoDB tables: not with --rds".to_owned()));
    }
    let database = request.database.clone().unwrap_or_else(|| "offsite_rds".to_owned());
    let (bucket, prefix) = destination(env, &request, BUCKET_VAR, PREFIX_VAR)?;
    check_since(&request.since)?;
    check_statement_inputs(&database, &[], &request.accounts, &bucket, &prefix).map_err(CliError::Athena)?;
    let settings = AwsSettings::from_env(env)?;
    let sdk_config = load_sdk_config(&settings).await;
    let exports =
        read_exports(&aws_sdk_s3::Client::new(&sdk_config), &bucket, &prefix).await.map_err(CliError::Athena)?;
    if exports.is_empty() {
        return Err(CliError::Athena(format!(
            "no RDS export metadata (export_tables_info_*.json) under s3://{bucket}/{}/rds/: nothing exported yet?",
            prefix.trim_end_matches('/')
        )));
    }
    let target = DdlTarget { glue_database: database, bucket, prefix, since: request.since };
    print!("{}", statements(&exports, &target, &request.accounts));
    Ok(())
}
