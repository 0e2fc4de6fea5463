//! Running as a role the emulator enforces (see `tests/emulator/patches/iam_enforce.py`).
//!
//! [`crate::Emulator::account`] gives the *bootstrap* identity of an account: a session of
//! `role/offsite-test`, a role no account's IAM holds, which the emulator leaves unrestricted.
//! A role created through the IAM API is enforced: its sessions are authorized by its inline
//! and attached policies, the resource policies and the key policies, as AWS does.
//! [`assume_role`] gets such a session from any caller, as a Lambda function gets its role's.

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_sts::error::SdkError;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;

/// An error of [`assume_role`]: the STS call failed (e.g. `AccessDenied` when the role's trust
/// policy does not admit the caller), or it answered without credentials.
pub type AssumeRoleFailure = SdkError<AssumeRoleError>;

/// An SDK configuration acting as a session `session` of `role_arn`, whose credentials come
/// from STS AssumeRole called with `caller`'s credentials. Endpoint and region are `caller`'s.
pub async fn assume_role(caller: &SdkConfig, role_arn: &str, session: &str) -> Result<SdkConfig, AssumeRoleFailure> {
    let assumed =
        aws_sdk_sts::Client::new(caller).assume_role().role_arn(role_arn).role_session_name(session).send().await?;
    let Some(credentials) = assumed.credentials() else {
        panic!("STS AssumeRole of {role_arn} answered without credentials");
    };
    let credentials = Credentials::new(
        credentials.access_key_id(),
        credentials.secret_access_key(),
        Some(credentials.session_token().to_owned()),
        None,
        "offsite-assume-role",
    );
    Ok(caller.clone().into_builder().credentials_provider(SharedCredentialsProvider::new(credentials)).build())
}

/// A trust policy that lets the principal `principal_arn` (a role ARN, or an account's
/// `arn:aws:iam::<account>:root`) assume the role.
pub fn trust_policy(principal_arn: &str) -> serde_json::Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "AWS": principal_arn },
            "Action": "sts:AssumeRole",
        }],
    })
}

/// A policy document of the given statements (`Version` 2012-10-17).
pub fn policy(statements: &[serde_json::Value]) -> serde_json::Value {
    serde_json::json!({ "Version": "2012-10-17", "Statement": statements })
}
