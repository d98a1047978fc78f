//! `sandbox-broker` command line: parse, init telemetry, run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use sandbox_broker::{auth, config, startup::Application, telemetry};
use secrecy::ExposeSecret;

#[derive(Parser)]
#[command(
    name = "sandbox-broker",
    version,
    about = "Temporary AWS keys and console links for learners"
)]
struct Cli {
    /// The one TOML configuration file.
    #[arg(
        long,
        global = true,
        env = "SANDBOX_BROKER_CONFIG",
        default_value = "config/default.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service.
    Serve,
    /// Validate the configuration and report every problem.
    CheckConfig,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match config::load(Some(&cli.config)) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::CheckConfig => {
            println!("configuration OK: {} profile(s)", settings.profiles.len());
            ExitCode::SUCCESS
        }
        Command::Token { scope, ttl, sub } => {
            match auth::mint_token(&settings.auth, &sub, &scope, Duration::from_secs(ttl)) {
                Ok(token) => {
                    println!("{}", token.expose_secret());
                    ExitCode::SUCCESS
                }
                Err(err) => {
                    eprintln!("{err}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Serve => serve(settings),
    }
}

fn serve(settings: config::Settings) -> ExitCode {
    telemetry::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let app = match Application::build(settings).await {
            Ok(app) => app,
            Err(err) => {
                tracing::error!(error = %format!("{err:#}"), "start-up failed");
                return ExitCode::FAILURE;
            }
        };
        tracing::info!(port = app.port(), "sandbox-broker listening");
        match app.run_until_stopped().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                tracing::error!(error = %err, "server failed");
                ExitCode::FAILURE
            }
        }
    })
}
