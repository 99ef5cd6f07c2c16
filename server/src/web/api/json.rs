//! A JSON body extractor whose rejections use the API's error shape and name the field
//! (via serde_path_to_error) instead of axum's plain-text messages.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;

use super::error::ApiError;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                let v = v.trim();
                v.eq_ignore_ascii_case("application/json") || v.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "the body is too large",
                )
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "could not read the body",
                )
            }
        })?;
        parse(&bytes).map(ApiJson)
    }
}

/// Deserializes `bytes`, reporting syntax errors as 400 and shape errors as 422 with the
/// path of the offending field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {inner}"),
            )
        } else {
            let field = if path == "." {
                "body".to_string()
            } else {
                path
            };
            ApiError::invalid(field, inner.to_string())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        owner: String,
        tags: std::collections::BTreeMap<String, String>,
    }

    #[test]
    fn errors_name_the_field_and_status() {
        let e = parse::<Body>(b"{not json").unwrap_err();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::BAD_REQUEST, "malformed_json")
        );
        let e = parse::<Body>(br#"{"owner": 5, "tags": {}}"#).unwrap_err();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.field.as_deref(), Some("owner"));
        let e = parse::<Body>(br#"{"owner": "a", "tags": {"k": 1}}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("tags.k"));
        let e = parse::<Body>(br#"{"tags": {}}"#).unwrap_err();
        assert!(e.message.contains("missing field `owner`"), "{e:?}");
        let e = parse::<Body>(br#"{"owner": "a", "tags": {}, "extra": 1}"#).unwrap_err();
        assert!(e.message.contains("unknown field `extra`"), "{e:?}");
    }
}
