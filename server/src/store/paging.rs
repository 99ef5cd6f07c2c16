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

/// The sort key after which the next page starts (empty for the first page).
pub(super) fn decode_cursor(cursor: Option<&str>) -> Result<String, StoreError> {
    use base64::Engine as _;
    let Some(cursor) = cursor else {
        return Ok(String::new());
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(StoreError::Invalid {
            field: "cursor",
            message: "not a cursor this server handed out".into(),
        })
}
