//! `GET /api/v1/openapi.json`, generated from the handlers' annotations and the types they
//! use, so the description cannot drift from the code.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{addresses, error, messages, sample, settings};

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
        settings::get,
        settings::patch,
    ),
    components(schemas(error::ErrorResponse, error::ErrorDetail)),
    modifiers(&BearerAuth, &RateLimited),
    tags(
        (name = "addresses", description = "Vended addresses and their mappings"),
        (name = "messages", description = "The log of received mail, one record per recipient"),
        (name = "settings", description = "Run-time settings: catch-all and spam policy")
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

/// Every API route may answer 429 (`auth::limits`): said once here for all of them, so no
/// route can be added without it.
struct RateLimited;

impl Modify for RateLimited {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{
            ContentBuilder, HeaderBuilder, ObjectBuilder, Ref, ResponseBuilder, Type,
        };
        let response = ResponseBuilder::new()
            .description(
                "Too many requests from this client (MAILVEND_RATE_LIMIT a minute); try again \
                 after Retry-After seconds",
            )
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorResponse")))
                    .build(),
            )
            .header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(1)),
                    )
                    .description(Some("Seconds until a request may succeed"))
                    .build(),
            )
            .build();
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
                op.responses
                    .responses
                    .insert("429".into(), response.clone().into());
            }
        }
    }
}

/// Public: the description holds no data, and clients need it before they have a token.
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_says_it_may_be_rate_limited() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let r = &op["responses"]["429"];
                assert!(r.is_object(), "{method} {path} has no 429");
                assert!(r["headers"]["Retry-After"].is_object(), "{method} {path}");
                operations += 1;
            }
        }
        assert_eq!(operations, 11);
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
            ("/api/v1/settings", &["get", "patch"][..]),
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
