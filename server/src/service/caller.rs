//! Who is calling the service, as proof. Every method of `AppService` takes one of these, and
//! they can only be made from something that was checked: a signed-in admin's or owner's proof
//! (`app::auth::require_admin`/`require_owner`, whose constructors are private to that check),
//! an API token the store found and that is not revoked, or the operator at the console (who
//! runs the binary with the store's own credentials, so the console proves nothing more than
//! they already hold). The audit log's "who" is derived here and nowhere else.

use app::auth::{Admin, Owner};

use crate::tokens::{ApiToken, Scope};

/// May vend addresses and read mappings: any valid API token, and every admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendCaller {
    actor: String,
    /// Set only by the admin proofs: what a `vend`-scope token may not do (choose an address
    /// by override unless allowed, claim one that has received mail, read others' mappings).
    admin: bool,
}

/// May do everything: a signed-in admin, an `admin`-scope API token, the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminCaller(VendCaller);

/// A signed-in person, limited to the mappings owned by their verified address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerCaller {
    email: String,
}

impl VendCaller {
    /// A token the store found by its digest, at `now`. Revoked and expired tokens prove
    /// nothing.
    pub fn token(token: &ApiToken, now: &str) -> Option<VendCaller> {
        token.usable(now).then(|| VendCaller {
            actor: format!("token:{}:{}", token.id, token.name),
            admin: token.scope == Scope::Admin,
        })
    }

    /// How the audit log names this caller.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Whether this caller is an admin (a signed-in admin, an admin token, the console).
    pub fn is_admin(&self) -> bool {
        self.admin
    }
}

impl AdminCaller {
    pub fn signed_in(admin: &Admin) -> AdminCaller {
        AdminCaller(VendCaller {
            actor: format!("user:{}", admin.viewer().email),
            admin: true,
        })
    }

    /// A usable token of scope `admin`.
    pub fn token(token: &ApiToken, now: &str) -> Option<AdminCaller> {
        (token.scope == Scope::Admin)
            .then(|| VendCaller::token(token, now))
            .flatten()
            .map(AdminCaller)
    }

    /// The operator running `mailvend` commands.
    pub fn console() -> AdminCaller {
        AdminCaller(VendCaller {
            actor: "cli".to_string(),
            admin: true,
        })
    }

    /// The server itself, for work it runs on a schedule (the organization sync), audited as
    /// `schedule:<task>`.
    pub fn schedule(task: &str) -> AdminCaller {
        AdminCaller(VendCaller {
            actor: format!("schedule:{task}"),
            admin: true,
        })
    }

    /// An admin may do whatever a vend token may.
    pub fn as_vend(&self) -> &VendCaller {
        &self.0
    }

    pub fn actor(&self) -> &str {
        self.0.actor()
    }

    /// The signed-in admin's own mailbox; a token, the console and the schedule have none.
    pub fn mailbox(&self) -> Option<&str> {
        self.0.actor.strip_prefix("user:")
    }
}

impl OwnerCaller {
    pub fn signed_in(owner: &Owner) -> OwnerCaller {
        OwnerCaller {
            email: owner.viewer().email.clone(),
        }
    }

    /// The verified address whose mappings this caller may see.
    pub fn email(&self) -> &str {
        &self.email
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(scope: Scope, revoked: bool) -> ApiToken {
        ApiToken {
            id: "tok1".into(),
            name: "ci".into(),
            scope,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            created_by: "cli".into(),
            revoked_at: revoked.then(|| "2026-01-02T00:00:00.000Z".into()),
            expires_at: Some("2026-06-01T00:00:00.000Z".into()),
            last_used_at: None,
        }
    }

    const NOW: &str = "2026-03-01T00:00:00.000Z";

    #[test]
    fn expired_tokens_prove_nothing() {
        let t = token(Scope::Admin, false);
        assert!(AdminCaller::token(&t, NOW).is_some());
        assert!(
            VendCaller::token(&t, "2026-06-01T00:00:00.000Z").is_none(),
            "at expiry"
        );
        assert!(AdminCaller::token(&t, "2026-07-01T00:00:00.000Z").is_none());
        let forever = ApiToken {
            expires_at: None,
            ..t
        };
        assert!(VendCaller::token(&forever, "2099-01-01T00:00:00.000Z").is_some());
    }

    #[test]
    fn tokens_prove_only_their_scope() {
        let vend = token(Scope::Vend, false);
        let admin = token(Scope::Admin, false);
        assert_eq!(
            VendCaller::token(&vend, NOW).unwrap().actor(),
            "token:tok1:ci"
        );
        assert!(!VendCaller::token(&vend, NOW).unwrap().is_admin());
        assert!(VendCaller::token(&admin, NOW).unwrap().is_admin());
        assert!(AdminCaller::console().as_vend().is_admin());
        assert!(
            AdminCaller::token(&vend, NOW).is_none(),
            "a vend token is not an admin"
        );
        assert_eq!(
            AdminCaller::token(&admin, NOW).unwrap().actor(),
            "token:tok1:ci"
        );
        assert_eq!(
            AdminCaller::token(&admin, NOW).unwrap().as_vend().actor(),
            "token:tok1:ci"
        );
    }

    #[test]
    fn revoked_tokens_prove_nothing() {
        assert!(VendCaller::token(&token(Scope::Vend, true), NOW).is_none());
        assert!(AdminCaller::token(&token(Scope::Admin, true), NOW).is_none());
    }

    #[test]
    fn the_console_is_named_cli() {
        assert_eq!(AdminCaller::console().actor(), "cli");
        assert_eq!(AdminCaller::console().as_vend().actor(), "cli");
    }
}
