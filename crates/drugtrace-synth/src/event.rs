//! The generator's own compact event: plain numbers and indices, no strings, so that a
//! window of packs costs no allocation per event. Writers turn it into text.

/// An event type, as the event files name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Commission,
    Ship,
    Receive,
    Intake,
    StockChange,
    Sale,
    SaleReturn,
    Destroy,
    Recall,
    /// A box packed into a case (`other`: the case's index in the window).
    Pack,
    /// A case opened.
    Open,
}

impl Kind {
    /// The `type` field's value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Commission => "commission",
            Kind::Ship => "ship",
            Kind::Receive => "receive",
            Kind::Intake => "intake",
            Kind::StockChange => "stock_change",
            Kind::Sale => "sale",
            Kind::SaleReturn => "sale_return",
            Kind::Destroy => "destroy",
            Kind::Recall => "recall",
            Kind::Pack => "pack",
            Kind::Open => "open",
        }
    }
}

/// Marks an absent index field.
pub(crate) const NONE: u32 = u32::MAX;

/// One event of a pack in the current window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ev {
    /// When the event reaches the file: `at`, plus the delay of a late upload.
    pub key: i64,
    /// When it happened (local seconds, see [`crate::fmt`]).
    pub at: i64,
    /// The pack's index in the window.
    pub pack: u32,
    pub kind: Kind,
    /// The reporting party.
    pub inst: u32,
    /// `to`, `from` or `supplier`, the case a box is packed into, or [`NONE`].
    pub other: u32,
    /// The product named by `insurance_code`, or [`NONE`].
    pub product: u32,
    /// The settlement number (sales and returns).
    pub settlement: u64,
    /// The buyer's person number (sales).
    pub person: u64,
    /// Units for split sales and partial returns; 0 when not given.
    pub units: u32,
    /// Amount in fen (sales).
    pub amount_fen: i64,
    pub fund_paid: bool,
    /// The stock change type, 101 to 111 (stock changes).
    pub change: u16,
    /// Whether the record repeats batch and expiry (commission and intake of Chinese codes).
    pub lot: bool,
    /// Whether the line is sent twice (a retried upload).
    pub duplicate: bool,
    /// A sale settled without its trace code being uploaded: it goes to the settlements
    /// file only, never to the event files.
    pub missed: bool,
}

impl Ev {
    /// An event of `kind` at `at` by `inst`, with every optional field absent.
    pub(crate) fn new(pack: u32, kind: Kind, at: i64, inst: u32) -> Ev {
        Ev {
            key: at,
            at,
            pack,
            kind,
            inst,
            other: NONE,
            product: NONE,
            settlement: 0,
            person: 0,
            units: 0,
            amount_fen: 0,
            fund_paid: true,
            change: 0,
            lot: false,
            duplicate: false,
            missed: false,
        }
    }
}

/// How a pack is identified.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Code {
    /// China's 20-digit code.
    China(u128),
    /// A GS1 DataMatrix: GTIN-14 value and a numeric serial written in base 36; batch and
    /// expiry come from the pack.
    Gs1 { gtin: u64, serial: u64 },
}

/// One pack of the current window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pack {
    pub code: Code,
    pub product: u32,
    /// The batch number, written as eight digits.
    pub batch: u32,
    /// Manufacturing and expiry days (days since 1970-01-01).
    pub made: i64,
    pub expiry: i64,
}

/// Appends a pack's trace code as scanners send it.
pub(crate) fn push_code(out: &mut Vec<u8>, pack: &Pack) {
    match pack.code {
        Code::China(v) => crate::fmt::push_padded(out, v, 20),
        Code::Gs1 { gtin, serial } => {
            out.extend_from_slice(b"(01)");
            crate::fmt::push_padded(out, u128::from(gtin), 14);
            out.extend_from_slice(b"(17)");
            crate::fmt::push_yymmdd(out, pack.expiry);
            out.extend_from_slice(b"(10)");
            crate::fmt::push_padded(out, u128::from(pack.batch), 8);
            out.extend_from_slice(b"(21)");
            push_base36(out, serial);
        }
    }
}

/// Appends `n` in upper-case base 36, at least ten characters.
fn push_base36(out: &mut Vec<u8>, mut n: u64) {
    const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut buf = [b'0'; 16];
    let mut i = buf.len();
    while n > 0 {
        i -= 1;
        buf[i] = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    out.extend_from_slice(&buf[i.min(6)..]);
}
