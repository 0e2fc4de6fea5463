//! Publishing notices on SNS: `PublishBatch`, 10 entries a call (the API's limit).

use aws_sdk_sns::Client;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::PublishBatchRequestEntry;
use offsite_common::notice::Notice;

/// Entries per `PublishBatch` call (SNS API reference: at most 10).
pub const BATCH_SIZE: usize = 10;

/// Publishes `notices` to `topic_arn`; the result for each notice, in order.
pub async fn publish(client: &Client, topic_arn: &str, notices: &[Notice]) -> Vec<Result<(), String>> {
    let mut results = Vec::with_capacity(notices.len());
    for chunk in notices.chunks(BATCH_SIZE) {
        let entries: Result<Vec<_>, _> = chunk
            .iter()
            .enumerate()
            .map(|(i, notice)| {
                PublishBatchRequestEntry::builder()
                    .id(format!("n{i}"))
                    .message(notice.to_json())
                    .subject("offsite snapshot notice")
                    .build()
            })
            .collect();
        let sent = match entries {
            Ok(entries) => client
                .publish_batch()
                .topic_arn(topic_arn)
                .set_publish_batch_request_entries(Some(entries))
                .send()
                .await
                .map_err(|e| format!("PublishBatch {topic_arn}: {}", DisplayErrorContext(e))),
            Err(e) => Err(format!("cannot build the batch: {e}")),
        };
        match sent {
            Ok(output) => {
                for i in 0..chunk.len() {
                    let id = format!("n{i}");
                    let failure = output.failed().iter().find(|f| f.id() == id);
                    let published = output.successful().iter().any(|s| s.id() == Some(id.as_str()));
                    results.push(match (failure, published) {
                        (Some(f), _) => Err(format!("{}: {}", f.code(), f.message().unwrap_or_default())),
                        (None, true) => Ok(()),
                        (None, false) => Err("SNS reported neither success nor failure".to_owned()),
                    });
                }
            }
            Err(message) => results.extend(chunk.iter().map(|_| Err(message.clone()))),
        }
    }
    results
}
