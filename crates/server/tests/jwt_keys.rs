//! Asymmetric JWTs: stream tokens signed by a key of a JWKS that a small HTTP
//! server of the test serves (`jwksURL`), and REST calls with an RS256 token
//! verified with `jwtPublicKey`.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{http, start_with, Client};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const UNAUTHORIZED: &str = "unauthorized_access";
const RSA_PRIVATE: &str = include_str!("../../auth/fixtures/rsa-2048.pem");
const RSA_PUBLIC: &str = include_str!("../../auth/fixtures/rsa-2048.pub.pem");

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A fresh EC P-256 signing key.
fn ec_key() -> EncodingKey {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap()
}

fn jwk(kid: &str, key: &EncodingKey) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(key, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    jwk
}

fn sign(alg: Algorithm, kid: Option<&str>, claims: Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

/// Serves `GET /jwks.json` with whatever set the test puts in, counting calls.
struct JwksServer {
    addr: SocketAddr,
    set: Arc<Mutex<JwkSet>>,
    hits: Arc<AtomicUsize>,
}

async fn serve_jwks(set: JwkSet) -> JwksServer {
    use axum::routing::get;
    let set = Arc::new(Mutex::new(set));
    let hits = Arc::new(AtomicUsize::new(0));
    let (s, h) = (set.clone(), hits.clone());
    let app = axum::Router::new().route(
        "/jwks.json",
        get(move || {
            h.fetch_add(1, Ordering::SeqCst);
            let body = serde_json::to_string(&*s.lock().unwrap()).unwrap();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    JwksServer { addr, set, hits }
}

async fn publish(c: &mut Client, id: &str, token: &str) -> String {
    c.send(json!({"command": "publish", "streamId": id, "token": token}))
        .await;
    let v = c.recv().await;
    match v["command"].as_str().unwrap() {
        "error" | "notification" => v["definition"].as_str().unwrap().to_owned(),
        other => other.to_owned(),
    }
}

async fn unpublish(c: &mut Client, id: &str) {
    c.send(json!({"command": "stop", "streamId": id})).await;
    c.expect("publish_finished").await;
}

/// Publishes with `token` until it is accepted: the JWKS arrives in the
/// background, and until then the app has no key.
async fn publish_once_fetched(c: &mut Client, id: &str, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = publish(c, id, token).await;
        if answer == "start" {
            return;
        }
        assert_eq!(answer, UNAUTHORIZED);
        assert!(Instant::now() < deadline, "the JWKS was never used");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn es256_stream_tokens_from_a_jwks_url() {
    let signer = ec_key();
    let jwks = serve_jwks(JwkSet {
        keys: vec![jwk("k1", &signer)],
    })
    .await;
    let url = format!("http://{}/jwks.json", jwks.addr);
    let server = start_with(&format!(
        "[apps.LiveApp]\npublishJwtControlEnabled = true\njwksURL = \"{url}\"\n"
    ))
    .await;
    let claims = |id: &str| json!({"streamId": id, "type": "publish", "exp": now_s() + 60});
    let good = sign(Algorithm::ES256, Some("k1"), claims("s1"), &signer);
    let mut c = server.client().await;
    publish_once_fetched(&mut c, "s1", &good).await;
    unpublish(&mut c, "s1").await;
    assert!(jwks.hits.load(Ordering::SeqCst) >= 1);

    // Another key under the same kid, an unknown kid, no signature at all,
    // an HS256 token (no secret is set), a token for another stream.
    let stranger = ec_key();
    let none = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.",
            b64.encode(r#"{"alg":"none"}"#),
            b64.encode(claims("s1").to_string())
        )
    };
    let refused = [
        (
            "wrong key",
            sign(Algorithm::ES256, Some("k1"), claims("s1"), &stranger),
        ),
        (
            "unknown kid",
            sign(Algorithm::ES256, Some("k9"), claims("s1"), &stranger),
        ),
        ("alg none", none),
        (
            "HS256",
            sign(
                Algorithm::HS256,
                None,
                claims("s1"),
                &EncodingKey::from_secret(b"guess").unwrap(),
            ),
        ),
        ("other stream", good.clone()),
    ];
    for (why, token) in &refused {
        let id = if *why == "other stream" { "s2" } else { "s1" };
        assert_eq!(publish(&mut c, id, token).await, UNAUTHORIZED, "{why}");
    }

    // A changed jwksURL is fetched at once; the old set is no longer used.
    let rotated = ec_key();
    let second = serve_jwks(JwkSet {
        keys: vec![jwk("k2", &rotated)],
    })
    .await;
    let r = server
        .rest(
            "PUT",
            "LiveApp",
            "/settings",
            Some(&json!({"jwksURL": format!("http://{}/jwks.json", second.addr)}).to_string()),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let fresh = sign(Algorithm::ES256, Some("k2"), claims("s3"), &rotated);
    publish_once_fetched(&mut c, "s3", &fresh).await;
    unpublish(&mut c, "s3").await;
    assert_eq!(publish(&mut c, "s1", &good).await, UNAUTHORIZED);
    // The first server's set may change, but nobody asks it any more.
    jwks.set.lock().unwrap().keys.clear();
    server.stop().await;
}

#[tokio::test]
async fn rest_takes_rs256_tokens_verified_with_jwt_public_key() {
    let secret = "rest-secret-rest-secret-rest-secret";
    let server = start_with(&format!(
        "[apps.LiveApp]\njwtControlEnabled = true\njwtSecretKey = \"{secret}\"\n\
         jwtPublicKey = \"\"\"\n{RSA_PUBLIC}\"\"\"\n"
    ))
    .await;
    let rsa = EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap();
    let claims = |exp: u64| json!({"sub": "ops", "exp": exp});
    let call = |token: String| {
        let addr = server.http;
        async move {
            let auth = format!("Bearer {token}");
            http(
                addr,
                "GET",
                "/LiveApp/rest/v2/broadcasts/count",
                &[("Authorization", auth.as_str())],
                None,
            )
            .await
        }
    };
    let ok = call(sign(Algorithm::RS256, None, claims(now_s() + 60), &rsa)).await;
    assert_eq!(ok.status, 200, "{ok:?}");
    // HS256 with jwtSecretKey keeps working beside the public key.
    let hs = sign(
        Algorithm::HS256,
        None,
        claims(now_s() + 60),
        &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
    );
    assert_eq!(call(hs).await.status, 200);
    let refused = [
        (
            "expired",
            sign(Algorithm::RS256, None, claims(now_s() - 1), &rsa),
        ),
        (
            "other key",
            sign(Algorithm::ES256, None, claims(now_s() + 60), &ec_key()),
        ),
        // A viewer's stream token signed by the same key.
        (
            "stream token",
            sign(
                Algorithm::RS256,
                None,
                json!({"streamId": "s1", "type": "play", "exp": now_s() + 60}),
                &rsa,
            ),
        ),
        // The confusion attack: the public key's text as an HMAC secret.
        (
            "public key as HMAC secret",
            sign(
                Algorithm::HS256,
                None,
                claims(now_s() + 60),
                &EncodingKey::from_secret(RSA_PUBLIC.as_bytes()).unwrap(),
            ),
        ),
    ];
    for (why, token) in refused {
        let r = call(token).await;
        assert_eq!(r.status, 403, "{why}: {r:?}");
        assert_eq!(r.body["message"], "Invalid App JWT Token", "{why}");
    }
    // A private key pasted as the public one is refused, naming the setting.
    let auth = format!(
        "Bearer {}",
        sign(Algorithm::RS256, None, claims(now_s() + 60), &rsa)
    );
    let body = json!({"jwtPublicKey": RSA_PRIVATE}).to_string();
    let r = http(
        server.http,
        "PUT",
        "/LiveApp/rest/v2/settings",
        &[("Authorization", auth.as_str())],
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 400, "{r:?}");
    assert!(
        r.body["message"].as_str().unwrap().contains("jwtPublicKey"),
        "{r:?}"
    );
    assert!(!r.body.to_string().contains("PRIVATE"), "{r:?}");
    server.stop().await;
}
