//! Offsite's CloudFormation templates (`infra/*.yaml`) as data, and the security invariants
//! they must keep, checked by the test suite on every change.
//!
//! The templates use long-form intrinsic functions only (`Fn::Sub:`, `Ref:`), so a plain
//! YAML parser reads them. A check returns the violations it finds, each naming the
//! resource and the rule, so a failing test says what to fix.

use std::path::{Path, PathBuf};

use serde_json::Value;

pub mod checks;
pub mod resolve;

/// Why a template could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not YAML CloudFormation: {message}")]
    Parse { path: PathBuf, message: String },
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    pub doc: Value,
}

/// The `infra/` folder of this checkout.
pub fn infra_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

impl Template {
    /// Reads `infra/<name>.yaml`.
    pub fn load(name: &str) -> Result<Self, TemplateError> {
        let path = infra_dir().join(format!("{name}.yaml"));
        let text =
            std::fs::read_to_string(&path).map_err(|source| TemplateError::Read { path: path.clone(), source })?;
        Self::parse(name, &text).map_err(|message| TemplateError::Parse { path, message })
    }

    /// Parses template text (YAML or JSON).
    pub fn parse(name: &str, text: &str) -> Result<Self, String> {
        let doc: Value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        if !doc.get("Resources").is_some_and(Value::is_object) {
            return Err("no Resources mapping".to_owned());
        }
        Ok(Self { name: name.to_owned(), doc })
    }

    /// Every resource as (logical id, resource).
    pub fn resources(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.doc["Resources"].as_object().into_iter().flat_map(|r| r.iter().map(|(k, v)| (k.as_str(), v)))
    }

    /// The resources of one type, e.g. `AWS::IAM::Role`.
    pub fn of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> {
        self.resources().filter(move |(_, r)| r["Type"] == kind)
    }

    pub fn resource(&self, id: &str) -> Option<&Value> {
        self.doc["Resources"].get(id)
    }

    /// The Lambda function whose code is the binary `binary` (its S3 key names it), as
    /// (logical id, resource).
    pub fn function(&self, binary: &str) -> Option<(&str, &Value)> {
        let zip = format!("{binary}.zip");
        self.of_type("AWS::Lambda::Function").find(|(_, f)| f["Properties"]["Code"]["S3Key"].to_string().contains(&zip))
    }

    /// The logical id of the role a function runs as (`Fn::GetAtt: [Role, Arn]`).
    pub fn role_of(&self, function: &Value) -> Option<String> {
        let role = &function["Properties"]["Role"];
        let get_att = &role["Fn::GetAtt"];
        let id = match get_att {
            Value::Array(parts) => parts.first().and_then(Value::as_str).map(str::to_owned),
            Value::String(dotted) => dotted.split('.').next().map(str::to_owned),
            _ => None,
        };
        id.filter(|id| self.resource(id).is_some_and(|r| r["Type"] == "AWS::IAM::Role"))
    }

    /// Every IAM statement that applies to the role `role_id`: its inline policies and the
    /// `AWS::IAM::Policy`/`ManagedPolicy` resources attached to it by `Ref`.
    pub fn role_statements(&self, role_id: &str) -> Vec<Statement> {
        let mut documents = Vec::new();
        if let Some(role) = self.resource(role_id) {
            for policy in role["Properties"]["Policies"].as_array().into_iter().flatten() {
                documents.push(&policy["PolicyDocument"]);
            }
            for arn in role["Properties"]["ManagedPolicyArns"].as_array().into_iter().flatten() {
                if let Some(managed) = arn["Ref"].as_str().and_then(|id| self.resource(id)) {
                    documents.push(&managed["Properties"]["PolicyDocument"]);
                }
            }
        }
        for (_, policy) in self.of_type("AWS::IAM::Policy").chain(self.of_type("AWS::IAM::ManagedPolicy")) {
            let attached = policy["Properties"]["Roles"].as_array().into_iter().flatten().any(|r| r["Ref"] == role_id);
            if attached {
                documents.push(&policy["Properties"]["PolicyDocument"]);
            }
        }
        documents.into_iter().flat_map(Statement::all).collect()
    }

    /// A function's environment variable, as written in the template.
    pub fn env<'a>(&self, function: &'a Value, name: &str) -> Option<&'a Value> {
        function["Properties"]["Environment"]["Variables"].get(name)
    }
}

/// One IAM statement, normalised: actions lowercased, single values as lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sid: String,
    pub allow: bool,
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub resources: Vec<Value>,
    pub principal: Value,
    pub condition: Value,
}

fn list(value: &Value) -> Vec<Value> {
    match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

/// A statement list item as the statements it may stand for: `Fn::If: [condition, a, b]`
/// gives both branches (each possibly another `Fn::If`), `Ref: AWS::NoValue` none, so a
/// statement that exists only under a condition is checked like any other.
fn conditional_statements(item: &Value) -> Vec<Value> {
    if item["Ref"] == "AWS::NoValue" {
        return Vec::new();
    }
    match item["Fn::If"].as_array() {
        Some(branches) if branches.len() == 3 => branches[1..].iter().flat_map(conditional_statements).collect(),
        _ => vec![item.clone()],
    }
}

impl Statement {
    /// The statements of a policy document, also when the document is a JSON string under
    /// `Fn::Sub` (how a template puts a parameter into a condition key): its `${...}`
    /// references are left unresolved in the strings, which is all the checks need.
    pub fn all(document: &Value) -> Vec<Self> {
        let sub = match &document["Fn::Sub"] {
            Value::String(text) => Some(text.as_str()),
            Value::Array(parts) => parts.first().and_then(Value::as_str),
            _ => None,
        };
        if let Some(text) = sub {
            let parsed: Value = serde_json::from_str(text).unwrap_or_else(|e| {
                // An unreadable policy must fail the checks, not pass them unseen.
                serde_json::json!({"Statement": [{"Sid": format!("UNREADABLE: {e}"), "Effect": "Allow", "Action": "*"}]})
            });
            return Self::all(&parsed);
        }
        list(&document["Statement"]).iter().flat_map(conditional_statements).map(|s| Self::from_value(&s)).collect()
    }

    fn from_value(s: &Value) -> Self {
        let lower = |v: &Value| list(v).iter().map(|a| a.as_str().unwrap_or("?").to_ascii_lowercase()).collect();
        Self {
            sid: s["Sid"].as_str().unwrap_or_default().to_owned(),
            allow: s["Effect"] == "Allow",
            actions: lower(&s["Action"]),
            not_actions: lower(&s["NotAction"]),
            resources: list(&s["Resource"]),
            principal: s["Principal"].clone(),
            condition: s["Condition"].clone(),
        }
    }

    /// Whether the statement covers `action` (e.g. `rds:DeleteDBSnapshot`), wildcards
    /// included.
    pub fn covers(&self, action: &str) -> bool {
        let action = action.to_ascii_lowercase();
        if !self.not_actions.is_empty() {
            return !self.not_actions.iter().any(|p| wildcard_match(p, &action));
        }
        self.actions.iter().any(|p| wildcard_match(p, &action))
    }

    /// The condition's text (as written, `${...}` references included).
    pub fn condition_text(&self) -> String {
        self.condition.to_string()
    }

    /// The values the condition compares `key` with under exactly `operator` (e.g.
    /// `StringEquals`; `IfExists` and set qualifiers are other operators): what a check
    /// must judge, not the text (a `StringNotEquals` names the same key and value as a
    /// `StringEquals`). Condition keys are case-insensitive in IAM, operators are not.
    pub fn condition_values(&self, operator: &str, key: &str) -> Vec<Value> {
        let Some(block) = self.condition.get(operator).and_then(Value::as_object) else { return Vec::new() };
        block.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key)).flat_map(|(_, v)| list(v)).collect()
    }

    /// Whether any resource is `*`.
    pub fn any_resource(&self) -> bool {
        self.resources.iter().any(|r| r == "*")
    }
}

/// IAM-style matching: `*` any run, `?` one character; case already folded by the caller.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_iam() {
        assert!(wildcard_match("rds:delete*", "rds:deletedbsnapshot"));
        assert!(wildcard_match("*", "rds:deletedbsnapshot"));
        assert!(wildcard_match("rds:*snapshot", "rds:deletedbsnapshot"));
        assert!(wildcard_match("rds:delete?bsnapshot", "rds:deletedbsnapshot"));
        assert!(!wildcard_match("rds:describe*", "rds:deletedbsnapshot"));
        assert!(!wildcard_match("rds:delete", "rds:deletedbsnapshot"));
    }

    #[test]
    fn statements_are_collected_from_inline_and_attached_policies() {
        let template = Template::parse(
            "t",
            r#"
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Role: {"Fn::GetAtt": [FnRole, Arn]}
      Code: {S3Bucket: b, S3Key: {"Fn::Sub": "${CodePrefix}offsite-importer.zip"}}
  FnRole:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: inline
          PolicyDocument:
            Statement:
              Effect: Allow
              Action: RDS:CopyDBSnapshot
              Resource: "*"
  Extra:
    Type: AWS::IAM::Policy
    Properties:
      Roles: [{Ref: FnRole}]
      PolicyDocument:
        Statement:
          - {Effect: Deny, NotAction: "s3:*", Resource: "*"}
"#,
        )
        .expect("template");
        let (_, function) = template.function("offsite-importer").expect("function");
        let role = template.role_of(function).expect("role");
        let statements = template.role_statements(&role);
        assert_eq!(statements.len(), 2);
        assert!(statements[0].allow && statements[0].covers("rds:CopyDBSnapshot") && statements[0].any_resource());
        assert!(!statements[1].allow && statements[1].covers("rds:DeleteDBSnapshot") && !statements[1].covers("s3:x"));
        assert!(template.function("offsite-scanner").is_none());
    }

    #[test]
    fn statements_under_fn_if_are_read_in_both_branches() {
        let document = serde_json::json!({"Statement": [
            {"Fn::If": ["HasSecondRegion", {"Sid": "A", "Effect": "Allow", "Action": "rds:CopyDBSnapshot", "Resource": "*"}, {"Ref": "AWS::NoValue"}]},
            {"Fn::If": ["Other", {"Sid": "B", "Effect": "Allow", "Action": "rds:DeleteDBSnapshot", "Resource": "*"},
                {"Fn::If": ["Third", {"Sid": "C", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}, {"Ref": "AWS::NoValue"}]}]},
            {"Sid": "D", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}
        ]});
        let sids: Vec<String> = Statement::all(&document).into_iter().map(|s| s.sid).collect();
        assert_eq!(sids, ["A", "B", "C", "D"]);
    }

    #[test]
    fn json_policies_under_fn_sub_are_read_and_unreadable_ones_fail_loudly() {
        let document: Value = serde_json::json!({"Fn::Sub": "{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"rds:CopyDBSnapshot\", \"Resource\": \"*\", \"Condition\": {\"StringEquals\": {\"rds:snapshot-tag/${Key}\": \"${Value}\"}}}]}"});
        let statements = Statement::all(&document);
        assert_eq!(statements.len(), 1);
        assert!(statements[0].covers("rds:CopyDBSnapshot") && statements[0].condition_text().contains("${Key}"));
        let broken = Statement::all(&serde_json::json!({"Fn::Sub": "{not json"}));
        assert!(broken[0].covers("rds:DeleteDBSnapshot") && broken[0].sid.starts_with("UNREADABLE"));
    }
}
