//! What a sign-in grants, and for how long (issue 20 item 3). The role given at sign-in is
//! not trusted for the session's life: an admin by `MAILVEND_ADMIN_EMAILS` stays one only
//! while the list still names them, every session ends `MAILVEND_SESSION_LIFETIME` after
//! sign-in however busy, and "sign everyone out" ends every session begun before it.

use app::auth::{Role, Viewer};
use serde::{Deserialize, Serialize};

/// Kept in the session beside the viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Unix milliseconds of the sign-in (milliseconds, so that a sign-in in the same second
    /// as a "sign everyone out" is on the right side of it).
    pub at: i64,
    /// Unix milliseconds of the last write that kept the session alive.
    pub touched: i64,
    /// Admin because the identity provider put them in an admin group (re-checked only by
    /// signing in again, so the lifetime bounds it).
    pub admin_by_group: bool,
    /// Signed in through local mode's link, which makes the admin address an admin.
    pub local: bool,
}

/// A session is written back at most this often to keep it alive (inactivity then means
/// inactivity, without a store write per request).
pub const TOUCH_EVERY_MS: i64 = 60_000;

/// What the current configuration makes of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Signed in as `viewer` (role re-derived); `touch` when the session is due a write.
    Valid { viewer: Viewer, touch: bool },
    /// Over; the reason is logged and the session removed.
    Ended(&'static str),
}

/// The rules now in force, for `judge`.
pub struct Rules<'a> {
    /// Unix milliseconds.
    pub now: i64,
    pub lifetime_ms: i64,
    /// Sessions begun before this (unix milliseconds) were signed out by an admin.
    pub epoch: i64,
    pub admin_emails: &'a [String],
    /// Local mode's admin address; `None` with single sign-on, where a local grant (from
    /// before the switch) makes nobody an admin.
    pub local_admin: Option<&'a str>,
}

pub fn judge(viewer: Viewer, grant: &Grant, rules: &Rules) -> Verdict {
    if grant.at > rules.now + 60_000 {
        return Verdict::Ended("the session claims a sign-in in the future");
    }
    if rules.now - grant.at >= rules.lifetime_ms {
        return Verdict::Ended("the session reached its lifetime");
    }
    if grant.at < rules.epoch {
        return Verdict::Ended("an admin signed everyone out");
    }
    let local = grant.local
        && rules
            .local_admin
            .is_some_and(|a| a.eq_ignore_ascii_case(&viewer.email));
    let admin = local
        || grant.admin_by_group
        || rules
            .admin_emails
            .iter()
            .any(|e| e.eq_ignore_ascii_case(&viewer.email));
    let viewer = Viewer {
        role: if admin { Role::Admin } else { Role::Owner },
        ..viewer
    };
    Verdict::Valid {
        viewer,
        touch: rules.now - grant.touched >= TOUCH_EVERY_MS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;
    const SIGNED_IN: i64 = 1_800_000_000_000;

    fn viewer(email: &str, role: Role) -> Viewer {
        Viewer {
            email: email.into(),
            name: None,
            role,
        }
    }

    fn grant(by_group: bool, local: bool) -> Grant {
        Grant {
            at: SIGNED_IN,
            touched: SIGNED_IN,
            admin_by_group: by_group,
            local,
        }
    }

    #[test]
    fn sessions_end_and_roles_follow_the_configuration() {
        let listed = vec!["boss@corp.example".to_string()];
        let valid = |role| Verdict::Valid {
            viewer: viewer("boss@corp.example", role),
            touch: true,
        };
        for (why, g, now, epoch, emails, want) in [
            (
                "an email-listed admin is one while listed",
                grant(false, false),
                SIGNED_IN + HOUR,
                0,
                listed.clone(),
                valid(Role::Admin),
            ),
            (
                "removed from MAILVEND_ADMIN_EMAILS: an owner on the next request",
                grant(false, false),
                SIGNED_IN + HOUR,
                0,
                vec![],
                valid(Role::Owner),
            ),
            (
                "an admin by group stays one until the lifetime ends",
                grant(true, false),
                SIGNED_IN + HOUR,
                0,
                vec![],
                valid(Role::Admin),
            ),
            (
                "local mode's admin",
                grant(false, true),
                SIGNED_IN + HOUR,
                0,
                vec![],
                valid(Role::Admin),
            ),
            (
                "however busy, a session ends at its lifetime",
                grant(true, false),
                SIGNED_IN + 12 * HOUR,
                0,
                listed.clone(),
                Verdict::Ended("the session reached its lifetime"),
            ),
            (
                "signed out by an admin after this sign-in",
                grant(true, false),
                SIGNED_IN + HOUR,
                SIGNED_IN + 1,
                listed.clone(),
                Verdict::Ended("an admin signed everyone out"),
            ),
            (
                "a sign-in after the sign-out is unaffected",
                grant(false, false),
                SIGNED_IN + HOUR,
                SIGNED_IN,
                listed.clone(),
                valid(Role::Admin),
            ),
            (
                "a grant from the future is not believed",
                grant(true, false),
                SIGNED_IN - HOUR,
                0,
                listed.clone(),
                Verdict::Ended("the session claims a sign-in in the future"),
            ),
        ] {
            let rules = Rules {
                now,
                lifetime_ms: 12 * HOUR,
                epoch,
                admin_emails: &emails,
                local_admin: Some("boss@corp.example"),
            };
            // The role stored at sign-in is ignored: re-derived every time.
            assert_eq!(
                judge(viewer("boss@corp.example", Role::Admin), &g, &rules),
                want,
                "{why}"
            );
        }
    }

    #[test]
    fn a_local_sign_in_counts_only_in_local_mode_for_its_admin() {
        let emails = vec![];
        let role = |local_admin| {
            let rules = Rules {
                now: SIGNED_IN + HOUR,
                lifetime_ms: 12 * HOUR,
                epoch: 0,
                admin_emails: &emails,
                local_admin,
            };
            match judge(
                viewer("ops@corp.example", Role::Admin),
                &grant(false, true),
                &rules,
            ) {
                Verdict::Valid { viewer, .. } => viewer.role,
                Verdict::Ended(why) => panic!("{why}"),
            }
        };
        assert_eq!(role(Some("ops@corp.example")), Role::Admin);
        assert_eq!(
            role(Some("other@corp.example")),
            Role::Owner,
            "another admin address now"
        );
        assert_eq!(role(None), Role::Owner, "switched to single sign-on");
    }

    #[test]
    fn a_session_is_written_back_at_most_once_a_minute() {
        let emails = vec![];
        let at = |now| {
            let rules = Rules {
                now,
                lifetime_ms: 12 * HOUR,
                epoch: 0,
                admin_emails: &emails,
                local_admin: None,
            };
            match judge(
                viewer("o@x.example", Role::Owner),
                &grant(false, false),
                &rules,
            ) {
                Verdict::Valid { touch, .. } => touch,
                Verdict::Ended(why) => panic!("{why}"),
            }
        };
        assert!(!at(SIGNED_IN));
        assert!(!at(SIGNED_IN + 59_999));
        assert!(at(SIGNED_IN + 60_000));
    }
}
