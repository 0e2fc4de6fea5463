//! What arrives at the importer: an SQS batch whose bodies are SNS envelopes (raw message
//! delivery off, so the topic ARN can be checked), and the partial batch response.
//!
//! Shapes: "Using Lambda with Amazon SQS" (event and `batchItemFailures`) and "Amazon SNS
//! message and JSON formats" (the `Notification` envelope) in the AWS documentation.

use serde::{Deserialize, Serialize};

/// SQS's largest message: nothing bigger can be a real delivery.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The Lambda event of an SQS event source mapping.
#[derive(Debug, Clone, Deserialize)]
pub struct SqsEvent {
    #[serde(rename = "Records")]
    pub records: Vec<SqsMessage>,
}

/// One SQS message.
#[derive(Debug, Clone, Deserialize)]
pub struct SqsMessage {
    #[serde(rename = "messageId")]
    pub message_id: String,
    pub body: String,
    /// The queue the message came from (`arn:aws:sqs:<region>:<account>:<name>`), where a
    /// notice deferred for capacity is sent again.
    #[serde(rename = "eventSourceARN", default)]
    pub event_source_arn: Option<String>,
}

/// The partial batch response: only the failed messages return to the queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

/// One failed message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// The parts of an SNS envelope the importer uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsEnvelope {
    pub topic_arn: String,
    pub message_id: String,
    pub message: String,
}

#[derive(Deserialize)]
struct RawEnvelope {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(rename = "MessageId")]
    message_id: String,
    #[serde(rename = "TopicArn")]
    topic_arn: String,
    #[serde(rename = "Message")]
    message: String,
}

/// Why a body is not an SNS notification envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("message body is {0} bytes, more than SQS allows")]
    TooLarge(usize),
    #[error("message body is not an SNS envelope (is raw delivery on?): {0}")]
    NotAnEnvelope(String),
    #[error("SNS message of type {0:?}, not a Notification")]
    NotANotification(String),
}

/// Opens the SNS envelope in an SQS body.
pub fn open(body: &str) -> Result<SnsEnvelope, EnvelopeError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(EnvelopeError::TooLarge(body.len()));
    }
    let raw: RawEnvelope = serde_json::from_str(body).map_err(|e| EnvelopeError::NotAnEnvelope(e.to_string()))?;
    if raw.kind != "Notification" {
        return Err(EnvelopeError::NotANotification(raw.kind));
    }
    Ok(SnsEnvelope { topic_arn: raw.topic_arn, message_id: raw.message_id, message: raw.message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_a_notification() {
        let body = serde_json::json!({
            "Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:aws:sns:us-east-1:111111111111:t",
            "Message": "{}", "Timestamp": "2026-11-22T04:00:00.000Z", "SignatureVersion": "1",
        })
        .to_string();
        let envelope = open(&body).expect("an envelope");
        assert_eq!(envelope.topic_arn, "arn:aws:sns:us-east-1:111111111111:t");
        assert_eq!(envelope.message, "{}");
    }

    #[test]
    fn refuses_raw_messages_confirmations_and_huge_bodies() {
        assert!(matches!(open(r#"{"version":1}"#), Err(EnvelopeError::NotAnEnvelope(_))));
        let confirmation = r#"{"Type":"SubscriptionConfirmation","MessageId":"m","TopicArn":"t","Message":"m"}"#;
        assert_eq!(open(confirmation), Err(EnvelopeError::NotANotification("SubscriptionConfirmation".into())));
        assert!(matches!(open(&"x".repeat(MAX_BODY_BYTES + 1)), Err(EnvelopeError::TooLarge(_))));
    }

    #[test]
    fn batch_response_has_the_documented_shape() {
        let response = BatchResponse { batch_item_failures: vec![ItemFailure { item_identifier: "id-1".into() }] };
        assert_eq!(
            serde_json::to_value(&response).expect("json"),
            serde_json::json!({"batchItemFailures":[{"itemIdentifier":"id-1"}]})
        );
    }
}
