//! Calendar dates of UTC day numbers, for the policies that think in days and months (the
//! vault's retention, the RDS export periods). H. Hinnant's civil-date algorithms
//! ("chrono-Compatible Low-Level Date Algorithms"): exact for the proleptic Gregorian calendar,
//! negative day numbers included, no table and no dependency.

/// The (year, month 1–12, day 1–31) of a day count since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, u32::try_from(month).unwrap_or(1), u32::try_from(day).unwrap_or(1))
}

/// The day count since 1970-01-01 of a (year, month 1–12, day) date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month) of a day count since 1970-01-01.
pub fn year_month(days: i64) -> (i64, u32) {
    let (year, month, _) = civil_from_days(days);
    (year, month)
}

/// `yyyy-mm-dd` of a UNIX time in seconds (UTC).
pub fn date_text(secs: i64) -> String {
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_calendar_months() {
        assert_eq!(year_month(0), (1970, 1));
        assert_eq!(year_month(31), (1970, 2));
        assert_eq!(year_month(20_819), (2027, 1)); // 2027-01-01
        assert_eq!(year_month(20_818), (2026, 12));
        assert_eq!(year_month(19_782), (2024, 2)); // 2024-02-29
        // Century rules: 2100 is no leap year, 2000 and 2400 are; and before 1970.
        assert_eq!((year_month(47_540), year_month(47_541)), ((2100, 2), (2100, 3)));
        assert_eq!((year_month(11_016), year_month(11_017)), ((2000, 2), (2000, 3)));
        assert_eq!(year_month(157_113), (2400, 2));
        assert_eq!(year_month(-1), (1969, 12));
    }

    #[test]
    fn days_and_dates_round_trip() {
        for days in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(days_from_civil(2027, 1, 1), 20_819);
        assert_eq!(date_text(1_798_761_599), "2026-12-31");
        assert_eq!(date_text(1_798_761_600), "2027-01-01");
        assert_eq!(date_text(-1), "1969-12-31");
    }
}
