/*
 * rum-gateway browser snippet: sends web vitals (from the `web-vitals` package), page views,
 * errors and frustration signals (rage, dead and error clicks) to rum-gateway's /beacon.
 *
 * Load web-vitals first (its IIFE build defines `webVitals`), then this file, then call
 *   rumGateway.start({ url: "https://rum.example/beacon", app: "shop" });
 * Optional settings: apiKey (sent as ?api_key=, the only place sendBeacon can carry it),
 * flushMs (default 5000).
 */
(function (global) {
  "use strict";

  var RAGE_CLICKS = 3;          // clicks ...
  var RAGE_WINDOW_MS = 1000;    // ... within this time ...
  var RAGE_RADIUS_PX = 30;      // ... this close together make one rage click
  var AFTER_CLICK_MS = 1000;    // how long a click waits for a reaction (or an error)
  var INTERACTIVE = "a[href],button,input,select,textarea,label,summary,option,canvas," +
    "[onclick],[role=button],[role=link],[role=checkbox],[contenteditable=''],[contenteditable=true]";

  function start(options) {
    var endpoint = options.url + (options.apiKey ? "?api_key=" + encodeURIComponent(options.apiKey) : "");
    var queue = [];

    function push(item) {
      item.app = options.app;
      item.url = item.url || location.href;
      queue.push(item);
    }

    function flush() {
      if (queue.length === 0) return;
      var body = JSON.stringify(queue);
      queue = [];
      // A string body is sent as text/plain: no CORS preflight.
      if (!(navigator.sendBeacon && navigator.sendBeacon(endpoint, body))) {
        fetch(endpoint, { method: "POST", body: body, keepalive: true, mode: "cors" })
          .catch(function () {});
      }
    }

    function onMetric(metric) {
      push({ name: metric.name, value: metric.value, id: metric.id,
             navigationType: metric.navigationType });
    }

    var wv = global.webVitals;
    if (wv) {
      [wv.onLCP, wv.onCLS, wv.onINP, wv.onFCP, wv.onTTFB].forEach(function (on) {
        if (on) on(onMetric);
      });
    }

    addEventListener("load", function () {
      setTimeout(function () {
        var nav = performance.getEntriesByType("navigation")[0];
        push({ name: "page_view", value: nav && nav.loadEventEnd > 0 ? nav.loadEventEnd : undefined });
      }, 0);
    });

    watchClicks(push);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") flush();
    });
    addEventListener("pagehide", flush);
    setInterval(flush, options.flushMs || 5000);
    return { flush: flush };
  }

  function watchClicks(push) {
    var recent = [];
    var lastClickAt = -Infinity;
    var lastActivityAt = -Infinity;

    function activity() { lastActivityAt = performance.now(); }
    new MutationObserver(activity).observe(document.documentElement,
      { childList: true, subtree: true, attributes: true, characterData: true });
    addEventListener("scroll", activity, true);
    addEventListener("input", activity, true);

    function onError() {
      push({ name: "error" });
      if (performance.now() - lastClickAt <= AFTER_CLICK_MS) push({ name: "error_click" });
    }
    addEventListener("error", onError);
    addEventListener("unhandledrejection", onError);

    addEventListener("click", function (event) {
      var now = performance.now();
      lastClickAt = now;
      recent = recent.filter(function (c) {
        return now - c.t <= RAGE_WINDOW_MS &&
          Math.abs(c.x - event.clientX) <= RAGE_RADIUS_PX &&
          Math.abs(c.y - event.clientY) <= RAGE_RADIUS_PX;
      });
      recent.push({ t: now, x: event.clientX, y: event.clientY });
      if (recent.length === RAGE_CLICKS) push({ name: "rage_click" });

      var target = event.target;
      var interactive = target && target.closest && target.closest(INTERACTIVE);
      if (!interactive) {
        setTimeout(function () {
          if (lastActivityAt < now) push({ name: "dead_click" });
        }, AFTER_CLICK_MS);
      }
    }, true);
  }

  global.rumGateway = { start: start };
})(window);
