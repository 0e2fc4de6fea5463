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
            other => Err(fail(format!("{other} is not supported here"))),
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
}
