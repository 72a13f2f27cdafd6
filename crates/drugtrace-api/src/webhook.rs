//! Deliveries to other systems' webhooks (EPCIS subscribers): one HTTP client for the
//! server, so connections are reused; `https://` checked against the system's trust store
//! and any certificate authority the operator adds (a bureau's own CA), or plain `http://`
//! on a network the operator trusts; each body signed with HMAC-SHA256 under the
//! subscriber's secret; retried with back-off, then given up and logged.

use std::time::Duration;

/// Attempts of one delivery, the first included.
const ATTEMPTS: u32 = 6;
/// How long one attempt may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the webhook client could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The certificate authorities given are not PEM certificates.
    #[error("the webhook certificate authorities: {0}")]
    Roots(String),
    /// The HTTP client could not be built.
    #[error("the webhook client: {0}")]
    Client(String),
}

/// The server's webhook client.
#[derive(Debug, Clone)]
pub struct Webhooks {
    client: reqwest::Client,
}

/// One body to deliver: where, what it is, and the secret to sign it with.
pub(crate) struct Delivery<'a> {
    /// The receiver's URL (checked by [`check_dest`]).
    pub dest: &'a str,
    /// The body's media type.
    pub content_type: &'static str,
    /// The header the signature goes in (`GS1-Signature` for EPCIS).
    pub signature_header: &'static str,
    /// The subscriber's secret, when it gave one.
    pub token: Option<&'a str>,
    /// What the log lines name the delivery by (a subscription id).
    pub what: &'a str,
}

impl Webhooks {
    /// A client trusting the system's certificate authorities and those in `extra_roots`
    /// (PEM, one or more certificates), when given.
    pub fn new(extra_roots: Option<&[u8]>) -> Result<Webhooks, WebhookError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("drugtrace/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(ATTEMPT_TIMEOUT)
            // A webhook answers where it is: a redirect elsewhere is not followed with the
            // signed body.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = extra_roots {
            let roots = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| WebhookError::Roots(e.to_string()))?;
            if roots.is_empty() {
                return Err(WebhookError::Roots(
                    "no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into(),
                ));
            }
            builder = builder.tls_certs_merge(roots);
        }
        let client = builder
            .build()
            .map_err(|e| WebhookError::Client(e.to_string()))?;
        Ok(Webhooks { client })
    }

    /// Delivers `body` as `d` says, signed, retrying with back-off (1, 2, 4, 8 and 16 s)
    /// until the receiver answers 2xx; whether it was delivered.
    pub(crate) async fn deliver(&self, d: &Delivery<'_>, body: String) -> bool {
        let signature = d.token.map(|t| sign(t, body.as_bytes()));
        let mut wait = Duration::from_secs(1);
        for attempt in 1..=ATTEMPTS {
            let mut req = self
                .client
                .post(d.dest)
                .header("content-type", d.content_type)
                .timeout(ATTEMPT_TIMEOUT)
                .body(body.clone());
            if let Some(s) = &signature {
                req = req.header(d.signature_header, s);
            }
            match req.send().await {
                Ok(r) if r.status().is_success() => return true,
                Ok(r) => {
                    tracing::warn!(what = d.what, dest = d.dest, status = %r.status(), attempt, "webhook delivery refused")
                }
                Err(e) => {
                    // The source chain says why (a certificate not trusted, a refused
                    // connection), which the top error alone does not.
                    let mut why = e.to_string();
                    let mut source = std::error::Error::source(&e);
                    while let Some(s) = source {
                        why.push_str(": ");
                        why.push_str(&s.to_string());
                        source = s.source();
                    }
                    tracing::warn!(what = d.what, dest = d.dest, error = %why, attempt, "webhook delivery failed")
                }
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
        tracing::error!(
            what = d.what,
            dest = d.dest,
            "webhook delivery given up after {ATTEMPTS} attempts"
        );
        false
    }
}

/// Checks a webhook's URL: `https://` (or `http://`) with a host; the URL trimmed.
pub(crate) fn check_dest(dest: &str) -> Result<String, String> {
    let dest = dest.trim();
    let url = reqwest::Url::parse(dest).map_err(|e| format!("{dest:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!(
            "{dest:?}: an https:// (or http://) URL, not {}://",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{dest:?} names no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{dest:?} holds a user name or password: the body is signed instead (signatureToken)"
        ));
    }
    Ok(dest.to_owned())
}

/// The signature of `body`: HMAC-SHA256 under `token`, in hex (EPCIS's `GS1-Signature`).
pub fn sign(token: &str, body: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(token.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webhook_is_an_http_or_https_url_with_a_host_and_no_password() {
        assert_eq!(
            check_dest(" https://bureau.example/hook ").as_deref(),
            Ok("https://bureau.example/hook")
        );
        assert!(check_dest("http://10.0.0.5:8080/epcis").is_ok());
        for (bad, says) in [
            ("ftp://x/y", "ftp://"),
            ("not a url", "not a URL"),
            ("https://user:pw@bureau.example/hook", "password"),
            ("file:///etc/passwd", "file://"),
        ] {
            let e = check_dest(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn extra_roots_must_be_pem_certificates() {
        assert!(matches!(
            Webhooks::new(Some(b"not a certificate")),
            Err(WebhookError::Roots(_))
        ));
        assert!(Webhooks::new(None).is_ok());
    }

    #[test]
    fn the_signature_is_hmac_sha256_in_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
