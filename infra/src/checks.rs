//! The security invariants of each stack. Each check returns the violations it finds, one
//! line each (`<template> <resource>: <rule>`); an empty list means the template keeps it.

use serde_json::Value;

use crate::resolve::Deployment;
use crate::{Statement, Template};

/// The workload stack's functions (binary names).
pub const WORKLOAD_FUNCTIONS: [&str; 3] = ["offsite-exporter", "offsite-scanner", "offsite-dynamo-export"];
/// The vault stack's functions (some optional, under a condition: the checks read the
/// template, whatever the parameters).
pub const VAULT_FUNCTIONS: [&str; 5] =
    ["offsite-importer", "offsite-reconciler", "offsite-retention", "offsite-rds-export", "offsite-restore-test"];

const DELETE: [&str; 2] = ["rds:DeleteDBSnapshot", "rds:DeleteDBClusterSnapshot"];
const SHARE: [&str; 2] = ["rds:ModifyDBSnapshotAttribute", "rds:ModifyDBClusterSnapshotAttribute"];
const COPY: [&str; 2] = ["rds:CopyDBSnapshot", "rds:CopyDBClusterSnapshot"];
const KEY_DESTRUCTION: [&str; 3] = ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy"];
const OBJECT_DELETION: [&str; 3] = ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutLifecycleConfiguration"];

/// What RDS's export service needs of the role it writes as (RDS API Reference,
/// API_StartExportTask, IamRoleArn: "include the following required actions").
const EXPORT_WRITER_ACTIONS: [&str; 5] =
    ["s3:putobject*", "s3:getobject*", "s3:listbucket", "s3:deleteobject*", "s3:getbucketlocation"];

/// The role RDS writes the exports as: only `export.rds.amazonaws.com` may assume it, for
/// this account only (`aws:SourceAccount`); its S3 actions are the documented ones, its
/// objects only under the prefix's `rds/` folder; and no function of the vault may delete
/// an object (the writer role is no function's role: they may only pass it to RDS).
fn export_writer_is_rds_exports_only(t: &Template) -> Vec<String> {
    let mut out = Vec::new();
    for (id, role) in t.of_type("AWS::IAM::Role") {
        let trust = Statement::all(&role["Properties"]["AssumeRolePolicyDocument"]);
        let by_rds_export = trust.iter().any(|s| s.principal["Service"] == "export.rds.amazonaws.com");
        if !by_rds_export {
            continue;
        }
        for s in &trust {
            let guarded = !s.condition_values("StringEquals", "aws:SourceAccount").is_empty();
            if s.allow && (s.principal["Service"] != "export.rds.amazonaws.com" || !guarded) {
                out.push(format!(
                    "{} {id}: only export.rds.amazonaws.com, for this account (aws:SourceAccount), may assume the export writer",
                    t.name
                ));
            }
        }
        for s in t.role_statements(id).iter().filter(|s| s.allow) {
            for action in s.actions.iter().filter(|a| a.starts_with("s3:")) {
                if !EXPORT_WRITER_ACTIONS.contains(&action.as_str()) {
                    out.push(format!("{} {id}: the export writer may {action}, beyond what RDS requires", t.name));
                }
                let objects = action.contains("object");
                let under_prefix = s.resources.iter().all(|r| r.to_string().contains("/rds/*"));
                if objects && !under_prefix {
                    out.push(format!("{} {id}: the export writer's {action} is not confined to <prefix>/rds/", t.name));
                }
            }
        }
    }
    out
}

/// The role each function runs as, with its statements.
fn role(t: &Template, binary: &str, out: &mut Vec<String>) -> Option<(String, Vec<Statement>)> {
    let Some((id, function)) = t.function(binary) else {
        out.push(format!("{}: no Lambda function for {binary}", t.name));
        return None;
    };
    let Some(role) = t.role_of(function) else {
        out.push(format!("{} {id}: its Role is not a role of this template", t.name));
        return None;
    };
    let statements = t.role_statements(&role);
    Some((role, statements))
}

/// Every function: `provided.al2023`, handler `bootstrap`, a role of its own.
pub fn functions_are_lambda_ready(t: &Template, binaries: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut roles = Vec::new();
    for binary in binaries {
        let Some((id, function)) = t.function(binary) else {
            out.push(format!("{}: no Lambda function for {binary}", t.name));
            continue;
        };
        let p = &function["Properties"];
        if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" {
            out.push(format!("{} {id}: Runtime provided.al2023 and Handler bootstrap expected", t.name));
        }
        match t.role_of(function) {
            Some(role) if roles.contains(&role) => out.push(format!("{} {id}: shares role {role}", t.name)),
            Some(role) => roles.push(role),
            None => out.push(format!("{} {id}: its Role is not a role of this template", t.name)),
        }
    }
    out
}

/// No identity policy allows every action of a service (`*`, `rds:*`).
pub fn no_wildcard_actions(t: &Template) -> Vec<String> {
    let mut out = Vec::new();
    for (id, _) in t.of_type("AWS::IAM::Role") {
        for s in t.role_statements(id) {
            let broad = s.actions.iter().any(|a| a == "*" || a.ends_with(":*"));
            if s.allow && (broad || !s.not_actions.is_empty()) {
                out.push(format!("{} {id}: statement {:?} allows {:?}", t.name, s.sid, s.actions));
            }
        }
    }
    out
}

/// The role may never do any of `actions`.
fn never(t: &Template, binary: &str, actions: &[&str], what: &str, out: &mut Vec<String>) {
    let Some((role, statements)) = role(t, binary, out) else { return };
    for action in actions {
        if statements.iter().any(|s| s.allow && s.covers(action)) {
            out.push(format!("{} {role}: {binary} may {action}, it must never {what}", t.name));
        }
    }
}

/// The resource-tag condition keys that can carry the marker of a snapshot.
const MARKER_KEYS: [&str; 3] = [
    "aws:ResourceTag/offsite:managed-by",
    "rds:snapshot-tag/offsite:managed-by",
    "rds:cluster-snapshot-tag/offsite:managed-by",
];

/// Every grant of `actions` to the role is limited to snapshots carrying one of `markers`
/// as `offsite:managed-by` (`StringEquals` on a resource-tag key, with those values only)
/// and never on `*`.
fn only_marked(t: &Template, binary: &str, actions: &[&str], markers: &[&str], out: &mut Vec<String>) {
    let Some((role, statements)) = role(t, binary, out) else { return };
    for action in actions {
        for s in statements.iter().filter(|s| s.allow && s.covers(action)) {
            let tagged = MARKER_KEYS.iter().any(|key| {
                let values = s.condition_values("StringEquals", key);
                !values.is_empty() && values.iter().all(|v| markers.iter().any(|m| v == m))
            });
            if !tagged || s.any_resource() {
                out.push(format!(
                    "{} {role}: {binary} may {action} without the marker condition offsite:managed-by={} \
                     on named resources (statement {:?})",
                    t.name,
                    markers.join(" or "),
                    s.sid
                ));
            }
        }
    }
}

/// A key policy denies deleting, disabling and re-policying the key to everyone but the
/// principals its condition names (a negated operator on `aws:PrincipalArn`: the Deny
/// applies to every principal that is *not* named).
fn key_denies_destruction(t: &Template, key_id: &str, out: &mut Vec<String>) {
    let Some(key) = t.resource(key_id) else {
        out.push(format!("{}: no key {key_id}", t.name));
        return;
    };
    let statements = Statement::all(&key["Properties"]["KeyPolicy"]);
    for action in KEY_DESTRUCTION {
        let denied = statements.iter().any(|s| {
            let everyone = s.principal == "*" || s.principal["AWS"] == "*";
            let all_but_named = ["ArnNotEquals", "ArnNotLike", "StringNotEquals", "StringNotLike"]
                .iter()
                .any(|operator| !s.condition_values(operator, "aws:PrincipalArn").is_empty());
            !s.allow && everyone && s.covers(action) && all_but_named
        });
        if !denied {
            out.push(format!("{} {key_id}: the key policy must deny {action} to all but the break-glass role", t.name));
        }
    }
}

/// The functions' roles, and the workload stack's rules: the exporter copies (never shares
/// or deletes), the scanner shares and deletes only its marked copies, the DynamoDB job
/// touches no snapshot; the scanner runs alone; exporter and scanner agree on windows.
pub fn workload(t: &Template) -> Vec<String> {
    let mut out = functions_are_lambda_ready(t, &WORKLOAD_FUNCTIONS);
    out.extend(no_wildcard_actions(t));
    never(t, "offsite-exporter", &DELETE, "delete a snapshot", &mut out);
    never(t, "offsite-exporter", &SHARE, "share a snapshot", &mut out);
    only_marked(t, "offsite-scanner", &DELETE, &["offsite-export"], &mut out);
    only_marked(t, "offsite-scanner", &SHARE, &["offsite-export"], &mut out);
    never(t, "offsite-scanner", &COPY, "copy a snapshot", &mut out);
    never(t, "offsite-dynamo-export", &DELETE, "delete a snapshot", &mut out);
    never(t, "offsite-dynamo-export", &SHARE, "share a snapshot", &mut out);
    never(t, "offsite-dynamo-export", &COPY, "copy a snapshot", &mut out);
    if let Some((role, statements)) = role(t, "offsite-exporter", &mut out) {
        for s in statements.iter().filter(|s| s.allow && COPY.iter().any(|a| s.covers(a))) {
            if s.condition.is_null() {
                out.push(format!("{} {role}: the exporter's copy grant {:?} has no tag condition", t.name, s.sid));
            }
        }
    }
    if let (Some((_, exporter)), Some((id, scanner))) = (t.function("offsite-exporter"), t.function("offsite-scanner"))
    {
        for variable in ["OFFSITE_SWEEP_WINDOW", "OFFSITE_EXPORT_RETENTION"] {
            let (e, s) = (t.env(exporter, variable), t.env(scanner, variable));
            if e.is_none() || e != s {
                out.push(format!("{} {id}: exporter and scanner must get the same {variable}: {e:?} / {s:?}", t.name));
            }
        }
    }
    if let Some((id, scanner)) = t.function("offsite-scanner")
        && !one_at_a_time_by_default(t, scanner)
    {
        out.push(format!(
            "{} {id}: the scanner needs ReservedConcurrentExecutions 1 by default (one claim at a time)",
            t.name
        ));
    }
    if let Some((id, job)) = t.function("offsite-dynamo-export")
        && !one_at_a_time_by_default(t, job)
    {
        out.push(format!(
            "{} {id}: the DynamoDB job needs ReservedConcurrentExecutions 1 by default (one export budget)",
            t.name
        ));
    }
    out.extend(resourceless_actions_only_on_any_resource(t));
    out
}

/// `ReservedConcurrentExecutions` is 1, or `Fn::If: [condition, 1, ...]` whose condition holds
/// with the parameters' defaults: the reservation may be turned off where the account cannot
/// afford it (Lambda keeps at least 100 executions unreserved), but is on unless asked.
fn one_at_a_time_by_default(t: &Template, function: &Value) -> bool {
    let reserved = &function["Properties"]["ReservedConcurrentExecutions"];
    if *reserved == 1 {
        return true;
    }
    let Some([condition, then, _]) = reserved["Fn::If"].as_array().map(Vec::as_slice) else {
        return false;
    };
    *then == 1 && condition.as_str().is_some_and(|c| matches!(Deployment::default().condition(t, c), Ok(true)))
}

/// The IAM actions that have no resource type in the Service Authorization Reference, as
/// listed in `infra/iam-actions-without-resource-type.txt` (lowercase). IAM matches them only
/// with `"Resource": "*"`. `infra/iam_lint.py` keeps the list complete and correct from
/// parliament's copy of the reference.
pub fn actions_without_resource_type() -> Vec<String> {
    include_str!("../iam-actions-without-resource-type.txt")
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim().to_ascii_lowercase())
        .filter(|line| !line.is_empty())
        .collect()
}

/// Every policy statement of the template, with the resource that holds it: role inline
/// policies, IAM policy resources, key policies, bucket, queue and topic policies.
fn policy_statements(t: &Template) -> Vec<(&str, Statement)> {
    let mut out = Vec::new();
    for (id, resource) in t.resources() {
        let p = &resource["Properties"];
        let documents: Vec<&Value> = match resource["Type"].as_str().unwrap_or_default() {
            "AWS::IAM::Role" => p["Policies"].as_array().into_iter().flatten().map(|d| &d["PolicyDocument"]).collect(),
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => vec![&p["PolicyDocument"]],
            "AWS::KMS::Key" => vec![&p["KeyPolicy"]],
            "AWS::S3::BucketPolicy" | "AWS::SQS::QueuePolicy" | "AWS::SNS::TopicPolicy" => vec![&p["PolicyDocument"]],
            _ => Vec::new(),
        };
        out.extend(documents.into_iter().flat_map(Statement::all).map(|s| (id, s)));
    }
    out
}

/// No statement names an action without a resource type together with resources other than
/// `*`: such an Allow grants nothing for the action (the DynamoDB job's `ListExports` on
/// `table/*` was denied in AWS), such a Deny denies nothing. Allows are matched with
/// wildcards (`dynamodb:List*`), Denies by name (a TLS-only `sqs:*` Deny on a queue is not
/// meant for `ListQueues`).
pub fn resourceless_actions_only_on_any_resource(t: &Template) -> Vec<String> {
    let actions = actions_without_resource_type();
    let mut out = Vec::new();
    for (id, s) in policy_statements(t) {
        if s.resources.is_empty() || s.any_resource() {
            continue;
        }
        for action in &actions {
            let named = if s.allow { s.covers(action) } else { s.actions.iter().any(|a| a == action) };
            if named {
                out.push(format!(
                    "{} {id}: statement {:?} names {action}, which has no resource type (Service Authorization \
                     Reference), with resources {:?}: IAM matches it only with Resource \"*\"",
                    t.name,
                    s.sid,
                    s.resources.iter().map(Value::to_string).collect::<Vec<_>>()
                ));
            }
        }
    }
    out
}

/// The restore tester's marker on what it creates (`offsite:managed-by`).
const RESTORE_TEST_MARKER: &str = "offsite-restore-test";

/// The resource-tag condition keys that can carry the marker of a DB instance or cluster.
const RESTORE_MARKER_KEYS: [&str; 3] =
    ["aws:ResourceTag/offsite:managed-by", "rds:db-tag/offsite:managed-by", "rds:cluster-tag/offsite:managed-by"];

/// What the restore tester may change or delete, and only on its own restores.
const RESTORE_CHANGES: [&str; 4] =
    ["rds:ModifyDBInstance", "rds:ModifyDBCluster", "rds:DeleteDBInstance", "rds:DeleteDBCluster"];

/// Snapshot-making, exporting and other changes the restore tester must never make: a final
/// snapshot would outlive the test, an export or a share takes the data out, removing a tag
/// could strip the marker retention (or the tester itself) relies on.
const RESTORE_TESTER_NEVER: [&str; 7] = [
    "rds:CreateDBSnapshot",
    "rds:CreateDBClusterSnapshot",
    "rds:ModifyDBSnapshot",
    "rds:RemoveTagsFromResource",
    "rds:DeleteDBInstanceAutomatedBackup",
    "rds:DeleteDBClusterAutomatedBackup",
    "rds:StartExportTask",
];

/// The managed secrets are RDS's: the tester reads a password, never writes, changes or
/// deletes one.
const SECRET_WRITES: [&str; 4] = [
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecret",
    "secretsmanager:DeleteSecret",
    "secretsmanager:PutResourcePolicy",
];

/// The tag keys the restore tester may write on a vault copy (its evidence).
const EVIDENCE_TAG_PREFIX: &str = "offsite:restore-test";

/// A resource of the restore tester's own namespace: a DB instance or DB cluster ARN whose
/// name starts with `rt-` (`...:db:rt-*`, `...:cluster:rt-*`), as written in the template.
fn is_own_restore(resource: &Value) -> bool {
    let text = resource.to_string();
    [":db:rt-", ":cluster:rt-"].iter().any(|own| text.contains(own))
}

/// A DB snapshot or DB cluster snapshot ARN (a vault copy, for the restore tester).
fn is_snapshot(resource: &Value) -> bool {
    let text = resource.to_string();
    text.contains(":snapshot:") || text.contains(":cluster-snapshot:")
}

/// The restore tester changes and deletes only its own restores: every grant of
/// [`RESTORE_CHANGES`] names only `db:rt-*` / `cluster:rt-*` resources (never `"*"`) and
/// requires the marker (`StringEquals` on a resource-tag key, `offsite-restore-test` only).
/// Its tag writes go to its own restores or, limited to the `offsite:restore-test*` keys
/// (`aws:TagKeys` under `ForAllValues`), to vault copies; nothing else.
fn restore_tester_touches_only_its_own(t: &Template, out: &mut Vec<String>) {
    let binary = "offsite-restore-test";
    let Some((role, statements)) = role(t, binary, out) else { return };
    for action in RESTORE_CHANGES {
        for s in statements.iter().filter(|s| s.allow && s.covers(action)) {
            let marked = RESTORE_MARKER_KEYS.iter().any(|key| {
                let values = s.condition_values("StringEquals", key);
                !values.is_empty() && values.iter().all(|v| v == RESTORE_TEST_MARKER)
            });
            let own = !s.resources.is_empty() && s.resources.iter().all(is_own_restore);
            if !marked || !own || s.any_resource() {
                out.push(format!(
                    "{} {role}: {binary} may {action} beyond its own marked restores (db:rt-* / cluster:rt-* with \
                     offsite:managed-by={RESTORE_TEST_MARKER}) (statement {:?})",
                    t.name, s.sid
                ));
            }
        }
    }
    // A modify only to have RDS manage the master password (the data checks): a modify that
    // could change anything else is refused by the condition on the request.
    for action in ["rds:ModifyDBInstance", "rds:ModifyDBCluster"] {
        for s in statements.iter().filter(|s| s.allow && s.covers(action)) {
            if !s.condition_values("Bool", "rds:ManageMasterUserPassword").iter().any(|v| v == "true") {
                out.push(format!(
                    "{} {role}: {binary} may {action} without rds:ManageMasterUserPassword true (statement {:?})",
                    t.name, s.sid
                ));
            }
        }
    }
    // The passwords of its own restores only: RDS's secrets (rds!db-*, rds!cluster-*) whose
    // primary-resource tag names an rt-* restore.
    for s in statements.iter().filter(|s| s.allow && s.covers("secretsmanager:GetSecretValue")) {
        let rds_secrets = !s.resources.is_empty() && s.resources.iter().all(|r| r.to_string().contains(":secret:rds!"));
        let own = ["aws:ResourceTag/aws:rds:primaryDBInstanceArn", "aws:ResourceTag/aws:rds:primaryDBClusterArn"]
            .iter()
            .flat_map(|key| s.condition_values("StringLike", key))
            .collect::<Vec<Value>>();
        let own = !own.is_empty() && own.iter().all(is_own_restore);
        if !rds_secrets || !own || s.any_resource() {
            out.push(format!(
                "{} {role}: {binary} may read secrets beyond the managed passwords of its own restores (statement {:?})",
                t.name, s.sid
            ));
        }
    }
    for s in statements.iter().filter(|s| s.allow && s.covers("rds:AddTagsToResource")) {
        if s.resources.is_empty() || s.any_resource() {
            out.push(format!("{} {role}: {binary} may tag any resource (statement {:?})", t.name, s.sid));
            continue;
        }
        let keys: Vec<Value> = ["ForAllValues:StringLike", "ForAllValues:StringEquals"]
            .iter()
            .flat_map(|operator| s.condition_values(operator, "aws:TagKeys"))
            .collect();
        let evidence_only =
            !keys.is_empty() && keys.iter().all(|k| k.as_str().is_some_and(|k| k.starts_with(EVIDENCE_TAG_PREFIX)));
        for resource in s.resources.iter().filter(|r| !is_own_restore(r) && !is_snapshot(r)) {
            out.push(format!(
                "{} {role}: {binary} may tag {resource}, beyond its own restores and the vault copies (statement {:?})",
                t.name, s.sid
            ));
        }
        if s.resources.iter().any(is_snapshot) && !evidence_only {
            out.push(format!(
                "{} {role}: {binary}'s tag writes on vault copies are not limited to the {EVIDENCE_TAG_PREFIX}* keys \
                 (statement {:?})",
                t.name, s.sid
            ));
        }
    }
}

/// The vault stack's rules: importer and reconciler never delete or share; retention
/// deletes only the vault's marked copies and never shares; the RDS exports never delete,
/// share or copy; the restore tester changes and deletes only its own marked `rt-*`
/// restores, tags vault copies with its evidence keys only, and never deletes, copies,
/// shares, exports or makes a snapshot; the queue accepts only the allowed topics; the
/// import key cannot be deleted, disabled or re-policied.
pub fn vault(t: &Template) -> Vec<String> {
    let mut out = functions_are_lambda_ready(t, &VAULT_FUNCTIONS);
    out.extend(no_wildcard_actions(t));
    for binary in ["offsite-importer", "offsite-reconciler"] {
        never(t, binary, &DELETE, "delete a snapshot", &mut out);
        never(t, binary, &SHARE, "share a snapshot", &mut out);
        never(t, binary, &KEY_DESTRUCTION, "touch the key's life", &mut out);
    }
    // Its own imports, and their second-region copies (their own marker).
    only_marked(t, "offsite-retention", &DELETE, &["offsite-import", "offsite-import-dr"], &mut out);
    never(t, "offsite-retention", &SHARE, "share a snapshot", &mut out);
    never(t, "offsite-retention", &COPY, "copy a snapshot", &mut out);
    // The RDS exports: they read snapshots and start export tasks, nothing else.
    never(t, "offsite-rds-export", &DELETE, "delete a snapshot", &mut out);
    never(t, "offsite-rds-export", &SHARE, "share a snapshot", &mut out);
    never(t, "offsite-rds-export", &COPY, "copy a snapshot", &mut out);
    never(t, "offsite-rds-export", &KEY_DESTRUCTION, "touch a key's life", &mut out);
    never(t, "offsite-rds-export", &OBJECT_DELETION, "delete an object (an export)", &mut out);
    never(t, "offsite-rds-export", &["rds:CancelExportTask"], "cancel an export (an operator's CLI action)", &mut out);
    out.extend(export_writer_is_rds_exports_only(t));
    // The restore tester: its own restores only, evidence tags only on vault copies, and
    // never a snapshot deleted, copied, shared, exported or made.
    restore_tester_touches_only_its_own(t, &mut out);
    never(t, "offsite-restore-test", &SECRET_WRITES, "write a secret (the managed passwords are RDS's)", &mut out);
    never(t, "offsite-restore-test", &DELETE, "delete a snapshot", &mut out);
    never(t, "offsite-restore-test", &SHARE, "share a snapshot", &mut out);
    never(t, "offsite-restore-test", &COPY, "copy a snapshot", &mut out);
    never(
        t,
        "offsite-restore-test",
        &RESTORE_TESTER_NEVER,
        "make, export or change a snapshot, or remove a tag",
        &mut out,
    );
    never(t, "offsite-restore-test", &KEY_DESTRUCTION, "touch a key's life", &mut out);
    let keys: Vec<&str> = t.of_type("AWS::KMS::Key").map(|(id, _)| id).collect();
    if keys.is_empty() {
        out.push(format!("{}: no import key", t.name));
    }
    for key in keys {
        key_denies_destruction(t, key, &mut out);
    }
    out.extend(queue_policies_name_only_topics(t));
    out.extend(resourceless_actions_only_on_any_resource(t));
    out
}

/// Every queue policy: only `sns.amazonaws.com` may send, only `sqs:SendMessage`, and only
/// from topic ARNs (`aws:SourceArn` naming `arn:aws:sns:` values or parameters constrained
/// to them).
pub fn queue_policies_name_only_topics(t: &Template) -> Vec<String> {
    let mut out = Vec::new();
    for (id, policy) in t.of_type("AWS::SQS::QueuePolicy") {
        for s in Statement::all(&policy["Properties"]["PolicyDocument"]).iter().filter(|s| s.allow) {
            let from_sns = s.principal["Service"] == "sns.amazonaws.com";
            let send_only = !s.actions.is_empty() && s.actions.iter().all(|a| a == "sqs:sendmessage");
            if !from_sns || !send_only {
                out.push(format!("{} {id}: only sns.amazonaws.com may sqs:SendMessage ({:?})", t.name, s.sid));
            }
            let sources = source_arns(&s.condition);
            if sources.is_empty() {
                out.push(format!("{} {id}: statement {:?} has no aws:SourceArn condition", t.name, s.sid));
            }
            for source in sources {
                if !is_topic_arn(t, &source) {
                    out.push(format!("{} {id}: aws:SourceArn {source} is not a topic ARN", t.name));
                }
            }
        }
    }
    out
}

/// The values an `aws:SourceArn` condition compares with.
fn source_arns(condition: &Value) -> Vec<Value> {
    let mut found = Vec::new();
    for operator in condition.as_object().into_iter().flat_map(|o| o.values()) {
        if let Some(value) = operator.get("aws:SourceArn") {
            match value {
                Value::Array(items) => found.extend(items.iter().cloned()),
                other => found.push(other.clone()),
            }
        }
    }
    found
}

fn is_topic_arn(t: &Template, value: &Value) -> bool {
    if let Some(text) = value.as_str() {
        return text.starts_with("arn:aws:sns:") || text.starts_with("arn:${AWS::Partition}:sns:");
    }
    if let Some(sub) = value["Fn::Sub"].as_str() {
        return sub.contains(":sns:");
    }
    let parameter = value["Ref"].as_str().map(|p| &t.doc["Parameters"][p]);
    parameter.is_some_and(|p| p["AllowedPattern"].as_str().is_some_and(|pattern| pattern.contains(":sns:")))
}

/// The auditor's bucket: owner-enforced, versioned, KMS-encrypted, private, TLS-only, and
/// only the export role may write.
pub fn auditor(t: &Template) -> Vec<String> {
    let mut out = Vec::new();
    let writes = ["s3:putobject", "s3:abortmultipartupload", "s3:putobjectacl"];
    let buckets: Vec<(&str, &Value)> = t.of_type("AWS::S3::Bucket").collect();
    let policies: Vec<(&str, &Value)> = t.of_type("AWS::S3::BucketPolicy").collect();
    let mut export_bucket_seen = false;
    for (id, policy) in &policies {
        let statements = Statement::all(&policy["Properties"]["PolicyDocument"]);
        let tls_only = |s: &Statement| {
            let values = s.condition_values("Bool", "aws:SecureTransport");
            !s.allow && !values.is_empty() && values.iter().all(|v| v == "false" || v == false)
        };
        if !statements.iter().any(tls_only) {
            out.push(format!("{} {id}: no TLS-only deny", t.name));
        }
        for s in statements.iter().filter(|s| s.allow) {
            let principal = s.principal["AWS"].to_string();
            let condition = s.condition.to_string();
            let vault_writer = principal.contains("VaultRdsExportRoleArn");
            let vault_reader = principal.contains("VaultRdsExportFunctionRoleArn");
            let dynamo_writer = !vault_writer && !vault_reader && principal.contains("ExportRoleArn");
            if !dynamo_writer && !vault_writer && !vault_reader && !principal.contains("AWS::AccountId") {
                out.push(format!("{} {id}: statement {:?} allows {principal}", t.name, s.sid));
            }
            if dynamo_writer {
                export_bucket_seen = true;
                if !s.actions.iter().all(|a| writes.contains(&a.as_str())) {
                    out.push(format!("{} {id}: the export role may only write objects: {:?}", t.name, s.actions));
                }
            }
            // The vault's RDS writer: the documented actions, objects under <prefix>/rds/ only,
            // and matched on its own ARN (the vault account's other principals get nothing).
            if vault_writer {
                if !s.actions.iter().all(|a| EXPORT_WRITER_ACTIONS.contains(&a.as_str())) {
                    out.push(format!("{} {id}: the vault's export writer may only {EXPORT_WRITER_ACTIONS:?}", t.name));
                }
                let objects = s.actions.iter().any(|a| a.contains("object"));
                if objects && !s.resources.iter().all(|r| r.to_string().contains("/rds/*")) {
                    out.push(format!("{} {id}: the vault's export writer reaches beyond <prefix>/rds/", t.name));
                }
                if !condition.contains("VaultRdsExportRoleArn") {
                    out.push(format!("{} {id}: statement {:?} is not matched on the writer's ARN", t.name, s.sid));
                }
            }
            // The vault's export function: reads the exports' export_tables_info files and
            // lists under <prefix>/rds/, nothing else (never the data, never a write).
            if vault_reader {
                for action in &s.actions {
                    let confined = match action.as_str() {
                        "s3:getobject" => {
                            s.resources.iter().all(|r| r.to_string().contains("/rds/*/export_tables_info_*"))
                        }
                        "s3:listbucket" => {
                            s.condition_values("StringLike", "s3:prefix")
                                .iter()
                                .all(|v| v.to_string().contains("/rds/*"))
                                && !s.condition_values("StringLike", "s3:prefix").is_empty()
                        }
                        _ => false,
                    };
                    if !confined {
                        out.push(format!(
                            "{} {id}: the vault's export function may {action} beyond the export_tables_info files under <prefix>/rds/",
                            t.name
                        ));
                    }
                }
                if !condition.contains("VaultRdsExportFunctionRoleArn") {
                    out.push(format!("{} {id}: statement {:?} is not matched on the function's ARN", t.name, s.sid));
                }
            }
        }
    }
    if !export_bucket_seen {
        out.push(format!("{}: no bucket policy lets the export role (ExportRoleArn) write", t.name));
    }
    out.extend(resourceless_actions_only_on_any_resource(t));
    for (id, bucket) in buckets {
        let p = &bucket["Properties"];
        let block = &p["PublicAccessBlockConfiguration"];
        let private = ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"]
            .iter()
            .all(|k| block[*k] == true);
        let encrypted = p["BucketEncryption"].to_string().contains("aws:kms");
        let owner_enforced = p["OwnershipControls"].to_string().contains("BucketOwnerEnforced");
        if !private || !encrypted || !owner_enforced {
            out.push(format!("{} {id}: private, SSE-KMS and BucketOwnerEnforced expected", t.name));
        }
        if !policies.iter().any(|(_, pol)| pol["Properties"]["Bucket"]["Ref"] == *id) {
            out.push(format!("{} {id}: no bucket policy (TLS-only at least)", t.name));
        }
    }
    out
}
