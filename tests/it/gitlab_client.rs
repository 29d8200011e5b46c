//! The GitLab client's own guarantees: the token goes only to its instance,
//! and requests respect the configured budget.

use std::time::Duration;

use std::sync::Arc;

use labwatch::gitlab::{
    ClientOptions, GitlabClient, GitlabError, GitlabMetrics, Instance, InstanceBudget, InstanceLimits,
};
use secrecy::SecretString;

use crate::support::config::TOKEN;
use crate::support::net::{Behaviour, HttpServer, Reply};

fn client(base: &str, rps: f64) -> GitlabClient {
    GitlabClient::new(ClientOptions {
        workspace: "acme",
        base: &url::Url::parse(base).unwrap(),
        instance: Arc::new(
            Instance::new(
                labwatch::tls::client_config(None).unwrap(),
                Arc::new(InstanceBudget::new(InstanceLimits::default())),
            )
            .unwrap(),
        ),
        requests_per_second: rps,
        timeout: Duration::from_secs(5),
        token: Some(SecretString::from(TOKEN.to_owned())),
        metrics: GitlabMetrics::new(),
    })
}

#[tokio::test]
async fn a_redirect_to_another_host_never_receives_the_token() {
    let elsewhere = HttpServer::start(Behaviour::Answer(Reply::gitlab_version())).await;
    let location = format!("http://{}/api/v4/projects/1", elsewhere.addr);
    let instance = HttpServer::start(Behaviour::Answer(Reply::redirect(&location))).await;
    let gitlab = client(&format!("http://{}", instance.addr), 100.0);

    // Not followed automatically: the caller sees the move.
    let moved = gitlab.project("acme/app").await.unwrap_err();
    assert_eq!(
        moved,
        GitlabError::Moved {
            location: location.clone()
        }
    );
    assert!(
        instance.requests()[0]
            .to_ascii_lowercase()
            .contains(&format!("private-token: {TOKEN}"))
    );

    // Following it on purpose is refused for another origin.
    let refused = gitlab.project_at(&location).await.unwrap_err();
    assert!(refused.to_string().contains("refusing to send the token"), "{refused}");
    assert!(elsewhere.requests().is_empty(), "{:?}", elsewhere.requests());
}

#[tokio::test]
async fn a_budget_below_one_request_per_second_refuses_to_queue_for_long() {
    // 1 request per 60 s: the first goes out, the second would wait ~60 s,
    // longer than a call waits for the budget (30 s), so it fails at once
    // as held back by labwatch's budget instead of piling up, and says
    // whose budget it was (not GitLab's).
    let server = HttpServer::start(Behaviour::Answer(Reply::gitlab_version())).await;
    let gitlab = client(&format!("http://{}", server.addr), 1.0 / 60.0);
    assert!(gitlab.version().await.is_ok());
    match gitlab.version().await {
        Err(e @ GitlabError::OverBudget { wait, .. }) => {
            assert!(wait > Duration::from_secs(30), "{wait:?}");
            assert!(
                e.to_string()
                    .contains("the workspace's (requests_per_second) request budget"),
                "{e}"
            );
        }
        other => panic!("expected OverBudget, got {other:?}"),
    }
    assert_eq!(server.requests().len(), 1);
}
