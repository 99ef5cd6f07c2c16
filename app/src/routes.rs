//! Every page of the app, in one table: where it lives, what it is called, where the
//! navigation shows it, and who may open it. The layout draws its navigation from here, the
//! server's page guard decides access from here, and the tests hold the router (`shell.rs`),
//! the guard and the authorization matrix to it, so a page cannot be added in one place and
//! forgotten in another.

/// Who may open a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Open,
    /// Any signed-in person (an admin or an address owner).
    SignedIn,
    Admin,
}

/// A group of the main navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Shown to admins only.
    Admin,
    /// Shown to everyone signed in.
    Account,
}

impl Section {
    pub fn title(self) -> &'static str {
        match self {
            Section::Admin => "Admin",
            Section::Account => "Account",
        }
    }
}

/// A page's entry in the main navigation.
#[derive(Debug)]
pub struct Nav {
    pub label: &'static str,
    /// A 20×20 outline icon, drawn with `currentColor`.
    pub icon: &'static str,
    pub section: Section,
}

#[derive(Debug)]
pub struct Page {
    /// The router's pattern: `:name` takes one segment, `*name` the rest of the path.
    pub path: &'static str,
    /// The page's heading and the browser tab's title (a page about one thing, an address,
    /// may name the thing instead).
    pub title: &'static str,
    /// Pages about one thing are reached from their list, not from the navigation.
    pub nav: Option<Nav>,
    pub access: Access,
}

pub const LOGIN: Page = Page {
    path: "/login",
    title: "Sign in",
    nav: None,
    access: Access::Open,
};

pub const OVERVIEW: Page = Page {
    path: "/",
    title: "Overview",
    nav: Some(Nav {
        label: "Overview",
        icon: "M3 10.5 10 4l7 6.5V17a1 1 0 0 1-1 1h-4v-5H8v5H4a1 1 0 0 1-1-1z",
        section: Section::Admin,
    }),
    access: Access::Admin,
};

pub const ADDRESSES: Page = Page {
    path: "/addresses",
    title: "Addresses",
    nav: Some(Nav {
        label: "Addresses",
        icon: "M3 5h14v10H3zM3 5l7 6 7-6",
        section: Section::Admin,
    }),
    access: Access::Admin,
};

pub const ACCOUNTS: Page = Page {
    path: "/accounts",
    title: "AWS accounts",
    nav: Some(Nav {
        label: "AWS accounts",
        icon: "M4 6h12v10H4zM7 6V4h6v2M4 10h12M9 10v2h2v-2",
        section: Section::Admin,
    }),
    access: Access::Admin,
};

pub const ADDRESS: Page = Page {
    path: "/addresses/:address",
    title: "Address",
    nav: None,
    access: Access::Admin,
};

pub const MESSAGES: Page = Page {
    path: "/messages",
    title: "Messages",
    nav: Some(Nav {
        label: "Messages",
        icon: "M3 11h4l1.5 2h3L13 11h4M4 5h12l1 6v5H3v-5z",
        section: Section::Admin,
    }),
    access: Access::Admin,
};

pub const HELD: Page = Page {
    path: "/held",
    title: "Held mail",
    nav: Some(Nav {
        label: "Held mail",
        icon: "M5 9V6a5 5 0 0 1 10 0v3M4 9h12v9H4zM10 12v3",
        section: Section::Admin,
    }),
    access: Access::Admin,
};

/// Message ids hold a slash (`<SES message id>/<recipient>`), hence the rest of the path.
pub const MESSAGE: Page = Page {
    path: "/messages/*id",
    title: "Message",
    nav: None,
    access: Access::Admin,
};

pub const SETTINGS: Page = Page {
    path: "/settings",
    title: "Settings",
    nav: Some(Nav {
        label: "Settings",
        icon: "M10 7a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM10 2v2M10 16v2M2 10h2M16 10h2M4.3 4.3l1.4 1.4M14.3 14.3l1.4 1.4M4.3 15.7l1.4-1.4M14.3 5.7l1.4-1.4",
        section: Section::Admin,
    }),
    access: Access::Admin,
};

pub const NOTIFICATIONS: Page = Page {
    path: "/notifications",
    title: "Notifications",
    nav: Some(Nav {
        label: "Notifications",
        icon: "M10 3a5 5 0 0 0-5 5v3l-2 3h14l-2-3V8a5 5 0 0 0-5-5zM8 17a2 2 0 0 0 4 0",
        section: Section::Admin,
    }),
    access: Access::Admin,
};

pub const TOKENS: Page = Page {
    path: "/tokens",
    title: "API tokens",
    nav: Some(Nav {
        label: "API tokens",
        icon: "M12.5 3a4.5 4.5 0 1 0 0 9 4.5 4.5 0 0 0 0-9zM9 10.5 3 16.5V18h2.5v-1.5H7V15h1.5l2-2",
        section: Section::Admin,
    }),
    access: Access::Admin,
};

pub const AUDIT: Page = Page {
    path: "/audit",
    title: "Audit log",
    nav: Some(Nav {
        label: "Audit log",
        icon: "M6 3h8l3 3v11H6zM9 8h5M9 11h5M9 14h3M3 6v12h11",
        section: Section::Admin,
    }),
    access: Access::Admin,
};

pub const ME: Page = Page {
    path: "/me",
    title: "My addresses",
    nav: Some(Nav {
        label: "My addresses",
        icon: "M10 10a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7zM3.5 17.5a6.5 6.5 0 0 1 13 0",
        section: Section::Account,
    }),
    access: Access::SignedIn,
};

/// In navigation order.
pub const PAGES: &[Page] = &[
    LOGIN,
    OVERVIEW,
    ADDRESSES,
    ADDRESS,
    ACCOUNTS,
    MESSAGES,
    HELD,
    MESSAGE,
    SETTINGS,
    NOTIFICATIONS,
    TOKENS,
    AUDIT,
    ME,
];

impl Page {
    /// Whether the router would show this page at `path` (a trailing slash is ignored, as the
    /// router ignores it).
    pub fn matches(&self, path: &str) -> bool {
        let path = match path.strip_suffix('/') {
            Some(rest) if !rest.is_empty() => rest,
            _ => path,
        };
        let mut want = self.path.split('/');
        let mut got = path.split('/');
        loop {
            match (want.next(), got.next()) {
                (None, None) => return true,
                (Some(w), Some(g)) if w.starts_with('*') => {
                    return !g.is_empty() || got.next().is_some();
                }
                (Some(w), Some(g)) if w.starts_with(':') => {
                    if g.is_empty() {
                        return false;
                    }
                }
                (Some(w), Some(g)) if w == g => {}
                _ => return false,
            }
        }
    }
}

/// The page the router shows at `path`, if any.
pub fn page_at(path: &str) -> Option<&'static Page> {
    PAGES.iter().find(|p| p.matches(path))
}

/// The pages of one navigation section, with their entries, in order.
pub fn nav(section: Section) -> impl Iterator<Item = (&'static Page, &'static Nav)> {
    PAGES.iter().filter_map(move |p| {
        p.nav
            .as_ref()
            .filter(|n| n.section == section)
            .map(|n| (p, n))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_find_their_page() {
        for (path, want) in [
            ("/", Some("/")),
            ("/login", Some("/login")),
            ("/addresses", Some("/addresses")),
            ("/addresses/", Some("/addresses")),
            ("/addresses/x@y.example", Some("/addresses/:address")),
            ("/addresses/x@y.example/more", None),
            ("/messages/0100abc/jo@mail.example", Some("/messages/*id")),
            ("/messages/x%2Fy", Some("/messages/*id")),
            ("/me", Some("/me")),
            ("/me/", Some("/me")),
            ("/me/x", None),
            ("/addressesX", None),
            ("/secret", None),
            ("", None),
        ] {
            assert_eq!(page_at(path).map(|p| p.path), want, "{path}");
        }
    }

    #[test]
    fn every_page_is_listed_once_and_nav_entries_are_plain_paths() {
        for (i, page) in PAGES.iter().enumerate() {
            assert!(
                PAGES[..i].iter().all(|p| p.path != page.path),
                "{} twice",
                page.path
            );
            if page.nav.is_some() {
                assert!(
                    !page.path.contains([':', '*']),
                    "{}: a link needs a plain path",
                    page.path
                );
            }
        }
        let labels = |s| nav(s).map(|(_, n)| n.label).collect::<Vec<_>>();
        assert_eq!(
            labels(Section::Admin),
            [
                "Overview",
                "Addresses",
                "AWS accounts",
                "Messages",
                "Held mail",
                "Settings",
                "Notifications",
                "API tokens",
                "Audit log"
            ]
        );
        assert_eq!(labels(Section::Account), ["My addresses"]);
    }
}
