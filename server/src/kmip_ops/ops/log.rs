//! Log: a client's message, recorded in hyok's audit log as the caller's (at most
//! [`MAX_LOG_MESSAGE`] characters; any authenticated caller).

use hyok_kmip::message::LogRequest;
use hyok_kmip::Item;

use crate::kmip_ops::context::Context;
use crate::kmip_ops::error::KmipError;

pub const MAX_LOG_MESSAGE: usize = 4096;

pub async fn log(context: &Context<'_>, request: &LogRequest) -> Result<Vec<Item>, KmipError> {
    let message = &request.log_message;
    if message.chars().count() > MAX_LOG_MESSAGE {
        return Err(KmipError::invalid_field(format!(
            "a Log Message is at most {MAX_LOG_MESSAGE} characters"
        )));
    }
    context.audit_client_log(message).await;
    Ok(Vec::new())
}
