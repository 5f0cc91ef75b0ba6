//! Every metric and label name of rum-gateway, in one place.

use serde::Deserialize;

/// A label the operator chooses to put on a family (or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    App,
    Page,
    Device,
    Browser,
    Country,
}

impl Dimension {
    pub fn label(self) -> &'static str {
        match self {
            Dimension::App => "app",
            Dimension::Page => "page",
            Dimension::Device => "device",
            Dimension::Browser => "browser",
            Dimension::Country => "country",
        }
    }
}

/// The metric families whose labels come from beacons, and so are capped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Lcp,
    Inp,
    Fcp,
    Ttfb,
    Cls,
    PageLoad,
    Rating,
    PageViews,
    Errors,
    Frustration,
    WebrtcMos,
    WebrtcRtt,
    WebrtcJitter,
    WebrtcLoss,
    WebrtcQuality,
}

const PAGE_DIMS: &[Dimension] = &[
    Dimension::App,
    Dimension::Page,
    Dimension::Device,
    Dimension::Browser,
];
const VIEW_DIMS: &[Dimension] = &[
    Dimension::App,
    Dimension::Page,
    Dimension::Device,
    Dimension::Browser,
    Dimension::Country,
];
const APP_PAGE_DIMS: &[Dimension] = &[Dimension::App, Dimension::Page];
const WEBRTC_DIMS: &[Dimension] = &[Dimension::App, Dimension::Browser];
const WEBRTC_CLASS_DIMS: &[Dimension] = &[Dimension::App, Dimension::Browser, Dimension::Country];

impl Family {
    pub const ALL: [Family; 15] = [
        Family::Lcp,
        Family::Inp,
        Family::Fcp,
        Family::Ttfb,
        Family::Cls,
        Family::PageLoad,
        Family::Rating,
        Family::PageViews,
        Family::Errors,
        Family::Frustration,
        Family::WebrtcMos,
        Family::WebrtcRtt,
        Family::WebrtcJitter,
        Family::WebrtcLoss,
        Family::WebrtcQuality,
    ];

    /// The exposed name (counters with their `_total`).
    pub fn name(self) -> &'static str {
        match self {
            Family::Lcp => "rum_largest_contentful_paint_seconds",
            Family::Inp => "rum_interaction_to_next_paint_seconds",
            Family::Fcp => "rum_first_contentful_paint_seconds",
            Family::Ttfb => "rum_time_to_first_byte_seconds",
            Family::Cls => "rum_cumulative_layout_shift",
            Family::PageLoad => "rum_page_load_seconds",
            Family::Rating => "rum_web_vitals_rating_total",
            Family::PageViews => "rum_page_views_total",
            Family::Errors => "rum_errors_total",
            Family::Frustration => "rum_frustration_signals_total",
            Family::WebrtcMos => "rum_webrtc_mos",
            Family::WebrtcRtt => "rum_webrtc_round_trip_time_seconds",
            Family::WebrtcJitter => "rum_webrtc_jitter_seconds",
            Family::WebrtcLoss => "rum_webrtc_packet_loss_ratio",
            Family::WebrtcQuality => "rum_webrtc_quality_total",
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            Family::Lcp => "Largest Contentful Paint of page views",
            Family::Inp => "Interaction to Next Paint of page views",
            Family::Fcp => "First Contentful Paint of page views",
            Family::Ttfb => "Time to First Byte of page views",
            Family::Cls => "Cumulative Layout Shift of page views (unitless)",
            Family::PageLoad => "Page load time, from navigation start to load complete",
            Family::Rating => "Web vitals by rating, computed by the gateway from the thresholds",
            Family::PageViews => "Page views",
            Family::Errors => "Errors reported by pages, by kind",
            Family::Frustration => "Rage, dead and error clicks",
            Family::WebrtcMos => "Estimated MOS (ITU-T G.107 E-model) of WebRTC call summaries",
            Family::WebrtcRtt => "Round-trip time reported by WebRTC call summaries",
            Family::WebrtcJitter => "Receive jitter reported by WebRTC call summaries",
            Family::WebrtcLoss => "Packet loss ratio reported by WebRTC call summaries",
            Family::WebrtcQuality => "WebRTC call summaries by quality class",
        }
    }

    pub fn is_histogram(self) -> bool {
        !matches!(
            self,
            Family::Rating
                | Family::PageViews
                | Family::Errors
                | Family::Frustration
                | Family::WebrtcQuality
        )
    }

    /// The label set of the family when the config does not choose one.
    pub fn default_dimensions(self) -> &'static [Dimension] {
        match self {
            Family::Lcp | Family::Inp | Family::Fcp | Family::Ttfb | Family::Cls => PAGE_DIMS,
            Family::PageLoad => PAGE_DIMS,
            Family::PageViews => VIEW_DIMS,
            Family::Rating | Family::Errors | Family::Frustration => APP_PAGE_DIMS,
            Family::WebrtcMos | Family::WebrtcRtt | Family::WebrtcJitter | Family::WebrtcLoss => {
                WEBRTC_DIMS
            }
            Family::WebrtcQuality => WEBRTC_CLASS_DIMS,
        }
    }

    /// The labels the family always has, beside the chosen dimensions.
    pub fn fixed_labels(self) -> &'static [&'static str] {
        match self {
            Family::Rating => &[METRIC, RATING],
            Family::Errors => &[KIND],
            Family::Frustration => &[SIGNAL],
            Family::WebrtcQuality => &[CLASS],
            _ => &[],
        }
    }
}

pub const METRIC: &str = "metric";
pub const RATING: &str = "rating";
pub const KIND: &str = "kind";
pub const SIGNAL: &str = "signal";
pub const CLASS: &str = "class";
pub const INTAKE: &str = "intake";
pub const REASON: &str = "reason";
pub const LABEL: &str = "label";
pub const TABLE: &str = "table";
pub const LIMITER: &str = "limiter";

/// The value every label takes when a cap folds a series.
pub const OTHER: &str = "other";

/// Self metrics, registered without the `_total` the client library adds to counters.
pub const BEACONS_RECEIVED: &str = "rum_beacons_received";
pub const BEACONS_REJECTED: &str = "rum_beacons_rejected";
pub const LABEL_OVERFLOW: &str = "rum_label_overflow";
pub const DEDUPLICATED: &str = "rum_deduplicated";
pub const PENDING_METRICS: &str = "rum_pending_metrics";
pub const TABLE_RESETS: &str = "rum_lookup_table_resets";
pub const RATE_LIMIT_SHARED: &str = "rum_rate_limit_shared_bucket";
