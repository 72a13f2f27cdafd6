//! The three tables of GS1 Digital Link compression (GS1 Digital Link standard 1.1, §8,
//! kept unchanged in 1.2), as data: how many digits an AI has given its first two (table P),
//! how each AI's value is laid out (table F), and the AI sequences that one code stands for
//! (the optimisation table).
//!
//! They are the tables GS1's reference implementation carries (`tableP`, `tableF` and
//! `tableOpt` in github.com/gs1/GS1DigitalLinkCompressionPrototype,
//! `src/GS1DigitalLinkToolkit.js` at 21a894b), with one correction: that file gives (7040)'s
//! second part as `{"E":"X","N":"3"}`, a typo for three characters (GS1 General
//! Specifications: N1+X3), which made its decoder skip those bits. AIs defined after the
//! tables (8030 digital signature, 715 and 716 reimbursement numbers among them) have no
//! compressed form.

/// One part of an AI's value, as table F lays it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    /// Exactly this many digits, as a binary number.
    Digits(usize),
    /// Up to this many digits: a length, then the digits as a binary number.
    DigitsUpTo(usize),
    /// Exactly this many characters: an encoding indicator, then the characters.
    Chars(usize),
    /// Up to this many characters: an encoding indicator, a length, then the characters.
    CharsUpTo(usize),
}

use Part::{Chars, CharsUpTo, Digits, DigitsUpTo};

/// Table P: the number of digits of every AI that starts with these two.
const PREFIX_LENGTHS: &[(&str, usize)] = &[
    ("00", 2),
    ("01", 2),
    ("02", 2),
    ("10", 2),
    ("11", 2),
    ("12", 2),
    ("13", 2),
    ("15", 2),
    ("16", 2),
    ("17", 2),
    ("20", 2),
    ("21", 2),
    ("22", 2),
    ("23", 3),
    ("24", 3),
    ("25", 3),
    ("30", 2),
    ("31", 4),
    ("32", 4),
    ("33", 4),
    ("34", 4),
    ("35", 4),
    ("36", 4),
    ("37", 2),
    ("39", 4),
    ("40", 3),
    ("41", 3),
    ("42", 3),
    ("43", 4),
    ("70", 4),
    ("71", 3),
    ("72", 4),
    ("80", 4),
    ("81", 4),
    ("82", 4),
    ("90", 2),
    ("91", 2),
    ("92", 2),
    ("93", 2),
    ("94", 2),
    ("95", 2),
    ("96", 2),
    ("97", 2),
    ("98", 2),
    ("99", 2),
];

/// The number of digits of the AIs starting with the two digits `prefix`, if there are any.
pub(super) fn prefix_len(prefix: &str) -> Option<usize> {
    PREFIX_LENGTHS
        .iter()
        .find(|(p, _)| *p == prefix)
        .map(|&(_, len)| len)
}

/// Table F, as ranges of AIs of one length that share a layout, lowest and highest.
/// The measures 3100 to 3695 are [`MEASURES`].
const FORMATS: &[(&str, &str, &[Part])] = &[
    ("00", "00", &[Digits(18)]),
    ("01", "02", &[Digits(14)]),
    ("10", "10", &[CharsUpTo(20)]),
    ("11", "13", &[Digits(6)]),
    ("15", "17", &[Digits(6)]),
    ("20", "20", &[Digits(2)]),
    ("21", "22", &[CharsUpTo(20)]),
    ("30", "30", &[DigitsUpTo(8)]),
    ("37", "37", &[DigitsUpTo(8)]),
    ("90", "90", &[CharsUpTo(30)]),
    ("91", "99", &[CharsUpTo(90)]),
    ("235", "235", &[Digits(3), CharsUpTo(28)]),
    ("240", "241", &[CharsUpTo(30)]),
    ("242", "242", &[DigitsUpTo(6)]),
    ("243", "243", &[CharsUpTo(20)]),
    ("250", "251", &[CharsUpTo(30)]),
    ("253", "253", &[Digits(13), CharsUpTo(17)]),
    ("254", "254", &[CharsUpTo(20)]),
    ("255", "255", &[Digits(13), DigitsUpTo(12)]),
    ("400", "401", &[CharsUpTo(30)]),
    ("402", "402", &[Digits(17)]),
    ("403", "403", &[CharsUpTo(30)]),
    ("410", "417", &[Digits(13)]),
    ("420", "420", &[CharsUpTo(20)]),
    ("421", "421", &[Digits(3), CharsUpTo(9)]),
    ("422", "422", &[Digits(3)]),
    ("423", "423", &[Digits(3), DigitsUpTo(12)]),
    ("424", "424", &[Digits(3)]),
    ("425", "425", &[Digits(3), DigitsUpTo(12)]),
    ("426", "426", &[Digits(3)]),
    ("427", "427", &[CharsUpTo(3)]),
    ("710", "714", &[CharsUpTo(20)]),
    ("3900", "3909", &[DigitsUpTo(15)]),
    ("3910", "3919", &[Digits(3), DigitsUpTo(15)]),
    ("3920", "3929", &[DigitsUpTo(15)]),
    ("3930", "3939", &[Digits(3), DigitsUpTo(15)]),
    ("3940", "3943", &[Digits(4)]),
    ("3950", "3959", &[Digits(6)]),
    ("4300", "4301", &[CharsUpTo(35)]),
    ("4302", "4306", &[CharsUpTo(70)]),
    ("4307", "4307", &[Chars(2)]),
    ("4308", "4308", &[CharsUpTo(30)]),
    ("4309", "4309", &[Digits(20)]),
    ("4310", "4311", &[CharsUpTo(35)]),
    ("4312", "4316", &[CharsUpTo(70)]),
    ("4317", "4317", &[Chars(2)]),
    ("4318", "4318", &[CharsUpTo(20)]),
    ("4319", "4319", &[CharsUpTo(30)]),
    ("4320", "4320", &[CharsUpTo(35)]),
    ("4321", "4323", &[Digits(1)]),
    ("4324", "4325", &[Digits(10)]),
    ("4326", "4326", &[Digits(6)]),
    ("7001", "7001", &[Digits(13)]),
    ("7002", "7002", &[CharsUpTo(30)]),
    ("7003", "7003", &[Digits(10)]),
    ("7004", "7004", &[DigitsUpTo(4)]),
    ("7005", "7005", &[CharsUpTo(12)]),
    ("7006", "7006", &[Digits(6)]),
    ("7007", "7007", &[Digits(6), DigitsUpTo(6)]),
    ("7008", "7008", &[CharsUpTo(3)]),
    ("7009", "7009", &[CharsUpTo(10)]),
    ("7010", "7010", &[CharsUpTo(2)]),
    ("7020", "7022", &[CharsUpTo(20)]),
    ("7023", "7023", &[CharsUpTo(30)]),
    ("7030", "7039", &[Digits(3), CharsUpTo(27)]),
    ("7040", "7040", &[Digits(1), Chars(3)]),
    ("7230", "7239", &[CharsUpTo(30)]),
    ("7240", "7240", &[CharsUpTo(20)]),
    ("8001", "8001", &[Digits(14)]),
    ("8002", "8002", &[CharsUpTo(20)]),
    ("8003", "8003", &[Digits(14), CharsUpTo(16)]),
    ("8004", "8004", &[CharsUpTo(30)]),
    ("8005", "8005", &[Digits(6)]),
    ("8006", "8006", &[Digits(18)]),
    ("8007", "8007", &[CharsUpTo(24)]),
    ("8008", "8008", &[Digits(8), DigitsUpTo(4)]),
    ("8009", "8009", &[CharsUpTo(50)]),
    ("8010", "8010", &[CharsUpTo(30)]),
    ("8011", "8011", &[DigitsUpTo(12)]),
    ("8012", "8012", &[CharsUpTo(20)]),
    ("8013", "8013", &[CharsUpTo(30)]),
    ("8017", "8018", &[Digits(18)]),
    ("8019", "8019", &[DigitsUpTo(10)]),
    ("8020", "8020", &[CharsUpTo(25)]),
    ("8026", "8026", &[Digits(18)]),
    ("8110", "8110", &[CharsUpTo(70)]),
    ("8111", "8111", &[Digits(4)]),
    ("8112", "8112", &[CharsUpTo(70)]),
    ("8200", "8200", &[CharsUpTo(70)]),
];

/// The measures (net weight, length, area, volume… in six digits): `3ABn` for each row's
/// `3A` and `B` in its range, with `n` (the decimal point's place) 0 to 5.
const MEASURES: &[(char, char, char)] = &[
    ('1', '0', '6'),
    ('2', '0', '9'),
    ('3', '0', '7'),
    ('4', '0', '9'),
    ('5', '0', '7'),
    ('6', '0', '9'),
];

/// Table F: how the value of `ai` is laid out, if it has a compressed form.
pub(super) fn format_of(ai: &str) -> Option<&'static [Part]> {
    let b = ai.as_bytes();
    let measure = b.len() == 4
        && b[0] == b'3'
        && b[3] <= b'5'
        && MEASURES
            .iter()
            .any(|&(a, lo, hi)| char::from(b[1]) == a && (lo..=hi).contains(&char::from(b[2])));
    if measure {
        return Some(&[Digits(6)]);
    }
    // Equal-length strings of digits compare as their numbers do.
    FORMATS
        .iter()
        .find(|(lo, hi, _)| lo.len() == ai.len() && *lo <= ai && ai <= *hi)
        .map(|&(_, _, parts)| parts)
}

/// The optimisation table: a two-character code (never two decimal digits, so never the
/// start of an AI) that stands for a sequence of AIs, whose values follow in that order.
pub(super) const OPTIMISATIONS: &[(&str, &[&str])] = &[
    ("0A", &["01", "22"]),
    ("0B", &["01", "10"]),
    ("0C", &["01", "21"]),
    ("0D", &["01", "17"]),
    ("0E", &["01", "7003"]),
    ("0F", &["01", "30"]),
    ("1A", &["01", "10", "21", "17"]),
    ("1B", &["01", "15"]),
    ("1C", &["01", "11"]),
    ("1D", &["01", "16"]),
    ("1E", &["01", "91"]),
    ("1F", &["01", "10", "15"]),
    ("2A", &["01", "3100"]),
    ("2B", &["01", "3101"]),
    ("2C", &["01", "3102"]),
    ("2D", &["01", "3103"]),
    ("2E", &["01", "3104"]),
    ("2F", &["01", "3105"]),
    ("3A", &["01", "3200"]),
    ("3B", &["01", "3201"]),
    ("3C", &["01", "3202"]),
    ("3D", &["01", "3203"]),
    ("3E", &["01", "3204"]),
    ("3F", &["01", "3205"]),
    ("9A", &["8010", "8011"]),
    ("9B", &["8017", "8019"]),
    ("9C", &["8018", "8019"]),
    ("9D", &["414", "254"]),
    ("A0", &["01", "3920"]),
    ("A1", &["01", "3921"]),
    ("A2", &["01", "3922"]),
    ("A3", &["01", "3923"]),
    ("A4", &["01", "3924"]),
    ("A5", &["01", "3925"]),
    ("A6", &["01", "3926"]),
    ("A7", &["01", "3927"]),
    ("A8", &["01", "3928"]),
    ("A9", &["01", "3929"]),
    ("C0", &["255", "3900"]),
    ("C1", &["255", "3901"]),
    ("C2", &["255", "3902"]),
    ("C3", &["255", "3903"]),
    ("C4", &["255", "3904"]),
    ("C5", &["255", "3905"]),
    ("C6", &["255", "3906"]),
    ("C7", &["255", "3907"]),
    ("C8", &["255", "3908"]),
    ("C9", &["255", "3909"]),
    ("CA", &["255", "3940"]),
    ("CB", &["255", "3941"]),
    ("CC", &["255", "3942"]),
    ("CD", &["255", "3943"]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ai_with_a_format_has_the_length_table_p_gives() {
        for &(lo, hi, _) in FORMATS {
            assert_eq!(lo.len(), hi.len(), "{lo}..{hi}");
            assert!(lo <= hi, "{lo}..{hi}");
            assert_eq!(prefix_len(&lo[..2]), Some(lo.len()), "{lo}");
        }
        for &(code, ais) in OPTIMISATIONS {
            assert!(!code.bytes().all(|b| b.is_ascii_digit()), "{code}");
            for ai in ais {
                assert!(format_of(ai).is_some(), "{code}: {ai}");
            }
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(format_of("01"), Some(&[Digits(14)][..]));
        assert_eq!(format_of("02"), Some(&[Digits(14)][..]));
        assert_eq!(format_of("3165"), Some(&[Digits(6)][..]));
        assert_eq!(format_of("3695"), Some(&[Digits(6)][..]));
        assert_eq!(format_of("3166"), None);
        assert_eq!(format_of("3175"), None);
        assert_eq!(format_of("3380"), None);
        assert_eq!(format_of("8030"), None);
        assert_eq!(format_of("715"), None);
        assert_eq!(format_of("14"), None);
        assert_eq!(prefix_len("80"), Some(4));
        assert_eq!(prefix_len("05"), None);
    }
}
