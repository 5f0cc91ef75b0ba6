//! The `whip` prober.

use std::future::Future;
use std::pin::Pin;

use exporter_kit::ProbeContext;

use crate::config::Module;
use crate::names::stage;
use crate::probe::{Deadline, Failure};

pub fn run<'a>(
    _module: &'a Module,
    _target: &'a str,
    _ctx: &'a mut ProbeContext,
    _deadline: Deadline,
) -> Pin<Box<dyn Future<Output = Result<(), Failure>> + Send + 'a>> {
    Box::pin(async {
        Err(Failure::new(
            stage::SETUP,
            "the whip prober is not built yet",
        ))
    })
}
