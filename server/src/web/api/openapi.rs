//! `GET /api/v1/openapi.json`, generated from the handlers' annotations and the types they
//! use, so the description cannot drift from the code; `contract` adds the request rules.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    accounts, addresses, error, messages, notifications, owners, rules, sample, settings,
    unreachable,
};
use crate::service::AppService;

#[derive(OpenApi)]
#[openapi(
    info(title = "mailvend", description = "Vend email addresses and manage their mappings."),
    paths(
        addresses::vend,
        addresses::list,
        addresses::get,
        addresses::patch,
        addresses::delete,
        sample::vend,
        messages::list,
        messages::get,
        messages::replay,
        messages::release,
        rules::get,
        rules::put,
        rules::dry_run,
        notifications::list,
        notifications::add,
        notifications::remove,
        notifications::test,
        notifications::deliveries,
        settings::get,
        settings::patch,
        unreachable::list,
        unreachable::clear,
        owners::reassign,
        owners::suspend,
        accounts::sync,
        accounts::last_sync,
        accounts::list,
        accounts::adopt,
        accounts::move_many,
        accounts::move_one,
        accounts::jobs,
        accounts::job,
        accounts::retry,
    ),
    components(schemas(error::ErrorResponse, error::ErrorDetail)),
    modifiers(&BearerAuth, &CommonResponses),
    tags(
        (name = "addresses", description = "Vended addresses and their mappings"),
        (name = "messages", description = "The log of received mail, one record per recipient"),
        (name = "settings", description = "Run-time settings: catch-all and spam policy"),
        (name = "notifications", description = "Channels that tell admins of dead letters, held mail, unreachable owners and organization drift, and their delivery log"),
        (name = "recipients", description = "Recipient mailboxes marked unreachable by a bounce or complaint"),
        (name = "owners", description = "Bulk actions on every mapping of one owner, for when people leave"),
        (name = "accounts", description = "The AWS organization's accounts, each judged against the mappings (needs MAILVEND_ORGANIZATIONS=on)")
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("mvt_<id>_<secret>")
                    .description(Some("An API token from `mailvend token create`"))
                    .build(),
            ),
        );
    }
}

/// What any route may answer, said once here so no route can be added without it: 401 and 429
/// (`auth::limits`) and 503 (the store is unavailable) everywhere; 400, 413, 415 and 422 where
/// a JSON body is read (`json::ApiJson`).
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{
            ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, ResponseBuilder, Type,
        };
        let error = |description: &str| {
            ResponseBuilder::new().description(description).content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorResponse")))
                    .build(),
            )
        };
        let seconds = |description: &str| {
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1)),
                )
                .description(Some(description))
                .build()
        };
        let everywhere = [
            (
                "401",
                error("No token, or one that is invalid, revoked or expired")
                    .header(
                        "WWW-Authenticate",
                        HeaderBuilder::new()
                            .schema(ObjectBuilder::new().schema_type(Type::String))
                            .build(),
                    )
                    .build(),
            ),
            (
                "429",
                error(
                    "Too many requests from this client (MAILVEND_RATE_LIMIT a minute); try \
                     again after Retry-After seconds",
                )
                .header(
                    "Retry-After",
                    seconds("Seconds until a request may succeed"),
                )
                .build(),
            ),
            ("503", error("The store is unavailable; try again").build()),
        ];
        let with_body = [
            ("400", error("The body is not valid JSON").build()),
            ("413", error("The body is too large").build()),
            (
                "415",
                error("The body is not sent as Content-Type: application/json").build(),
            ),
            (
                "422",
                error("The body breaks a rule of its schema; `field` names where").build(),
            ),
        ];
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let reads_body = op.request_body.is_some();
                let responses = &mut op.responses.responses;
                for (status, response) in &everywhere {
                    responses.insert(status.to_string(), response.clone().into());
                }
                if reads_body {
                    for (status, response) in &with_body {
                        responses.insert(status.to_string(), response.clone().into());
                    }
                }
            }
        }
    }
}

/// Public: the description holds no data, and clients need it before they have a token.
pub async fn serve(
    axum::extract::State(service): axum::extract::State<std::sync::Arc<AppService>>,
) -> Json<serde_json::Value> {
    Json(super::contract::document(service.vend_rules()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_lists_the_common_answers() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let r = &op["responses"];
                assert!(
                    r["429"]["headers"]["Retry-After"].is_object(),
                    "{method} {path}"
                );
                assert!(
                    r["401"]["headers"]["WWW-Authenticate"].is_object(),
                    "{method} {path}"
                );
                assert!(r["503"].is_object(), "{method} {path}");
                let body = op["requestBody"].is_object();
                for status in ["400", "413", "415", "422"] {
                    assert!(!body || r[status].is_object(), "{method} {path} {status}");
                }
                operations += 1;
            }
        }
        assert_eq!(operations, 33);
    }

    #[test]
    fn every_route_and_schema_is_described() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for (path, methods) in [
            ("/api/v1/addresses", &["get", "post"][..]),
            (
                "/api/v1/addresses/{address}",
                &["get", "patch", "delete"][..],
            ),
            ("/api/v1/vend", &["post"][..]),
            ("/api/v1/messages", &["get"][..]),
            ("/api/v1/messages/{id}", &["get"][..]),
            ("/api/v1/messages/{id}/replay", &["post"][..]),
            ("/api/v1/messages/{id}/release", &["post"][..]),
            ("/api/v1/settings", &["get", "patch"][..]),
            ("/api/v1/rules", &["get", "put"][..]),
            ("/api/v1/rules/dry-run", &["post"][..]),
            ("/api/v1/notifications/channels", &["get", "post"][..]),
            ("/api/v1/notifications/channels/{id}", &["delete"][..]),
            ("/api/v1/notifications/channels/{id}/test", &["post"][..]),
            ("/api/v1/notifications/deliveries", &["get"][..]),
            ("/api/v1/unreachable", &["get"][..]),
            ("/api/v1/unreachable/{recipient}", &["delete"][..]),
            ("/api/v1/owners/{owner}/reassign", &["post"][..]),
            ("/api/v1/owners/{owner}/suspend", &["post"][..]),
            ("/api/v1/accounts", &["get"][..]),
            ("/api/v1/accounts/sync", &["get", "post"][..]),
            ("/api/v1/accounts/{account_id}/adopt", &["post"][..]),
            ("/api/v1/accounts/move", &["post"][..]),
            ("/api/v1/accounts/jobs", &["get"][..]),
            ("/api/v1/accounts/{account_id}/move", &["post"][..]),
            ("/api/v1/accounts/{account_id}/job", &["get"][..]),
            ("/api/v1/accounts/{account_id}/job/retry", &["post"][..]),
        ] {
            for m in methods {
                assert!(doc["paths"][path][m].is_object(), "{m} {path} missing");
            }
        }
        let schemas = &doc["components"]["schemas"];
        for name in [
            "Mapping",
            "MappingStatus",
            "VendRequest",
            "MappingPatch",
            "SampleVend",
            "Settings",
            "SettingsPatch",
            "Report",
            "ErrorResponse",
            "Unreachable",
            "BulkChange",
            "OrgAccount",
            "AccountState",
            "Drift",
            "LinkedAccount",
            "SyncSummary",
            "Adopt",
            "MoveRequest",
            "MoveOne",
            "MoveResults",
            "MoveResult",
            "Channel",
            "ChannelCreated",
            "NewChannelBody",
            "NotificationDelivery",
            "RootEmailJob",
            "JobState",
        ] {
            assert!(schemas[name].is_object(), "schema {name} missing");
        }
        // The never-accepted fields are not advertised.
        assert!(schemas["MappingPatch"]["properties"]["address"].is_null());
        assert_eq!(
            doc["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }
}
