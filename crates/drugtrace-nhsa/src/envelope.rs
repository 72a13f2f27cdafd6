//! The envelope every call travels in, and the answer's.

use drugtrace_ledger::{InstitutionId, Policy, Timestamp};
use serde::Serialize;
use serde_json::Value;

use crate::read::{Fault, Obj, compact_time, time};

/// The envelope's fields this service uses. The others (`mdtrtarea_admvs`,
/// `insuplc_admdvs`, `recer_sys_code`, `infver`, `opter_type`, `opter`, `opter_name`,
/// `fixmedins_name`, `sign_no`) are accepted and ignored.
pub struct Envelope<'a> {
    /// The transaction number, such as `3505` or `3505A`.
    pub infno: String,
    /// The institution that sends, which must be the caller's own.
    pub fixmedins_code: InstitutionId,
    /// When the institution's system sent the message: the default time of records that
    /// carry none of their own.
    pub inf_time: Timestamp,
    /// The transaction's input.
    pub input: Obj<'a>,
}

/// Reads the envelope of `body`. The message id is read first and separately, so that
/// even an answer about a broken envelope can refer to its message.
pub fn msgid(body: &Value) -> Option<String> {
    let o = Obj::new("", body).ok()?;
    o.text("msgid").ok().flatten()
}

/// Reads and checks the envelope.
pub fn read<'a>(body: &'a Value, offset: i32, now: Timestamp) -> Result<Envelope<'a>, Fault> {
    if !body.is_object() {
        return Err(Fault(format!(
            "the request is {}, not an envelope object",
            crate::read::kind(body)
        )));
    }
    let o = Obj::new("", body)?;
    let infno = o.required("infno")?;
    o.required("msgid")?;
    let fixmedins_code = o
        .parsed("fixmedins_code", InstitutionId::parse)?
        .ok_or_else(|| Fault::at("fixmedins_code", "is required"))?;
    let inf_time = o
        .parsed("inf_time", |t| {
            let at = time(t, offset)?;
            Policy::check_claimed_time(at, now, offset).map_err(|e| e.to_string())?;
            Ok::<_, String>(at)
        })?
        .ok_or_else(|| Fault::at("inf_time", "is required"))?;
    let input = match o.raw("input") {
        None | Some(Value::Null) => return Err(Fault::at("input", "is required")),
        Some(v) => Obj::new("input", v)?,
    };
    Ok(Envelope {
        infno,
        fixmedins_code,
        inf_time,
        input,
    })
}

/// The answer: `infcode` 0 and an `output`, or -1 and an `err_msg`; always HTTP 200.
#[derive(Serialize)]
pub struct Answer {
    /// 0: done (see `output.retRslt` for whether every record went through); -1: refused,
    /// nothing recorded.
    infcode: i32,
    /// The request's `msgid`.
    inf_refmsgid: Option<String>,
    /// When the request arrived (local `yyyyMMddHHmmssSSS`).
    refmsg_time: String,
    /// When the answer was made (local `yyyyMMddHHmmssSSS`).
    respond_time: String,
    /// Why the call was refused; with infcode 0, what did not go through (records refused,
    /// sales blocked).
    err_msg: Option<String>,
    /// A summary of the codes flagged or rejected, when there are any.
    warn_msg: Option<String>,
    /// The transaction's output.
    output: Value,
}

impl Answer {
    /// A successful answer: the call was carried out. When its output says that not all
    /// went well (`retRslt` `0`: a record refused, a sale blocked), `err_msg` repeats the
    /// output's `msgRslt`, so that a client reading only `infcode` and `err_msg` does not take
    /// it for plain success.
    pub fn ok(
        msgid: Option<String>,
        received: Timestamp,
        offset: i32,
        output: Value,
        warn_msg: Option<String>,
    ) -> Answer {
        let err_msg = match (output.get("retRslt"), output.get("msgRslt")) {
            (Some(Value::String(r)), Some(Value::String(m))) if r == "0" => Some(m.clone()),
            _ => None,
        };
        Answer {
            infcode: 0,
            inf_refmsgid: msgid,
            refmsg_time: compact_time(received, offset),
            respond_time: compact_time(Timestamp::now(), offset),
            err_msg,
            warn_msg,
            output,
        }
    }

    /// A settlement the gate blocked: infcode -1 (it must not be paid), `err_msg` naming the
    /// blocked codes, and the details in `output`.
    pub fn blocked(
        msgid: Option<String>,
        received: Timestamp,
        offset: i32,
        err_msg: String,
        output: Value,
    ) -> Answer {
        Answer {
            infcode: -1,
            inf_refmsgid: msgid,
            refmsg_time: compact_time(received, offset),
            respond_time: compact_time(Timestamp::now(), offset),
            err_msg: Some(err_msg),
            warn_msg: None,
            output,
        }
    }

    /// A refusal: nothing was recorded.
    pub fn fault(msgid: Option<String>, received: Timestamp, offset: i32, fault: Fault) -> Answer {
        Answer {
            infcode: -1,
            inf_refmsgid: msgid,
            refmsg_time: compact_time(received, offset),
            respond_time: compact_time(Timestamp::now(), offset),
            err_msg: Some(fault.0),
            warn_msg: None,
            output: Value::Null,
        }
    }
}
