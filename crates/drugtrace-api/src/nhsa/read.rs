//! Reading the national interface's JSON: every value is looked up through an [`Obj`] that
//! knows its own path, so that each complaint names the exact field
//! (`input.selinfo.drugtracinfo[0].drug_trac_codg: expected 20 digits, got 19`).
//!
//! Hospital systems are lenient writers, so the reader is lenient where that loses nothing:
//! a value may be a JSON string or number (`"purc_retn_cnt": 3` and `"1.00"` alike), an
//! empty string or `null` means the field is absent, field names are matched exactly first
//! and then regardless of ASCII case (`MDTRT_SETL_TYPE` has been seen), and unknown fields
//! are ignored (national records carry dozens this service does not need). It is strict
//! about everything it uses: a present value that does not parse is an error.

use drugtrace_code::TraceCode;
use drugtrace_ledger::{Date, Timestamp};
use serde_json::{Map, Value};

/// A business error: the answer's `err_msg`, with `infcode` -1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault(pub String);

impl Fault {
    /// A complaint about the field at `path`.
    pub fn at(path: &str, message: impl std::fmt::Display) -> Fault {
        Fault(format!("{path}: {message}"))
    }
}

/// A JSON object and where it sits in the request.
#[derive(Clone, Copy)]
pub struct Obj<'a> {
    path: &'a str,
    map: &'a Map<String, Value>,
}

/// An object with a path of its own (`input.selinfoDetail[2]`, `input.data`).
pub struct Owned<'a> {
    /// The object's path.
    pub path: String,
    map: &'a Map<String, Value>,
}

impl<'a> Owned<'a> {
    /// The object, borrowed with its path.
    pub fn obj(&self) -> Obj<'_> {
        Obj {
            path: &self.path,
            map: self.map,
        }
    }
}

impl<'a> Obj<'a> {
    /// `v` as an object at `path`.
    pub fn new(path: &'a str, v: &'a Value) -> Result<Obj<'a>, Fault> {
        match v {
            Value::Object(map) => Ok(Obj { path, map }),
            other => Err(Fault::at(
                path,
                format!("expected an object, got {}", kind(other)),
            )),
        }
    }

    /// The path of a field of this object.
    pub fn field_path(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    /// The raw value of a field, looked up exactly and then regardless of ASCII case.
    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).or_else(|| {
            self.map
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }

    /// A text field: a string (trimmed) or a number; `null`, absent and blank are `None`.
    pub fn text(&self, name: &str) -> Result<Option<String>, Fault> {
        match self.raw(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(Fault::at(
                &self.field_path(name),
                format!("expected a string or a number, got {}", kind(other)),
            )),
        }
    }

    /// A text field that must be present.
    pub fn required(&self, name: &str) -> Result<String, Fault> {
        self.text(name)?
            .ok_or_else(|| Fault::at(&self.field_path(name), "is required"))
    }

    /// A field parsed by `parse`, if present.
    pub fn parsed<T, E: std::fmt::Display>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, Fault> {
        self.text(name)?
            .map(|t| parse(&t).map_err(|e| Fault::at(&self.field_path(name), e)))
            .transpose()
    }

    /// The object in field `name`, which must be present.
    pub fn object(&self, name: &str) -> Result<Owned<'a>, Fault> {
        let path = self.field_path(name);
        match self.raw(name) {
            None | Some(Value::Null) => Err(Fault::at(&path, "is required")),
            Some(Value::Object(map)) => Ok(Owned { path, map }),
            Some(other) => Err(Fault::at(
                &path,
                format!("expected an object, got {}", kind(other)),
            )),
        }
    }

    /// The records of a section: `{name}Detail` (the batch forms' list) or `name`, holding
    /// one object or a list of objects.
    pub fn records(&self, name: &str) -> Result<Vec<Owned<'a>>, Fault> {
        let detail = format!("{name}Detail");
        let (key, v) = match (self.raw(&detail), self.raw(name)) {
            (Some(v), _) if !v.is_null() => (detail, v),
            (_, Some(v)) if !v.is_null() => (name.to_owned(), v),
            _ => {
                return Err(Fault::at(
                    &self.field_path(name),
                    format!("is required (or {detail} for a list)"),
                ));
            }
        };
        let base = self.field_path(&key);
        match v {
            Value::Object(map) => Ok(vec![Owned { path: base, map }]),
            Value::Array(items) if items.is_empty() => Err(Fault::at(&base, "holds no record")),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::Object(map) => Ok(Owned {
                        path: format!("{base}[{i}]"),
                        map,
                    }),
                    other => Err(Fault::at(
                        &format!("{base}[{i}]"),
                        format!("expected an object, got {}", kind(other)),
                    )),
                })
                .collect(),
            other => Err(Fault::at(
                &base,
                format!(
                    "expected an object or a list of objects, got {}",
                    kind(other)
                ),
            )),
        }
    }

    /// The trace codes of a record, each with its path: from its `drugtracinfo` list (or a
    /// single `drugtracinfo` object), else from a `drug_trac_codg` field on the record itself
    /// (older interface versions; several codes may be separated by commas).
    pub fn codes(&self) -> Result<Vec<(String, TraceCode)>, Fault> {
        let mut out = Vec::new();
        match self.raw("drugtracinfo") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.trim().is_empty() => {}
            Some(Value::Object(map)) => {
                let o = Obj {
                    path: self.path,
                    map,
                };
                push_code(&mut out, &o, self.field_path("drugtracinfo"))?;
            }
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let path = format!("{}[{i}]", self.field_path("drugtracinfo"));
                    let Value::Object(map) = item else {
                        return Err(Fault::at(
                            &path,
                            format!("expected an object, got {}", kind(item)),
                        ));
                    };
                    let o = Obj {
                        path: self.path,
                        map,
                    };
                    push_code(&mut out, &o, path)?;
                }
            }
            Some(other) => {
                return Err(Fault::at(
                    &self.field_path("drugtracinfo"),
                    format!("expected a list of objects, got {}", kind(other)),
                ));
            }
        }
        if out.is_empty()
            && let Some(list) = self.text("drug_trac_codg")?
        {
            let path = self.field_path("drug_trac_codg");
            for (i, part) in list.split(',').map(str::trim).enumerate() {
                if part.is_empty() {
                    continue;
                }
                let code = TraceCode::parse(part)
                    .map_err(|e| Fault::at(&path, format!("code {} of the list: {e}", i + 1)))?;
                out.push((path.clone(), code));
            }
        }
        // One pack scanned twice in one record is a scanner slip, and would be counted twice.
        for (j, (path, code)) in out.iter().enumerate() {
            if let Some((first, _)) = out[..j]
                .iter()
                .find(|(_, c)| c.pack_key() == code.pack_key())
            {
                return Err(Fault::at(path, format!("the same pack as {first}")));
            }
        }
        Ok(out)
    }
}

/// Reads `drug_trac_codg` of one `drugtracinfo` object, whose path is `path`.
fn push_code(out: &mut Vec<(String, TraceCode)>, o: &Obj<'_>, path: String) -> Result<(), Fault> {
    let field = format!("{path}.drug_trac_codg");
    match o.raw("drug_trac_codg") {
        None | Some(Value::Null) => Err(Fault::at(&field, "is required")),
        Some(Value::String(s)) if s.trim().is_empty() => Err(Fault::at(&field, "is empty")),
        Some(Value::String(s)) => {
            let code = TraceCode::parse(s).map_err(|e| Fault::at(&field, e))?;
            out.push((field, code));
            Ok(())
        }
        Some(other) => Err(Fault::at(
            &field,
            format!(
                "expected a string (a code's leading zeros would be lost in a number), got {}",
                kind(other)
            ),
        )),
    }
}

/// The JSON kind of a value, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Parses a non-negative decimal with at most `scale` decimals into an integer count of
/// `10^-scale` (`"1.50"` at scale 4 is 15,000).
pub fn decimal(s: &str, scale: u32) -> Result<i128, String> {
    let t = s.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) {
        return Err(format!("{t:?} is not a non-negative decimal number"));
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > scale as usize {
        return Err(format!("{t:?} has more than {scale} decimals"));
    }
    let too_big = || format!("{t:?} is too large");
    if whole.len() > 18 {
        return Err(too_big());
    }
    let w: i128 = whole.parse().map_err(|_| too_big())?;
    let f: i128 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<width$}", width = scale as usize)
            .parse()
            .map_err(|_| too_big())?
    };
    Ok(w * 10i128.pow(scale) + f)
}

/// Parses a local time as hospital systems send it (`YYYY-MM-DD HH:MM:SS`, also RFC 3339,
/// or a bare date, read as its midnight).
pub fn time(s: &str, offset_minutes: i32) -> Result<Timestamp, String> {
    let t = s.trim();
    if t.len() == 10 && Date::parse(t).is_ok() {
        return Timestamp::parse(&format!("{t} 00:00:00"), offset_minutes)
            .map_err(|e| e.to_string());
    }
    Timestamp::parse(t, offset_minutes).map_err(|e| e.to_string())
}

/// Local `YYYY-MM-DD HH:MM:SS`, the interface's time format.
pub fn local_time(at: Timestamp, offset_minutes: i32) -> String {
    let rfc = at.to_rfc3339(offset_minutes);
    rfc.get(..19).unwrap_or(&rfc).replacen('T', " ", 1)
}

/// Local `yyyyMMddHHmmssSSS`, the envelope's `refmsg_time` and `respond_time` format.
pub fn compact_time(at: Timestamp, offset_minutes: i32) -> String {
    let mut s: String = local_time(at, offset_minutes)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    s.push_str(&format!("{:03}", at.millis().rem_euclid(1000)));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decimals() {
        assert_eq!(decimal("1.00", 4), Ok(10_000));
        assert_eq!(decimal("35.91", 6), Ok(35_910_000));
        assert_eq!(decimal("3", 4), Ok(30_000));
        assert_eq!(decimal("0.12340", 4), Ok(1_234));
        assert!(decimal("0.12345", 4).is_err());
        assert!(decimal("-1", 4).is_err());
        assert!(decimal(".5", 4).is_err());
        assert!(decimal("1e3", 4).is_err());
        assert!(decimal("9999999999999999999", 4).is_err());
    }

    #[test]
    fn times() {
        let at = time("2025-04-08 10:30:00", 480).unwrap();
        assert_eq!(local_time(at, 480), "2025-04-08 10:30:00");
        assert_eq!(compact_time(at, 480), "20250408103000000");
        let midnight = time("2025-04-08", 480).unwrap();
        assert_eq!(local_time(midnight, 480), "2025-04-08 00:00:00");
        assert!(time("2025-04-31 10:00:00", 480).is_err());
    }

    #[test]
    fn text_is_lenient_about_form_and_strict_about_kind() {
        let v = json!({"a": " x ", "b": 3, "c": "", "d": null, "E": "y", "f": [1]});
        let o = Obj::new("input", &v).unwrap();
        assert_eq!(o.text("a").unwrap().as_deref(), Some("x"));
        assert_eq!(o.text("b").unwrap().as_deref(), Some("3"));
        assert_eq!(o.text("c").unwrap(), None);
        assert_eq!(o.text("d").unwrap(), None);
        assert_eq!(o.text("e").unwrap().as_deref(), Some("y"));
        assert_eq!(
            o.text("f").unwrap_err().0,
            "input.f: expected a string or a number, got a list"
        );
        assert_eq!(o.required("z").unwrap_err().0, "input.z: is required");
    }

    #[test]
    fn codes_come_from_every_form_and_name_their_path() {
        let v = json!({"drugtracinfo": [{"drug_trac_codg": "81000010000000000001"}, {"drug_trac_codg": "8100001000000000002"}]});
        let o = Obj::new("input.selinfo", &v).unwrap();
        assert_eq!(
            o.codes().unwrap_err().0,
            "input.selinfo.drugtracinfo[1].drug_trac_codg: expected 20 digits, got 19"
        );
        let v = json!({"drugtracinfo": {"drug_trac_codg": "81000010000000000001"}});
        assert_eq!(Obj::new("r", &v).unwrap().codes().unwrap().len(), 1);
        let v = json!({"drug_trac_codg": "81000010000000000001, 81000010000000000002"});
        assert_eq!(Obj::new("r", &v).unwrap().codes().unwrap().len(), 2);
        let v = json!({"drugtracinfo": ""});
        assert!(Obj::new("r", &v).unwrap().codes().unwrap().is_empty());
        let v = json!({"drugtracinfo": [{"drug_trac_codg": "81000010000000000001"}, {"drug_trac_codg": " 81000010000000000001"}]});
        assert_eq!(
            Obj::new("r", &v).unwrap().codes().unwrap_err().0,
            "r.drugtracinfo[1].drug_trac_codg: the same pack as r.drugtracinfo[0].drug_trac_codg"
        );
    }
}
