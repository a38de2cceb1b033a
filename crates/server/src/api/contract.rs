//! The served OpenAPI 3.1 document: what the handlers declare, completed with what every
//! operation shares, so the contract is whole without repeating it on 27 operations.
//!
//! Added where an operation does not say it already:
//! * a description on every response (by status);
//! * `400` (malformed request, unsupported API-version header) everywhere; `401` where a bearer
//!   token is needed; `413`, `415` and `422` where a JSON body is read; `422` where a query is;
//!   `405` nowhere (it belongs to paths, and the `Allow` header says what they take);
//! * binary image bodies as bytes (`type: string` with `contentMediaType`), not integer arrays;
//! * the event stream's frames (`ready`, `lagged`, and every `Event` type) in its description.

use serde_json::{Map, Value, json};

/// What a status means when an operation does not say more.
fn default_description(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "204" => "Done; no content",
        "400" => "Malformed request (syntax, ids, or an unsupported API-version header)",
        "401" => "Not signed in, or the session expired or was revoked",
        "403" => "Not allowed for this role, or refused by a product rule",
        "404" => "No such object, or not visible to the caller",
        "405" => "This path does not take that method",
        "409" => "Conflicts with the current state",
        "410" => "Gone for good",
        "413" => "The request body is too large",
        "415" => "Unsupported content type",
        "422" => "Well-formed but invalid input",
        "429" => "Too many requests; see Retry-After",
        "503" => "Busy; see Retry-After",
        _ => "See the error body",
    }
}

const EVENTS_DESCRIPTION: &str = "A text/event-stream. The first frame is `event: ready`; \
    `event: lagged` (data: the number of events missed, `0` when unknown) tells the client to re-read its state; \
    every other frame's `event:` is an `Event`'s `type` and its `data:` that event as JSON. \
    Comment lines keep the connection alive. The stream ends when the session ends.";

/// Completes the document as described in the module docs.
#[must_use]
pub fn complete(mut doc: Value) -> Value {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return doc;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (_method, op) in item.iter_mut() {
            if let Some(op) = op.as_object_mut() {
                complete_operation(path, op);
            }
        }
    }
    doc
}

fn error_response(status: &str) -> Value {
    json!({
        "description": default_description(status),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}
    })
}

fn bytes_schema(media: &str) -> Value {
    json!({"type": "string", "contentMediaType": media})
}

fn complete_operation(path: &str, op: &mut Map<String, Value>) {
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let json_body = op
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object)
        .is_some_and(|c| c.contains_key("application/json"));
    let has_body = op.contains_key("requestBody");
    let has_query = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));

    // Binary bodies are bytes.
    if let Some(content) = op
        .get_mut("requestBody")
        .and_then(|b| b.get_mut("content"))
        .and_then(Value::as_object_mut)
    {
        for (media, c) in content.iter_mut() {
            if media.starts_with("image/") {
                c["schema"] = bytes_schema(media);
            }
        }
    }

    let responses = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    let Some(responses) = responses else {
        return;
    };
    let mut wanted = vec!["400"];
    if secured {
        wanted.push("401");
    }
    if has_body {
        wanted.push("413");
    }
    if json_body {
        wanted.extend(["415", "422"]);
    }
    if has_query {
        wanted.push("422");
    }
    for status in wanted {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| error_response(status));
    }
    for (status, response) in responses.iter_mut() {
        let Some(response) = response.as_object_mut() else {
            continue;
        };
        let empty = response
            .get("description")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if empty {
            response.insert(
                "description".into(),
                Value::from(default_description(status)),
            );
        }
        if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) {
            for (media, c) in content.iter_mut() {
                if media.starts_with("image/") {
                    c["schema"] = bytes_schema(media);
                }
            }
        }
    }
    if path == "/api/v1/events"
        && let Some(ok) = responses.get_mut("200").and_then(Value::as_object_mut)
    {
        ok.insert("description".into(), Value::from(EVENTS_DESCRIPTION));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> Value {
        complete(serde_json::to_value(super::super::openapi_router().1).unwrap())
    }

    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                out.push((path.clone(), method.clone(), op.clone()));
            }
        }
        out
    }

    #[test]
    fn operation_ids_are_unique() {
        let doc = document();
        let mut ids: Vec<String> = operations(&doc)
            .iter()
            .map(|(_, _, op)| op["operationId"].as_str().unwrap().to_owned())
            .collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate operationIds");
    }

    #[test]
    fn every_response_is_described_and_errors_are_documented() {
        let doc = document();
        for (path, method, op) in operations(&doc) {
            let responses = op["responses"].as_object().unwrap();
            for (status, r) in responses {
                assert!(
                    r["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status}"
                );
            }
            assert!(responses.contains_key("400"), "{method} {path}");
            if op.get("security").is_some() {
                assert!(responses.contains_key("401"), "{method} {path}");
            }
            if op.get("requestBody").is_some() {
                assert!(responses.contains_key("413"), "{method} {path}");
            }
        }
    }

    #[test]
    fn image_bodies_are_bytes() {
        let doc = document();
        let upload = &doc["paths"]["/api/v1/screenshots/{id}"]["put"]["requestBody"]["content"]["image/webp"]
            ["schema"];
        assert_eq!(
            upload,
            &json!({"type": "string", "contentMediaType": "image/webp"})
        );
        let image = &doc["paths"]["/api/v1/screenshots/{id}/image"]["get"]["responses"]["200"]["content"]
            ["image/webp"]["schema"];
        assert_eq!(
            image,
            &json!({"type": "string", "contentMediaType": "image/webp"})
        );
    }

    /// The contract states the limits the service enforces (`shotclock_api::limits`), and every
    /// free-text or credential field a client sends has one.
    #[test]
    fn request_fields_state_the_enforced_limits() {
        use shotclock_api::limits;
        let doc = document();
        let field = |schema: &str, name: &str| {
            doc["components"]["schemas"][schema]["properties"][name].clone()
        };
        let max = |schema: &str, name: &str| field(schema, name)["maxLength"].as_u64();
        let n = |v: usize| Some(v as u64);
        for (schema, name, limit) in [
            ("LoginRequest", "email", limits::EMAIL_CHARS),
            ("LoginRequest", "password", limits::PASSWORD_MAX_CHARS),
            ("SignupRequest", "workspace_name", limits::NAME_CHARS),
            ("SignupRequest", "name", limits::NAME_CHARS),
            ("SignupRequest", "email", limits::EMAIL_CHARS),
            ("SignupRequest", "password", limits::PASSWORD_MAX_CHARS),
            ("AddMemberRequest", "email", limits::EMAIL_CHARS),
            ("AddMemberRequest", "name", limits::NAME_CHARS),
            ("AddMemberRequest", "password", limits::PASSWORD_MAX_CHARS),
            (
                "StartTimerRequest",
                "description",
                limits::DESCRIPTION_CHARS,
            ),
            ("EntryPatch", "description", limits::DESCRIPTION_CHARS),
            ("NewEntry", "description", limits::DESCRIPTION_CHARS),
            ("ApprovePeriod", "time_zone", limits::TIME_ZONE_CHARS),
            ("BlockRule", "pattern", limits::BLOCK_PATTERN_CHARS),
        ] {
            assert_eq!(max(schema, name), n(limit), "{schema}.{name}");
        }
        assert_eq!(
            doc["components"]["schemas"]["WorkspaceBlocklist"]["properties"]["rules"]["maxItems"]
                .as_u64(),
            n(limits::BLOCK_RULES),
            "WorkspaceBlocklist.rules"
        );
        for schema in ["SignupRequest", "AddMemberRequest"] {
            assert_eq!(
                field(schema, "password")["minLength"].as_u64(),
                n(limits::PASSWORD_MIN_CHARS),
                "{schema}.password"
            );
            assert_eq!(field(schema, "email")["format"], "email", "{schema}.email");
        }
        // Every string a request body carries has a limit (ids, instants and enums have a
        // format or a closed set instead).
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            if !name.ends_with("Request") && name != "BlockRule" {
                continue;
            }
            for (prop, s) in schema["properties"].as_object().into_iter().flatten() {
                let typed = |t: &str| {
                    s["type"] == t
                        || s["type"]
                            .as_array()
                            .is_some_and(|a| a.contains(&Value::from(t)))
                };
                if typed("string") && s.get("format").is_none() && s.get("enum").is_none() {
                    assert!(
                        s.get("maxLength").is_some(),
                        "{name}.{prop} has no maxLength"
                    );
                }
            }
        }
        // The day queries: a date, and a bounded zone name.
        for path in ["/api/v1/screenshots", "/api/v1/screenshots/counts"] {
            let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
            let param = |n: &str| params.iter().find(|p| p["name"] == n).unwrap()["schema"].clone();
            assert_eq!(param("date")["format"], "date", "{path} date");
            assert_eq!(
                param("tz")["maxLength"].as_u64(),
                n(limits::TIME_ZONE_CHARS),
                "{path} tz"
            );
        }
    }
}
