//! The amount itself.

/// An amount of money in fen (0.01 yuan), exactly.
///
/// Any `i64` is a valid amount (negative ones are money given back, or a correction); what a
/// sale was paid is never negative, which [`Fen::parse_paid`] checks where it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fen(i64);

impl Fen {
    /// No money.
    pub const ZERO: Fen = Fen(0);

    /// The amount of `fen` fen.
    pub const fn new(fen: i64) -> Fen {
        Fen(fen)
    }

    /// The amount as a number of fen (for storage, Arrow columns and JSON).
    pub const fn fen(self) -> i64 {
        self.0
    }

    /// Whether the amount is below zero.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl From<Fen> for i64 {
    fn from(f: Fen) -> i64 {
        f.0
    }
}
