//! Loader of Sloth `version: prometheus/v1` specs.

use super::SpecError;
use crate::model::Model;
use crate::source::Document;

pub fn load(doc: &Document, _model: &mut Model) -> Result<(), Vec<SpecError>> {
    Err(vec![SpecError::new(
        doc.at(doc.first_line, 1),
        "Sloth specs are not supported yet",
    )])
}
