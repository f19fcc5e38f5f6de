//! Driving the real `hyok` binary: start it on a loopback port in a directory of its
//! own, read what it prints, talk to it over HTTP(S), stop it with a signal.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const HYOK: &str = env!("CARGO_BIN_EXE_hyok");
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A configuration that keeps everything inside `dir` and listens on a free port.
pub fn config_in(dir: &Path) -> String {
    format!(
        "[http]\nport = 0\n\n[db]\nurl = \"sqlite://{0}/data/hyok.db\"\n\n[keystore]\nfile = \"{0}/data/master.key\"\n",
        dir.display()
    )
}

pub struct Hyok {
    child: Option<Child>,
    pub url: String,
    pub admin_token: Option<String>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

/// How a start attempt ended when the server did not come up.
#[derive(Debug)]
pub struct Failed {
    pub status: ExitStatus,
    pub stderr: String,
}

pub struct Launch {
    command: Command,
}

impl Launch {
    /// `hyok serve --config DIR/hyok.toml` with `config` written there, run in `dir`.
    pub fn with_config(dir: &Path, config: &str) -> Launch {
        let path = dir.join("hyok.toml");
        std::fs::write(&path, config).expect("write hyok.toml");
        let mut launch = Launch::in_dir(dir);
        launch.command.arg("--config").arg(path);
        launch
    }

    /// `hyok serve` without a configuration file, run in `dir`.
    pub fn in_dir(dir: &Path) -> Launch {
        let mut command = Command::new(HYOK);
        command
            .arg("serve")
            .current_dir(dir)
            .env_remove("HYOK_CONFIG")
            .env_remove("HYOK_MASTER_PASSPHRASE")
            .env_remove("HYOK_DB_URL")
            .env_remove("HYOK_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Launch { command }
    }

    pub fn env(mut self, name: &str, value: &str) -> Launch {
        self.command.env(name, value);
        self
    }

    /// Starts, then stops cleanly: a start whose only purpose is what it leaves behind.
    pub fn run_once(self) {
        let status = self.start().stop();
        assert!(status.success(), "hyok did not stop cleanly: {status}");
    }

    /// Must not start, saying `expected` on standard error.
    pub fn refused(self, expected: &str) -> Failed {
        let failed = match self.try_start() {
            Ok(hyok) => panic!(
                "hyok started, but should have refused with {expected:?}:\n{}",
                hyok.stderr()
            ),
            Err(failed) => failed,
        };
        assert!(!failed.status.success());
        assert!(
            failed.stderr.contains(expected),
            "expected {expected:?} in:\n{}",
            failed.stderr
        );
        failed
    }

    pub fn start(self) -> Hyok {
        match self.try_start() {
            Ok(hyok) => hyok,
            Err(failed) => panic!("hyok did not start ({}):\n{}", failed.status, failed.stderr),
        }
    }

    /// Starts the server, sends it `signal_number` the moment it says it listens, and
    /// returns its exit status (within 30 s) and standard error.
    pub fn signalled_once_listening(mut self, signal_number: libc::c_int) -> (ExitStatus, String) {
        let mut child = self.command.spawn().expect("spawn hyok");
        let stderr = collect(child.stderr.take().expect("stderr"));
        if let Err(status) = wait_until_listening(&mut child, &stderr) {
            panic!("hyok exited ({status}):\n{}", stderr.lock().unwrap());
        }
        signal(&child, signal_number);
        let status = wait_at_most(&mut child, Duration::from_secs(30))
            .unwrap_or_else(|| panic!("hyok did not stop:\n{}", stderr.lock().unwrap()));
        std::thread::sleep(Duration::from_millis(100));
        let stderr = stderr.lock().unwrap().clone();
        (status, stderr)
    }

    /// Starts the server and waits until it listens, or until it exits.
    pub fn try_start(mut self) -> Result<Hyok, Failed> {
        let mut child = self.command.spawn().expect("spawn hyok");
        let stdout = collect(child.stdout.take().expect("stdout"));
        let stderr = collect(child.stderr.take().expect("stderr"));
        match wait_until_listening(&mut child, &stderr) {
            Ok(url) => {
                let admin_token = wait_for_admin_token(&stdout);
                Ok(Hyok {
                    child: Some(child),
                    url,
                    admin_token,
                    stdout,
                    stderr,
                })
            }
            Err(status) => {
                std::thread::sleep(Duration::from_millis(100));
                let stderr = stderr.lock().unwrap().clone();
                Err(Failed { status, stderr })
            }
        }
    }
}

/// The URL `child` says it listens on, as soon as it says so (polled every millisecond),
/// or its exit status if it exits first; kills it and fails after [`START_TIMEOUT`].
fn wait_until_listening(
    child: &mut Child,
    stderr: &Arc<Mutex<String>>,
) -> Result<String, ExitStatus> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(url) = listening_url(&stderr.lock().unwrap()) {
            return Ok(url);
        }
        if let Some(status) = child.try_wait().expect("poll hyok") {
            return Err(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "hyok did not listen within {START_TIMEOUT:?}:\n{}",
                stderr.lock().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The exit status of `child` once it exits within `limit`; otherwise kills it.
fn wait_at_most(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The first start prints the token before listening; give the pipe a moment.
fn wait_for_admin_token(stdout: &Arc<Mutex<String>>) -> Option<String> {
    std::thread::sleep(Duration::from_millis(50));
    let text = stdout.lock().unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("admin token: "))
        .map(str::to_string)
}

fn listening_url(stderr: &str) -> Option<String> {
    stderr.lines().find_map(|line| {
        let (_, rest) = line.split_once("hyok listening on ")?;
        // Text logs end the URL with a space, JSON logs with a quote.
        let url: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"')
            .collect();
        (!url.is_empty()).then_some(url)
    })
}

fn collect(stream: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let buffer = Arc::new(Mutex::new(String::new()));
    let sink = buffer.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let mut text = sink.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    });
    buffer
}

impl Hyok {
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Standard error once it contains `text`, which the server logs from a thread of its
    /// own; fails after 5 s.
    pub fn wait_for_log(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let stderr = self.stderr();
            if stderr.contains(text) {
                return stderr;
            }
            assert!(
                Instant::now() < deadline,
                "{text:?} was not logged within 5 s:\n{stderr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The address of the KMIP listener (`[kmip] enable`), from its log line.
    pub fn kmip_address(&self) -> String {
        let stderr = self.stderr();
        stderr
            .lines()
            .find_map(|line| {
                let (_, rest) = line.split_once("hyok KMIP listening on kmip://")?;
                Some(
                    rest.chars()
                        .take_while(|c| !c.is_whitespace() && *c != '"')
                        .collect(),
                )
            })
            .unwrap_or_else(|| panic!("no KMIP listener in the log:\n{stderr}"))
    }

    /// Creates the user `name` as `admin` and returns an API token of theirs.
    pub fn user_token(&self, admin: &str, name: &str) -> String {
        let (status, body) = self.post(
            "/admin/users",
            Some(admin),
            serde_json::json!({ "name": name }),
        );
        assert_eq!(status, 201, "{body}");
        let (status, body) = self.post(
            "/admin/tokens",
            Some(admin),
            serde_json::json!({ "user": name }),
        );
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().unwrap().to_string()
    }

    pub fn admin_token(&self) -> String {
        self.admin_token
            .clone()
            .expect("the first start printed an admin token")
    }

    /// SIGKILL: the process dies at once, as in a crash.
    pub fn kill(mut self) {
        let mut child = self.child.take().expect("running");
        signal(&child, libc::SIGKILL);
        let _ = child.wait();
    }

    /// Sends `signal` to the server.
    pub fn signal(&self, signal_number: libc::c_int) {
        signal(self.child.as_ref().expect("running"), signal_number);
    }

    /// SIGTERM, then the exit status (within 30 s).
    pub fn stop(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        signal(&child, libc::SIGTERM);
        match wait_at_most(&mut child, Duration::from_secs(30)) {
            Some(status) => status,
            None => panic!(
                "hyok did not stop within 30 s of SIGTERM:\n{}",
                self.stderr()
            ),
        }
    }

    /// An HTTP client for this server with `token`.
    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
        send(
            reqwest::blocking::Client::new().get(format!("{}{path}", self.url)),
            token,
        )
    }

    pub fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        send(
            reqwest::blocking::Client::new()
                .post(format!("{}{path}", self.url))
                .json(&body),
            token,
        )
    }

    /// Runs a `hyok` client command against this server as `token`.
    pub fn cli(&self, token: &str, args: &[&str]) -> (bool, String, String) {
        cli(&[("HYOK_URL", &self.url), ("HYOK_TOKEN", token)], args)
    }
}

impl Drop for Hyok {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn signal(child: &Child, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
    unsafe { libc::kill(pid, signal) };
}

pub fn send(
    request: reqwest::blocking::RequestBuilder,
    token: Option<&str>,
) -> (u16, serde_json::Value) {
    let request = match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    };
    let response = request.send().expect("request");
    let status = response.status().as_u16();
    let text = response.text().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

/// Runs `hyok ARGS` with `env`; returns (success, stdout, stderr).
pub fn cli(env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    run(Path::new(HYOK), env, args)
}

/// A binary of the hyok-tools crate (`hyok-bench`, `hyok-replay`): built beside `hyok` by
/// `cargo test --workspace`.
pub fn tool(name: &str) -> PathBuf {
    let path = Path::new(HYOK).with_file_name(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace`, or `cargo build -p hyok-tools` first",
        path.display()
    );
    path
}

/// Runs the tool `name` (see [`tool`]) with `args` and `env`; returns (success, stdout,
/// stderr).
pub fn run_tool(name: &str, env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    run(&tool(name), env, args)
}

fn run(program: &Path, env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let mut command = Command::new(program);
    command
        .args(args)
        .env_remove("HYOK_TOKEN")
        .env_remove("HYOK_URL")
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

pub fn data_file(dir: &Path, name: &str) -> PathBuf {
    dir.join("data").join(name)
}

/// Polls `/health` until it answers `status` (or panics after `within`): its answer comes
/// from a probe that stands for a second.
pub fn await_health(hyok: &Hyok, status: u16, within: Duration) -> serde_json::Value {
    let deadline = Instant::now() + within;
    loop {
        let (seen, body) = hyok.get("/health", None);
        if seen == status {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "health stayed {seen}, wanted {status}: {body}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
