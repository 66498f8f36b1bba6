//! A throw-away PostgreSQL cluster for tests.
//!
//! [`Cluster::start`] runs Debian's `initdb` and `pg_ctl` (from `/usr/lib/postgresql/<v>/bin`,
//! the newest version there) on a temporary folder, listening on a free loopback port and a
//! Unix socket in that folder, with `trust` authentication for local connections only. The
//! server refuses to run as root, so a root test process runs the server as `nobody`
//! (through `runuser`) in a folder that user owns. [`Cluster::stop`], [`Cluster::start_again`]
//! and [`Drop`] (an immediate stop, then the folder is removed) let a test restart the server
//! mid-run. Nothing depends on a server left running: each cluster is its own.
//!
//! [`Bouncer::start`] puts Debian's PgBouncer in transaction pooling mode in front of a
//! cluster, as the vendors who pool connections run it.
//!
//! `make test` installs Debian's `postgresql` and `pgbouncer` packages when they are missing;
//! without them, [`Cluster::start`] and [`Bouncer::start`] panic with what to install.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A running (or stopped) PostgreSQL cluster of a test.
#[derive(Debug)]
pub struct Cluster {
    bin: PathBuf,
    /// The cluster's folder (data, socket, log); removed on drop.
    root: tempfile::TempDir,
    port: u16,
    /// `Some("nobody")` when the test runs as root.
    user: Option<&'static str>,
}

/// The newest PostgreSQL server binaries Debian installed.
fn server_bin() -> PathBuf {
    let base = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(base)
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL server binaries not found under {} ({e}): install Debian's \
                 `postgresql` package (make test does)",
                base.display()
            )
        })
        .filter_map(|e| {
            let e = e.ok()?;
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .expect("no /usr/lib/postgresql/<version>/bin/initdb: install Debian's `postgresql`")
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Cluster {
    /// Creates the cluster and starts its server; panics (a test failure) when it cannot.
    pub fn start() -> Cluster {
        let bin = server_bin();
        let user = is_root().then_some("nobody");
        let root = tempfile::Builder::new()
            .prefix("safe-pg-")
            .tempdir()
            .expect("a temporary folder");
        if let Some(user) = user {
            // The server's user must own its folder; the temporary folder's parent is
            // world-readable (/tmp), so it can reach it.
            run(Command::new("chown").arg(user).arg(root.path()));
        }
        let cluster = Cluster {
            bin,
            root,
            port: free_port(),
            user,
        };
        cluster.run_as("initdb", |c| {
            c.args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(cluster.data());
        });
        cluster.start_again();
        cluster
    }

    fn data(&self) -> PathBuf {
        self.root.path().join("data")
    }

    fn log(&self) -> PathBuf {
        self.root.path().join("server.log")
    }

    /// Runs one of the server's programs as the cluster's user.
    fn run_as(&self, program: &str, args: impl FnOnce(&mut Command)) {
        let path = self.bin.join(program);
        let mut c = match self.user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&path);
                c
            }
            None => Command::new(&path),
        };
        args(&mut c);
        run(&mut c);
    }

    /// Starts the server (again, after [`Cluster::stop`]) on the same port and data; waits
    /// until it accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off \
             -c max_connections=200",
            self.port,
            self.root.path().display()
        );
        self.run_as("pg_ctl", |c| {
            c.arg("-D")
                .arg(self.data())
                .arg("-l")
                .arg(self.log())
                .args(["-o", &options, "-w", "-t", "60", "start"]);
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the test PostgreSQL server did not listen: {}",
                std::fs::read_to_string(self.log()).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server at once (`immediate`: like a crash, no checkpoint), keeping its data.
    pub fn stop(&self) {
        self.run_as("pg_ctl", |c| {
            c.arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w", "stop"]);
        });
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for database `db` as the superuser `postgres` (no password: local
    /// trust authentication).
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    /// Creates database `name` and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        let psql = Path::new("/usr/bin/psql");
        let mut c = Command::new(psql);
        c.arg(self.url("postgres"))
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-c"])
            .arg(format!("CREATE DATABASE \"{name}\""));
        run(&mut c);
        self.url(name)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let path = self.bin.join("pg_ctl");
        let mut c = match self.user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&path);
                c
            }
            None => Command::new(&path),
        };
        // Already stopped is fine: the folder goes either way.
        let _ = c
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Runs `c`, panicking with its output when it fails.
fn run(c: &mut Command) {
    let out = c
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {c:?}: {e}"));
    assert!(
        out.status.success(),
        "{c:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// PgBouncer in transaction pooling mode in front of a [`Cluster`] (a few server
/// connections shared by every client, so statements of different clients meet on one
/// server connection), stopped on drop.
#[derive(Debug)]
pub struct Bouncer {
    child: std::process::Child,
    port: u16,
    _root: tempfile::TempDir,
}

impl Bouncer {
    /// Starts PgBouncer for every database of `cluster` with `server_connections` server
    /// connections per database and user; waits until it listens.
    pub fn start(cluster: &Cluster, server_connections: u32) -> Bouncer {
        let bin = Path::new("/usr/sbin/pgbouncer");
        assert!(
            bin.exists(),
            "{} not found: install Debian's `pgbouncer` package (make test does)",
            bin.display()
        );
        let root = tempfile::Builder::new()
            .prefix("safe-pgbouncer-")
            .tempdir()
            .expect("a temporary folder");
        let port = free_port();
        let dir = root.path();
        std::fs::write(dir.join("userlist.txt"), "\"postgres\" \"\"\n").expect("userlist");
        std::fs::write(
            dir.join("pgbouncer.ini"),
            format!(
                "[databases]\n* = host=127.0.0.1 port={}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\n\
                 listen_port = {port}\nunix_socket_dir =\nauth_type = trust\n\
                 auth_file = {}/userlist.txt\npool_mode = transaction\nmax_client_conn = 500\n\
                 default_pool_size = {server_connections}\n\
                 ignore_startup_parameters = extra_float_digits,options\n\
                 logfile = {}/pgbouncer.log\n",
                cluster.port(),
                dir.display(),
                dir.display()
            ),
        )
        .expect("pgbouncer.ini");
        let user = is_root().then_some("nobody");
        if let Some(user) = user {
            run(Command::new("chown").args(["-R", user]).arg(dir));
        }
        let mut c = Command::new(bin);
        if let Some(user) = user {
            // PgBouncer refuses to run as root; `-u` drops to the user after it starts.
            c.args(["-u", user]);
        }
        let child = c
            .arg(dir.join("pgbouncer.ini"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start pgbouncer: {e}"));
        let bouncer = Bouncer {
            child,
            port,
            _root: root,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "pgbouncer did not listen: {}",
                std::fs::read_to_string(bouncer._root.path().join("pgbouncer.log"))
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        bouncer
    }

    /// A connection URL for database `db` through the bouncer.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
