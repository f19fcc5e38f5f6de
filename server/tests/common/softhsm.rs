//! SoftHSM2 for tests: a token initialised in a temporary directory of its own, used
//! directly through libsofthsm2.so or out of process behind `p11-kit server`, so that a
//! test can make the HSM disappear (kill) or hang (SIGSTOP).
#![allow(dead_code)] // each test binary uses its own part of this module

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SO_PIN: &str = "5678";
pub const PIN: &str = "1234";

/// The SoftHSM2 module, or a panic that says what to install.
pub fn softhsm_module() -> PathBuf {
    let candidates = [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    ];
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
        .expect("SoftHSM2 is not installed: apt-get install softhsm2 (.ci/run does)")
}

/// p11-kit's client module, which forwards PKCS#11 calls to a `p11-kit server`.
pub fn p11_kit_client_module() -> PathBuf {
    let candidates = [
        "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so",
        "/usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-client.so",
    ];
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
        .expect("p11-kit's client module is not installed: apt-get install p11-kit-modules (.ci/run does)")
}

/// A SoftHSM2 configuration and token directory.
pub struct SoftHsm {
    pub config: PathBuf,
}

impl SoftHsm {
    /// A configuration in `dir` with one initialised token per label.
    pub fn new(dir: &Path, labels: &[&str]) -> SoftHsm {
        let tokens = dir.join("tokens");
        std::fs::create_dir_all(&tokens).unwrap();
        let config = dir.join("softhsm2.conf");
        std::fs::write(
            &config,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        for label in labels {
            let output = Command::new("softhsm2-util")
                .args([
                    "--init-token",
                    "--free",
                    "--label",
                    label,
                    "--so-pin",
                    SO_PIN,
                    "--pin",
                    PIN,
                ])
                .env("SOFTHSM2_CONF", &config)
                .output()
                .expect("softhsm2-util (apt-get install softhsm2)");
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        SoftHsm { config }
    }

    /// Serves the token `label` on the unix socket `socket` with `p11-kit server`.
    pub fn serve(&self, label: &str, socket: &Path) -> P11KitServer {
        let _ = std::fs::remove_file(socket);
        // Its own process group: p11-kit forks a process per client connection, and a
        // signal must reach those too.
        let child = Command::new("p11-kit")
            .process_group(0)
            .args(["server", "--foreground", "--name"])
            .arg(socket)
            .arg("--provider")
            .arg(softhsm_module())
            .arg(format!("pkcs11:token={label}"))
            .env("SOFTHSM2_CONF", &self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("p11-kit (apt-get install p11-kit)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "p11-kit server did not create {}",
                socket.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        P11KitServer { child }
    }
}

/// A running `p11-kit server`; killed when dropped.
pub struct P11KitServer {
    child: Child,
}

impl P11KitServer {
    pub fn address(socket: &Path) -> String {
        format!("unix:path={}", socket.display())
    }

    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) on our own child's process group has no memory-safety preconditions.
        unsafe { libc::kill(-pid, signal) };
    }
}

impl Drop for P11KitServer {
    fn drop(&mut self) {
        self.signal(libc::SIGCONT);
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
    }
}
