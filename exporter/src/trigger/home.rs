//! Where the exporter runs, and where the places an event claims are.

use std::fmt;

use offsite_common::account::AccountId;

/// The exporter's own partition, Region and account: those of its Lambda function.
///
/// Some events name a snapshot only by its identifier: RDS event notifications in the form the
/// aws-samples projects use (`"Source ID"` without `"Source ARN"`), or an EventBridge event whose
/// `detail.SourceArn` is not the snapshot's. The exporter then looks for that snapshot here, and
/// only here: no ARN is ever built in another account, Region or partition, and none is built
/// when the event itself says it comes from elsewhere (its envelope, its SNS topic, an RDS ARN
/// of another resource).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    partition: String,
    region: String,
    account: AccountId,
}

impl Home {
    /// From the function's own ARN, `arn:<partition>:lambda:<region>:<account>:function:<name>`
    /// with an optional `:<version or alias>`: what the Lambda runtime passes with every
    /// invocation (`Lambda-Runtime-Invoked-Function-Arn`, "Using the Lambda runtime API for
    /// custom runtimes"). `None` for anything else.
    pub fn from_function_arn(arn: &str) -> Option<Self> {
        let place = Place::of_arn(arn)?;
        let resource = arn.splitn(6, ':').nth(5)?;
        let name = resource.strip_prefix("function:")?.split(':').next()?;
        if place.service != "lambda" || name.is_empty() {
            return None;
        }
        Some(Self { partition: place.partition, region: place.region?, account: place.account?.parse().ok()? })
    }

    pub fn partition(&self) -> &str {
        &self.partition
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// Whether everything `place` states is here.
    pub(super) fn contains(&self, place: &Place) -> bool {
        place.partition == self.partition
            && place.region.as_deref().is_none_or(|r| r == self.region)
            && place.account.as_deref().is_none_or(|a| a == self.account.as_str())
    }
}

impl fmt::Display for Home {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "account {}, Region {}, partition {}", self.account, self.region, self.partition)
    }
}

/// Where an ARN says its resource is. Region and account are `None` where the ARN leaves them
/// empty (S3 buckets, IAM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Place {
    pub partition: String,
    pub service: String,
    pub region: Option<String>,
    pub account: Option<String>,
}

impl Place {
    /// `arn:<partition>:<service>:<region>:<account>:<resource>`, fields checked for the
    /// characters AWS uses; `None` for anything else.
    pub fn of_arn(arn: &str) -> Option<Self> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let ["arn", partition, service, region, account, resource] = parts[..] else {
            return None;
        };
        let word = |s: &str| s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let valid = partition.starts_with("aws")
            && word(partition)
            && !service.is_empty()
            && word(service)
            && word(region)
            && (account.is_empty() || account.parse::<AccountId>().is_ok())
            && !resource.is_empty();
        valid.then(|| Self {
            partition: partition.to_owned(),
            service: service.to_owned(),
            region: (!region.is_empty()).then(|| region.to_owned()),
            account: (!account.is_empty()).then(|| account.to_owned()),
        })
    }

    /// An event envelope's `account` and `region` (EventBridge): no partition of their own, so
    /// the home's is taken.
    pub fn of_envelope(home: &Home, region: Option<&str>, account: Option<&str>) -> Self {
        Self {
            partition: home.partition.clone(),
            service: String::new(),
            region: region.map(str::to_owned),
            account: account.map(str::to_owned),
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(account) = &self.account {
            parts.push(format!("account {account}"));
        }
        if let Some(region) = &self.region {
            parts.push(format!("Region {region}"));
        }
        parts.push(format!("partition {}", self.partition));
        f.write_str(&parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_home_is_read_from_the_function_arn() {
        let home = Home::from_function_arn("arn:aws:lambda:eu-west-1:111111111111:function:offsite-exporter")
            .expect("a function ARN");
        assert_eq!((home.partition(), home.region(), home.account().as_str()), ("aws", "eu-west-1", "111111111111"));
        assert_eq!(home.to_string(), "account 111111111111, Region eu-west-1, partition aws");
        let qualified = Home::from_function_arn("arn:aws-cn:lambda:cn-north-1:111111111111:function:f:live");
        assert_eq!(qualified.map(|h| h.partition), Some("aws-cn".to_owned()));
        for other in [
            "",
            "No header lambda-runtime-invoked-function-arn found.",
            "arn:aws:lambda:eu-west-1:111111111111:layer:x:1",
            "arn:aws:lambda:eu-west-1:1111:function:f",
            "arn:aws:lambda::111111111111:function:f",
            "arn:aws:lambda:eu-west-1:111111111111:function:",
            "arn:aws:sns:eu-west-1:111111111111:function:f",
            "arn:aws:lambda:EU-WEST-1:111111111111:function:f",
        ] {
            assert_eq!(Home::from_function_arn(other), None, "{other}");
        }
    }

    #[test]
    fn places_are_inside_the_home_only_where_everything_they_state_matches() {
        let home = Home::from_function_arn("arn:aws:lambda:us-east-1:123456789012:function:f").expect("ARN");
        let topic = Place::of_arn("arn:aws:sns:us-east-1:123456789012:rds-events").expect("ARN");
        assert!(home.contains(&topic));
        for elsewhere in [
            "arn:aws:sns:us-east-2:123456789012:rds-events",
            "arn:aws:sns:us-east-1:210987654321:rds-events",
            "arn:aws-cn:sns:us-east-1:123456789012:rds-events",
        ] {
            let place = Place::of_arn(elsewhere).expect("ARN");
            assert!(!home.contains(&place), "{elsewhere}");
        }
        assert!(home.contains(&Place::of_envelope(&home, Some("us-east-1"), None)));
        assert!(!home.contains(&Place::of_envelope(&home, None, Some("210987654321"))));
        assert_eq!(
            Place::of_envelope(&home, Some("eu-west-1"), Some("210987654321")).to_string(),
            "account 210987654321, Region eu-west-1, partition aws"
        );
        assert_eq!(Place::of_arn("orders"), None);
        assert_eq!(Place::of_arn("arn:aws:rds:us-east-1:12:db:orders"), None);
    }
}
