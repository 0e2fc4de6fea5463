//! The `PreSignedUrl` of a cross-region snapshot copy, in AWS GovCloud (US) only.
//!
//! `PreSignedUrl` "applies only to AWS GovCloud (US) Regions. It's ignored in other AWS
//! Regions" (RDS API Reference, API_CopyDBSnapshot and API_CopyDBClusterSnapshot,
//! `PreSignedUrl`). In the commercial partition an encrypted cross-region copy needs the
//! source ARN and the destination's `KmsKeyId`, and RDS reaches the source region through its
//! service-linked role (`rds:CrossRegionCommunication`). So [`presigned_url_applies`] decides,
//! from the source ARN's partition, whether a copy carries one; only the `aws-us-gov`
//! partition does (copies between GovCloud and other regions are not possible at all: RDS User
//! Guide, "Copying a DB snapshot", limitations).
//!
//! There, copying an encrypted snapshot from another region needs a presigned
//! `CopyDBSnapshot` / `CopyDBClusterSnapshot` request valid in the *source* region, carrying
//! `DestinationRegion`, `KmsKeyId` (the destination's key) and the source identifier. Other
//! SDKs generate it from `SourceRegion`; the Rust SDK has no such customization, so it is
//! signed here with SigV4 query parameters.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
use aws_sigv4::sign::v4;

use crate::snapshot::SnapshotKind;

/// How long the presigned request stays valid (the copy starts within seconds).
const VALID_FOR: Duration = Duration::from_secs(3600);

/// The partition in which RDS uses a copy's `PreSignedUrl`: AWS GovCloud (US).
pub const PRESIGNED_URL_PARTITION: &str = "aws-us-gov";

/// Whether a cross-region copy of `source_arn` must carry a `PreSignedUrl`: only when the
/// source is in the AWS GovCloud (US) partition (`arn:aws-us-gov:...`); RDS ignores the
/// parameter in other regions, so none is signed or sent there.
pub fn presigned_url_applies(source_arn: &str) -> bool {
    source_arn.split(':').nth(1) == Some(PRESIGNED_URL_PARTITION)
}

/// Presigns, with `source_config`'s credentials and region, the copy of `source_arn` into
/// `destination_region` under `destination_key`. Only for copies where
/// [`presigned_url_applies`].
pub async fn presign_copy(
    source_config: &SdkConfig,
    kind: SnapshotKind,
    source_arn: &str,
    target_identifier: &str,
    destination_region: &str,
    destination_key: &str,
) -> Result<String, String> {
    let region = source_config.region().map(|r| r.to_string()).ok_or("the source configuration has no region")?;
    let provider = source_config.credentials_provider().ok_or("no credentials to sign the copy with")?;
    let credentials = provider.provide_credentials().await.map_err(|e| format!("credentials: {e}"))?;
    let endpoint = source_config
        .endpoint_url()
        .map(|e| e.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| format!("https://rds.{region}.amazonaws.com"));
    let (action, source_param, target_param) = match kind {
        SnapshotKind::Instance => ("CopyDBSnapshot", "SourceDBSnapshotIdentifier", "TargetDBSnapshotIdentifier"),
        SnapshotKind::Cluster => {
            ("CopyDBClusterSnapshot", "SourceDBClusterSnapshotIdentifier", "TargetDBClusterSnapshotIdentifier")
        }
    };
    let query: String = [
        ("Action", action),
        ("Version", "2014-10-31"),
        (source_param, source_arn),
        (target_param, target_identifier),
        ("KmsKeyId", destination_key),
        ("DestinationRegion", destination_region),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", encode(v)))
    .collect::<Vec<_>>()
    .join("&");
    let url = format!("{endpoint}/?{query}");

    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(VALID_FOR);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&region)
        .name("rds")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| format!("signing parameters: {e}"))?
        .into();
    let request = SignableRequest::new("GET", url.as_str(), std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|e| format!("request to sign: {e}"))?;
    let (instructions, _signature) = sign(request, &params).map_err(|e| format!("signing: {e}"))?.into_parts();
    let signature: String = instructions.params().iter().map(|(k, v)| format!("&{k}={}", encode(v))).collect();
    Ok(format!("{url}{signature}"))
}

/// RFC 3986 percent-encoding of a query value (unreserved characters kept).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use aws_config::{BehaviorVersion, Region};
    use aws_credential_types::Credentials;

    use super::*;

    #[test]
    fn only_govcloud_copies_carry_a_presigned_url() {
        assert!(presigned_url_applies("arn:aws-us-gov:rds:us-gov-west-1:222222222222:snapshot:vault-orders-1"));
        assert!(presigned_url_applies("arn:aws-us-gov:rds:us-gov-east-1:222222222222:cluster-snapshot:vault-ledger-1"));
        for commercial in [
            "arn:aws:rds:eu-west-1:222222222222:snapshot:vault-orders-1",
            "arn:aws:rds:us-east-1:222222222222:cluster-snapshot:vault-ledger-1",
            "arn:aws-cn:rds:cn-north-1:222222222222:snapshot:vault-orders-1",
            "vault-orders-1",
            "",
        ] {
            assert!(!presigned_url_applies(commercial), "{commercial}");
        }
    }

    #[tokio::test]
    async fn the_url_is_a_signed_request_for_the_source_region() {
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-gov-west-1"))
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                Some("token".into()),
                None,
                "test",
            )))
            .build();
        let url = presign_copy(
            &config,
            SnapshotKind::Instance,
            "arn:aws-us-gov:rds:us-gov-west-1:222222222222:snapshot:vault-orders-1",
            "vault-orders-1",
            "us-gov-east-1",
            "arn:aws-us-gov:kms:us-gov-east-1:222222222222:key/dr",
        )
        .await
        .expect("presigned");
        assert!(
            url.starts_with("https://rds.us-gov-west-1.amazonaws.com/?Action=CopyDBSnapshot&Version=2014-10-31&"),
            "{url}"
        );
        for part in [
            "SourceDBSnapshotIdentifier=arn%3Aaws-us-gov%3Ards%3Aus-gov-west-1%3A222222222222%3Asnapshot%3Avault-orders-1",
            "DestinationRegion=us-gov-east-1",
            "KmsKeyId=arn%3Aaws-us-gov%3Akms%3Aus-gov-east-1%3A222222222222%3Akey%2Fdr",
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Credential=AKIDEXAMPLE%2F",
            "%2Fus-gov-west-1%2Frds%2Faws4_request",
            "X-Amz-Expires=3600",
            "X-Amz-Security-Token=token",
            "X-Amz-Signature=",
        ] {
            assert!(url.contains(part), "{part} missing from {url}");
        }
    }
}
