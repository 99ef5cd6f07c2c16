//! Where to go after signing in. The `next` parameter arrives from a link anyone can craft, so
//! it is followed only when it is a path on this site: one leading `/`, then no second `/` or
//! `\` (browsers read `//host` and `/\host` as another site), and no whitespace or control
//! character anywhere — browsers drop TAB, CR and LF from URLs before reading them, so
//! `/<TAB>/evil.example` becomes `//evil.example`. Percent-encoded bytes are left as they are:
//! a browser does not decode `%2F` or `%09` in a path before resolving it, so `/%2F/x` stays
//! on this site. Anything else is replaced by the overview.

/// `next` if it is a path on this site, else `/`. The sign-in route and the sign-in page's
/// link both use this, so the two cannot disagree.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        // Long enough for any page's query; a longer one would not fit the sign-in cookie.
        Some(n) if is_local_path(n) && n.len() <= 1024 => n.to_string(),
        _ => "/".to_string(),
    }
}

fn is_local_path(n: &str) -> bool {
    let mut chars = n.chars();
    chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && !n
            .chars()
            .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_paths_on_this_site_are_followed() {
        for (next, want) in [
            (Some("/addresses?q=x"), "/addresses?q=x"),
            (
                Some("/messages/abc%2Fdef?outcome=dead_letter#top"),
                "/messages/abc%2Fdef?outcome=dead_letter#top",
            ),
            (Some("/"), "/"),
            // Stays on this site: the browser does not decode these before resolving.
            (Some("/%2F/evil.example"), "/%2F/evil.example"),
            (Some("/%09/evil.example"), "/%09/evil.example"),
            (Some("/%5Cevil.example"), "/%5Cevil.example"),
            // Another site, however it is spelt.
            (Some("//evil.example/x"), "/"),
            (Some("/\\evil.example"), "/"),
            (Some("/\t/evil.example/relogin"), "/"),
            (Some("/\n/evil.example"), "/"),
            (Some("/\r/evil.example"), "/"),
            (Some("/\u{b}/evil.example"), "/"),
            (Some("/ /evil.example"), "/"),
            (Some("/\u{a0}/evil.example"), "/"),
            (Some("/addresses\\..\\..\\evil"), "/"),
            (Some("\t//evil.example"), "/"),
            (Some("https://evil.example"), "/"),
            (Some("javascript:alert(1)"), "/"),
            (Some("evil.example"), "/"),
            (Some(""), "/"),
            (None, "/"),
        ] {
            assert_eq!(safe_next(next), want, "{next:?}");
        }
    }
}
