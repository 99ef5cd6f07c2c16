//! Each page's view as a lazy route: `cargo leptos build --split` moves the code only that
//! page needs (its views, resources, forms and the (de)serialisers of its data) into a wasm
//! chunk of its own, which the browser fetches when it hydrates or first navigates to that
//! page. The main bundle keeps the framework, the router, the layout and what pages share.
//! On the server, and in a build without `--split`, a lazy route renders like any other.

use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

use super::{
    accounts, address, addresses, audit, held, login, me, messages, notifications, overview,
    settings, tokens,
};

/// `lazy_page!(Route, page::Component)`: a lazy route whose view is `<page::Component/>`.
/// The page needs no route data of its own: its resources start inside its view.
macro_rules! lazy_page {
    ($route:ident, $($page:ident)::+) => {
        #[doc = concat!("The lazy route of `", stringify!($($page)::+), "`.")]
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                crate::shell::mark_hydrated();
                view! { <$($page)::+ /> }.into_any()
            }
        }
    };
}

lazy_page!(LoginRoute, login::Login);
lazy_page!(OverviewRoute, overview::Overview);
lazy_page!(AddressesRoute, addresses::Addresses);
lazy_page!(AddressRoute, address::AddressPage);
lazy_page!(MessagesRoute, messages::Messages);
lazy_page!(MessageRoute, messages::MessagePage);
lazy_page!(HeldRoute, held::Held);
lazy_page!(SettingsRoute, settings::Settings);
lazy_page!(NotificationsRoute, notifications::Notifications);
lazy_page!(TokensRoute, tokens::Tokens);
lazy_page!(AccountsRoute, accounts::Accounts);
lazy_page!(AuditRoute, audit::Audit);
lazy_page!(MyAddressesRoute, me::MyAddresses);
