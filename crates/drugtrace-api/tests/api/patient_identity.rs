//! Issue 13, item 5: the patient query told `one_sale_mine` from `one_sale_not_mine` by a
//! bare `x-person-identity` header, so anyone holding a pack could try ID numbers until
//! one matched and learn who bought it. Now only an assertion signed by the deployment's
//! identity provider (`x-person-assertion`, HS256 JWT with an expiry) is used; anything
//! else gets the anonymous answer (never / once / more), with `identity` saying why.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use drugtrace_api::{Claims, IdentityKey};
use serde_json::{Value, json};

use super::{App, commission, spawn_app, spawn_app_with};

const ME: &str = "350102199001011234";
const SOMEONE_ELSE: &str = "130703197707073333";

/// The test identity provider's key, which `spawn_app` configures.
pub(super) fn identity_key() -> IdentityKey {
    IdentityKey::from_bytes(&[9; 32]).unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An assertion for `person`, valid for ten minutes, signed by the test identity provider.
pub(super) fn assertion(person: &str) -> String {
    identity_key().issue(&Claims::new(person, now(), 600))
}

/// Asks the patient's query with these headers.
async fn ask(app: &App, code: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = app.http.get(format!("{}/v1/codes/{code}", app.url));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// A pack sold once, to [`ME`], and a pack sold once and then blocked.
async fn sold_packs(app: &App) -> (&'static str, &'static str) {
    let (once, twice) = ("81000020000000000711", "81000020000000000712");
    let (status, body) = app
        .post("/v1/events", &json!([commission(once), commission(twice)]))
        .await;
    assert_eq!(status, 200, "{body}");
    app.sale("S-711", "P35010200017", ME, &[once]).await;
    app.sale("S-712a", "P35010200017", SOMEONE_ELSE, &[twice])
        .await;
    app.sale("S-712b", "P13070300088", ME, &[twice]).await;
    (once, twice)
}

/// The answer is the anonymous one, and says why the identity was not used.
fn anonymous(status: u16, body: &Value, why: &str) {
    assert_eq!(status, 200, "the pack's facts are public: {body}");
    assert_eq!(body["case"], "one_sale", "{body}");
    let identity = body["identity"].as_str().unwrap_or_default();
    assert!(
        identity.starts_with(why),
        "identity {identity:?}, not {why:?}"
    );
    assert_eq!(body["sales"][0]["institution"], "P35010200017");
}

#[tokio::test]
async fn a_signed_assertion_tells_mine_from_not_mine() {
    let app = spawn_app().await;
    let (once, twice) = sold_packs(&app).await;
    let (status, mine) = ask(&app, once, &[("x-person-assertion", &assertion(ME))]).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["case"], "one_sale_mine");
    assert_eq!(mine["identity"], "verified");
    let (_, theirs) = ask(
        &app,
        once,
        &[("x-person-assertion", &assertion(SOMEONE_ELSE))],
    )
    .await;
    assert_eq!(theirs["case"], "one_sale_not_mine");
    assert_eq!(theirs["identity"], "verified");
    assert!(!theirs.to_string().contains(ME));
    // The identity is hashed as at sale: white space and letter case do not matter.
    let (_, spaced) = ask(
        &app,
        once,
        &[("x-person-assertion", &assertion(" 350102 199001011234 "))],
    )
    .await;
    assert_eq!(spaced["case"], "one_sale_mine");
    // More than one sale stays more than one, whoever asks.
    let (_, multi) = ask(&app, twice, &[("x-person-assertion", &assertion(ME))]).await;
    assert_eq!(multi["case"], "multiple_sales");
    // Without any identity: the anonymous answer, and nothing said of an identity.
    let (_, plain) = ask(&app, once, &[]).await;
    assert_eq!(plain["case"], "one_sale");
    assert!(plain.get("identity").is_none(), "{plain}");
}

#[tokio::test]
async fn an_expired_or_premature_assertion_is_not_used() {
    let app = spawn_app().await;
    let (once, _) = sold_packs(&app).await;
    let key = identity_key();
    // Expired ten minutes ago: beyond the minute of leeway.
    let expired = key.issue(&Claims::new(ME, now() - 1200, 600));
    let (status, body) = ask(&app, once, &[("x-person-assertion", &expired)]).await;
    anonymous(status, &body, "expired");
    assert_eq!(body["identity"], "expired");
    let mut later = Claims::new(ME, now(), 1200);
    later.nbf = Some(now() + 600);
    let (status, body) = ask(&app, once, &[("x-person-assertion", &key.issue(&later))]).await;
    anonymous(status, &body, "not yet valid");
    // Without exp: refused, however well signed.
    let body64 = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"{ME}"}}"#))
    );
    let forever = sign(&[9; 32], &body64);
    let (status, body) = ask(&app, once, &[("x-person-assertion", &forever)]).await;
    anonymous(status, &body, "malformed: no exp");
}

/// `header.claims` with an HS256 signature under `secret`, as any signer would write it.
fn sign(secret: &[u8], body64: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(body64.as_bytes());
    format!(
        "{body64}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[tokio::test]
async fn a_bad_signature_is_not_used() {
    let app = spawn_app().await;
    let (once, _) = sold_packs(&app).await;
    // Signed by someone else's key.
    let foreign = IdentityKey::from_bytes(&[10; 32])
        .unwrap()
        .issue(&Claims::new(ME, now(), 600));
    let (status, body) = ask(&app, once, &[("x-person-assertion", &foreign)]).await;
    anonymous(status, &body, "bad signature");
    // A real assertion for someone else with the subject changed to mine.
    let real = assertion(SOMEONE_ELSE);
    let mut parts: Vec<&str> = real.split('.').collect();
    let forged_claims =
        URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"{ME}","exp":{}}}"#, now() + 600));
    parts[1] = &forged_claims;
    let (status, body) = ask(&app, once, &[("x-person-assertion", &parts.join("."))]).await;
    anonymous(status, &body, "bad signature");
    // Garbage.
    let (status, body) = ask(&app, once, &[("x-person-assertion", "let me in")]).await;
    anonymous(status, &body, "malformed");
    // Two assertions at once: neither is used.
    let r = app
        .http
        .get(format!("{}/v1/codes/{once}", app.url))
        .header("x-person-assertion", assertion(ME))
        .header("x-person-assertion", assertion(SOMEONE_ELSE))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    anonymous(status, &r.json().await.unwrap(), "malformed: more than one");
}

#[tokio::test]
async fn alg_none_and_other_algs_are_refused() {
    let app = spawn_app().await;
    let (once, _) = sold_packs(&app).await;
    let claims64 = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"{ME}","exp":{}}}"#, now() + 600));
    for header in [r#"{"alg":"none","typ":"JWT"}"#, r#"{"alg":"none"}"#] {
        let unsigned = format!("{}.{claims64}.", URL_SAFE_NO_PAD.encode(header));
        let (status, body) = ask(&app, once, &[("x-person-assertion", &unsigned)]).await;
        anonymous(status, &body, r#"unsupported alg "none""#);
    }
    // HS512 under the right key is still not HS256.
    let body64 = format!(
        "{}.{claims64}",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS512","typ":"JWT"}"#)
    );
    let (status, body) = ask(
        &app,
        once,
        &[("x-person-assertion", &sign(&[9; 32], &body64))],
    )
    .await;
    anonymous(status, &body, r#"unsupported alg "HS512""#);
}

/// The old header cannot be used to guess a buyer: the right ID number and a wrong one get
/// the same answer, which says the header was ignored.
#[tokio::test]
async fn the_bare_identity_header_is_ignored() {
    let app = spawn_app().await;
    let (once, _) = sold_packs(&app).await;
    let (status, right) = ask(&app, once, &[("x-person-identity", ME)]).await;
    anonymous(
        status,
        &right,
        "unsigned identity ignored: send x-person-assertion",
    );
    let (_, wrong) = ask(&app, once, &[("x-person-identity", SOMEONE_ELSE)]).await;
    assert_eq!(right, wrong, "the answer does not depend on the guess");
    // Beside a valid assertion, the assertion decides.
    let (_, both) = ask(
        &app,
        once,
        &[
            ("x-person-identity", SOMEONE_ELSE),
            ("x-person-assertion", &assertion(ME)),
        ],
    )
    .await;
    assert_eq!(both["case"], "one_sale_mine");
}

/// A server with no identity provider's key accepts no assertion, however signed.
#[tokio::test]
async fn without_an_identity_key_no_assertion_is_accepted() {
    let app = spawn_app_with(drugtrace_api::RateLimiter::new(1000, 1000.0), None).await;
    let (once, _) = sold_packs(&app).await;
    let (status, body) = ask(&app, once, &[("x-person-assertion", &assertion(ME))]).await;
    anonymous(status, &body, "no identity provider configured");
    let (status, body) = ask(&app, once, &[("x-person-identity", ME)]).await;
    anonymous(status, &body, "unsigned identity ignored");
}
