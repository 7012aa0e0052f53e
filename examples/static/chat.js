// Client hooks for the chat example: the server pushes events, this file
// reacts to them. Loaded with App::script (inline scripts are blocked by
// the Content-Security-Policy).
(function () {
  "use strict";
  function scrollMessages() {
    var list = document.getElementById("messages");
    if (list) {
      list.scrollTop = list.scrollHeight;
    }
  }
  function start() {
    if (!window.djust) {
      return;
    }
    window.djust.on("scroll", scrollMessages);
    window.djust.on("sent", function () {
      var input = document.getElementById("text");
      if (input) {
        input.value = "";
        input.focus();
      }
    });
    scrollMessages();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
