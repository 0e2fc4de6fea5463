//! What happened to one message or one share: the vault functions' typed results, counted
//! by variant for the metrics and logged with their reason.

use serde::Serialize;

use crate::import::Imported;
use crate::verify::Rejection;

/// The result of one item, as the report and the metrics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The vault's copy was started.
    Imported,
    /// The vault's copy exists with this lineage (a redelivery, a replay, a race).
    AlreadyImported,
    /// The second-region copy was started.
    Replicated,
    /// The second-region copy exists (made by another run).
    AlreadyReplicated,
    /// Refused for good: the message goes to the dead-letter queue (see the reason).
    Rejected,
    /// Postponed (not available yet, an import quota of this pipeline): the message comes back.
    Deferred,
    /// RDS's manual snapshot quota of the vault is reached: no copy is started for the rest
    /// of the run, and the notice is sent to the queue again (delayed) so that waiting for
    /// room never counts against the redrive policy (README, "Capacity").
    AtQuota,
    /// An AWS call failed: the message comes back.
    Error,
}

impl Verdict {
    /// Every verdict, in the order the metrics list them.
    pub const ALL: [Self; 8] = [
        Self::Imported,
        Self::AlreadyImported,
        Self::Replicated,
        Self::AlreadyReplicated,
        Self::Rejected,
        Self::Deferred,
        Self::AtQuota,
        Self::Error,
    ];

    /// The name in reports and logs (the serialised form).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Imported => "imported",
            Self::AlreadyImported => "already-imported",
            Self::Replicated => "replicated",
            Self::AlreadyReplicated => "already-replicated",
            Self::Rejected => "rejected",
            Self::Deferred => "deferred",
            Self::AtQuota => "at-quota",
            Self::Error => "error",
        }
    }

    /// The metric that counts it, if any.
    pub fn metric(self) -> Option<&'static str> {
        match self {
            Self::Imported => Some("Imported"),
            Self::AlreadyImported => Some("AlreadyImported"),
            Self::Replicated => Some("Replicated"),
            Self::AlreadyReplicated => None,
            Self::Rejected => Some("Rejected"),
            Self::Deferred => Some("Deferred"),
            Self::AtQuota => Some("DeferredAtQuota"),
            Self::Error => Some("ImportErrors"),
        }
    }

    /// Whether the item failed: an SQS message that failed goes back to the queue.
    pub fn failed(self) -> bool {
        matches!(self, Self::Rejected | Self::Deferred | Self::AtQuota | Self::Error)
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to one message or one share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// The SQS message id (importer) or the shared snapshot's ARN (reconciler).
    pub item: String,
    pub copy_arn: Option<String>,
    pub result: Verdict,
    pub vault_copy: Option<String>,
    pub reason: String,
    /// A security finding: someone may be tampering with the pipeline (a collision under
    /// the vault's own name); counted by the `SecurityFindings` metric.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub security: bool,
    /// Deferred at the quota and sent to the queue again: handled, not returned (the copy in
    /// the queue comes back after its delay).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub requeued: bool,
}

impl Outcome {
    pub fn failed(&self) -> bool {
        self.result.failed() && !self.requeued
    }

    /// `item` not copied because the vault's manual snapshot quota is reached.
    pub fn at_quota(item: &str, copy_arn: Option<String>) -> Self {
        let reason = "the manual snapshot quota of the vault (or its second region) is reached (SnapshotQuotaExceeded): deferred until retention \
                      or a quota increase makes room (README, \"Capacity\")";
        Self::new(item, copy_arn, Verdict::AtQuota, None, reason.to_owned())
    }

    /// `item` refused for `rejection` (deferred when it is retryable).
    pub fn rejected(item: &str, copy_arn: Option<String>, rejection: &Rejection) -> Self {
        let result = if rejection.is_retryable() { Verdict::Deferred } else { Verdict::Rejected };
        Self {
            item: item.to_owned(),
            copy_arn,
            result,
            vault_copy: None,
            reason: rejection.to_string(),
            security: rejection.is_security_finding(),
            requeued: false,
        }
    }

    /// `item` not handled because an AWS call failed.
    pub fn error(item: &str, copy_arn: Option<String>, error: impl std::fmt::Display) -> Self {
        Self::new(item, copy_arn, Verdict::Error, None, error.to_string())
    }

    /// `item` imported (or found imported).
    pub fn imported(item: &str, copy_arn: Option<String>, imported: Imported) -> Self {
        let (result, target, reason) = match imported {
            Imported::Started { target } => (Verdict::Imported, target, "copy started with the vault key"),
            Imported::AlreadyImported { target } => {
                (Verdict::AlreadyImported, target, "the vault copy exists with this lineage")
            }
        };
        Self::new(item, copy_arn, result, Some(target), reason.to_owned())
    }

    /// An outcome that is no security finding.
    pub fn new(
        item: &str,
        copy_arn: Option<String>,
        result: Verdict,
        vault_copy: Option<String>,
        reason: String,
    ) -> Self {
        Self { item: item.to_owned(), copy_arn, result, vault_copy, reason, security: false, requeued: false }
    }

    /// The same outcome naming the vault copy it concerns.
    pub fn with_vault_copy(self, vault_copy: Option<String>) -> Self {
        Self { vault_copy, ..self }
    }

    /// Logs it: failures as warnings, the rest as information.
    pub fn log(&self) {
        let result = self.result.as_str();
        if self.security {
            tracing::error!(item = %self.item, copy_arn = ?self.copy_arn, result, reason = %self.reason, "security finding");
        } else if self.failed() {
            tracing::warn!(item = %self.item, copy_arn = ?self.copy_arn, result, reason = %self.reason, "not imported");
        } else {
            tracing::info!(item = %self.item, copy_arn = ?self.copy_arn, result, vault_copy = ?self.vault_copy, reason = %self.reason, "import");
        }
    }
}

/// Why an invocation of a vault function fails after doing what it could: the failed
/// invocation is what the error alarm sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvocationFailed {
    /// The reconciler's imports stand, but the register of protected databases could not be
    /// read or written.
    #[error("{0}")]
    Register(String),
    /// Retention could not delete (or check) some copies; the next run tries again.
    #[error("retention errors: {}", .0.join("; "))]
    Retention(Vec<String>),
}

/// The run's metrics: one count per verdict and the security findings.
pub fn metrics(outcomes: &[Outcome], function: &str) -> offsite_common::metrics::Metrics {
    let mut metrics = offsite_common::metrics::Metrics::new("Function", function);
    for verdict in Verdict::ALL {
        if let Some(name) = verdict.metric() {
            metrics.add(name, outcomes.iter().filter(|o| o.result == verdict).count() as f64);
        }
    }
    metrics.add("SecurityFindings", outcomes.iter().filter(|o| o.security).count() as f64);
    // 1 when the run met RDS's manual snapshot quota (an alarm watches it).
    let at_quota = outcomes.iter().any(|o| o.result == Verdict::AtQuota);
    metrics.add("QuotaExceeded", if at_quota { 1.0 } else { 0.0 });
    metrics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_serialise_as_the_report_names_them() {
        for verdict in Verdict::ALL {
            let json = serde_json::to_string(&verdict).expect("serialised");
            assert_eq!(json, format!("\"{}\"", verdict.as_str()));
        }
    }

    #[test]
    fn a_notice_deferred_at_the_quota_fails_until_it_is_sent_again_and_the_run_says_so() {
        let mut deferred = Outcome::at_quota("m1", None);
        assert!(deferred.failed(), "not sent again: it must come back");
        deferred.requeued = true;
        assert!(!deferred.failed(), "sent again: handled");
        let imported = Outcome::imported("m2", None, Imported::Started { target: "vault-y".into() });
        let counted = metrics(&[deferred, imported.clone()], "importer");
        assert_eq!(["QuotaExceeded", "DeferredAtQuota", "Imported"].map(|m| counted.get(m)), [1.0, 1.0, 1.0]);
        assert_eq!(metrics(&[imported], "importer").get("QuotaExceeded"), 0.0);
    }

    #[test]
    fn a_collision_is_a_security_finding_counted_apart_from_other_rejections() {
        let collision = Rejection::Collision { target: "vault-x".into(), copy_arn: "arn:c".into() };
        let outcomes = [
            Outcome::rejected("m1", None, &collision),
            Outcome::rejected("m2", None, &Rejection::AccountNotAllowed("999999999999".into())),
            Outcome::rejected("m3", None, &Rejection::Deferred("quota".into())),
            Outcome::imported("m4", None, Imported::Started { target: "vault-y".into() }),
        ];
        assert!(outcomes[0].security && !outcomes[1].security);
        assert_eq!(
            outcomes.each_ref().map(|o| o.result),
            [Verdict::Rejected, Verdict::Rejected, Verdict::Deferred, Verdict::Imported]
        );
        let counted = metrics(&outcomes, "importer");
        let counts = ["SecurityFindings", "Rejected", "Deferred", "Imported", "ImportErrors"].map(|m| counted.get(m));
        assert_eq!(counts, [1.0, 2.0, 1.0, 1.0, 0.0]);
        // Serialised without the flag when false: the report's shape is unchanged.
        assert!(!serde_json::to_string(&outcomes[1]).expect("json").contains("security"));
    }
}
