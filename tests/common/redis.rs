//! A real `redis-server` for tests, on a free port, killed on drop. Shared by the integration
//! tests and the Redis store's unit tests.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` of this test's own, killed on drop.
pub struct Redis {
    child: Child,
    pub port: u16,
}

impl Redis {
    /// A fresh Redis on a free port, or None (after saying so) when none is installed.
    pub fn start() -> Option<Self> {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        match Self::on(port) {
            Ok(r) => Some(r),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // CI must run these tests, so a missing server there is a failure, not a skip.
                assert!(std::env::var_os("CI").is_none(), "redis-server is not installed and CI is set: apt-get install -y redis-server");
                eprintln!("skipped: redis-server not installed");
                None
            }
            Err(e) => panic!("cannot start redis-server: {e}"),
        }
    }

    /// Starts Redis on `port` and waits (bounded) until it answers PING.
    pub fn on(port: u16) -> std::io::Result<Self> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let redis = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !redis.answers() {
            assert!(Instant::now() < deadline, "redis-server on port {port} did not answer PING within 10s");
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(redis)
    }

    pub fn answers(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Freezes the server (SIGSTOP): connections stay open and nothing answers, as with a Redis
    /// stuck on a slow disk or a long script. It resumes when the guard is dropped, so a failing
    /// test never leaves it frozen.
    pub fn pause(&self) -> Paused {
        assert!(signal(self.child.id(), "-STOP"), "cannot send SIGSTOP to redis-server");
        Paused { pid: self.child.id() }
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A paused Redis, resumed (SIGCONT) on drop.
pub struct Paused {
    pid: u32,
}

impl Paused {
    pub fn resume(self) {}
}

impl Drop for Paused {
    fn drop(&mut self) {
        // Never a panic here: this may run while a failed assertion unwinds.
        signal(self.pid, "-CONT");
    }
}

fn signal(pid: u32, sig: &str) -> bool {
    Command::new("kill").args([sig, &pid.to_string()]).status().is_ok_and(|s| s.success())
}
