//! Small presentational pieces shared by the pages, so spacing and type stay consistent.

use leptos::prelude::*;

#[component]
pub fn PageHeader(title: &'static str, #[prop(optional)] subtitle: &'static str) -> impl IntoView {
    view! {
        <header class="mb-8">
            <h1 class="text-2xl font-semibold tracking-tight">{title}</h1>
            {(!subtitle.is_empty())
                .then(|| view! { <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">{subtitle}</p> })}
        </header>
    }
}

#[component]
pub fn Card(children: Children, #[prop(optional)] class: &'static str) -> impl IntoView {
    view! {
        <section class=format!(
            "rounded-xl border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900 {class}",
        )>{children()}</section>
    }
}

#[component]
pub fn Stat(label: &'static str, value: String, #[prop(optional)] hint: String) -> impl IntoView {
    view! {
        <div class="rounded-xl border border-slate-200 bg-white p-5 shadow-sm dark:border-slate-800 dark:bg-slate-900">
            <dt class="text-sm font-medium text-slate-500 dark:text-slate-400">{label}</dt>
            <dd class="mt-2 text-2xl font-semibold tracking-tight">{value}</dd>
            // A second `dd`, not a `p`: a `div` in a `dl` may hold only `dt` and `dd`.
            {(!hint.is_empty()).then(|| view! { <dd class="mt-1 text-xs text-slate-600 dark:text-slate-400">{hint}</dd> })}
        </div>
    }
}

/// What a list shows before it has anything in it: say what will appear and why.
#[component]
pub fn EmptyState(title: &'static str, body: &'static str) -> impl IntoView {
    view! {
        <div class="rounded-xl border-2 border-dashed border-slate-300 px-6 py-14 text-center dark:border-slate-700">
            <svg viewBox="0 0 24 24" class="mx-auto size-10 text-slate-400" fill="none" stroke="currentColor" stroke-width="1.5" aria-hidden="true">
                <rect x="3" y="5" width="18" height="14" rx="2" />
                <path d="m3 7 9 6 9-6" stroke-linecap="round" stroke-linejoin="round" />
            </svg>
            <h2 class="mt-3 text-sm font-semibold">{title}</h2>
            <p class="mx-auto mt-1 max-w-md text-sm text-slate-600 dark:text-slate-400">{body}</p>
        </div>
    }
}

/// An error shown where it happened, in words the user can act on.
#[component]
pub fn ErrorNotice(message: String) -> impl IntoView {
    view! {
        <div role="alert" class="rounded-lg border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800 dark:border-red-900 dark:bg-red-950 dark:text-red-200">
            {message}
        </div>
    }
}

/// Class lists shared by every form, so controls look and behave alike on every page.
pub mod class {
    pub const INPUT: &str = "block w-full rounded-md border-0 bg-white px-3 py-1.5 text-sm text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 placeholder:text-slate-400 focus:ring-2 focus:ring-inset focus:ring-indigo-600 aria-[invalid=true]:ring-red-500 dark:bg-slate-950 dark:text-slate-100 dark:ring-slate-700";
    pub const LABEL: &str = "block text-sm font-medium text-slate-700 dark:text-slate-300";
    pub const PRIMARY: &str = "inline-flex items-center justify-center gap-2 rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:opacity-60";
    pub const SECONDARY: &str = "inline-flex items-center justify-center gap-2 rounded-md bg-white px-3 py-2 text-sm font-semibold text-slate-900 shadow-sm ring-1 ring-inset ring-slate-300 hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:opacity-60 dark:bg-slate-800 dark:text-slate-100 dark:ring-slate-700 dark:hover:bg-slate-700";
    pub const DANGER: &str = "inline-flex items-center justify-center gap-2 rounded-md bg-red-600 px-3 py-2 text-sm font-semibold text-white shadow-sm hover:bg-red-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-red-600 disabled:opacity-60";
    pub const LINK: &str = "font-medium text-indigo-600 hover:text-indigo-500 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-600 dark:text-indigo-400";
    pub const TH: &str =
        "px-4 py-2.5 text-left text-xs font-semibold uppercase tracking-wider text-slate-500";
    pub const TD: &str = "px-4 py-2.5 text-sm align-top";
    /// The tighter cells of a table set inside a card (the owner's page).
    pub const TH_COMPACT: &str =
        "px-4 py-2 text-left text-xs font-semibold uppercase tracking-wider text-slate-500";
    pub const TD_COMPACT: &str = "px-4 py-2 text-sm";
    pub const TABLE_CARD: &str = "overflow-x-auto rounded-xl border border-slate-200 bg-white shadow-sm dark:border-slate-800 dark:bg-slate-900";
}

/// The message of `result`'s error when it is about `field`.
pub fn field_error<T>(
    result: &Option<Result<T, crate::error::AppError>>,
    field: &str,
) -> Option<String> {
    match result {
        Some(Err(crate::error::AppError::Invalid { field: f, message })) if f == field => {
            Some(message.clone())
        }
        _ => None,
    }
}

/// The message of `result`'s error when no single field is to blame.
pub fn form_error<T>(
    result: &Option<Result<T, crate::error::AppError>>,
    fields: &[&str],
) -> Option<String> {
    match result {
        Some(Err(crate::error::AppError::Invalid { field, .. }))
            if fields.contains(&field.as_str()) =>
        {
            None
        }
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    }
}

/// A labelled control with its hint and its error, tied together for screen readers.
#[component]
pub fn Field(
    id: &'static str,
    label: &'static str,
    #[prop(optional)] hint: &'static str,
    #[prop(into)] error: Signal<Option<String>>,
    children: Children,
) -> impl IntoView {
    view! {
        <div>
            <label for=id class=class::LABEL>{label}</label>
            <div class="mt-1">{children()}</div>
            {(!hint.is_empty()).then(|| view! {
                <p id=format!("{id}-hint") class="mt-1 text-xs text-slate-500">{hint}</p>
            })}
            <p id=format!("{id}-error") class="mt-1 text-sm text-red-600 empty:hidden dark:text-red-400">
                {move || error.get()}
            </p>
        </div>
    }
}

/// A small coloured label for a status or outcome.
#[component]
pub fn Badge(text: &'static str, tone: &'static str) -> impl IntoView {
    let colours = match tone {
        "green" => "bg-emerald-50 text-emerald-700 ring-emerald-600/20 dark:bg-emerald-950 dark:text-emerald-300",
        "amber" => "bg-amber-50 text-amber-800 ring-amber-600/20 dark:bg-amber-950 dark:text-amber-300",
        "red" => "bg-red-50 text-red-700 ring-red-600/20 dark:bg-red-950 dark:text-red-300",
        "blue" => "bg-sky-50 text-sky-700 ring-sky-600/20 dark:bg-sky-950 dark:text-sky-300",
        _ => "bg-slate-100 text-slate-700 ring-slate-500/20 dark:bg-slate-800 dark:text-slate-300",
    };
    view! {
        <span class=format!("inline-flex items-center rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset {colours}")>
            {text}
        </span>
    }
}

pub fn status_badge(status: crate::model::MappingStatus) -> impl IntoView {
    use crate::model::MappingStatus::*;
    let tone = match status {
        Active => "green",
        Suspended => "amber",
        Deleted => "slate",
    };
    view! { <Badge text=status.as_str() tone /> }
}

pub fn outcome_badge(outcome: crate::model::Outcome) -> impl IntoView {
    use crate::model::Outcome::*;
    let tone = match outcome {
        Forwarded => "green",
        Undeliverable => "amber",
        DeadLetter => "red",
        Rejected => "slate",
        Processing => "blue",
        Held => "amber",
    };
    view! { <Badge text=outcome.label() tone /> }
}

/// What kind of mail a message is; nothing for `other` (most mail), so the rest stand out.
pub fn class_badge(class: Option<crate::model::MailClass>) -> Option<impl IntoView> {
    use crate::model::MailClass::*;
    let class = class.filter(|c| *c != Other)?;
    let tone = match class {
        Credential | Security => "red",
        Account => "amber",
        Billing | Notice => "slate",
        Other => "slate",
    };
    Some(view! { <Badge text=class.label() tone /> })
}

/// What became of a forwarded message after the mailer took it.
pub fn delivery_badge(state: crate::model::DeliveryState) -> impl IntoView {
    use crate::model::DeliveryState::*;
    let tone = match state {
        Sent => "blue",
        Delayed => "amber",
        Delivered => "green",
        Bounced | Complained => "red",
    };
    view! { <Badge text=state.as_str() tone /> }
}

/// Copies `text` to the clipboard. It needs JavaScript, so it stays invisible (keeping its
/// place, so nothing moves) until the page has hydrated; the text itself is always
/// selectable.
#[component]
pub fn CopyButton(
    #[prop(into)] text: String,
    #[prop(optional)] label: &'static str,
) -> impl IntoView {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let copied = RwSignal::new(false);
    let label = if label.is_empty() { "Copy" } else { label };
    let on_click = move |_| {
        #[cfg(feature = "hydrate")]
        {
            if let Some(w) = web_sys::window() {
                let _ = w.navigator().clipboard().write_text(&text);
                copied.set(true);
                set_timeout(move || copied.set(false), std::time::Duration::from_secs(2));
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &text;
    };
    view! {
        <button
            type="button"
            on:click=on_click
            aria-hidden=move || (!hydrated.get()).to_string()
            tabindex=move || if hydrated.get() { "0" } else { "-1" }
            class=move || format!(
                "rounded px-1.5 py-0.5 text-xs font-medium text-slate-500 ring-1 ring-inset ring-slate-300 hover:bg-slate-100 hover:text-slate-700 focus-visible:outline-2 focus-visible:outline-indigo-600 dark:ring-slate-700 dark:hover:bg-slate-800 {}",
                if hydrated.get() { "" } else { "invisible" },
            )
        >
            {move || if copied.get() { "Copied" } else { label }}
        </button>
    }
}

/// A notice after an action (see `crate::model::Notice`).
#[component]
pub fn NoticeView(notice: crate::model::Notice) -> impl IntoView {
    let (role, colours) = match notice.tone {
        crate::model::Tone::Success => ("status", "border-emerald-200 bg-emerald-50 text-emerald-900 dark:border-emerald-900 dark:bg-emerald-950 dark:text-emerald-100"),
        crate::model::Tone::Error => ("alert", "border-red-200 bg-red-50 text-red-900 dark:border-red-900 dark:bg-red-950 dark:text-red-100"),
    };
    view! {
        <div role=role class=format!("rounded-lg border px-4 py-3 text-sm shadow-sm {colours}")>
            <p>{notice.text}</p>
            {notice.secret.map(|secret| view! {
                <div class="mt-2 flex items-center gap-2">
                    <code aria-label="New secret" class="min-w-0 flex-1 break-all rounded bg-white/70 px-2 py-1 font-mono text-xs text-slate-900 select-all dark:bg-black/40 dark:text-slate-100">
                        {secret.clone()}
                    </code>
                    <CopyButton text=secret label="Copy secret" />
                </div>
            })}
        </div>
    }
}

/// The toasts of the current page: pages push notices after their actions (with JavaScript);
/// the layout shows them, and the notice a plain form post left behind.
#[derive(Clone, Copy)]
pub struct Toaster(RwSignal<Vec<(u64, crate::model::Notice)>>);

impl Toaster {
    pub fn new() -> Toaster {
        Toaster(RwSignal::new(Vec::new()))
    }

    pub fn push(&self, notice: crate::model::Notice) {
        let id = self
            .0
            .with_untracked(|t| t.last().map(|(id, _)| id + 1).unwrap_or(0));
        let keep = notice.secret.is_some() || notice.tone == crate::model::Tone::Error;
        self.0.update(|t| t.push((id, notice)));
        if !keep {
            let list = self.0;
            set_timeout(
                move || list.update(|t| t.retain(|(i, _)| *i != id)),
                std::time::Duration::from_secs(6),
            );
        }
    }

    pub fn dismiss(&self, id: u64) {
        self.0.update(|t| t.retain(|(i, _)| *i != id));
    }

    pub fn list(&self) -> Vec<(u64, crate::model::Notice)> {
        self.0.get()
    }
}

impl Default for Toaster {
    fn default() -> Self {
        Toaster::new()
    }
}

/// The page's toaster (a no-op one outside the layout).
pub fn use_toaster() -> Toaster {
    use_context::<Toaster>().unwrap_or_default()
}

/// Pushes a toast when `action` succeeds, worded by `say` (one of `crate::notices`).
pub fn toast_on_success<S, T>(
    action: ServerAction<S>,
    say: impl Fn(&T) -> crate::model::Notice + 'static,
) where
    S: leptos::server_fn::ServerFn<Output = T, Error = crate::error::AppError>
        + Clone
        + Send
        + Sync
        + 'static,
    T: Clone + Send + Sync + 'static,
{
    let toaster = use_toaster();
    Effect::new(move |_| {
        if let Some(Ok(v)) = action.value().get() {
            toaster.push(say(&v));
        }
    });
}

/// `2026-12-02T14:05:09.123Z` as `2026-12-02 14:05 UTC`: short, sortable, unambiguous.
pub fn when(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(d), Some(t)) => format!("{d} {t} UTC"),
        _ => rfc3339.to_string(),
    }
}

/// The loading line every page shows while its data comes.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="text-sm text-slate-500" role="status">"Loading…"</p> }
}
