//! Cross-runtime integration suite: drives the exported JavaScript API (`TruemedClient`,
//! `Gr4vyClient`, `TokenIoClient`) from Rust through the real `fetch` of the runtime, against the
//! provider simulator (`www/simulator/`, started outside the test; its URL comes from
//! `TOKEN_STATUS_SIM_URL` at build time, default `http://127.0.0.1:8787`).
//!
//! The same file runs in Node (`wasm-pack test --node`) and in headless Chromium and Firefox
//! (`WASM_BINDGEN_USE_BROWSER=1 wasm-pack test --headless --chrome|--firefox`). Every test
//! uses its own fresh ids, so runs in several runtimes can share one simulator; nothing here
//! resets it. Checks follow the "Precise rules" of `DESIGN.md`: normalized statuses, ids and
//! URLs, credentials as sent, errors by HTTP status, retries and `Retry-After`, bad bodies,
//! timeouts and aborts, options, redaction, plain data, the registered error class, and waits.
//!
//! Browsers re-send a request by themselves when a kept-alive connection turns out dead (after a
//! dropped connection or a cut-off body); where that can happen, request counts from the
//! simulator's log allow for it and the library's own `attempts` is the exact check.

#![cfg(target_arch = "wasm32")]

mod support;

use js_sys::{Array, Function, JSON, Object, Promise, Reflect};
use std::cell::Cell;
use std::rc::Rc;
use support::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use web_sys::AbortController;

// ---------------------------------------------------------------------------------------------
// Flows: every normalized field, per provider

#[wasm_bindgen_test]
async fn truemed_pending_then_succeeded() {
    let id = uid("ptr");
    create_flow(&format!(
        r#"{{"provider":"truemed","id":{},"outcome":"succeeded","pendingPolls":1,"metadata":"order-it-42"}}"#,
        quote(&id)
    ))
    .await;
    let client = P::Truemed.client("");

    let first = resolves(client.get(&id), "first read").await;
    assert_member(&first, "provider", Some("truemed"), "pending");
    assert_member(&first, "id", Some(&id), "pending");
    assert_state(&first, "pending", false, "pending");
    for key in ["providerStatus", "token", "actionUrl", "reason"] {
        assert_member(&first, key, None, "pending");
    }
    assert_member(&first, "metadata", Some("order-it-42"), "pending");

    let second = resolves(client.get(&id), "second read").await;
    let token = text(&flow_view(&id).await, "token").expect("flow token");
    assert!(token.starts_with("tm_pt_"), "{token}");
    assert_member(&second, "provider", Some("truemed"), "succeeded");
    assert_member(&second, "id", Some(&id), "succeeded");
    assert_state(&second, "succeeded", true, "succeeded");
    assert_member(&second, "token", Some(&token), "succeeded");
    assert_member(&second, "metadata", Some("order-it-42"), "succeeded");
    for key in ["providerStatus", "actionUrl", "reason"] {
        assert_member(&second, key, None, "succeeded");
    }
}

#[wasm_bindgen_test]
async fn gr4vy_pending_then_succeeded() {
    let pm = uid("pm");
    let service = uid("svc");
    let view = create_flow(&format!(
        r#"{{"provider":"gr4vy","paymentMethodId":{},"paymentServiceId":{},"outcome":"succeeded","pendingPolls":1}}"#,
        quote(&pm),
        quote(&service)
    ))
    .await;
    let id = text(&view, "id").unwrap();
    let created = text(&view, "createdAt").unwrap();
    let client = P::Gr4vy.client("");
    let get = || {
        client.gr4vy().get_payment_service_token(
            JsValue::from_str(&pm),
            JsValue::from_str(&id),
            JsValue::UNDEFINED,
        )
    };

    let first = resolves(get(), "first read").await;
    assert_member(&first, "provider", Some("gr4vy"), "pending");
    assert_member(&first, "id", Some(&id), "pending");
    assert_state(&first, "pending", false, "pending");
    assert_member(&first, "providerStatus", Some("processing"), "pending");
    for key in ["token", "actionUrl", "reason", "metadata"] {
        assert_member(&first, key, None, "pending");
    }
    assert_member(&first, "paymentMethodId", Some(&pm), "pending");
    assert_member(&first, "paymentServiceId", Some(&service), "pending");
    assert_member(&first, "createdAt", Some(&created), "pending");
    let updated = text(&first, "updatedAt").expect("updatedAt");
    assert!(
        !js_sys::Date::parse(&updated).is_nan(),
        "updatedAt {updated}"
    );

    let second = resolves(get(), "second read").await;
    let token = text(&flow_view(&id).await, "token").expect("flow token");
    assert!(token.starts_with("gr4vy_pst_"), "{token}");
    assert_state(&second, "succeeded", true, "succeeded");
    assert_member(&second, "providerStatus", Some("succeeded"), "succeeded");
    assert_member(&second, "token", Some(&token), "succeeded");
    assert_member(&second, "actionUrl", None, "succeeded");
    assert_member(&second, "paymentMethodId", Some(&pm), "succeeded");
    assert_member(&second, "paymentServiceId", Some(&service), "succeeded");
    assert_member(&second, "createdAt", Some(&created), "succeeded");
    let updated = js_sys::Date::parse(&text(&second, "updatedAt").unwrap());
    assert!(
        updated >= js_sys::Date::parse(&created),
        "updatedAt before createdAt"
    );
}

#[wasm_bindgen_test]
async fn gr4vy_action_required_then_approved() {
    let target = P::Gr4vy.target("action_required", 0).await;
    let client = P::Gr4vy.client("");
    let get = || {
        client.gr4vy().get_payment_service_token(
            JsValue::from_str(&target.key),
            JsValue::from_str(&target.flow_id),
            JsValue::UNDEFINED,
        )
    };
    let expected_url = format!(
        "{}/_sim/approve/{}",
        sim(),
        String::from(js_sys::encode_uri_component(&target.flow_id))
    );
    for _ in 0..2 {
        let status = resolves(get(), "awaiting approval").await;
        assert_state(&status, "action_required", false, "awaiting approval");
        assert_member(
            &status,
            "providerStatus",
            Some("buyer_approval_required"),
            "awaiting approval",
        );
        assert_member(
            &status,
            "actionUrl",
            Some(&expected_url),
            "awaiting approval",
        );
        assert_member(&status, "token", None, "awaiting approval");
    }
    // The buyer opens the approval URL.
    let page = gloo_net::http::Request::get(&expected_url)
        .send()
        .await
        .expect("approval page");
    assert_eq!(page.status(), 200);

    let status = resolves(get(), "after approval").await;
    assert_state(&status, "succeeded", true, "after approval");
    assert_member(
        &status,
        "providerStatus",
        Some("succeeded"),
        "after approval",
    );
    assert_member(&status, "actionUrl", None, "after approval");
    let token = text(&flow_view(&target.flow_id).await, "token").unwrap();
    assert_member(&status, "token", Some(&token), "after approval");
}

#[wasm_bindgen_test]
async fn tokenio_pending_then_processed() {
    let client = P::TokenIo.client("");

    // Scripted values, so every field is checked exactly (unknown fields are ignored).
    let id = tokenio_id();
    create_flow(&format!(
        r#"{{"provider":"tokenio","id":{},"steps":[{{"status":"PENDING","polls":1}},{{"status":"PROCESSED","fields":{{"tokenId":"tt:it-token:5zKtXEAq","transferId":"t:it-transfer:5zKtXEAq","standingOrderSubmissionId":"so-it-1","bankId":"ob-it-bank","signature":{{"keyId":"key-it","memberId":"m:it:5zKtXEAq","signature":"c2lnbmF0dXJl","extra":1}},"futureField":{{"nested":[1,2]}}}}}}]}}"#,
        quote(&id)
    ))
    .await;
    let first = resolves(client.get(&id), "pending").await;
    assert_member(&first, "provider", Some("tokenio"), "pending");
    assert_member(&first, "id", Some(&id), "pending");
    assert_state(&first, "pending", false, "pending");
    assert_member(&first, "providerStatus", Some("PENDING"), "pending");
    for key in [
        "token",
        "actionUrl",
        "reason",
        "metadata",
        "transferId",
        "standingOrderSubmissionId",
        "bankId",
        "signature",
    ] {
        assert_member(&first, key, None, "pending");
    }

    let done = resolves(client.get(&id), "processed").await;
    assert_state(&done, "succeeded", true, "processed");
    assert_member(&done, "id", Some(&id), "processed");
    assert_member(&done, "providerStatus", Some("PROCESSED"), "processed");
    assert_member(&done, "token", Some("tt:it-token:5zKtXEAq"), "processed");
    assert_member(
        &done,
        "transferId",
        Some("t:it-transfer:5zKtXEAq"),
        "processed",
    );
    assert_member(
        &done,
        "standingOrderSubmissionId",
        Some("so-it-1"),
        "processed",
    );
    assert_member(&done, "bankId", Some("ob-it-bank"), "processed");
    for key in ["actionUrl", "reason", "metadata"] {
        assert_member(&done, key, None, "processed");
    }
    let signature = field(&done, "signature");
    assert_member(&signature, "keyId", Some("key-it"), "signature");
    assert_member(&signature, "memberId", Some("m:it:5zKtXEAq"), "signature");
    assert_member(&signature, "signature", Some("c2lnbmF0dXJl"), "signature");
    assert!(
        field(&done, "futureField").is_undefined(),
        "unknown field leaked"
    );

    // The simulator's own PROCESSED body.
    let target = P::TokenIo.target("succeeded", 0).await;
    let done = resolves(client.get(&target.key), "default processed").await;
    let token = text(&flow_view(&target.key).await, "token").unwrap();
    assert_state(&done, "succeeded", true, "default processed");
    assert_member(&done, "token", Some(&token), "default processed");
    assert_member(&done, "bankId", Some("ob-modelo"), "default processed");
    assert!(
        text(&done, "transferId")
            .unwrap_or_default()
            .starts_with("t:")
    );
    let signature = field(&done, "signature");
    for key in ["keyId", "memberId", "signature"] {
        assert!(
            !text(&signature, key).unwrap_or_default().is_empty(),
            "signature.{key} in {}",
            stringify(&done)
        );
    }
}

#[wasm_bindgen_test]
async fn tokenio_rejected_failed_and_expired() {
    let client = P::TokenIo.client("");
    for (outcome, provider_status, state, reason) in [
        (
            "rejected",
            "REJECTED",
            "failed",
            Some("Consent rejected by the user"),
        ),
        (
            "failed",
            "REJECTED",
            "failed",
            Some("Payment rejected by the bank"),
        ),
        ("expired", "EXPIRED", "expired", None),
    ] {
        let target = P::TokenIo.target(outcome, 0).await;
        let status = resolves(client.get(&target.key), outcome).await;
        assert_state(&status, state, true, outcome);
        assert_member(&status, "providerStatus", Some(provider_status), outcome);
        assert_member(&status, "reason", reason, outcome);
        assert_member(&status, "token", None, outcome);
    }
    let target = P::Gr4vy.target("failed", 0).await;
    let list = resolves(P::Gr4vy.client("").get(&target.key), "gr4vy failed").await;
    let status = target.assert_found(&list, "gr4vy failed");
    assert_state(&status, "failed", true, "gr4vy failed");
    assert_member(&status, "providerStatus", Some("failed"), "gr4vy failed");
}

#[wasm_bindgen_test]
async fn unknown_provider_values_are_unknown_not_errors() {
    let target = P::Gr4vy.target("unknown", 0).await;
    let list = resolves(P::Gr4vy.client("").get(&target.key), "gr4vy paused").await;
    let status = target.assert_found(&list, "gr4vy paused");
    assert_state(&status, "unknown", false, "gr4vy paused");
    assert_member(&status, "providerStatus", Some("paused"), "gr4vy paused");

    let tokenio = P::TokenIo.client("");
    let target = P::TokenIo.target("unknown", 0).await;
    let status = resolves(tokenio.get(&target.key), "ON_HOLD").await;
    assert_state(&status, "unknown", false, "ON_HOLD");
    assert_member(&status, "providerStatus", Some("ON_HOLD"), "ON_HOLD");

    // Values are compared verbatim: other spellings are not the documented ones.
    for value in ["processed", "Pending", "NEW_IN_2027"] {
        let id = tokenio_id();
        create_flow(&format!(
            r#"{{"provider":"tokenio","id":{},"steps":[{{"status":{}}}]}}"#,
            quote(&id),
            quote(value)
        ))
        .await;
        let status = resolves(tokenio.get(&id), value).await;
        assert_state(&status, "unknown", false, value);
        assert_member(&status, "providerStatus", Some(value), value);
    }
    let pm = uid("pm");
    create_flow(&format!(
        r#"{{"provider":"gr4vy","paymentMethodId":{},"steps":[{{"status":"SUCCEEDED"}}]}}"#,
        quote(&pm)
    ))
    .await;
    let list = resolves(P::Gr4vy.client("").get(&pm), "SUCCEEDED").await;
    let status = Array::from(&list).get(0);
    assert_state(&status, "unknown", false, "SUCCEEDED");
    assert_member(&status, "providerStatus", Some("SUCCEEDED"), "SUCCEEDED");
}

// ---------------------------------------------------------------------------------------------
// Gr4vy provision and list

fn provision(client: &Client, pm: &str, params: &str) -> Promise {
    client.gr4vy().provision_payment_service_token(
        JsValue::from_str(pm),
        json(params),
        JsValue::UNDEFINED,
    )
}

#[wasm_bindgen_test]
async fn gr4vy_provision_sends_the_documented_body() {
    let client = P::Gr4vy.client("");
    let service = uid("svc");
    let redirect = "https://shop.example/return?order=1&x=\"y\"";

    let pm = uid("pm");
    let params = format!(
        r#"{{"paymentServiceId":{},"redirectUrl":{}}}"#,
        quote(&service),
        quote(redirect)
    );
    let status = resolves(provision(&client, &pm, &params), "provision").await;
    assert_member(&status, "provider", Some("gr4vy"), "provision");
    assert_state(&status, "pending", false, "provision");
    assert_member(&status, "providerStatus", Some("processing"), "provision");
    assert_member(&status, "paymentMethodId", Some(&pm), "provision");
    assert_member(&status, "paymentServiceId", Some(&service), "provision");
    assert_member(&status, "token", None, "provision");
    assert_member(&status, "actionUrl", None, "provision");
    let token_id = text(&status, "id").unwrap_or_default();
    assert!(!token_id.is_empty(), "provisioned token id");
    assert!(text(&status, "createdAt").is_some(), "createdAt");

    let entries = log(&pm).await;
    assert_eq!(entries.len(), 1, "one POST");
    let entry = &entries[0];
    assert_eq!(text(entry, "method").as_deref(), Some("POST"));
    assert_eq!(
        text(entry, "rawPath"),
        Some(format!(
            "/gr4vy/payment-methods/{pm}/payment-service-tokens"
        ))
    );
    assert!(
        logged_header(entry, "content-type")
            .unwrap_or_default()
            .starts_with("application/json"),
        "content-type"
    );
    let body = json(&text(entry, "body").expect("POST body"));
    assert_eq!(keys(&body), ["payment_service_id", "redirect_url"]);
    assert_eq!(text(&body, "payment_service_id"), Some(service.clone()));
    assert_eq!(text(&body, "redirect_url").as_deref(), Some(redirect));

    // The token it created is then listed.
    let found = resolves(
        client.gr4vy().get_payment_service_token(
            JsValue::from_str(&pm),
            JsValue::from_str(&token_id),
            JsValue::UNDEFINED,
        ),
        "get provisioned",
    )
    .await;
    assert_member(&found, "id", Some(&token_id), "get provisioned");

    // With a security code.
    let pm = uid("pm");
    let params = format!(
        r#"{{"paymentServiceId":{},"redirectUrl":"https://shop.example/r","securityCode":"0123"}}"#,
        quote(&service)
    );
    resolves(provision(&client, &pm, &params), "provision with code").await;
    let entries = log(&pm).await;
    assert_eq!(entries.len(), 1);
    let body = json(&text(&entries[0], "body").unwrap());
    assert_eq!(
        keys(&body),
        ["payment_service_id", "redirect_url", "security_code"]
    );
    assert_eq!(text(&body, "security_code").as_deref(), Some("0123"));
}

#[wasm_bindgen_test]
async fn gr4vy_provision_arguments_are_checked_before_sending() {
    let client = P::Gr4vy.client("");
    let cases = [
        r#"{"paymentServiceId":"svc","redirectUrl":"https://x.example","securityCode":"12"}"#,
        r#"{"paymentServiceId":"svc","redirectUrl":"https://x.example","securityCode":"12345"}"#,
        r#"{"paymentServiceId":"svc","redirectUrl":"https://x.example","securityCode":"12a"}"#,
        r#"{"paymentServiceId":"svc","redirectUrl":"https://x.example","securityCode":""}"#,
        r#"{"paymentServiceId":"svc","redirectUrl":"https://x.example","securityCode":" 123"}"#,
        r#"{"paymentServiceId":"svc","redirectUrl":"https://x.example","securityCode":"１２３"}"#,
    ];
    for params in cases {
        let pm = uid("pm");
        let error = rejects(provision(&client, &pm, params), params).await;
        assert_error(&error, "invalid_argument", "gr4vy", params);
        assert_details(&error, 0, false, None, params);
        assert!(log(&pm).await.is_empty(), "{params}: a request was sent");
    }
}

#[wasm_bindgen_test]
async fn gr4vy_list_with_and_without_filter() {
    let pm = uid("pm");
    let service_a = format!("{} a&b=c+d", uid("svc"));
    let service_b = uid("svc");
    let mut ids = Vec::new();
    for service in [&service_a, &service_b] {
        let view = create_flow(&format!(
            r#"{{"provider":"gr4vy","paymentMethodId":{},"paymentServiceId":{},"outcome":"pending"}}"#,
            quote(&pm),
            quote(service)
        ))
        .await;
        ids.push(text(&view, "id").unwrap());
    }
    let merchant = uid("merchant");
    let client = P::Gr4vy.client(&format!(r#"{{"merchantAccountId":{}}}"#, quote(&merchant)));

    let all = resolves(client.get(&pm), "list all").await;
    assert!(Array::is_array(&all));
    let all = Array::from(&all);
    let mut listed: Vec<String> = all.iter().filter_map(|s| text(&s, "id")).collect();
    listed.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(listed, expected);
    for status in all.iter() {
        assert_state(&status, "pending", false, "list all");
        assert_member(&status, "paymentMethodId", Some(&pm), "list all");
    }

    let filter = format!(r#"{{"paymentServiceId":{}}}"#, quote(&service_a));
    let some = resolves(
        client.gr4vy().list_payment_service_tokens(
            JsValue::from_str(&pm),
            json(&filter),
            JsValue::UNDEFINED,
        ),
        "list filtered",
    )
    .await;
    let some = Array::from(&some);
    assert_eq!(some.length(), 1, "{}", stringify(&some));
    assert_member(&some.get(0), "id", Some(&ids[0]), "list filtered");
    assert_member(
        &some.get(0),
        "paymentServiceId",
        Some(&service_a),
        "list filtered",
    );

    let entries = log(&pm).await;
    assert_eq!(entries.len(), 2);
    let path = format!("/gr4vy/payment-methods/{pm}/payment-service-tokens");
    assert_eq!(text(&entries[0], "rawPath"), Some(path.clone()));
    assert_eq!(keys(&field(&entries[0], "query")), Vec::<String>::new());
    assert_eq!(text(&entries[1], "rawPath"), Some(path));
    let query = field(&entries[1], "query");
    assert_eq!(keys(&query), ["payment_service_id"]);
    assert_eq!(text(&query, "payment_service_id"), Some(service_a.clone()));
    for entry in &entries {
        assert_eq!(text(entry, "method").as_deref(), Some("GET"));
        assert_eq!(
            logged_header(entry, "x-gr4vy-merchant-account-id"),
            Some(merchant.clone()),
            "merchant account header"
        );
    }

    // An unknown payment method lists nothing.
    let empty = resolves(client.get(&uid("pm")), "unknown payment method").await;
    assert_eq!(Array::from(&empty).length(), 0);
}

#[wasm_bindgen_test]
async fn gr4vy_token_not_in_the_list_is_not_found() {
    let target = P::Gr4vy.target("pending", 0).await;
    let client = P::Gr4vy.client("");
    let missing = || {
        client.gr4vy().get_payment_service_token(
            JsValue::from_str(&target.key),
            JsValue::from_str("pst-not-there"),
            JsValue::UNDEFINED,
        )
    };
    let error = rejects(missing(), "missing token").await;
    assert_error(&error, "not_found", "gr4vy", "missing token");
    assert_details(&error, 1, false, None, "missing token");
    assert!(
        field(&error, "code").is_null(),
        "code: {}",
        describe(&error)
    );
    assert_eq!(log(&target.key).await.len(), 1);

    // attempts counts the requests sent, retries included.
    fault(&target.key, r#"[{"status":503}]"#).await;
    let error = rejects(missing(), "missing token after a retry").await;
    assert_error(&error, "not_found", "gr4vy", "missing after retry");
    assert_details(&error, 2, false, None, "missing after retry");
    assert!(field(&error, "code").is_null());
    assert_eq!(log(&target.key).await.len(), 3);
}

// ---------------------------------------------------------------------------------------------
// Credentials as sent

#[wasm_bindgen_test]
async fn credential_headers_as_sent() {
    let custom = r#""headers":{"X-Integration-Test":"yes"}"#;
    for (provider, extra, header, value) in [
        (
            P::Truemed,
            format!("{{{custom}}}"),
            "x-truemed-api-key",
            TRUEMED_KEY.to_owned(),
        ),
        (
            P::Gr4vy,
            format!("{{{custom}}}"),
            "authorization",
            format!("bearer {GR4VY_TOKEN}"),
        ),
        (
            P::TokenIo,
            format!("{{{custom}}}"),
            "authorization",
            format!("Basic {TOKENIO_BASIC}"),
        ),
        (
            P::TokenIo,
            format!(r#"{{"basicCredentials":null,"bearerToken":"sim-tokenio-token",{custom}}}"#),
            "authorization",
            format!("Bearer {TOKENIO_BEARER}"),
        ),
    ] {
        let what = format!("{provider:?} {extra}");
        let target = provider.target("pending", 0).await;
        let client = provider.client(&extra);
        let found = resolves(client.get(&target.key), &what).await;
        target.assert_found(&found, &what);
        let entries = log(&target.key).await;
        assert_eq!(entries.len(), 1, "{what}");
        assert_eq!(logged_header(&entries[0], header), Some(value), "{what}");
        assert_eq!(
            logged_header(&entries[0], "x-integration-test").as_deref(),
            Some("yes"),
            "{what}: custom header"
        );
        if provider == P::Truemed {
            assert_eq!(logged_header(&entries[0], "authorization"), None);
        }
    }
}

/// Options of `provider` without its static credential, and `bearerToken` set to `function`.
fn with_bearer_function(provider: P, function: &Function) -> JsValue {
    let options = provider.options(r#"{"basicCredentials":null,"bearerToken":null}"#);
    set(&options, "bearerToken", function);
    options
}

/// A Token.io client whose `bearerToken` function counts its calls.
fn counting_bearer_client() -> (Client, Rc<Cell<u32>>) {
    let calls = Rc::new(Cell::new(0u32));
    let counter = calls.clone();
    let bearer = function(move || {
        counter.set(counter.get() + 1);
        Ok(JsValue::from_str(TOKENIO_BEARER))
    });
    let client = P::TokenIo
        .try_client(&with_bearer_function(P::TokenIo, &bearer))
        .unwrap_or_else(|e| panic!("{}", describe(&e)));
    (client, calls)
}

#[wasm_bindgen_test]
async fn bearer_function_is_called_once_per_attempt() {
    // Token.io: a 503, then success: two attempts, two calls.
    let (client, calls) = counting_bearer_client();
    let target = P::TokenIo.target("pending", 0).await;
    fault(&target.key, r#"[{"status":503}]"#).await;
    let status = resolves(client.get(&target.key), "retried call").await;
    target.assert_found(&status, "retried call");
    assert_eq!(calls.get(), 2, "bearerToken calls for two attempts");
    let entries = log(&target.key).await;
    assert_eq!(entries.len(), 2);
    for entry in &entries {
        assert_eq!(
            logged_header(entry, "authorization"),
            Some(format!("Bearer {TOKENIO_BEARER}"))
        );
    }
    resolves(client.get(&target.key), "next call").await;
    assert_eq!(calls.get(), 3, "one more call for one more request");

    // Gr4vy: each attempt carries the token of its own call.
    let calls = Rc::new(Cell::new(0u32));
    let counter = calls.clone();
    let bearer = function(move || {
        counter.set(counter.get() + 1);
        Ok(JsValue::from_str(if counter.get() == 1 {
            "first-short-lived-jwt"
        } else {
            GR4VY_TOKEN
        }))
    });
    let client = P::Gr4vy
        .try_client(&with_bearer_function(P::Gr4vy, &bearer))
        .unwrap_or_else(|e| panic!("{}", describe(&e)));
    let target = P::Gr4vy.target("pending", 0).await;
    fault(&target.key, r#"[{"status":502}]"#).await;
    resolves(client.get(&target.key), "gr4vy retried call").await;
    assert_eq!(calls.get(), 2);
    let sent: Vec<Option<String>> = log(&target.key)
        .await
        .iter()
        .map(|e| logged_header(e, "authorization"))
        .collect();
    assert_eq!(
        sent,
        [
            Some("bearer first-short-lived-jwt".to_owned()),
            Some(format!("bearer {GR4VY_TOKEN}"))
        ]
    );
}

#[wasm_bindgen_test]
async fn bearer_function_may_return_a_promise() {
    let bearer = function(|| Ok(Promise::resolve(&JsValue::from_str(TOKENIO_BEARER)).into()));
    let client = P::TokenIo
        .try_client(&with_bearer_function(P::TokenIo, &bearer))
        .unwrap_or_else(|e| panic!("{}", describe(&e)));
    let target = P::TokenIo.target("pending", 0).await;
    resolves(client.get(&target.key), "promise token").await;

    // A promise that settles later (a token refresh).
    let later = function(|| Ok(delayed(30.0, &JsValue::from_str(TOKENIO_BEARER)).into()));
    let client = P::TokenIo
        .try_client(&with_bearer_function(P::TokenIo, &later))
        .unwrap_or_else(|e| panic!("{}", describe(&e)));
    resolves(client.get(&target.key), "delayed promise token").await;
    let entries = log(&target.key).await;
    assert_eq!(entries.len(), 2);
    for entry in &entries {
        assert_eq!(
            logged_header(entry, "authorization"),
            Some(format!("Bearer {TOKENIO_BEARER}"))
        );
    }
}

#[wasm_bindgen_test]
async fn failing_bearer_functions_send_nothing() {
    let cases: Vec<(&str, Function)> = vec![
        (
            "throws",
            function(|| Err(js_sys::Error::new("no token").into())),
        ),
        (
            "rejects",
            function(|| Ok(Promise::reject(&js_sys::Error::new("refresh failed").into()).into())),
        ),
        ("returns empty", function(|| Ok(JsValue::from_str("")))),
        ("returns blank", function(|| Ok(JsValue::from_str("   ")))),
        (
            "resolves empty",
            function(|| Ok(Promise::resolve(&JsValue::from_str("")).into())),
        ),
        ("returns a number", function(|| Ok(JsValue::from_f64(42.0)))),
        ("returns undefined", function(|| Ok(JsValue::UNDEFINED))),
    ];
    for (what, bearer) in cases {
        for provider in [P::Gr4vy, P::TokenIo] {
            let what = format!("{provider:?} bearerToken {what}");
            let client = provider
                .try_client(&with_bearer_function(provider, &bearer))
                .unwrap_or_else(|e| panic!("{what}: {}", describe(&e)));
            let key = uid("bearer");
            let error = rejects(client.get(&key), &what).await;
            assert_error(&error, "invalid_argument", provider.name(), &what);
            assert_details(&error, 0, false, None, &what);
            if provider == P::Gr4vy {
                let error = rejects(
                    provision(
                        &client,
                        &key,
                        r#"{"paymentServiceId":"svc","redirectUrl":"https://x.example"}"#,
                    ),
                    &what,
                )
                .await;
                assert_error(&error, "invalid_argument", "gr4vy", &what);
            }
            assert!(log(&key).await.is_empty(), "{what}: a request was sent");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Ids and URLs

#[wasm_bindgen_test]
async fn tokenio_colons_are_sent_as_is() {
    let target = P::TokenIo.target("pending", 0).await;
    assert!(target.key.matches(':').count() == 2);
    resolves(P::TokenIo.client("").get(&target.key), "colon id").await;
    let entries = log(&target.key).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        text(&entries[0], "rawPath"),
        Some(format!("/tokenio/token-requests/{}/result", target.key))
    );
}

/// The one path segment that holds the id, from a logged raw path.
fn logged_segment(provider: P, raw_path: &str) -> String {
    let (prefix, suffix) = match provider {
        P::Truemed => ("/truemed/api/v1/payment_tokens/provision_request/", ""),
        P::Gr4vy => ("/gr4vy/payment-methods/", "/payment-service-tokens"),
        P::TokenIo => ("/tokenio/token-requests/", "/result"),
    };
    assert!(
        raw_path.starts_with(prefix) && raw_path.ends_with(suffix),
        "unexpected path {raw_path}"
    );
    raw_path[prefix.len()..raw_path.len() - suffix.len()].to_owned()
}

#[wasm_bindgen_test]
async fn reserved_characters_stay_in_one_path_segment() {
    let tail = " /a?b#c d%20e%zz\\f+g&h=i;j,k@l'm(n)*o!p$q[r]s{t}u|v^w`x\"y<z>ü€😀.";
    for provider in P::ALL {
        let client = provider.client("");

        // An existing flow with such an id is found: the id arrived intact.
        let key = format!("{}{tail}", uid(provider.name()));
        let target = provider.target_with_key(&key, "pending", 0).await;
        let value = resolves(client.get(&key), &format!("{provider:?} special id")).await;
        target.assert_found(&value, &format!("{provider:?} special id"));
        let entries = log(&key).await;
        assert_eq!(
            entries.len(),
            1,
            "{provider:?}: logged under the decoded id"
        );
        let raw = text(&entries[0], "rawPath").unwrap();
        let segment = logged_segment(provider, &raw);
        for encoded in ["%2F", "%3F", "%23", "%20", "%25", "%5C"] {
            assert!(
                segment.contains(encoded),
                "{provider:?}: {encoded} in {raw}"
            );
        }
        assert!(!segment.contains('/') && !segment.contains(' '), "{raw}");
        assert_eq!(
            js_sys::decode_uri_component(&segment)
                .ok()
                .and_then(|s| s.as_string()),
            Some(key.clone()),
            "{provider:?}: the segment decodes to the id"
        );
        assert_eq!(keys(&field(&entries[0], "query")), Vec::<String>::new());

        // An unknown one reaches the same route: the provider's 404, or Gr4vy's empty list.
        let missing = format!("{}{tail}", uid(provider.name()));
        let outcome = settle(client.get(&missing)).await;
        match provider {
            P::Gr4vy => {
                let list = outcome.unwrap_or_else(|e| panic!("gr4vy: {}", describe(&e)));
                assert_eq!(Array::from(&list).length(), 0);
            }
            _ => {
                let error = outcome.expect_err("unknown id resolved");
                assert_error(&error, "not_found", provider.name(), "unknown special id");
                assert_details(&error, 1, false, Some(404), "unknown special id");
                if provider == P::TokenIo {
                    assert_eq!(text(&error, "code").as_deref(), Some("NOT_FOUND"));
                }
            }
        }
        let entries = log(&missing).await;
        assert_eq!(entries.len(), 1, "{provider:?}: unknown id routed as an id");
    }
}

#[wasm_bindgen_test]
async fn longest_id_is_accepted() {
    let mut id = tokenio_id();
    while id.chars().count() < 1024 {
        id.push('é');
    }
    let error = rejects(P::TokenIo.client("").get(&id), "1024 chars").await;
    assert_error(&error, "not_found", "tokenio", "1024 chars");
    assert_eq!(log(&id).await.len(), 1, "a 1024-character id is sent");
}

/// Ids that must be refused before anything is sent.
fn invalid_ids() -> Vec<(String, JsValue)> {
    let long: String = uid("long")
        .chars()
        .chain(std::iter::repeat('x'))
        .take(1025)
        .collect();
    [
        String::new(),
        ".".to_owned(),
        "..".to_owned(),
        long,
        format!("{}\u{7}bell", uid("ctl")),
        format!("{}\nline", uid("ctl")),
        format!("{}\ttab", uid("ctl")),
        format!("{}\0nul", uid("ctl")),
        format!("{}\u{7f}del", uid("ctl")),
        format!("{}\u{85}nel", uid("ctl")),
    ]
    .into_iter()
    .map(|id| (format!("{id:?}"), JsValue::from_str(&id)))
    .collect()
}

#[wasm_bindgen_test]
async fn invalid_ids_are_rejected_before_sending() {
    let marker = uid("marker");
    let extra = format!(r#"{{"headers":{{"x-test-marker":{}}}}}"#, quote(&marker));
    for provider in P::ALL {
        let client = provider.client(&extra);
        for (what, id) in invalid_ids() {
            let what = format!("{provider:?} id {what}");
            let error = rejects(client.lookup(&id, &JsValue::UNDEFINED), &what).await;
            assert_error(&error, "invalid_argument", provider.name(), &what);
            assert_details(&error, 0, false, None, &what);
            if provider != P::Gr4vy {
                continue;
            }
            let gr4vy = client.gr4vy();
            let good = JsValue::from_str("pm-good");
            for (call, promise) in [
                (
                    "get token id",
                    gr4vy.get_payment_service_token(good.clone(), id.clone(), JsValue::UNDEFINED),
                ),
                (
                    "get payment method id",
                    gr4vy.get_payment_service_token(
                        id.clone(),
                        JsValue::from_str("pst"),
                        JsValue::UNDEFINED,
                    ),
                ),
                (
                    "provision",
                    gr4vy.provision_payment_service_token(
                        id.clone(),
                        json(r#"{"paymentServiceId":"svc","redirectUrl":"https://x.example"}"#),
                        JsValue::UNDEFINED,
                    ),
                ),
            ] {
                let what = format!("{what} ({call})");
                let error = rejects(promise, &what).await;
                assert_error(&error, "invalid_argument", "gr4vy", &what);
            }
            if id.is_string() {
                let filter = Object::new();
                set(&filter, "paymentServiceId", &id);
                let error = rejects(
                    gr4vy.list_payment_service_tokens(
                        good.clone(),
                        filter.into(),
                        JsValue::UNDEFINED,
                    ),
                    &what,
                )
                .await;
                assert_error(&error, "invalid_argument", "gr4vy", &what);
            }
        }
    }
    for provider in P::ALL {
        let sent = log_marked(provider.name(), &marker).await;
        assert!(
            sent.is_empty(),
            "{provider:?}: requests were sent for invalid ids: {:?}",
            sent.iter()
                .map(|e| text(e, "rawPath").unwrap_or_default())
                .collect::<Vec<_>>()
        );
    }
}

#[wasm_bindgen_test]
async fn base_url_trailing_slash_makes_no_difference() {
    for provider in P::ALL {
        let target = provider.target("pending", 0).await;
        for base in [provider.base_url(), format!("{}/", provider.base_url())] {
            let client = provider.client(&format!(r#"{{"baseUrl":{}}}"#, quote(&base)));
            let value = resolves(client.get(&target.key), &base).await;
            target.assert_found(&value, &base);
        }
        let entries = log(&target.key).await;
        assert_eq!(entries.len(), 2, "{provider:?}");
        let paths: Vec<String> = entries
            .iter()
            .map(|e| text(e, "rawPath").unwrap())
            .collect();
        assert_eq!(paths[0], paths[1], "{provider:?}");
        assert!(!paths[0].contains("//"), "{}", paths[0]);
    }
}

// ---------------------------------------------------------------------------------------------
// Errors by HTTP status

/// A provider-shaped error body with code `code` (and, for Token.io, trace id `trace`).
fn error_body(provider: P, status: u16, code: &str, trace: &str) -> String {
    match provider {
        P::Truemed => format!(
            r#"{{"error":{},"message":"simulated failure"}}"#,
            quote(code)
        ),
        P::Gr4vy => format!(
            r#"{{"type":"error","code":{},"status":{status},"message":"simulated failure","details":[]}}"#,
            quote(code)
        ),
        P::TokenIo => format!(
            r#"{{"error":{{"errorCode":{},"message":"simulated failure","tokenTraceId":{}}}}}"#,
            quote(code),
            quote(trace)
        ),
    }
}

#[wasm_bindgen_test]
async fn error_kinds_by_http_status() {
    let table: [(u16, &str, bool); 15] = [
        (400, "bad_request", false),
        (405, "bad_request", false),
        (409, "bad_request", false),
        (422, "bad_request", false),
        (401, "unauthorized", false),
        (403, "unauthorized", false),
        (404, "not_found", false),
        (429, "rate_limited", true),
        (500, "provider_error", true),
        (502, "provider_error", true),
        (503, "provider_error", true),
        (504, "provider_error", true),
        (501, "provider_error", false),
        (505, "provider_error", false),
        (507, "provider_error", false),
    ];
    for provider in P::ALL {
        let client = provider.client(r#"{"retry":false}"#);
        for (status, kind, retryable) in table {
            let what = format!("{provider:?} {status}");
            let key = uid("status");
            let code = format!("E_{status}_{}", provider.name().len());
            let trace = format!("trace-{status}");
            fault(
                &key,
                &format!(
                    r#"[{{"status":{status},"body":{}}}]"#,
                    error_body(provider, status, &code, &trace)
                ),
            )
            .await;
            let error = rejects(client.get(&key), &what).await;
            assert_error(&error, kind, provider.name(), &what);
            assert_details(&error, 1, retryable, Some(status), &what);
            assert_eq!(text(&error, "code"), Some(code), "{what}: code");
            assert_eq!(boolean(&error, "external"), Some(false), "{what}: external");
            if provider == P::TokenIo {
                assert_eq!(text(&error, "traceId"), Some(trace), "{what}: traceId");
            } else {
                assert!(field(&error, "traceId").is_null(), "{what}: traceId");
            }
            assert!(field(&error, "lastStatus").is_null(), "{what}: lastStatus");
        }
    }
}

#[wasm_bindgen_test]
async fn provider_default_error_bodies() {
    // Token.io: errorCode and a tokenTraceId on a 404.
    let key = tokenio_id();
    let error = rejects(P::TokenIo.client("").get(&key), "tokenio 404").await;
    assert_error(&error, "not_found", "tokenio", "tokenio 404");
    assert_details(&error, 1, false, Some(404), "tokenio 404");
    assert_eq!(text(&error, "code").as_deref(), Some("NOT_FOUND"));
    let trace = text(&error, "traceId").unwrap_or_default();
    assert!(
        trace.len() == 32 && trace.bytes().all(|b| b.is_ascii_hexdigit()),
        "traceId {trace}"
    );
    // Token.io 401 bodies carry no errorCode.
    let client = P::TokenIo.client(r#"{"basicCredentials":"d3Jvbmc6Y3JlZGVudGlhbA=="}"#);
    let error = rejects(client.get(&key), "tokenio 401").await;
    assert_error(&error, "unauthorized", "tokenio", "tokenio 401");
    assert_details(&error, 1, false, Some(401), "tokenio 401");
    assert!(field(&error, "code").is_null(), "{}", describe(&error));
    assert!(text(&error, "traceId").is_some());

    // Gr4vy 422 validation bodies have no code; the message names the field.
    let pm = uid("pm");
    fault(&pm, r#"[{"status":422}]"#).await;
    let error = rejects(P::Gr4vy.client("").get(&pm), "gr4vy 422").await;
    assert_error(&error, "bad_request", "gr4vy", "gr4vy 422");
    assert_details(&error, 1, false, Some(422), "gr4vy 422");
    assert!(field(&error, "code").is_null(), "{}", describe(&error));

    // Truemed: the string `error`.
    let id = uid("ptr");
    fault(&id, r#"[{"status":429,"times":3}]"#).await;
    let error = rejects(P::Truemed.client("").get(&id), "truemed 429").await;
    assert_error(&error, "rate_limited", "truemed", "truemed 429");
    assert_details(&error, 3, true, Some(429), "truemed 429");
    assert_eq!(text(&error, "code").as_deref(), Some("too_many_requests"));
}

#[wasm_bindgen_test]
async fn tokenio_external_errors_are_flagged() {
    let client = P::TokenIo.client(r#"{"retry":false}"#);
    let key = tokenio_id();
    let trace = uid("trace");
    fault(
        &key,
        &format!(
            r#"[{{"status":503,"external":true,"body":{{"error":{{"errorCode":"UNAVAILABLE","message":"The bank is down","tokenTraceId":{}}}}}}},{{"status":503}}]"#,
            quote(&trace)
        ),
    )
    .await;
    let error = rejects(client.get(&key), "external").await;
    assert_error(&error, "provider_error", "tokenio", "external");
    assert_details(&error, 1, true, Some(503), "external");
    assert_eq!(boolean(&error, "external"), Some(true));
    assert_eq!(text(&error, "code").as_deref(), Some("UNAVAILABLE"));
    assert_eq!(text(&error, "traceId"), Some(trace.clone()));
    let message = text(&error, "message").unwrap();
    assert!(message.contains("The bank is down"), "{message}");
    assert!(message.contains(&trace), "trace id in message: {message}");

    let error = rejects(client.get(&key), "not external").await;
    assert_error(&error, "provider_error", "tokenio", "not external");
    assert_eq!(boolean(&error, "external"), Some(false));
}

#[wasm_bindgen_test]
async fn html_error_pages_keep_their_status() {
    for provider in P::ALL {
        let client = provider.client(r#"{"retry":false}"#);
        for (status, kind, retryable) in [
            (502, "provider_error", true),
            (500, "provider_error", true),
            (501, "provider_error", false),
            (404, "not_found", false),
            (403, "unauthorized", false),
        ] {
            let what = format!("{provider:?} HTML {status}");
            let key = uid("html");
            fault(
                &key,
                &format!(
                    r#"[{{"status":{status},"contentType":"text/html; charset=utf-8","body":"<!DOCTYPE html><html><head><title>{status}</title></head><body><h1>{status} nginx</h1></body></html>"}}]"#
                ),
            )
            .await;
            let error = rejects(client.get(&key), &what).await;
            assert_error(&error, kind, provider.name(), &what);
            assert_details(&error, 1, retryable, Some(status), &what);
            assert!(field(&error, "code").is_null(), "{what}: code");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Retries

#[wasm_bindgen_test]
async fn retries_stop_after_max_retries() {
    for provider in P::ALL {
        // Default maxRetries (2): three requests in all.
        let target = provider.target("pending", 0).await;
        fault(&target.key, r#"[{"status":503,"times":3}]"#).await;
        let error = rejects(provider.client("").get(&target.key), "3 x 503").await;
        assert_error(&error, "provider_error", provider.name(), "3 x 503");
        assert_details(&error, 3, true, Some(503), "3 x 503");
        assert_eq!(log(&target.key).await.len(), 3, "{provider:?}");
    }
    let client =
        P::TokenIo.client(r#"{"retry":{"maxRetries":1,"initialDelayMs":10,"maxDelayMs":50}}"#);
    let target = P::TokenIo.target("pending", 0).await;
    fault(
        &target.key,
        r#"[{"status":500},{"status":429},{"status":504}]"#,
    )
    .await;
    let error = rejects(client.get(&target.key), "maxRetries 1").await;
    assert_error(&error, "rate_limited", "tokenio", "maxRetries 1");
    assert_details(&error, 2, true, Some(429), "maxRetries 1");
    assert_eq!(log(&target.key).await.len(), 2);
}

#[wasm_bindgen_test]
async fn retries_then_resolve() {
    for provider in P::ALL {
        let target = provider.target("pending", 0).await;
        fault(&target.key, r#"[{"status":503},{"status":429}]"#).await;
        let client =
            provider.client(r#"{"retry":{"maxRetries":2,"initialDelayMs":10,"maxDelayMs":50}}"#);
        let value = resolves(client.get(&target.key), "503, 429, 200").await;
        target.assert_found(&value, "503, 429, 200");
        assert_eq!(log(&target.key).await.len(), 3, "{provider:?}");
    }
    // 502 and 504 too.
    let target = P::TokenIo.target("pending", 0).await;
    fault(&target.key, r#"[{"status":502},{"status":504}]"#).await;
    resolves(P::TokenIo.client("").get(&target.key), "502, 504, 200").await;
    assert_eq!(log(&target.key).await.len(), 3);
}

#[wasm_bindgen_test]
async fn retry_false_sends_one_request() {
    for provider in P::ALL {
        let target = provider.target("pending", 0).await;
        fault(&target.key, r#"[{"status":503,"times":2}]"#).await;
        let error = rejects(
            provider.client(r#"{"retry":false}"#).get(&target.key),
            "retry false",
        )
        .await;
        assert_error(&error, "provider_error", provider.name(), "retry false");
        assert_details(&error, 1, true, Some(503), "retry false");
        assert_eq!(log(&target.key).await.len(), 1, "{provider:?}");
    }
}

#[wasm_bindgen_test]
async fn permanent_failures_are_not_retried() {
    let client = P::TokenIo.client("");
    for fault_json in [
        r#"{"status":400}"#,
        r#"{"status":401}"#,
        r#"{"status":404}"#,
        r#"{"status":409}"#,
        r#"{"status":501}"#,
        r#"{"malformed":"html"}"#,
    ] {
        let target = P::TokenIo.target("pending", 0).await;
        fault(&target.key, &format!("[{fault_json},{fault_json}]")).await;
        let error = rejects(client.get(&target.key), fault_json).await;
        assert_eq!(number(&error, "attempts"), Some(1.0), "{fault_json}");
        assert_eq!(boolean(&error, "retryable"), Some(false), "{fault_json}");
        assert_eq!(log(&target.key).await.len(), 1, "{fault_json}");
    }
}

#[wasm_bindgen_test]
async fn provision_is_never_retried() {
    let client =
        P::Gr4vy.client(r#"{"retry":{"maxRetries":3,"initialDelayMs":10,"maxDelayMs":50}}"#);
    let params = r#"{"paymentServiceId":"svc-1","redirectUrl":"https://shop.example/r"}"#;

    let pm = uid("pm");
    fault_matching(
        &format!(r#"{{"id":{},"method":"POST"}}"#, quote(&pm)),
        r#"[{"status":503,"times":3}]"#,
    )
    .await;
    let error = rejects(provision(&client, &pm, params), "POST 503").await;
    assert_error(&error, "provider_error", "gr4vy", "POST 503");
    assert_details(&error, 1, true, Some(503), "POST 503");
    assert_eq!(log(&pm).await.len(), 1, "POST 503 sent once");

    // Browsers re-send a request once by themselves when a reused keep-alive connection closes
    // before any answer (Chromium does, even for a POST), so the drop is queued more than once;
    // the library itself must send once: one attempt, and no more than the browser's re-send.
    let pm = uid("pm");
    fault_matching(
        &format!(r#"{{"id":{},"method":"POST"}}"#, quote(&pm)),
        r#"[{"drop":true,"times":4}]"#,
    )
    .await;
    let error = rejects(provision(&client, &pm, params), "POST drop").await;
    assert_error(&error, "network", "gr4vy", "POST drop");
    assert_details(&error, 1, true, None, "POST drop");
    let sent = log(&pm).await.len();
    if in_browser() {
        assert!(sent <= 2, "POST drop sent {sent} times");
    } else {
        assert_eq!(sent, 1, "POST drop sent once");
    }

    let pm = uid("pm");
    fault_matching(
        &format!(r#"{{"id":{},"method":"POST"}}"#, quote(&pm)),
        r#"[{"delayMs":2000}]"#,
    )
    .await;
    let options = json(r#"{"timeoutMs":150}"#);
    let error = rejects(
        client.gr4vy().provision_payment_service_token(
            JsValue::from_str(&pm),
            json(params),
            options,
        ),
        "POST timeout",
    )
    .await;
    assert_error(&error, "timeout", "gr4vy", "POST timeout");
    assert_details(&error, 1, true, None, "POST timeout");
    assert_eq!(log(&pm).await.len(), 1, "POST timeout sent once");
}

#[wasm_bindgen_test]
async fn dropped_connections_are_network_errors_and_retried() {
    for provider in P::ALL {
        let key = uid("drop");
        // Browsers re-send a GET by themselves when a reused keep-alive connection closes
        // before any answer (Chromium once, Firefox up to several times), so the drop is queued
        // many times over; the library's own count is what `attempts` says.
        fault(&key, r#"[{"drop":true,"times":12}]"#).await;
        let error = rejects(provider.client(r#"{"retry":false}"#).get(&key), "drop").await;
        assert_error(&error, "network", provider.name(), "drop");
        assert_details(&error, 1, true, None, "drop");

        let target = provider.target("pending", 0).await;
        fault(&target.key, r#"[{"drop":true}]"#).await;
        let value = resolves(provider.client("").get(&target.key), "drop, then 200").await;
        target.assert_found(&value, "drop, then 200");
        assert!(log(&target.key).await.len() >= 2, "{provider:?}: retried");
    }
}

/// Milliseconds between two logged requests.
fn gap(entries: &[JsValue], i: usize) -> f64 {
    logged_at(&entries[i + 1]) - logged_at(&entries[i])
}

#[wasm_bindgen_test]
async fn retry_after_ms_is_honoured() {
    let client = P::TokenIo.client(r#"{"retry":{"initialDelayMs":10,"maxDelayMs":5000}}"#);
    for (status, wait) in [
        (503, 300.0),
        (429, 150.0),
        (500, 100.0),
        (502, 100.0),
        (504, 100.0),
    ] {
        let target = P::TokenIo.target("pending", 0).await;
        fault(
            &target.key,
            &format!(r#"[{{"status":{status},"retryAfterMs":{wait}}}]"#),
        )
        .await;
        let start = now();
        resolves(client.get(&target.key), "retry-after-ms").await;
        let elapsed = now() - start;
        assert!(
            elapsed >= wait - 10.0,
            "{status}: resolved after {elapsed} ms"
        );
        assert!(elapsed < wait + 2000.0, "{status}: took {elapsed} ms");
        let entries = log(&target.key).await;
        assert_eq!(entries.len(), 2);
        assert!(
            gap(&entries, 0) >= wait - 10.0,
            "{status}: retried after {} ms",
            gap(&entries, 0)
        );
    }
}

#[wasm_bindgen_test]
async fn retry_after_seconds_is_honoured() {
    let client = P::Gr4vy.client(r#"{"retry":{"initialDelayMs":10,"maxDelayMs":5000}}"#);
    let target = P::Gr4vy.target("pending", 0).await;
    fault(&target.key, r#"[{"status":503,"retryAfter":"1"}]"#).await;
    let start = now();
    resolves(client.get(&target.key), "Retry-After: 1").await;
    let elapsed = now() - start;
    assert!(elapsed >= 990.0, "resolved after {elapsed} ms");
    assert!(elapsed < 4000.0, "took {elapsed} ms");
    let entries = log(&target.key).await;
    assert_eq!(entries.len(), 2);
    assert!(
        gap(&entries, 0) >= 990.0,
        "retried after {} ms",
        gap(&entries, 0)
    );
}

#[wasm_bindgen_test]
async fn retry_after_http_date_is_honoured() {
    let client = P::TokenIo.client(r#"{"retry":{"initialDelayMs":10,"maxDelayMs":5000}}"#);
    let target = P::TokenIo.target("pending", 0).await;
    // Whole seconds: the date is between 0.5 and 1.5 s ahead.
    let at = js_sys::Date::new(&JsValue::from_f64(now() + 1500.0));
    let date = String::from(at.to_utc_string());
    fault(
        &target.key,
        &format!(r#"[{{"status":503,"retryAfter":{}}}]"#, quote(&date)),
    )
    .await;
    let start = now();
    resolves(client.get(&target.key), &date).await;
    let elapsed = now() - start;
    assert!(
        elapsed >= 400.0,
        "Retry-After {date}: resolved after {elapsed} ms"
    );
    assert!(elapsed < 5000.0, "Retry-After {date}: took {elapsed} ms");
    let entries = log(&target.key).await;
    assert_eq!(entries.len(), 2);
    assert!(
        gap(&entries, 0) >= 400.0,
        "retried after {} ms",
        gap(&entries, 0)
    );
}

#[wasm_bindgen_test]
async fn retry_after_is_capped_by_max_delay() {
    let client = P::TokenIo.client(r#"{"retry":{"initialDelayMs":10,"maxDelayMs":100}}"#);
    for hint in [r#""retryAfter":"30""#, r#""retryAfterMs":30000"#] {
        let target = P::TokenIo.target("pending", 0).await;
        fault(&target.key, &format!(r#"[{{"status":503,{hint}}}]"#)).await;
        let start = now();
        resolves(client.get(&target.key), hint).await;
        let elapsed = now() - start;
        assert!(elapsed < 1500.0, "{hint}: took {elapsed} ms");
        let entries = log(&target.key).await;
        assert_eq!(entries.len(), 2);
        assert!(
            gap(&entries, 0) >= 90.0,
            "{hint}: retried after {} ms",
            gap(&entries, 0)
        );
    }
}

#[wasm_bindgen_test]
async fn invalid_or_past_retry_after_is_ignored() {
    let client = P::TokenIo.client(r#"{"retry":{"initialDelayMs":10,"maxDelayMs":5000}}"#);
    for value in ["soon", "-5", "Wed, 21 Oct 2015 07:28:00 GMT"] {
        let target = P::TokenIo.target("pending", 0).await;
        fault(
            &target.key,
            &format!(r#"[{{"status":503,"retryAfter":{}}}]"#, quote(value)),
        )
        .await;
        let start = now();
        resolves(client.get(&target.key), value).await;
        let elapsed = now() - start;
        assert!(elapsed < 1000.0, "Retry-After {value}: took {elapsed} ms");
        assert_eq!(log(&target.key).await.len(), 2);
    }
}

#[wasm_bindgen_test]
async fn backoff_doubles_within_max_delay() {
    // Retry n waits between half and all of min(maxDelayMs, initialDelayMs * 2^(n-1)).
    let client =
        P::TokenIo.client(r#"{"retry":{"maxRetries":2,"initialDelayMs":160,"maxDelayMs":10000}}"#);
    let target = P::TokenIo.target("pending", 0).await;
    fault(&target.key, r#"[{"status":503,"times":2}]"#).await;
    resolves(client.get(&target.key), "backoff").await;
    let entries = log(&target.key).await;
    assert_eq!(entries.len(), 3);
    assert!(
        gap(&entries, 0) >= 75.0,
        "first retry after {} ms",
        gap(&entries, 0)
    );
    assert!(
        gap(&entries, 1) >= 155.0,
        "second retry after {} ms",
        gap(&entries, 1)
    );
    assert!(gap(&entries, 0) < 2000.0 && gap(&entries, 1) < 2000.0);

    let client =
        P::TokenIo.client(r#"{"retry":{"maxRetries":2,"initialDelayMs":20000,"maxDelayMs":80}}"#);
    let target = P::TokenIo.target("pending", 0).await;
    fault(&target.key, r#"[{"status":503,"times":2}]"#).await;
    let start = now();
    resolves(client.get(&target.key), "capped backoff").await;
    assert!(now() - start < 1500.0, "maxDelayMs caps the backoff");
    let entries = log(&target.key).await;
    assert_eq!(entries.len(), 3);
    assert!(gap(&entries, 0) >= 35.0 && gap(&entries, 1) >= 35.0);
}

// ---------------------------------------------------------------------------------------------
// Bad bodies

const MALFORMED: [&str; 8] = [
    "html",
    "truncated",
    "wrong_types",
    "empty",
    "not_json",
    "huge",
    "huge_declared",
    "huge_gzip",
];

async fn malformed_bodies(provider: P) {
    let target = provider.target("pending", 0).await;
    let client = provider.client("");
    for kind in MALFORMED {
        let what = format!("{provider:?} malformed {kind}");
        fault(
            &target.key,
            &format!(r#"[{{"malformed":{}}}]"#, quote(kind)),
        )
        .await;
        let error = rejects(client.get(&target.key), &what).await;
        assert_error(&error, "invalid_response", provider.name(), &what);
        assert_details(&error, 1, false, Some(200), &what);
        if kind.starts_with("huge") {
            // Cut off at 4 MiB, not read in full and then found wanting: a gzip body's
            // Content-Length counts compressed bytes and must not be trusted.
            let message = field(&error, "message").as_string().unwrap_or_default();
            assert!(message.contains("larger than 4 MiB"), "{what}: {message}");
        }
        // The same client (and module) keeps working.
        let value = resolves(
            client.get(&target.key),
            &format!("{what}, then a good answer"),
        )
        .await;
        target.assert_found(&value, &what);
    }
    // Each bad body was one attempt (checked above). Browsers may re-send a GET by themselves
    // when the connection a cut-off 5 MiB body left behind turns out dead, so the log may hold
    // one or two more there.
    let sent = log(&target.key).await.len();
    if in_browser() {
        assert!(
            (2 * MALFORMED.len()..=2 * MALFORMED.len() + 2).contains(&sent),
            "{provider:?}: {sent} requests"
        );
    } else {
        assert_eq!(sent, 2 * MALFORMED.len(), "{provider:?}");
    }
}

#[wasm_bindgen_test]
async fn truemed_malformed_bodies_are_invalid_responses() {
    malformed_bodies(P::Truemed).await;
}

#[wasm_bindgen_test]
async fn gr4vy_malformed_bodies_are_invalid_responses() {
    malformed_bodies(P::Gr4vy).await;
}

#[wasm_bindgen_test]
async fn tokenio_malformed_bodies_are_invalid_responses() {
    malformed_bodies(P::TokenIo).await;
}

#[wasm_bindgen_test]
async fn documented_json_is_required_whatever_the_content_type() {
    for (provider, body, valid) in [
        (P::TokenIo, r#"{"tokenId":"tt:1"}"#, false),
        (
            P::TokenIo,
            r#"{"status":"PROCESSED","signature":"sig"}"#,
            false,
        ),
        (P::TokenIo, r#"[{"status":"PENDING"}]"#, false),
        (P::Gr4vy, r#"{"items":[1]}"#, false),
        (P::Gr4vy, r#"{"items":[{"id":"x"}]}"#, false),
        (P::Gr4vy, r#"{"data":[]}"#, false),
        (P::Truemed, r#"{"payment_token":["x"]}"#, false),
        (P::Truemed, r#""tm_pt_1""#, false),
        // Valid JSON under a misleading content-type is still read.
        (
            P::Truemed,
            r#"{"payment_token":"tm_pt_ct","metadata":null}"#,
            true,
        ),
        (
            P::TokenIo,
            r#"{"status":"PROCESSED","tokenId":"tt:ct"}"#,
            true,
        ),
    ] {
        let what = format!("{provider:?} {body}");
        let key = uid("body");
        fault(
            &key,
            &format!(
                r#"[{{"status":200,"contentType":"text/html","body":{}}}]"#,
                quote(body)
            ),
        )
        .await;
        let outcome = settle(provider.client("").get(&key)).await;
        if valid {
            let status = outcome.unwrap_or_else(|e| panic!("{what}: {}", describe(&e)));
            assert_state(&status, "succeeded", true, &what);
            assert!(
                text(&status, "token").unwrap_or_default().ends_with("ct"),
                "{what}"
            );
        } else {
            let error = outcome.expect_err(&what);
            assert_error(&error, "invalid_response", provider.name(), &what);
            assert_details(&error, 1, false, Some(200), &what);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Timeouts and cancellation

#[wasm_bindgen_test]
async fn a_slow_attempt_times_out() {
    let target = P::TokenIo.target("pending", 0).await;
    fault(&target.key, r#"[{"delayMs":2000}]"#).await;
    let client = P::TokenIo.client(r#"{"timeoutMs":200,"retry":false}"#);
    let start = now();
    let error = rejects(client.get(&target.key), "timeout").await;
    let elapsed = now() - start;
    assert_error(&error, "timeout", "tokenio", "timeout");
    assert_details(&error, 1, true, None, "timeout");
    assert!(elapsed >= 190.0, "timed out after {elapsed} ms");
    assert!(elapsed < 1000.0, "timed out after {elapsed} ms");
    resolves(client.get(&target.key), "after a timeout").await;
}

#[wasm_bindgen_test]
async fn per_call_timeout_overrides_the_client() {
    let target = P::Truemed.target("pending", 0).await;
    fault(&target.key, r#"[{"delayMs":2000}]"#).await;
    let client = P::Truemed.client(r#"{"timeoutMs":30000,"retry":false}"#);
    let start = now();
    let error = rejects(
        client.lookup(
            &JsValue::from_str(&target.key),
            &json(r#"{"timeoutMs":150}"#),
        ),
        "shorter call timeout",
    )
    .await;
    let elapsed = now() - start;
    assert_error(&error, "timeout", "truemed", "shorter call timeout");
    assert!((140.0..1000.0).contains(&elapsed), "{elapsed} ms");

    fault(&target.key, r#"[{"delayMs":300}]"#).await;
    let client = P::Truemed.client(r#"{"timeoutMs":100,"retry":false}"#);
    let start = now();
    resolves(
        client.lookup(
            &JsValue::from_str(&target.key),
            &json(r#"{"timeoutMs":5000}"#),
        ),
        "longer call timeout",
    )
    .await;
    assert!(now() - start >= 290.0);
}

#[wasm_bindgen_test]
async fn timed_out_gets_are_retried() {
    for provider in P::ALL {
        let target = provider.target("pending", 0).await;
        fault(&target.key, r#"[{"delayMs":2000}]"#).await;
        let client = provider.client(
            r#"{"timeoutMs":200,"retry":{"maxRetries":2,"initialDelayMs":10,"maxDelayMs":50}}"#,
        );
        let start = now();
        let value = resolves(client.get(&target.key), "timeout, then 200").await;
        target.assert_found(&value, "timeout, then 200");
        assert!(now() - start < 1500.0);
        assert_eq!(log(&target.key).await.len(), 2, "{provider:?}");

        let key = uid("slow");
        fault(&key, r#"[{"delayMs":2000,"times":3}]"#).await;
        let error = rejects(client.get(&key), "three timeouts").await;
        assert_error(&error, "timeout", provider.name(), "three timeouts");
        assert_details(&error, 3, true, None, "three timeouts");
    }
}

#[wasm_bindgen_test]
async fn abort_before_the_call_sends_nothing() {
    let controller = AbortController::new().unwrap();
    controller.abort();
    let signal = controller.signal();
    for provider in P::ALL {
        let client = provider.client("");
        let key = uid("aborted");
        let options = call_options("", Some(&signal));
        let error = rejects(
            client.lookup(&JsValue::from_str(&key), &options),
            "pre-aborted",
        )
        .await;
        assert_error(&error, "aborted", provider.name(), "pre-aborted");
        assert_details(&error, 0, false, None, "pre-aborted");
        if provider == P::Gr4vy {
            let error = rejects(
                client.gr4vy().provision_payment_service_token(
                    JsValue::from_str(&key),
                    json(r#"{"paymentServiceId":"svc","redirectUrl":"https://x.example"}"#),
                    options.clone(),
                ),
                "pre-aborted provision",
            )
            .await;
            assert_error(&error, "aborted", "gr4vy", "pre-aborted provision");
        }
        assert!(log(&key).await.is_empty(), "{provider:?}: sent after abort");
    }
}

#[wasm_bindgen_test]
async fn abort_during_a_request() {
    for provider in P::ALL {
        let target = provider.target("pending", 0).await;
        fault(&target.key, r#"[{"delayMs":3000}]"#).await;
        let client = provider.client("");
        let controller = AbortController::new().unwrap();
        let pending = client.lookup(
            &JsValue::from_str(&target.key),
            &call_options("", Some(&controller.signal())),
        );
        // Abort once the request is at the simulator (held there by the delay).
        wait_for_log(&target.key, 1).await;
        sleep(20.0).await;
        let start = now();
        controller.abort();
        let error = rejects(pending, "aborted mid-request").await;
        let elapsed = now() - start;
        assert_error(&error, "aborted", provider.name(), "aborted mid-request");
        assert_eq!(boolean(&error, "retryable"), Some(false));
        assert!(
            elapsed < 1000.0,
            "{provider:?}: rejected {elapsed} ms after abort"
        );
        assert_eq!(log(&target.key).await.len(), 1, "{provider:?}: not retried");
        // The client still works.
        let value = resolves(client.get(&target.key), "after abort").await;
        target.assert_found(&value, "after abort");
    }
}

#[wasm_bindgen_test]
async fn abort_during_a_retry_delay() {
    let target = P::TokenIo.target("pending", 0).await;
    fault(&target.key, r#"[{"status":503,"retryAfterMs":3000}]"#).await;
    let client = P::TokenIo.client(r#"{"retry":{"initialDelayMs":10,"maxDelayMs":10000}}"#);
    let controller = AbortController::new().unwrap();
    let pending = client.lookup(
        &JsValue::from_str(&target.key),
        &call_options("", Some(&controller.signal())),
    );
    // Abort once the 503 was answered: the client is in its 3 s retry delay.
    wait_for_log(&target.key, 1).await;
    sleep(50.0).await;
    let start = now();
    controller.abort();
    let error = rejects(pending, "aborted while waiting to retry").await;
    assert!(now() - start < 1000.0);
    assert_error(&error, "aborted", "tokenio", "aborted in backoff");
    assert_eq!(log(&target.key).await.len(), 1, "no retry after abort");
}

#[wasm_bindgen_test]
async fn abort_while_waiting_for_the_bearer_token() {
    // A token refresh that takes 3 s; the caller aborts after 50 ms.
    let bearer = function(|| Ok(delayed(3000.0, &JsValue::from_str(TOKENIO_BEARER)).into()));
    let client = P::TokenIo
        .try_client(&with_bearer_function(P::TokenIo, &bearer))
        .unwrap_or_else(|e| panic!("{}", describe(&e)));
    let key = tokenio_id();
    let controller = AbortController::new().unwrap();
    let pending = client.lookup(
        &JsValue::from_str(&key),
        &call_options("", Some(&controller.signal())),
    );
    sleep(50.0).await;
    let start = now();
    controller.abort();
    let error = rejects(pending, "aborted during bearerToken").await;
    let elapsed = now() - start;
    assert_error(&error, "aborted", "tokenio", "aborted during bearerToken");
    assert_details(&error, 0, false, None, "aborted during bearerToken");
    assert!(elapsed < 1000.0, "rejected {elapsed} ms after the abort");
    assert!(
        log(&key).await.is_empty(),
        "a request was sent after the abort"
    );
}

#[wasm_bindgen_test]
async fn a_bearer_token_that_never_arrives_times_out() {
    // A token refresh whose promise never settles: the attempt's timeoutMs bounds it.
    let bearer = function(|| Ok(Promise::new(&mut |_, _| {}).into()));
    let options = with_bearer_function(P::TokenIo, &bearer);
    set(&options, "timeoutMs", &JsValue::from_f64(200.0));
    set(&options, "retry", &JsValue::FALSE);
    let client = P::TokenIo
        .try_client(&options)
        .unwrap_or_else(|e| panic!("{}", describe(&e)));
    let key = tokenio_id();
    let start = now();
    let error = rejects(
        client.lookup(&JsValue::from_str(&key), &JsValue::UNDEFINED),
        "hanging bearerToken",
    )
    .await;
    let elapsed = now() - start;
    assert_error(&error, "timeout", "tokenio", "hanging bearerToken");
    assert_details(&error, 0, true, None, "hanging bearerToken");
    assert!(
        (150.0..1500.0).contains(&elapsed),
        "rejected after {elapsed} ms"
    );
    assert!(
        log(&key).await.is_empty(),
        "a request was sent without a token"
    );
}

// ---------------------------------------------------------------------------------------------
// Options

#[wasm_bindgen_test]
async fn absent_or_empty_call_options_take_the_defaults() {
    for provider in P::ALL {
        let client = provider.client("");
        let target = provider.target("pending", 0).await;
        for options in [JsValue::NULL, json("{}"), json(r#"{"timeoutMs":5000}"#)] {
            let what = format!("{provider:?} call options {}", stringify(&options));
            let value = resolves(
                client.lookup(&JsValue::from_str(&target.key), &options),
                &what,
            )
            .await;
            target.assert_found(&value, &what);
        }
    }
}

#[wasm_bindgen_test]
async fn no_credential_sends_no_authorization() {
    let base = |provider: P| format!(r#"{{"baseUrl":{}}}"#, quote(&provider.base_url()));
    // No credential: fine everywhere, and the provider (or the proxy) decides.
    let client = P::TokenIo
        .try_client(&json(&base(P::TokenIo)))
        .unwrap_or_else(|e| panic!("no credential: {}", describe(&e)));
    let target = P::TokenIo.target("pending", 0).await;
    let error = rejects(client.get(&target.key), "no credential").await;
    assert_error(&error, "unauthorized", "tokenio", "no credential");
    assert_details(&error, 1, false, Some(401), "no credential");
    assert_eq!(
        logged_header(&log(&target.key).await[0], "authorization"),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// Secrets never reach error messages

/// Every piece of text a caller could see or log from an error.
fn error_texts(error: &JsValue) -> String {
    let mut out = String::new();
    for key in [
        "message", "stack", "name", "kind", "provider", "code", "traceId",
    ] {
        out.push_str(&text(error, key).unwrap_or_default());
        out.push('\n');
    }
    for key in [
        "status",
        "retryable",
        "external",
        "attempts",
        "lastStatus",
        "cause",
    ] {
        out.push_str(&stringify(&field(error, key)));
        out.push('\n');
    }
    out.push_str(&stringify(error));
    out.push('\n');
    out.push_str(&String::from(error.unchecked_ref::<Object>().to_string()));
    out
}

fn assert_redacted(error: &JsValue, secret: &str, carried: &str, what: &str) {
    let all = error_texts(error);
    assert!(
        !all.contains(secret),
        "{what}: the credential leaked: {all}"
    );
    assert!(
        text(error, "message").unwrap_or_default().contains(carried),
        "{what}: the provider's message is not carried: {}",
        describe(error)
    );
}

#[wasm_bindgen_test]
async fn echoed_credentials_are_redacted() {
    // Token.io basicCredentials echoed in a 401 message and trace id, and in a 403 code.
    let secret = "c2VjcmV0LXZhbHVlLTEyMzQ1";
    let client = P::TokenIo.client(&format!(
        r#"{{"basicCredentials":{},"retry":false}}"#,
        quote(secret)
    ));
    let key = tokenio_id();
    fault(
        &key,
        &format!(
            r#"[{{"status":401,"body":{{"error":{{"message":"bad credential {secret}","tokenTraceId":"trace-{secret}"}}}}}},{{"status":403,"body":{{"error":{{"errorCode":"DENIED_{secret}","message":"Basic {secret} is not allowed","tokenTraceId":"t2"}}}}}}]"#
        ),
    )
    .await;
    let error = rejects(client.get(&key), "tokenio 401 echo").await;
    assert_error(&error, "unauthorized", "tokenio", "tokenio 401 echo");
    assert_redacted(&error, secret, "bad credential", "tokenio 401 echo");
    let error = rejects(client.get(&key), "tokenio 403 echo").await;
    assert_error(&error, "unauthorized", "tokenio", "tokenio 403 echo");
    assert_redacted(&error, secret, "is not allowed", "tokenio 403 echo");
    assert_eq!(
        logged_header(&log(&key).await[0], "authorization"),
        Some(format!("Basic {secret}")),
        "the credential itself was sent"
    );
    // The same credential echoed as the provider decoded it (base64 of "secret-value-12345").
    let decoded = "secret-value-12345";
    let key = tokenio_id();
    fault(
        &key,
        &format!(
            r#"[{{"status":401,"body":{{"error":{{"message":"user {decoded} is not known","tokenTraceId":"t3"}}}}}}]"#
        ),
    )
    .await;
    let error = rejects(client.get(&key), "tokenio decoded echo").await;
    assert_redacted(&error, decoded, "is not known", "tokenio decoded echo");

    // Truemed apiKey echoed in a 500.
    let secret = "tm-secret-key-98765";
    let client = P::Truemed.client(&format!(r#"{{"apiKey":{},"retry":false}}"#, quote(secret)));
    let key = uid("ptr");
    fault(
        &key,
        &format!(
            r#"[{{"status":500,"body":{{"error":"internal","message":"api key {secret} failed upstream"}}}}]"#
        ),
    )
    .await;
    let error = rejects(client.get(&key), "truemed 500 echo").await;
    assert_error(&error, "provider_error", "truemed", "truemed 500 echo");
    assert_redacted(&error, secret, "failed upstream", "truemed 500 echo");

    // A Gr4vy bearerToken function's token echoed in a 403.
    let secret = "jwt.secret-abcdef.777";
    let options = with_bearer_function(P::Gr4vy, &function(move || Ok(JsValue::from_str(secret))));
    set(&options, "retry", &JsValue::FALSE);
    let client = P::Gr4vy
        .try_client(&options)
        .unwrap_or_else(|e| panic!("{}", describe(&e)));
    let pm = uid("pm");
    fault(
        &pm,
        &format!(
            r#"[{{"status":403,"body":{{"type":"error","code":"forbidden","status":403,"message":"token {secret} lacks the scope","details":[]}}}}]"#
        ),
    )
    .await;
    let error = rejects(client.get(&pm), "gr4vy 403 echo").await;
    assert_error(&error, "unauthorized", "gr4vy", "gr4vy 403 echo");
    assert_redacted(&error, secret, "lacks the scope", "gr4vy 403 echo");

    // A credential given as a header.
    let secret = "hdr-secret-token-777";
    let client = P::TokenIo.client(&format!(
        r#"{{"basicCredentials":null,"headers":{{"Authorization":"Bearer {secret}"}},"retry":false}}"#
    ));
    let key = tokenio_id();
    fault(
        &key,
        &format!(
            r#"[{{"status":401,"body":{{"error":{{"message":"token {secret} expired","tokenTraceId":"t"}}}}}}]"#
        ),
    )
    .await;
    let error = rejects(client.get(&key), "header credential echo").await;
    assert_redacted(&error, secret, "expired", "header credential echo");
}

// ---------------------------------------------------------------------------------------------
// Plain data

fn assert_plain(value: &JsValue, what: &str) {
    let object_prototype = Reflect::get_prototype_of(&Object::new()).unwrap();
    let prototype = Reflect::get_prototype_of(value).unwrap();
    assert!(
        JsValue::from(prototype) == JsValue::from(object_prototype),
        "{what}: prototype is not Object.prototype"
    );
    let round: JsValue = JSON::parse(&stringify(value)).unwrap();
    assert_eq!(keys(value), keys(&round), "{what}: keys after JSON");
    assert_eq!(
        stringify(value),
        stringify(&round),
        "{what}: values after JSON"
    );
    for key in keys(value) {
        let member = field(value, &key);
        assert!(
            !member.is_undefined() && !member.is_function() && !member.is_symbol(),
            "{what}: {key} is not data"
        );
        if member.is_object() {
            assert_plain(&member, &format!("{what}.{key}"));
        } else {
            assert!(
                member == field(&round, &key),
                "{what}: {key} changed after JSON"
            );
        }
    }
    let structured_clone = field(&js_sys::global(), "structuredClone");
    if let Some(clone) = structured_clone.dyn_ref::<Function>() {
        let copy = clone
            .call1(&JsValue::UNDEFINED, value)
            .unwrap_or_else(|e| panic!("{what}: structuredClone failed: {}", describe(&e)));
        assert_eq!(
            stringify(value),
            stringify(&copy),
            "{what}: structuredClone"
        );
    }
}

#[wasm_bindgen_test]
async fn statuses_are_plain_data() {
    let target = P::TokenIo.target("succeeded", 0).await;
    let status = resolves(P::TokenIo.client("").get(&target.key), "tokenio").await;
    assert!(field(&status, "signature").is_object());
    assert_plain(&status, "tokenio status");

    let target = P::Gr4vy.target("action_required", 0).await;
    let list = resolves(P::Gr4vy.client("").get(&target.key), "gr4vy").await;
    assert!(Array::is_array(&list));
    assert_plain(&Array::from(&list).get(0), "gr4vy status");

    let target = P::Truemed.target("succeeded", 0).await;
    let status = resolves(P::Truemed.client("").get(&target.key), "truemed").await;
    assert_plain(&status, "truemed status");
}

// ---------------------------------------------------------------------------------------------
// The registered error class

#[wasm_bindgen(
    inline_js = "export class TestError extends Error { constructor(m, f) { super(m); Object.assign(this, f); } }
Object.defineProperty(TestError.prototype, 'name', { value: 'TokenStatusError', writable: true, configurable: true });
export function testErrorClass() { return TestError; }"
)]
extern "C" {
    #[wasm_bindgen(js_name = testErrorClass)]
    fn test_error_class() -> Function;
}

#[wasm_bindgen_test]
async fn registered_error_class_is_used() {
    let class = test_error_class();
    token_status::js::set_error_class(class.clone());

    let error = rejects(P::TokenIo.client("").get(""), "empty id").await;
    assert!(
        instance_of(&error, &class),
        "rejection is not the registered class"
    );
    assert_error(&error, "invalid_argument", "tokenio", "registered class");

    let key = tokenio_id();
    fault(&key, r#"[{"status":404}]"#).await;
    let error = rejects(P::TokenIo.client("").get(&key), "404").await;
    assert!(
        instance_of(&error, &class),
        "HTTP error is not the registered class"
    );
    assert_error(&error, "not_found", "tokenio", "registered class 404");
    assert_details(&error, 1, false, Some(404), "registered class 404");
}

// ---------------------------------------------------------------------------------------------
// Waiting for a final status

/// Fast polling for waits.
const FAST_WAIT: &str = r#"{"intervalMs":20,"maxIntervalMs":40,"deadlineMs":5000}"#;

/// Wait options: `json` plus an `onUpdate` that records each reported status.
fn recording_wait_options(json_options: &str) -> (JsValue, Rc<std::cell::RefCell<Vec<JsValue>>>) {
    let seen = Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = seen.clone();
    let on_update = Closure::<dyn FnMut(JsValue)>::new(move |status: JsValue| {
        sink.borrow_mut().push(status);
    })
    .into_js_value();
    let options = merge(json_options, "{}");
    set(&options, "onUpdate", &on_update);
    (options, seen)
}

#[wasm_bindgen_test]
async fn waits_resolve_on_every_terminal_state() {
    for (provider, outcome, state) in [
        (P::Truemed, "succeeded", "succeeded"),
        (P::Gr4vy, "succeeded", "succeeded"),
        (P::Gr4vy, "failed", "failed"),
        (P::TokenIo, "succeeded", "succeeded"),
        (P::TokenIo, "rejected", "failed"),
        (P::TokenIo, "expired", "expired"),
    ] {
        let what = format!("{provider:?} wait {outcome}");
        let target = provider.target(outcome, 2).await;
        let client = provider.client("");
        let status = resolves(client.wait_for(&target, &json(FAST_WAIT)), &what).await;
        assert_state(&status, state, true, &what);
        let id = if provider == P::Gr4vy {
            &target.flow_id
        } else {
            &target.key
        };
        assert_member(&status, "id", Some(id), &what);
        assert_eq!(
            log(&target.key).await.len(),
            3,
            "{what}: two pending polls, then final"
        );
    }
}

#[wasm_bindgen_test]
async fn wait_reports_only_changes() {
    let id = tokenio_id();
    create_flow(&format!(
        r#"{{"provider":"tokenio","id":{},"steps":[{{"status":"PENDING","polls":3}},{{"status":"ON_HOLD","polls":2}},{{"status":"PROCESSED"}}]}}"#,
        quote(&id)
    ))
    .await;
    let (options, seen) = recording_wait_options(FAST_WAIT);
    let status = resolves(
        P::TokenIo.client("").get_wait(&id, &options),
        "wait with onUpdate",
    )
    .await;
    assert_state(&status, "succeeded", true, "wait with onUpdate");
    let reported: Vec<(Option<String>, Option<String>)> = seen
        .borrow()
        .iter()
        .map(|s| (text(s, "state"), text(s, "providerStatus")))
        .collect();
    let expected = [
        ("pending", "PENDING"),
        ("unknown", "ON_HOLD"),
        ("succeeded", "PROCESSED"),
    ]
    .map(|(s, p)| (Some(s.to_owned()), Some(p.to_owned())));
    assert_eq!(reported, expected);
    assert_eq!(log(&id).await.len(), 6);

    // A callback that throws does not break the wait.
    let target = P::TokenIo.target("succeeded", 1).await;
    let options = json(FAST_WAIT);
    set(
        &options,
        "onUpdate",
        &function(|| Err(js_sys::Error::new("callback bug").into())),
    );
    let status = resolves(
        P::TokenIo.client("").get_wait(&target.key, &options),
        "throwing onUpdate",
    )
    .await;
    assert_state(&status, "succeeded", true, "throwing onUpdate");
}

#[wasm_bindgen_test]
async fn wait_keeps_polling_through_action_required() {
    let target = P::Gr4vy.target("action_required", 0).await;
    let client = P::Gr4vy.client("");
    let (options, seen) = recording_wait_options(FAST_WAIT);
    let waiting = client.wait_for(&target, &options);
    sleep(200.0).await;
    let (status, body) = sim_request(
        "POST",
        &format!(
            "/_sim/approve/{}",
            String::from(js_sys::encode_uri_component(&target.flow_id))
        ),
        None,
    )
    .await;
    assert_eq!(status, 200, "approve: {body}");
    let done = resolves(waiting, "approved while waiting").await;
    assert_state(&done, "succeeded", true, "approved while waiting");
    let states: Vec<String> = seen
        .borrow()
        .iter()
        .filter_map(|s| text(s, "state"))
        .collect();
    assert_eq!(states, ["action_required", "succeeded"]);
    assert!(
        log(&target.key).await.len() >= 3,
        "kept polling while action_required"
    );
}

#[wasm_bindgen_test]
async fn wait_deadline_rejects_with_timeout() {
    // Still pending at the deadline: lastStatus is the last status.
    let target = P::TokenIo.target("pending", 0).await;
    let client = P::TokenIo.client("");
    let start = now();
    let error = rejects(
        client.wait_for(
            &target,
            &json(r#"{"intervalMs":20,"maxIntervalMs":40,"deadlineMs":300}"#),
        ),
        "pending past the deadline",
    )
    .await;
    let elapsed = now() - start;
    assert_error(&error, "timeout", "tokenio", "wait deadline");
    assert_eq!(boolean(&error, "retryable"), Some(true));
    assert!((290.0..2000.0).contains(&elapsed), "{elapsed} ms");
    let last = field(&error, "lastStatus");
    assert_state(&last, "pending", false, "lastStatus");
    assert_member(&last, "id", Some(&target.key), "lastStatus");
    let sent = log(&target.key).await.len();
    assert!(sent >= 2, "polled {sent} times");
    assert_eq!(
        number(&error, "attempts"),
        Some(sent as f64),
        "attempts = requests sent"
    );

    // Never a status, only 503s: lastStatus null, the last failure as cause.
    let key = tokenio_id();
    fault(&key, r#"[{"status":503,"times":200}]"#).await;
    let error = rejects(
        client.wait_for(
            &Target {
                provider: P::TokenIo,
                key: key.clone(),
                flow_id: key.clone(),
            },
            &json(r#"{"intervalMs":20,"maxIntervalMs":40,"deadlineMs":300}"#),
        ),
        "503s past the deadline",
    )
    .await;
    assert_error(&error, "timeout", "tokenio", "503s past the deadline");
    assert_eq!(boolean(&error, "retryable"), Some(true));
    assert!(
        field(&error, "lastStatus").is_null(),
        "{}",
        describe(&error)
    );
    let cause = field(&error, "cause");
    assert_error(&cause, "provider_error", "tokenio", "cause");
    assert_eq!(number(&cause, "status"), Some(503.0));
}

#[wasm_bindgen_test]
async fn wait_rides_out_transient_failures() {
    let target = P::Truemed.target("succeeded", 1).await;
    fault(
        &target.key,
        r#"[{"status":503},{"drop":true},{"status":429},{"status":502}]"#,
    )
    .await;
    let client = P::Truemed.client(r#"{"retry":false}"#);
    let status = resolves(
        client.wait_for(&target, &json(FAST_WAIT)),
        "transient failures",
    )
    .await;
    assert_state(&status, "succeeded", true, "transient failures");
    assert!(log(&target.key).await.len() >= 6);
}

#[wasm_bindgen_test]
async fn wait_stops_at_once_on_permanent_failures() {
    let client = P::TokenIo.client("");
    let key = tokenio_id();
    let start = now();
    let error = rejects(
        client.get_wait(&key, &json(r#"{"intervalMs":20,"deadlineMs":5000}"#)),
        "unknown id",
    )
    .await;
    assert!(now() - start < 1000.0);
    assert_error(&error, "not_found", "tokenio", "wait unknown id");
    assert_details(&error, 1, false, Some(404), "wait unknown id");

    // A permanent failure after a status keeps that status.
    let target = P::TokenIo.target("pending", 0).await;
    fault(&target.key, r#"[{"delayMs":0},{"status":403}]"#).await;
    let error = rejects(
        client.wait_for(&target, &json(FAST_WAIT)),
        "403 after pending",
    )
    .await;
    assert_error(&error, "unauthorized", "tokenio", "403 after pending");
    assert_details(&error, 2, false, Some(403), "403 after pending");
    assert_state(&field(&error, "lastStatus"), "pending", false, "lastStatus");
}

#[wasm_bindgen_test]
async fn wait_deadline_bounds_a_retry_delay() {
    let target = P::TokenIo.target("pending", 0).await;
    fault(&target.key, r#"[{"status":503,"retryAfterMs":5000}]"#).await;
    let client = P::TokenIo.client(r#"{"retry":{"initialDelayMs":10,"maxDelayMs":10000}}"#);
    let start = now();
    let error = rejects(
        client.wait_for(&target, &json(r#"{"intervalMs":20,"deadlineMs":400}"#)),
        "Retry-After past the deadline",
    )
    .await;
    let elapsed = now() - start;
    assert_error(
        &error,
        "timeout",
        "tokenio",
        "Retry-After past the deadline",
    );
    assert!((390.0..1500.0).contains(&elapsed), "{elapsed} ms");
    assert!(field(&error, "lastStatus").is_null());
    assert_eq!(number(&field(&error, "cause"), "status"), Some(503.0));
    assert_eq!(log(&target.key).await.len(), 1);
}

#[wasm_bindgen_test]
async fn wait_deadline_bounds_a_slow_request() {
    let target = P::Truemed.target("pending", 0).await;
    fault(&target.key, r#"[{"delayMs":3000}]"#).await;
    let start = now();
    let error = rejects(
        P::Truemed
            .client(r#"{"timeoutMs":30000}"#)
            .wait_for(&target, &json(r#"{"intervalMs":20,"deadlineMs":300}"#)),
        "slow request past the deadline",
    )
    .await;
    let elapsed = now() - start;
    assert_error(&error, "timeout", "truemed", "slow request");
    assert!((290.0..1500.0).contains(&elapsed), "{elapsed} ms");
}

#[wasm_bindgen_test]
async fn wait_abort_stops_polling() {
    for provider in P::ALL {
        let target = provider.target("pending", 0).await;
        let controller = AbortController::new().unwrap();
        let options = merge(FAST_WAIT, "{}");
        set(&options, "signal", &controller.signal());
        let waiting = provider.client("").wait_for(&target, &options);
        wait_for_log(&target.key, 2).await;
        let start = now();
        controller.abort();
        let error = rejects(waiting, "aborted wait").await;
        assert!(now() - start < 1000.0);
        assert_error(&error, "aborted", provider.name(), "aborted wait");
        // A poll in flight at the abort may or may not have reached the simulator (in a
        // browser it can still be in its CORS preflight): attempts counts it either way.
        sleep(50.0).await;
        let sent = log(&target.key).await.len();
        let attempts = number(&error, "attempts").unwrap_or(-1.0);
        assert!(
            attempts == sent as f64 || attempts == sent as f64 + 1.0,
            "{provider:?}: attempts {attempts}, {sent} requests logged"
        );
        sleep(150.0).await;
        assert_eq!(
            log(&target.key).await.len(),
            sent,
            "{provider:?}: polled after abort"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Statuses learned elsewhere (webhooks, notify) reach waits in flight

/// Polls until `seen` holds `n` statuses (at most 3 s).
async fn seen_at_least(seen: &Rc<std::cell::RefCell<Vec<JsValue>>>, n: usize, what: &str) {
    let start = now();
    while seen.borrow().len() < n {
        assert!(now() - start < 3000.0, "{what}: {n} updates never came");
        sleep(10.0).await;
    }
}

#[wasm_bindgen_test]
async fn notify_reports_to_and_ends_waits_at_once() {
    for provider in P::ALL {
        let what = format!("{provider:?}");
        let target = provider.target("pending", 0).await;
        let client = provider.client("");
        // Polls a minute apart: only a notify can end this wait within the test.
        let (options, seen) = recording_wait_options(
            r#"{"intervalMs":60000,"maxIntervalMs":60000,"deadlineMs":120000}"#,
        );
        let waiting = client.wait_for(&target, &options);
        seen_at_least(&seen, 1, &what).await;
        let first = seen.borrow()[0].clone();
        assert_state(&first, "pending", false, &what);

        // Not terminal: reported through onUpdate, and the wait goes on.
        let changed = json(&stringify(&first));
        set(&changed, "state", &JsValue::from_str("unknown"));
        set(&changed, "providerStatus", &JsValue::from_str("ON_HOLD"));
        assert_eq!(client.notify(&changed), 1, "{what}: reached");
        seen_at_least(&seen, 2, &what).await;
        assert_state(&seen.borrow()[1], "unknown", false, &what);

        // Terminal: the wait resolves with it at once, without another poll.
        let done = json(&stringify(&first));
        set(&done, "state", &JsValue::from_str("succeeded"));
        set(&done, "token", &JsValue::from_str("tok-from-notify"));
        let started = now();
        assert_eq!(client.notify(&done), 1, "{what}: reached");
        let resolved = resolves(waiting, &what).await;
        assert!(
            now() - started < 1000.0,
            "{what}: took {} ms",
            now() - started
        );
        assert_state(&resolved, "succeeded", true, &what);
        assert_member(&resolved, "token", Some("tok-from-notify"), &what);
        assert_eq!(log(&target.key).await.len(), 1, "{what}: polled only once");
        assert_eq!(
            seen.borrow().len(),
            3,
            "{what}: the terminal status was reported"
        );

        // A finished wait is no longer reached, nor is another id or provider.
        assert_eq!(client.notify(&done), 0, "{what}: after the wait");
    }
    let target = P::TokenIo.target("pending", 0).await;
    let client = P::TokenIo.client("");
    let waiting = client.wait_for(
        &target,
        &json(r#"{"intervalMs":60000,"maxIntervalMs":60000,"deadlineMs":2000}"#),
    );
    sleep(100.0).await;
    let foreign = json(&format!(
        r#"{{"provider":"truemed","id":{},"state":"succeeded"}}"#,
        quote(&target.key)
    ));
    assert_eq!(client.notify(&foreign), 0, "another provider's status");
    let other = json(r#"{"provider":"tokenio","id":"rq:other:1","state":"succeeded"}"#);
    assert_eq!(client.notify(&other), 0, "another id");
    assert_eq!(
        client.notify(&json(r#"{"state":"succeeded"}"#)),
        0,
        "not a status"
    );
    let error = rejects(waiting, "still waiting").await;
    assert_error(&error, "timeout", "tokenio", "the wait ran out untouched");
}

// ---------------------------------------------------------------------------------------------
// At scale: identical reads in flight share one request; Gr4vy waits share each round's list

/// Lookups of `target` on `client`, started together, each with its own call options; their
/// outcomes are watched from the start (so that an early rejection is handled at once).
fn lookups(client: &Client, target: &Target, options: &[JsValue]) -> Vec<Watched> {
    options
        .iter()
        .map(|o| Watched::new(client.lookup(&JsValue::from_str(&target.key), o)))
        .collect()
}

/// A promise whose outcome is observed from the moment it exists.
struct Watched(wasm_bindgen_futures::JsFuture);

impl Watched {
    fn new(promise: Promise) -> Watched {
        Watched(wasm_bindgen_futures::JsFuture::from(promise))
    }

    async fn resolves(self, what: &str) -> JsValue {
        self.0
            .await
            .unwrap_or_else(|e| panic!("{what}: expected success, got {}", describe(&e)))
    }

    async fn rejects(self, what: &str) -> JsValue {
        match self.0.await {
            Ok(value) => panic!("{what}: expected a rejection, got {}", stringify(&value)),
            Err(error) => error,
        }
    }
}

#[wasm_bindgen_test]
async fn identical_concurrent_reads_share_one_request_and_each_caller_gets_its_own_copy() {
    for provider in P::ALL {
        let target = provider.target("pending", 0).await;
        // The answer is held 300 ms, so that the five calls overlap.
        fault(&target.key, r#"[{"delayMs":300}]"#).await;
        let client = provider.client("");
        let calls = lookups(&client, &target, &vec![JsValue::UNDEFINED; 5]);
        let mut values = Vec::new();
        for call in calls {
            values.push(call.resolves("shared read").await);
        }
        assert_eq!(log(&target.key).await.len(), 1, "{provider:?}: one request");
        let statuses: Vec<JsValue> = values
            .iter()
            .map(|v| target.assert_found(v, "shared read"))
            .collect();
        // Each caller has its own object: changing one changes no other.
        set(&statuses[0], "state", &JsValue::from_str("mine"));
        for status in &statuses[1..] {
            assert_state(status, "pending", false, "an untouched copy");
            assert!(!Object::is(status, &statuses[0]));
        }
        // Once answered, the next read sends its own request.
        resolves(client.get(&target.key), "a later read").await;
        assert_eq!(log(&target.key).await.len(), 2, "{provider:?}");
    }
}

#[wasm_bindgen_test]
async fn a_caller_aborting_or_timing_out_never_fails_the_others() {
    for provider in P::ALL {
        let target = provider.target("pending", 0).await;
        fault(&target.key, r#"[{"delayMs":600}]"#).await;
        let client = provider.client(r#"{"retry":false}"#);
        let controller = AbortController::new().unwrap();
        let calls = lookups(
            &client,
            &target,
            &[
                call_options("", Some(&controller.signal())),
                call_options(r#"{"timeoutMs":200}"#, None),
                JsValue::UNDEFINED,
            ],
        );
        wait_for_log(&target.key, 1).await;
        sleep(50.0).await;
        controller.abort();
        let mut calls = calls.into_iter();
        let aborted = calls.next().unwrap().rejects("the aborted caller").await;
        assert_error(&aborted, "aborted", provider.name(), "the aborted caller");
        let timed_out = calls.next().unwrap().rejects("the impatient caller").await;
        assert_error(
            &timed_out,
            "timeout",
            provider.name(),
            "the impatient caller",
        );
        assert_details(&timed_out, 1, true, None, "the impatient caller");
        let value = calls.next().unwrap().resolves("the patient caller").await;
        target.assert_found(&value, "the patient caller");
        let entries = log(&target.key).await;
        assert_eq!(entries.len(), 1, "{provider:?}: one request for the three");
        assert_eq!(
            boolean(&entries[0], "abandoned"),
            Some(false),
            "{provider:?}: the shared request ran to its answer"
        );
    }
}

#[wasm_bindgen_test]
async fn the_shared_request_is_aborted_when_every_caller_has_gone() {
    for provider in P::ALL {
        let target = provider.target("pending", 0).await;
        fault(&target.key, r#"[{"delayMs":5000}]"#).await;
        let client = provider.client("");
        let first = AbortController::new().unwrap();
        let second = AbortController::new().unwrap();
        let calls = lookups(
            &client,
            &target,
            &[
                call_options("", Some(&first.signal())),
                call_options("", Some(&second.signal())),
            ],
        );
        wait_for_log(&target.key, 1).await;
        first.abort();
        sleep(100.0).await;
        let entries = log(&target.key).await;
        assert_eq!(
            boolean(&entries[0], "abandoned"),
            Some(false),
            "{provider:?}: still wanted by the second caller"
        );
        second.abort();
        for call in calls {
            let error = call.rejects("aborted").await;
            assert_error(&error, "aborted", provider.name(), "aborted");
        }
        let start = now();
        loop {
            let entries = log(&target.key).await;
            assert_eq!(entries.len(), 1, "{provider:?}: nothing more was sent");
            if boolean(&entries[0], "abandoned") == Some(true) {
                break;
            }
            assert!(
                now() - start < 2000.0,
                "{provider:?}: the request was not aborted with its last caller"
            );
            sleep(20.0).await;
        }
    }
}

#[wasm_bindgen_test]
async fn different_clients_or_ids_never_share() {
    for provider in P::ALL {
        let target = provider.target("pending", 0).await;
        let other = provider.target("pending", 0).await;
        fault(&target.key, r#"[{"delayMs":300,"times":2}]"#).await;
        fault(&other.key, r#"[{"delayMs":300}]"#).await;
        let (one, two) = (provider.client(""), provider.client(""));
        let calls = [
            Watched::new(one.get(&target.key)),
            Watched::new(two.get(&target.key)),
            Watched::new(one.get(&other.key)),
        ];
        for call in calls {
            call.resolves("separate reads").await;
        }
        assert_eq!(
            log(&target.key).await.len(),
            2,
            "{provider:?}: one per client"
        );
        assert_eq!(log(&other.key).await.len(), 1, "{provider:?}");
    }
}

#[wasm_bindgen_test]
async fn a_bearer_function_is_consulted_once_per_request_sent() {
    let (client, calls) = counting_bearer_client();
    let target = P::TokenIo.target("pending", 0).await;
    fault(&target.key, r#"[{"delayMs":300}]"#).await;
    let reads = lookups(&client, &target, &vec![JsValue::UNDEFINED; 4]);
    for read in reads {
        read.resolves("shared read with a bearer function").await;
    }
    assert_eq!(calls.get(), 1, "one token for one request");
    assert_eq!(log(&target.key).await.len(), 1);
}

#[wasm_bindgen_test]
async fn waits_on_tokens_of_one_gr4vy_payment_method_share_each_rounds_list() {
    // Ten tokens of one payment method, each processing for 1.5 s then succeeded, and one token
    // alone on another payment method with the same schedule: the lone wait's requests are the
    // rounds a wait polls; the ten share a list per round instead of sending ten.
    let pm = uid("pm-shared");
    let lone_pm = uid("pm-lone");
    let steps = r#""steps":[{"status":"processing","ms":1500},{"status":"succeeded"}]"#;
    let mut ids = Vec::new();
    for _ in 0..10 {
        let view = create_flow(&format!(
            r#"{{"provider":"gr4vy","paymentMethodId":{},{steps}}}"#,
            quote(&pm)
        ))
        .await;
        ids.push(text(&view, "id").unwrap());
    }
    let lone = create_flow(&format!(
        r#"{{"provider":"gr4vy","paymentMethodId":{},{steps}}}"#,
        quote(&lone_pm)
    ))
    .await;
    let client = P::Gr4vy.client("");
    let options = json(r#"{"intervalMs":100,"maxIntervalMs":200,"deadlineMs":20000}"#);
    let wait = |method: &str, id: &str| {
        client.gr4vy().wait_for_payment_service_token(
            JsValue::from_str(method),
            JsValue::from_str(id),
            options.clone(),
        )
    };
    let shared: Vec<Watched> = ids.iter().map(|id| Watched::new(wait(&pm, id))).collect();
    let alone = Watched::new(wait(&lone_pm, &text(&lone, "id").unwrap()));
    for (id, pending) in ids.iter().zip(shared) {
        let status = pending.resolves("a shared wait").await;
        assert_state(&status, "succeeded", true, "a shared wait");
        assert_member(&status, "id", Some(id), "its own token");
        let token = text(&flow_view(id).await, "token");
        assert_member(&status, "token", token.as_deref(), "its own token");
    }
    assert_state(
        &alone.resolves("the lone wait").await,
        "succeeded",
        true,
        "the lone wait",
    );
    let rounds = log(&lone_pm).await.len();
    let lists = log(&pm).await.len();
    assert!(rounds >= 5, "the lone wait polled {rounds} times");
    assert!(
        (lists as f64) <= 1.5 * rounds as f64,
        "{lists} list requests for ten waits over {rounds} rounds"
    );
}
