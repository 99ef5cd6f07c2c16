//! Records of the message log as a table, on the Messages page and an address's page.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::data_table::{Column, DataTable};
use crate::components::query::percent_encode;
use crate::components::ui::{class, class_badge, delivery_badge, outcome_badge, when, EmptyState};
use crate::model::MessageRecord;

/// The page of one message-log record. Ids are `<SES message id>/<recipient>`; the route
/// takes the rest of the path, so the slash needs no escaping.
pub fn message_href(id: &str) -> String {
    let keep =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'@' | b'.' | b'_' | b'-' | b'+' | b'/');
    format!("/messages/{}", percent_encode(id, keep))
}

/// Senders and subjects come from strangers: they are rendered as text, never as markup.
#[component]
pub fn MessageTable(records: Vec<MessageRecord>, empty: &'static str) -> impl IntoView {
    let columns = vec![
        Column::new("Received", |r: &MessageRecord| {
            let (href, received) = (message_href(&r.id), when(&r.received_at));
            view! { <A href=href attr:class=class::LINK>{received}</A> }
        })
        .class("whitespace-nowrap"),
        Column::new("To", |r: &MessageRecord| r.recipient.clone()).class("font-mono text-xs"),
        Column::new("From", |r: &MessageRecord| r.sender.clone())
            .class("max-w-56 truncate")
            .title(|r| r.sender.clone()),
        Column::new("Subject", |r: &MessageRecord| {
            r.subject.clone().unwrap_or_else(|| "(no subject)".into())
        })
        .class("max-w-72 truncate"),
        Column::new("Kind", |r: &MessageRecord| class_badge(r.class)),
        Column::new("Outcome", |r: &MessageRecord| outcome_badge(r.outcome)),
        // A forwarded record's delivery, as the mailer's events report it.
        Column::new("Delivery", |r: &MessageRecord| {
            r.delivery.as_ref().map(|d| delivery_badge(d.state))
        }),
    ];
    view! {
        <DataTable
            caption="Messages"
            columns
            rows=records
            empty=move || view! { <EmptyState title="No messages" body=empty /> }
            hover=true
        />
    }
}

#[cfg(test)]
mod tests {
    use super::message_href;

    #[test]
    fn message_links_keep_the_slash_and_escape_the_rest() {
        assert_eq!(
            message_href("0100abc/jo.e+x@mail.example.com"),
            "/messages/0100abc/jo.e+x@mail.example.com"
        );
        assert_eq!(message_href("a b/é?#"), "/messages/a%20b/%C3%A9%3F%23");
    }
}
