//! [`PgStore`]: the connection pool, its runtime, the password sources and TLS.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::tokio_postgres::{self, Config};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};

use super::schema;
use crate::error::{Error, Result};

/// How a [`PgStore`] connects.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Connections in the pool (default 8).
    pub max_connections: usize,
    /// How long a connection attempt (or a wait for a free connection) may take (default 10 s).
    pub connect_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_connections: 8,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// A pool of connections to one PostgreSQL database, on a runtime of its own. Cheap to
/// clone. Its `Debug` names the host, port, database and user, never the password.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    handle: tokio::runtime::Handle,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    /// `user@host:port/db`, for messages.
    target: String,
    timeout: Duration,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.inner.target)
            .finish()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.lock().ok().and_then(|mut r| r.take()) {
            // Blocking is not allowed on a runtime's thread: stop in the background there.
            if tokio::runtime::Handle::try_current().is_ok() {
                rt.shutdown_background();
            } else {
                rt.shutdown_timeout(Duration::from_secs(5));
            }
        }
    }
}

/// A driver error with the server's own message when there is one (`db error` alone says
/// nothing); never its detail, which may quote row values.
pub(super) fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// True when `e` says the database could not be reached, not that the statement was wrong:
/// a closed or broken connection, or the server's connection-exception (08) and
/// operator-intervention (57P01 shutdown, 57P02 crash, 57P03 cannot connect now) codes.
pub(super) fn unavailable(e: &tokio_postgres::Error) -> bool {
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
        }
        None => {
            e.is_closed()
                || std::error::Error::source(e)
                    .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some())
        }
    }
}

/// `message` without the URL's password, wherever a driver may have quoted it.
fn redacted(message: String, password: Option<&[u8]>) -> String {
    match password.and_then(|p| std::str::from_utf8(p).ok()) {
        Some(p) if !p.is_empty() => message.replace(p, "***"),
        _ => message,
    }
}

/// The password of `~/.pgpass` (or `PGPASSFILE`) for this connection: the first line
/// `host:port:database:user:password` whose fields match (`*` matches anything).
fn pgpass(host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let path = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pgpass")))?;
    let text = std::fs::read_to_string(path).ok()?;
    pgpass_in(&text, host, port, db, user)
}

/// The password of a `.pgpass` text for this connection.
fn pgpass_in(text: &str, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let port = port.to_string();
    text.lines().find_map(|line| {
        if line.starts_with('#') {
            return None;
        }
        let fields = split_pgpass(line);
        let [h, p, d, u, password] = fields.as_slice() else {
            return None;
        };
        let matches = |field: &str, value: &str| field == "*" || field == value;
        (matches(h, host) && matches(p, &port) && matches(d, db) && matches(u, user))
            .then(|| password.clone())
    })
}

/// The fields of a `.pgpass` line (`:` separates, `\` escapes `:` and `\`).
fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().expect("one field").push(next);
                }
            }
            ':' => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

/// The TLS setup: the system's roots (the platform verifier), or the CA file named by
/// `PGSSLROOTCERT`.
fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = match std::env::var_os("PGSSLROOTCERT") {
        Some(path) => {
            use rustls::pki_types::CertificateDer;
            use rustls::pki_types::pem::PemObject;
            let path = PathBuf::from(path);
            let mut roots = rustls::RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(&path).map_err(|e| {
                Error::InvalidConfig(format!("cannot read PGSSLROOTCERT {}: {e}", path.display()))
            })?;
            for cert in certs {
                let cert = cert.map_err(|e| {
                    Error::InvalidConfig(format!(
                        "PGSSLROOTCERT {} is not PEM: {e}",
                        path.display()
                    ))
                })?;
                roots.add(cert).map_err(|e| {
                    Error::InvalidConfig(format!("PGSSLROOTCERT {}: {e}", path.display()))
                })?;
            }
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth()
        }
        None => {
            use rustls_platform_verifier::ConfigVerifierExt;
            rustls::ClientConfig::with_platform_verifier()
                .map_err(|e| Error::InvalidConfig(format!("cannot set up TLS: {e}")))?
        }
    };
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

impl PgStore {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/db[?sslmode=…]`), brings the
    /// schema up to date and returns the store. Runs on the store's own runtime, so it may be
    /// awaited on any runtime.
    pub async fn connect(url: &str, options: PgOptions) -> Result<PgStore> {
        let store = PgStore::build(url, &options)?;
        store
            .run(|pg| async move {
                let mut client = pg.client().await?;
                schema::migrate(&mut client, schema::COMPONENT, schema::MIGRATIONS).await?;
                Ok(())
            })
            .await?;
        Ok(store)
    }

    /// [`PgStore::connect`] for a thread outside any async runtime.
    pub fn connect_blocking(url: &str, options: PgOptions) -> Result<PgStore> {
        let store = PgStore::build(url, &options)?;
        store.run_blocking(|pg| async move {
            let mut client = pg.client().await?;
            schema::migrate(&mut client, schema::COMPONENT, schema::MIGRATIONS).await?;
            Ok(())
        })?;
        Ok(store)
    }

    fn build(url: &str, options: &PgOptions) -> Result<PgStore> {
        if options.max_connections == 0 {
            return Err(Error::InvalidConfig(
                "a PostgreSQL store needs at least one connection".into(),
            ));
        }
        let mut config: Config = url.parse().map_err(|e: tokio_postgres::Error| {
            // The URL holds the password: never quote it back.
            let message = redacted(e.to_string(), None);
            Error::InvalidConfig(format!(
                "the store URL is not a valid postgres:// URL: {}",
                message.replace(url, "<url>")
            ))
        })?;
        let host = match config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".to_string(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config
            .get_user()
            .map(str::to_string)
            .or_else(|| std::env::var("PGUSER").ok())
            .unwrap_or_else(|| "postgres".into());
        if config.get_user().is_none() {
            config.user(&user);
        }
        let db = config.get_dbname().unwrap_or(&user).to_string();
        if config.get_password().is_none() {
            let password = std::env::var("PGPASSWORD")
                .ok()
                .or_else(|| pgpass(&host, port, &db, &user));
            if let Some(p) = password {
                config.password(p);
            }
        }
        config.connect_timeout(options.connect_timeout);
        let target = format!("{user}@{host}:{port}/{db}");
        let tls = tls()?;
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("safe-tracker-pg")
            .enable_all()
            .build()
            .map_err(|e| Error::InvalidConfig(format!("cannot start the store's runtime: {e}")))?;
        let pool = Pool::builder(manager)
            .max_size(options.max_connections)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(options.connect_timeout))
            .create_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| Error::InvalidConfig(format!("cannot build the store's pool: {e}")))?;
        Ok(PgStore {
            inner: Arc::new(Inner {
                pool,
                handle: runtime.handle().clone(),
                runtime: Mutex::new(Some(runtime)),
                target,
                timeout: options.connect_timeout,
            }),
        })
    }

    /// `user@host:port/db` (no password).
    pub fn target(&self) -> &str {
        &self.inner.target
    }

    /// A connection of the pool; an error names the database, never the password.
    pub(super) async fn client(&self) -> Result<Object> {
        self.inner.pool.get().await.map_err(|e| {
            let why = match &e {
                deadpool_postgres::PoolError::Backend(e) => describe(e),
                other => other.to_string(),
            };
            Error::StoreUnavailable(format!(
                "cannot connect to PostgreSQL {}: {why}",
                self.inner.target
            ))
        })
    }

    /// A statement's error as a checkpoint error naming what was being done.
    /// A connection that broke, or a server shutting down or starting, is
    /// [`Error::StoreUnavailable`] (transient: nothing was written); anything else is a
    /// checkpoint error.
    pub(super) fn sql_error(&self, what: &str, e: tokio_postgres::Error) -> Error {
        let message = format!(
            "PostgreSQL {}: cannot {what}: {}",
            self.inner.target,
            describe(&e)
        );
        if unavailable(&e) {
            Error::StoreUnavailable(message)
        } else {
            Error::Checkpoint(message)
        }
    }

    /// Runs `work(store)` on the store's runtime and awaits it from any runtime.
    pub(super) async fn run<T, F, Fut>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(PgStore) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let fut = work(self.clone());
        self.inner
            .handle
            .spawn(fut)
            .await
            .map_err(|e| Error::Checkpoint(format!("the PostgreSQL task failed: {e}")))?
    }

    /// Runs `fut` on the store's runtime in the background.
    pub(super) fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        self.inner.handle.spawn(fut);
    }

    /// Runs `work(store)` on the store's runtime, blocking the calling thread (any thread:
    /// the work runs on the store's own) until it is done.
    pub(super) fn run_blocking<T, F, Fut>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(PgStore) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let fut = work(self.clone());
        self.inner.handle.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv_timeout(self.inner.timeout * 6 + Duration::from_secs(30))
            .map_err(|_| {
                Error::Checkpoint(format!(
                    "PostgreSQL {} did not answer in time",
                    self.inner.target
                ))
            })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgpass_lines_match_field_by_field_with_wildcards_and_escapes() {
        let text = "# comment\n\
                    db.example:5432:other:rms:wrong\n\
                    db.example:*:safe:rms:pa\\:ss\\\\word\n\
                    *:*:*:*:fallback\n";
        assert_eq!(
            pgpass_in(text, "db.example", 5433, "safe", "rms").as_deref(),
            Some("pa:ss\\word")
        );
        assert_eq!(
            pgpass_in(text, "db.example", 5432, "other", "rms").as_deref(),
            Some("wrong")
        );
        assert_eq!(
            pgpass_in(text, "elsewhere", 1, "x", "y").as_deref(),
            Some("fallback")
        );
        assert_eq!(
            pgpass_in("a:b:c\n", "a", 1, "c", "d"),
            None,
            "too few fields"
        );
    }

    #[test]
    fn a_bad_url_never_echoes_its_password() {
        let url = "postgres://rms:hunter2-secret@db.example:notaport/safe";
        let e = PgStore::build(url, &PgOptions::default()).unwrap_err();
        let text = e.to_string();
        assert!(!text.contains("hunter2-secret"), "{text}");
        assert!(text.contains("not a valid postgres:// URL"), "{text}");
    }
}
