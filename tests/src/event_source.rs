//! Lambda's SQS event source mapping, as the harness plays it ("Using Lambda with Amazon
//! SQS"): receive what the queue shows, hand it to the function in batches of at most 10 as
//! the SQS event Lambda builds, then delete the records the partial batch response does not
//! name and let the others come back. The chaos run adds its faults around these steps
//! (lost, duplicated and reordered deliveries); the other suites build events with
//! [`sqs_event`].

use std::collections::BTreeSet;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use offsite_importer::envelope::{BatchResponse, SqsEvent};

use crate::{REGION, VAULT};

/// The ARN Lambda names as the records' source.
fn queue_arn() -> String {
    format!("arn:aws:sqs:{REGION}:{VAULT}:offsite-vault-notices")
}

/// One message as the mapping received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// `ApproximateReceiveCount`: 1 on the first delivery.
    pub receive_count: u32,
}

/// One pass over what the queue shows now, as the mapping polls it (with its own role's
/// client): short polls (the template's queue long-polls for 20 s), each message hidden for
/// `visibility_timeout` seconds.
pub async fn receive_visible(mapping: &Client, queue_url: &str, visibility_timeout: i32) -> Vec<Received> {
    let mut received = Vec::new();
    loop {
        let batch = mapping
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .visibility_timeout(visibility_timeout)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .unwrap_or_else(|e| panic!("receive: {}", DisplayErrorContext(e)))
            .messages
            .unwrap_or_default();
        if batch.is_empty() {
            return received;
        }
        received.extend(batch.into_iter().map(|message| {
            Received {
                receive_count: message
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1),
                message_id: message.message_id.unwrap_or_default(),
                receipt_handle: message.receipt_handle.unwrap_or_default(),
                body: message.body.unwrap_or_default(),
            }
        }));
    }
}

/// The SQS event Lambda delivers for `batch` (at most 10 records).
pub fn event_of(batch: &[Received]) -> SqsEvent {
    let records: Vec<serde_json::Value> =
        batch.iter().map(|m| record(&m.message_id, &m.receipt_handle, &m.body, m.receive_count)).collect();
    serde_json::from_value(serde_json::json!({ "Records": records })).expect("an SQS event")
}

/// The records the function handled: every one the partial batch response does not name.
pub fn succeeded(batch: &[Received], response: &BatchResponse) -> BTreeSet<String> {
    let failed: BTreeSet<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    batch.iter().filter(|m| !failed.contains(m.message_id.as_str())).map(|m| m.message_id.clone()).collect()
}

/// After an invocation: deletes the records in `succeeded` (with the mapping's client, as
/// Lambda does) and makes the others visible again at once, as if their visibility timeout
/// had passed (`world`: the harness's own client; the queue's redrive policy counts the
/// receives).
pub async fn settle(
    mapping: &Client,
    world: &Client,
    queue_url: &str,
    batch: &[Received],
    succeeded: &BTreeSet<String>,
) {
    for message in batch {
        let handle = &message.receipt_handle;
        if succeeded.contains(&message.message_id) {
            let deleted = mapping.delete_message().queue_url(queue_url).receipt_handle(handle).send().await;
            deleted.unwrap_or_else(|e| panic!("ack: {}", DisplayErrorContext(e)));
        } else {
            let back = world.change_message_visibility().queue_url(queue_url).receipt_handle(handle);
            back.visibility_timeout(0).send().await.unwrap_or_else(|e| panic!("return: {}", DisplayErrorContext(e)));
        }
    }
}

/// Messages in the queue, visible or in flight.
pub async fn queue_depth(sqs: &Client, queue_url: &str) -> u32 {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap_or_else(|e| panic!("queue attributes: {}", DisplayErrorContext(e)))
        .attributes
        .unwrap_or_default();
    [QueueAttributeName::ApproximateNumberOfMessages, QueueAttributeName::ApproximateNumberOfMessagesNotVisible]
        .iter()
        .filter_map(|name| attributes.get(name).and_then(|v| v.parse::<u32>().ok()))
        .sum()
}

/// The Lambda event an SQS event source mapping delivers for `bodies` ("Using Lambda with
/// Amazon SQS", example event), message ids `m-0`, `m-1`, ...
pub fn sqs_event(bodies: &[String]) -> SqsEvent {
    serde_json::from_value(sqs_event_json(bodies)).expect("an SQS event")
}

/// The same SQS event as JSON, as Lambda's event source mapping delivers it.
pub fn sqs_event_json(bodies: &[String]) -> serde_json::Value {
    let records: Vec<serde_json::Value> =
        bodies.iter().enumerate().map(|(i, body)| record(&format!("m-{i}"), &format!("handle-{i}"), body, 1)).collect();
    serde_json::json!({ "Records": records })
}

/// One record of the event, with the attributes Lambda copies from the message.
fn record(message_id: &str, receipt_handle: &str, body: &str, receive_count: u32) -> serde_json::Value {
    serde_json::json!({
        "messageId": message_id,
        "receiptHandle": receipt_handle,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": receive_count.to_string(),
            "SentTimestamp": "1795320000000",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1795320000001"
        },
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn(),
        "awsRegion": REGION
    })
}
