//! Every error class, provoked through the simulator, with the request counts the retry
//! policy allows.

mod common;

use std::time::Duration;

use common::{builder, client, simulator};
use safe_simulator::{FaultKind, FaultRule};
use safe_tracker::models::Case;
use safe_tracker::{Budget, Client, ClientConfig, ErrorCode, Pacing, RetryPolicy, Timeouts};

const SEQ: &str = "/api/items/seqOrgID/{n}";

fn fault(kind: FaultKind) -> FaultRule {
    serde_json::from_value(serde_json::json!({ "kind": kind })).unwrap()
}

fn status_fault(status: u16, count: Option<u32>, retry_after: Option<&str>) -> FaultRule {
    FaultRule {
        status: Some(status),
        count,
        retry_after: retry_after.map(str::to_string),
        ..fault(FaultKind::Status)
    }
}

#[tokio::test]
async fn invalid_config() {
    let err = ClientConfig::builder()
        .base_url("http://safe.example.org/api/")
        .token("t0ken-abc")
        .organization_id(1)
        .office_id(1)
        .build()
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidConfig);
    let sim = simulator(1).await;
    let err = Client::new(
        builder(&sim, 1)
            .ca_file("/nonexistent/ca.pem")
            .build()
            .unwrap(),
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidConfig);
}

#[tokio::test]
async fn validation_before_sending_and_from_server() {
    let sim = simulator(1).await;
    let c = client(&sim, 1);
    let err = c.create_case(&Case::default()).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Validation);
    assert_eq!(sim.total_requests(), 0, "no request for an invalid model");
    // Unknown offense type: the server says no.
    let case = Case {
        case_number: Some("V-1".into()),
        case_officer_ids: Some(vec![1001]),
        offense_type_id: Some(999_999),
        active: Some(true),
        ..Case::default()
    };
    let err = c.create_case(&case).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Validation);
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.path(), Some("cases"));
}

#[tokio::test]
async fn transport_connection_refused_and_dropped() {
    // A port with nothing listening.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let c = Client::new(
        ClientConfig::builder()
            .base_url(format!("http://127.0.0.1:{port}/api/"))
            .token("t0ken-abc")
            .organization_id(1)
            .office_id(1)
            .pacing(Pacing::unlimited())
            .retry(common::fast_retry())
            .build()
            .unwrap(),
    )
    .unwrap();
    let err = c.item_by_seq(1).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Transport);
    assert_eq!(c.requests_sent(), 3, "retried up to max_attempts");

    let sim = simulator(2).await;
    sim.add_fault(fault(FaultKind::Drop));
    let c = client(&sim, 1);
    assert_eq!(
        c.item_by_seq(1).await.unwrap_err().code(),
        ErrorCode::Transport
    );
    assert_eq!(sim.count_route(SEQ), 3);

    // Reset mid-body, twice, then a clean answer: retried and succeeds.
    sim.clear_faults();
    sim.reset_stats();
    sim.add_fault(FaultRule {
        count: Some(2),
        ..fault(FaultKind::ResetMidBody)
    });
    assert!(c.item_by_seq(1).await.unwrap().is_some());
    assert_eq!(sim.count_route(SEQ), 3);
}

#[tokio::test]
async fn timeouts_per_attempt_and_slow_body() {
    let sim = simulator(2).await;
    let timeouts = Timeouts {
        connect: Duration::from_secs(2),
        attempt: Duration::from_millis(150),
        call: Duration::from_secs(10),
    };
    let c = Client::new(builder(&sim, 1).timeouts(timeouts).build().unwrap()).unwrap();
    sim.add_fault(FaultRule {
        latency_ms: Some(1_000),
        ..fault(FaultKind::SlowHeaders)
    });
    let err = c.item_by_seq(1).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Timeout);
    assert_eq!(sim.count_route(SEQ), 3);
    sim.clear_faults();
    sim.reset_stats();
    sim.add_fault(FaultRule {
        latency_ms: Some(1_000),
        count: Some(1),
        ..fault(FaultKind::SlowBody)
    });
    assert!(
        c.item_by_seq(1).await.unwrap().is_some(),
        "slow body once, then fine"
    );
    assert_eq!(sim.count_route(SEQ), 2);

    // The whole-call deadline bounds all attempts.
    let timeouts = Timeouts {
        call: Duration::from_millis(300),
        ..timeouts
    };
    let c = Client::new(
        builder(&sim, 1)
            .timeouts(timeouts)
            .retry(RetryPolicy {
                max_attempts: 50,
                ..common::fast_retry()
            })
            .build()
            .unwrap(),
    )
    .unwrap();
    sim.add_fault(FaultRule {
        latency_ms: Some(1_000),
        ..fault(FaultKind::SlowHeaders)
    });
    let started = std::time::Instant::now();
    assert_eq!(
        c.item_by_seq(1).await.unwrap_err().code(),
        ErrorCode::Timeout
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn response_too_large() {
    let sim = simulator(2).await;
    sim.add_fault(fault(FaultKind::Oversize));
    let c = Client::new(
        builder(&sim, 1)
            .max_body_bytes(1024 * 1024)
            .build()
            .unwrap(),
    )
    .unwrap();
    let err = c.item_by_seq(1).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ResponseTooLarge);
    assert_eq!(sim.count_route(SEQ), 1, "not retried");
}

#[tokio::test]
async fn decode_errors() {
    let sim = simulator(2).await;
    let c = client(&sim, 1);
    for kind in [
        FaultKind::Malformed,
        FaultKind::Html200,
        FaultKind::InvalidUtf8,
        FaultKind::Truncate,
    ] {
        sim.clear_faults();
        sim.add_fault(FaultRule {
            count: Some(1),
            ..fault(kind)
        });
        let err = c.item_by_seq(1).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::Decode, "{kind:?}");
        assert_eq!(err.path(), Some("items/seqOrgID/{n}"));
        assert!(err.context().unwrap().excerpt.is_some());
    }
}

/// A decode failure of every kind of call (one item by number, an entity, a list, a search,
/// a boolean, a create, an update) names the method and the templated path of its request,
/// never its ids, and never the empty form `of  :` (issue 15).
#[tokio::test]
async fn every_kind_of_decode_error_names_its_method_and_templated_path() {
    use std::future::Future;
    use std::pin::Pin;
    type Call<'a> = Pin<Box<dyn Future<Output = safe_tracker::Result<()>> + 'a>>;

    let sim = simulator(2).await;
    let c = client(&sim, 1);
    let item = c.item_by_seq(1).await.unwrap().unwrap();
    let id = item.id.unwrap();
    let case_id = item.primary_case_id.unwrap();
    let kase = c.case(case_id).await.unwrap();
    let officer = c.users_typeahead("Reyes").await.unwrap()[0].id;
    let new_case = Case {
        case_number: Some("DEC-1".into()),
        case_officer_ids: Some(vec![officer]),
        offense_type_id: Some(4),
        active: Some(true),
        ..Case::default()
    };
    let r = c.config().routes.clone();
    let calls: Vec<(&str, &str, &str, Call<'_>)> = vec![
        (
            "GET",
            &r.item_by_seq,
            "seqOrgID",
            Box::pin(async { c.item_by_seq(1).await.map(drop) }),
        ),
        (
            "GET",
            &r.item,
            "items/",
            Box::pin(async { c.item(id).await.map(drop) }),
        ),
        (
            "GET",
            &r.item_form_data,
            "formdata/",
            Box::pin(async { c.item_form_data(id).await.map(drop) }),
        ),
        (
            "GET",
            &r.chain_of_custody,
            "/coc",
            Box::pin(async { c.chain_of_custody(id).await.map(drop) }),
        ),
        (
            "POST",
            &r.item_search,
            "items/search",
            Box::pin(async { c.items_after_seq(1, 10).await.map(drop) }),
        ),
        (
            "GET",
            &r.case,
            "cases/",
            Box::pin(async { c.case(case_id).await.map(drop) }),
        ),
        (
            "GET",
            &r.case_by_number,
            "getByNumber",
            Box::pin(async {
                c.case_by_number(kase.case_number.as_deref().unwrap())
                    .await
                    .map(drop)
            }),
        ),
        (
            "POST",
            &r.cases,
            "cases",
            Box::pin(async { c.create_case(&new_case).await.map(drop) }),
        ),
        (
            "PUT",
            &r.case,
            "cases/",
            Box::pin(async { c.update_case(case_id, &kase).await.map(drop) }),
        ),
        (
            "GET",
            &r.case_people,
            "/people",
            Box::pin(async { c.case_people(case_id).await.map(drop) }),
        ),
        (
            "GET",
            &r.email_in_use,
            "isemail",
            Box::pin(async { c.email_in_use("a@example.org").await.map(drop) }),
        ),
        (
            "GET",
            &r.users_typeahead,
            "typeahead",
            Box::pin(async { c.users_typeahead("Reyes").await.map(drop) }),
        ),
        (
            "GET",
            &r.races,
            "races",
            Box::pin(async {
                c.lookup(safe_tracker::models::Lookup::Races)
                    .await
                    .map(drop)
            }),
        ),
    ];
    for (method, template, path_contains, call) in calls {
        sim.clear_faults();
        sim.add_fault(FaultRule {
            count: Some(1),
            method: Some(method.into()),
            path_contains: Some(path_contains.into()),
            ..fault(FaultKind::Malformed)
        });
        let err = call.await.unwrap_err();
        let text = err.to_string();
        assert_eq!(err.code(), ErrorCode::Decode, "{method} {template}: {text}");
        assert!(
            text.starts_with(&format!(
                "could not decode the answer of {method} {template}: "
            )),
            "{text}"
        );
        assert_eq!(err.path(), Some(template));
        assert!(
            !text.contains(&id.to_string()) && !text.contains("  "),
            "{text}"
        );
    }
}

#[tokio::test]
async fn auth_disabled_licence_wrong_office() {
    let sim = simulator(2).await;
    let bad = Client::new(builder(&sim, 1).token("no-such-token").build().unwrap()).unwrap();
    let err = bad.item_by_seq(1).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Auth);
    assert_eq!(err.status(), Some(401));

    let disabled = Client::new(
        builder(&sim, 1)
            .token("sim-token-org1-disabled")
            .build()
            .unwrap(),
    )
    .unwrap();
    let err = disabled.item_by_seq(1).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::AccountDisabled);
    assert!(err.to_string().contains("disabled"));

    let wrong_office = Client::new(builder(&sim, 1).office_id(201).build().unwrap()).unwrap();
    assert_eq!(
        wrong_office.item_by_seq(1).await.unwrap_err().code(),
        ErrorCode::AccountDisabled
    );

    let no_licence = Client::new(
        builder(&sim, 1)
            .token("sim-token-org1-nolicence")
            .build()
            .unwrap(),
    )
    .unwrap();
    let err = no_licence.item_by_seq(1).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::LicenseUnavailable);
    // The licence answer is recognised whatever its status, 200 included.
    sim.set_options(|o| o.licence_status = 200);
    assert_eq!(
        no_licence.item_by_seq(1).await.unwrap_err().code(),
        ErrorCode::LicenseUnavailable
    );
    // None of these is retried.
    assert_eq!(sim.count_route(SEQ), 5);
}

#[tokio::test]
async fn rate_limited_retry_after() {
    let sim = simulator(2).await;
    let c = client(&sim, 1);
    // Short Retry-After (seconds): waited and retried.
    sim.add_fault(status_fault(429, Some(2), Some("0")));
    assert!(c.item_by_seq(1).await.unwrap().is_some());
    assert_eq!(sim.count_route(SEQ), 3);
    // Retry-After over the cap: no sleep, the caller gets the wait.
    sim.reset_stats();
    sim.add_fault(status_fault(429, Some(1), Some("3600")));
    let err = c.item_by_seq(1).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(sim.count_route(SEQ), 1);
    // HTTP-date form, in the past: retried at once.
    sim.reset_stats();
    sim.add_fault(status_fault(
        429,
        Some(1),
        Some("Wed, 21 Oct 2015 07:28:00 GMT"),
    ));
    assert!(c.item_by_seq(1).await.unwrap().is_some());
    assert_eq!(sim.count_route(SEQ), 2);
    // Without Retry-After, persistent: RateLimited after max_attempts.
    sim.reset_stats();
    sim.add_fault(status_fault(429, None, None));
    let err = c.item_by_seq(1).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::RateLimited);
    assert_eq!(err.retry_after(), None);
    assert_eq!(sim.count_route(SEQ), 3);
}

#[tokio::test]
async fn budget_exhausted_refuses_without_sending() {
    let sim = simulator(3).await;
    let pacing = Pacing {
        budget: Budget {
            per_minute: Some(2),
            ..Budget::default()
        },
        ..Pacing::unlimited()
    };
    let c = Client::new(builder(&sim, 1).pacing(pacing).build().unwrap()).unwrap();
    c.item_by_seq(1).await.unwrap();
    c.item_by_seq(2).await.unwrap();
    let err = c.item_by_seq(3).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::BudgetExhausted);
    assert_eq!(sim.count_route(SEQ), 2);
}

#[tokio::test]
async fn not_found_and_conflict() {
    let sim = simulator(2).await;
    let c = client(&sim, 1);
    let err = c.item(12345).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert_eq!(err.status(), Some(404));
    let officer = c.users_typeahead("Reyes").await.unwrap()[0].id;
    let case = Case {
        case_number: Some("DUP-1".into()),
        case_officer_ids: Some(vec![officer]),
        offense_type_id: Some(4),
        active: Some(true),
        ..Case::default()
    };
    c.create_case(&case).await.unwrap();
    let err = c.create_case(&case).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
    // A duplicate reported as 400 with a duplicate message is still a conflict.
    sim.set_options(|o| o.conflict_status = 400);
    assert_eq!(
        c.create_case(&case).await.unwrap_err().code(),
        ErrorCode::Conflict
    );
}

#[tokio::test]
async fn server_errors_retried_then_reported() {
    let sim = simulator(2).await;
    let c = client(&sim, 1);
    for status in [500u16, 502, 503, 504] {
        sim.clear_faults();
        sim.reset_stats();
        sim.add_fault(status_fault(status, Some(2), None));
        assert!(
            c.item_by_seq(1).await.unwrap().is_some(),
            "{status} burst then success"
        );
        assert_eq!(sim.count_route(SEQ), 3);
    }
    sim.clear_faults();
    sim.reset_stats();
    sim.add_fault(status_fault(500, None, None));
    let err = c.item_by_seq(1).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Server);
    assert_eq!(err.status(), Some(500));
    assert_eq!(sim.count_route(SEQ), 3);
    // 501 is not retried.
    sim.clear_faults();
    sim.reset_stats();
    sim.add_fault(status_fault(501, None, None));
    assert_eq!(
        c.item_by_seq(1).await.unwrap_err().code(),
        ErrorCode::Server
    );
    assert_eq!(sim.count_route(SEQ), 1);
}

#[tokio::test]
async fn creating_post_is_never_retried() {
    let sim = simulator(1).await;
    let c = client(&sim, 1);
    let officer = c.users_typeahead("Reyes").await.unwrap()[0].id;
    sim.add_fault(FaultRule {
        method: Some("POST".into()),
        ..status_fault(503, None, None)
    });
    let case = Case {
        case_number: Some("P-1".into()),
        case_officer_ids: Some(vec![officer]),
        offense_type_id: Some(4),
        active: Some(true),
        ..Case::default()
    };
    assert_eq!(
        c.create_case(&case).await.unwrap_err().code(),
        ErrorCode::Server
    );
    assert_eq!(sim.count_route("/api/cases"), 1);
    sim.clear_faults();
    sim.add_fault(FaultRule {
        method: Some("POST".into()),
        ..fault(FaultKind::Drop)
    });
    assert_eq!(
        c.create_case(&case).await.unwrap_err().code(),
        ErrorCode::Transport
    );
    assert_eq!(
        sim.count_route("/api/cases"),
        2,
        "a dropped POST may have reached the server"
    );
}

#[tokio::test]
async fn pacing_holds() {
    let sim = simulator(30).await;
    let c = Client::new(
        builder(&sim, 1)
            .pacing(Pacing::per_second(20.0))
            .build()
            .unwrap(),
    )
    .unwrap();
    for n in 1..=30 {
        c.item_by_seq(n).await.unwrap();
    }
    assert!(
        sim.max_in_window(1000) <= 21,
        "at most 20/s (+1 for window edges): {}",
        sim.max_in_window(1000)
    );
}

#[tokio::test]
async fn rate_policing_disables_the_token() {
    let sim = simulator(3).await;
    sim.set_options(|o| o.police_per_minute = Some(5));
    let c = client(&sim, 1);
    for _ in 0..5 {
        c.item_by_seq(1).await.unwrap();
    }
    let err = c.item_by_seq(1).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::AccountDisabled);
    sim.set_options(|o| o.police_per_minute = None);
    let err = c.item_by_seq(1).await.unwrap_err();
    assert_eq!(
        err.code(),
        ErrorCode::AccountDisabled,
        "the account stays disabled"
    );
}
