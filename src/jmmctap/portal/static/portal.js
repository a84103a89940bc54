// jmmctap portal: the little JavaScript the pages need (no build step, no network beyond this server
// and the SAMP hub on the user's own machine).
"use strict";

// ADQL page: put the cursor where the error is (line/column given by the server).
function markAdqlError() {
  var area = document.getElementById("query");
  if (!area || !area.dataset.line) { return; }
  var line = parseInt(area.dataset.line, 10), column = parseInt(area.dataset.column || "1", 10);
  var lines = area.value.split("\n"), offset = 0;
  for (var i = 0; i < line - 1 && i < lines.length; i++) { offset += lines[i].length + 1; }
  offset += Math.max(column - 1, 0);
  area.focus();
  area.setSelectionRange(offset, Math.min(offset + 1, area.value.length));
}

// "Send to TOPCAT / Aspro2": register with the SAMP hub (web profile) and broadcast the result's
// VOTable URL as table.load.votable; every subscribed tool (TOPCAT, Aspro2...) loads it.
function sendBySamp(button) {
  var status = button.parentNode.querySelector(".samp-status");
  var say = function (text) { if (status) { status.textContent = text; } };
  if (typeof samp === "undefined") { say("SAMP library not loaded"); return; }
  var url = new URL(button.dataset.url, window.location.href).href;
  var connector = new samp.Connector("jmmctap portal", {"samp.name": "jmmctap portal"});
  say("Looking for a SAMP hub (start TOPCAT or Aspro2 first)...");
  connector.runWithConnection(function (connection) {
    var message = new samp.Message("table.load.votable", {"url": url, "name": button.dataset.name || "jmmctap"});
    connection.notifyAll([message], function () { say("Sent."); connector.unregister(); },
                         function (error) { say("SAMP error: " + error); connector.unregister(); });
  }, function (error) { say("No SAMP hub found: " + error); });
}

document.addEventListener("DOMContentLoaded", function () {
  markAdqlError();
  document.querySelectorAll("button.samp").forEach(function (button) {
    button.addEventListener("click", function () { sendBySamp(button); });
  });
});
