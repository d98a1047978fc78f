//! Running the real binary: a broker process with its log in a file.

use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

/// The broker binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_sandbox-broker");

/// A broker process, killed when dropped.
pub struct Broker {
    pub child: std::process::Child,
    pub base: String,
    /// stdout and stderr go to a file: a pipe nobody drains would block the
    /// broker once trace-level logging fills it.
    pub log: tempfile::NamedTempFile,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Starts `serve` with `config` on a free port and waits until it listens.
pub fn start_broker(config: &std::path::Path, envs: &[(&str, &str)]) -> Broker {
    let port = free_port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut command = Command::new(BIN);
    command
        .args(["--config", config.to_str().unwrap(), "serve"])
        .env("SANDBOX_BROKER__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::from(log.reopen().unwrap()))
        .stderr(Stdio::from(log.reopen().unwrap()));
    for (k, v) in envs {
        command.env(k, v);
    }
    let child = command.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + super::LOADED;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "broker did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Broker { child, base, log }
}

/// Waits for the process to exit, failing the test after `limit`.
pub async fn wait_for_exit(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(started.elapsed() < limit, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs the binary to completion: (exit code, stdout, stderr).
pub fn run_cli(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = Command::new(BIN);
    command.args(args).env_remove("SANDBOX_BROKER_CONFIG");
    for (k, v) in envs {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
