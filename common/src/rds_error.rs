//! RDS error codes, folded across the two snapshot families.
//!
//! The codes are inconsistent in AWS itself: instance faults drop the `Fault` suffix
//! (`DBSnapshotAlreadyExists`), cluster faults keep it (`DBClusterSnapshotAlreadyExistsFault`).
//! Sources: the Errors sections of the CopyDBSnapshot, CopyDBClusterSnapshot,
//! ModifyDBSnapshotAttribute and DeleteDBSnapshot API references.

/// What an RDS error means for the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RdsErrorKind {
    /// The target identifier is taken: check its lineage (same source = done).
    AlreadyExists,
    /// The snapshot does not exist or is not shared with the caller (yet).
    NotFound,
    /// Not available yet (or being deleted): try again later, not a failure.
    InvalidState,
    /// The manual snapshot quota is used up: stop copying, report loudly.
    QuotaExceeded,
    /// Too many accounts on the share list.
    SharedQuotaExceeded,
    /// Key policy or grant missing, key disabled or deleted: no blind retry.
    KmsKeyNotAccessible,
    /// A bug or an unsupported source: fail the item with the message.
    InvalidParameter,
    /// Missing IAM permission: configuration.
    AccessDenied,
    /// Throttled after the SDK's retries.
    Throttling,
    /// Anything else, with its code.
    Other(String),
}

impl RdsErrorKind {
    /// Folds an error code as the SDK reports it.
    pub fn from_code(code: &str) -> Self {
        match code {
            "DBSnapshotAlreadyExists" | "DBSnapshotAlreadyExistsFault" | "DBClusterSnapshotAlreadyExistsFault" => {
                Self::AlreadyExists
            }
            "DBSnapshotNotFound" | "DBSnapshotNotFoundFault" | "DBClusterSnapshotNotFoundFault" => Self::NotFound,
            "InvalidDBSnapshotState" | "InvalidDBSnapshotStateFault" | "InvalidDBClusterSnapshotStateFault" => {
                Self::InvalidState
            }
            "SnapshotQuotaExceeded" | "SnapshotQuotaExceededFault" => Self::QuotaExceeded,
            "SharedSnapshotQuotaExceeded" | "SharedSnapshotQuotaExceededFault" => Self::SharedQuotaExceeded,
            "KMSKeyNotAccessibleFault" | "KMSKeyNotAccessible" => Self::KmsKeyNotAccessible,
            "InvalidParameterValue" | "InvalidParameterCombination" | "InvalidParameter" => Self::InvalidParameter,
            "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => Self::AccessDenied,
            "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => Self::Throttling,
            other => Self::Other(other.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_families_fold_together() {
        assert_eq!(RdsErrorKind::from_code("DBSnapshotAlreadyExists"), RdsErrorKind::AlreadyExists);
        assert_eq!(RdsErrorKind::from_code("DBClusterSnapshotAlreadyExistsFault"), RdsErrorKind::AlreadyExists);
        assert_eq!(RdsErrorKind::from_code("DBSnapshotNotFound"), RdsErrorKind::NotFound);
        assert_eq!(RdsErrorKind::from_code("DBClusterSnapshotNotFoundFault"), RdsErrorKind::NotFound);
        assert_eq!(RdsErrorKind::from_code("InvalidDBClusterSnapshotStateFault"), RdsErrorKind::InvalidState);
        assert_eq!(RdsErrorKind::from_code("SnapshotQuotaExceeded"), RdsErrorKind::QuotaExceeded);
        assert_eq!(RdsErrorKind::from_code("Nope"), RdsErrorKind::Other("Nope".into()));
    }
}
