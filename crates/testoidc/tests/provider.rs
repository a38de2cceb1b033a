//! The provider starts, signs a person in through its login page, refuses an unknown one, and
//! serves a new key after a restart.

use shotclock_testoidc::{Account, Client, Keys, Outcome, Provider, sign_in};

// RFC 7636, appendix B.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const BACK: &str = "http://127.0.0.1:9/back";

fn authorize(p: &Provider) -> String {
    format!(
        "{}/auth?client_id=c1&redirect_uri={BACK}&response_type=code&scope=openid%20email\
         &state=st&nonce=no&code_challenge={CHALLENGE}&code_challenge_method=S256",
        p.issuer()
    )
}

#[tokio::test]
async fn signs_in_refuses_unknown_people_and_rotates_keys() {
    let client = Client {
        id: "c1".into(),
        secret: "a-long-client-secret-0123456789".into(),
        redirect_uris: vec![BACK.into()],
    };
    let keys = Keys::generate("first");
    let mut p = Provider::start(
        vec![client],
        vec![Account::verified("ann", "ann@example.com")],
        &keys,
    );
    let back = sign_in(&authorize(&p), "ann").await.redirect();
    assert!(back.as_str().starts_with(BACK), "{back}");
    let query: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    assert!(
        query.iter().any(|(k, v)| k == "state" && v == "st"),
        "{back}"
    );
    assert!(query.iter().any(|(k, _)| k == "code"), "{back}");

    let refused = sign_in(&authorize(&p), "nobody").await;
    match refused {
        Outcome::Redirect(u) => assert!(
            u.query_pairs().any(|(k, _)| k == "error"),
            "an unknown login must not get a code: {u}"
        ),
        Outcome::Error(_) => {}
    }

    let jwks = |p: &Provider| {
        let url = format!("{}/jwks", p.issuer());
        async move {
            reqwest::get(url)
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(jwks(&p).await["keys"][0]["kid"], "first");
    p.restart(
        &Keys::generate("second"),
        vec![Account::verified("ann", "ann@example.com")],
    );
    assert_eq!(jwks(&p).await["keys"][0]["kid"], "second");
    let again = sign_in(&authorize(&p), "ann").await.redirect();
    assert!(again.as_str().starts_with(BACK), "{again}");
}
