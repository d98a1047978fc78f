//! `sandbox-broker` command line: parse, init telemetry, run.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use std::sync::Arc;

use sandbox_broker::aws::{Upstreams, load_sdk_config};
use sandbox_broker::broker::accounts::PoolCommand;
use sandbox_broker::broker::{CleanNow, Cleanup, Context, Provisioner, ledger_reports as sessions};
use sandbox_broker::cli::{CleanupCommand, Cli, Command, Emit, PricesCommand, SessionsCommand};
use sandbox_broker::clock::SystemClock;
use sandbox_broker::startup::Application;
use sandbox_broker::{auth, config, telemetry};
use secrecy::ExposeSecret;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match config::load(Some(&cli.config)) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    if matches!(cli.command, Command::CheckConfig | Command::Serve)
        && let Err(err) = config::check_serving(&settings)
    {
        eprintln!("{err}");
        return ExitCode::from(2);
    }
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
        Command::Prices { command: PricesCommand::Import { files, out } } => {
            let regions = settings.priced_regions();
            match sandbox_broker::domain::prices::import::run(&files, out.as_deref(), regions) {
                Ok((table, summary)) => {
                    if out.is_none() {
                        print!("{table}");
                    }
                    eprintln!("{summary}");
                    ExitCode::SUCCESS
                }
                Err(err) => {
                    eprintln!("{err}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Bootstrap { dry_run: _, emit: Some(Emit::Cloudformation) } => provision(settings, Run::Emit),
        Command::Bootstrap { dry_run: _, emit: Some(Emit::CloudformationPool) } => provision(settings, Run::EmitPool),
        Command::Bootstrap { dry_run, emit: None } => provision(settings, Run::Bootstrap { dry_run }),
        Command::Teardown { dry_run, force } => provision(settings, Run::Teardown { dry_run, force }),
        Command::Sessions { command: SessionsCommand::List { state } } => provision(settings, Run::List { state }),
        Command::Sessions { command: SessionsCommand::Show { id } } => provision(settings, Run::Show { id }),
        Command::Pool { command } => provision(settings, Run::Pool(command)),
        Command::Cleanup { command: Some(CleanupCommand::Types), .. } => {
            print!("{}", sandbox_reset::registry::table());
            ExitCode::SUCCESS
        }
        Command::Cleanup { command: None, session: Some(session), dry_run } => {
            provision(settings, Run::Cleanup { session, dry_run })
        }
        Command::Cleanup { command: None, session: None, .. } => {
            eprintln!("cleanup needs --session ID (or the `types` subcommand)");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => Some(rt),
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            None
        }
    }
}

/// A provisioning command.
enum Run {
    Bootstrap { dry_run: bool },
    Teardown { dry_run: bool, force: bool },
    Emit,
    EmitPool,
    List { state: Option<String> },
    Show { id: String },
    Cleanup { session: String, dry_run: bool },
    Pool(PoolCommand),
}

/// Runs bootstrap (or teardown, or the template) without a server and
/// prints the report. Needs AWS credentials and the profiles, nothing of
/// the server's secrets.
fn provision(settings: config::Settings, run: Run) -> ExitCode {
    telemetry::init();
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    runtime.block_on(async {
        let sdk = load_sdk_config(&settings).await;
        let upstreams = match Upstreams::from_sdk_config(&settings, &sdk) {
            Ok(u) => u,
            Err(err) => {
                eprintln!("{err:#}");
                return ExitCode::FAILURE;
            }
        };
        let context = Arc::new(Context::new(Arc::new(settings), upstreams, Arc::new(SystemClock)));
        let provisioner = Provisioner::new(context.clone());
        let cleanup = Arc::new(Cleanup::new(context.clone(), format!("cli-{}", std::process::id())));
        let result = match run {
            Run::Bootstrap { dry_run } => provisioner.bootstrap(dry_run, None).await.map(|r| pretty(&r)),
            Run::Teardown { dry_run, force } => provisioner.teardown(dry_run, force).await.map(|r| pretty(&r)),
            Run::Emit => provisioner.cloudformation().await.map(|t| pretty(&t)).map_err(Into::into),
            Run::EmitPool => provisioner.pool_cloudformation().await.map(|t| pretty(&t)).map_err(Into::into),
            Run::List { state } => sessions::list(&context, state.as_deref()).await.map_err(Into::into),
            Run::Show { id } => sessions::show(&context, &id).await.map_err(Into::into),
            Run::Cleanup { session, dry_run } => {
                let outcome = cleanup.clean_now(&session, dry_run, None).await;
                outcome.map(|(CleanNow::Finished(r) | CleanNow::Running(r))| pretty(&r)).map_err(Into::into)
            }
            Run::Pool(command) => cleanup.accounts().run_command(command).await.map_err(Into::into),
        };
        match result {
            Ok(report) => {
                println!("{report}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                let completed = serde_json::to_string_pretty(&err.completed).unwrap_or_default();
                eprintln!(
                    "error: {}\ncompleted before the failure (the next run repairs the rest):\n{completed}",
                    err.source
                );
                ExitCode::FAILURE
            }
        }
    })
}

fn pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

fn serve(settings: config::Settings) -> ExitCode {
    telemetry::init();
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
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
