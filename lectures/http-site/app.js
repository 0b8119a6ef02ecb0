// Runs once the page and everything it names have loaded, and reports what the
// browser fetched: the stylesheet is there if its background colour applies, the
// picture if it has a size.
window.addEventListener("load", function () {
  var styled = getComputedStyle(document.body).backgroundColor === "rgb(255, 248, 220)";
  var picture = document.getElementById("picture");
  var drawn = picture.complete && picture.naturalWidth > 0;
  document.getElementById("check").textContent =
    "style.css: " + (styled ? "applied" : "missing") +
    "; sockets.png: " + (drawn ? picture.naturalWidth + "x" + picture.naturalHeight : "missing") +
    "; app.js: ran";
});
