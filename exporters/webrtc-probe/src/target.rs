//! Turning a `HOST:PORT` target into one socket address, the blackbox_exporter way: one
//! lookup under the deadline, the preferred family first, exactly one address tried.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use exporter_kit::ProbeContext;

use crate::config::IpProtocol;
use crate::names::{self, stage};
use crate::probe::{self, Deadline, Failure};

/// A target split into host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

/// Splits `HOST:PORT` or `[V6]:PORT`.
pub fn parse(target: &str) -> Result<HostPort, Failure> {
    let bad = || {
        Failure::new(
            stage::RESOLVE,
            format!("target {target:?} is not HOST:PORT"),
        )
    };
    let (host, port) = target.rsplit_once(':').ok_or_else(bad)?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || port == 0 {
        return Err(bad());
    }
    Ok(HostPort {
        host: host.to_string(),
        port,
    })
}

/// Parses and resolves `target`, and records the IP protocol of the address the probe uses.
pub async fn locate(
    target: &str,
    preferred: IpProtocol,
    deadline: Deadline,
    ctx: &mut ProbeContext,
) -> Result<(HostPort, SocketAddr), Failure> {
    let target = parse(target)?;
    let server = resolve(&target, preferred, deadline, ctx).await?;
    let protocol = crate::client::ip_protocol(server.ip()) as f64;
    let help = "IP protocol of the server address (4 or 6)";
    probe::gauge(ctx, names::IP_PROTOCOL, help, protocol);
    Ok((target, server))
}

/// Resolves `target` to the one address the probe will use.
pub async fn resolve(
    target: &HostPort,
    preferred: IpProtocol,
    deadline: Deadline,
    ctx: &mut ProbeContext,
) -> Result<SocketAddr, Failure> {
    if let Ok(ip) = target.host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, target.port));
    }
    let started = Instant::now();
    let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
    let found = deadline.within(stage::RESOLVE, lookup).await?;
    let addresses: Vec<SocketAddr> = found
        .map_err(|e| Failure::new(stage::RESOLVE, format!("could not resolve: {e}")))?
        .collect();
    probe::gauge(
        ctx,
        names::DNS_LOOKUP,
        "Time to resolve the target",
        probe::seconds(started.elapsed()),
    );
    let wanted = |a: &&SocketAddr| a.is_ipv4() == (preferred == IpProtocol::Ip4);
    let chosen = addresses
        .iter()
        .find(wanted)
        .or_else(|| addresses.first())
        .copied()
        .ok_or_else(|| Failure::new(stage::RESOLVE, "the name has no address"))?;
    ctx.log(format!("resolved {} to {}", target.host, chosen.ip()));
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_split_into_host_and_port() {
        let got = parse("turn.example.org:3478").unwrap();
        assert_eq!(got.host, "turn.example.org");
        assert_eq!(got.port, 3478);
        assert_eq!(parse("[::1]:5349").unwrap().host, "::1");
    }

    #[test]
    fn targets_without_a_valid_port_are_refused() {
        for bad in ["turn.example.org", "host:0", "host:http", ":3478"] {
            assert_eq!(parse(bad).unwrap_err().stage, stage::RESOLVE, "{bad}");
        }
    }
}
