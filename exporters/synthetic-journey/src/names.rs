//! Every metric and label name this exporter writes, in one place.

pub const JOURNEY_SUCCESS: &str = "synthetic_journey_success";
pub const JOURNEY_DURATION: &str = "synthetic_journey_duration_seconds";
pub const JOURNEY_STEP_DURATION: &str = "synthetic_journey_step_duration_seconds";
pub const JOURNEY_RUNS: &str = "synthetic_journey_runs";
pub const JOURNEY_LAST_RUN: &str = "synthetic_journey_last_run_timestamp_seconds";
pub const JOURNEY_FAILED_STEP: &str = "synthetic_journey_failed_step";
pub const JOURNEY_RUNS_WAITING: &str = "synthetic_journey_runs_waiting";
pub const BROWSER_LAUNCHES: &str = "synthetic_journey_browser_launches";
pub const BROWSER_RESIDENT_MEMORY: &str = "synthetic_journey_browser_resident_memory_bytes";
pub const ORPHANS_REAPED: &str = "synthetic_journey_browser_orphans_reaped";
pub const ARTIFACT_ERRORS: &str = "synthetic_journey_artifact_write_errors";

pub const PAGE_TTFB: &str = "synthetic_page_time_to_first_byte_seconds";
pub const PAGE_DOM_CONTENT_LOADED: &str = "synthetic_page_dom_content_loaded_seconds";
pub const PAGE_LOAD: &str = "synthetic_page_load_seconds";
pub const PAGE_FCP: &str = "synthetic_page_first_contentful_paint_seconds";
pub const PAGE_LCP: &str = "synthetic_page_largest_contentful_paint_seconds";
pub const PAGE_CLS: &str = "synthetic_page_cumulative_layout_shift";
pub const PAGE_RESOURCES: &str = "synthetic_page_resources";
pub const PAGE_JS_HEAP: &str = "synthetic_page_js_heap_bytes";

pub const CHECK_SUCCESS: &str = "synthetic_check_success";
pub const CHECK_DURATION: &str = "synthetic_check_duration_seconds";
pub const CHECK_STATUS_CODE: &str = "synthetic_check_status_code";
pub const CHECK_RUNS: &str = "synthetic_check_runs";

pub const RESULT_SUCCESS: &str = "success";
pub const RESULT_FAILURE: &str = "failure";
