//! The suite facing hosts that misbehave, faked with wiremock: each case must
//! end in one clear sentence, never a hang or a panic.

use std::time::Duration;

use conformance::client::{Call, HostClient};
use conformance::health::wait_until_ready;
use conformance::target::DeploymentMode;
use conformance::world::World;
use conformance::Error;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_host_that_never_becomes_healthy_times_out_with_its_last_answer() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/health"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"status": "starting"})),
        )
        .mount(&server)
        .await;
    let err = wait_until_ready(&server.uri(), Duration::from_secs(1), None)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::HostStart(_)), "{text}");
    assert!(
        text.contains("did not answer status \"ok\" within 1s"),
        "{text}"
    );
    assert!(
        text.contains("starting"),
        "the last answer is shown: {text}"
    );
}

#[tokio::test]
async fn an_html_health_page_is_reported_as_not_json() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/health"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>hello</html>"))
        .mount(&server)
        .await;
    let err = wait_until_ready(&server.uri(), Duration::from_millis(500), None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("non-JSON body: <html>hello</html>"),
        "{err}"
    );
}

#[tokio::test]
async fn a_dead_host_process_is_reported_at_once() {
    let server = MockServer::start().await;
    let started = std::time::Instant::now();
    let dead = || false;
    let err = wait_until_ready(&server.uri(), Duration::from_secs(30), Some(&dead))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(err.to_string().contains("exited before"), "{err}");
}

#[tokio::test]
async fn a_hanging_request_becomes_a_timeout_in_the_exchange() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(10)))
        .mount(&server)
        .await;
    let client = HostClient::new(&server.uri(), Duration::from_millis(300)).unwrap();
    let exchange = client.send(&Call::new("GET", "/api/anything")).await;
    assert!(exchange.response.is_none());
    assert!(
        exchange
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("timed out"),
        "{exchange:?}"
    );
}

#[tokio::test]
async fn a_closed_port_is_a_transport_error_not_a_panic() {
    // Nothing listens on this port once the listener is dropped.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client =
        HostClient::new(&format!("http://127.0.0.1:{port}"), Duration::from_secs(2)).unwrap();
    let exchange = client.send(&Call::new("GET", "/api/health")).await;
    assert!(
        exchange
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("could not connect"),
        "{exchange:?}"
    );
}

#[tokio::test]
async fn a_5xx_during_bootstrap_names_the_step_status_and_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/companies"))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(serde_json::json!({"error": "db down"})),
        )
        .mount(&server)
        .await;
    let client = HostClient::new(&server.uri(), Duration::from_secs(2)).unwrap();
    let err = World::bootstrap(
        &client,
        DeploymentMode::LocalTrusted,
        None,
        "/bin/true".into(),
    )
    .await
    .err()
    .expect("bootstrap must fail");
    let text = err.to_string();
    assert!(
        matches!(err, Error::UnexpectedStatus { status: 503, .. }),
        "{text}"
    );
    assert!(text.contains("create company a"), "{text}");
    assert!(text.contains("answered 503, expected 201"), "{text}");
    assert!(text.contains("db down"), "{text}");
}

#[tokio::test]
async fn malformed_json_during_bootstrap_is_reported() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/companies"))
        .respond_with(ResponseTemplate::new(201).set_body_string("{not json"))
        .mount(&server)
        .await;
    let client = HostClient::new(&server.uri(), Duration::from_secs(2)).unwrap();
    let err = World::bootstrap(
        &client,
        DeploymentMode::LocalTrusted,
        None,
        "/bin/true".into(),
    )
    .await
    .err()
    .expect("bootstrap must fail");
    assert!(err.to_string().contains("not JSON"), "{err}");
}

#[tokio::test]
async fn a_host_that_stops_answering_stops_the_run_instead_of_every_check_waiting() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(10)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/fast"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let client = HostClient::new(&server.uri(), Duration::from_millis(200)).unwrap();
    let slow = Call::new("GET", "/api/slow");
    // Two timeouts, then an answer: the count starts again.
    client.send(&slow).await;
    client.send(&slow).await;
    client.send(&Call::new("GET", "/api/fast")).await;
    client.send(&slow).await;
    assert!(client.stopped_answering().is_none());
    // Three in a row: the host has stopped answering.
    client.send(&slow).await;
    client.send(&slow).await;
    let why = client.stopped_answering().expect("three timeouts in a row");
    assert!(why.contains("--request-timeout"), "{why}");
    // Later requests are not sent (and do not wait), clones included.
    let started = std::time::Instant::now();
    let exchange = client.clone().send(&Call::new("GET", "/api/fast")).await;
    assert!(started.elapsed() < Duration::from_millis(100));
    assert!(
        exchange
            .error
            .as_deref()
            .unwrap_or_default()
            .starts_with("not sent"),
        "{exchange:?}"
    );
}
