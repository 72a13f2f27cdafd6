//! Fast text formatting for the hot path: integers, zero-padded fields, calendar dates and
//! times written straight into a byte buffer, without `format!` or serde. Amounts are the one
//! exception: they are written by `drugtrace-money`'s `Display` (into the buffer, allocating
//! nothing), so the synthetic files write yuan exactly as every reader parses them.
//!
//! Times are kept as seconds since 1970-01-01T00:00:00 *in China's local time* (UTC+8), so
//! that writing one needs no offset arithmetic; every time written carries `+08:00`.

use std::io::Write as _;

use drugtrace_money::Fen;

/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;
/// Seconds in an hour.
pub(crate) const HOUR: i64 = 3_600;

/// Appends `n` in decimal.
pub(crate) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends `n` in decimal, left-padded with zeros to `width` digits (wider values are
/// written in full).
pub(crate) fn push_padded(out: &mut Vec<u8>, n: u128, width: usize) {
    let mut buf = [b'0'; 40];
    let mut i = buf.len();
    let mut v = n;
    while v > 0 {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let start = (buf.len() - width).min(i);
    out.extend_from_slice(&buf[start..]);
}

/// Appends an amount in fen as yuan with two decimals (`35.50`), as the money crate writes
/// every amount (and reads it back).
pub(crate) fn push_yuan(out: &mut Vec<u8>, fen: i64) {
    // Writing into a `Vec` cannot fail.
    write!(out, "{}", Fen::new(fen)).expect("a Vec takes every byte");
}

/// The civil date (year, month, day) of a day number counted from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
pub(crate) fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The day number (from 1970-01-01) of a civil date (Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Appends `YYYY-MM-DD` for a day number.
pub(crate) fn push_date(out: &mut Vec<u8>, days: i64) {
    let (y, m, d) = civil(days);
    push_padded(out, y as u128, 4);
    out.push(b'-');
    push_padded(out, u128::from(m), 2);
    out.push(b'-');
    push_padded(out, u128::from(d), 2);
}

/// Appends `YYMMDD` for a day number (GS1's AI 17).
pub(crate) fn push_yymmdd(out: &mut Vec<u8>, days: i64) {
    let (y, m, d) = civil(days);
    push_padded(out, (y % 100) as u128, 2);
    push_padded(out, u128::from(m), 2);
    push_padded(out, u128::from(d), 2);
}

/// Appends `HH:MM:SS` for the time of day of a local instant.
fn push_clock(out: &mut Vec<u8>, secs: i64) {
    let s = secs.rem_euclid(DAY);
    push_padded(out, (s / 3600) as u128, 2);
    out.push(b':');
    push_padded(out, (s / 60 % 60) as u128, 2);
    out.push(b':');
    push_padded(out, (s % 60) as u128, 2);
}

/// Appends RFC 3339 with the China offset: `2025-04-08T10:30:00+08:00`.
pub(crate) fn push_rfc3339(out: &mut Vec<u8>, secs: i64) {
    push_date(out, secs.div_euclid(DAY));
    out.push(b'T');
    push_clock(out, secs);
    out.extend_from_slice(b"+08:00");
}

/// Appends the national interface's local time form: `2025-04-08 10:30:00`.
pub(crate) fn push_local(out: &mut Vec<u8>, secs: i64) {
    push_date(out, secs.div_euclid(DAY));
    out.push(b' ');
    push_clock(out, secs);
}

/// Appends `YYYYMMDDHHMMSS` (the time part of a national message id).
pub(crate) fn push_compact(out: &mut Vec<u8>, secs: i64) {
    let (y, m, d) = civil(secs.div_euclid(DAY));
    let s = secs.rem_euclid(DAY);
    push_padded(out, y as u128, 4);
    for v in [i64::from(m), i64::from(d), s / 3600, s / 60 % 60, s % 60] {
        push_padded(out, v as u128, 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn numbers() {
        assert_eq!(s(|o| push_u64(o, 0)), "0");
        assert_eq!(s(|o| push_u64(o, u64::MAX)), u64::MAX.to_string());
        assert_eq!(s(|o| push_padded(o, 42, 5)), "00042");
        assert_eq!(s(|o| push_padded(o, 0, 3)), "000");
        assert_eq!(s(|o| push_padded(o, 123_456, 3)), "123456");
        assert_eq!(s(|o| push_yuan(o, 3550)), "35.50");
        assert_eq!(s(|o| push_yuan(o, 5)), "0.05");
        assert_eq!(s(|o| push_yuan(o, -120)), "-1.20");
    }

    #[test]
    fn dates_round_trip_and_format() {
        for days in -800_000..800_000 {
            if days % 997 == 0 {
                let (y, m, d) = civil(days);
                assert_eq!(days_from_civil(y, m, d), days);
            }
        }
        let t = days_from_civil(2025, 4, 8) * DAY + 10 * HOUR + 30 * 60 + 5;
        assert_eq!(s(|o| push_rfc3339(o, t)), "2025-04-08T10:30:05+08:00");
        assert_eq!(s(|o| push_local(o, t)), "2025-04-08 10:30:05");
        assert_eq!(s(|o| push_compact(o, t)), "20250408103005");
        assert_eq!(s(|o| push_yymmdd(o, t / DAY)), "250408");
        assert_eq!(civil(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }
}
