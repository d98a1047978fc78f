//! The test harness: one moto server per test binary (`moto`), a call
//! recorder around the real upstreams (`calls`), `TestApp` running the real
//! broker on port 0 (`app`), platform tokens (`tokens`), and the fake
//! federation endpoint shared with the benchmark and the dev stack.

mod app;
mod calls;
mod ledger;
mod moto;
mod process;
mod tokens;

use std::time::Duration;

pub use app::{TestApp, TestOptions, actions, test_config_toml, write_config};
pub use ledger::{footprint, lambda_role, report_arns, strings};
pub use moto::{
    Moto, broker_sdk_config, create_ledger, create_role, free_port, iam_client, moto_assumed_roles, moto_issued_triple,
    repo_path, sdk_config, unique, venv_tool, whoami,
};
pub use process::{BIN, run_cli, start_broker, wait_for_exit};
pub use tokens::{merge_claims, mint};

use crate::fake_federation::{FakeFederation, FederationCall};

pub const HS256_SECRET: &str = "test-hs256-secret-0123456789abcdefghijklmnop";
pub const TICKET_SECRET: &str = "test-ticket-secret-0123456789abcdefghijklmnop";
pub const ISSUER: &str = "https://platform.test";
pub const AUDIENCE: &str = "sandbox-broker";
pub const REGION: &str = "eu-west-1";
pub const ACCOUNT: &str = "123456789012";
pub const ALL_SCOPES: &str = "sessions:issue sessions:revoke sessions:read admin";
/// Deadline for a state reached in the background (a cleanup, a takeover),
/// sized for a 2-core machine busy with a build beside the suite.
pub const LOADED: Duration = Duration::from_secs(90);

/// The shared fake federation endpoint on a port of its own, checking
/// credentials against moto.
#[derive(Clone)]
pub struct FederationServer {
    fake: FakeFederation,
    port: u16,
}

impl FederationServer {
    pub async fn start(moto: &str, delay: Duration) -> FederationServer {
        let fake = FakeFederation::new(Some(moto.to_owned()), delay);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let router = fake.router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        FederationServer { fake, port }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/federation", self.port)
    }

    pub fn calls(&self) -> Vec<FederationCall> {
        self.fake.calls()
    }

    pub fn token_identity(&self, token: &str) -> Option<String> {
        self.fake.token_identity(token)
    }
}
