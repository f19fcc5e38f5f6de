//! Stopping on SIGTERM and SIGINT: both stop every listener gracefully (no new
//! connections, requests in flight may finish within `http.shutdown_timeout_seconds`).
//! hyok listens for them itself, before it announces its listeners: actix-server would
//! only install its handlers once each server has started all its workers, so a signal
//! sent right after "listening on" used to kill the process outright (and SIGINT was an
//! immediate stop there).

use actix_web::dev::{Server, ServerHandle};
use tokio::signal::unix::{signal, SignalKind};

/// Listens for SIGTERM and SIGINT now; the first one stops all `servers` gracefully.
pub fn on_signals(servers: &[Server]) -> Result<(), String> {
    let listen = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|error| format!("cannot listen for {name}: {error}"))
    };
    let mut terminate = listen(SignalKind::terminate(), "SIGTERM")?;
    let mut interrupt = listen(SignalKind::interrupt(), "SIGINT")?;
    let handles: Vec<ServerHandle> = servers.iter().map(Server::handle).collect();
    actix_web::rt::spawn(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!("{name} received: no new connections; requests in flight may finish");
        let stopping: Vec<_> = handles.iter().map(|handle| handle.stop(true)).collect();
        for stopped in stopping {
            stopped.await;
        }
    });
    Ok(())
}
