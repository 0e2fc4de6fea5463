//! Resolves the values a template gives its functions (environment variables) the way
//! CloudFormation would, for one deployment: parameters, pseudo parameters, the attributes of
//! resources created elsewhere (e.g. by a test on the emulator), and the intrinsic functions
//! the templates use in those values. So a test can run a binary with exactly the
//! environment its template gives it.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Template;

/// Everything a value may refer to.
#[derive(Debug, Clone, Default)]
pub struct Deployment {
    /// Parameter values given at deployment; the others take the template's `Default`.
    pub parameters: BTreeMap<String, String>,
    pub account: String,
    pub region: String,
    pub stack_name: String,
    /// Resource values: `Logical` (what `Ref` gives) and `Logical.Attribute` (`Fn::GetAtt`).
    pub resources: BTreeMap<String, String>,
}

/// A value that cannot be resolved, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{template}: cannot resolve {what}: {why}")]
pub struct ResolveError {
    pub template: String,
    pub what: String,
    pub why: String,
}

impl Deployment {
    fn partition(&self) -> &'static str {
        if self.region.starts_with("cn-") {
            "aws-cn"
        } else if self.region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    }

    /// A name as `Ref` or `${name}` sees it: pseudo parameter, parameter, resource.
    fn name(&self, t: &Template, name: &str) -> Result<String, ResolveError> {
        let fail = |why: &str| ResolveError { template: t.name.clone(), what: name.to_owned(), why: why.to_owned() };
        let pseudo = match name {
            "AWS::AccountId" => Some(self.account.clone()),
            "AWS::Region" => Some(self.region.clone()),
            "AWS::Partition" => Some(self.partition().to_owned()),
            "AWS::StackName" => Some(self.stack_name.clone()),
            "AWS::URLSuffix" => {
                Some(if self.region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" }.to_owned())
            }
            _ => None,
        };
        if let Some(value) = pseudo {
            return Ok(value);
        }
        if let Some(parameter) = t.doc["Parameters"].get(name) {
            if let Some(given) = self.parameters.get(name) {
                return Ok(given.clone());
            }
            return match &parameter["Default"] {
                Value::Null => Err(fail("a parameter without a default, not given")),
                Value::String(s) => Ok(s.clone()),
                other => Ok(other.to_string()),
            };
        }
        self.resources.get(name).cloned().ok_or_else(|| fail("neither a parameter nor a known resource"))
    }

    /// Whether the template's condition `name` holds.
    pub fn condition(&self, t: &Template, name: &str) -> Result<bool, ResolveError> {
        let condition = t.doc["Conditions"].get(name).ok_or_else(|| ResolveError {
            template: t.name.clone(),
            what: format!("condition {name}"),
            why: "not in Conditions".to_owned(),
        })?;
        self.truth(t, condition)
    }

    fn truth(&self, t: &Template, value: &Value) -> Result<bool, ResolveError> {
        let fail = |why: String| ResolveError { template: t.name.clone(), what: value.to_string(), why };
        let Some((function, args)) = value.as_object().and_then(|o| o.iter().next()) else {
            return Err(fail("not a condition function".to_owned()));
        };
        let items = args.as_array().cloned().unwrap_or_default();
        match function.as_str() {
            "Condition" => self.condition(t, args.as_str().unwrap_or_default()),
            "Fn::Equals" if items.len() == 2 => Ok(self.string(t, &items[0])? == self.string(t, &items[1])?),
            "Fn::Not" if items.len() == 1 => Ok(!self.truth(t, &items[0])?),
            "Fn::And" => items.iter().try_fold(true, |all, i| Ok(all && self.truth(t, i)?)),
            "Fn::Or" => items.iter().try_fold(false, |any, i| Ok(any || self.truth(t, i)?)),
            other => Err(fail(format!("condition function {other} is not supported"))),
        }
    }

    /// A value as a string, intrinsics resolved. `Ok(None)` for `AWS::NoValue`.
    pub fn value(&self, t: &Template, value: &Value) -> Result<Option<String>, ResolveError> {
        let fail = |why: String| ResolveError { template: t.name.clone(), what: value.to_string(), why };
        match value {
            Value::String(s) => return Ok(Some(s.clone())),
            Value::Number(n) => return Ok(Some(n.to_string())),
            Value::Bool(b) => return Ok(Some(b.to_string())),
            _ => {}
        }
        let Some((function, args)) = value.as_object().filter(|o| o.len() == 1).and_then(|o| o.iter().next()) else {
            return Err(fail("not a scalar or an intrinsic function".to_owned()));
        };
        let items = args.as_array().cloned().unwrap_or_default();
        match function.as_str() {
            "Ref" if args == "AWS::NoValue" => Ok(None),
            "Ref" => self.name(t, args.as_str().unwrap_or_default()).map(Some),
            "Fn::GetAtt" => {
                let key = match args {
                    Value::Array(parts) => parts.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("."),
                    other => other.as_str().unwrap_or_default().to_owned(),
                };
                self.resources.get(&key).cloned().map(Some).ok_or_else(|| fail(format!("no value for {key}")))
            }
            "Fn::Sub" => {
                let (text, vars) = match args {
                    Value::String(text) => (text.clone(), serde_json::Map::new()),
                    Value::Array(parts) if parts.len() == 2 => (
                        parts[0].as_str().unwrap_or_default().to_owned(),
                        parts[1].as_object().cloned().unwrap_or_default(),
                    ),
                    _ => return Err(fail("Fn::Sub takes a string or [string, variables]".to_owned())),
                };
                self.substitute(t, &text, &vars).map(Some)
            }
            "Fn::Join" if items.len() == 2 => {
                let separator = items[0].as_str().unwrap_or_default();
                let parts = self.list(t, &items[1])?;
                Ok(Some(parts.join(separator)))
            }
            "Fn::If" if items.len() == 3 => {
                let name = items[0].as_str().unwrap_or_default();
                let chosen = if self.condition(t, name)? { &items[1] } else { &items[2] };
                self.value(t, chosen)
            }
            "Fn::Select" if items.len() == 2 => {
                let index = self.string(t, &items[0])?.parse::<usize>().map_err(|e| fail(e.to_string()))?;
                let list = self.list(t, &items[1])?;
                list.get(index).cloned().map(Some).ok_or_else(|| fail(format!("no item {index}")))
            }
            "Fn::FindInMap" if items.len() == 3 => {
                let keys = items.iter().map(|i| self.string(t, i)).collect::<Result<Vec<_>, _>>()?;
                match &t.doc["Mappings"][&keys[0]][&keys[1]][&keys[2]] {
                    Value::String(s) => Ok(Some(s.clone())),
                    Value::Number(n) => Ok(Some(n.to_string())),
                    Value::Bool(b) => Ok(Some(b.to_string())),
                    _ => Err(fail(format!("no scalar at Mappings.{}.{}.{}", keys[0], keys[1], keys[2]))),
                }
            }
            other => Err(fail(format!("{other} is not supported here"))),
        }
    }

    /// Whether `name` is a parameter of a list type (`CommaDelimitedList`, `List<…>`), whose
    /// `Ref` is a list.
    fn is_list_parameter(t: &Template, name: &str) -> bool {
        t.doc["Parameters"][name]["Type"]
            .as_str()
            .is_some_and(|kind| kind == "CommaDelimitedList" || kind.starts_with("List<"))
    }

    /// A whole JSON document (a policy document, a key policy, a trust policy, a resource's
    /// properties) with every intrinsic function resolved as CloudFormation resolves it:
    /// objects and arrays are walked; `Ref` (a list parameter gives an array), `Fn::GetAtt`,
    /// `Fn::Sub`, `Fn::Join`, `Fn::FindInMap` give strings; `Fn::If` gives its chosen branch,
    /// which may be an object or an array; `Fn::Select` an item of a list (also of a literal
    /// array of objects); `Fn::Split` an array of strings. `AWS::NoValue` removes the
    /// property or array item it stands for (a whole document that is `AWS::NoValue` is
    /// `null`).
    pub fn document(&self, t: &Template, value: &Value) -> Result<Value, ResolveError> {
        Ok(self.resolve_document(t, value)?.unwrap_or(Value::Null))
    }

    fn resolve_document(&self, t: &Template, value: &Value) -> Result<Option<Value>, ResolveError> {
        let fail = |why: String| ResolveError { template: t.name.clone(), what: value.to_string(), why };
        match value {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if let Some(resolved) = self.resolve_document(t, item)? {
                        out.push(resolved);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            Value::Object(object) => {
                let intrinsic = object
                    .iter()
                    .next()
                    .filter(|(k, _)| object.len() == 1 && (k.as_str() == "Ref" || k.starts_with("Fn::")));
                let Some((function, args)) = intrinsic else {
                    let mut out = serde_json::Map::new();
                    for (key, item) in object {
                        if let Some(resolved) = self.resolve_document(t, item)? {
                            out.insert(key.clone(), resolved);
                        }
                    }
                    return Ok(Some(Value::Object(out)));
                };
                let items = args.as_array().cloned().unwrap_or_default();
                match function.as_str() {
                    "Ref" if args.as_str().is_some_and(|name| Self::is_list_parameter(t, name)) => {
                        let list = self.list(t, value)?;
                        Ok(Some(Value::Array(list.into_iter().map(Value::String).collect())))
                    }
                    "Fn::If" if items.len() == 3 => {
                        let name = items[0].as_str().unwrap_or_default();
                        let chosen = if self.condition(t, name)? { &items[1] } else { &items[2] };
                        self.resolve_document(t, chosen)
                    }
                    "Fn::Split" => {
                        let list = self.list(t, value)?;
                        Ok(Some(Value::Array(list.into_iter().map(Value::String).collect())))
                    }
                    "Fn::Select" if items.len() == 2 => {
                        let index = self.string(t, &items[0])?.parse::<usize>().map_err(|e| fail(e.to_string()))?;
                        let list = match self.resolve_document(t, &items[1])? {
                            Some(Value::Array(list)) => list,
                            _ => return Err(fail("Fn::Select needs a list".to_owned())),
                        };
                        list.get(index).cloned().map(Some).ok_or_else(|| fail(format!("no item {index}")))
                    }
                    _ => Ok(self.value(t, value)?.map(Value::String)),
                }
            }
            scalar => Ok(Some(scalar.clone())),
        }
    }

    fn string(&self, t: &Template, value: &Value) -> Result<String, ResolveError> {
        Ok(self.value(t, value)?.unwrap_or_default())
    }

    fn list(&self, t: &Template, value: &Value) -> Result<Vec<String>, ResolveError> {
        match value {
            Value::Array(items) => {
                items.iter().map(|i| self.value(t, i)).filter_map(Result::transpose).collect::<Result<Vec<_>, _>>()
            }
            Value::Object(o) if o.contains_key("Fn::If") => match self.resolve_document(t, value)? {
                Some(Value::Array(items)) => items.iter().map(|i| self.string(t, i)).collect(),
                Some(other) => Ok(self.string(t, &other)?.split(',').map(str::to_owned).collect()),
                None => Ok(Vec::new()),
            },
            Value::Object(o) if o.contains_key("Fn::Split") => {
                let args = o["Fn::Split"].as_array().cloned().unwrap_or_default();
                let separator = args.first().and_then(Value::as_str).unwrap_or(",");
                let text = args.get(1).map(|v| self.string(t, v)).transpose()?.unwrap_or_default();
                Ok(text.split(separator).map(str::to_owned).collect())
            }
            // A Ref to a CommaDelimitedList parameter.
            other => Ok(self.string(t, other)?.split(',').map(str::to_owned).collect()),
        }
    }

    fn substitute(
        &self,
        t: &Template,
        text: &str,
        vars: &serde_json::Map<String, Value>,
    ) -> Result<String, ResolveError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| ResolveError {
                template: t.name.clone(),
                what: text.to_owned(),
                why: "unclosed ${".to_owned(),
            })?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(var) = vars.get(name) {
                out.push_str(&self.string(t, var)?);
            } else if name.contains('.') && !name.starts_with("AWS::") {
                let value = self.resources.get(name).ok_or_else(|| ResolveError {
                    template: t.name.clone(),
                    what: name.to_owned(),
                    why: "no value for this attribute".to_owned(),
                })?;
                out.push_str(value);
            } else {
                out.push_str(&self.name(t, name)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The environment the template gives the function that runs `binary`: every variable,
    /// resolved; those resolving to `AWS::NoValue` are left out.
    pub fn function_env(&self, t: &Template, binary: &str) -> Result<BTreeMap<String, String>, ResolveError> {
        let (_, function) = t.function(binary).ok_or_else(|| ResolveError {
            template: t.name.clone(),
            what: binary.to_owned(),
            why: "no function runs this binary".to_owned(),
        })?;
        let mut env = BTreeMap::new();
        for (name, value) in function["Properties"]["Environment"]["Variables"].as_object().into_iter().flatten() {
            if let Some(resolved) = self.value(t, value)? {
                env.insert(name.clone(), resolved);
            }
        }
        Ok(env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_resolve_like_cloudformation() {
        let t = Template::parse(
            "t",
            r#"
Parameters:
  Window: {Type: String, Default: 48h}
  Vault: {Type: String}
  Tables: {Type: String, Default: ""}
Conditions:
  HasTables: {"Fn::Not": [{"Fn::Equals": [{Ref: Tables}, ""]}]}
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Code: {S3Key: offsite-scanner.zip}
      Environment:
        Variables:
          WINDOW: {Ref: Window}
          VAULT: {Ref: Vault}
          KEY: {"Fn::GetAtt": [Key, Arn]}
          TOPIC: {Ref: Topic}
          ROLE: {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/x-${AWS::Region}-${!Literal}"}
          TABLES: {"Fn::If": [HasTables, {Ref: Tables}, {Ref: "AWS::NoValue"}]}
          LIST: {"Fn::Join": [",", [a, {Ref: Window}]]}
          NUMBER: 5
"#,
        )
        .expect("template");
        let mut d = Deployment {
            account: "111111111111".into(),
            region: "eu-west-1".into(),
            parameters: BTreeMap::from([("Vault".into(), "222222222222".into())]),
            resources: BTreeMap::from([("Key.Arn".into(), "arn:key".into()), ("Topic".into(), "arn:topic".into())]),
            ..Deployment::default()
        };
        let env = d.function_env(&t, "offsite-scanner").expect("resolves");
        assert_eq!(env["WINDOW"], "48h");
        assert_eq!(env["VAULT"], "222222222222");
        assert_eq!(env["KEY"], "arn:key");
        assert_eq!(env["TOPIC"], "arn:topic");
        assert_eq!(env["ROLE"], "arn:aws:iam::111111111111:role/x-eu-west-1-${Literal}");
        assert_eq!(env["LIST"], "a,48h");
        assert_eq!(env["NUMBER"], "5");
        assert!(!env.contains_key("TABLES"), "AWS::NoValue leaves the variable out");
        d.parameters.insert("Tables".into(), "orders".into());
        assert_eq!(d.function_env(&t, "offsite-scanner").expect("resolves")["TABLES"], "orders");
        d.parameters.remove("Vault");
        let err = d.function_env(&t, "offsite-scanner").expect_err("Vault has no default");
        assert!(err.to_string().contains("Vault"), "{err}");
    }

    #[test]
    fn documents_resolve_like_cloudformation() {
        let t = Template::parse(
            "t",
            r#"
Parameters:
  Topics: {Type: CommaDelimitedList}
  Dr: {Type: String, Default: ""}
  Timeout: {Type: Number, Default: 300}
Mappings:
  Visibility: {"300": {Seconds: 1800}}
Conditions:
  HasDr: {"Fn::Not": [{"Fn::Equals": [{Ref: Dr}, ""]}]}
Resources:
  Queue: {Type: AWS::SQS::Queue}
"#,
        )
        .expect("template");
        let mut d = Deployment {
            account: "222222222222".into(),
            region: "us-east-1".into(),
            stack_name: "s".into(),
            parameters: BTreeMap::from([("Topics".into(), "arn:t1,arn:t2".into())]),
            resources: BTreeMap::from([("Queue.Arn".into(), "arn:aws:sqs:us-east-1:222222222222:q".into())]),
        };
        let document = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "A", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                 "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["Queue", "Arn"]},
                 "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": "Topics"}}}},
                {"Fn::If": ["HasDr", {"Sid": "Dr", "Effect": "Allow", "Action": "rds:CopyDBSnapshot",
                    "Resource": {"Fn::Sub": "arn:${AWS::Partition}:rds:${Dr}:${AWS::AccountId}:snapshot:*"}},
                    {"Ref": "AWS::NoValue"}]},
                {"Sid": "Keys", "Effect": "Allow", "Action": "kms:DescribeKey",
                 "Resource": {"Fn::If": ["HasDr", ["a", "b"], ["a"]]},
                 "Condition": {"StringEquals": {"kms:ViaService": {"Fn::Join": [".", ["rds", {"Ref": "AWS::Region"}, "amazonaws.com"]]}},
                               "Bool": {"Fn::If": ["HasDr", {"x": "true"}, {"Ref": "AWS::NoValue"}]}}},
                {"Sid": "Pick", "Effect": "Allow", "Action": "sns:Subscribe",
                 "Resource": {"Fn::Select": [1, {"Ref": "Topics"}]},
                 "NotResource": {"Fn::Select": [0, {"Fn::Split": ["/", "x/y"]}]}}
            ],
            "Timeout": {"Fn::FindInMap": ["Visibility", {"Ref": "Timeout"}, "Seconds"]},
            "Number": 5,
            "Flag": true,
        });
        let resolved = d.document(&t, &document).expect("resolves");
        assert_eq!(
            resolved,
            serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "A", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                     "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:us-east-1:222222222222:q",
                     "Condition": {"ArnEquals": {"aws:SourceArn": ["arn:t1", "arn:t2"]}}},
                    {"Sid": "Keys", "Effect": "Allow", "Action": "kms:DescribeKey", "Resource": ["a"],
                     "Condition": {"StringEquals": {"kms:ViaService": "rds.us-east-1.amazonaws.com"}}},
                    {"Sid": "Pick", "Effect": "Allow", "Action": "sns:Subscribe", "Resource": "arn:t2", "NotResource": "x"}
                ],
                "Timeout": "1800",
                "Number": 5,
                "Flag": true,
            })
        );
        d.parameters.insert("Dr".into(), "us-west-2".into());
        let resolved = d.document(&t, &document).expect("resolves");
        assert_eq!(resolved["Statement"][1]["Resource"], "arn:aws:rds:us-west-2:222222222222:snapshot:*");
        assert_eq!(resolved["Statement"][2]["Resource"], serde_json::json!(["a", "b"]));
        assert_eq!(resolved["Statement"][2]["Condition"]["Bool"], serde_json::json!({"x": "true"}));
        assert_eq!(d.document(&t, &serde_json::json!({"Ref": "AWS::NoValue"})).expect("resolves"), Value::Null);
        let unknown = d.document(&t, &serde_json::json!({"Fn::GetAtt": ["Other", "Arn"]})).expect_err("unknown");
        assert!(unknown.to_string().contains("Other.Arn"), "{unknown}");
        let unsupported = d.document(&t, &serde_json::json!({"Fn::GetAZs": ""})).expect_err("unsupported");
        assert!(unsupported.to_string().contains("Fn::GetAZs"), "{unsupported}");
    }
}
