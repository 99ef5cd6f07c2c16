//! The command line of the `mailvend` binary.

use clap::{Parser, Subcommand};

pub mod commands;
pub mod import;

#[derive(Debug, Parser)]
#[command(
    name = "mailvend",
    version,
    about = "Vend email addresses and forward their mail"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Create or upgrade the store's schema, then exit.
    Migrate,
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Act on every mapping of one owner at once (people leave); prints what changed.
    #[command(subcommand)]
    Owner(OwnerCommand),
    /// The AWS organization (needs MAILVEND_ORGANIZATIONS=on): sync it, list its accounts.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Run one raw message through the forwarding pipeline, as if SES had received it;
    /// prints one JSON object per recipient.
    Deliver {
        /// An envelope recipient (repeat for several).
        #[arg(long = "recipient", required = true)]
        recipients: Vec<String>,
        /// The envelope sender; by default the message's Return-Path or From address.
        #[arg(long)]
        sender: Option<String>,
        /// The message, as an .eml file (`-` reads standard input).
        file: std::path::PathBuf,
    },
    /// Apply one SES delivery event (the `Message` text SNS would post: an event-publishing
    /// record or a bounce/complaint/delivery notification) to the records its send carried,
    /// as if SNS had posted it; prints what it did. With the outbox mailer, the send's id is
    /// the `message_id` in its `.json`.
    DeliveryEvent {
        /// The event, as JSON (`-` reads standard input).
        file: std::path::PathBuf,
    },
    /// Import the AWS sample's DynamoDB table (AccountEmail, AccountName, Enum, OwnerAddress,
    /// AccountType, Tags) into the configured store, keeping every address and number; prints
    /// one JSON object per item. Safe to run again.
    Import {
        /// The sample's table name.
        #[arg(long)]
        table: String,
        /// Only check the items and say what would be imported.
        #[arg(long)]
        dry_run: bool,
    },
    /// Exit 0 when the server on this machine (PORT or LEPTOS_SITE_ADDR) answers /healthz;
    /// the container's health check.
    Healthcheck,
    /// Copy the SQLite store to FILE while the server runs (a consistent snapshot, checked
    /// before it is kept; readable by its owner only); prints what the copy holds. For
    /// DynamoDB, use its point-in-time recovery instead.
    Backup {
        /// Where the copy goes; must not exist yet.
        file: std::path::PathBuf,
    },
    /// Send dead-lettered messages again; prints one JSON object per message.
    Replay {
        /// A message log id (`<SES message id>/<recipient>`).
        #[arg(
            required_unless_present = "dead_letters",
            conflicts_with = "dead_letters"
        )]
        id: Option<String>,
        /// Every dead letter in the log.
        #[arg(long)]
        dead_letters: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OwnerCommand {
    /// Move every live mapping of OWNER to TO (audited on each mapping and as a whole).
    Reassign {
        owner: String,
        to: String,
        /// Only say what would move.
        #[arg(long)]
        dry_run: bool,
    },
    /// Suspend every active mapping of OWNER.
    Suspend {
        owner: String,
        /// Only say what would be suspended.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Read every account now, link the mappings, judge the drift; prints the summary.
    Sync,
    /// Print the accounts the last sync read, one JSON object a line.
    Accounts {
        /// Only those with this drift: unmapped, off_domain, closed or conflict.
        #[arg(long)]
        drift: Option<String>,
    },
    /// Make a mapping for an account whose root email is on the domain but has none.
    Adopt {
        account_id: String,
        /// Who gets its mail.
        #[arg(long)]
        owner: String,
        /// One of MAILVEND_ACCOUNT_TYPES; the first by default.
        #[arg(long)]
        account_type: Option<String>,
    },
    /// Move accounts' root emails onto the domain: vend an address for each and queue a job;
    /// the running server starts them, paced, and finishes each when AWS's code arrives.
    /// Prints one result per account.
    Move {
        #[arg(required = true)]
        account_ids: Vec<String>,
        /// Who gets the moved accounts' mail; each account's current root email by default.
        #[arg(long)]
        owner: Option<String>,
    },
    /// Print every account's latest root email change job, one JSON object a line.
    Jobs,
    /// Queue a failed job again (AWS mails a new code).
    Retry { account_id: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["vend", "admin"])]
        scope: String,
        /// Days until the token stops working (1 to 3650); by default it never expires.
        #[arg(long)]
        expires_days: Option<u32>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by its id.
    Revoke { id: String },
}
