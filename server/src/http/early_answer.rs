//! HTTP/2 answers given before the request body was read (401 from the authentication
//! gate, 413, 404) reach the client: without this, the unread request stream was reset
//! and clients such as curl reported "stream error" instead of the answer. For an HTTP/2
//! request answered with an error, the rest of its body is read and dropped first, up to
//! [`DRAIN_BYTES`] and within [`DRAIN_TIME`]; beyond either the stream is reset as before.
//! HTTP/1.1 requests are not touched.

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::Version;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::HttpMessage;
use futures_core::Stream;

/// The most request body read to let an early answer through.
const DRAIN_BYTES: usize = 1024 * 1024;
/// The longest spent reading it.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// The request body, shared between the handler (which may read it) and this middleware
/// (which reads what is left once an error answer is ready).
#[derive(Clone)]
struct SharedPayload(Rc<RefCell<Payload>>);

impl Stream for SharedPayload {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_next(cx)
    }
}

impl SharedPayload {
    /// Reads and drops the rest, within the bounds above.
    async fn drain(self) {
        let mut read = 0;
        let _ = tokio::time::timeout(DRAIN_TIME, async {
            let mut stream = self;
            while let Some(Ok(chunk)) =
                std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await
            {
                read += chunk.len();
                if read > DRAIN_BYTES {
                    break;
                }
            }
        })
        .await;
    }
}

pub async fn answer_early_errors_in_full(
    mut request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if request.version() != Version::HTTP_2 {
        return next.call(request).await;
    }
    let shared = SharedPayload(Rc::new(RefCell::new(request.take_payload())));
    request.set_payload(Payload::Stream {
        payload: Box::pin(shared.clone()),
    });
    let response = next.call(request).await?;
    if response.status().is_client_error() || response.status().is_server_error() {
        shared.drain().await;
    }
    Ok(response)
}
