//! Every metric and label name of db-slowquery, in one place.

pub const QUERIES: &str = "db_slowquery_queries";
pub const QUERY_DURATION: &str = "db_slowquery_query_duration_seconds";
pub const EXEC_SECONDS: &str = "db_slowquery_exec_seconds";
pub const LOCK_SECONDS: &str = "db_slowquery_lock_seconds";
pub const ROWS_EXAMINED: &str = "db_slowquery_rows_examined";
pub const ROWS_SENT: &str = "db_slowquery_rows_sent";
pub const RUNNING_QUERIES: &str = "db_slowquery_running_queries";
pub const LONGEST_RUNNING: &str = "db_slowquery_longest_running_seconds";
pub const SOURCE_UP: &str = "db_slowquery_source_up";
pub const QUERY_INFO: &str = "db_slowquery_query";
pub const SKIPPED: &str = "db_slowquery_entries_skipped";
pub const TRACKED: &str = "db_slowquery_tracked_queries";
pub const FORGOTTEN: &str = "db_slowquery_forgotten_queries";
pub const LOG_REOPENS: &str = "db_slowquery_log_reopens";
pub const NULL_QUERY_IDS: &str = "db_slowquery_null_query_id_rows";
pub const SOURCE_ERRORS: &str = "db_slowquery_source_errors";
pub const EXPLAINS: &str = "db_slowquery_explains";
pub const EXPLAINS_DEFERRED: &str = "db_slowquery_explains_deferred";
pub const LOGGED_PLANS: &str = "db_slowquery_logged_plans";

pub const SOURCE: &str = "source";
pub const DATABASE: &str = "database";
pub const QUERY_ID: &str = "query_id";
pub const FINGERPRINT: &str = "fingerprint";
pub const REASON: &str = "reason";
pub const OUTCOME: &str = "outcome";

/// The `query_id` of everything outside the top K.
pub const OTHER: &str = "other";
