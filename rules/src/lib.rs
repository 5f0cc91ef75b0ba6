//! rulegen: Prometheus recording and alerting rules, Grafana dashboards and Alertmanager
//! routing from SLO specs, in the project's own format, Sloth's or OpenSLO's.

pub mod duration;
pub mod gen;
pub mod model;
pub mod names;
pub mod output;
pub mod source;
pub mod spec;
pub mod validate;
