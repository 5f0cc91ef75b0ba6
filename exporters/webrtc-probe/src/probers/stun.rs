//! The `stun` prober: one Binding request over UDP, TCP or TLS; round-trip time and the
//! family of the reflexive address.

use std::time::Instant;

use exporter_kit::ProbeContext;

use crate::client::ip_protocol;
use crate::config::Module;
use crate::names::{self, stage};
use crate::probe::{self, Deadline, Failure};
use crate::target;

pub(super) async fn probe(
    module: &Module,
    target: &str,
    ctx: &mut ProbeContext,
    deadline: Deadline,
) -> Result<(), Failure> {
    let (target, server) =
        target::locate(target, module.preferred_ip_protocol, deadline, ctx).await?;
    let mut client = super::connect(module, &target, server, deadline, ctx).await?;

    let started = Instant::now();
    let mapped = deadline
        .within(stage::BINDING, client.binding())
        .await?
        .map_err(|e| super::client_failure(stage::BINDING, e))?;
    let rtt = started.elapsed();
    ctx.log(format!(
        "binding answered in {rtt:?}, reflexive address {mapped}"
    ));
    let help = "Round-trip time of the STUN Binding request";
    probe::gauge(ctx, names::STUN_RTT, help, probe::seconds(rtt));
    let help = "IP protocol of the reflexive address (4 or 6)";
    let family = ip_protocol(mapped.ip()) as f64;
    probe::gauge(ctx, names::REFLEXIVE_IP_PROTOCOL, help, family);
    Ok(())
}
