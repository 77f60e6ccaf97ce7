//! Route 2: PostgreSQL in a container from testcontainers (cargo feature
//! `docker`), tried only when a Docker daemon answers.
//!
//! The probe is a plain `GET /_ping` on the daemon socket with short
//! timeouts, so that machines with a docker client but no daemon (CI, this
//! project's machines) fall through to the next route in well under a second
//! instead of waiting for testcontainers to give up.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use testcontainers_modules::postgres::Postgres;
use testcontainers_modules::testcontainers::bollard::models::PortBinding;
use testcontainers_modules::testcontainers::core::IntoContainerPort;
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt};

use crate::error::{Error, Result};

/// `DROP DATABASE … WITH (FORCE)` needs PostgreSQL 13+; the module's default
/// image is 11.
const TAG: &str = "16-alpine";
const PROBE_TIMEOUT: Duration = Duration::from_millis(800);

/// Where the daemon would be.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Endpoint {
    Unix(PathBuf),
    Tcp(String),
}

/// The endpoint from `DOCKER_HOST`, else the usual socket paths.
fn endpoints() -> Vec<Endpoint> {
    if let Some(host) = std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()) {
        return parse_docker_host(&host).into_iter().collect();
    }
    let mut found = vec![Endpoint::Unix("/var/run/docker.sock".into())];
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR") {
        found.push(Endpoint::Unix(PathBuf::from(runtime).join("docker.sock")));
    }
    if let Some(home) = std::env::var_os("HOME") {
        found.push(Endpoint::Unix(
            PathBuf::from(home).join(".docker/run/docker.sock"),
        ));
    }
    found
}

fn parse_docker_host(host: &str) -> Option<Endpoint> {
    if let Some(path) = host.strip_prefix("unix://") {
        return Some(Endpoint::Unix(path.into()));
    }
    host.strip_prefix("tcp://")
        .map(|addr| Endpoint::Tcp(addr.trim_end_matches('/').to_string()))
}

/// True when a Docker daemon answers `GET /_ping` with 200.
pub fn docker_available() -> bool {
    endpoints().iter().any(ping)
}

fn ping(endpoint: &Endpoint) -> bool {
    const REQUEST: &[u8] = b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n";
    fn exchange(mut stream: impl Read + Write) -> bool {
        if stream.write_all(REQUEST).is_err() {
            return false;
        }
        let mut buf = [0u8; 64];
        let n = stream.read(&mut buf).unwrap_or(0);
        let head = String::from_utf8_lossy(&buf[..n]);
        head.starts_with("HTTP/1.") && head.contains(" 200 ")
    }
    match endpoint {
        Endpoint::Unix(path) => {
            let Ok(stream) = std::os::unix::net::UnixStream::connect(path) else {
                return false;
            };
            let _ = stream.set_read_timeout(Some(PROBE_TIMEOUT));
            let _ = stream.set_write_timeout(Some(PROBE_TIMEOUT));
            exchange(stream)
        }
        Endpoint::Tcp(addr) => {
            use std::net::ToSocketAddrs;
            let Some(sock) = addr.to_socket_addrs().ok().and_then(|mut a| a.next()) else {
                return false;
            };
            let Ok(stream) = std::net::TcpStream::connect_timeout(&sock, PROBE_TIMEOUT) else {
                return false;
            };
            let _ = stream.set_read_timeout(Some(PROBE_TIMEOUT));
            let _ = stream.set_write_timeout(Some(PROBE_TIMEOUT));
            exchange(stream)
        }
    }
}

/// A running Postgres container; removed by [`Self::stop`] or, failing that,
/// by testcontainers when dropped.
pub struct PgContainer {
    container: ContainerAsync<Postgres>,
    port: u16,
}

impl PgContainer {
    /// Starts `postgres:16-alpine` with trust auth, published on 127.0.0.1
    /// only.
    pub async fn start() -> Result<PgContainer> {
        let container = Postgres::default()
            .with_host_auth()
            .with_tag(TAG)
            .with_startup_timeout(Duration::from_secs(120))
            .with_host_config_modifier(|config| {
                // testcontainers publishes on every interface by default;
                // the suite keeps all servers on loopback.
                config.publish_all_ports = Some(false);
                config.port_bindings = Some(
                    [(
                        "5432/tcp".to_string(),
                        Some(vec![PortBinding {
                            host_ip: Some("127.0.0.1".into()),
                            host_port: Some(String::new()),
                        }]),
                    )]
                    .into_iter()
                    .collect(),
                );
            })
            .start()
            .await
            .map_err(|e| unavailable(format!("starting postgres:{TAG} failed: {e}")))?;
        let port = container
            .get_host_port_ipv4(5432.tcp())
            .await
            .map_err(|e| unavailable(format!("reading the published port failed: {e}")))?;
        Ok(PgContainer { container, port })
    }

    /// An admin URL (superuser `postgres`, trust auth).
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn description(&self) -> String {
        format!(
            "testcontainers postgres:{TAG} on 127.0.0.1:{} (container {})",
            self.port,
            &self.container.id()[..12.min(self.container.id().len())]
        )
    }

    /// Stops and removes the container.
    pub async fn stop(self) -> Result<()> {
        self.container
            .rm()
            .await
            .map_err(|e| unavailable(format!("removing the container failed: {e}")))
    }
}

fn unavailable(what: String) -> Error {
    Error::PostgresUnavailable(format!(
        "the Postgres container could not be used: {what}; check the Docker daemon, pass --no-docker, or set DATABASE_URL"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_host_forms() {
        assert_eq!(
            parse_docker_host("unix:///run/user/1000/docker.sock"),
            Some(Endpoint::Unix("/run/user/1000/docker.sock".into()))
        );
        assert_eq!(
            parse_docker_host("tcp://127.0.0.1:2375/"),
            Some(Endpoint::Tcp("127.0.0.1:2375".into()))
        );
        assert_eq!(parse_docker_host("ssh://me@box"), None);
    }

    #[test]
    fn a_missing_socket_is_not_a_daemon() {
        assert!(!ping(&Endpoint::Unix("/nonexistent/docker.sock".into())));
    }
}
