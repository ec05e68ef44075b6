//! Typed `backend.*` (and `app.baseUrl`) settings.

use std::path::{Path, PathBuf};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use crate::config::type_name;
use crate::{Config, ConfigError};

/// Default listen port of Backstage apps created by `create-app`.
pub const DEFAULT_PORT: u16 = 7007;
/// Default listen address: loopback only, so that a fresh install is not exposed by accident.
/// (Backstage listens on all interfaces by default; write `listen: ':7007'` or
/// `listen: { host: 0.0.0.0 }` for that.)
pub const DEFAULT_HOST: &str = "127.0.0.1";

const SQLITE_CLIENTS: [&str; 2] = ["better-sqlite3", "sqlite3"];
const POSTGRES_CLIENT: &str = "pg";
/// File name used inside `connection: { directory }` (Backstage keeps one file per plugin
/// there; Portico keeps a single database).
const SQLITE_FILE_IN_DIRECTORY: &str = "portico.sqlite";

/// Characters left as-is in URL user info: the unreserved set of RFC 3986.
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The backend settings every part of the server needs.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendConfig {
    /// Public URL of the frontend (`app.baseUrl`), defaulting to [`BackendConfig::base_url`]
    /// since Portico serves its pages itself. No trailing slash.
    pub app_base_url: String,
    /// Public URL of the backend (`backend.baseUrl`); defaults to `http://<host>:<port>` from the
    /// listen address (`localhost` for wildcard hosts). No trailing slash.
    pub base_url: String,
    /// Address to bind (`backend.listen.host`, or the host part of `backend.listen: 'host:port'`).
    pub listen_host: String,
    /// Port to bind (`backend.listen.port`, or `backend.listen: ':7007'`).
    pub listen_port: u16,
    /// The database (`backend.database`); SQLite in memory when absent.
    pub database: DatabaseConfig,
    /// `backend.auth.dangerouslyDisableDefaultAuthPolicy`: serve plugin APIs without credentials.
    pub dangerously_disable_default_auth_policy: bool,
}

/// Which database to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseConfig {
    /// `client: better-sqlite3` (or the legacy `sqlite3`).
    Sqlite {
        /// Where the data lives.
        path: SqlitePath,
    },
    /// `client: pg`.
    Postgres {
        /// A `postgres://` connection URL.
        url: String,
    },
}

/// Location of a SQLite database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlitePath {
    /// A file; relative paths were resolved against the folder of the config file naming it.
    File(PathBuf),
    /// `:memory:` — gone when the process ends.
    Memory,
}

impl BackendConfig {
    /// Reads the backend settings, with Backstage's defaults for whatever is absent.
    pub fn from_config(config: &Config) -> Result<BackendConfig, ConfigError> {
        let (listen_host, listen_port) = read_listen(config)?;
        let base_url = match config.string("backend.baseUrl")? {
            Some(url) => checked_url("backend.baseUrl", &url)?,
            None => format!("http://{}:{listen_port}", url_host(public_host(&listen_host))),
        };
        let app_base_url = match config.string("app.baseUrl")? {
            Some(url) => checked_url("app.baseUrl", &url)?,
            None => base_url.clone(),
        };
        Ok(BackendConfig {
            app_base_url,
            base_url,
            listen_host,
            listen_port,
            database: read_database(config)?,
            dangerously_disable_default_auth_policy: config
                .bool("backend.auth.dangerouslyDisableDefaultAuthPolicy")?
                .unwrap_or(false),
        })
    }

    /// `listen_host:listen_port`, ready for binding (IPv6 hosts in brackets).
    pub fn listen_address(&self) -> String {
        format!("{}:{}", url_host(&self.listen_host), self.listen_port)
    }
}

/// An empty host means "all interfaces" in Backstage's `':7007'` form.
fn normalize_host(host: &str) -> String {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() { "0.0.0.0".to_owned() } else { host.to_owned() }
}

/// The host to put in a default public URL.
fn public_host(listen_host: &str) -> &str {
    match listen_host {
        "0.0.0.0" | "::" => "localhost",
        other => other,
    }
}

/// Brackets IPv6 literals for use in URLs and socket addresses.
fn url_host(host: &str) -> String {
    if host.contains(':') { format!("[{host}]") } else { host.to_owned() }
}

fn checked_url(key: &str, url: &str) -> Result<String, ConfigError> {
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed.strip_prefix("http://").or_else(|| trimmed.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.is_empty() => Ok(trimmed.to_owned()),
        _ => Err(ConfigError::invalid(
            key,
            format!("'{url}' is not an http(s) URL such as 'http://localhost:7007'"),
        )),
    }
}

fn read_listen(config: &Config) -> Result<(String, u16), ConfigError> {
    const KEY: &str = "backend.listen";
    match config.get(KEY) {
        None => Ok((DEFAULT_HOST.to_owned(), DEFAULT_PORT)),
        Some(Value::String(address)) => {
            let invalid = || {
                ConfigError::invalid(
                    KEY,
                    format!("unable to parse listen address '{address}', expected <port>, or <host>:<port>"),
                )
            };
            let (host, port) = match address.rsplit_once(':') {
                Some((host, port)) => (normalize_host(host), port),
                None => (DEFAULT_HOST.to_owned(), address.as_str()),
            };
            let port = port.trim().parse::<u16>().map_err(|_| invalid())?;
            Ok((host, port))
        }
        Some(Value::Object(_)) => {
            let host = config
                .string("backend.listen.host")?
                .map_or_else(|| DEFAULT_HOST.to_owned(), |h| normalize_host(&h));
            let port = config.u16("backend.listen.port")?.unwrap_or(DEFAULT_PORT);
            Ok((host, port))
        }
        Some(other) => Err(ConfigError::WrongType {
            key: KEY.into(),
            expected: "an object { host, port } or a string '<host>:<port>'",
            actual: type_name(other),
        }),
    }
}

fn supported_clients() -> String {
    format!(
        "supported clients are '{}', '{}' (SQLite) and '{POSTGRES_CLIENT}' (PostgreSQL)",
        SQLITE_CLIENTS[0], SQLITE_CLIENTS[1]
    )
}

fn read_database(config: &Config) -> Result<DatabaseConfig, ConfigError> {
    if !config.has("backend.database") {
        return Ok(DatabaseConfig::Sqlite { path: SqlitePath::Memory });
    }
    let client = config.string("backend.database.client")?.ok_or_else(|| {
        ConfigError::invalid("backend.database.client", format!("is required; {}", supported_clients()))
    })?;
    if SQLITE_CLIENTS.contains(&client.as_str()) {
        Ok(DatabaseConfig::Sqlite { path: read_sqlite_path(config)? })
    } else if client == POSTGRES_CLIENT {
        Ok(DatabaseConfig::Postgres { url: read_postgres_url(config)? })
    } else {
        Err(ConfigError::invalid(
            "backend.database.client",
            format!("unsupported database client '{client}'; {}", supported_clients()),
        ))
    }
}

fn read_sqlite_path(config: &Config) -> Result<SqlitePath, ConfigError> {
    const KEY: &str = "backend.database.connection";
    let resolve = |key: &str, path: &str| {
        let path = Path::new(path);
        match config.origin_dir(key) {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_path_buf(),
        }
    };
    let file = |key: &str, path: &str| {
        if path == ":memory:" { SqlitePath::Memory } else { SqlitePath::File(resolve(key, path)) }
    };
    match config.get(KEY) {
        None => Ok(SqlitePath::Memory),
        Some(Value::String(path)) => Ok(file(KEY, path)),
        Some(Value::Object(_)) => {
            if let Some(path) = config.string("backend.database.connection.filename")? {
                Ok(file("backend.database.connection.filename", &path))
            } else if let Some(dir) = config.string("backend.database.connection.directory")? {
                Ok(SqlitePath::File(
                    resolve("backend.database.connection.directory", &dir).join(SQLITE_FILE_IN_DIRECTORY),
                ))
            } else {
                Err(ConfigError::invalid(
                    KEY,
                    "a SQLite connection object needs 'filename' (a file path or ':memory:') or 'directory'",
                ))
            }
        }
        Some(other) => Err(ConfigError::WrongType {
            key: KEY.into(),
            expected: "a file path, ':memory:' or an object with 'filename'",
            actual: type_name(other),
        }),
    }
}

fn read_postgres_url(config: &Config) -> Result<String, ConfigError> {
    const KEY: &str = "backend.database.connection";
    match config.get(KEY) {
        Some(Value::String(url)) => Ok(url.clone()),
        Some(Value::Object(_)) => {
            if let Some(url) = config.string("backend.database.connection.connectionString")? {
                return Ok(url);
            }
            let host =
                config.string("backend.database.connection.host")?.unwrap_or_else(|| "localhost".into());
            let port = config.u16("backend.database.connection.port")?.unwrap_or(5432);
            let user = config.string("backend.database.connection.user")?;
            let password = config.string("backend.database.connection.password")?;
            let database = config.string("backend.database.connection.database")?;
            let mut url = String::from("postgres://");
            if let Some(user) = &user {
                url.push_str(&utf8_percent_encode(user, USERINFO).to_string());
                if let Some(password) = &password {
                    url.push(':');
                    url.push_str(&utf8_percent_encode(password, USERINFO).to_string());
                }
                url.push('@');
            }
            url.push_str(&url_host(&host));
            url.push_str(&format!(":{port}"));
            if let Some(database) = &database {
                url.push('/');
                url.push_str(&utf8_percent_encode(database, USERINFO).to_string());
            }
            // Any `ssl` setting other than false asks for TLS; certificate options of the
            // Node driver have no URL equivalent.
            let ssl = match config.get("backend.database.connection.ssl") {
                None | Some(Value::Bool(false)) => false,
                Some(_) => true,
            };
            if ssl {
                url.push_str("?sslmode=require");
            }
            Ok(url)
        }
        None => Err(ConfigError::invalid(
            KEY,
            "is required for client 'pg': a connection URL such as 'postgresql://user:pass@host:5432/db' or an object { host, port, user, password, database }",
        )),
        Some(other) => Err(ConfigError::WrongType {
            key: KEY.into(),
            expected: "a connection URL or an object { host, port, user, password, database }",
            actual: type_name(other),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(text: &str) -> Result<BackendConfig, ConfigError> {
        let config = Config::from_yaml_str(text, Path::new("/etc/portico"), &|_| None).expect("valid yaml");
        BackendConfig::from_config(&config)
    }

    #[test]
    fn defaults() {
        let b = backend("{}").expect("defaults");
        assert_eq!(b.listen_host, "127.0.0.1");
        assert_eq!(b.listen_port, 7007);
        assert_eq!(b.base_url, "http://127.0.0.1:7007");
        assert_eq!(b.app_base_url, b.base_url);
        assert_eq!(b.database, DatabaseConfig::Sqlite { path: SqlitePath::Memory });
        assert!(!b.dangerously_disable_default_auth_policy);
        assert_eq!(b.listen_address(), "127.0.0.1:7007");
    }

    #[test]
    fn listen_forms() {
        let b = backend("backend: {listen: ':8080'}").expect("port only with colon");
        assert_eq!((b.listen_host.as_str(), b.listen_port), ("0.0.0.0", 8080));
        assert_eq!(b.base_url, "http://localhost:8080");
        let b = backend("backend: {listen: '10.0.0.1:9000'}").expect("host:port");
        assert_eq!((b.listen_host.as_str(), b.listen_port), ("10.0.0.1", 9000));
        let b = backend("backend: {listen: '9001'}").expect("port");
        assert_eq!((b.listen_host.as_str(), b.listen_port), ("127.0.0.1", 9001));
        let b = backend("backend: {listen: '[::1]:9002'}").expect("ipv6");
        assert_eq!(b.listen_address(), "[::1]:9002");
        let b = backend("backend: {listen: {port: 7000, host: 0.0.0.0}}").expect("object");
        assert_eq!((b.listen_host.as_str(), b.listen_port), ("0.0.0.0", 7000));
        assert!(backend("backend: {listen: 'host:port'}").is_err());
        assert!(backend("backend: {listen: true}").is_err());
    }

    #[test]
    fn base_urls() {
        let b = backend(
            "app: {baseUrl: 'http://localhost:3000/'}\nbackend: {baseUrl: 'https://portal.example.com'}",
        )
        .expect("urls");
        assert_eq!(b.app_base_url, "http://localhost:3000");
        assert_eq!(b.base_url, "https://portal.example.com");
        let error = backend("backend: {baseUrl: 'portal'}").expect_err("not a url");
        assert!(error.to_string().contains("backend.baseUrl"), "{error}");
    }

    #[test]
    fn sqlite_connections() {
        let db = |text: &str| backend(text).expect("valid").database;
        assert_eq!(
            db("backend: {database: {client: better-sqlite3, connection: ':memory:'}}"),
            DatabaseConfig::Sqlite { path: SqlitePath::Memory }
        );
        assert_eq!(
            db("backend: {database: {client: sqlite3, connection: data/portico.db}}"),
            DatabaseConfig::Sqlite { path: SqlitePath::File(PathBuf::from("/etc/portico/data/portico.db")) }
        );
        assert_eq!(
            db("backend: {database: {client: better-sqlite3, connection: {filename: /var/db.sqlite}}}"),
            DatabaseConfig::Sqlite { path: SqlitePath::File(PathBuf::from("/var/db.sqlite")) }
        );
        assert_eq!(
            db("backend: {database: {client: better-sqlite3, connection: {directory: state}}}"),
            DatabaseConfig::Sqlite {
                path: SqlitePath::File(PathBuf::from("/etc/portico/state/portico.sqlite"))
            }
        );
        assert_eq!(
            db("backend: {database: {client: better-sqlite3}}"),
            DatabaseConfig::Sqlite { path: SqlitePath::Memory }
        );
        assert!(backend("backend: {database: {client: better-sqlite3, connection: {}}}").is_err());
    }

    #[test]
    fn postgres_connections() {
        let db = |text: &str| backend(text).expect("valid").database;
        assert_eq!(
            db("backend: {database: {client: pg, connection: 'postgresql://u:p@db:5432/x'}}"),
            DatabaseConfig::Postgres { url: "postgresql://u:p@db:5432/x".into() }
        );
        assert_eq!(
            db(
                "backend: {database: {client: pg, connection: {host: db.internal, port: '6543', user: back stage, password: 'p@ss:w/rd%', database: portico, ssl: {rejectUnauthorized: false}}}}"
            ),
            DatabaseConfig::Postgres {
                url: "postgres://back%20stage:p%40ss%3Aw%2Frd%25@db.internal:6543/portico?sslmode=require"
                    .into()
            }
        );
        assert_eq!(
            db("backend: {database: {client: pg, connection: {user: u}}}"),
            DatabaseConfig::Postgres { url: "postgres://u@localhost:5432".into() }
        );
        assert!(backend("backend: {database: {client: pg}}").is_err());
    }

    #[test]
    fn unknown_client_lists_supported_ones() {
        let error = backend("backend: {database: {client: mysql2}}").expect_err("unsupported");
        let text = error.to_string();
        assert!(text.contains("backend.database.client") && text.contains("'mysql2'"), "{text}");
        assert!(text.contains("better-sqlite3") && text.contains("'pg'"), "{text}");
        assert!(backend("backend: {database: {connection: x}}").is_err(), "client is required");
    }

    #[test]
    fn auth_policy_switch() {
        let b = backend("backend:\n  auth:\n    dangerouslyDisableDefaultAuthPolicy: true\n").expect("valid");
        assert!(b.dangerously_disable_default_auth_policy);
    }
}
