//! The machine's ceiling, measured the same way as hyok: `hyok-bench baseline-server`
//! serves a bare actix-web handler (`POST /` reads the body and answers 200 with a short
//! body, nothing else; a body left unread would make actix close the connection),
//! and `hyok-bench http` loads any URL with POSTs from the same kind of client the XKS
//! bench uses. The ratio of hyok's figures to these shows what hyok itself costs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use clap::Args;

use crate::raw_http::RawHttp;
use crate::tally::{report, Tally};

#[derive(Args)]
pub struct BaselineServer {
    /// The port to serve on (loopback).
    #[arg(long, default_value_t = 9990)]
    port: u16,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    workers: usize,
}

impl BaselineServer {
    pub fn run(self) -> Result<(), String> {
        actix_web::rt::System::new().block_on(async move {
            let mut server = HttpServer::new(|| {
                App::new().route(
                    "/",
                    web::post()
                        .to(|_body: web::Bytes| async { HttpResponse::Ok().body("{\"ok\":true}") }),
                )
            });
            if self.workers > 0 {
                server = server.workers(self.workers);
            }
            let server = server
                .bind(("127.0.0.1", self.port))
                .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", self.port))?;
            for address in server.addrs() {
                eprintln!("baseline server listening on http://{address}/");
            }
            server.run().await.map_err(|e| e.to_string())
        })
    }
}

#[derive(Args)]
pub struct HttpBench {
    /// The URL to POST to.
    #[arg(long, default_value = "http://127.0.0.1:9990/")]
    url: String,
    #[arg(long, default_value_t = 16)]
    connections: usize,
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Bytes of request body.
    #[arg(long, default_value_t = 200)]
    body_bytes: usize,
    /// Generator threads (as for `hyok-bench xks`).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    #[arg(long)]
    json: bool,
}

impl HttpBench {
    pub fn run(self) -> Result<(), String> {
        crate::generator_runtime(self.threads)?.block_on(async {
            let bench = Arc::new(self);
            let deadline = Instant::now() + Duration::from_secs(bench.duration);
            let started = Instant::now();
            let tasks: Vec<_> = (0..bench.connections.max(1))
                .map(|_| {
                    let bench = bench.clone();
                    tokio::spawn(async move { bench.connection(deadline).await })
                })
                .collect();
            let mut total = Tally::default();
            for task in tasks {
                total.absorb(task.await.map_err(|e| e.to_string())?);
            }
            report(
                "http",
                bench.connections,
                1,
                bench.json,
                total,
                started.elapsed(),
            );
            Ok(())
        })
    }

    async fn connection(&self, deadline: Instant) -> Tally {
        let body = "x".repeat(self.body_bytes);
        let mut tally = Tally::default();
        let url = reqwest::Url::parse(&self.url).ok();
        let mut raw = match &url {
            Some(url) if url.scheme() == "http" => RawHttp::connect(url).await.ok(),
            _ => None,
        };
        if let (Some(raw), Some(url)) = (&mut raw, &url) {
            while Instant::now() < deadline {
                let started = Instant::now();
                match raw
                    .post(url.path(), &[], "application/json", body.as_bytes())
                    .await
                {
                    Ok((200..=299, _)) => {}
                    Ok((status, _)) => tally.count_error(format!("HTTP {status}")),
                    Err(error) => {
                        tally.count_error(format!("transport: {error}"));
                        // A dropped connection: open another, or stop.
                        match RawHttp::connect(url).await {
                            Ok(fresh) => *raw = fresh,
                            Err(_) => return tally,
                        }
                    }
                }
                tally.record_since(started);
            }
            return tally;
        }
        // Built only here: a TLS client loads the system's root certificates, which costs
        // enough CPU per connection to show in the measurement.
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .unwrap_or_default();
        while Instant::now() < deadline {
            let started = Instant::now();
            let result = client
                .post(&self.url)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await;
            match result {
                Ok(response) if response.status().is_success() => {
                    let _ = response.bytes().await;
                }
                Ok(response) => tally.count_error(format!("HTTP {}", response.status())),
                Err(error) => tally.count_error(format!("transport: {error}")),
            }
            tally.record_since(started);
        }
        tally
    }
}
