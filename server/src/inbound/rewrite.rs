//! The forwarding rewrite (docs/product.md §2.7): headers are edited, the body is passed through
//! byte for byte. Pure functions over bytes: nothing here decodes the message as text, so any
//! charset, 8-bit content and binary parts survive untouched.

/// Headers SES accepts at most once in a raw message; later copies are dropped.
const ONCE_ONLY: &[&str] = &[
    "accept-language",
    "archived-at",
    "auto-submitted",
    "bounces-to",
    "comments",
    "content-alternative",
    "content-base",
    "content-class",
    "content-description",
    "content-disposition",
    "content-duration",
    "content-id",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-transfer-encoding",
    "content-type",
    "date",
    "domainkey-signature",
    "in-reply-to",
    "keywords",
    "list-archive",
    "list-help",
    "list-id",
    "list-owner",
    "list-post",
    "list-subscribe",
    "list-unsubscribe",
    "mime-version",
    "organization",
    "original-from",
    "original-recipient",
    "original-subject",
    "precedence",
    "priority",
    "references",
    "return-receipt-to",
    "solicitation",
    "subject",
    "thread-index",
    "thread-topic",
    "user-agent",
    "vbr-info",
];

/// Address lists a message may carry only once: a second copy is merged into the first, so
/// every address the sender wrote stays visible (product.md §2.7).
const ADDRESS_LISTS: &[&str] = &["to", "cc", "bcc", "reply-to"];

/// Headers removed outright: they would lie about, or break the signature of, a message that
/// we re-send from our own address. Our own `X-*` headers are set fresh, never trusted.
const REMOVED: &[&str] = &[
    "return-path",
    "sender",
    "message-id",
    "dkim-signature",
    "x-original-from",
    "x-original-to",
    "x-processed-by",
    LOOP_HEADER_LOWER,
];

/// The header carrying our processing mark (inbound::trail); ours is added on every forward,
/// after at most `MAX_EARLIER_MARKS` earlier ones.
pub const LOOP_HEADER: &str = "X-Mailvend-Loop";
const MAX_EARLIER_MARKS: usize = 8;
const LOOP_HEADER_LOWER: &str = "x-mailvend-loop";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewriteConfig<'a> {
    /// The verified address every forwarded message comes from.
    pub from_address: &'a str,
    /// The value of `X-Processed-By`.
    pub processed_by: &'a str,
    /// The value of `X-Mailvend-Loop`: our unforgeable mark for this destination.
    pub loop_mark: &'a str,
    /// Our authserv-id (the mail domain): incoming `Authentication-Results` claiming it are
    /// forgeries and are removed.
    pub authserv_id: &'a str,
    /// Our `Authentication-Results` value (SES's verdicts), put on top of the header.
    pub authentication: Option<&'a str>,
}

/// One header field as it stands in the message: its name and the raw bytes of the whole
/// field, folding and line ending included.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Field<'a> {
    name: &'a [u8],
    raw: &'a [u8],
}

impl Field<'_> {
    fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }

    /// The value after the colon, without the final line ending.
    fn value(&self) -> &[u8] {
        let after = self
            .raw
            .iter()
            .position(|&b| b == b':')
            .map(|i| &self.raw[i + 1..])
            .unwrap_or_default();
        trim_line_end(after)
    }
}

fn trim_line_end(v: &[u8]) -> &[u8] {
    let v = v.strip_suffix(b"\n").unwrap_or(v);
    v.strip_suffix(b"\r").unwrap_or(v)
}

/// Splits a message into its header fields and the rest (the blank line and the body).
fn split(raw: &[u8]) -> (Vec<Field<'_>>, &[u8]) {
    let mut fields: Vec<Field> = Vec::new();
    let mut pos = 0;
    while pos < raw.len() {
        let end = raw[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| pos + i + 1)
            .unwrap_or(raw.len());
        let line = &raw[pos..end];
        if trim_line_end(line).is_empty() {
            break;
        }
        let continues = matches!(line.first(), Some(b' ' | b'\t'));
        match fields.last_mut() {
            Some(last) if continues => {
                let start = last.raw.as_ptr() as usize - raw.as_ptr() as usize;
                last.raw = &raw[start..end];
            }
            _ => {
                let name_end = line.iter().position(|&b| b == b':').unwrap_or(0);
                // Only trailing blanks are trimmed (`Subject :`): a line that starts with CR
                // or another blank is no field (the caller drops it), or cleaning would make
                // it a continuation of the field written before it.
                fields.push(Field {
                    name: line[..name_end].trim_ascii_end(),
                    raw: line,
                });
            }
        }
        pos = end;
    }
    (fields, &raw[pos..])
}

/// The display name of a `From` value as it stands (quoted string, atoms or RFC 2047
/// encoded words, never decoded), and the address.
fn display_and_address(value: &[u8]) -> (Vec<u8>, Vec<u8>) {
    // Unfold: a line break followed by whitespace is just the whitespace.
    let unfolded: Vec<u8> = value
        .iter()
        .copied()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    let v = unfolded.trim_ascii().to_vec();
    // `phrase <addr>`: the last `<` outside quotes starts the address.
    let mut in_quotes = false;
    let mut escaped = false;
    let mut angle = None;
    for (i, &b) in v.iter().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if in_quotes => escaped = true,
            b'"' => in_quotes = !in_quotes,
            b'<' if !in_quotes => angle = Some(i),
            _ => {}
        }
    }
    match angle {
        Some(a) => {
            let display = v[..a].trim_ascii().to_vec();
            let rest = &v[a + 1..];
            let addr = rest
                .iter()
                .position(|&b| b == b'>')
                .map_or(rest, |e| &rest[..e]);
            (display, addr.trim_ascii().to_vec())
        }
        None => {
            // `addr (Comment Name)`, the old style.
            match (
                v.iter().position(|&b| b == b'('),
                v.iter().rposition(|&b| b == b')'),
            ) {
                (Some(o), Some(c)) if o < c => (
                    v[o + 1..c].trim_ascii().to_vec(),
                    v[..o].trim_ascii().to_vec(),
                ),
                _ => (Vec::new(), v),
            }
        }
    }
}

/// The first `name` header's value, unfolded, as it stands (encoded words not decoded).
pub fn header(raw: &[u8], name: &str) -> Option<Vec<u8>> {
    let (fields, _) = split(raw);
    let field = fields.into_iter().find(|f| f.is(name))?;
    Some(unfold(field.value()).trim_ascii().to_vec())
}

/// Every `name` header's value, unfolded and trimmed, in order.
pub fn headers(raw: &[u8], name: &str) -> Vec<Vec<u8>> {
    let (fields, _) = split(raw);
    fields
        .iter()
        .filter(|f| f.is(name))
        .map(|f| unfold(f.value()).trim_ascii().to_vec())
        .collect()
}

fn unfold(value: &[u8]) -> Vec<u8> {
    value
        .iter()
        .copied()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect()
}

/// The header block of a raw message (every field, without the blank line that ends it).
pub fn header_block(raw: &[u8]) -> &[u8] {
    let (_, rest) = split(raw);
    &raw[..raw.len() - rest.len()]
}

/// Whether an `Authentication-Results` value may name `authserv_id` as its author (RFC 8601
/// §2.2: the first token, before any `;`). Readers differ on comments (`(x) id; …`), escapes
/// in them and in quoted ids (`"id\.com"`), so it is read several ways and counts as ours
/// if any reading finds our id before the first `;`: dropping a stranger's header costs
/// nothing (ours leads), keeping a forgery in our name is what the check is for.
fn claims_to_be(value: &[u8], authserv_id: &str) -> bool {
    let unfolded = unfold(value);
    let text = String::from_utf8_lossy(&unfolded);
    [
        text.to_string(),
        without_comments(&text, true),
        without_comments(&text, false),
    ]
    .iter()
    .any(|reading| {
        let head = reading
            .split(';')
            .next()
            .unwrap_or_default()
            .replace('\\', "");
        head.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
            .any(|token| token.eq_ignore_ascii_case(authserv_id))
    })
}

/// `text` with its RFC 5322 comments (nested; `\` escaping the next character when
/// `escapes`) replaced by spaces; an unclosed comment runs to the end.
fn without_comments(text: &str, escapes: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut depth, mut escaped) = (0usize, false);
    for c in text.chars() {
        if depth > 0 {
            match c {
                _ if escaped => escaped = false,
                '\\' if escapes => escaped = true,
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                out.push(' ');
            }
        } else if c == '(' {
            depth = 1;
        } else {
            out.push(c);
        }
    }
    out
}

/// The address of a `From`/`Return-Path`-style header value (`Name <a@b>`, `<a@b>`, `a@b`).
pub fn address_of(value: &[u8]) -> Vec<u8> {
    display_and_address(value).1
}

/// Whether `text` is exactly one quoted string: opening and closing quote, no unescaped
/// quote between them. `"a" <x>, "b"` starts and ends with a quote but is not one.
fn is_one_quoted_string(text: &[u8]) -> bool {
    let Some(inner) = text.strip_prefix(b"\"").and_then(|t| t.strip_suffix(b"\"")) else {
        return false;
    };
    let mut escaped = false;
    for &b in inner {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => return false,
            _ => {}
        }
    }
    !escaped
}

/// `"<display> via mailvend"` as a phrase that stays exactly one display name whatever the
/// display was: inside the quotes of a single quoted string, after atoms and encoded words
/// (which must not be quoted, and are atoms to this check), the address quoted when there was
/// no display name, and anything else (`<`, `,`, `@`, `"`, `;` …) quoted whole — so no display
/// can smuggle a second mailbox into the From (issue 22 item 6).
fn via_phrase(display: &[u8], address: &[u8]) -> Vec<u8> {
    let quote = |text: &[u8]| {
        let mut out = vec![b'"'];
        for &b in text {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.extend_from_slice(b" via mailvend\"");
        out
    };
    if display.is_empty() {
        return quote(address);
    }
    if is_one_quoted_string(display) {
        let mut out = display[..display.len() - 1].to_vec();
        out.extend_from_slice(b" via mailvend\"");
        return out;
    }
    let atoms_only = display
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b" !#$%&'*+-/=?^_`{|}~.".contains(&b) || b >= 0x80);
    if atoms_only {
        let mut out = display.to_vec();
        out.extend_from_slice(b" via mailvend");
        out
    } else {
        quote(display)
    }
}

/// The message to send for `recipients` (the vended addresses it was sent to, joined as
/// `X-Original-To` shows them): headers rewritten as docs/product.md §2.7 says, the body bytes
/// as they came. `envelope_sender` names the sender when the message has no `From`;
/// `subject_tag` (the spam and DMARC policies' tags) goes in front of the subject.
pub fn rewrite(
    raw: &[u8],
    recipients: &str,
    envelope_sender: &str,
    subject_tag: Option<&str>,
    cfg: &RewriteConfig,
) -> Vec<u8> {
    let (fields, rest) = split(raw);
    let eol: &[u8] = match fields.first().map(|f| f.raw) {
        Some(r) if !r.ends_with(b"\r\n") && r.ends_with(b"\n") => b"\n",
        _ => b"\r\n",
    };
    let original_from = fields
        .iter()
        .find(|f| f.is("from"))
        .map(|f| f.value().to_vec());
    let has_reply_to = fields.iter().any(|f| f.is("reply-to"));

    let mut out = Vec::with_capacity(raw.len().min(64 * 1024) + 512);
    let mut seen: Vec<&[u8]> = Vec::new();
    let mut wrote_from = false;
    let header_line = |out: &mut Vec<u8>, name: &[u8], value: &[u8]| {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(eol);
    };
    let write_from = |out: &mut Vec<u8>| {
        let (display, address) = match &original_from {
            Some(v) => display_and_address(v.trim_ascii()),
            None => (Vec::new(), envelope_sender.as_bytes().to_vec()),
        };
        let mut value = via_phrase(&display, &address);
        value.extend_from_slice(b" <");
        value.extend_from_slice(cfg.from_address.as_bytes());
        value.push(b'>');
        header_line(out, b"From", &value);
        if !has_reply_to {
            match &original_from {
                Some(v) => header_line(out, b"Reply-To", v.trim_ascii()),
                None => header_line(out, b"Reply-To", envelope_sender.as_bytes()),
            }
        }
    };

    if let Some(results) = cfg.authentication {
        let mut value = cfg.authserv_id.as_bytes().to_vec();
        value.extend_from_slice(b"; ");
        value.extend_from_slice(results.as_bytes());
        header_line(&mut out, b"Authentication-Results", &value);
    }
    for field in &fields {
        if field.name.is_empty() || !field.name.iter().all(|b| (33..=126).contains(b)) {
            // Not a header at all (no colon, or a name with a control byte or space, such as
            // a line starting with NUL or CR that cleaning would turn into a continuation of
            // the field before it): dropped rather than sent malformed to SES.
            continue;
        }
        if REMOVED.iter().any(|n| field.is(n)) {
            continue;
        }
        if field.is("authentication-results") && claims_to_be(field.value(), cfg.authserv_id) {
            // Only we speak for our domain; a sender's claim in our name is a forgery.
            continue;
        }
        if field.is("from") {
            if !wrote_from {
                write_from(&mut out);
                wrote_from = true;
            }
            continue;
        }
        if let Some(list) = ADDRESS_LISTS.iter().find(|n| field.is(n)) {
            if seen.iter().any(|s| s.eq_ignore_ascii_case(field.name)) {
                continue;
            }
            seen.push(field.name);
            write_merged_list(&mut out, field, &fields, list, eol);
            continue;
        }
        if ONCE_ONLY.iter().any(|n| field.is(n)) {
            if seen.iter().any(|s| s.eq_ignore_ascii_case(field.name)) {
                continue;
            }
            seen.push(field.name);
        }
        if let (true, Some(tag)) = (field.is("subject"), subject_tag) {
            write_tagged_subject(&mut out, field, tag, eol);
            continue;
        }
        out.extend_from_slice(field.raw);
        if !field.raw.ends_with(b"\n") {
            out.extend_from_slice(eol);
        }
    }
    if !wrote_from {
        write_from(&mut out);
    }
    if let (false, Some(tag)) = (fields.iter().any(|f| f.is("subject")), subject_tag) {
        header_line(&mut out, b"Subject", tag.as_bytes());
    }
    if let Some(v) = &original_from {
        header_line(&mut out, b"X-Original-From", v.trim_ascii());
    }
    write_folded_list(&mut out, b"X-Original-To", recipients, eol);
    header_line(&mut out, b"X-Processed-By", cfg.processed_by.as_bytes());
    // Earlier passes' marks stay, so that mail an owner passes on to another owner who passes
    // it back is stopped when it would reach the first again. Only values shaped like a mark
    // are kept, and few: a sender cannot grow the header with them.
    // The last ones are kept: ours were added last on each pass, so marks a sender put in
    // front cannot push them out.
    let mut earlier: Vec<Vec<u8>> = Vec::new();
    for field in fields.iter().rev().filter(|f| f.is(LOOP_HEADER_LOWER)) {
        let mark = field.value().trim_ascii().to_ascii_lowercase();
        if earlier.len() < MAX_EARLIER_MARKS
            && mark.len() == cfg.loop_mark.len()
            && mark.iter().all(u8::is_ascii_hexdigit)
            && mark != cfg.loop_mark.as_bytes()
            && !earlier.contains(&mark)
        {
            earlier.push(mark);
        }
    }
    for mark in earlier.iter().rev() {
        header_line(&mut out, LOOP_HEADER.as_bytes(), mark);
    }
    header_line(&mut out, LOOP_HEADER.as_bytes(), cfg.loop_mark.as_bytes());
    let mut out = clean_header_block(&out, eol);
    if rest.is_empty() {
        out.extend_from_slice(eol);
    } else {
        out.extend_from_slice(rest);
    }
    out
}

/// `name: a, b, …` from a `", "`-joined list, folded before an entry that would take the
/// line past 900 bytes: one message to many vended addresses of one owner (SES allows 50)
/// must not exceed SMTP's 998-byte line limit.
fn write_folded_list(out: &mut Vec<u8>, name: &[u8], list: &str, eol: &[u8]) {
    const FOLD_AT: usize = 900;
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    let mut line = name.len() + 2;
    for (i, entry) in list.split(", ").enumerate() {
        if i > 0 {
            if line + 2 + entry.len() > FOLD_AT {
                out.push(b',');
                out.extend_from_slice(eol);
                out.push(b' ');
                line = 1;
            } else {
                out.extend_from_slice(b", ");
                line += 2;
            }
        }
        out.extend_from_slice(entry.as_bytes());
        line += entry.len();
    }
    out.extend_from_slice(eol);
}

/// The first `list` header with the addresses of every later copy appended, folded one copy
/// per line, so nothing the sender addressed disappears from the forwarded header.
fn write_merged_list(out: &mut Vec<u8>, first: &Field, fields: &[Field], list: &str, eol: &[u8]) {
    out.extend_from_slice(first.name);
    out.push(b':');
    let mut values = fields
        .iter()
        .filter(|f| f.is(list))
        .map(|f| f.value().trim_ascii())
        .filter(|v| !v.is_empty());
    if let Some(v) = values.next() {
        out.push(b' ');
        out.extend_from_slice(v);
    }
    for v in values {
        out.push(b',');
        out.extend_from_slice(eol);
        out.push(b' ');
        out.extend_from_slice(v);
    }
    out.extend_from_slice(eol);
}

/// One line ending throughout the header block, and no bare CR or NUL in it: a client that
/// splits on a lone CR would see a header we never wrote, and a lone CR or LF on the SMTP wire
/// is the raw material of SMTP smuggling (issue 22 item 6). Both become a space.
fn clean_header_block(block: &[u8], eol: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(block.len() + 16);
    let mut i = 0;
    while i < block.len() {
        match block[i] {
            b'\r' if block.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(eol);
                i += 2;
                continue;
            }
            b'\n' => out.extend_from_slice(eol),
            b'\r' | 0 => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// `Subject: <tag> <original value>`, the value's own bytes (folding, encoded words) kept;
/// a subject that already starts with the tag is left alone.
fn write_tagged_subject(out: &mut Vec<u8>, field: &Field, tag: &str, eol: &[u8]) {
    let after_colon = &field.raw[field
        .raw
        .iter()
        .position(|&b| b == b':')
        .map_or(0, |i| i + 1)..];
    let start = after_colon
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(after_colon.len());
    let value = &after_colon[start..];
    out.extend_from_slice(field.name);
    out.extend_from_slice(b": ");
    if !value.starts_with(tag.as_bytes()) {
        out.extend_from_slice(tag.as_bytes());
        out.push(b' ');
    }
    out.extend_from_slice(value);
    if !value.ends_with(b"\n") {
        out.extend_from_slice(eol);
    }
}

/// Where the body starts in `raw` (after the blank line), for checks that it is unchanged.
pub fn body_of(raw: &[u8]) -> &[u8] {
    let (_, rest) = split(raw);
    let after_blank = rest
        .iter()
        .position(|&b| b == b'\n')
        .map_or(rest.len(), |i| i + 1);
    &rest[after_blank..]
}

#[cfg(test)]
mod tests;
