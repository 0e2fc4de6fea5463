//! The templates in `infra/` keep their security invariants; and each invariant check
//! fails on a template that breaks it (so a passing run means something).

use offsite_infra::Template;
use offsite_infra::checks::{
    actions_without_resource_type, auditor, resourceless_actions_only_on_any_resource, vault, workload,
};

fn assert_keeps(name: &str, check: fn(&Template) -> Vec<String>) {
    let template = Template::load(name).unwrap_or_else(|e| panic!("{e}"));
    let violations = check(&template);
    assert!(violations.is_empty(), "{name}.yaml breaks its invariants:\n{}", violations.join("\n"));
}

/// Parses `yaml` as the template `name`, runs `check` over it and asserts that each of
/// `expected` is among the violations; returns them, one per line.
fn refused(name: &str, yaml: &str, check: fn(&Template) -> Vec<String>, expected: &[&str]) -> String {
    let template = Template::parse(name, yaml).unwrap_or_else(|e| panic!("{name}: {e}"));
    let violations = check(&template).join("\n");
    for line in expected {
        assert!(violations.contains(line), "expected {line:?} in:\n{violations}");
    }
    violations
}

#[test]
fn the_workload_template_keeps_its_invariants() {
    assert_keeps("workload", workload);
}

#[test]
fn the_vault_template_keeps_its_invariants() {
    assert_keeps("vault", vault);
}

#[test]
fn the_auditor_template_keeps_its_invariants() {
    assert_keeps("auditor", auditor);
}

/// A template broken on purpose: every rule of the vault check must fire.
#[test]
fn a_vault_that_lets_the_importer_delete_and_anyone_send_is_refused() {
    refused(
        "broken-vault",
        r#"
Parameters:
  TopicArn: {Type: String}
Resources:
  Importer:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      Role: {"Fn::GetAtt": [ImporterRole, Arn]}
      Code: {S3Bucket: b, S3Key: offsite-importer.zip}
  ImporterRole:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - {Effect: Allow, Action: ["rds:Delete*", "rds:ModifyDBSnapshotAttribute"], Resource: "*"}
              - {Effect: Allow, Action: "sqs:*", Resource: "*"}
  Key:
    Type: AWS::KMS::Key
    Properties:
      KeyPolicy:
        Statement:
          - {Effect: Allow, Principal: {AWS: "*"}, Action: "kms:*", Resource: "*"}
  QueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      PolicyDocument:
        Statement:
          - {Effect: Allow, Principal: "*", Action: "sqs:*", Resource: "*", Condition: {ArnEquals: {"aws:SourceArn": {Ref: TopicArn}}}}
"#,
        vault,
        &[
            "offsite-importer may rds:DeleteDBSnapshot",
            "offsite-importer may rds:ModifyDBSnapshotAttribute",
            "no Lambda function for offsite-retention",
            "must deny kms:ScheduleKeyDeletion",
            "only sns.amazonaws.com may sqs:SendMessage",
            "is not a topic ARN",
            "ImporterRole: statement \"\" allows [\"sqs:*\"]",
        ],
    );
}

/// The workload rules fire on a scanner that deletes anything and an exporter that shares.
#[test]
fn a_workload_whose_scanner_deletes_anything_is_refused() {
    refused(
        "broken-workload",
        r#"
Resources:
  Exporter:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      Role: {"Fn::GetAtt": [ExporterRole, Arn]}
      Code: {S3Key: offsite-exporter.zip}
      Environment: {Variables: {OFFSITE_SWEEP_WINDOW: 48h, OFFSITE_EXPORT_RETENTION: 7d}}
  ExporterRole:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - {Effect: Allow, Action: [rds:CopyDBSnapshot, rds:ModifyDBClusterSnapshotAttribute], Resource: "*"}
  Scanner:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      Role: {"Fn::GetAtt": [ScannerRole, Arn]}
      Code: {S3Key: offsite-scanner.zip}
      Environment: {Variables: {OFFSITE_SWEEP_WINDOW: 24h, OFFSITE_EXPORT_RETENTION: 7d}}
  ScannerRole:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - {Effect: Allow, Action: rds:DeleteDBSnapshot, Resource: "arn:aws:rds:*:*:snapshot:offsite-*"}
"#,
        workload,
        &[
            "offsite-exporter may rds:ModifyDBClusterSnapshotAttribute",
            "the exporter's copy grant",
            "offsite-scanner may rds:DeleteDBSnapshot without the marker condition",
            "the same OFFSITE_SWEEP_WINDOW",
            "ReservedConcurrentExecutions 1",
            "no Lambda function for offsite-dynamo-export",
        ],
    );
}

#[test]
fn an_auditor_bucket_open_to_others_is_refused() {
    refused(
        "broken-auditor",
        r#"
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties: {}
  Policy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: {Ref: Bucket}
      PolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {AWS: "arn:aws:iam::444444444444:root"}, Action: "s3:GetObject", Resource: "*"}
"#,
        auditor,
        &[
            "no TLS-only deny",
            "Policy: statement \"\" allows \"arn:aws:iam::444444444444:root\"",
            "no bucket policy lets the export role",
            "BucketOwnerEnforced expected",
        ],
    );
}

/// Defect found against the Service Authorization Reference: `dynamodb:ListExports` has no
/// resource type, so granting it on `table/*` grants nothing (every ListExports was denied in
/// AWS). The rule refuses it in any template and any kind of policy, wildcards included for
/// Allow; a Deny is refused only when it names the action.
#[test]
fn an_action_without_resource_type_on_named_resources_is_refused() {
    let broken = Template::parse(
        "broken-resourceless",
        r#"
Resources:
  JobRole:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - Sid: ReadTables
                Effect: Allow
                Action: [dynamodb:ListTagsOfResource, dynamodb:ListExports]
                Resource: {"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/*"}
              - {"Fn::If": [Cond, {Sid: Listing, Effect: Allow, Action: "dynamodb:List*", Resource: "arn:aws:dynamodb:*:*:table/*"}, {Ref: "AWS::NoValue"}]}
              - {Sid: Fine, Effect: Allow, Action: [dynamodb:ListTables, dynamodb:ListExports], Resource: "*"}
  QueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      PolicyDocument:
        Statement:
          - {Sid: TlsOnly, Effect: Deny, Principal: "*", Action: "dynamodb:*", Resource: "arn:aws:sqs:us-east-1:111111111111:q"}
          - {Sid: Named, Effect: Deny, Principal: "*", Action: dynamodb:ListTables, Resource: "arn:aws:sqs:us-east-1:111111111111:q"}
"#,
    )
    .expect("parses");
    let violations = resourceless_actions_only_on_any_resource(&broken);
    let text = violations.join("\n");
    for expected in [
        "JobRole: statement \"ReadTables\" names dynamodb:listexports",
        "JobRole: statement \"Listing\" names dynamodb:listexports",
        "JobRole: statement \"Listing\" names dynamodb:listtables",
        "QueuePolicy: statement \"Named\" names dynamodb:listtables",
    ] {
        assert!(text.contains(expected), "expected {expected:?} in:\n{text}");
    }
    assert_eq!(violations.len(), 4, "{text}");
    assert!(!text.contains("\"Fine\"") && !text.contains("\"TlsOnly\""), "{text}");
}

#[test]
fn the_resourceless_action_list_names_the_actions_the_templates_use() {
    let actions = actions_without_resource_type();
    for action in ["dynamodb:listtables", "dynamodb:listexports"] {
        assert!(actions.iter().any(|a| a == action), "{action} missing from {actions:?}");
    }
    assert!(actions.iter().all(|a| a.contains(':') && !a.contains(char::is_whitespace)), "{actions:?}");
}

/// The scanner's (and the DynamoDB job's) reservation of 1 may be a parameter, for accounts
/// that cannot leave 100 executions unreserved, but must be on by default.
#[test]
fn a_reservation_is_required_on_by_default_and_may_be_a_parameter() {
    let template = |default: &str| {
        Template::parse(
            "reservation",
            &format!(
                r#"
Parameters:
  ReserveConcurrency: {{Type: String, Default: "{default}", AllowedValues: ["true", "false"]}}
Conditions:
  OneRunAtATime: {{"Fn::Equals": [{{Ref: ReserveConcurrency}}, "true"]}}
Resources:
  Scanner:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      Code: {{S3Key: offsite-scanner.zip}}
      ReservedConcurrentExecutions: {{"Fn::If": [OneRunAtATime, 1, {{Ref: "AWS::NoValue"}}]}}
  Job:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      Code: {{S3Key: offsite-dynamo-export.zip}}
      ReservedConcurrentExecutions: 1
"#
            ),
        )
        .expect("parses")
    };
    let on = workload(&template("true")).join("\n");
    assert!(!on.contains("ReservedConcurrentExecutions"), "{on}");
    let off = workload(&template("false")).join("\n");
    assert!(off.contains("the scanner needs ReservedConcurrentExecutions 1 by default"), "{off}");
    assert!(!off.contains("the DynamoDB job needs"), "{off}");
}

/// The rules judge the operator and the effect, not the text: each statement below names the
/// right key and value under the wrong operator (or the right operator with the wrong
/// value), and each is refused.
#[test]
fn conditions_are_judged_by_operator_and_value_not_by_their_text() {
    refused(
        "inverted-vault",
        r#"
Resources:
  Importer:
    Type: AWS::Lambda::Function
    Properties: {Runtime: provided.al2023, Handler: bootstrap, Role: {"Fn::GetAtt": [SharedRole, Arn]}, Code: {S3Key: offsite-importer.zip}}
  Reconciler:
    Type: AWS::Lambda::Function
    Properties: {Runtime: provided.al2023, Handler: bootstrap, Role: {"Fn::GetAtt": [SharedRole, Arn]}, Code: {S3Key: offsite-reconciler.zip}}
  Retention:
    Type: AWS::Lambda::Function
    Properties: {Runtime: provided.al2023, Handler: bootstrap, Role: {"Fn::GetAtt": [RetentionRole, Arn]}, Code: {S3Key: offsite-retention.zip}}
  SharedRole:
    Type: AWS::IAM::Role
    Properties: {}
  RetentionRole:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - Sid: DeleteAllButOurs
                Effect: Allow
                Action: rds:DeleteDBSnapshot
                Resource: "arn:aws:rds:*:*:snapshot:vault-*"
                Condition: {StringNotEquals: {"aws:ResourceTag/offsite:managed-by": offsite-import}}
              - Sid: DeleteOursOrAnything
                Effect: Allow
                Action: rds:DeleteDBClusterSnapshot
                Resource: "arn:aws:rds:*:*:cluster-snapshot:vault-*"
                Condition: {StringEquals: {"aws:ResourceTag/offsite:managed-by": [offsite-import, team-x]}}
  Key:
    Type: AWS::KMS::Key
    Properties:
      KeyPolicy:
        Statement:
          - Sid: DenyOnlyTheBreakGlassRole
            Effect: Deny
            Principal: {AWS: "*"}
            Action: [kms:ScheduleKeyDeletion, kms:DisableKey, kms:PutKeyPolicy]
            Resource: "*"
            Condition: {ArnEquals: {"aws:PrincipalArn": "arn:aws:iam::222222222222:role/break-glass"}}
  QueuePolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      PolicyDocument:
        Statement:
          - {Sid: AnyTopic, Effect: Allow, Principal: {Service: sns.amazonaws.com}, Action: sqs:SendMessage, Resource: "*"}
"#,
        vault,
        &[
            "Reconciler: shares role SharedRole",
            "offsite-retention may rds:DeleteDBSnapshot without the marker condition offsite:managed-by=offsite-import or \
         offsite-import-dr on named resources (statement \"DeleteAllButOurs\")",
            "offsite-retention may rds:DeleteDBClusterSnapshot without the marker condition \
         offsite:managed-by=offsite-import or offsite-import-dr on named resources (statement \"DeleteOursOrAnything\")",
            "Key: the key policy must deny kms:ScheduleKeyDeletion to all but the break-glass role",
            "QueuePolicy: statement \"AnyTopic\" has no aws:SourceArn condition",
        ],
    );

    let violations = refused(
        "inverted-auditor",
        r#"
Parameters:
  ExportRoleArn: {Type: String}
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      PublicAccessBlockConfiguration: {BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true}
      BucketEncryption: {ServerSideEncryptionConfiguration: [{ServerSideEncryptionByDefault: {SSEAlgorithm: "aws:kms"}}]}
      OwnershipControls: {Rules: [{ObjectOwnership: BucketOwnerEnforced}]}
  Policy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: {Ref: Bucket}
      PolicyDocument:
        Statement:
          - {Sid: DenyTls, Effect: Deny, Principal: "*", Action: "s3:*", Resource: "*", Condition: {Bool: {"aws:SecureTransport": "true"}}}
          - {Sid: ExportReadsToo, Effect: Allow, Principal: {AWS: {Ref: ExportRoleArn}}, Action: [s3:PutObject, s3:GetObject], Resource: "*"}
"#,
        auditor,
        &[
            "Policy: no TLS-only deny",
            "Policy: the export role may only write objects: [\"s3:putobject\", \"s3:getobject\"]",
        ],
    );
    assert!(!violations.contains("BucketOwnerEnforced expected"), "the bucket itself is right:\n{violations}");
}

/// The RDS exports: the function may not delete objects or cancel exports, the writer role
/// may be assumed only by RDS's export service for this account and only within the
/// documented actions under `<prefix>/rds/`; the auditor's bucket admits the vault's writer
/// for those actions under that folder, matched on its ARN.
#[test]
fn rds_exports_that_could_delete_or_write_elsewhere_are_refused() {
    refused(
        "broken-vault",
        r#"
Resources:
  RdsExport:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      Role: {"Fn::GetAtt": [RdsExportRole, Arn]}
      Code: {S3Bucket: b, S3Key: offsite-rds-export.zip}
  RdsExportRole:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyDocument:
            Statement:
              - {Effect: Allow, Action: ["rds:StartExportTask", "rds:CancelExportTask"], Resource: "*"}
              - {Effect: Allow, Action: "s3:DeleteObject", Resource: "arn:aws:s3:::auditor/offsite/rds/*"}
  Writer:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: export.rds.amazonaws.com}, Action: "sts:AssumeRole"}
      Policies:
        - PolicyDocument:
            Statement:
              - {Effect: Allow, Action: ["s3:PutObject*", "s3:PutBucketPolicy"], Resource: "arn:aws:s3:::auditor/*"}
"#,
        vault,
        &[
            "offsite-rds-export may s3:DeleteObject, it must never delete an object",
            "offsite-rds-export may rds:CancelExportTask",
            "Writer: only export.rds.amazonaws.com, for this account (aws:SourceAccount)",
            "Writer: the export writer may s3:putbucketpolicy, beyond what RDS requires",
            "Writer: the export writer's s3:putobject* is not confined to <prefix>/rds/",
        ],
    );
    refused(
        "broken-auditor",
        r#"
Resources:
  Policy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: {Ref: Bucket}
      PolicyDocument:
        Statement:
          - {Effect: Deny, Principal: "*", Action: "s3:*", Resource: "*", Condition: {Bool: {"aws:SecureTransport": "false"}}}
          - Effect: Allow
            Principal: {AWS: {"Fn::Sub": ["arn:aws:iam::${A}:root", {A: {Ref: ExportRoleArn}}]}}
            Action: s3:PutObject
            Resource: "arn:aws:s3:::auditor/offsite/*"
          - Effect: Allow
            Principal: {AWS: {"Fn::Sub": ["arn:aws:iam::${A}:root", {A: {Ref: VaultRdsExportRoleArn}}]}}
            Action: ["s3:PutObject*", "s3:PutBucketAcl"]
            Resource: "arn:aws:s3:::auditor/*"
"#,
        auditor,
        &[
            "the vault's export writer may only",
            "the vault's export writer reaches beyond <prefix>/rds/",
            "is not matched on the writer's ARN",
        ],
    );
    // The vault's export function reading the data, or listing the whole bucket.
    refused(
        "broken-auditor",
        r#"
Resources:
  Policy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: {Ref: Bucket}
      PolicyDocument:
        Statement:
          - {Effect: Deny, Principal: "*", Action: "s3:*", Resource: "*", Condition: {Bool: {"aws:SecureTransport": "false"}}}
          - Effect: Allow
            Principal: {AWS: {"Fn::Sub": ["arn:aws:iam::${A}:root", {A: {Ref: ExportRoleArn}}]}}
            Action: s3:PutObject
            Resource: "arn:aws:s3:::auditor/offsite/*"
          - Effect: Allow
            Principal: {AWS: {"Fn::Sub": ["arn:aws:iam::${A}:root", {A: {Ref: VaultRdsExportFunctionRoleArn}}]}}
            Action: ["s3:GetObject", "s3:ListBucket"]
            Resource: ["arn:aws:s3:::auditor/offsite/rds/*", "arn:aws:s3:::auditor"]
            Condition: {ArnEquals: {"aws:PrincipalArn": {Ref: VaultRdsExportFunctionRoleArn}}}
"#,
        auditor,
        &[
            "the vault's export function may s3:getobject beyond the export_tables_info files",
            "the vault's export function may s3:listbucket beyond the export_tables_info files",
        ],
    );
}

/// The restore tester (issue 18): it may change and delete only its own `rt-*` restores
/// carrying its marker, tag vault copies only with its `offsite:restore-test*` evidence
/// keys, and never delete, copy, share, export or make a snapshot. A template that lets it
/// do any of that is refused; its correct statements are not.
#[test]
fn a_restore_tester_that_could_touch_more_than_its_own_restores_is_refused() {
    let violations = refused(
        "broken-vault",
        r#"
Resources:
  RestoreTest:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      Role: {"Fn::GetAtt": [RestoreTestRole, Arn]}
      Code: {S3Bucket: b, S3Key: {"Fn::Sub": "${CodePrefix}offsite-restore-test.zip"}}
  RestoreTestRole:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - Sid: DeleteAnyMarkedDatabase
                Effect: Allow
                Action: rds:DeleteDBInstance
                Resource: "arn:aws:rds:*:*:db:*"
                Condition: {StringEquals: {"aws:ResourceTag/offsite:managed-by": offsite-restore-test}}
              - Sid: DeleteOwnNamesUnmarked
                Effect: Allow
                Action: rds:DeleteDBCluster
                Resource: "arn:aws:rds:*:*:cluster:rt-*"
              - Sid: ModifyAllButMarked
                Effect: Allow
                Action: rds:ModifyDBInstance
                Resource: "arn:aws:rds:*:*:db:rt-*"
                Condition: {StringNotEquals: {"aws:ResourceTag/offsite:managed-by": offsite-restore-test}}
              - Sid: ModifyOwnOrImports
                Effect: Allow
                Action: rds:ModifyDBCluster
                Resource: "arn:aws:rds:*:*:cluster:rt-*"
                Condition: {StringEquals: {"rds:cluster-tag/offsite:managed-by": [offsite-restore-test, offsite-import]}}
              - Sid: AnyTagsOnVaultCopies
                Effect: Allow
                Action: rds:AddTagsToResource
                Resource: "arn:aws:rds:*:*:snapshot:vault-*"
                Condition: {"ForAllValues:StringLike": {"aws:TagKeys": ["offsite:*"]}}
              - Sid: TagsOnSubnetGroups
                Effect: Allow
                Action: rds:AddTagsToResource
                Resource: "arn:aws:rds:*:*:subgrp:*"
              - Sid: TagAnything
                Effect: Allow
                Action: rds:AddTagsToResource
                Resource: "*"
              - Sid: TakeTheDataOut
                Effect: Allow
                Action: [rds:DeleteDBSnapshot, rds:CopyDBClusterSnapshot, rds:ModifyDBSnapshotAttribute, rds:StartExportTask, rds:CreateDBSnapshot, rds:RemoveTagsFromResource]
                Resource: "arn:aws:rds:*:*:snapshot:vault-*"
              - Sid: ModifyAnythingOfOwnRestores
                Effect: Allow
                Action: rds:ModifyDBInstance
                Resource: "arn:aws:rds:*:*:db:rt-*"
                Condition: {StringEquals: {"aws:ResourceTag/offsite:managed-by": offsite-restore-test}}
              - Sid: ReadAnySecret
                Effect: Allow
                Action: secretsmanager:GetSecretValue
                Resource: "arn:aws:secretsmanager:*:*:secret:*"
              - Sid: ReadEveryDatabasesPassword
                Effect: Allow
                Action: secretsmanager:GetSecretValue
                Resource: "arn:aws:secretsmanager:*:*:secret:rds!db-*"
                Condition: {StringLike: {"aws:ResourceTag/aws:rds:primaryDBInstanceArn": "arn:aws:rds:*:*:db:*"}}
              - Sid: KeepThePassword
                Effect: Allow
                Action: secretsmanager:PutSecretValue
                Resource: "arn:aws:secretsmanager:*:*:secret:rds!db-*"
              # Right: not refused.
              - Sid: ManagePasswordsOnly
                Effect: Allow
                Action: [rds:ModifyDBInstance, rds:ModifyDBCluster]
                Resource: ["arn:aws:rds:*:*:db:rt-*", "arn:aws:rds:*:*:cluster:rt-*"]
                Condition:
                  StringEquals: {"aws:ResourceTag/offsite:managed-by": offsite-restore-test}
                  Bool: {"rds:ManageMasterUserPassword": "true"}
              - Sid: OwnPasswordsOnly
                Effect: Allow
                Action: secretsmanager:GetSecretValue
                Resource: "arn:aws:secretsmanager:*:*:secret:rds!cluster-*"
                Condition: {StringLike: {"aws:ResourceTag/aws:rds:primaryDBClusterArn": "arn:aws:rds:*:*:cluster:rt-*"}}
              - Sid: DeleteOwnRestoresOnly
                Effect: Allow
                Action: [rds:DeleteDBInstance, rds:DeleteDBCluster]
                Resource: ["arn:aws:rds:*:*:db:rt-*", "arn:aws:rds:*:*:cluster:rt-*"]
                Condition: {StringEquals: {"aws:ResourceTag/offsite:managed-by": offsite-restore-test}}
              - Sid: EvidenceTagsOnly
                Effect: Allow
                Action: rds:AddTagsToResource
                Resource: ["arn:aws:rds:*:*:snapshot:vault-*", "arn:aws:rds:*:*:cluster-snapshot:vault-*"]
                Condition: {"ForAllValues:StringLike": {"aws:TagKeys": ["offsite:restore-test*"]}}
              - Sid: StageTagsOnOwnRestores
                Effect: Allow
                Action: rds:AddTagsToResource
                Resource: ["arn:aws:rds:*:*:db:rt-*", "arn:aws:rds:*:*:cluster:rt-*"]
"#,
        vault,
        &[
            "offsite-restore-test may rds:DeleteDBInstance beyond its own marked restores (db:rt-* / cluster:rt-* with \
             offsite:managed-by=offsite-restore-test) (statement \"DeleteAnyMarkedDatabase\")",
            "offsite-restore-test may rds:DeleteDBCluster beyond its own marked restores (db:rt-* / cluster:rt-* with \
             offsite:managed-by=offsite-restore-test) (statement \"DeleteOwnNamesUnmarked\")",
            "offsite-restore-test may rds:ModifyDBInstance beyond its own marked restores (db:rt-* / cluster:rt-* \
             with offsite:managed-by=offsite-restore-test) (statement \"ModifyAllButMarked\")",
            "offsite-restore-test may rds:ModifyDBCluster beyond its own marked restores (db:rt-* / cluster:rt-* \
             with offsite:managed-by=offsite-restore-test) (statement \"ModifyOwnOrImports\")",
            "offsite-restore-test may rds:ModifyDBInstance without rds:ManageMasterUserPassword true (statement \
             \"ModifyAllButMarked\")",
            "offsite-restore-test may rds:ModifyDBCluster without rds:ManageMasterUserPassword true (statement \
             \"ModifyOwnOrImports\")",
            "offsite-restore-test may rds:ModifyDBInstance without rds:ManageMasterUserPassword true (statement \
             \"ModifyAnythingOfOwnRestores\")",
            "offsite-restore-test may read secrets beyond the managed passwords of its own restores (statement \
             \"ReadAnySecret\")",
            "offsite-restore-test may read secrets beyond the managed passwords of its own restores (statement \
             \"ReadEveryDatabasesPassword\")",
            "offsite-restore-test may secretsmanager:PutSecretValue, it must never write a secret (the managed \
             passwords are RDS's)",
            "offsite-restore-test's tag writes on vault copies are not limited to the offsite:restore-test* keys \
             (statement \"AnyTagsOnVaultCopies\")",
            "offsite-restore-test may tag \"arn:aws:rds:*:*:subgrp:*\", beyond its own restores and the vault copies \
             (statement \"TagsOnSubnetGroups\")",
            "offsite-restore-test may tag any resource (statement \"TagAnything\")",
            "offsite-restore-test may rds:DeleteDBSnapshot, it must never delete a snapshot",
            "offsite-restore-test may rds:CopyDBClusterSnapshot, it must never copy a snapshot",
            "offsite-restore-test may rds:ModifyDBSnapshotAttribute, it must never share a snapshot",
            "offsite-restore-test may rds:StartExportTask, it must never make, export or change a snapshot",
            "offsite-restore-test may rds:CreateDBSnapshot, it must never make, export or change a snapshot",
            "offsite-restore-test may rds:RemoveTagsFromResource, it must never make, export or change a snapshot, \
             or remove a tag",
        ],
    );
    for right in [
        "DeleteOwnRestoresOnly",
        "EvidenceTagsOnly",
        "StageTagsOnOwnRestores",
        "ManagePasswordsOnly",
        "OwnPasswordsOnly",
    ] {
        assert!(!violations.contains(&format!("(statement \"{right}\")")), "{right} is right:\n{violations}");
    }
}

/// With restore tests on, the function's environment and its role's policy resolve as
/// CloudFormation would resolve them (what the harness deploys on the emulator): every
/// contract variable, the id lists split for the EC2 conditions, no intrinsic left.
#[test]
fn the_restore_tester_resolves_with_its_parameters() {
    use offsite_infra::resolve::Deployment;
    use std::collections::BTreeMap;

    let vault = Template::load("vault").unwrap_or_else(|e| panic!("{e}"));
    let parameters = [
        ("BreakGlassRoleArn", "arn:aws:iam::222222222222:role/break-glass"),
        ("AllowedSources", "[]"),
        ("AllowedTopicArns", "arn:aws:sns:eu-west-1:111111111111:offsite"),
        ("AllowedExportKeyArns", "arn:aws:kms:eu-west-1:111111111111:key/k"),
        ("CodeBucket", "code"),
        ("RestoreTestSubnetGroup", "restore-tests"),
        ("RestoreTestSecurityGroupIds", "sg-0123456789abcdef0,sg-0fedcba9876543210"),
        ("RestoreTestSubnetIds", "subnet-0123456789abcdef0"),
        ("RestoreTestEvidenceBucket", "evidence"),
    ];
    let mut d = Deployment {
        parameters: parameters.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        account: "222222222222".into(),
        region: "eu-west-1".into(),
        stack_name: "offsite-vault".into(),
        resources: BTreeMap::from([
            ("ImportKey.Arn".into(), "arn:aws:kms:eu-west-1:222222222222:key/import".into()),
            ("ScheduleFailureQueue.Arn".into(), "arn:aws:sqs:eu-west-1:222222222222:failures".into()),
            ("RestoreTestLogGroup.Arn".into(), "arn:aws:logs:eu-west-1:222222222222:log-group:rt:*".into()),
        ]),
    };
    assert_eq!(d.condition(&vault, "HasRestoreTest"), Ok(true));
    assert_eq!(d.condition(&vault, "HasRestoreTestEvidence"), Ok(true));
    assert_eq!(d.condition(&vault, "HasRestoreTestEvidenceKey"), Ok(false));
    let env = d.function_env(&vault, "offsite-restore-test").unwrap_or_else(|e| panic!("{e}"));
    for (name, value) in [
        ("OFFSITE_RESTORE_TEST_EVERY", "7d"),
        ("OFFSITE_RESTORE_TEST_PICK", "latest"),
        ("OFFSITE_RESTORE_TEST_SUBNET_GROUP", "restore-tests"),
        ("OFFSITE_RESTORE_TEST_SECURITY_GROUPS", "sg-0123456789abcdef0,sg-0fedcba9876543210"),
        ("OFFSITE_RESTORE_TEST_INSTANCE_CLASS", "db.t4g.micro"),
        ("OFFSITE_RESTORE_TEST_CLUSTER_INSTANCE_CLASS", "db.t4g.medium"),
        ("OFFSITE_RESTORE_TEST_AVAILABLE_WITHIN", "3h"),
        ("OFFSITE_RESTORE_TEST_MAX_RUNNING", "2"),
        ("OFFSITE_RESTORE_TEST_EVIDENCE_BUCKET", "evidence"),
        ("OFFSITE_RESTORE_TEST_EVIDENCE_PREFIX", "offsite"),
    ] {
        assert_eq!(env.get(name).map(String::as_str), Some(value), "{name} in {env:?}");
    }
    let role = vault.resource("RestoreTestRole").expect("the restore tester's role");
    let policy =
        d.document(&vault, &role["Properties"]["Policies"][0]["PolicyDocument"]).unwrap_or_else(|e| panic!("{e}"));
    let text = policy.to_string();
    assert!(!text.contains("Fn::") && !text.contains("\"Ref\""), "{text}");
    let statement = |sid: &str| {
        policy["Statement"].as_array().into_iter().flatten().find(|s| s["Sid"] == sid).cloned().unwrap_or_default()
    };
    assert_eq!(
        statement("WithTheRestoreTestSecurityGroupsOnly")["Condition"]["StringEquals"]["ec2:SecurityGroupID"],
        serde_json::json!(["sg-0123456789abcdef0", "sg-0fedcba9876543210"])
    );
    assert_eq!(
        statement("WriteEvidenceRecordsOnly")["Resource"],
        "arn:aws:s3:::evidence/offsite/restore-tests/*",
        "{text}"
    );
    assert!(statement("EvidenceKeyThroughS3Only").is_null(), "no key, no statement: {text}");
    assert!(
        statement("UseTheSubnetGroupAndTheDefaultGroups")["Resource"][0]
            == "arn:aws:rds:eu-west-1:222222222222:subgrp:restore-tests",
        "{text}"
    );
    assert!(statement("ManagePasswordsOfOwnRestoresOnly").is_null(), "no data checks, no modify: {text}");
    assert!(statement("ReadOwnInstanceRestoresPasswordsOnly").is_null(), "no data checks, no secret: {text}");

    // The data checks: the modify, the managed secrets, the CA bundle's object only.
    d.parameters.insert("RestoreTestChecks".into(), r#"[{"source": "*", "row_counts": [{"table": "t"}]}]"#.into());
    d.parameters.insert("RestoreTestCaBundle".into(), "s3://vault-ca/rds/global-bundle.pem".into());
    assert_eq!(d.condition(&vault, "HasRestoreTestChecks"), Ok(true));
    assert_eq!(d.condition(&vault, "HasRestoreTestCaBundleInS3"), Ok(true));
    let env = d.function_env(&vault, "offsite-restore-test").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        env.get("OFFSITE_RESTORE_TEST_CA_BUNDLE").map(String::as_str),
        Some("s3://vault-ca/rds/global-bundle.pem")
    );
    let policy =
        d.document(&vault, &role["Properties"]["Policies"][0]["PolicyDocument"]).unwrap_or_else(|e| panic!("{e}"));
    let text = policy.to_string();
    let statement = |sid: &str| {
        policy["Statement"].as_array().into_iter().flatten().find(|s| s["Sid"] == sid).cloned().unwrap_or_default()
    };
    assert_eq!(statement("ReadTheCaBundleOnly")["Resource"], "arn:aws:s3:::vault-ca/rds/global-bundle.pem", "{text}");
    assert_eq!(
        statement("ReadOwnInstanceRestoresPasswordsOnly")["Condition"]["StringLike"]["aws:ResourceTag/aws:rds:primaryDBInstanceArn"],
        "arn:aws:rds:eu-west-1:222222222222:db:rt-*"
    );
    assert_eq!(
        statement("ManagePasswordsOfOwnRestoresOnly")["Condition"]["Bool"]["rds:ManageMasterUserPassword"],
        "true"
    );
    // A bundle in the function's file system: no S3 statement.
    d.parameters.insert("RestoreTestCaBundle".into(), "/opt/rds/global-bundle.pem".into());
    assert_eq!(d.condition(&vault, "HasRestoreTestCaBundleInS3"), Ok(false));
    assert_eq!(d.condition(&vault, "HasSecondRegionRestoreTest"), Ok(false));
    assert!(statement("RestoreFromSecondRegionCopiesOnly").is_null(), "no second region, no statement: {text}");
    let env = d.function_env(&vault, "offsite-restore-test").unwrap_or_else(|e| panic!("{e}"));
    assert!(!env.contains_key("OFFSITE_DR_REGION"), "no second region tested: {env:?}");

    // The second region's tests: its region and network in the environment, and every grant
    // on rt-* restores, the subnet group, the copies and the key there too.
    d.parameters.insert("DrRegion".into(), "eu-central-1".into());
    d.parameters.insert("DrKeyArn".into(), "arn:aws:kms:eu-central-1:222222222222:key/dr".into());
    d.parameters.insert("RestoreTestSecondRegionSubnetGroup".into(), "restore-tests-dr".into());
    d.parameters.insert("RestoreTestSecondRegionSecurityGroupIds".into(), "sg-00000000000000001".into());
    assert_eq!(d.condition(&vault, "HasSecondRegionRestoreTest"), Ok(true));
    assert_eq!(d.condition(&vault, "HasSecondRegionRestoreTestChecks"), Ok(false), "the data checks there: asked");
    let env = d.function_env(&vault, "offsite-restore-test").unwrap_or_else(|e| panic!("{e}"));
    for (name, value) in [
        ("OFFSITE_DR_REGION", "eu-central-1"),
        ("OFFSITE_RESTORE_TEST_SECOND_REGION_SUBNET_GROUP", "restore-tests-dr"),
        ("OFFSITE_RESTORE_TEST_SECOND_REGION_SECURITY_GROUPS", "sg-00000000000000001"),
        ("OFFSITE_RESTORE_TEST_SECOND_REGION_CHECKS", "false"),
    ] {
        assert_eq!(env.get(name).map(String::as_str), Some(value), "{name} in {env:?}");
    }
    let policy =
        d.document(&vault, &role["Properties"]["Policies"][0]["PolicyDocument"]).unwrap_or_else(|e| panic!("{e}"));
    let text = policy.to_string();
    let statement = |sid: &str| {
        policy["Statement"].as_array().into_iter().flatten().find(|s| s["Sid"] == sid).cloned().unwrap_or_default()
    };
    let resources = |sid: &str| -> Vec<String> {
        statement(sid)["Resource"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect()
    };
    for sid in ["RestoreInstancesIntoNewMarkedDatabases", "DeleteOwnRestoresOnly", "StageTagsOnOwnRestoresOnly"] {
        assert!(resources(sid).contains(&"arn:aws:rds:eu-central-1:222222222222:db:rt-*".to_owned()), "{sid}: {text}");
    }
    assert!(
        resources("UseTheSubnetGroupAndTheDefaultGroups")
            .contains(&"arn:aws:rds:eu-central-1:222222222222:subgrp:restore-tests-dr".to_owned()),
        "{text}"
    );
    let from_there = statement("RestoreFromSecondRegionCopiesOnly");
    assert_eq!(from_there["Condition"]["StringEquals"]["aws:ResourceTag/offsite:managed-by"], "offsite-import-dr");
    assert_eq!(from_there["Resource"][0], "arn:aws:rds:eu-central-1:222222222222:snapshot:vault-*");
    assert_eq!(statement("SecondRegionKeyGrantsForRds")["Resource"], "arn:aws:kms:eu-central-1:222222222222:key/dr");
    assert_eq!(
        statement("SecondRegionKeyGrantsForRds")["Condition"]["StringEquals"]["kms:ViaService"],
        "rds.eu-central-1.amazonaws.com"
    );
    assert!(statement("ReadOwnSecondRegionInstanceRestoresPasswordsOnly").is_null(), "no checks there: {text}");
    assert_eq!(resources("ManagePasswordsOfOwnRestoresOnly").len(), 2, "modify here only: {text}");
    // With the data checks there: the modify and the passwords there too.
    d.parameters.insert("RestoreTestSecondRegionChecks".into(), "true".into());
    assert_eq!(d.condition(&vault, "HasSecondRegionRestoreTestChecks"), Ok(true));
    let policy =
        d.document(&vault, &role["Properties"]["Policies"][0]["PolicyDocument"]).unwrap_or_else(|e| panic!("{e}"));
    let statement = |sid: &str| {
        policy["Statement"].as_array().into_iter().flatten().find(|s| s["Sid"] == sid).cloned().unwrap_or_default()
    };
    assert_eq!(statement("ManagePasswordsOfOwnRestoresOnly")["Resource"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        statement("ReadOwnSecondRegionClusterRestoresPasswordsOnly")["Condition"]["StringLike"]["aws:ResourceTag/aws:rds:primaryDBClusterArn"],
        "arn:aws:rds:eu-central-1:222222222222:cluster:rt-*"
    );

    // Without a subnet group: no restore tests.
    d.parameters.remove("RestoreTestSubnetGroup");
    assert_eq!(d.condition(&vault, "HasRestoreTest"), Ok(false));
    assert_eq!(d.condition(&vault, "HasRestoreTestChecks"), Ok(false));
}

/// `make package` builds and zips every function the stacks deploy: each
/// `${CodePrefix}<binary>.zip` a template names is one of the Makefile's `LAMBDA_BINARIES`,
/// and each of those is deployed (the restore tester was once left out: its stack would not
/// have found its code).
#[test]
fn make_package_zips_exactly_the_functions_the_templates_deploy() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let makefile = read("Makefile");
    let packaged: std::collections::BTreeSet<&str> = makefile
        .lines()
        .find_map(|line| line.strip_prefix("LAMBDA_BINARIES :="))
        .expect("the Makefile's LAMBDA_BINARIES")
        .split_whitespace()
        .collect();
    let mut deployed = std::collections::BTreeSet::new();
    for template in ["infra/workload.yaml", "infra/vault.yaml", "infra/auditor.yaml"] {
        let text = read(template);
        for (_, rest) in text.match_indices("${CodePrefix}").map(|(at, _)| text.split_at(at + "${CodePrefix}".len())) {
            let name = rest.split_once(".zip").map(|(name, _)| name.to_owned()).unwrap_or_default();
            deployed.insert(name);
        }
    }
    let deployed: std::collections::BTreeSet<&str> = deployed.iter().map(String::as_str).collect();
    assert_eq!(packaged, deployed, "LAMBDA_BINARIES (Makefile) against the templates' code keys");
}
