//! KMIP over HTTP(S): `POST /kmip` takes and answers binary TTLV
//! (`application/octet-stream`), JSON (`application/json`) or XML (`text/xml`,
//! `application/xml`) as its Content-Type says; `POST /kmip/2_1` takes and answers
//! JSON-TTLV. The caller is the authenticated user (token or client certificate).

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{web, HttpRequest, HttpResponse};
use hyok_kmip::text::{from_json, from_xml, to_json, to_json_ttlv, to_xml};
use hyok_kmip::{decode, encode, Item, Limits};

use super::dispatch;
use crate::auth::Caller;
use crate::http::request_id;
use crate::state::AppState;

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Ttlv,
    Json,
    Xml,
    JsonTtlv,
}

impl Encoding {
    fn content_type(self) -> &'static str {
        match self {
            Encoding::Ttlv => "application/octet-stream",
            Encoding::Json | Encoding::JsonTtlv => "application/json",
            Encoding::Xml => "text/xml",
        }
    }
}

/// The routes; bodies are bounded by `[http] max_body_bytes` like every other route.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/kmip", web::post().to(kmip))
        .route("/kmip/2_1", web::post().to(kmip_json_ttlv));
}

fn encoding_of(request: &HttpRequest) -> Option<Encoding> {
    let content_type = request.headers().get(CONTENT_TYPE)?.to_str().ok()?;
    let media = content_type.split(';').next()?.trim().to_ascii_lowercase();
    match media.as_str() {
        "application/octet-stream" => Some(Encoding::Ttlv),
        "application/json" => Some(Encoding::Json),
        "text/xml" | "application/xml" => Some(Encoding::Xml),
        _ => None,
    }
}

async fn kmip(
    state: web::Data<AppState>,
    caller: web::ReqData<Caller>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    match encoding_of(&request) {
        Some(encoding) => answer(&state, &caller, &request, &body, encoding).await,
        None => HttpResponse::UnsupportedMediaType().json(serde_json::json!({
            "error": "unsupported_media_type",
            "message": "POST /kmip takes application/octet-stream (TTLV), application/json or text/xml",
        })),
    }
}

async fn kmip_json_ttlv(
    state: web::Data<AppState>,
    caller: web::ReqData<Caller>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    answer(&state, &caller, &request, &body, Encoding::JsonTtlv).await
}

fn read(body: &[u8], encoding: Encoding, limits: &Limits) -> Result<Item, String> {
    let text = || std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string());
    match encoding {
        Encoding::Ttlv => decode(body, limits).map_err(|e| e.to_string()),
        Encoding::Json | Encoding::JsonTtlv => {
            from_json(text()?, limits).map_err(|e| e.to_string())
        }
        Encoding::Xml => from_xml(text()?, limits).map_err(|e| e.to_string()),
    }
}

fn write(message: &Item, encoding: Encoding) -> Vec<u8> {
    match encoding {
        // Our own items always encode; an encoding failure would be a bug, answered empty.
        Encoding::Ttlv => encode(message).unwrap_or_default(),
        Encoding::Json => to_json(message).into_bytes(),
        Encoding::JsonTtlv => to_json_ttlv(message).into_bytes(),
        Encoding::Xml => to_xml(message).into_bytes(),
    }
}

async fn answer(
    state: &AppState,
    caller: &Caller,
    request: &HttpRequest,
    body: &[u8],
    encoding: Encoding,
) -> HttpResponse {
    let limits = Limits::default();
    let response = match read(body, encoding, &limits) {
        Ok(message) => {
            let response = dispatch::handle(state, caller, request_id(request), &message).await;
            write(&response, encoding)
        }
        Err(reason) => {
            let refusal = dispatch::unreadable(&format!("the message could not be read: {reason}"));
            write(&refusal, encoding)
        }
    };
    HttpResponse::Ok()
        .content_type(encoding.content_type())
        .body(response)
}
