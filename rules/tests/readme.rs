//! The spec examples of the README load: documentation that is tested stays true.

use std::path::PathBuf;

#[test]
fn every_spec_example_in_the_readme_loads() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let blocks: Vec<&str> = readme
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .filter(|b| b.contains("apiVersion: rulegen/v1"))
        .collect();
    assert_eq!(blocks.len(), 2, "spec examples in the README");
    for (i, block) in blocks.iter().enumerate() {
        let source = (PathBuf::from(format!("README.md#{i}")), block.to_string());
        if let Err(e) = rulegen::spec::load_sources(&[source]) {
            panic!("README example {i}: {e}\n{block}");
        }
    }
}
