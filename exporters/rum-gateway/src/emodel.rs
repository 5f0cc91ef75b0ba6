//! Call quality from WebRTC stats: the ITU-T G.107 E-model (MOS estimate) and the quality
//! classes of the gateway. Inputs are in seconds and ratios, as `getStats()` reports them.

/// Buckets of `rum_webrtc_mos`.
pub const MOS_BUCKETS: [f64; 12] = [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 3.6, 4.0, 4.2, 4.3, 4.4, 4.5];
/// Buckets of `rum_webrtc_round_trip_time_seconds`: include 2 × each class's latency bound.
pub const RTT_BUCKETS: [f64; 10] = [0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.6, 1.0, 2.0];
/// Buckets of `rum_webrtc_jitter_seconds`: include each class's jitter bound.
pub const JITTER_BUCKETS: [f64; 8] = [0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5];
/// Buckets of `rum_webrtc_packet_loss_ratio`: include each class's loss bound.
pub const LOSS_BUCKETS: [f64; 9] = [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0];

/// R0 − Is with the G.107 default parameters.
const R_BASE: f64 = 93.2;
/// Packetization and codec look-ahead added to the one-way delay (20 ms frames).
const PACKETIZATION_MS: f64 = 20.0;

/// Equipment impairment `Ie` and packet-loss robustness `Bpl` of a codec.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Codec {
    pub ie: f64,
    pub bpl: f64,
}

/// The codec values assumed (README "E-model"). G.711 with PLC and G.729A come from ITU-T
/// G.113 Appendix I. Opus has no G.113 entry: it is scored as G.711 with PLC, a narrowband
/// floor that underrates wideband calls rather than inventing an impairment.
pub fn codec(name: &str) -> Codec {
    match name.to_ascii_lowercase().trim_start_matches("audio/") {
        "pcmu" | "pcma" | "g711" => Codec { ie: 0.0, bpl: 25.1 },
        "g729" => Codec {
            ie: 11.0,
            bpl: 19.0,
        },
        _ => Codec { ie: 0.0, bpl: 25.1 },
    }
}

/// What one call summary measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallStats {
    /// Round-trip time, seconds.
    pub rtt: f64,
    /// Receive jitter, seconds.
    pub jitter: f64,
    /// Lost packets over sent packets, 0..1.
    pub loss: f64,
    /// Average jitter-buffer delay, seconds, when the browser reported it.
    pub jitter_buffer: Option<f64>,
}

impl CallStats {
    /// One-way mouth-to-ear delay estimate in ms: half the RTT, the jitter buffer (or twice
    /// the jitter when the buffer is unknown) and packetization.
    pub fn one_way_delay_ms(&self) -> f64 {
        let buffer = self.jitter_buffer.unwrap_or(2.0 * self.jitter);
        1000.0 * (self.rtt / 2.0 + buffer) + PACKETIZATION_MS
    }
}

/// The transmission rating factor R.
pub fn r_factor(stats: &CallStats, codec: Codec) -> f64 {
    let d = stats.one_way_delay_ms();
    let id = 0.024 * d + if d > 177.3 { 0.11 * (d - 177.3) } else { 0.0 };
    let ppl = (stats.loss * 100.0).clamp(0.0, 100.0);
    let ie_eff = codec.ie + (95.0 - codec.ie) * ppl / (ppl + codec.bpl);
    R_BASE - id - ie_eff
}

/// MOS from R, G.107 Annex B.
pub fn mos(r: f64) -> f64 {
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)
    }
}

/// Quality class: the best class whose loss, jitter and latency bounds all hold.
pub fn class(stats: &CallStats) -> &'static str {
    let latency_ms = stats.one_way_delay_ms();
    let jitter_ms = stats.jitter * 1000.0;
    let loss_pct = stats.loss * 100.0;
    let bounds = [
        ("excellent", 1.0, 30.0, 150.0),
        ("good", 5.0, 50.0, 300.0),
        ("fair", 10.0, 100.0, 500.0),
    ];
    bounds
        .iter()
        .find(|(_, loss, jitter, latency)| {
            loss_pct <= *loss && jitter_ms <= *jitter && latency_ms <= *latency
        })
        .map_or("poor", |(name, ..)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(rtt: f64, jitter: f64, loss: f64) -> CallStats {
        CallStats {
            rtt,
            jitter,
            loss,
            jitter_buffer: None,
        }
    }

    #[test]
    fn a_clean_g711_call_tops_out_near_4_4() {
        let clean = stats(0.0, 0.0, 0.0);
        let m = mos(r_factor(&clean, codec("PCMU")));
        assert!((4.35..=4.42).contains(&m), "{m}");
    }

    #[test]
    fn loss_and_delay_lower_the_mos() {
        let g711 = codec("pcmu");
        let good = mos(r_factor(&stats(0.05, 0.005, 0.0), g711));
        let lossy = mos(r_factor(&stats(0.05, 0.005, 0.05), g711));
        let slow = mos(r_factor(&stats(0.8, 0.005, 0.0), g711));
        assert!(good > lossy && good > slow, "{good} {lossy} {slow}");
        assert!(lossy < 3.9, "5% random loss with PLC: {lossy}");
    }

    #[test]
    fn mos_is_bounded_and_clamped_at_the_ends() {
        assert_eq!(mos(-5.0), 1.0);
        assert_eq!(mos(120.0), 4.5);
        assert!((mos(50.0) - 2.58).abs() < 0.01);
    }

    #[test]
    fn classes_follow_the_loss_jitter_and_latency_bounds() {
        assert_eq!(class(&stats(0.05, 0.01, 0.005)), "excellent");
        assert_eq!(class(&stats(0.05, 0.04, 0.005)), "good");
        assert_eq!(class(&stats(0.05, 0.01, 0.08)), "fair");
        assert_eq!(class(&stats(0.05, 0.01, 0.2)), "poor");
        // 0.6 s RTT: 300 ms + 20 ms jitter buffer + 20 ms framing one way.
        assert_eq!(class(&stats(0.6, 0.01, 0.0)), "fair");
    }
}
