//! Multi-part Encrypt and Decrypt with symmetric keys: the first part starts the cipher
//! (IV drawn when absent, additional data) and answers its output with a Correlation
//! Value; each later part answers its own output; the last also the tag (Encrypt) or
//! checks it (Decrypt). Every part passes the access, state and usage checks again. The
//! cipher state lives in a bounded stream ([`crate::kmip_ops::streams`]).

use hyok_kmip::enums::ResultReason;
use hyok_kmip::registry::tag;
use hyok_kmip::Item;

use super::crypto::{asymmetric, spec, usable};
use super::parts::Part;
use crate::access::Operation;
use crate::kmip_ops::context::Context;
use crate::kmip_ops::error::KmipError;
use crate::kmip_ops::streams::{Progress, Stream};
use crate::kmip_ops::usage_limits;

/// What a part brings besides its data.
pub struct CipherPart<'a> {
    pub parameters: Option<&'a Item>,
    pub iv: Option<&'a [u8]>,
    pub aad: &'a [u8],
    pub tag: Option<&'a [u8]>,
}

pub async fn cipher_part(
    context: &Context<'_>,
    uid: &str,
    operation: Operation,
    part: Part<'_>,
    data: &[u8],
    given: CipherPart<'_>,
) -> Result<Vec<Item>, KmipError> {
    let object = context.key_for_use(uid, operation).await?;
    usable(&object, operation)?;
    if asymmetric(&object) {
        return Err(KmipError::not_supported(
            "RSA encryption takes its data in one request, not in parts",
        ));
    }
    let encrypting = operation == Operation::Encrypt;
    if encrypting {
        usage_limits::take(context, &object, data.len()).await?;
    }
    let caller = &context.caller.user;
    let mut out = vec![Item::text(tag::UNIQUE_IDENTIFIER, uid)];
    match part {
        Part::Single => {
            return Err(KmipError::new(
                ResultReason::GeneralFailure,
                "a single-part request reached the multi-part path",
            ))
        }
        Part::First => {
            let spec = spec(given.parameters, &object)?;
            let key = context.state.keys.material(uid).await?;
            let (mut cipher, drawn) = spec.start(&key, given.iv, given.aad, encrypting)?;
            let output = cipher.update(data)?;
            let correlation = context.state.streams.begin(Stream {
                caller: caller.clone(),
                uid: uid.to_string(),
                operation: operation.as_str(),
                progress: Progress::Cipher(cipher),
            })?;
            out.push(Item::bytes(tag::DATA, output.to_vec()));
            if let Some(iv) = drawn {
                out.push(Item::bytes(tag::IV_COUNTER_NONCE, iv));
            }
            out.push(Item::bytes(tag::CORRELATION_VALUE, correlation));
        }
        Part::Next(correlation) | Part::Last(correlation) => {
            let stream =
                context
                    .state
                    .streams
                    .take(correlation, caller, uid, operation.as_str())?;
            let Stream {
                caller: owner,
                uid: key,
                operation: name,
                progress: Progress::Cipher(mut cipher),
            } = stream
            else {
                context.state.streams.end(caller);
                return Err(KmipError::new(
                    ResultReason::GeneralFailure,
                    "not a cipher stream",
                ));
            };
            let mut output = match cipher.update(data) {
                Ok(output) => output,
                Err(error) => {
                    context.state.streams.end(caller);
                    return Err(error);
                }
            };
            if matches!(part, Part::Last(_)) {
                context.state.streams.end(caller);
                if encrypting {
                    let (rest, auth_tag) = cipher.finish_encrypt()?;
                    output.extend_from_slice(&rest);
                    out.push(Item::bytes(tag::DATA, output.to_vec()));
                    if let Some(auth_tag) = auth_tag {
                        out.push(Item::bytes(tag::AUTHENTICATED_ENCRYPTION_TAG, auth_tag));
                    }
                } else {
                    let rest = cipher.finish_decrypt(given.tag)?;
                    output.extend_from_slice(&rest);
                    out.push(Item::bytes(tag::DATA, output.to_vec()));
                }
                context.audit_key_use(operation, uid).await;
            } else {
                let stream = Stream {
                    caller: owner,
                    uid: key,
                    operation: name,
                    progress: Progress::Cipher(cipher),
                };
                context.state.streams.put_back(correlation, stream)?;
                out.push(Item::bytes(tag::DATA, output.to_vec()));
                out.push(Item::bytes(tag::CORRELATION_VALUE, correlation.to_vec()));
            }
        }
    }
    Ok(out)
}
