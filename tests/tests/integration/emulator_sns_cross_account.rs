//! Fidelity patch (b): an SNS topic delivers to an SQS queue of another account, subject to
//! the queue policy, as AWS documents for cross-account SNS-to-SQS subscriptions.

use std::time::Duration;

use aws_config::SdkConfig;
use offsite_tests::fixtures::wait_for;
use offsite_tests::{Emulator, REGION, VAULT, WORKLOAD};

/// Creates the workload's topic with a policy that lets the vault subscribe.
async fn workload_topic(workload: &SdkConfig) -> String {
    let sns = aws_sdk_sns::Client::new(workload);
    let topic_arn =
        sns.create_topic().name("offsite-announcements").send().await.expect("topic").topic_arn.expect("ARN");
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "VaultMaySubscribe",
            "Effect": "Allow",
            "Principal": { "AWS": format!("arn:aws:iam::{VAULT}:root") },
            "Action": "sns:Subscribe",
            "Resource": topic_arn,
        }],
    });
    sns.set_topic_attributes()
        .topic_arn(&topic_arn)
        .attribute_name("Policy")
        .attribute_value(policy.to_string())
        .send()
        .await
        .expect("topic policy");
    topic_arn
}

/// Creates a vault queue; with `allowed_topic`, its policy lets that topic send to it.
async fn vault_queue(vault: &SdkConfig, name: &str, allowed_topic: Option<&str>) -> (String, String) {
    let sqs = aws_sdk_sqs::Client::new(vault);
    let url = sqs.create_queue().queue_name(name).send().await.expect("queue").queue_url.expect("URL");
    let arn = format!("arn:aws:sqs:{REGION}:{VAULT}:{name}");
    if let Some(topic) = allowed_topic {
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Service": "sns.amazonaws.com" },
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": { "ArnEquals": { "aws:SourceArn": topic } },
            }],
        });
        sqs.set_queue_attributes()
            .queue_url(&url)
            .attributes(aws_sdk_sqs::types::QueueAttributeName::Policy, policy.to_string())
            .send()
            .await
            .expect("queue policy");
    }
    (url, arn)
}

async fn receive_bodies(vault: &SdkConfig, url: &str) -> Vec<String> {
    aws_sdk_sqs::Client::new(vault)
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive")
        .messages
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.body)
        .collect()
}

#[tokio::test]
async fn topic_delivers_to_a_queue_of_another_account_in_an_sns_envelope() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let vault = emulator.account(VAULT).await.expect("vault credentials");
    let topic_arn = workload_topic(&workload).await;
    let (queue_url, queue_arn) = vault_queue(&vault, "offsite-import", Some(&topic_arn)).await;

    // The vault subscribes its own queue: no confirmation needed.
    let subscription = aws_sdk_sns::Client::new(&vault)
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .return_subscription_arn(true)
        .send()
        .await
        .expect("the vault may subscribe to the workload's topic");
    assert!(subscription.subscription_arn().is_some_and(|arn| arn.starts_with(&topic_arn)));

    aws_sdk_sns::Client::new(&workload)
        .publish()
        .topic_arn(&topic_arn)
        .message(r#"{"hello":"vault"}"#)
        .send()
        .await
        .expect("publish");

    let bodies = wait_for("the notice in the vault's queue", Duration::from_secs(60), || async {
        Some(receive_bodies(&vault, &queue_url).await).filter(|b| !b.is_empty())
    })
    .await;
    assert_eq!(bodies.len(), 1);
    let envelope: serde_json::Value = serde_json::from_str(&bodies[0]).expect("an SNS envelope (raw delivery off)");
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["TopicArn"], topic_arn.as_str());
    assert_eq!(envelope["Message"], r#"{"hello":"vault"}"#);
}

#[tokio::test]
async fn queue_policy_decides_and_refused_messages_go_to_the_subscription_dlq() {
    let emulator = Emulator::start().expect("emulator starts");
    let workload = emulator.account(WORKLOAD).await.expect("workload credentials");
    let vault = emulator.account(VAULT).await.expect("vault credentials");
    let topic_arn = workload_topic(&workload).await;
    let other_topic = format!("arn:aws:sns:{REGION}:{WORKLOAD}:some-other-topic");
    let (wrong_url, wrong_arn) = vault_queue(&vault, "allows-another-topic", Some(&other_topic)).await;
    let (bare_url, bare_arn) = vault_queue(&vault, "no-policy", None).await;
    let (dlq_url, dlq_arn) = vault_queue(&vault, "subscription-dlq", Some(&topic_arn)).await;
    let sns = aws_sdk_sns::Client::new(&vault);
    for endpoint in [&wrong_arn, &bare_arn] {
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(endpoint)
            .attributes("RedrivePolicy", serde_json::json!({ "deadLetterTargetArn": dlq_arn }).to_string())
            .send()
            .await
            .expect("subscribe");
    }

    aws_sdk_sns::Client::new(&workload)
        .publish()
        .topic_arn(&topic_arn)
        .message("refused twice")
        .send()
        .await
        .expect("publish");

    let in_dlq = wait_for("both refused deliveries in the DLQ", Duration::from_secs(60), || async {
        Some(receive_bodies(&vault, &dlq_url).await).filter(|b| !b.is_empty())
    })
    .await;
    let mut total = in_dlq.len();
    total += receive_bodies(&vault, &dlq_url).await.len();
    assert_eq!(total, 2, "one refused delivery per subscription");
    assert!(receive_bodies(&vault, &wrong_url).await.is_empty(), "policy for another topic must refuse");
    assert!(receive_bodies(&vault, &bare_url).await.is_empty(), "no policy must refuse a cross-account topic");
}
