use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::loaded::Loaded;
use crate::components::ui::{class, when, Card, ErrorNotice, PageHeader, Stat};
use crate::model::{uptime_label, DayVolume, OverviewStats, SystemStatus};
use crate::routes::OVERVIEW;
use crate::server_fns::{get_overview, get_status, CheckStore};
use leptos_router::components::A;

#[component]
pub fn Overview() -> impl IntoView {
    let check = ServerAction::<CheckStore>::new();
    // Re-read the status after every check, so the cards and the check agree.
    let status = Resource::new(move || check.version().get(), |_| get_status());
    let stats = Resource::new(|| (), |_| get_overview());

    view! {
        <Title text=OVERVIEW.title />
        <PageHeader title=OVERVIEW.title subtitle="The state of this mailvend instance." />
        // Quiet: the store check below has the page's live region.
        <Loaded data=status quiet=true let:status>
            <StatusCards status />
        </Loaded>
        <Loaded data=stats error_class="mt-8" let:stats>
            <Traffic stats />
        </Loaded>
        <Card class="mt-8">
            <div class="flex flex-wrap items-center justify-between gap-4">
                <div>
                    <h2 class="text-base font-semibold">"Store health"</h2>
                    <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
                        "Runs one round trip to the store and reports how long it took."
                    </p>
                </div>
                <ActionForm action=check>
                    <button
                        type="submit"
                        class="rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-600 disabled:opacity-60"
                        disabled=move || check.pending().get()
                    >
                        {move || if check.pending().get() { "Checking…" } else { "Check now" }}
                    </button>
                </ActionForm>
            </div>
            <div role="status" aria-live="polite" class="mt-4 text-sm empty:hidden">
                {move || check.value().get().map(|result| match result {
                    Ok(c) if c.ok => view! {
                        <p class="text-emerald-700 dark:text-emerald-400">
                            {format!("Store answered in {} at {}.", c.latency_label(), c.checked_at_utc())}
                        </p>
                    }.into_any(),
                    Ok(c) => view! {
                        <ErrorNotice message=format!("The store did not answer (checked at {}).", c.checked_at_utc()) />
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice message=e.to_string() /> }.into_any(),
                })}
            </div>
        </Card>
    }
}

#[component]
fn StatusCards(status: SystemStatus) -> impl IntoView {
    let health = if status.store_check.ok {
        format!("answered in {}", status.store_check.latency_label())
    } else {
        "not answering".to_string()
    };
    view! {
        <dl class="grid grid-cols-1 gap-4 sm:grid-cols-2 xl:grid-cols-4">
            <Stat label="Mail domain" value=status.domain />
            <Stat label="Store" value=status.store hint=health />
            <Stat label="Mailer" value=status.mailer />
            <Stat
                label="Catch-all"
                value=(if status.catch_all { "On" } else { "Off" }).to_string()
                hint=(if status.catch_all {
                    "unknown recipients go to the admin address"
                } else {
                    "unknown recipients are logged as undeliverable"
                })
                    .to_string()
            />
        </dl>
        <p class="mt-3 text-xs text-slate-500">
            {format!("mailvend {} · up {}", status.version, uptime_label(status.uptime_secs))}
        </p>
    }
}

#[component]
fn Traffic(stats: OverviewStats) -> impl IntoView {
    let OverviewStats {
        mappings,
        last_24h,
        daily,
        unreachable,
    } = stats;
    let unreachable_count = unreachable.len();
    view! {
        {(unreachable_count > 0).then(|| view! {
            <Card class="mt-8 border-red-200 dark:border-red-900">
                <div class="flex flex-wrap items-baseline justify-between gap-2">
                    <h2 class="text-base font-semibold text-red-800 dark:text-red-300">
                        {format!("{unreachable_count} unreachable recipient{}", if unreachable_count == 1 { "" } else { "s" })}
                    </h2>
                    <A href="/addresses?unreachable=true" attr:class=class::LINK>"Their addresses"</A>
                </div>
                <p class="mt-1 text-sm text-slate-600 dark:text-slate-400">
                    "These mailboxes bounced permanently or complained. Their mail also goes to the fallback address until they are fixed."
                </p>
                <ul class="mt-3 divide-y divide-slate-200 text-sm dark:divide-slate-800">
                    {unreachable.into_iter().map(|u| view! {
                        <li class="flex flex-wrap justify-between gap-2 py-2">
                            <span class="font-mono">{u.recipient.clone()}</span>
                            <span class="text-slate-500">{format!("{}, last reported {}", u.reason.as_str(), when(&u.since))}</span>
                        </li>
                    }).collect_view()}
                </ul>
            </Card>
        })}
        <h2 class="mt-10 mb-3 text-base font-semibold">"Addresses"</h2>
        <dl class="grid grid-cols-1 gap-4 sm:grid-cols-3">
            <Stat label="Active" value=mappings.active.to_string() hint="forwarded to their owners".to_string() />
            <Stat label="Suspended" value=mappings.suspended.to_string() hint="not forwarded until resumed".to_string() />
            <Stat label="Deleted" value=mappings.deleted.to_string() hint="reserved for ever, never vended again".to_string() />
        </dl>
        <h2 class="mt-10 mb-3 text-base font-semibold">"Mail in the last 24 hours"</h2>
        <dl class="grid grid-cols-2 gap-4 xl:grid-cols-4">
            <Stat label="Forwarded" value=last_24h.forwarded.to_string() />
            <Stat label="Undeliverable" value=last_24h.undeliverable.to_string() />
            <Stat label="Dead letters" value=last_24h.dead_letter.to_string() hint=(if last_24h.dead_letter > 0 { "replay them from Messages" } else { "" }).to_string() />
            <Stat label="Rejected" value=last_24h.rejected.to_string() hint="virus, or spam under the reject policy".to_string() />
        </dl>
        <Card class="mt-8">
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <h2 class="text-base font-semibold">"Daily volume, last 14 days (UTC)"</h2>
                <ul class="flex flex-wrap gap-4 text-xs text-slate-600 dark:text-slate-400" aria-hidden="true">
                    {SERIES.iter().map(|(label, colour, _)| view! {
                        <li class="flex items-center gap-1.5"><span class=format!("inline-block size-2.5 rounded-sm {colour}")></span>{*label}</li>
                    }).collect_view()}
                </ul>
            </div>
            <VolumeChart days=daily />
        </Card>
    }
}

/// One series of the chart: label, fill class, and the count for a day.
type Series = (&'static str, &'static str, fn(&DayVolume) -> u64);

/// The chart's series, bottom to top.
const SERIES: [Series; 4] = [
    ("Forwarded", "fill-emerald-500 bg-emerald-500", |d| {
        d.counts.forwarded
    }),
    ("Undeliverable", "fill-amber-400 bg-amber-400", |d| {
        d.counts.undeliverable
    }),
    ("Dead letter", "fill-red-500 bg-red-500", |d| {
        d.counts.dead_letter
    }),
    ("Rejected", "fill-slate-400 bg-slate-400", |d| {
        d.counts.rejected
    }),
];

/// Stacked bars drawn as SVG on the server: no chart library in the bundle, nothing to
/// wait for, and the same picture without JavaScript. Each bar has a title (a tooltip and
/// its accessible name), and a table carries the same figures for screen readers.
#[component]
fn VolumeChart(days: Vec<DayVolume>) -> impl IntoView {
    const W: f64 = 700.0;
    const H: f64 = 180.0;
    const TOP: f64 = 10.0;
    const BOTTOM: f64 = 24.0;
    const LEFT: f64 = 36.0;
    let max = days
        .iter()
        .map(|d| d.counts.total())
        .max()
        .unwrap_or(0)
        .max(1);
    // A round scale: 1, 2, 5, 10, 20, 50, …
    let scale = std::iter::successors(Some(1u64), |s| Some(s * 10))
        .flat_map(|s| [s, 2 * s, 5 * s])
        .find(|s| *s >= max)
        .unwrap_or(max);
    let plot_h = H - TOP - BOTTOM;
    let slot = (W - LEFT) / days.len().max(1) as f64;
    let bar_w = (slot * 0.6).max(2.0);
    let y_of = |v: u64| TOP + plot_h - plot_h * v as f64 / scale as f64;
    let bars = days.iter().enumerate().map(|(i, d)| {
        let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
        let mut acc = 0u64;
        let parts = SERIES.iter().filter_map(|(_, colour, count)| {
            let n = count(d);
            if n == 0 {
                return None;
            }
            let (y0, y1) = (y_of(acc), y_of(acc + n));
            acc += n;
            let fill = colour.split(' ').next().unwrap_or_default();
            Some(view! { <rect x=format!("{x:.1}") y=format!("{y1:.1}") width=format!("{bar_w:.1}") height=format!("{:.1}", y0 - y1) class=fill /> })
        }).collect_view();
        let label = (i % 2 == days.len().saturating_sub(1) % 2).then(|| view! {
            <text x=format!("{:.1}", x + bar_w / 2.0) y=format!("{:.1}", H - 6.0) text-anchor="middle" class="fill-slate-500 text-[10px]">{d.day.get(5..).unwrap_or(&d.day).to_string()}</text>
        });
        let c = d.counts;
        let title = format!(
            "{}: {} forwarded, {} undeliverable, {} dead letters, {} rejected",
            d.day, c.forwarded, c.undeliverable, c.dead_letter, c.rejected
        );
        view! {
            <g>
                <title>{title}</title>
                // The whole column answers to the pointer, even on an empty day.
                <rect x=format!("{:.1}", LEFT + slot * i as f64) y=format!("{TOP}") width=format!("{slot:.1}") height=format!("{plot_h}") fill="transparent" />
                {parts}
                {label}
            </g>
        }
    }).collect_view();
    let grid = [0, scale / 2, scale].into_iter().map(|v| {
        let y = y_of(v);
        view! {
            <line x1=format!("{LEFT}") x2=format!("{W}") y1=format!("{y:.1}") y2=format!("{y:.1}") class="stroke-slate-200 dark:stroke-slate-800" stroke-width="1" />
            <text x=format!("{:.1}", LEFT - 6.0) y=format!("{:.1}", y + 3.0) text-anchor="end" class="fill-slate-500 text-[10px]">{v.to_string()}</text>
        }
    }).collect_view();
    let total: u64 = days.iter().map(|d| d.counts.total()).sum();
    view! {
        <svg viewBox=format!("0 0 {W} {H}") class="mt-4 h-auto w-full" role="img" aria-label=format!("Daily volume: {total} messages in 14 days")>
            {grid}
            {bars}
        </svg>
        <table class="sr-only">
            <caption>"Messages per day"</caption>
            <thead><tr><th scope="col">"Day"</th><th scope="col">"Forwarded"</th><th scope="col">"Undeliverable"</th><th scope="col">"Dead letters"</th><th scope="col">"Rejected"</th></tr></thead>
            <tbody>
                {days.iter().map(|d| view! {
                    <tr><th scope="row">{d.day.clone()}</th><td>{d.counts.forwarded}</td><td>{d.counts.undeliverable}</td><td>{d.counts.dead_letter}</td><td>{d.counts.rejected}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
