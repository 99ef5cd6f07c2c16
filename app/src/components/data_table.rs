//! The one table every list is drawn with: a caption for screen readers, a header row of
//! column headers, one row per item, and what to show when there are none.

use leptos::prelude::*;

use crate::components::ui::{class, Card};

type Cell<T> = Box<dyn Fn(&T) -> AnyView + Send + Sync>;
type Text<T> = Box<dyn Fn(&T) -> String + Send + Sync>;

/// One column: its header, and how an item fills its cell.
pub struct Column<T> {
    header: &'static str,
    header_hidden: bool,
    class: &'static str,
    title: Option<Text<T>>,
    cell: Cell<T>,
}

impl<T> Column<T> {
    pub fn new<V: IntoView + 'static>(
        header: &'static str,
        cell: impl Fn(&T) -> V + Send + Sync + 'static,
    ) -> Self {
        Column {
            header,
            header_hidden: false,
            class: "",
            title: None,
            cell: Box::new(move |item| cell(item).into_any()),
        }
    }

    /// Classes added to each of the column's cells.
    pub fn class(mut self, class: &'static str) -> Self {
        self.class = class;
        self
    }

    /// A tooltip for cells whose text may be cut short.
    pub fn title(mut self, title: impl Fn(&T) -> String + Send + Sync + 'static) -> Self {
        self.title = Some(Box::new(title));
        self
    }

    /// A header for screen readers only, where the cells speak for themselves (buttons).
    pub fn header_hidden(mut self) -> Self {
        self.header_hidden = true;
        self
    }
}

fn classes(base: &'static str, extra: &'static str) -> String {
    if extra.is_empty() {
        base.to_string()
    } else {
        format!("{base} {extra}")
    }
}

#[component]
pub fn DataTable<T>(
    /// Names the table for screen readers.
    caption: &'static str,
    columns: Vec<Column<T>>,
    rows: Vec<T>,
    /// Shown instead of the table when there are no rows.
    #[prop(optional, into)]
    empty: Option<ViewFn>,
    /// A page after the first, where no rows means the list ran out, not that it is empty:
    /// the (empty) table stays, with the pager after it.
    #[prop(optional)]
    later_page: bool,
    /// Classes for the box around the table (or around `empty`).
    #[prop(optional)]
    class: &'static str,
    /// Rows light up under the pointer, for rows that lead somewhere.
    #[prop(optional)]
    hover: bool,
    /// Tighter cells in a padded card, as on the owner's page.
    #[prop(optional)]
    compact: bool,
) -> impl IntoView
where
    T: Send + Sync + 'static,
{
    if rows.is_empty() && !later_page {
        if let Some(empty) = empty {
            return if class.is_empty() {
                empty.run()
            } else {
                view! { <div class=class>{empty.run()}</div> }.into_any()
            };
        }
    }
    let (th, td) = if compact {
        (class::TH_COMPACT, class::TD_COMPACT)
    } else {
        (class::TH, class::TD)
    };
    let head = columns
        .iter()
        .map(|c| {
            let header = if c.header_hidden {
                view! { <span class="sr-only">{c.header}</span> }.into_any()
            } else {
                c.header.into_any()
            };
            view! { <th scope="col" class=th>{header}</th> }
        })
        .collect_view();
    let body = rows
        .iter()
        .map(|row| {
            let cells = columns
                .iter()
                .map(|c| {
                    view! {
                        <td class=classes(td, c.class) title=c.title.as_ref().map(|t| t(row))>
                            {(c.cell)(row)}
                        </td>
                    }
                })
                .collect_view();
            view! {
                <tr class=hover.then_some("hover:bg-slate-50 dark:hover:bg-slate-800/50")>{cells}</tr>
            }
        })
        .collect_view();
    let table = view! {
        <table class="w-full">
            <caption class="sr-only">{caption}</caption>
            <thead class=(!compact).then_some("border-b border-slate-200 dark:border-slate-800")>
                <tr>{head}</tr>
            </thead>
            <tbody class="divide-y divide-slate-100 dark:divide-slate-800">{body}</tbody>
        </table>
    };
    if compact {
        view! { <Card class=class>{table}</Card> }.into_any()
    } else {
        view! { <div class=classes(class::TABLE_CARD, class)>{table}</div> }.into_any()
    }
}
