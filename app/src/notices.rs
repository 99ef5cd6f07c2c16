//! What each action says when it worked. With JavaScript the page shows it as a toast; without,
//! the server function keeps it for the next page (`crate::flash`). Both read it from here, so
//! the two paths cannot drift apart.

use crate::model::{
    BulkChange, Mapping, MessageRecord, Notice, SettingsView, TokenView, Tone, Unreachable,
};

pub fn vended(m: &Mapping) -> Notice {
    Notice::success(format!("Vended {}.", m.address))
}

pub fn saved(m: &Mapping) -> Notice {
    Notice::success(format!("Saved {}.", m.address))
}

pub fn deleted(m: &Mapping) -> Notice {
    Notice::success(format!(
        "Deleted {}. The address stays reserved and is never vended again.",
        m.address
    ))
}

pub fn synced(s: &crate::org::SyncSummary) -> Notice {
    let drifted = s.unmapped + s.off_domain + s.closed + s.conflict;
    Notice::success(format!(
        "Synced {} accounts: {} linked now, {drifted} need a look.",
        s.accounts, s.linked
    ))
}

pub fn adopted(m: &Mapping) -> Notice {
    Notice::success(format!(
        "Adopted {}: its mail now goes to {}.",
        m.address, m.owner
    ))
}

pub fn moved(results: &[crate::org::MoveResult]) -> Notice {
    let queued = results.iter().filter(|r| r.job.is_some()).count();
    let refused: Vec<String> = results
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.account_id)))
        .collect();
    let text = format!(
        "Queued {queued} root email change{}; they start one at a time.",
        if queued == 1 { "" } else { "s" }
    );
    match refused.is_empty() {
        true => Notice::success(text),
        false => Notice::success(format!(
            "{text} Refused {}: {}",
            refused.len(),
            refused.join("; ")
        )),
    }
}

pub fn retried(j: &crate::org::RootEmailJob) -> Notice {
    Notice::success(format!(
        "Retrying the move of {} to {} (attempt {}).",
        j.account_id, j.address, j.attempts
    ))
}

pub fn bulk(b: &BulkChange) -> Notice {
    let n = b.addresses.len();
    let mappings = if n == 1 { "mapping" } else { "mappings" };
    Notice::success(match &b.to {
        Some(to) => format!("Moved {n} {mappings} from {} to {to}.", b.owner),
        None => format!("Suspended {n} {mappings} of {}.", b.owner),
    })
}

pub fn reachable(u: &Unreachable) -> Notice {
    Notice::success(format!(
        "Marked {} fixed: its mail goes to it alone again.",
        u.recipient
    ))
}

pub fn replayed(r: &MessageRecord) -> Notice {
    Notice::success(format!("Replayed: {}.", r.outcome.label()))
}

pub fn released(r: &MessageRecord) -> Notice {
    match (&r.outcome, &r.delivered_to) {
        (crate::model::Outcome::Forwarded, Some(to)) => {
            Notice::success(format!("Released to {to}."))
        }
        _ => Notice::success(format!("Released: {}.", r.outcome.label())),
    }
}

pub fn rule_added(r: &crate::model::RoutingRules) -> Notice {
    Notice::success(format!("Rule added: {} in all.", r.rules.len()))
}

pub fn rules_changed(_: &crate::model::RoutingRules) -> Notice {
    Notice::success("Routing rules saved.")
}

pub fn class_policies_saved(_: &SettingsView) -> Notice {
    Notice::success("Mail class policies saved.")
}

pub fn catch_all(v: &SettingsView) -> Notice {
    Notice::success(if v.settings.catch_all {
        "Catch-all is on."
    } else {
        "Catch-all is off."
    })
}

pub fn spam_policy_saved(_: &SettingsView) -> Notice {
    Notice::success("Spam policy saved.")
}

pub fn dmarc_policy_saved(_: &SettingsView) -> Notice {
    Notice::success("DMARC policy saved.")
}

/// Carries the secret: this is the only time anyone sees it.
pub fn token_created((token, secret): &(TokenView, String)) -> Notice {
    Notice {
        tone: Tone::Success,
        text: format!(
            "Created the token {}. Copy its secret now: it is not shown again.",
            token.name
        ),
        secret: Some(secret.clone()),
    }
}

pub fn channel_added(c: &crate::notify::ChannelCreated) -> Notice {
    match &c.secret {
        Some(secret) => Notice {
            tone: Tone::Success,
            text: format!(
                "Added the channel {}. Copy its signing secret now: it is not shown again.",
                c.channel.target
            ),
            secret: Some(secret.clone()),
        },
        None => Notice::success(format!("Added the channel {}.", c.channel.target)),
    }
}

pub fn channel_removed(c: &crate::notify::Channel) -> Notice {
    Notice::success(format!("Removed the channel {}.", c.target))
}

pub fn channel_tested(d: &crate::notify::NotificationDelivery) -> Notice {
    use crate::notify::NoticeState;
    match d.state {
        NoticeState::Delivered => Notice::success(match d.last_status {
            Some(status) => format!("The test was delivered (the receiver answered {status})."),
            None => "The test was delivered.".to_string(),
        }),
        _ => Notice {
            tone: Tone::Error,
            text: format!(
                "The test was not delivered: {}.{}",
                d.last_error.as_deref().unwrap_or("no reason given"),
                match (&d.state, &d.next_at) {
                    (NoticeState::Pending, Some(at)) => format!(" It is tried again at {at}."),
                    _ => String::new(),
                }
            ),
            secret: None,
        },
    }
}

pub fn token_revoked(t: &TokenView) -> Notice {
    Notice::success(format!("Revoked the token {}.", t.name))
}
