//! Loader of OpenSLO `apiVersion: openslo/v1` documents.

use super::SpecError;
use crate::model::Model;
use crate::source::Document;

#[derive(Default)]
pub struct Collector {}

impl Collector {
    pub fn add(&mut self, doc: &Document) -> Result<(), Vec<SpecError>> {
        Err(vec![SpecError::new(
            doc.at(doc.first_line, 1),
            "OpenSLO specs are not supported yet",
        )])
    }

    pub fn finish(self, _model: &mut Model) -> Result<(), Vec<SpecError>> {
        Ok(())
    }
}
