//! `POST /api/v1/vend`: the AWS sample's payload, accepted unchanged, so existing vending
//! pipelines switch by changing only the URL (and adding a token).

use std::sync::Arc;

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, ErrorResponse};
use super::json::ApiJson;
use crate::service::caller::VendCaller;
use crate::service::vending::VendRequest;
use crate::service::AppService;
use crate::service::ServiceError;

/// The sample's request. Unknown keys are ignored, as the sample did.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SampleVend {
    #[serde(rename = "OwnerAddress")]
    owner: String,
    #[serde(rename = "AccountType")]
    account_type: String,
    /// `BusinessUnit`, `ApplicationName`, `Environment`, and anything else (kept as tags).
    /// The sample's table stores nulls here; they are dropped.
    #[serde(rename = "Tags", default)]
    tags: BTreeMap<String, Option<String>>,
    #[serde(rename = "AccountName", default)]
    account_name: Option<String>,
    #[serde(rename = "AccountEmail", default)]
    account_email: Option<String>,
    #[serde(rename = "IdempotencyKey", default)]
    idempotency_key: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SampleVended {
    #[serde(rename = "AccountName")]
    account_name: String,
    #[serde(rename = "AccountEmail")]
    account_email: String,
    #[serde(rename = "AccountType")]
    account_type: String,
    #[serde(rename = "OwnerAddress")]
    owner: String,
    #[serde(rename = "Status")]
    status: String,
}

impl SampleVend {
    /// Tag keys follow the tag rules even when their value is null (and dropped), so what the
    /// OpenAPI description says of `Tags`' keys holds for every key.
    fn check_keys(&self) -> Result<(), ServiceError> {
        let keys: BTreeMap<String, String> = self
            .tags
            .keys()
            .map(|k| (k.clone(), String::new()))
            .collect();
        crate::service::vending::check_tags(&keys).map_err(|e| ServiceError::Invalid {
            field: e.field.to_string(),
            message: e.message,
        })
    }

    fn into_request(self) -> VendRequest {
        let tags: BTreeMap<String, String> = self
            .tags
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        VendRequest {
            owner: self.owner,
            recipients: Vec::new(),
            account_type: self.account_type,
            business_unit: tags.get("BusinessUnit").cloned(),
            application: tags.get("ApplicationName").cloned(),
            environment: tags.get("Environment").cloned(),
            tags,
            account_name: self.account_name,
            address: self.account_email,
            idempotency_key: self.idempotency_key,
        }
    }
}

/// Our field names in the sample's vocabulary, so its callers can find what to fix.
fn sample_field(field: &str) -> &str {
    match field {
        "owner" => "OwnerAddress",
        "account_type" => "AccountType",
        "business_unit" => "Tags.BusinessUnit",
        "application" => "Tags.ApplicationName",
        "environment" => "Tags.Environment",
        "tags" => "Tags",
        "account_name" => "AccountName",
        "address" => "AccountEmail",
        "idempotency_key" => "IdempotencyKey",
        other => other,
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/vend",
    operation_id = "vendSample",
    tag = "addresses",
    request_body = SampleVend,
    responses(
        (status = 201, description = "Vended", body = SampleVended),
        (status = 200, description = "An idempotency key replayed the first result", body = SampleVended),
        (status = 403, description = "A vend-scope token chose the address (AccountEmail) without MAILVEND_VEND_TOKEN_ADDRESS_OVERRIDE, or one that has received mail", body = ErrorResponse),
        (status = 409, description = "The chosen address or account name is taken (an idempotency key never conflicts: a repeat returns the first mapping, whatever the rest of the body says)", body = ErrorResponse),
    ),
    security(("bearer" = []))
)]
pub async fn vend(
    State(service): State<Arc<AppService>>,
    caller: VendCaller,
    ApiJson(body): ApiJson<SampleVend>,
) -> Result<Response, ApiError> {
    let vended = async {
        body.check_keys()?;
        service.vend(&caller, &body.into_request()).await
    }
    .await
    .map_err(|e| match e {
        ServiceError::Invalid { field, message } => ServiceError::Invalid {
            field: sample_field(&field).to_string(),
            message,
        },
        ServiceError::Forbidden { field, message } => ServiceError::Forbidden {
            field: sample_field(&field).to_string(),
            message,
        },
        other => other,
    })?;
    let m = vended.mapping;
    let status = if vended.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = SampleVended {
        account_name: m.account_name,
        account_email: m.address,
        account_type: m.account_type,
        owner: m.owner,
        status: m.status.as_str().to_string(),
    };
    Ok((status, Json(body)).into_response())
}
