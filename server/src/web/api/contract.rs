//! The OpenAPI description as this server serves it: the handlers' annotations (`ApiDoc`)
//! completed with every rule the server enforces on a request, so a generic client
//! (schemathesis, a code generator) can build requests the server accepts and knows which it
//! refuses. Some rules depend on the configuration (the domain, the account types, the
//! reserved names, the counter width), so the description is made per server.
//!
//! Each pattern here mirrors a validator, and the tests hold them together: a table of inputs
//! goes through both and must get the same answer. `scripts/api-contract.sh` runs schemathesis
//! against a live server from this description.

use std::sync::OnceLock;

use crate::service::text::is_hidden;
use crate::service::vending::VendRules;
use serde_json::{json, Value};

/// A literal matched in any ASCII case, as the server compares it.
fn ci(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
            } else if "\\.+*?()|[]{}^$".contains(c) {
                format!("\\{c}")
            } else if c.is_ascii_graphic() {
                c.to_string()
            } else {
                escape(c)
            }
        })
        .collect()
}

/// A code point as Python's `re` and Rust's `regex` both read it.
fn escape(c: char) -> String {
    match c as u32 {
        n @ 0..=0xFFFF => format!("\\u{n:04X}"),
        n => format!("\\U{n:08X}"),
    }
}

/// Atom characters of a mail address's local part (RFC 5322 `atext`), as a class body.
const ATEXT: &str = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-";
/// `atext` without what AWS refuses in an account's email (`vending::aws_refuses`).
const AWS_ATEXT: &str = "A-Za-z0-9!#$*+/=?^_`{}~-";
/// One DNS label (`address::parse_domain`).
const LABEL: &str = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
/// `parse_mailbox`'s length rules, as patterns a generator can satisfy without look-ahead:
/// a local part of at most 64 octets, a domain of at most 253 (trailing dots aside).
const LOCAL_AT_MOST_64: &str = "^[^@]{1,64}@";
const DOMAIN_AT_MOST_253: &str = "@[^@]{1,253}\\.*$";
/// A value left blank, which the server reads as absent.
const BLANK: &str = "^ *$";

/// Characters `service::text::hidden_char` refuses (control and format characters), as a
/// class body; computed once from the same Unicode tables.
fn hidden_class(allowed: &[char]) -> String {
    static ALL: OnceLock<Vec<(char, char)>> = OnceLock::new();
    let ranges = ALL.get_or_init(|| ranges_where(is_hidden));
    class_body(ranges, allowed)
}

/// Whitespace `str::trim` removes that is not already hidden: a tag key of only these is
/// blank.
fn blank_class() -> String {
    static ALL: OnceLock<Vec<(char, char)>> = OnceLock::new();
    let ranges = ALL.get_or_init(|| ranges_where(|c| c.is_whitespace() && !is_hidden(c)));
    class_body(ranges, &[])
}

fn ranges_where(keep: impl Fn(char) -> bool) -> Vec<(char, char)> {
    let mut ranges: Vec<(char, char)> = Vec::new();
    for c in (0..=0x10FFFFu32)
        .filter_map(char::from_u32)
        .filter(|c| keep(*c))
    {
        match ranges.last_mut() {
            Some((_, end)) if *end as u32 + 1 == c as u32 => *end = c,
            _ => ranges.push((c, c)),
        }
    }
    ranges
}

fn class_body(ranges: &[(char, char)], allowed: &[char]) -> String {
    let mut out = String::new();
    for &(a, b) in ranges {
        // Split around the allowed characters (tabs and newlines in notes).
        let mut start = a as u32;
        for c in a as u32..=b as u32 {
            if allowed.iter().any(|x| *x as u32 == c) {
                push_range(&mut out, start, c.wrapping_sub(1), c > start);
                start = c + 1;
            }
        }
        push_range(&mut out, start, b as u32, start <= b as u32);
    }
    out
}

fn push_range(out: &mut String, a: u32, b: u32, nonempty: bool) {
    if !nonempty {
        return;
    }
    let (a, b) = (char::from_u32(a).unwrap(), char::from_u32(b).unwrap());
    out.push_str(&escape(a));
    if b != a {
        out.push('-');
        out.push_str(&escape(b));
    }
}

/// The patterns of one server's description; each is tested against its validator.
pub struct Patterns {
    pub mailbox: String,
    pub on_domain: String,
    pub address: String,
    pub name: String,
    pub reserved_address: Option<String>,
    pub reserved_name: Option<String>,
    pub account_type: String,
    /// The list's filter: an account type, or blank for all.
    pub account_type_filter: String,
    pub environment: String,
    pub tag_key: String,
    pub tag_value: String,
    pub notes: String,
    pub parts_limit: usize,
    pub name_limit: usize,
}

impl Patterns {
    pub fn new(rules: &VendRules) -> Self {
        let domain = ci(&rules.domain);
        let alternatives = |items: &mut dyn Iterator<Item = String>| {
            let all: Vec<String> = items.collect();
            format!("({})", all.join("|"))
        };
        let reserved = (!rules.reserved.is_empty())
            .then(|| alternatives(&mut rules.reserved.iter().map(|r| ci(r))));
        let environments: Vec<String> = app::naming::Environment::ALL
            .iter()
            .flat_map(|e| [e.long(), e.short()])
            .map(ci)
            .collect();
        let hidden = hidden_class(&[]);
        let types = alternatives(&mut rules.account_types.iter().map(|t| ci(t)));
        Patterns {
            mailbox: format!("^[{ATEXT}]+(\\.[{ATEXT}]+)*@{LABEL}(\\.{LABEL})+\\.*$"),
            on_domain: format!("@{domain}\\.*$"),
            address: format!("^[{AWS_ATEXT}]+(\\.[{AWS_ATEXT}]+)*@{domain}\\.*$"),
            name: "^[A-Za-z0-9_+-]+(\\.[A-Za-z0-9_+-]+)*$".to_string(),
            reserved_address: reserved.as_ref().map(|r| format!("^{r}(\\+[^@]*)?@")),
            reserved_name: reserved.as_ref().map(|r| format!("^{r}(\\+.*)?$")),
            account_type: format!("^{types}$"),
            account_type_filter: format!("^( *|{types})$"),
            environment: format!("^( *|{})$", environments.join("|")),
            tag_key: format!("^[^{hidden}]*[^{hidden}{}][^{hidden}]*$", blank_class()),
            tag_value: format!("^[^{hidden}]*$"),
            notes: format!("^[^{}]*$", hidden_class(&['\n', '\t'])),
            parts_limit: rules.parts_limit(),
            name_limit: rules.name_limit(),
        }
    }

    fn owner(&self) -> Value {
        json!({
            "type": "string",
            "description": "One mailbox (no display name), not on the served domain: its mail \
                            would come back here.",
            "pattern": self.mailbox,
            "allOf": [{"pattern": LOCAL_AT_MOST_64}, {"pattern": DOMAIN_AT_MOST_253}],
            "not": {"pattern": self.on_domain},
            "examples": ["jdoe@corp.example"],
        })
    }

    /// `address` / `AccountEmail`: blank, null, or an address on the domain AWS accepts.
    fn address(&self) -> Value {
        let mut chosen = json!({
            "type": "string",
            "pattern": self.address,
            "minLength": 6,
            "maxLength": app::naming::MAX_ADDRESS,
        });
        if let Some(r) = &self.reserved_address {
            chosen["not"] = json!({"pattern": r});
        }
        json!({
            "type": ["string", "null"],
            "description": "Choose the address instead of generating one: on the served domain, \
                            not reserved (role and validation mailboxes, the from and admin \
                            addresses, MAILVEND_RESERVED_ADDRESSES), without % & ' |. Blank or \
                            null: generate.",
            "anyOf": [{"type": "null"}, {"type": "string", "pattern": BLANK}, chosen],
        })
    }

    /// A mapping's other recipients: up to four mailboxes by the owner's rules.
    fn recipients(&self) -> Value {
        json!({
            "type": "array",
            "maxItems": app::model::MAX_RECIPIENTS,
            "items": self.owner(),
            "description": "Up to four more mailboxes that get every message too, each its own \
                            copy and record. Lower-cased; a repeat, or the owner, is dropped \
                            (they get the mail already).",
        })
    }

    fn account_name(&self) -> Value {
        let mut named = json!({
            "type": "string",
            "pattern": self.name,
            "maxLength": self.name_limit,
        });
        if let Some(r) = &self.reserved_name {
            named["not"] = json!({"pattern": r});
        }
        json!({
            "type": ["string", "null"],
            "description": "Choose the account name (and, without `address`, the address \
                            `<name>@<domain>`): letters, digits and - _ . +, checked as a local \
                            part whether or not `address` is given. Blank or null: generate from \
                            business unit, application and environment.",
            "anyOf": [{"type": "null"}, {"type": "string", "pattern": BLANK}, named],
        })
    }

    fn account_type(&self) -> Value {
        json!({
            "type": "string",
            "description": "One of the configured account types (MAILVEND_ACCOUNT_TYPES), in any case.",
            "pattern": self.account_type,
        })
    }

    /// `business_unit` / `application` when the name is generated from them.
    fn part(&self) -> Value {
        json!({"type": "string", "maxLength": self.parts_limit - 1, "pattern": "[A-Za-z0-9]"})
    }

    /// Their limit together, as the splits of `parts_limit` (JSON Schema cannot add lengths).
    fn parts_fit(&self, first: &str, second: &str) -> Value {
        let splits: Vec<Value> = (1..self.parts_limit)
            .map(|n| {
                json!({"properties": {
                    first: {"maxLength": n},
                    second: {"maxLength": self.parts_limit - n},
                }})
            })
            .collect();
        Value::Array(splits)
    }

    fn environment(&self) -> Value {
        json!({"anyOf": [{"type": "null"}, {"type": "string", "pattern": self.environment}]})
    }

    fn tags(&self, nullable_values: bool) -> Value {
        let value_type = if nullable_values {
            json!(["string", "null"])
        } else {
            json!("string")
        };
        json!({
            "type": "object",
            "description": "At most 50 tags; keys 1 to 128 characters, values at most 256, \
                            without control or invisible formatting characters (AWS's tag limits).",
            "maxProperties": 50,
            "propertyNames": {"minLength": 1, "maxLength": 128, "pattern": self.tag_key},
            "additionalProperties": {"type": value_type, "maxLength": 256, "pattern": self.tag_value},
        })
    }

    fn idempotency_key() -> Value {
        json!({
            "type": ["string", "null"],
            "description": "Repeating a request with the same key returns the first result \
                            (200) instead of vending again: 1 to 128 printable ASCII characters \
                            without spaces.",
            "pattern": "^( *|[!-~]{1,128})$",
        })
    }

    /// Either a name is given, or the name is generated from its parts.
    fn naming_choice(&self, name: &str, parts: Value) -> Value {
        json!([
            {"required": [name], "properties": {name: {"type": "string", "pattern": "[^ ]"}}},
            parts,
        ])
    }
}

/// The description this server serves at `/api/v1/openapi.json`.
pub fn document(rules: &VendRules) -> Value {
    use utoipa::OpenApi as _;
    let mut doc = serde_json::to_value(super::openapi::ApiDoc::openapi())
        .expect("the OpenAPI description serializes");
    let p = Patterns::new(rules);
    let schemas = &mut doc["components"]["schemas"];

    let vend = &mut schemas["VendRequest"];
    let props = &mut vend["properties"];
    props["owner"] = p.owner();
    props["recipients"] = p.recipients();
    props["account_type"] = p.account_type();
    props["address"] = p.address();
    props["account_name"] = p.account_name();
    props["tags"] = p.tags(false);
    props["idempotency_key"] = Patterns::idempotency_key();
    props["business_unit"]["description"] = json!(format!(
        "Required unless `account_name` is given: with a letter or digit; business_unit and \
         application together at most {} characters.",
        p.parts_limit
    ));
    props["application"]["description"] = props["business_unit"]["description"].clone();
    props["environment"]["description"] = json!(
        "DEVELOPMENT, EVALUATION, PRODUCTION, QUALITYASSURANCE, TRAINING or VALIDATION (or dev, \
         eval, prod, qa, trn, val), any case; blank or null means EVALUATION."
    );
    vend["anyOf"] = p.naming_choice(
        "account_name",
        json!({
            "required": ["business_unit", "application"],
            "properties": {
                "business_unit": p.part(),
                "application": p.part(),
                "environment": p.environment(),
            },
            "anyOf": p.parts_fit("business_unit", "application"),
        }),
    );

    let sample = &mut schemas["SampleVend"];
    let props = &mut sample["properties"];
    props["OwnerAddress"] = p.owner();
    props["AccountType"] = p.account_type();
    props["AccountEmail"] = p.address();
    props["AccountName"] = p.account_name();
    props["IdempotencyKey"] = Patterns::idempotency_key();
    let description = props["Tags"]["description"].clone();
    props["Tags"] = p.tags(true);
    props["Tags"]["description"] = description;
    // Named too (with the same rules as any tag), so generators know the keys the naming
    // choice below asks for.
    let any_tag = props["Tags"]["additionalProperties"].clone();
    props["Tags"]["properties"] = json!({
        "BusinessUnit": any_tag,
        "ApplicationName": any_tag,
        "Environment": any_tag,
    });
    let mut part = p.part();
    part["allOf"] = json!([{"pattern": p.tag_value}]);
    sample["anyOf"] = p.naming_choice(
        "AccountName",
        json!({
            "required": ["Tags"],
            "properties": {"Tags": {
                "required": ["BusinessUnit", "ApplicationName"],
                "properties": {
                    "BusinessUnit": part,
                    "ApplicationName": part,
                    "Environment": p.environment(),
                },
                "anyOf": p.parts_fit("BusinessUnit", "ApplicationName"),
            }},
        }),
    );

    let patch = &mut schemas["MappingPatch"];
    patch["minProperties"] = json!(1);
    let props = &mut patch["properties"];
    props["owner"] = p.owner();
    props["recipients"] = p.recipients();
    props["recipients"]["description"] =
        json!("Replaces the whole list (`[]`: the owner alone). Up to four mailboxes.");
    props["account_type"] = p.account_type();
    props["status"] = json!({"type": "string", "enum": ["active", "suspended"],
        "description": "To delete, use DELETE."});
    props["tags"] = p.tags(false);
    props["tags"]["description"] = json!(
        "Replaces all the tags. At most 50; keys 1 to 128 \
        characters, values at most 256, without control or invisible formatting characters."
    );
    props["aws_account_id"]["pattern"] = json!("^[0-9]{12}$");
    props["notes"]["maxLength"] = json!(2000);
    props["notes"]["pattern"] = json!(p.notes);

    // Routing rules: what JSON Schema can say of them. Whether a regular expression compiles,
    // and whether an address is on the served domain, it cannot: those are 422s naming the
    // rule and field (scripts/schemathesis.toml lets the contract run expect them there).
    schemas["RoutingRules"]["properties"]["rules"]["maxItems"] =
        json!(crate::inbound::rules::MAX_RULES);
    let rule = &mut schemas["RoutingRule"]["properties"];
    rule["name"]["minLength"] = json!(1);
    rule["name"]["maxLength"] = json!(crate::inbound::rules::MAX_NAME);
    // Something besides spaces, and no control character.
    rule["name"]["pattern"] =
        json!("^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$");
    let matcher = &mut schemas["RuleMatch"]["properties"]["value"];
    matcher["minLength"] = json!(1);
    matcher["maxLength"] = json!(crate::inbound::rules::MAX_PATTERN);
    schemas["Reassign"]["properties"]["to"] = p.owner();
    let adopt = &mut schemas["Adopt"]["properties"];
    adopt["owner"] = p.owner();
    adopt["account_type"] = json!({"anyOf": [{"type": "null"}, p.account_type()],
        "description": "One of the configured account types; the first when absent or null."});
    for (path, item) in doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|p| p.iter_mut())
    {
        let bulk = path.starts_with("/api/v1/owners/");
        for op in item
            .as_object_mut()
            .into_iter()
            .flat_map(|o| o.values_mut())
        {
            let params = op.get_mut("parameters").and_then(Value::as_array_mut);
            for param in params.into_iter().flatten() {
                if bulk && param["name"] == "owner" {
                    // Any one mailbox (a leaver may have been on the served domain).
                    param["schema"] = json!({
                        "type": "string",
                        "pattern": p.mailbox,
                        "allOf": [{"pattern": LOCAL_AT_MOST_64}, {"pattern": DOMAIN_AT_MOST_253}],
                    });
                    continue;
                }
                let pattern = match param["name"].as_str() {
                    Some("cursor") => crate::store::paging::CURSOR_PATTERN.to_string(),
                    Some("from" | "to") => crate::service::DAY_PATTERN.to_string(),
                    Some("account_type") => p.account_type_filter.clone(),
                    Some("account_id") => "^[0-9]{12}$".to_string(),
                    _ => continue,
                };
                param["schema"]["pattern"] = json!(pattern);
            }
        }
    }
    add_links(&mut doc);
    doc
}

/// Stateful clients follow these: a vended address to its reads and edits, a page of the
/// message log to a message and its replay.
fn add_links(doc: &mut Value) {
    let address_links = |at: &str| {
        json!({
            "getAddress": {"operationId": "getAddress", "parameters": {"address": at}},
            "patchAddress": {"operationId": "patchAddress", "parameters": {"address": at}},
            "deleteAddress": {"operationId": "deleteAddress", "parameters": {"address": at}},
        })
    };
    let paths = &mut doc["paths"];
    for status in ["200", "201"] {
        paths["/api/v1/addresses"]["post"]["responses"][status]["links"] =
            address_links("$response.body#/address");
        paths["/api/v1/vend"]["post"]["responses"][status]["links"] =
            address_links("$response.body#/AccountEmail");
    }
    let first = "$response.body#/items/0/id";
    paths["/api/v1/messages"]["get"]["responses"]["200"]["links"] = json!({
        "getMessage": {"operationId": "getMessage", "parameters": {"id": first}},
        "replayMessage": {"operationId": "replayMessage", "parameters": {"id": first}},
    });
}

#[cfg(test)]
mod tests;
