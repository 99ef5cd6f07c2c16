//! Cursor paging shared by both backends: a page is cut from `limit + 1` items, and its
//! cursor is the last item's sort key, encoded.

use app::model::Page;

use super::StoreError;

/// Cuts a page from `limit + 1` fetched mappings: the extra one only says another page exists.
pub(super) fn page_of<T>(mut items: Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Page<T> {
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|m| encode_cursor(&key(m)))
    } else {
        None
    };
    Page { items, next_cursor }
}

/// `page_of` for items that carry their sort key beside them (audit entries do not hold
/// their id).
pub(super) fn keyed_page<T>(items: Vec<(String, T)>, limit: u32) -> Page<T> {
    let page = page_of(items, limit, |(key, _)| key.clone());
    Page {
        items: page.items.into_iter().map(|(_, item)| item).collect(),
        next_cursor: page.next_cursor,
    }
}

/// Cursors are the sort key of a page's last item, encoded so clients treat them as opaque.
fn encode_cursor(key: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_bytes())
}

/// The sort key after which the next page starts (empty for the first page). Any string of
/// the base64url alphabet of a decodable length is a position (the OpenAPI description says
/// so, and a position no item has simply starts the page at the next one), so trailing bits
/// are allowed and bytes that are not UTF-8 are replaced rather than refused.
pub(super) fn decode_cursor(cursor: Option<&str>) -> Result<String, StoreError> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    use base64::Engine as _;
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireNone),
    );
    let Some(cursor) = cursor else {
        return Ok(String::new());
    };
    LENIENT
        .decode(cursor)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|_| StoreError::Invalid {
            field: "cursor",
            message: "not a cursor this server handed out".into(),
        })
}

/// What the OpenAPI description says a cursor is: `decode_cursor` accepts exactly these.
pub const CURSOR_PATTERN: &str = "^([A-Za-z0-9_-]{4})*([A-Za-z0-9_-]{2,3})?$";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_any_well_formed_one_is_a_position() {
        for key in ["", "a", "2026-12-04T10:00:00Z#msg/x@example.com", "é"] {
            let c = encode_cursor(key);
            assert_eq!(decode_cursor(Some(&c)).unwrap(), key);
        }
        let pattern = regex::Regex::new(CURSOR_PATTERN).unwrap();
        for (cursor, ok) in [
            ("", true),
            ("YQ", true),
            ("YR", true), // trailing bits set
            ("_w", true), // not UTF-8 once decoded
            ("abcd", true),
            ("abcde", false), // no length of base64 is 1 mod 4
            ("ab+d", false),
            ("ab=", false),
            ("ab cd", false),
        ] {
            assert_eq!(pattern.is_match(cursor), ok, "{cursor:?} pattern");
            assert_eq!(decode_cursor(Some(cursor)).is_ok(), ok, "{cursor:?} decode");
        }
    }
}
