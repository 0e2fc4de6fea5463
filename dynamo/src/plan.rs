//! The deterministic parts of an export: which slot, which prefix, which token, which time.

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use sha2::{Digest, Sha256};

/// The start of the schedule slot that `now` falls in (slots of `period_secs`, from the
/// epoch): every run in one slot asks for the same moment.
pub fn slot_start(now_secs: i64, period_secs: i64) -> i64 {
    now_secs.div_euclid(period_secs.max(1)) * period_secs.max(1)
}

/// `<base>/account=<id>/region=<region>/table=<name>/date=<yyyy-mm-dd>`: Hive-style keys,
/// so Athena's partition projection can address any day of any table directly.
/// DynamoDB writes `AWSDynamoDB/<export id>/…` below it.
pub fn prefix(base: &str, account: &str, region: &str, table: &str, slot_secs: i64) -> String {
    let date: String =
        DateTime::from_secs(slot_secs).fmt(Format::DateTime).unwrap_or_default().chars().take(10).collect();
    let base = base.trim_matches('/');
    format!("{base}/account={account}/region={region}/table={table}/date={date}")
}

/// The `ClientToken` of a table's export for a slot: 32 hex digits of SHA-256 over
/// everything that defines the export, so a retry in the same slot is the same request
/// (DynamoDB keeps a token 8 hours after the export ends).
pub fn client_token(table_arn: &str, slot_secs: i64, bucket: &str, prefix: &str) -> String {
    let digest = Sha256::digest(format!("{table_arn}\n{slot_secs}\n{bucket}\n{prefix}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The moment to export (seconds, fractional): the slot's start, or the earliest
/// restorable time when PITR was enabled later than that, since `ExportTime` must lie in the
/// PITR window (`InvalidExportTimeException`). `None` when that moment is not restorable
/// yet (PITR enabled moments ago): the next run exports.
pub fn export_time(slot_secs: i64, earliest: Option<f64>, latest: Option<f64>) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)]
    let slot = slot_secs as f64;
    // The earliest time is reported rounded and compared unrounded: clamp to the next whole
    // second after it, never onto it.
    let time = earliest.map_or(slot, |earliest| slot.max(earliest.floor() + 1.0));
    match latest {
        Some(latest) if time > latest => None,
        _ => Some(time),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_prefixes_and_tokens_are_deterministic() {
        let day = 86_400;
        assert_eq!(slot_start(1_800_000_123, day), 1_799_971_200);
        assert_eq!(slot_start(1_799_971_200, day), 1_799_971_200);
        let p = prefix("/exports/", "111111111111", "eu-west-1", "orders", 1_799_971_200);
        assert_eq!(p, "exports/account=111111111111/region=eu-west-1/table=orders/date=2027-01-15");
        let t = client_token("arn:t", 1, "b", &p);
        assert_eq!(t.len(), 32);
        assert_eq!(t, client_token("arn:t", 1, "b", &p));
        assert_ne!(t, client_token("arn:t", 2, "b", &p));
        assert_ne!(t, client_token("arn:u", 1, "b", &p));
    }

    #[test]
    fn export_time_stays_inside_the_pitr_window() {
        assert_eq!(export_time(100, None, None), Some(100.0));
        assert_eq!(export_time(100, Some(50.5), Some(200.0)), Some(100.0));
        assert_eq!(export_time(100, Some(150.25), Some(200.0)), Some(151.0));
        assert_eq!(export_time(100, Some(150.0), Some(200.0)), Some(151.0));
        assert_eq!(export_time(100, Some(150.25), Some(150.5)), None);
    }
}
