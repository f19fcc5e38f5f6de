//! What an audit entry says, before the log numbers and seals it.

use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Event {
    /// The caller's identities (comma separated), or `-` when unknown.
    pub caller: String,
    /// `create-user`, `issue-token`, `grant`, `create`, `encrypt`, `authenticate`, …
    pub operation: String,
    pub object_uid: Option<String>,
    /// `ok`, `denied`, `failed`.
    pub result: String,
    pub request_id: Option<String>,
    /// More context (never key material), as a JSON object.
    pub details: Value,
}

impl Event {
    pub fn new(caller: &str, operation: &str, result: &str) -> Event {
        Event {
            caller: caller.to_string(),
            operation: operation.to_string(),
            object_uid: None,
            result: result.to_string(),
            request_id: None,
            details: Value::Object(Default::default()),
        }
    }

    pub fn object(mut self, uid: &str) -> Event {
        self.object_uid = Some(uid.to_string());
        self
    }

    pub fn request(mut self, request_id: Option<String>) -> Event {
        self.request_id = request_id;
        self
    }

    pub fn details(mut self, details: Value) -> Event {
        self.details = details;
        self
    }
}

/// Who acts, in which request: the start of a management event.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn new(name: &str, request_id: Option<String>) -> Actor {
        Actor {
            name: name.to_string(),
            request_id,
        }
    }

    /// A successful `operation` by this actor.
    pub fn event(&self, operation: &str) -> Event {
        Event::new(&self.name, operation, "ok").request(self.request_id.clone())
    }
}
