// Draw every chart of the page from its embedded specification.
//
// Results stay on window.attributionReport: `views[name]` is each chart's Vega View
// (view.data("channel_credits") gives back the rows drawn), `errors` lists the charts
// that could not be drawn, `done` turns true (and <html data-charts="done">) once every
// chart has finished, drawn or not.
(function () {
  "use strict";
  var report = { views: {}, results: {}, errors: [], done: false };
  window.attributionReport = report;
  var options = {
    mode: "vega-lite",
    renderer: "svg",
    actions: false,
    // Evaluate Vega expressions with the interpreter, not generated code: the page's
    // Content-Security-Policy allows no eval.
    ast: true
  };
  var blocks = document.querySelectorAll("script.chart-spec[data-chart]");
  var drawn = Array.prototype.map.call(blocks, function (block) {
    var name = block.getAttribute("data-chart");
    var target = document.querySelector('.chart[data-chart="' + name + '"]');
    return Promise.resolve()
      .then(function () {
        return vegaEmbed(target, JSON.parse(block.textContent), options);
      })
      .then(function (result) {
        report.results[name] = result;
        report.views[name] = result.view;
      })
      .catch(function (error) {
        report.errors.push(name + ": " + error);
        console.error("chart " + name + " could not be drawn: " + error);
        target.textContent = "This chart could not be drawn: " + error;
      });
  });
  report.ready = Promise.all(drawn).then(function () {
    report.done = true;
    document.documentElement.setAttribute("data-charts", "done");
  });
})();
