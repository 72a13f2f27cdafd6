//! The asker's identity for the patient query: a signed assertion from the deployment's
//! identity provider (the NHSA app after its own login, or whatever bridge the deployment
//! runs), never a bare ID number anyone could type.
//!
//! The assertion is a JSON Web Token (RFC 7519) in its compact form
//! `base64url(header).base64url(claims).base64url(HMAC-SHA256(key, header "." claims))`,
//! signed with HS256 under a secret this installation shares with its identity provider:
//!
//! - the header is `{"alg":"HS256","typ":"JWT"}`: any other `alg` (`none` above all) is
//!   refused, so is a `typ` other than `JWT` and any `crit` extension;
//! - `sub` is the person's certificate or insured-person number, which the ledger hashes
//!   with the installation's person key exactly as it hashed the buyer at sale;
//! - `exp` (unix seconds) is required, `nbf` is optional, both with a [`LEEWAY_SECONDS`]
//!   clock leeway;
//! - `iss` and `aud` are checked when the key is configured with them
//!   ([`IdentityKey::with_issuer`], [`IdentityKey::with_audience`]); a token that names an
//!   audience is refused by a key that has none (RFC 7519 §4.1.3: it was meant for
//!   someone else).
//!
//! The signature is compared in constant time ([`Mac::verify_slice`]) and checked before a
//! single claim is read. [`IdentityKey::issue`] signs a token, for `drugtrace identity
//! token` and the tests.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The header that carries the asker's signed identity assertion.
pub const ASSERTION_HEADER: &str = "x-person-assertion";

/// How far the identity provider's clock may be from ours, in seconds.
pub const LEEWAY_SECONDS: i64 = 60;

/// The longest assertion read; anything longer is malformed.
pub const MAX_ASSERTION_LEN: usize = 8 * 1024;

/// The shortest key accepted: HS256 needs at least the hash's 32 bytes (RFC 7518 §3.2).
pub const MIN_KEY_LEN: usize = 32;

/// Why an assertion was not accepted. Its message is what the patient query answers in
/// its `identity` field: it starts with a fixed phrase (`malformed`, `unsupported alg`,
/// `bad signature`, `expired`, `not yet valid`, `wrong issuer`, `wrong audience`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    /// Not a compact JWT, or its header or claims are not what a JWT holds.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The header names another algorithm than HS256 (`none` included).
    #[error("unsupported alg {0:?}: only HS256 is accepted")]
    UnsupportedAlg(String),
    /// The signature is not this installation's key's over the header and claims.
    #[error("bad signature")]
    BadSignature,
    /// `exp` has passed (beyond the leeway).
    #[error("expired")]
    Expired,
    /// `nbf` is still ahead (beyond the leeway).
    #[error("not yet valid")]
    NotYetValid,
    /// `iss` is not the configured issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// `aud` does not name the configured audience (or names one where none is configured).
    #[error("wrong audience")]
    WrongAudience,
}

fn malformed(what: impl Into<String>) -> AssertionError {
    AssertionError::Malformed(what.into())
}

/// A key too short, or not hex, for [`IdentityKey`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityKeyError {
    /// Fewer than [`MIN_KEY_LEN`] bytes.
    #[error("an identity key needs at least {MIN_KEY_LEN} bytes, this one has {0}")]
    TooShort(usize),
    /// The text is not an even number of hex digits.
    #[error("an identity key is written as hex digits")]
    NotHex,
    /// The operating system gave no random bytes.
    #[error("the operating system gave no random bytes: {0}")]
    Random(String),
}

/// The HS256 secret shared with the identity provider, with the issuer and audience the
/// installation expects.
#[derive(Clone)]
pub struct IdentityKey {
    secret: Vec<u8>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl fmt::Debug for IdentityKey {
    /// Never prints the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityKey")
            .field("secret", &"<secret>")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// The claims of an assertion this module reads and writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The person: certificate or insured-person number.
    pub sub: String,
    /// Expiry, unix seconds.
    pub exp: i64,
    /// Not before, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Issued at, unix seconds (written, never checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// The issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

impl Claims {
    /// Claims for `person`, issued at `now` (unix seconds) and valid for `seconds`.
    pub fn new(person: &str, now: i64, seconds: i64) -> Claims {
        Claims {
            sub: person.to_owned(),
            exp: now.saturating_add(seconds),
            nbf: None,
            iat: Some(now),
            iss: None,
            aud: None,
        }
    }
}

/// A verified assertion: who, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The person's number, as the identity provider signed it.
    pub sub: String,
    /// When the assertion expires, unix seconds.
    pub exp: i64,
}

/// The header as read: duplicate members are refused by serde, unknown ones (`kid`, …)
/// ignored, `crit` refused.
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// The claims as read: NumericDates may be written with a fraction, `aud` may be a list.
#[derive(Deserialize)]
struct RawClaims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    exp: Option<serde_json::Number>,
    #[serde(default)]
    nbf: Option<serde_json::Number>,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn names(&self, who: &str) -> bool {
        match self {
            Audience::One(a) => a == who,
            Audience::Many(all) => all.iter().any(|a| a == who),
        }
    }
}

/// A NumericDate as whole seconds (a fraction is cut towards the past).
fn seconds(n: &serde_json::Number, claim: &str) -> Result<i64, AssertionError> {
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    match n.as_f64() {
        Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(f.floor() as i64),
        _ => Err(malformed(format!("{claim} is not a time in seconds"))),
    }
}

const HEADER_JSON: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

impl IdentityKey {
    /// A key from its secret bytes (at least [`MIN_KEY_LEN`]).
    pub fn from_bytes(secret: &[u8]) -> Result<IdentityKey, IdentityKeyError> {
        if secret.len() < MIN_KEY_LEN {
            return Err(IdentityKeyError::TooShort(secret.len()));
        }
        Ok(IdentityKey {
            secret: secret.to_vec(),
            issuer: None,
            audience: None,
        })
    }

    /// A key from hex digits (surrounding white space ignored), as `identity.key` holds it.
    pub fn from_hex(text: &str) -> Result<IdentityKey, IdentityKeyError> {
        let text = text.trim().as_bytes();
        if !text.len().is_multiple_of(2) {
            return Err(IdentityKeyError::NotHex);
        }
        let digit = |c: u8| (c as char).to_digit(16).ok_or(IdentityKeyError::NotHex);
        let bytes = text
            .chunks(2)
            .map(|p| Ok((digit(p[0])? * 16 + digit(p[1])?) as u8))
            .collect::<Result<Vec<u8>, IdentityKeyError>>()?;
        IdentityKey::from_bytes(&bytes)
    }

    /// A new random key of 32 bytes.
    pub fn generate() -> Result<IdentityKey, IdentityKeyError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| IdentityKeyError::Random(e.to_string()))?;
        IdentityKey::from_bytes(&secret)
    }

    /// The secret as lower-case hex, for storing it and for the identity provider.
    pub fn to_hex(&self) -> String {
        self.secret.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The key that also requires `iss` to be `issuer`.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> IdentityKey {
        self.issuer = Some(issuer.into());
        self
    }

    /// The key that also requires `aud` to name `audience`.
    pub fn with_audience(mut self, audience: impl Into<String>) -> IdentityKey {
        self.audience = Some(audience.into());
        self
    }

    fn mac(&self, signed: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(signed);
        mac
    }

    /// Signs `claims` into a compact HS256 token.
    pub fn issue(&self, claims: &Claims) -> String {
        let claims = serde_json::to_vec(claims).expect("claims serialize");
        let mut token = URL_SAFE_NO_PAD.encode(HEADER_JSON);
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(claims));
        let tag = self.mac(token.as_bytes()).finalize().into_bytes();
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(tag));
        token
    }

    /// Verifies `token` at `now` (unix seconds): its form, its header, its signature, then
    /// its claims.
    pub fn verify(&self, token: &str, now: i64) -> Result<Identity, AssertionError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(malformed("empty"));
        }
        if token.len() > MAX_ASSERTION_LEN {
            return Err(malformed(format!(
                "longer than {MAX_ASSERTION_LEN} characters"
            )));
        }
        let mut parts = token.split('.');
        let (Some(header64), Some(claims64), Some(signature64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed(
                "not a compact JWT (three base64url parts joined by dots)",
            ));
        };
        let decode = |part: &str, what: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| malformed(format!("the {what} is not base64url")))
        };
        let header: Header = serde_json::from_slice(&decode(header64, "header")?)
            .map_err(|e| malformed(format!("the header is not a JWT header: {e}")))?;
        if header.alg != "HS256" {
            return Err(AssertionError::UnsupportedAlg(header.alg));
        }
        if let Some(typ) = &header.typ
            && !typ.eq_ignore_ascii_case("JWT")
        {
            return Err(malformed(format!("typ {typ:?} is not JWT")));
        }
        if header.crit.is_some() {
            return Err(malformed("crit extensions are not supported"));
        }
        let signature = decode(signature64, "signature")?;
        let signed = &token[..header64.len() + 1 + claims64.len()];
        self.mac(signed.as_bytes())
            .verify_slice(&signature)
            .map_err(|_| AssertionError::BadSignature)?;

        let claims: RawClaims = serde_json::from_slice(&decode(claims64, "claims set")?)
            .map_err(|e| malformed(format!("the claims are not a JWT claims set: {e}")))?;
        let exp = claims
            .exp
            .as_ref()
            .ok_or_else(|| malformed("no exp"))
            .and_then(|n| seconds(n, "exp"))?;
        let nbf = claims.nbf.as_ref().map(|n| seconds(n, "nbf")).transpose()?;
        if now >= exp.saturating_add(LEEWAY_SECONDS) {
            return Err(AssertionError::Expired);
        }
        if nbf.is_some_and(|nbf| now.saturating_add(LEEWAY_SECONDS) < nbf) {
            return Err(AssertionError::NotYetValid);
        }
        if let Some(issuer) = &self.issuer
            && claims.iss.as_deref() != Some(issuer.as_str())
        {
            return Err(AssertionError::WrongIssuer);
        }
        let audience_ok = match (&self.audience, &claims.aud) {
            (None, None) => true,
            (Some(want), Some(aud)) => aud.names(want),
            _ => false,
        };
        if !audience_ok {
            return Err(AssertionError::WrongAudience);
        }
        let sub = claims
            .sub
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| malformed("no sub"))?;
        Ok(Identity { sub, exp })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_750_000_000;

    fn key() -> IdentityKey {
        IdentityKey::from_bytes(&[7; 32]).unwrap()
    }

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    /// A token with any header and claims, signed with `key`.
    fn signed(key: &IdentityKey, header: &str, claims: &str) -> String {
        let body = format!("{}.{}", b64(header), b64(claims));
        let tag = key.mac(body.as_bytes()).finalize().into_bytes();
        format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    #[test]
    fn an_issued_token_verifies() {
        let token = key().issue(&Claims::new("350102199001011234", NOW, 600));
        let id = key().verify(&token, NOW).unwrap();
        assert_eq!(id.sub, "350102199001011234");
        assert_eq!(id.exp, NOW + 600);
        assert_eq!(token.split('.').count(), 3);
        assert!(!token.contains('='), "no padding");
    }

    #[test]
    fn the_rfc_7515_example_verifies() {
        // RFC 7515 appendix A.1: an HS256 JWS with the key given there as a JWK.
        let k = URL_SAFE_NO_PAD
            .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
            .unwrap();
        let key = IdentityKey::from_bytes(&k).unwrap();
        let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        // It has no sub: the signature and expiry are checked first.
        assert_eq!(key.verify(token, 1_300_819_000), Err(malformed("no sub")));
        assert_eq!(
            key.verify(token, 1_400_000_000),
            Err(AssertionError::Expired)
        );
        let other = IdentityKey::from_bytes(&[1; 32]).unwrap();
        assert_eq!(
            other.verify(token, 1_300_819_000),
            Err(AssertionError::BadSignature)
        );
    }

    #[test]
    fn expiry_and_not_before_have_a_leeway() {
        let k = key();
        let token = k.issue(&Claims::new("P1", NOW, 600));
        assert!(k.verify(&token, NOW + 600 + LEEWAY_SECONDS - 1).is_ok());
        assert_eq!(
            k.verify(&token, NOW + 600 + LEEWAY_SECONDS),
            Err(AssertionError::Expired)
        );
        let mut later = Claims::new("P1", NOW, 600);
        later.nbf = Some(NOW + 300);
        let token = k.issue(&later);
        assert_eq!(k.verify(&token, NOW), Err(AssertionError::NotYetValid));
        assert!(k.verify(&token, NOW + 300 - LEEWAY_SECONDS).is_ok());
        let fraction = signed(&k, HEADER_JSON, r#"{"sub":"P1","exp":1750000600.9}"#);
        assert_eq!(k.verify(&fraction, NOW).unwrap().exp, NOW + 600);
    }

    #[test]
    fn exp_is_required() {
        let k = key();
        let token = signed(&k, HEADER_JSON, r#"{"sub":"P1"}"#);
        assert_eq!(k.verify(&token, NOW), Err(malformed("no exp")));
        let token = signed(&k, HEADER_JSON, r#"{"sub":"P1","exp":"tomorrow"}"#);
        assert!(matches!(
            k.verify(&token, NOW),
            Err(AssertionError::Malformed(_))
        ));
        let token = signed(&k, HEADER_JSON, r#"{"sub":"  ","exp":1750000600}"#);
        assert_eq!(k.verify(&token, NOW), Err(malformed("no sub")));
    }

    #[test]
    fn only_hs256_is_accepted() {
        let k = key();
        let claims = r#"{"sub":"P1","exp":1750000600}"#;
        // alg none: no signature at all, or any signature.
        let none = format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), b64(claims));
        assert_eq!(
            k.verify(&none, NOW),
            Err(AssertionError::UnsupportedAlg("none".into()))
        );
        let none_signed = signed(&k, r#"{"alg":"none"}"#, claims);
        assert!(matches!(
            k.verify(&none_signed, NOW),
            Err(AssertionError::UnsupportedAlg(_))
        ));
        for alg in ["HS384", "HS512", "RS256", "ES256", "hs256", "PS256"] {
            let t = signed(&k, &format!(r#"{{"alg":"{alg}"}}"#), claims);
            assert_eq!(
                k.verify(&t, NOW),
                Err(AssertionError::UnsupportedAlg(alg.into())),
                "{alg}"
            );
        }
        // Two alg members: refused, whichever would win.
        let twice = signed(&k, r#"{"alg":"HS256","alg":"none"}"#, claims);
        assert!(matches!(
            k.verify(&twice, NOW),
            Err(AssertionError::Malformed(_))
        ));
        let jwe = signed(&k, r#"{"alg":"HS256","typ":"JWE"}"#, claims);
        assert!(matches!(
            k.verify(&jwe, NOW),
            Err(AssertionError::Malformed(_))
        ));
        let crit = signed(&k, r#"{"alg":"HS256","crit":["b64"],"b64":false}"#, claims);
        assert!(matches!(
            k.verify(&crit, NOW),
            Err(AssertionError::Malformed(_))
        ));
        // A kid is ignored; typ may be absent.
        let kid = signed(&k, r#"{"alg":"HS256","kid":"idp-1"}"#, claims);
        assert!(k.verify(&kid, NOW).is_ok());
    }

    #[test]
    fn a_changed_token_has_a_bad_signature() {
        let k = key();
        let token = k.issue(&Claims::new("350102199001011234", NOW, 600));
        let (body, _) = token.rsplit_once('.').unwrap();
        let forged_claims = b64(r#"{"sub":"130703197707073333","exp":1750000600}"#);
        let header = body.split('.').next().unwrap();
        let sig = token.rsplit('.').next().unwrap();
        let forged = format!("{header}.{forged_claims}.{sig}");
        assert_eq!(k.verify(&forged, NOW), Err(AssertionError::BadSignature));
        let other = IdentityKey::from_bytes(&[8; 32]).unwrap();
        assert_eq!(other.verify(&token, NOW), Err(AssertionError::BadSignature));
        let short = format!("{body}.{}", &sig[..12]);
        assert_eq!(k.verify(&short, NOW), Err(AssertionError::BadSignature));
        let empty = format!("{body}.");
        assert_eq!(k.verify(&empty, NOW), Err(AssertionError::BadSignature));
    }

    #[test]
    fn malformed_tokens_say_so() {
        let k = key();
        for t in [
            "",
            "   ",
            "abc",
            "a.b",
            "a.b.c.d",
            "!!!.e30.sig",
            "e30.e30.e30",
            "bnVsbA.e30.",
        ] {
            let e = k.verify(t, NOW).unwrap_err();
            assert!(matches!(e, AssertionError::Malformed(_)), "{t:?}: {e:?}");
            assert!(e.to_string().starts_with("malformed: "), "{e}");
        }
        let long = "a".repeat(MAX_ASSERTION_LEN + 1);
        assert!(matches!(
            k.verify(&long, NOW),
            Err(AssertionError::Malformed(_))
        ));
        // Padding is not base64url as JWTs write it.
        let token = k.issue(&Claims::new("P1", NOW, 600));
        let padded = format!("{token}=");
        assert!(k.verify(&padded, NOW).is_err());
    }

    #[test]
    fn issuer_and_audience_are_checked_when_configured() {
        let k = key().with_issuer("nhsa-app").with_audience("drugtrace");
        let mut c = Claims::new("P1", NOW, 600);
        assert_eq!(
            k.verify(&k.issue(&c), NOW),
            Err(AssertionError::WrongIssuer)
        );
        c.iss = Some("nhsa-app".into());
        assert_eq!(
            k.verify(&k.issue(&c), NOW),
            Err(AssertionError::WrongAudience)
        );
        c.aud = Some("drugtrace".into());
        assert!(k.verify(&k.issue(&c), NOW).is_ok());
        let list = signed(
            &k,
            HEADER_JSON,
            r#"{"sub":"P1","exp":1750000600,"iss":"nhsa-app","aud":["other","drugtrace"]}"#,
        );
        assert!(k.verify(&list, NOW).is_ok());
        // A key with no audience refuses a token meant for one.
        let plain = key();
        assert_eq!(
            plain.verify(&plain.issue(&c), NOW),
            Err(AssertionError::WrongAudience)
        );
        c.aud = None;
        assert!(plain.verify(&plain.issue(&c), NOW).is_ok());
    }

    #[test]
    fn keys_round_trip_through_hex_and_are_long_enough() {
        let k = IdentityKey::generate().unwrap();
        let hex = k.to_hex();
        assert_eq!(hex.len(), 64);
        let again = IdentityKey::from_hex(&format!("{hex}\n")).unwrap();
        let token = k.issue(&Claims::new("P1", NOW, 60));
        assert!(again.verify(&token, NOW).is_ok());
        assert_eq!(
            IdentityKey::from_bytes(&[0; 31]).unwrap_err(),
            IdentityKeyError::TooShort(31)
        );
        assert_eq!(
            IdentityKey::from_hex("zz").unwrap_err(),
            IdentityKeyError::NotHex
        );
        assert_eq!(
            IdentityKey::from_hex("abc").unwrap_err(),
            IdentityKeyError::NotHex
        );
        assert!(!format!("{k:?}").contains(&hex), "Debug hides the secret");
    }

    proptest! {
        #[test]
        fn no_string_panics(s in "\\PC{0,300}") {
            let _ = key().verify(&s, NOW);
        }

        #[test]
        fn no_signed_json_panics(
            header in "\\PC{0,80}",
            claims in "\\PC{0,200}",
            now in any::<i64>(),
        ) {
            let k = key();
            let _ = k.verify(&signed(&k, &header, &claims), now);
        }

        #[test]
        fn no_claims_values_panic(
            exp in any::<i64>(),
            nbf in proptest::option::of(any::<i64>()),
            now in any::<i64>(),
            sub in "\\PC{0,40}",
        ) {
            let k = key();
            let c = Claims { sub: sub.clone(), exp, nbf, iat: None, iss: None, aud: None };
            let token = k.issue(&c);
            if let Ok(id) = k.verify(&token, now) {
                prop_assert_eq!(id.sub, sub);
                prop_assert!(now < exp.saturating_add(LEEWAY_SECONDS));
            }
        }

        #[test]
        fn any_changed_byte_breaks_the_signature(i in 0usize..400, c in "[A-Za-z0-9_.-]") {
            let k = key();
            let token = k.issue(&Claims::new("350102199001011234", NOW, 600));
            let i = i % token.len();
            let c = c.as_bytes()[0];
            prop_assume!(token.as_bytes()[i] != c);
            let mut bytes = token.into_bytes();
            bytes[i] = c;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(k.verify(&changed, NOW).is_err());
        }
    }
}
