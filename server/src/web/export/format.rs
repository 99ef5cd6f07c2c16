//! Which format a list answers in: JSON pages by default, CSV when the `format` parameter or
//! the `Accept` header asks for it.

/// A list's answer format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

/// The `format` parameter wins when given (so a link or a browser can ask for CSV); without
/// it, CSV when the `Accept` header prefers `text/csv` to `application/json` (a tie, `*/*` or
/// no header answers JSON, as before). An `Accept` naming neither answers JSON too, rather
/// than 406: every client of this API reads JSON.
pub fn choose(format: Option<&str>, accept: Option<&str>) -> Result<Format, String> {
    match format {
        Some("csv") => return Ok(Format::Csv),
        Some("json") => return Ok(Format::Json),
        None | Some("") => {}
        Some(other) => return Err(format!("expected json or csv, not {other:?}")),
    }
    let accept = accept.unwrap_or("");
    if quality(accept, "text", "csv") > quality(accept, "application", "json") {
        Ok(Format::Csv)
    } else {
        Ok(Format::Json)
    }
}

/// The quality `accept` gives `kind/sub`: that of the most specific range matching it
/// (`kind/sub`, then `kind/*`, then `*/*`), 0 when none does (RFC 9110 §12.5.1).
fn quality(accept: &str, kind: &str, sub: &str) -> u32 {
    let mut best: Option<(u8, u32)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let Some((k, s)) = media.split_once('/') else {
            continue;
        };
        let specificity = match (k, s) {
            (k, s) if k == kind && s == sub => 2,
            (k, "*") if k == kind => 1,
            ("*", "*") => 0,
            _ => continue,
        };
        let q = parts
            .filter_map(|p| {
                let (name, value) = p.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| value.trim().to_string())
            })
            .next()
            .map_or(1000, |q| thousandths(&q));
        if best.is_none_or(|(b, _)| specificity > b) {
            best = Some((specificity, q));
        }
    }
    best.map_or(0, |(_, q)| q)
}

/// A quality value (`0`, `0.5`, `1.000`) in thousandths; anything unreadable counts as 0.
fn thousandths(q: &str) -> u32 {
    let (whole, frac) = q.split_once('.').unwrap_or((q, ""));
    let digits = format!("{frac:0<3}");
    match (whole, digits.get(..3)) {
        ("1", _) => 1000,
        ("0", Some(d)) if frac.len() <= 3 && d.bytes().all(|b| b.is_ascii_digit()) => {
            d.parse().unwrap_or(0)
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parameter_wins_and_accept_decides_without_it() {
        use Format::{Csv, Json};
        for (format, accept, want) in [
            (None, None, Json),
            (None, Some("*/*"), Json),
            (None, Some("application/json"), Json),
            (None, Some("text/csv"), Csv),
            (None, Some("TEXT/CSV; charset=utf-8"), Csv),
            (None, Some("text/csv;q=0.5, application/json"), Json),
            (None, Some("application/json;q=0.2, text/csv;q=0.9"), Csv),
            (None, Some("text/csv, */*;q=0.1"), Csv),
            (None, Some("text/*, application/json"), Json),
            (None, Some("text/*;q=0.9, application/*;q=0.8"), Csv),
            (None, Some("text/csv;q=0, */*"), Json),
            // A browser's navigation header: a tie on */*, so JSON.
            (
                None,
                Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                Json,
            ),
            (None, Some("application/xml"), Json),
            (None, Some("garbage"), Json),
            (None, Some("text/csv;q=abc"), Json),
            (None, Some("text/csv;Q=0.1, application/json"), Json),
            (None, Some("text/csv ; q = 0.1, application/json"), Json),
            (Some(""), Some("text/csv"), Csv),
            (Some("csv"), None, Csv),
            (Some("csv"), Some("application/json"), Csv),
            (Some("json"), Some("text/csv"), Json),
        ] {
            assert_eq!(choose(format, accept), Ok(want), "{format:?} {accept:?}");
        }
    }

    #[test]
    fn an_unknown_format_is_refused_by_name() {
        let err = choose(Some("xlsx"), None).unwrap_err();
        assert!(err.contains("json or csv") && err.contains("xlsx"), "{err}");
        // Exactly as the OpenAPI pattern says: no case folding, no spaces.
        for other in ["CSV", " csv", "csv "] {
            assert!(choose(Some(other), None).is_err(), "{other:?}");
        }
    }

    #[test]
    fn quality_values_read_as_rfc_9110_writes_them() {
        for (q, want) in [
            ("1", 1000),
            ("1.0", 1000),
            ("0", 0),
            ("0.5", 500),
            ("0.05", 50),
            ("0.001", 1),
            ("0.0001", 0),
            ("2", 0),
            ("x", 0),
        ] {
            assert_eq!(thousandths(q), want, "{q}");
        }
    }
}
