//! A small blocking HTTP client for the driver: reqwest on a current-thread
//! runtime, so the measuring code stays sequential and easy to read. Every
//! reqwest client gets labwatch's TLS configuration (the crate installs no
//! global TLS provider) and ignores proxies from the environment.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

pub struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

/// An answer, read to the end.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    /// From sending the request to the last byte of the body.
    pub elapsed: Duration,
    pub retry_after: Option<Duration>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Http {
    pub fn new() -> Result<Http> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let tls = labwatch::tls::client_config(None).map_err(anyhow::Error::msg)?;
        let client = {
            let _runtime = rt.enter();
            reqwest::Client::builder()
                .tls_backend_preconfigured((*tls).clone())
                .no_proxy()
                .timeout(Duration::from_secs(120))
                .build()?
        };
        Ok(Http { rt, client })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    pub fn send(&self, request: reqwest::RequestBuilder) -> Result<Reply> {
        self.block_on(read(request))
    }

    pub fn get(&self, url: &str) -> Result<Reply> {
        self.send(self.client.get(url))
    }
}

/// Sends `request` and reads the whole answer.
pub async fn read(request: reqwest::RequestBuilder) -> Result<Reply> {
    let started = Instant::now();
    let response = request.send().await?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .map(Duration::from_secs);
    let body = response.bytes().await.context("reading the answer")?.to_vec();
    Ok(Reply {
        status,
        body,
        elapsed: started.elapsed(),
        retry_after,
    })
}
