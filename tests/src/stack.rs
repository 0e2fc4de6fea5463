//! A small CloudFormation deployer for the emulator: creates what a template creates that
//! matters to authorization (roles and their policies, keys and key policies, topics, queues,
//! subscriptions, buckets and their resource policies) through the real SDK clients, with
//! every property resolved from `infra/*.yaml` by `offsite_infra::resolve`, so the functions
//! run under the templates' own roles, key policies and resource policies.
//!
//! Resources are created in dependency order (`Ref`, `Fn::GetAtt`, `${…}` in `Fn::Sub`,
//! `DependsOn`); each records what `Ref` and `Fn::GetAtt` give into the [`Deployment`], so
//! later resources and the functions' environments resolve. A resource whose `Condition` is
//! false is not created. The types in [`SKIPPED`] mean nothing to authorization in the
//! emulator (alarms, log groups, schedules, Lambda functions, Glue, Athena, Backup): they are
//! not created, but their names and ARNs are recorded as CloudFormation would give them, for
//! the policies that name them. Any other type is an error naming it.
//!
//! Names a template leaves to CloudFormation are deterministic here: `<stack>-<LogicalId>`
//! (roles within 64 characters, buckets lowercased within 63), where CloudFormation adds a
//! random suffix.

use std::collections::{BTreeMap, BTreeSet};

use aws_config::SdkConfig;
use aws_sdk_iam::error::DisplayErrorContext;
use offsite_infra::Template;
use offsite_infra::resolve::{Deployment, ResolveError};
use serde_json::Value;

/// Resource types the deployer does not create (irrelevant to authorization in the emulator).
pub const SKIPPED: &[&str] = &[
    "AWS::CloudWatch::Alarm",
    "AWS::Logs::LogGroup",
    "AWS::Events::Rule",
    "AWS::Scheduler::Schedule",
    "AWS::Lambda::Function",
    "AWS::Lambda::Permission",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::Lambda::EventSourceMapping",
    "AWS::Glue::Database",
    "AWS::Glue::Table",
    "AWS::Athena::WorkGroup",
    "AWS::Backup::BackupVault",
    "AWS::Backup::BackupPlan",
    "AWS::Backup::BackupSelection",
];

/// Why a stack could not be deployed.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("{stack}: {id} is of type {kind}, which the deployer neither creates nor skips")]
    UnknownType { stack: String, id: String, kind: String },
    #[error("{stack}: cannot create {ids:?}: they wait on each other")]
    Cycle { stack: String, ids: Vec<String> },
    #[error("{stack}: {id} ({kind}): {message}")]
    Create { stack: String, id: String, kind: String, message: String },
}

/// A deployed stack: its template and the deployment that resolves it (parameters, and every
/// created resource's `Ref` and `Fn::GetAtt` values).
#[derive(Debug, Clone)]
pub struct Stack {
    pub template: Template,
    pub deployment: Deployment,
    /// Logical ids of the resources created, in creation order.
    pub created: Vec<String>,
}

impl Stack {
    /// What `Ref: <id>` (`key` = id) or `Fn::GetAtt: [id, attribute]` (`key` = `id.attribute`)
    /// gives.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.deployment.resources.get(key).map(String::as_str)
    }

    /// The ARN of the role the function running `binary` runs as.
    pub fn function_role_arn(&self, binary: &str) -> Option<&str> {
        let (_, function) = self.template.function(binary)?;
        let role = self.template.role_of(function)?;
        self.value(&format!("{role}.Arn"))
    }
}

/// Logical ids of the template's resources that `value` refers to.
fn references(t: &Template, value: &Value, out: &mut BTreeSet<String>) {
    fn add(t: &Template, out: &mut BTreeSet<String>, name: &str) {
        let id = name.split('.').next().unwrap_or(name);
        if t.resource(id).is_some() {
            out.insert(id.to_owned());
        }
    }
    match value {
        Value::Array(items) => items.iter().for_each(|i| references(t, i, out)),
        Value::Object(object) => {
            for (key, item) in object {
                match (key.as_str(), item) {
                    ("Ref", Value::String(name)) => add(t, out, name),
                    ("Fn::GetAtt", Value::Array(parts)) => {
                        add(t, out, parts.first().and_then(Value::as_str).unwrap_or(""))
                    }
                    ("Fn::GetAtt", Value::String(dotted)) => add(t, out, dotted),
                    ("Fn::Sub", sub) => {
                        let (text, vars) = match sub {
                            Value::String(text) => (text.as_str(), None),
                            Value::Array(parts) => (parts.first().and_then(Value::as_str).unwrap_or(""), parts.get(1)),
                            _ => ("", None),
                        };
                        let mut rest = text;
                        while let Some(start) = rest.find("${") {
                            let after = &rest[start + 2..];
                            let Some(end) = after.find('}') else { break };
                            let name = &after[..end];
                            let local = vars.and_then(|v| v.get(name)).is_some();
                            if !name.starts_with('!') && !local {
                                add(t, out, name);
                            }
                            rest = &after[end + 1..];
                        }
                        if let Some(vars) = vars {
                            references(t, vars, out);
                        }
                    }
                    _ => references(t, item, out),
                }
            }
        }
        _ => {}
    }
}

/// The name CloudFormation gives a resource the template does not name (here without the
/// random suffix), within `max` characters.
pub fn generated_name(stack: &str, id: &str, max: usize) -> String {
    let name = format!("{stack}-{id}");
    name.chars().take(max).collect()
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// A policy document as IAM, KMS, SNS, SQS and S3 take it: JSON text (a document written as a
/// JSON string under `Fn::Sub` is already text).
fn policy_text(document: &Value) -> String {
    match document {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Creates the template's resources with `bootstrap` (the account's deploying identity).
pub async fn deploy(
    bootstrap: &SdkConfig,
    template: Template,
    mut deployment: Deployment,
) -> Result<Stack, StackError> {
    let stack = deployment.stack_name.clone();
    let mut pending: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let ids: Vec<(String, Value)> = template.resources().map(|(id, r)| (id.to_owned(), r.clone())).collect();
    // Conditions first: a resource whose condition is false does not exist.
    let mut existing = Vec::new();
    for (id, resource) in &ids {
        if let Some(condition) = resource["Condition"].as_str()
            && !deployment.condition(&template, condition)?
        {
            continue;
        }
        existing.push((id.clone(), resource.clone()));
    }
    for (id, resource) in &existing {
        let kind = resource["Type"].as_str().unwrap_or_default();
        if SKIPPED.contains(&kind) {
            record_skipped(&template, &mut deployment, id, kind, resource);
            continue;
        }
        if !CREATED.contains(&kind) {
            return Err(StackError::UnknownType { stack, id: id.clone(), kind: kind.to_owned() });
        }
        let mut needs = BTreeSet::new();
        references(&template, &resource["Properties"], &mut needs);
        for depends in match &resource["DependsOn"] {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => Vec::new(),
        } {
            needs.insert(depends);
        }
        needs.remove(id);
        pending.insert(id.clone(), needs);
    }
    let creatable: BTreeSet<String> = pending.keys().cloned().collect();
    let mut created = Vec::new();
    while !pending.is_empty() {
        let ready: Vec<String> = pending
            .iter()
            .filter(|(_, needs)| needs.iter().all(|n| !creatable.contains(n) || created.contains(n)))
            .map(|(id, _)| id.clone())
            .collect();
        if ready.is_empty() {
            return Err(StackError::Cycle { stack, ids: pending.keys().cloned().collect() });
        }
        for id in ready {
            pending.remove(&id);
            let resource = template.resource(&id).cloned().unwrap_or(Value::Null);
            let kind = resource["Type"].as_str().unwrap_or_default().to_owned();
            let properties = deployment.document(&template, &resource["Properties"])?;
            let values = create(bootstrap, &deployment, &id, &kind, &properties).await.map_err(|message| {
                StackError::Create { stack: stack.clone(), id: id.clone(), kind: kind.clone(), message }
            })?;
            for (key, value) in values {
                let key = if key.is_empty() { id.clone() } else { format!("{id}.{key}") };
                deployment.resources.insert(key, value);
            }
            created.push(id);
        }
    }
    Ok(Stack { template, deployment, created })
}

/// Types [`deploy`] creates.
const CREATED: &[&str] = &[
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::KMS::Key",
    "AWS::KMS::Alias",
    "AWS::SNS::Topic",
    "AWS::SNS::TopicPolicy",
    "AWS::SNS::Subscription",
    "AWS::SQS::Queue",
    "AWS::SQS::QueuePolicy",
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
];

/// Records the name and ARN a skipped resource would have (its own name property when it
/// resolves now, else the generated one), for policies that name it.
fn record_skipped(t: &Template, d: &mut Deployment, id: &str, kind: &str, resource: &Value) {
    let (property, arn): (&str, fn(&Deployment, &str) -> String) = match kind {
        "AWS::Lambda::Function" => {
            ("FunctionName", |d, n| format!("arn:aws:lambda:{}:{}:function:{n}", d.region, d.account))
        }
        "AWS::Logs::LogGroup" => {
            ("LogGroupName", |d, n| format!("arn:aws:logs:{}:{}:log-group:{n}:*", d.region, d.account))
        }
        "AWS::Events::Rule" => ("Name", |d, n| format!("arn:aws:events:{}:{}:rule/{n}", d.region, d.account)),
        "AWS::Scheduler::Schedule" => {
            ("Name", |d, n| format!("arn:aws:scheduler:{}:{}:schedule/default/{n}", d.region, d.account))
        }
        _ => ("Name", |_, n| n.to_owned()),
    };
    let name = d
        .value(t, &resource["Properties"][property])
        .ok()
        .flatten()
        .unwrap_or_else(|| generated_name(&d.stack_name, id, 64));
    let arn = arn(d, &name);
    d.resources.insert(format!("{id}.Arn"), arn);
    d.resources.insert(id.to_owned(), name);
}

/// Creates one resource; returns its values: `("", ref)` and `(attribute, value)`.
async fn create(
    config: &SdkConfig,
    d: &Deployment,
    id: &str,
    kind: &str,
    p: &Value,
) -> Result<Vec<(String, String)>, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let (region, account) = (d.region.as_str(), d.account.as_str());
    match kind {
        "AWS::IAM::Role" => {
            let iam = aws_sdk_iam::Client::new(config);
            let name = text(&p["RoleName"]).unwrap_or_else(|| generated_name(&d.stack_name, id, 64));
            let role = iam
                .create_role()
                .role_name(&name)
                .set_path(text(&p["Path"]))
                .set_description(text(&p["Description"]))
                .assume_role_policy_document(policy_text(&p["AssumeRolePolicyDocument"]))
                .send()
                .await
                .map_err(|e| DisplayErrorContext(e).to_string())?;
            let role = role.role.ok_or("CreateRole answered without a role")?;
            for policy in p["Policies"].as_array().into_iter().flatten() {
                iam.put_role_policy()
                    .role_name(&name)
                    .policy_name(text(&policy["PolicyName"]).unwrap_or_default())
                    .policy_document(policy_text(&policy["PolicyDocument"]))
                    .send()
                    .await
                    .map_err(|e| DisplayErrorContext(e).to_string())?;
            }
            for arn in p["ManagedPolicyArns"].as_array().into_iter().flatten().filter_map(text) {
                iam.attach_role_policy()
                    .role_name(&name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| DisplayErrorContext(e).to_string())?;
            }
            Ok(vec![("".into(), name), ("Arn".into(), role.arn), ("RoleId".into(), role.role_id)])
        }
        "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => {
            for other in ["Users", "Groups"] {
                if p.get(other).is_some_and(|v| !v.is_null()) {
                    return Err(format!("{other} are not supported by the deployer"));
                }
            }
            let iam = aws_sdk_iam::Client::new(config);
            let document = policy_text(&p["PolicyDocument"]);
            let roles: Vec<String> = p["Roles"].as_array().into_iter().flatten().filter_map(text).collect();
            if kind == "AWS::IAM::Policy" {
                let name = text(&p["PolicyName"]).ok_or("no PolicyName")?;
                for role in &roles {
                    iam.put_role_policy()
                        .role_name(role)
                        .policy_name(&name)
                        .policy_document(&document)
                        .send()
                        .await
                        .map_err(|e| DisplayErrorContext(e).to_string())?;
                }
                return Ok(vec![("".into(), name)]);
            }
            let name = text(&p["ManagedPolicyName"]).unwrap_or_else(|| generated_name(&d.stack_name, id, 128));
            let policy = iam
                .create_policy()
                .policy_name(&name)
                .set_path(text(&p["Path"]))
                .policy_document(&document)
                .send()
                .await
                .map_err(|e| DisplayErrorContext(e).to_string())?;
            let arn = policy.policy.and_then(|p| p.arn).ok_or("CreatePolicy answered without an ARN")?;
            for role in &roles {
                iam.attach_role_policy()
                    .role_name(role)
                    .policy_arn(&arn)
                    .send()
                    .await
                    .map_err(|e| DisplayErrorContext(e).to_string())?;
            }
            Ok(vec![("".into(), arn.clone()), ("PolicyArn".into(), arn)])
        }
        "AWS::KMS::Key" => {
            let kms = aws_sdk_kms::Client::new(config);
            let key = kms
                .create_key()
                .set_description(text(&p["Description"]))
                .policy(policy_text(&p["KeyPolicy"]))
                .set_key_spec(text(&p["KeySpec"]).map(|s| aws_sdk_kms::types::KeySpec::from(s.as_str())))
                .set_key_usage(text(&p["KeyUsage"]).map(|s| aws_sdk_kms::types::KeyUsageType::from(s.as_str())))
                .set_bypass_policy_lockout_safety_check(p["BypassPolicyLockoutSafetyCheck"].as_bool())
                .send()
                .await
                .map_err(|e| DisplayErrorContext(e).to_string())?;
            let metadata = key.key_metadata.ok_or("CreateKey answered without metadata")?;
            let arn = metadata.arn.clone().ok_or("a key without ARN")?;
            Ok(vec![("".into(), metadata.key_id.clone()), ("Arn".into(), arn), ("KeyId".into(), metadata.key_id)])
        }
        "AWS::KMS::Alias" => {
            let name = text(&p["AliasName"]).ok_or("no AliasName")?;
            aws_sdk_kms::Client::new(config)
                .create_alias()
                .alias_name(&name)
                .target_key_id(text(&p["TargetKeyId"]).ok_or("no TargetKeyId")?)
                .send()
                .await
                .map_err(|e| DisplayErrorContext(e).to_string())?;
            Ok(vec![("".into(), name)])
        }
        "AWS::SNS::Topic" => {
            let name = text(&p["TopicName"]).unwrap_or_else(|| generated_name(&d.stack_name, id, 256));
            let mut attributes = std::collections::HashMap::new();
            for (property, attribute) in [
                ("DisplayName", "DisplayName"),
                ("KmsMasterKeyId", "KmsMasterKeyId"),
                ("FifoTopic", "FifoTopic"),
                ("ContentBasedDeduplication", "ContentBasedDeduplication"),
            ] {
                if let Some(value) = text(&p[property]) {
                    attributes.insert(attribute.to_owned(), value);
                }
            }
            let topic = aws_sdk_sns::Client::new(config)
                .create_topic()
                .name(&name)
                .set_attributes(Some(attributes))
                .send()
                .await
                .map_err(|e| DisplayErrorContext(e).to_string())?;
            let arn = topic.topic_arn.ok_or("CreateTopic answered without an ARN")?;
            Ok(vec![("".into(), arn.clone()), ("TopicArn".into(), arn), ("TopicName".into(), name)])
        }
        "AWS::SNS::TopicPolicy" => {
            let sns = aws_sdk_sns::Client::new(config);
            for topic in p["Topics"].as_array().into_iter().flatten().filter_map(text) {
                sns.set_topic_attributes()
                    .topic_arn(&topic)
                    .attribute_name("Policy")
                    .attribute_value(policy_text(&p["PolicyDocument"]))
                    .send()
                    .await
                    .map_err(|e| DisplayErrorContext(e).to_string())?;
            }
            Ok(vec![("".into(), generated_name(&d.stack_name, id, 256))])
        }
        "AWS::SNS::Subscription" => {
            let mut attributes = std::collections::HashMap::new();
            for property in ["RawMessageDelivery", "RedrivePolicy", "FilterPolicy", "FilterPolicyScope"] {
                if let Some(value) = text(&p[property]) {
                    attributes.insert(property.to_owned(), value);
                }
            }
            let subscription = aws_sdk_sns::Client::new(config)
                .subscribe()
                .topic_arn(text(&p["TopicArn"]).ok_or("no TopicArn")?)
                .protocol(text(&p["Protocol"]).ok_or("no Protocol")?)
                .set_endpoint(text(&p["Endpoint"]))
                .set_attributes(Some(attributes))
                .return_subscription_arn(true)
                .send()
                .await
                .map_err(|e| DisplayErrorContext(e).to_string())?;
            Ok(vec![("".into(), subscription.subscription_arn.unwrap_or_default())])
        }
        "AWS::SQS::Queue" => {
            use aws_sdk_sqs::types::QueueAttributeName;
            let name = text(&p["QueueName"]).unwrap_or_else(|| generated_name(&d.stack_name, id, 80));
            let mut attributes = std::collections::HashMap::new();
            for (property, value) in p.as_object().into_iter().flatten() {
                let attribute = match property.as_str() {
                    "QueueName" | "Tags" => continue,
                    "VisibilityTimeout"
                    | "MessageRetentionPeriod"
                    | "ReceiveMessageWaitTimeSeconds"
                    | "DelaySeconds"
                    | "MaximumMessageSize"
                    | "RedrivePolicy"
                    | "RedriveAllowPolicy"
                    | "SqsManagedSseEnabled"
                    | "KmsMasterKeyId"
                    | "KmsDataKeyReusePeriodSeconds"
                    | "FifoQueue"
                    | "ContentBasedDeduplication" => QueueAttributeName::from(property.as_str()),
                    other => return Err(format!("the queue property {other} is not supported by the deployer")),
                };
                if let Some(value) = text(value) {
                    attributes.insert(attribute, value);
                }
            }
            let queue = aws_sdk_sqs::Client::new(config)
                .create_queue()
                .queue_name(&name)
                .set_attributes(Some(attributes))
                .send()
                .await
                .map_err(|e| DisplayErrorContext(e).to_string())?;
            let url = queue.queue_url.ok_or("CreateQueue answered without a URL")?;
            Ok(vec![
                ("".into(), url.clone()),
                ("Arn".into(), format!("arn:aws:sqs:{region}:{account}:{name}")),
                ("QueueName".into(), name),
                ("QueueUrl".into(), url),
            ])
        }
        "AWS::SQS::QueuePolicy" => {
            let sqs = aws_sdk_sqs::Client::new(config);
            for url in p["Queues"].as_array().into_iter().flatten().filter_map(text) {
                sqs.set_queue_attributes()
                    .queue_url(&url)
                    .attributes(aws_sdk_sqs::types::QueueAttributeName::Policy, policy_text(&p["PolicyDocument"]))
                    .send()
                    .await
                    .map_err(|e| DisplayErrorContext(e).to_string())?;
            }
            Ok(vec![("".into(), generated_name(&d.stack_name, id, 256))])
        }
        "AWS::S3::Bucket" => {
            let name = text(&p["BucketName"]).unwrap_or_else(|| generated_name(&d.stack_name, id, 63).to_lowercase());
            aws_sdk_s3::Client::new(config)
                .create_bucket()
                .bucket(&name)
                .send()
                .await
                .map_err(|e| DisplayErrorContext(e).to_string())?;
            Ok(vec![
                ("".into(), name.clone()),
                ("Arn".into(), format!("arn:aws:s3:::{name}")),
                ("DomainName".into(), format!("{name}.s3.amazonaws.com")),
                ("RegionalDomainName".into(), format!("{name}.s3.{region}.amazonaws.com")),
            ])
        }
        "AWS::S3::BucketPolicy" => {
            let bucket = text(&p["Bucket"]).ok_or("no Bucket")?;
            aws_sdk_s3::Client::new(config)
                .put_bucket_policy()
                .bucket(&bucket)
                .policy(policy_text(&p["PolicyDocument"]))
                .send()
                .await
                .map_err(|e| DisplayErrorContext(e).to_string())?;
            Ok(vec![("".into(), bucket)])
        }
        other => Err(err(&format!("{other} is not created by the deployer"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_resources_only() {
        let t = Template::parse(
            "t",
            r#"
Parameters:
  P: {Type: String}
Resources:
  A: {Type: AWS::SQS::Queue}
  B: {Type: AWS::SQS::Queue}
  C: {Type: AWS::SQS::Queue}
"#,
        )
        .expect("template");
        let mut out = BTreeSet::new();
        let value = serde_json::json!({"x": [{"Ref": "A"}, {"Ref": "P"}, {"Fn::GetAtt": ["B", "Arn"]},
            {"Fn::Sub": ["${C.Arn}/${Local}/${!A}/${AWS::Region}", {"Local": "x"}]}]});
        references(&t, &value, &mut out);
        assert_eq!(out.into_iter().collect::<Vec<_>>(), ["A", "B", "C"]);
        assert_eq!(generated_name("offsite-vault", "ImporterRole", 64), "offsite-vault-ImporterRole");
        assert_eq!(generated_name(&"s".repeat(70), "X", 64).len(), 64);
    }

    fn deployment() -> Deployment {
        Deployment {
            account: "111111111111".into(),
            region: "us-east-1".into(),
            stack_name: "s".into(),
            ..Deployment::default()
        }
    }

    #[tokio::test]
    async fn an_unknown_type_and_a_cycle_are_errors_naming_them() {
        let config = SdkConfig::builder().build();
        let unknown = Template::parse(
            "t",
            "Resources:\n  Db: {Type: AWS::RDS::DBInstance}\n  Alarm: {Type: AWS::CloudWatch::Alarm}\n",
        )
        .expect("template");
        let error = deploy(&config, unknown, deployment()).await.expect_err("unknown type");
        assert_eq!(
            error.to_string(),
            "s: Db is of type AWS::RDS::DBInstance, which the deployer neither creates nor skips"
        );
        let cycle = Template::parse(
            "t",
            r#"
Resources:
  A: {Type: AWS::SQS::Queue, Properties: {RedrivePolicy: {deadLetterTargetArn: {"Fn::GetAtt": [B, Arn]}}}}
  B: {Type: AWS::SQS::Queue, Properties: {RedrivePolicy: {deadLetterTargetArn: {"Fn::Sub": "${A.Arn}"}}}}
  Off: {Type: AWS::SQS::Queue, Condition: Never}
Conditions:
  Never: {"Fn::Equals": [a, b]}
"#,
        )
        .expect("template");
        let error = deploy(&config, cycle, deployment()).await.expect_err("cycle");
        assert_eq!(error.to_string(), r#"s: cannot create ["A", "B"]: they wait on each other"#);
    }
}
