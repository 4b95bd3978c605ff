"use strict";
// The admin's HLS preview: hls.js where Media Source Extensions exist, native HLS (Safari) elsewhere.
// The player is left on window.hlsPreview so its state can be inspected (and the browser tests read it).
document.addEventListener("DOMContentLoaded", () => {
  const video = document.getElementById("hls-preview");
  if (!video) {
    return;
  }
  const source = video.dataset.src;
  if (window.Hls && window.Hls.isSupported()) {
    const player = new window.Hls();
    player.loadSource(source);
    player.attachMedia(video);
    window.hlsPreview = player;
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = source;
  }
});
