//! A real browser: Debian's Chromium loads a page that uses the real `@grafana/faro-web-sdk`
//! and `web-vitals` npm packages (installed by prepare-tests.sh) plus the project's snippet,
//! and the gateway's metrics then hold the page's LCP, FCP, TTFB and CLS; another page runs
//! the real `@elastic/apm-rum` agent, central configuration included.
//!
//! Chromium is driven with the `headless_chrome` crate: it speaks the DevTools protocol,
//! launches and reaps the process, and gives real input events (a click finalises LCP).

mod common;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use headless_chrome::{Browser, LaunchOptions, Tab};

const CHROMIUM: &str = "/usr/bin/chromium";
/// Chromium's own headless user agent says "HeadlessChrome", which the gateway drops as a
/// bot (as it should); the test browser presents itself as a desktop Chrome instead.
const UA_FLAG: &str = "--user-agent=Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("js")
}

fn read_asset(relative: &str) -> Vec<u8> {
    let path = js_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run exporters/rum-gateway/prepare-tests.sh (npm ci)",
            path.display()
        )
    })
}

fn page(gateway: &str) -> String {
    format!(
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>rum test</title>
<script src="/faro.js"></script>
<script src="/web-vitals.js"></script>
<script src="/rum.js"></script>
<script>
  GrafanaFaroWebSdk.initializeFaro({{
    url: "{gateway}/collect",
    app: {{ name: "faro-test", version: "1.0.0" }},
    instrumentations: GrafanaFaroWebSdk.getWebInstrumentations({{ captureConsole: false }}),
  }});
  rumGateway.start({{ url: "{gateway}/beacon", app: "snippet-test" }});
</script></head>
<body><h1 id="title">Real User Monitoring test page</h1>
<p>A paragraph large enough to be the largest contentful paint of this small page.</p>
<div id="late"></div>
<button id="broken" onclick="throw new Error('broken button')">Broken</button>
<script>setTimeout(function () {{
  document.getElementById("late").innerHTML = "<p style='height:200px'>shifted in late</p>";
}}, 200);</script>
</body></html>"#
    )
}

/// A page running Elastic's RUM agent, which asks for its central configuration first.
fn elastic_page(gateway: &str) -> String {
    format!(
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>elastic test</title>
<script src="/elastic.js"></script>
<script>
  elasticApm.init({{
    serviceName: "elastic-test",
    serverUrl: "{gateway}",
    centralConfig: true,
    flushInterval: 100,
  }});
</script></head>
<body><h1>Elastic APM RUM test page</h1>
<p>A paragraph large enough to be the largest contentful paint of this small page.</p>
</body></html>"#
    )
}

/// Serves a test page and the SDK files on a loopback port, for the life of the test; the
/// page points at whatever gateway address `gateway` holds when it is requested.
fn serve_page(gateway: Arc<Mutex<String>>, page: fn(&str) -> String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let assets = [
        (
            "/faro.js",
            read_asset("node_modules/@grafana/faro-web-sdk/dist/bundle/faro-web-sdk.iife.js"),
        ),
        (
            "/web-vitals.js",
            read_asset("node_modules/web-vitals/dist/web-vitals.iife.js"),
        ),
        ("/rum.js", read_asset("rum.js")),
        (
            "/elastic.js",
            read_asset("node_modules/@elastic/apm-rum/dist/bundles/elastic-apm-rum.umd.min.js"),
        ),
    ];
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let html = page(&gateway.lock().unwrap()).into_bytes();
            let (kind, body) = match assets.iter().find(|(p, _)| *p == path) {
                Some((_, body)) => ("application/javascript", body.as_slice()),
                None => ("text/html; charset=utf-8", html.as_slice()),
            };
            let mut stream = &stream;
            let head = format!("HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
            let _ = stream
                .write_all(head.as_bytes())
                .and_then(|()| stream.write_all(body));
        }
    });
    origin
}

/// Debian's Chromium, headless, on a fresh profile, kept off the network.
fn launch(profile: &Path) -> Browser {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: apt-get install chromium"
    );
    let args: Vec<&OsStr> = [
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        UA_FLAG,
    ]
    .iter()
    .map(OsStr::new)
    .collect();
    let options = LaunchOptions::default_builder()
        .path(Some(PathBuf::from(CHROMIUM)))
        .headless(true)
        .sandbox(false)
        .user_data_dir(Some(profile.to_path_buf()))
        .args(args)
        .idle_browser_timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    Browser::new(options).expect("chromium starts")
}

/// Chromium showing a test page, and the gateway the page reports to. Fields drop in order:
/// the browser goes before its profile directory, the gateway last.
struct Visit {
    tab: Arc<Tab>,
    _browser: Browser,
    _profile: tempfile::TempDir,
    gw: common::Gateway,
}

/// Serves `page`, starts a gateway that allows its origin, and opens the page in Chromium.
fn visit(page: fn(&str) -> String) -> Visit {
    // The page's origin must be in the gateway's config, and the gateway's address in the
    // page: start the page server first, then the gateway, then tell the page.
    let gateway_url = Arc::new(Mutex::new(String::new()));
    let origin = serve_page(gateway_url.clone(), page);
    let config = common::test_config(&format!("cors:\n  allowed_origins: [\"{origin}\"]\n"));
    let gw = common::Gateway::start(&config);
    *gateway_url.lock().unwrap() = gw.url("");

    let profile = tempfile::tempdir().unwrap();
    let browser = launch(profile.path());
    let tab = browser.new_tab().unwrap();
    tab.navigate_to(&format!("{origin}/")).unwrap();
    tab.wait_until_navigated().unwrap();
    Visit {
        tab,
        _browser: browser,
        _profile: profile,
        gw,
    }
}

#[test]
fn chromium_with_faro_and_web_vitals_fills_the_vitals_histograms() {
    let Visit { tab, gw, .. } = &visit(page);
    tab.wait_for_element("#late p").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // Three quick clicks on plain text make a rage click and three dead clicks; a real
    // click on the broken button (which also ends LCP observation) an error and an error
    // click. Leaving the page then hides it, which flushes both SDKs.
    // DevTools round trips on a loaded machine can take a third of a second per real click,
    // so the three rage clicks are dispatched in one script, at one spot.
    let rage = "var t = document.getElementById('title'); var r = t.getBoundingClientRect();\
        for (var i = 0; i < 3; i++) t.dispatchEvent(new MouseEvent('click', \
        {bubbles: true, clientX: r.left + 5, clientY: r.top + 5}));";
    tab.evaluate(rage, false).unwrap();
    tab.find_element("#broken").unwrap().click().unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    tab.navigate_to("about:blank").unwrap();
    tab.wait_until_navigated().unwrap();

    let families = [
        "rum_largest_contentful_paint_seconds_count",
        "rum_first_contentful_paint_seconds_count",
        "rum_time_to_first_byte_seconds_count",
        "rum_cumulative_layout_shift_count",
    ];
    let metrics = gw.wait_for("LCP, FCP, TTFB and CLS from both SDKs", |m| {
        ["faro-test", "snippet-test"]
            .iter()
            .all(|app| families.iter().all(|f| m.sum(f, &[("app", app)]) >= 1.0))
            && m.sum("rum_pending_metrics", &[]) == 0.0
    });
    for app in ["faro-test", "snippet-test"] {
        for family in families {
            assert_eq!(
                metrics.sum(
                    family,
                    &[("app", app), ("device", "desktop"), ("browser", "chrome")]
                ),
                1.0,
                "{app} {family}"
            );
        }
        let lcp = metrics.sum("rum_largest_contentful_paint_seconds_sum", &[("app", app)]);
        assert!(lcp > 0.0 && lcp < 30.0, "{app} LCP {lcp}");
    }
    let snippet = |name: &str, labels: &[(&str, &str)]| {
        let mut all = vec![("app", "snippet-test")];
        all.extend_from_slice(labels);
        metrics.sum(name, &all)
    };
    assert_eq!(snippet("rum_page_views_total", &[]), 1.0);
    assert_eq!(snippet("rum_page_load_seconds_count", &[]), 1.0);
    let signals = "rum_frustration_signals_total";
    assert_eq!(snippet(signals, &[("signal", "rage_click")]), 1.0);
    assert_eq!(snippet(signals, &[("signal", "dead_click")]), 3.0);
    assert_eq!(snippet(signals, &[("signal", "error_click")]), 1.0);
    assert_eq!(snippet("rum_errors_total", &[("kind", "error")]), 1.0);
    let faro_errors = metrics.sum(
        "rum_errors_total",
        &[("app", "faro-test"), ("kind", "exception")],
    );
    assert_eq!(faro_errors, 1.0);
    assert_eq!(metrics.rejected("origin_not_allowed"), 0.0);
}

#[test]
fn chromium_with_the_elastic_agent_gets_its_central_config_and_reports_the_page_load() {
    let Visit { gw, .. } = &visit(elastic_page);

    let app = [("app", "elastic-test")];
    let metrics = gw.wait_for("the Elastic agent's page-load transaction", |m| {
        m.sum("rum_page_views_total", &app) >= 1.0
            && m.sum("rum_time_to_first_byte_seconds_count", &app) >= 1.0
    });
    let config = [("handler", "/config/v1/rum/agents"), ("code", "200")];
    assert_eq!(
        metrics.sum("rum_gateway_http_requests_total", &config),
        1.0,
        "the agent asked for its central configuration once"
    );
    assert_eq!(metrics.sum("rum_page_views_total", &app), 1.0);
    assert_eq!(metrics.sum("rum_page_load_seconds_count", &app), 1.0);
    let ttfb = metrics.sum("rum_time_to_first_byte_seconds_sum", &app);
    assert!(ttfb > 0.0 && ttfb < 30.0, "TTFB {ttfb}");
    assert_eq!(metrics.sum("rum_beacons_rejected_total", &[]), 0.0);
}
