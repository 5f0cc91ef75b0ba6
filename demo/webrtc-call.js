// The demo's WebRTC call: on demo-app's room page, two peer connections of the page call each
// other through the local coturn (relay only, as a call behind strict NATs would), send a
// small video stream for a few seconds, and post the receiving side's statistics to
// rum-gateway's WebRTC intake, as a real client reports its calls. scripts/demo.sh sets
// window.demoCall (the TURN server, its demo credentials, the intake URL and the app name).
(function () {
  "use strict";

  async function call(options) {
    const ice = {
      iceServers: [{ urls: options.turn, username: options.username, credential: options.credential }],
      iceTransportPolicy: "relay",
    };
    const caller = new RTCPeerConnection(ice);
    const callee = new RTCPeerConnection(ice);
    caller.onicecandidate = (e) => e.candidate && callee.addIceCandidate(e.candidate);
    callee.onicecandidate = (e) => e.candidate && caller.addIceCandidate(e.candidate);

    // A canvas stream needs no camera and no user gesture.
    const canvas = document.createElement("canvas");
    canvas.width = 64;
    canvas.height = 48;
    const paint = canvas.getContext("2d");
    let frame = 0;
    const painter = setInterval(() => {
      paint.fillStyle = frame++ % 2 ? "#c33" : "#3c3";
      paint.fillRect(0, 0, canvas.width, canvas.height);
    }, 50);
    const stream = canvas.captureStream(20);
    stream.getTracks().forEach((track) => caller.addTrack(track, stream));

    try {
      await caller.setLocalDescription(await caller.createOffer());
      await callee.setRemoteDescription(caller.localDescription);
      await callee.setLocalDescription(await callee.createAnswer());
      await caller.setRemoteDescription(callee.localDescription);
      await new Promise((resolve) => setTimeout(resolve, options.seconds * 1000));
      const stats = [];
      (await callee.getStats()).forEach((s) => stats.push(s));
      (await caller.getStats()).forEach((s) => stats.push(s));
      const id = Date.now().toString(36) + Math.random().toString(36).slice(2);
      const summary = { app: options.app, url: location.href, codec: "VP8", id: id, stats: stats };
      navigator.sendBeacon(options.intake, JSON.stringify(summary));
    } finally {
      clearInterval(painter);
      caller.close();
      callee.close();
      const done = document.createElement("div");
      done.id = "call-done";
      document.body.appendChild(done);
    }
  }

  function start() {
    if (window.demoCall && document.querySelector(".room")) {
      call(window.demoCall).catch((error) => console.error("demo call failed", error));
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
