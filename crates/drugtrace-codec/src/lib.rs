//! The byte layout of the ledger's keys and values, shared by every store: fjall keeps them
//! as its keys and values, PostgreSQL as `bytea` columns, so both hold the same bytes and a
//! store can be copied to the other without re-encoding. Only this crate knows the layout.
//!
//! Values open with a format byte, then fields as LEB128 varints (signed ones zigzagged),
//! length-prefixed UTF-8 strings and presence bits. Keys are `[len][pack key]` for states and
//! `[len][pack key][index: u32 BE]` for events: the length byte keeps one GS1 serial from
//! being a prefix of another, and makes byte order equal [`PackKey`]'s order.

use drugtrace_catalog::InsuranceCode;
use drugtrace_code::PackKey;
use drugtrace_ledger::{
    Batch, BlockedSale, CaseLink, CodeExtra, Date, Event, EventKind, InstitutionId, Intake, Issue,
    Lookup, Lot, Movement, MovementId, MovementKind, MovementVoid, Outcome, PackState, PersonHash,
    Reason, Recorded, Sale, SaleRecord, SaleReturn, SettlementId, StockChange, StoreError,
    Timestamp, UploadId, VisitId, Void,
};

/// The format written. Format 1 (before sales without a settlement id, and before blocked
/// attempts kept their time, buyer, units and amount) is still read; `drugtrace rebuild`
/// rewrites such states from their logs. Format 2 events carry no upload batch; format 3
/// adds it (and voids) at the end of an event, and its states are format 2's. Format 4 adds
/// a sale's visit after the upload batch; its other events and its states are format 3's.
/// Format 5 adds a movement's revision at its end; its events and states are format 4's.
/// Format 6 adds the packaging events (packing into a case, filling, unpacking, opening)
/// and a state's case link, case bit and contents at its end. Format 7 ends an event with
/// what else its GS1 code carried (a byte of which follow, then the secondary serial (250)
/// and the signature (8030)); its states and movements are format 6's.
const FORMAT: u8 = 7;

/// Whether `b` is a format this file reads.
fn known_format(b: u8) -> bool {
    (1..=FORMAT).contains(&b)
}

/// The key of an index entry: the lookup's key, then the pack's (length-prefixed, so the
/// pack can be read back from the end).
pub fn lookup_key(lookup: &Lookup, pack: &PackKey) -> Vec<u8> {
    let mut k = lookup.key();
    k.extend_from_slice(&pack_prefix(pack));
    k
}

/// The pack of an index entry whose lookup key is `prefix`.
pub fn lookup_pack(prefix_len: usize, k: &[u8]) -> Result<PackKey, StoreError> {
    key_pack(
        k.get(prefix_len..)
            .ok_or_else(|| corrupt("truncated index key"))?,
    )
}

/// The state key of a pack, also the prefix of its events' keys.
pub fn pack_prefix(key: &PackKey) -> Vec<u8> {
    let b = key.as_bytes();
    let mut k = Vec::with_capacity(b.len() + 5);
    k.push(b.len() as u8);
    k.extend_from_slice(b);
    k
}

/// The key of a pack's `index`-th event.
pub fn event_key(key: &PackKey, index: u32) -> Vec<u8> {
    let mut k = pack_prefix(key);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// The pack a state key or event key belongs to.
pub fn key_pack(k: &[u8]) -> Result<PackKey, StoreError> {
    let len = usize::from(*k.first().ok_or_else(|| corrupt("empty key"))?);
    let body = k.get(1..1 + len).ok_or_else(|| corrupt("truncated key"))?;
    PackKey::from_bytes(body).map_err(|e| corrupt(&format!("bad pack key: {e}")))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

struct W(Vec<u8>);

impl W {
    /// A buffer big enough for most events and states, so encoding seldom reallocates.
    fn new() -> W {
        W(Vec::with_capacity(160))
    }

    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn uv(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn iv(&mut self, v: i64) {
        self.uv(((v << 1) ^ (v >> 63)) as u64);
    }
    fn str(&mut self, s: &str) {
        self.uv(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }
    fn opt_uv(&mut self, v: Option<u64>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.uv(v);
            }
        }
    }
    fn opt_iv(&mut self, v: Option<i64>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.iv(v);
            }
        }
    }
    fn key(&mut self, k: &PackKey) {
        self.uv(k.as_bytes().len() as u64);
        self.0.extend_from_slice(k.as_bytes());
    }
    fn keys(&mut self, ks: &[PackKey]) {
        self.uv(ks.len() as u64);
        for k in ks {
            self.key(k);
        }
    }
    fn person(&mut self, p: Option<&PersonHash>) {
        match p {
            None => self.u8(0),
            Some(p) => {
                self.u8(1);
                self.0.extend_from_slice(p.as_bytes());
            }
        }
    }
}

struct R<'a>(&'a [u8]);

impl<'a> R<'a> {
    fn u8(&mut self) -> Result<u8, StoreError> {
        let (&b, rest) = self
            .0
            .split_first()
            .ok_or_else(|| corrupt("truncated value"))?;
        self.0 = rest;
        Ok(b)
    }
    fn uv(&mut self) -> Result<u64, StoreError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(corrupt("varint too long"))
    }
    fn u32(&mut self) -> Result<u32, StoreError> {
        u32::try_from(self.uv()?).map_err(|_| corrupt("number out of range"))
    }
    fn iv(&mut self) -> Result<i64, StoreError> {
        let u = self.uv()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if self.0.len() < n {
            return Err(corrupt("truncated value"));
        }
        let (a, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(a)
    }
    fn str(&mut self) -> Result<&'a str, StoreError> {
        let n = usize::try_from(self.uv()?).map_err(|_| corrupt("length out of range"))?;
        std::str::from_utf8(self.bytes(n)?).map_err(|_| corrupt("string is not UTF-8"))
    }
    fn flag(&mut self) -> Result<bool, StoreError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(corrupt(&format!("presence byte {b}"))),
        }
    }
    fn opt<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        if self.flag()? {
            f(self).map(Some)
        } else {
            Ok(None)
        }
    }
    fn key(&mut self) -> Result<PackKey, StoreError> {
        let n = usize::try_from(self.uv()?).map_err(|_| corrupt("length out of range"))?;
        PackKey::from_bytes(self.bytes(n)?).map_err(|e| corrupt(&format!("pack key: {e}")))
    }
    fn keys(&mut self) -> Result<Vec<PackKey>, StoreError> {
        let n = self.uv()?;
        // Each key takes at least two bytes: a count past what is left is corrupt, not an
        // allocation to attempt.
        if n > self.0.len() as u64 {
            return Err(corrupt("key count past the value's end"));
        }
        (0..n).map(|_| self.key()).collect()
    }
    fn person(&mut self) -> Result<Option<PersonHash>, StoreError> {
        self.opt(|r| {
            let b = r.bytes(PersonHash::LEN)?;
            Ok(PersonHash::from_bytes(
                b.try_into().expect("length checked"),
            ))
        })
    }
    fn institution(&mut self) -> Result<InstitutionId, StoreError> {
        InstitutionId::parse(self.str()?).map_err(|e| corrupt(&e.to_string()))
    }
    fn settlement(&mut self) -> Result<SettlementId, StoreError> {
        SettlementId::parse(self.str()?).map_err(|e| corrupt(&e.to_string()))
    }
    fn visit(&mut self) -> Result<VisitId, StoreError> {
        VisitId::parse(self.str()?).map_err(|e| corrupt(&e.to_string()))
    }
    fn stock_change(&mut self) -> Result<StockChange, StoreError> {
        u16::try_from(self.uv()?)
            .ok()
            .and_then(StockChange::from_code)
            .ok_or_else(|| corrupt("stock change code"))
    }
    fn upload(&mut self) -> Result<UploadId, StoreError> {
        UploadId::parse(self.str()?).map_err(|e| corrupt(&e.to_string()))
    }
    fn batch(&mut self) -> Result<Batch, StoreError> {
        Batch::parse(self.str()?).map_err(|e| corrupt(&e.to_string()))
    }
    fn insurance(&mut self) -> Result<InsuranceCode, StoreError> {
        InsuranceCode::parse(self.str()?).map_err(|e| corrupt(&e.to_string()))
    }
    fn time(&mut self) -> Result<Timestamp, StoreError> {
        self.iv().map(Timestamp::from_millis)
    }
    fn date(&mut self) -> Result<Date, StoreError> {
        let d = i32::try_from(self.iv()?).map_err(|_| corrupt("date out of range"))?;
        Date::from_days_since_epoch(d).ok_or_else(|| corrupt("date out of range"))
    }
    fn reason(&mut self) -> Result<Reason, StoreError> {
        let i = usize::from(self.u8()?);
        Reason::ALL
            .get(i)
            .copied()
            .ok_or_else(|| corrupt(&format!("reason {i}")))
    }
    fn done(&self) -> Result<(), StoreError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(corrupt("trailing bytes"))
        }
    }
}

fn reason_code(r: Reason) -> u8 {
    Reason::ALL
        .iter()
        .position(|x| *x == r)
        .expect("every reason is listed") as u8
}

fn outcome(w: &mut W, o: Outcome) {
    match o {
        Outcome::Accepted => w.u8(0),
        Outcome::Flagged(r) => {
            w.u8(1);
            w.u8(reason_code(r));
        }
        Outcome::Rejected(r) => {
            w.u8(2);
            w.u8(reason_code(r));
        }
    }
}

fn read_outcome(r: &mut R<'_>) -> Result<Outcome, StoreError> {
    match r.u8()? {
        0 => Ok(Outcome::Accepted),
        1 => Ok(Outcome::Flagged(r.reason()?)),
        2 => Ok(Outcome::Rejected(r.reason()?)),
        t => Err(corrupt(&format!("outcome tag {t}"))),
    }
}

/// Encodes a recorded event (its pack is in the key).
pub fn encode_recorded(rec: &Recorded) -> Vec<u8> {
    let mut w = W::new();
    let e = &rec.event;
    w.u8(FORMAT);
    w.uv(u64::from(rec.index));
    w.iv(rec.recorded_at.millis());
    w.iv(e.at.millis());
    w.str(e.actor.as_str());
    w.opt_str(e.lot.batch.as_ref().map(Batch::as_str));
    w.opt_iv(e.lot.expiry.map(|d| i64::from(d.days_since_epoch())));
    outcome(&mut w, rec.outcome);
    match &e.kind {
        EventKind::Commission => w.u8(0),
        EventKind::Ship { to } => {
            w.u8(1);
            w.opt_str(to.as_ref().map(InstitutionId::as_str));
        }
        EventKind::Receive { from } => {
            w.u8(2);
            w.opt_str(from.as_ref().map(InstitutionId::as_str));
        }
        EventKind::Intake(i) => {
            w.u8(3);
            w.opt_str(i.supplier.as_ref().map(InstitutionId::as_str));
            w.opt_str(i.product.as_ref().map(InsuranceCode::as_str));
        }
        EventKind::StockChange(c) => {
            w.u8(4);
            w.uv(u64::from(c.code()));
        }
        EventKind::Sale(s) => {
            w.u8(5);
            w.opt_str(s.settlement.as_ref().map(SettlementId::as_str));
            w.person(s.person.as_ref());
            w.opt_uv(s.units.map(u64::from));
            w.opt_uv(s.pack_units.map(u64::from));
            w.opt_str(s.product.as_ref().map(InsuranceCode::as_str));
            w.iv(s.amount_fen);
            w.u8(u8::from(s.fund_paid));
        }
        EventKind::SaleReturn(ret) => {
            w.u8(6);
            w.opt_str(ret.settlement.as_ref().map(SettlementId::as_str));
            w.opt_uv(ret.units.map(u64::from));
        }
        EventKind::Destroy => w.u8(7),
        EventKind::Recall => w.u8(8),
        EventKind::Void(v) => {
            w.u8(9);
            w.str(v.upload.as_str());
            w.uv(v.voids.len() as u64);
            for i in &v.voids {
                w.uv(u64::from(*i));
            }
        }
        EventKind::PackInto { case } => {
            w.u8(10);
            w.key(case);
        }
        EventKind::Fill { boxes } => {
            w.u8(11);
            w.keys(boxes);
        }
        EventKind::Unpack => w.u8(12),
        EventKind::Open => w.u8(13),
    }
    w.opt_str(e.upload.as_ref().map(UploadId::as_str));
    if let EventKind::Sale(s) = &e.kind {
        w.opt_str(s.visit.as_ref().map(VisitId::as_str));
    }
    let (serial, signature) = (e.lot.secondary_serial(), e.lot.signature());
    w.u8(u8::from(serial.is_some()) | u8::from(signature.is_some()) << 1);
    for s in [serial, signature].into_iter().flatten() {
        w.str(s);
    }
    w.0
}

/// Decodes a recorded event of pack `pack`.
pub fn decode_recorded(pack: PackKey, bytes: &[u8]) -> Result<Recorded, StoreError> {
    let mut r = R(bytes);
    let format = r.u8()?;
    if !known_format(format) {
        return Err(corrupt("unknown event format"));
    }
    let index = r.u32()?;
    let recorded_at = r.time()?;
    let at = r.time()?;
    let actor = r.institution()?;
    let batch = r.opt(R::batch)?;
    let expiry = r.opt(R::date)?;
    let outcome = read_outcome(&mut r)?;
    let mut kind = match r.u8()? {
        0 => EventKind::Commission,
        1 => EventKind::Ship {
            to: r.opt(R::institution)?,
        },
        2 => EventKind::Receive {
            from: r.opt(R::institution)?,
        },
        3 => EventKind::Intake(Intake {
            supplier: r.opt(R::institution)?,
            product: r.opt(R::insurance)?,
        }),
        4 => EventKind::StockChange(r.stock_change()?),
        5 => EventKind::Sale(Sale {
            settlement: if format == 1 {
                Some(r.settlement()?)
            } else {
                r.opt(R::settlement)?
            },
            person: r.person()?,
            units: r.opt(R::u32)?,
            pack_units: r.opt(R::u32)?,
            product: r.opt(R::insurance)?,
            amount_fen: r.iv()?,
            fund_paid: r.flag()?,
            visit: None,
        }),
        6 => EventKind::SaleReturn(SaleReturn {
            settlement: r.opt(R::settlement)?,
            units: r.opt(R::u32)?,
        }),
        7 => EventKind::Destroy,
        8 => EventKind::Recall,
        9 if format >= 3 => {
            let upload = r.upload()?;
            let n = r.uv()?;
            let mut voids = Vec::new();
            for _ in 0..n {
                voids.push(r.u32()?);
            }
            EventKind::Void(Void { upload, voids })
        }
        10 if format >= 6 => EventKind::PackInto { case: r.key()? },
        11 if format >= 6 => EventKind::Fill { boxes: r.keys()? },
        12 if format >= 6 => EventKind::Unpack,
        13 if format >= 6 => EventKind::Open,
        t => return Err(corrupt(&format!("event kind tag {t}"))),
    };
    let upload = if format >= 3 { r.opt(R::upload)? } else { None };
    if let EventKind::Sale(s) = &mut kind
        && format >= 4
    {
        s.visit = r.opt(R::visit)?;
    }
    let mut extra = None;
    if format >= 7 {
        let present = r.u8()?;
        if present > 0b11 {
            return Err(corrupt(&format!("code attributes byte {present}")));
        }
        let mut read = |bit: u8| -> Result<Option<String>, StoreError> {
            Ok(if present & bit != 0 {
                Some(r.str()?.to_owned())
            } else {
                None
            })
        };
        let secondary_serial = read(1)?;
        let signature = read(2)?;
        if present != 0 {
            extra = Some(Box::new(CodeExtra {
                secondary_serial,
                signature,
            }));
        }
    }
    r.done()?;
    Ok(Recorded {
        index,
        recorded_at,
        event: Event {
            pack,
            at,
            actor,
            lot: Lot {
                batch,
                expiry,
                extra,
            },
            kind,
            upload,
        },
        outcome,
    })
}

/// Encodes a movement (its id is its key).
pub fn encode_movement(m: &Movement) -> Vec<u8> {
    let mut w = W::new();
    w.u8(FORMAT);
    w.str(m.institution.as_str());
    w.str(m.product.as_str());
    w.iv(m.at.millis());
    match m.kind {
        MovementKind::Intake => w.u8(0),
        MovementKind::StockChange(c) => {
            w.u8(1);
            w.uv(u64::from(c.code()));
        }
        MovementKind::Sale => w.u8(2),
        MovementKind::SaleReturn => w.u8(3),
    }
    w.iv(m.quantity_milli);
    w.u8(u8::from(m.split) | (u8::from(m.fund_paid) << 1));
    w.iv(m.amount_fen);
    w.opt_str(m.settlement.as_ref().map(SettlementId::as_str));
    w.opt_str(m.upload.as_ref().map(UploadId::as_str));
    w.uv(u64::from(m.line));
    w.uv(u64::from(m.revision));
    w.0
}

/// Decodes a movement.
pub fn decode_movement(bytes: &[u8]) -> Result<Movement, StoreError> {
    let mut r = R(bytes);
    let format = r.u8()?;
    if !known_format(format) {
        return Err(corrupt("unknown movement format"));
    }
    let institution = r.institution()?;
    let product = r.insurance()?;
    let at = r.time()?;
    let kind = match r.u8()? {
        0 => MovementKind::Intake,
        1 => MovementKind::StockChange(r.stock_change()?),
        2 => MovementKind::Sale,
        3 => MovementKind::SaleReturn,
        t => return Err(corrupt(&format!("movement kind tag {t}"))),
    };
    let quantity_milli = r.iv()?;
    let bits = r.u8()?;
    let amount_fen = r.iv()?;
    let settlement = r.opt(R::settlement)?;
    let upload = r.opt(R::upload)?;
    let line = r.u32()?;
    let revision = if format >= 5 { r.u32()? } else { 0 };
    r.done()?;
    Ok(Movement {
        institution,
        product,
        at,
        kind,
        quantity_milli,
        split: bits & 1 != 0,
        fund_paid: bits & 2 != 0,
        amount_fen,
        settlement,
        upload,
        line,
        revision,
    })
}

/// The key under which a movement is found by its institution and upload batch: the two
/// length-prefixed (so that no pair is a prefix of another), then the movement's id.
pub fn movement_upload_key(
    institution: &InstitutionId,
    upload: &UploadId,
    id: &MovementId,
) -> Vec<u8> {
    let mut k = movement_upload_prefix(institution, upload);
    k.extend_from_slice(id.as_bytes());
    k
}

/// The prefix of the keys of the movements `institution` sent in batch `upload`.
pub fn movement_upload_prefix(institution: &InstitutionId, upload: &UploadId) -> Vec<u8> {
    let (i, u) = (institution.as_str().as_bytes(), upload.as_str().as_bytes());
    let mut k = Vec::with_capacity(2 + i.len() + u.len() + 16);
    k.push(i.len() as u8);
    k.extend_from_slice(i);
    k.push(u.len() as u8);
    k.extend_from_slice(u);
    k
}

/// The movement id at the end of a [`movement_upload_key`].
pub fn movement_upload_id(k: &[u8]) -> Result<MovementId, StoreError> {
    let tail = k
        .len()
        .checked_sub(16)
        .and_then(|at| k.get(at..))
        .ok_or_else(|| corrupt("truncated movement batch key"))?;
    let mut id = [0u8; 16];
    id.copy_from_slice(tail);
    Ok(MovementId::from_bytes(id))
}

/// Encodes a movement's void.
pub fn encode_movement_void(v: &MovementVoid) -> Vec<u8> {
    let mut w = W::new();
    w.u8(FORMAT);
    w.str(v.by.as_str());
    w.iv(v.at.millis());
    w.0
}

/// Decodes a movement's void.
pub fn decode_movement_void(bytes: &[u8]) -> Result<MovementVoid, StoreError> {
    let mut r = R(bytes);
    if !(5..=FORMAT).contains(&r.u8()?) {
        return Err(corrupt("unknown movement void format"));
    }
    let by = r.institution()?;
    let at = r.time()?;
    r.done()?;
    Ok(MovementVoid { by, at })
}

/// Encodes a pack's state. Its first field after the format byte is the event count, so
/// that a version check need not decode the rest.
pub fn encode_state(s: &PackState) -> Vec<u8> {
    let mut w = W::new();
    w.u8(FORMAT);
    w.uv(u64::from(s.events));
    match &s.issue {
        None => w.u8(0),
        Some(i) => {
            w.u8(1);
            w.str(i.by.as_str());
            w.iv(i.at.millis());
        }
    }
    w.opt_str(s.batch.as_ref().map(Batch::as_str));
    w.opt_iv(s.expiry.map(|d| i64::from(d.days_since_epoch())));
    w.opt_str(s.holder.as_ref().map(InstitutionId::as_str));
    w.opt_str(s.delivered_as.as_ref().map(InsuranceCode::as_str));
    w.opt_uv(s.pack_units.map(u64::from));
    w.uv(s.sales.len() as u64);
    for sale in &s.sales {
        w.uv(u64::from(sale.index));
        w.iv(sale.at.millis());
        w.str(sale.institution.as_str());
        w.opt_str(sale.settlement.as_ref().map(SettlementId::as_str));
        w.person(sale.person.as_ref());
        w.uv(u64::from(sale.units));
        w.uv(u64::from(sale.returned));
        w.iv(sale.amount_fen);
        w.u8(u8::from(sale.fund_paid));
        outcome(&mut w, sale.outcome);
    }
    w.uv(s.blocked.len() as u64);
    for b in &s.blocked {
        w.uv(u64::from(b.index));
        w.str(b.institution.as_str());
        w.opt_str(b.settlement.as_ref().map(SettlementId::as_str));
        w.u8(reason_code(b.reason));
        w.iv(b.at.millis());
        w.person(b.person.as_ref());
        w.uv(u64::from(b.units));
        w.iv(b.amount_fen);
    }
    w.uv(u64::from(s.blocked_count));
    w.u8(u8::from(s.recalled) | (u8::from(s.destroyed) << 1) | (u8::from(s.is_case) << 2));
    w.opt_iv(s.last_at.map(Timestamp::millis));
    match &s.case {
        None => w.u8(0),
        Some(l) => {
            w.u8(1);
            w.key(&l.case);
            w.uv(u64::from(l.index));
            outcome(&mut w, l.outcome);
        }
    }
    w.keys(&s.contents);
    w.0
}

/// The event count (version) of an encoded state, without decoding the rest.
pub fn state_version(bytes: &[u8]) -> Result<u32, StoreError> {
    let mut r = R(bytes);
    if !known_format(r.u8()?) {
        return Err(corrupt("unknown state format"));
    }
    r.u32()
}

/// Decodes a pack's state.
pub fn decode_state(bytes: &[u8]) -> Result<PackState, StoreError> {
    let mut r = R(bytes);
    let format = r.u8()?;
    if !known_format(format) {
        return Err(corrupt("unknown state format"));
    }
    let v1 = format == 1;
    let settlement = |r: &mut R<'_>| {
        if v1 {
            r.settlement().map(Some)
        } else {
            r.opt(R::settlement)
        }
    };
    let events = r.u32()?;
    let issue = r.opt(|r| {
        Ok(Issue {
            by: r.institution()?,
            at: r.time()?,
        })
    })?;
    let batch = r.opt(R::batch)?;
    let expiry = r.opt(R::date)?;
    let holder = r.opt(R::institution)?;
    let delivered_as = r.opt(R::insurance)?;
    let pack_units = r.opt(R::u32)?;
    let n = r.uv()?;
    let mut sales = Vec::new();
    for _ in 0..n {
        sales.push(SaleRecord {
            index: r.u32()?,
            at: r.time()?,
            institution: r.institution()?,
            settlement: settlement(&mut r)?,
            person: r.person()?,
            units: r.u32()?,
            returned: r.u32()?,
            amount_fen: r.iv()?,
            fund_paid: r.flag()?,
            outcome: read_outcome(&mut r)?,
        });
    }
    let n = r.uv()?;
    let mut blocked = Vec::new();
    for _ in 0..n {
        let (index, institution, settlement, reason) =
            (r.u32()?, r.institution()?, settlement(&mut r)?, r.reason()?);
        // Format 1 kept no more; its attempts all named a settlement, which is what a retry
        // of them is matched by.
        let (at, person, units, amount_fen) = if v1 {
            (Timestamp::from_millis(0), None, 0, 0)
        } else {
            (r.time()?, r.person()?, r.u32()?, r.iv()?)
        };
        blocked.push(BlockedSale {
            index,
            institution,
            settlement,
            reason,
            at,
            person,
            units,
            amount_fen,
        });
    }
    let blocked_count = r.u32()?;
    let bits = r.u8()?;
    let last_at = r.opt(R::time)?;
    let (case, contents) = if format >= 6 {
        let case = r.opt(|r| {
            Ok(CaseLink {
                case: r.key()?,
                index: r.u32()?,
                outcome: read_outcome(r)?,
            })
        })?;
        (case, r.keys()?)
    } else {
        (None, Vec::new())
    };
    r.done()?;
    Ok(PackState {
        events,
        issue,
        batch,
        expiry,
        holder,
        delivered_as,
        pack_units,
        sales,
        blocked,
        blocked_count,
        recalled: bits & 1 != 0,
        destroyed: bits & 2 != 0,
        last_at,
        case,
        is_case: bits & 4 != 0,
        contents,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use drugtrace_ledger::testkit::{Rng, arbitrary_recorded, pack};

    #[test]
    fn events_and_states_round_trip() {
        let mut rng = Rng::new(42);
        for n in 0..2000 {
            let key = pack(n);
            let log: Vec<Recorded> = (0..1 + rng.below(6) as u32)
                .map(|i| arbitrary_recorded(&mut rng, key, i))
                .collect();
            for rec in &log {
                assert_eq!(decode_recorded(key, &encode_recorded(rec)).unwrap(), *rec);
            }
            let state = PackState::fold(&log);
            let bytes = encode_state(&state);
            assert_eq!(decode_state(&bytes).unwrap(), state);
            assert_eq!(state_version(&bytes).unwrap(), state.events);
        }
    }

    #[test]
    fn movements_and_their_voids_round_trip_and_format_4_movements_are_read() {
        let mut m = Movement {
            institution: InstitutionId::parse("P1").unwrap(),
            product: InsuranceCode::parse("XJ01CAA040A001010100001").unwrap(),
            at: Timestamp::from_millis(1_750_000_000_000),
            kind: MovementKind::StockChange(StockChange::ReturnOut),
            quantity_milli: 2_500,
            split: true,
            amount_fen: 0,
            fund_paid: false,
            settlement: None,
            upload: Some(UploadId::parse("3/B1").unwrap()),
            line: 3,
            revision: 0,
        };
        let bytes = encode_movement(&m);
        assert_eq!(decode_movement(&bytes).unwrap(), m);
        // Format 4 wrote no revision: the same bytes without the last field, format byte 4.
        let mut older = bytes[..bytes.len() - 1].to_vec();
        older[0] = 4;
        assert_eq!(decode_movement(&older).unwrap(), m);
        m.revision = 300;
        assert_eq!(decode_movement(&encode_movement(&m)).unwrap(), m);

        let v = MovementVoid {
            by: InstitutionId::parse("P1").unwrap(),
            at: Timestamp::from_millis(1_750_000_500_000),
        };
        let bytes = encode_movement_void(&v);
        assert_eq!(decode_movement_void(&bytes).unwrap(), v);
        for cut in 0..bytes.len() {
            assert!(decode_movement_void(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn movement_batch_keys_are_prefix_free_and_give_back_the_id() {
        let id = MovementId::from_bytes([7; 16]);
        let a = InstitutionId::parse("P1").unwrap();
        let ab = InstitutionId::parse("P1B").unwrap();
        let b1 = UploadId::parse("B1").unwrap();
        let b = UploadId::parse("B").unwrap();
        let key = movement_upload_key(&a, &b1, &id);
        assert!(key.starts_with(&movement_upload_prefix(&a, &b1)));
        assert!(!key.starts_with(&movement_upload_prefix(&ab, &b)));
        assert!(!movement_upload_key(&ab, &b, &id).starts_with(&movement_upload_prefix(&a, &b1)));
        assert!(!key.starts_with(&movement_upload_prefix(&a, &b)));
        assert_eq!(movement_upload_id(&key).unwrap(), id);
        assert!(movement_upload_id(&key[..10]).is_err());
    }

    #[test]
    fn truncated_values_are_corrupt_not_panics() {
        let mut rng = Rng::new(7);
        let rec = arbitrary_recorded(&mut rng, pack(1), 0);
        let bytes = encode_recorded(&rec);
        for cut in 0..bytes.len() {
            assert!(decode_recorded(pack(1), &bytes[..cut]).is_err());
        }
        let state = PackState::fold(std::slice::from_ref(&rec));
        let bytes = encode_state(&state);
        for cut in 0..bytes.len() {
            assert!(decode_state(&bytes[..cut]).is_err());
        }
    }

    /// Clears what formats before `format` cannot hold and lays `rec` out as that format
    /// wrote it: format 6 had no code attributes (250, 8030), format 3 no visit on a sale,
    /// format 2 no upload batch either.
    fn as_older_format(rec: &mut Recorded, format: u8) -> Vec<u8> {
        rec.event.lot.extra = None;
        let sale = if let EventKind::Sale(s) = &mut rec.event.kind
            && format < 4
        {
            s.visit = None;
            true
        } else {
            false
        };
        if format < 3 {
            rec.event.upload = None;
        }
        let mut bytes = encode_recorded(rec);
        bytes[0] = format;
        assert_eq!(
            bytes.pop(),
            Some(0),
            "no code attributes: one byte at the end"
        );
        if sale {
            assert_eq!(bytes.pop(), Some(0), "no visit: one absent byte at the end");
        }
        if format < 3 {
            assert_eq!(bytes.pop(), Some(0), "no upload: one absent byte");
        }
        bytes
    }

    /// Format 2 events (before upload batches and voids) read as events without an upload,
    /// format 3 sales as sales without a visit, and format 6 events as events whose code
    /// carried no secondary serial or signature.
    #[test]
    fn format_2_3_and_6_events_are_still_read() {
        let mut rng = Rng::new(9);
        for format in [2, 3, 6] {
            let mut n = 0;
            while n < 200 {
                let mut rec = arbitrary_recorded(&mut rng, pack(1), 0);
                if format == 2 && matches!(rec.event.kind, EventKind::Void(_)) {
                    continue;
                }
                if format < 6
                    && matches!(
                        rec.event.kind,
                        EventKind::PackInto { .. }
                            | EventKind::Fill { .. }
                            | EventKind::Unpack
                            | EventKind::Open
                    )
                {
                    // Packaging came in format 6: an older value cannot hold it.
                    assert!(decode_recorded(pack(1), &as_older_format(&mut rec, 5)).is_err());
                    continue;
                }
                let bytes = as_older_format(&mut rec, format);
                assert_eq!(decode_recorded(pack(1), &bytes).unwrap(), rec);
                n += 1;
            }
        }
    }

    /// A GS1 code's secondary serial and signature are kept with the event, one byte saying
    /// which follow; any other value of that byte is corrupt.
    #[test]
    fn code_attributes_round_trip_and_bad_ones_are_corrupt() {
        let mut rng = Rng::new(10);
        let mut rec = arbitrary_recorded(&mut rng, pack(1), 0);
        for (serial, signature) in [(Some("SEC-0001"), Some("MEUCIQD4")), (None, Some("MEUC"))] {
            rec.event.lot.extra = Some(Box::new(CodeExtra {
                secondary_serial: serial.map(str::to_owned),
                signature: signature.map(str::to_owned),
            }));
            let bytes = encode_recorded(&rec);
            assert_eq!(decode_recorded(pack(1), &bytes).unwrap(), rec);
        }
        rec.event.lot.extra = None;
        let mut bytes = encode_recorded(&rec);
        *bytes.last_mut().unwrap() = 4;
        let e = decode_recorded(pack(1), &bytes).unwrap_err().to_string();
        assert!(e.contains("code attributes byte 4"), "{e}");
    }

    /// Stores written before format 2 stay readable: a sale and a state with a blocked
    /// attempt, laid out byte by byte as format 1 wrote them.
    #[test]
    fn format_1_values_are_still_read() {
        let mut w = W::new();
        w.u8(1);
        w.uv(3); // index
        w.iv(1_000); // recorded at
        w.iv(900); // at
        w.str("P1");
        w.opt_str(None);
        w.opt_iv(None);
        outcome(&mut w, Outcome::Accepted);
        w.u8(5);
        w.str("S1");
        w.person(None);
        w.opt_uv(Some(1));
        w.opt_uv(Some(1));
        w.opt_str(None);
        w.iv(1234);
        w.u8(1);
        let rec = decode_recorded(pack(1), &w.0).unwrap();
        let EventKind::Sale(sale) = &rec.event.kind else {
            panic!("a sale");
        };
        assert_eq!(sale.settlement.as_ref().unwrap().as_str(), "S1");
        assert_eq!(sale.amount_fen, 1234);

        let mut w = W::new();
        w.u8(1);
        w.uv(2); // events
        w.u8(0); // no issue
        w.opt_str(None);
        w.opt_iv(None);
        w.opt_str(None);
        w.opt_str(None);
        w.opt_uv(Some(1));
        w.uv(0); // no sales
        w.uv(1); // one blocked attempt
        w.uv(1);
        w.str("P2");
        w.str("S2");
        w.u8(reason_code(Reason::AlreadySold));
        w.uv(1);
        w.u8(0);
        w.opt_iv(None);
        let state = decode_state(&w.0).unwrap();
        assert_eq!(state.events, 2);
        assert_eq!(state.blocked[0].settlement.as_ref().unwrap().as_str(), "S2");
        assert_eq!(state.blocked[0].reason, Reason::AlreadySold);
        assert_eq!(state_version(&w.0).unwrap(), 2);
    }

    #[test]
    fn key_order_is_pack_key_order() {
        let mut keys: Vec<PackKey> = (0..100).map(|n| pack(n * 7919 % 1000)).collect();
        keys.sort();
        let mut encoded: Vec<Vec<u8>> = keys.iter().map(pack_prefix).collect();
        encoded.sort();
        let decoded: Vec<PackKey> = encoded.iter().map(|k| key_pack(k).unwrap()).collect();
        assert_eq!(decoded, keys);
    }
}
