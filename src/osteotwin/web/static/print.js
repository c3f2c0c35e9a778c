// The printable plan's "Print" button (kept out of the HTML: the CSP forbids inline scripts).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  const button = document.getElementById("print-button");
  if (button) button.addEventListener("click", function () { window.print(); });
});
