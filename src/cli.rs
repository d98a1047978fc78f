//! The command line's grammar (clap): `main.rs` parses it and runs what
//! it names; kept here so the binary stays a thin dispatcher.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::broker::accounts::PoolCommand;

/// The whole command line.
#[derive(Parser)]
#[command(name = "sandbox-broker", version, about = "Temporary AWS keys and console links for learners", long_about = None)]
pub struct Cli {
    /// The one TOML configuration file.
    #[arg(long, global = true, env = "SANDBOX_BROKER_CONFIG", default_value = "config/default.toml")]
    pub config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Run the HTTP service.
    Serve,
    /// Validate the configuration and report every problem.
    CheckConfig,
    /// Converge IAM to the configured profiles (like `terraform apply`).
    Bootstrap {
        /// Report what would change without changing anything.
        #[arg(long)]
        dry_run: bool,
        /// Print the desired state as a template instead of applying it.
        #[arg(long, value_enum, conflicts_with = "dry_run")]
        emit: Option<Emit>,
    },
    /// Delete the profiles' roles tagged managed-by=sandbox-broker, their
    /// boundaries and the session ledger.
    Teardown {
        /// Report what would be deleted without deleting anything.
        #[arg(long)]
        dry_run: bool,
        /// Delete the ledger even while sessions are not cleaned.
        #[arg(long)]
        force: bool,
    },
    /// Read the session ledger.
    Sessions {
        /// List or show.
        #[command(subcommand)]
        command: SessionsCommand,
    },
    /// Clean up what an ended session created, now (`--session ID`), or
    /// print the resource types cleanup knows (`types`).
    #[command(args_conflicts_with_subcommands = true)]
    Cleanup {
        /// `types`, or none to clean a session.
        #[command(subcommand)]
        command: Option<CleanupCommand>,
        /// The session id.
        #[arg(long, required = true)]
        session: Option<String>,
        /// List what would be deleted without deleting anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// The account pool: register, inspect, quarantine, release, reset and
    /// remove accounts (the `/admin/accounts` routes, for a terminal).
    Pool {
        /// What to do with the pool.
        #[command(subcommand)]
        command: PoolCommand,
    },
    /// The spend meter's price table.
    Prices {
        /// What to do with the table.
        #[command(subcommand)]
        command: PricesCommand,
    },
    /// Mint an HS256 platform token from auth.hs256_secret (local use).
    Token {
        /// Space-separated scopes, e.g. "sessions:issue sessions:revoke".
        #[arg(long)]
        scope: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        /// The `sub` claim.
        #[arg(long, default_value = "local-operator")]
        sub: String,
    },
}

/// `sessions list|show`.
#[derive(Subcommand)]
pub enum SessionsCommand {
    /// List sessions (newest records first within a page).
    List {
        /// Only sessions in this state (active, ended, cleaning, cleaned, …).
        #[arg(long)]
        state: Option<String>,
    },
    /// One session's record and cleanup report.
    Show {
        /// The session id.
        id: String,
    },
}

/// `prices import`.
#[derive(Subcommand)]
pub enum PricesCommand {
    /// Build the table from AWS's bulk price list offer files (each
    /// service's `index.json`), for the regions the configuration names.
    Import {
        /// Offer files, streamed one after another.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write the table here instead of to stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// `cleanup types`.
#[derive(Subcommand)]
pub enum CleanupCommand {
    /// The registry of resource types as a table: type, scope, how it is
    /// found, its attribution in a shared account, what it depends on and
    /// what is protected in a pool account.
    Types,
}

/// What `bootstrap --emit` prints.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Emit {
    /// A CloudFormation template (JSON) of exactly the desired state.
    Cloudformation,
    /// A StackSet-ready template of the account profiles' roles for every
    /// pool account.
    CloudformationPool,
}
