use super::*;

#[test]
fn an_error_quoting_the_secret_is_redacted() {
    let secret = crate::desired_webhook::SecretValue::new("hunter2-hunter2-hunter2");
    let e = Error::Rejected {
        service: SVC,
        operation: "CreateEventSource",
        code: "InvalidInputException".into(),
        message: "Value 'hunter2-hunter2-hunter2' at 'secretValue' failed to satisfy constraint".into(),
    };
    let text = redacted(e, Some(&secret)).to_string();
    assert!(!text.contains("hunter2") && text.contains("<redacted>"), "{text}");
}

#[test]
fn invalid_state_is_terminal_only_when_no_retry_can_help() {
    let seen = |target: Option<(&str, bool)>, bus: Option<&str>| StateSeen {
        target: target.map(|(state, revoked)| ("subscriber whb-1-r-t".to_string(), Some(state.to_string()), revoked)),
        bus: bus.map(str::to_string),
    };
    let verdict = |op, s: &StateSeen| invalid_state_verdict(op, "refused", s);
    // Retryable: the object or its bus is still being created or updated.
    assert!(verdict("CreateSubscriber", &seen(None, Some("CREATING"))).is_retryable());
    assert!(verdict("UpdateEventSource", &seen(Some(("UPDATING", false)), Some("ACTIVE"))).is_retryable());
    assert!(verdict("UpdateEventSource", &seen(Some(("CREATING", false)), Some("ACTIVE"))).is_retryable());
    assert!(verdict("UpdateSubscriber", &seen(Some(("RUNNING", false)), Some("ACTIVE"))).is_retryable());
    // Terminal: revoked, a failed bus or one being deleted, a failed source, a rotation
    // refused while the source's state allows one (its secret is being deleted).
    let revoked = verdict("UpdateSubscriber", &seen(Some(("RUNNING", true)), Some("ACTIVE")));
    assert!(!revoked.is_retryable() && revoked.to_string().contains("REVOKED"), "{revoked}");
    for bus in ["CREATE_FAILED", "UPDATE_FAILED", "DELETE_FAILED", "DELETING"] {
        assert!(!verdict("CreateEventSource", &seen(None, Some(bus))).is_retryable(), "{bus}");
    }
    assert!(!verdict("UpdateEventSource", &seen(Some(("CREATE_FAILED", false)), Some("ACTIVE"))).is_retryable());
    let secret = verdict("RotateWebhookCredentials", &seen(Some(("ACTIVE", false)), None));
    assert!(!secret.is_retryable() && secret.to_string().contains("scheduled for deletion"), "{secret}");
    assert!(verdict("RotateWebhookCredentials", &seen(Some(("CREATING", false)), None)).is_retryable());
}

#[test]
fn a_basic_auth_update_sends_username_and_password_and_others_no_secret() {
    let owner = crate::owner::Owner { cluster: "c".into(), namespace: "n".into(), name: "b".into(), uid: "u".into() };
    let source = |scheme| V2Source {
        spec_name: "s".into(),
        index: 0,
        name: owner.rule_name("s"),
        scheme,
        secret: Some(crate::desired_webhook::SecretValue::new("correct-horse-battery")),
        credential: None,
        secret_version: None,
        username_tag: None,
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        metadata_headers: vec![],
        deduplication: false,
        client_token: String::new(),
    };
    let basic = source(crate::webhook::AuthScheme::Basic { username: "bob".into() });
    let body = to_json(&update_body(&basic, "arn:s").expect("body"));
    // botocore eventbridgev2 WebhookBasicHttpAuthConfiguration: "Supply both Username and
    // Password, or omit both ... Supplying only one fails with InvalidInputException".
    let auth = &body["Configuration"]["WebhookEventsConfiguration"]["AuthConfiguration"]["BasicHttpAuthConfiguration"];
    assert_eq!(auth["Username"], "bob");
    assert_eq!(auth["Password"], "correct-horse-battery");
    let token = source(crate::webhook::AuthScheme::Token { header: "X-Token".into() });
    let body = to_json(&update_body(&token, "arn:s").expect("body"));
    assert!(!body.to_string().contains("correct-horse"), "only a rotation sends a token: {body}");
    let no_secret = V2Source { secret: None, ..basic };
    assert!(update_body(&no_secret, "arn:s").is_err_and(|e| e.is_retryable()));
}

#[test]
fn cbor_and_json_agree() {
    let v = serde_json::json!({"A": [1, -2, "x"], "B": {"C": true}});
    assert_eq!(to_json(&from_json(&v)), v);
}

#[test]
fn a_source_reads_from_its_raw_answer() {
    let answer = Cbor::map([
        ("Name", Cbor::text("whb-1-gh")),
        ("EventSourceArn", Cbor::text("arn:aws:events:us-east-1:123456789012:event-sourcev2/webhook/whb-1-gh/x")),
        ("State", Cbor::text("ACTIVE")),
        (
            "EventSourceDetails",
            Cbor::map([(
                "WebhookDetails",
                Cbor::map([("WebhookUrl", Cbor::text("https://h/x")), ("SecretArn", Cbor::text("arn:s"))]),
            )]),
        ),
    ]);
    let s = source_of(&answer, "", Tags::new());
    assert_eq!(s.url.as_deref(), Some("https://h/x"));
    assert_eq!(s.secret_arn.as_deref(), Some("arn:s"));
    assert!(source_ready(&s).is_ok());
    let creating = ObsV2Source { state: Some("CREATING".into()), ..s.clone() };
    assert!(source_ready(&creating).is_err_and(|e| e.is_retryable()));
    let failed = ObsV2Source { state: Some("CREATE_FAILED".into()), ..s };
    assert!(source_ready(&failed).is_err_and(|e| !e.is_retryable()));
}
